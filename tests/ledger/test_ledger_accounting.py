"""`ftigate accounting --taxpayer` and `ftigate report jct`, on seeded disclosures."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_cli_env import Env

from ftigate.cli.ledger import accounting_app, check_inclusion_document, report_app
from ftigate.ledger.accounting import BatchLog
from ftigate.ledger.committed import Committed, ScreeningItem, commit_screening
from ftigate.ledger.events import (
    BatchAbandoned,
    BatchReceived,
    BatchSuperseded,
    Disclosure,
    LedgerEvent,
    RecordScreened,
    ResponseReleased,
    file_digest,
)
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
            events: list[LedgerEvent | Committed] = [
                BatchReceived(
                    batch_id=batch,
                    requesting_agency=agency,
                    letter_digest=file_digest(b"l"),
                    files={},
                    record_count=len(tins),
                    letter_date=f"{year}-04-30",
                )
            ]
            if agency == "DEA":  # screened as one committing leaf; the others one leaf per request
                items = [ScreeningItem(batch, f"Q{i}", "sufficient") for i in range(len(tins))]
                events.append(commit_screening(batch, items))
            for i, tin in enumerate(tins):
                if agency != "DEA":
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
            events.append(ResponseReleased(batch_id=batch, response_digest=file_digest(b"r")))
            store.append_events(events)
        store.sign_checkpoint(load_signer())


def seed_batch(
    env: Env, files: dict[str, str], tins: list[str], *, released: bool, supersedes: str | None = None
) -> str:
    """One ICE batch of the given files disclosing about `tins` (request Q0, Q1, ...)."""
    pseudonyms = load_pseudonymizer()
    with Store.open(env.url, signer=load_signer(), pseudonyms=pseudonyms) as store:
        batch = store.create_batch(letter={}, file_digests=files, requesting_agency="ICE")
        events: list[LedgerEvent] = [
            BatchReceived(
                batch_id=batch, requesting_agency="ICE", letter_digest=file_digest(b"l"), files=files,
                record_count=len(tins), letter_date="2026-03-01",
            )
        ]  # fmt: skip
        if supersedes:
            events.append(
                BatchSuperseded(batch_id=supersedes, superseded_by=batch, reason="again", actor="u")
            )
        for i, tin in enumerate(tins):
            events.append(RecordScreened(batch_id=batch, request_id=f"Q{i}", outcome="sufficient"))
            events.append(
                Disclosure(
                    batch_id=batch, request_id=f"Q{i}", taxpayer=pseudonyms.taxpayer(tin), date="2026-03-02",
                    recipient_agency="ICE", authority="26 U.S.C. 6103(i)(2)", purpose="8 U.S.C. 1253(a)(1)",
                )
            )  # fmt: skip
        if released:
            events.append(ResponseReleased(batch_id=batch, response_digest=file_digest(b"r")))
        store.append_events(events)
        store.sign_checkpoint(load_signer())
    return batch


def test_each_disclosure_counts_once_and_only_once_released(env: Env) -> None:
    """Finding 2 of issue 12: a killed run's disclosures and a rerun's counted again."""
    files = {"letter.yaml": file_digest(b"letter"), "requests.csv": file_digest(b"requests")}
    killed = seed_batch(env, files, [TIN_A, TIN_B], released=False)  # response never in place
    first = seed_batch(env, files, [TIN_A, TIN_B], released=True)
    seed_batch(env, files, [TIN_A, TIN_B], released=True, supersedes=first)
    with Store.open(env.url, signer=load_signer(), pseudonyms=load_pseudonymizer()) as store:
        store.append_events([BatchAbandoned(batch_id=killed, reason="killed", actor="u")])
        store.sign_checkpoint(load_signer())
    code, out, err = env.run("--taxpayer", TIN_A, use_app=accounting_app)
    assert code == 0, err
    made = json.loads(out)["disclosures"]
    assert [(d["batch_id"], d["batch_status"]) for d in made] == [(first, "superseded")]
    folder = env.tmp / "jct"
    # --out-dir, the first spelling of --out here, still works and says it is deprecated
    code, _, err = env.run("jct", "--year", "2026", "--out-dir", str(folder), use_app=report_app)
    assert code == 0, err
    assert "--out-dir is deprecated; use --out" in err
    rows = list(csv.DictReader(io.StringIO((folder / "jct-2026.csv").read_text())))
    row = {r["recipient_agency"]: r for r in rows}["ICE"]  # the fixture's own records: no agency
    assert (row["requests"], row["disclosures"], row["taxpayers"]) == ("2", "2", "2")
    states = json.loads((folder / "jct-2026.json").read_text())["batches_by_state"]
    assert states == {"abandoned": 1, "released": 1, "superseded": 1}
    assert "1 abandoned, 1 released, 1 superseded" in (folder / "jct-2026.html").read_text()


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
    code, _, err = env.run("jct", "--year", "2026", "--out", str(folder), use_app=report_app)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO((folder / "jct-2026.csv").read_text())))
    by_agency = {row["recipient_agency"]: row for row in rows}
    assert by_agency["ICE"]["disclosures"] == "3" and by_agency["ICE"]["taxpayers"] == "2"
    assert by_agency["DEA"]["disclosures"] == "1" and by_agency["DEA"]["taxpayers"] == "1"
    assert by_agency["DEA"]["general_purposes"] == "21 U.S.C. 841"
    # Requests are the records screened of batches whose letter is dated in the year.
    assert int(by_agency["ICE"]["requests"]) == 3 and by_agency["DEA"]["requests"] == "1"
    page = (folder / "jct-2026.html").read_text()
    assert "<caption>" in page and "Accurate as of" in page and "<td>DEA</td>" in page


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["f1", "f2"]),  # which letter and request file
            st.sampled_from(["released", "abandoned", "never released", "voided"]),
            st.lists(
                st.tuples(st.sampled_from(["Q0", "Q1", "Q2"]), st.sampled_from(["t1", "t2"])), max_size=4
            ),
        ),
        max_size=6,
    )
)
def test_counted_disclosures_are_the_distinct_released_ones(
    batches: list[tuple[str, str, list[tuple[str, str]]]],
) -> None:
    """Against a naive count: the distinct (files, request, taxpayer) of released batches."""
    log = BatchLog()
    disclosures = []
    for number, (files, state, made) in enumerate(batches):
        batch_id = f"b{number}"
        log.observe(
            {
                "kind": "batch_received",
                "batch_id": batch_id,
                "requesting_agency": "ICE",
                "files": {"x": files},
            }
        )
        for request_id, taxpayer in made:
            disclosures.append({"batch_id": batch_id, "request_id": request_id, "taxpayer": taxpayer})
        if state in ("released", "voided"):
            log.observe({"kind": "response_released", "batch_id": batch_id})
        if state == "voided":
            log.observe({"kind": "batch_voided", "batch_id": batch_id})
        if state == "abandoned":
            log.observe({"kind": "batch_abandoned", "batch_id": batch_id})
    naive = {
        (files, request_id, taxpayer)
        for files, state, made in batches
        if state in ("released", "voided")
        for request_id, taxpayer in made
    }
    counted = log.counted(disclosures)
    assert len(counted) == len(naive)
    assert {(log.files[d["batch_id"]][0], d["request_id"], d["taxpayer"]) for d in counted} == naive
