"""`ftigate accounting --taxpayer` and `ftigate report jct`, on seeded disclosures."""

from __future__ import annotations

import csv
import io
import json

from ledger_cli_env import Env

from ftigate.cli.ledger import accounting_app, check_inclusion_document, report_app
from ftigate.ledger.events import BatchReceived, Disclosure, RecordScreened, file_digest
from ftigate.ledger.keys import load_pseudonymizer, load_signer
from ftigate.store.api import Store

TIN_A, TIN_B = "900-11-2222", "900-33-4444"


def seed_disclosures(env: Env) -> None:
    pseudonyms = load_pseudonymizer()
    with Store.open(env.url, signer=load_signer(), pseudonyms=pseudonyms) as store:
        for agency, purpose, tins, year in (
            ("ICE", "8 U.S.C. 1253(a)(1)", [TIN_A, TIN_B, TIN_A], "2026"),
            ("DEA", "21 U.S.C. 841", [TIN_B], "2026"),
            ("ICE", "8 U.S.C. 1253(a)(1)", [TIN_A], "2025"),
        ):
            batch = store.create_batch(letter={}, file_digests={}, requesting_agency=agency)
            events = [
                BatchReceived(
                    batch_id=batch,
                    requesting_agency=agency,
                    letter_digest=file_digest(b"l"),
                    files={},
                    record_count=len(tins),
                )
            ]
            for i, tin in enumerate(tins):
                events.append(RecordScreened(batch_id=batch, request_id=f"Q{i}", outcome="sufficient"))
                events.append(
                    Disclosure(
                        batch_id=batch,
                        request_id=f"Q{i}",
                        taxpayer=pseudonyms.taxpayer(tin),
                        date=f"{year}-05-0{i + 1}",
                        recipient_agency=agency,
                        authority="26 U.S.C. 6103(i)(2)",
                        purpose=purpose,
                    )
                )
            store.append_events(events)
        store.sign_checkpoint(load_signer())


def test_accounting_lists_every_disclosure_with_a_proof(env: Env) -> None:
    seed_disclosures(env)
    code, out, err = env.run("--taxpayer", TIN_A, use_app=accounting_app)
    assert code == 0, err
    assert "900-11-2222" not in out and "900112222" not in out
    result = json.loads(out)
    assert [d["date"] for d in result["disclosures"]] == ["2026-05-01", "2026-05-03", "2025-05-01"]
    assert {d["recipient_agency"] for d in result["disclosures"]} == {"ICE"}
    for disclosure in result["disclosures"]:
        assert check_inclusion_document(disclosure["proof"], load_signer().verifier).startswith(
            f"OK: event {disclosure['event_id']}"
        )
    code, out, _ = env.run("--taxpayer", "900-99-9999", use_app=accounting_app)
    assert code == 0 and json.loads(out)["disclosures"] == []


def test_accounting_refuses_when_table_and_ledger_disagree(env: Env) -> None:
    seed_disclosures(env)
    env.sql("UPDATE disclosures SET recipient_agency = 'FBI' WHERE id = 1")
    code, _, err = env.run("--taxpayer", TIN_A, use_app=accounting_app)
    assert code == 1 and "field recipient_agency in the table differs" in err
    env.sql("DELETE FROM disclosures WHERE id = 1")
    code, _, err = env.run("--taxpayer", TIN_A, use_app=accounting_app)
    assert code == 1 and "missing from the disclosures table" in err


def test_accounting_bad_tin_is_not_echoed(env: Env) -> None:
    code, _, err = env.run("--taxpayer", "12-34", use_app=accounting_app)
    assert code == 2 and "12-34" not in err and "9 digits" in err


def test_jct_report_counts_by_agency(env: Env) -> None:
    seed_disclosures(env)
    folder = env.tmp / "jct"  # an output folder is new or empty (or --force)
    code, _, err = env.run("jct", "--year", "2026", "--out-dir", str(folder), use_app=report_app)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO((folder / "jct-2026.csv").read_text())))
    by_agency = {row["recipient_agency"]: row for row in rows}
    assert by_agency["ICE"]["disclosures"] == "3" and by_agency["ICE"]["taxpayers"] == "2"
    assert by_agency["DEA"]["disclosures"] == "1" and by_agency["DEA"]["taxpayers"] == "1"
    assert by_agency["DEA"]["general_purposes"] == "21 U.S.C. 841"
    # Requests are the records screened this year (all seeded now), across agencies.
    assert int(by_agency["ICE"]["requests"]) == 4 and by_agency["DEA"]["requests"] == "1"
    page = (folder / "jct-2026.html").read_text()
    assert "<caption>" in page and "Accurate as of" in page and "<td>DEA</td>" in page
