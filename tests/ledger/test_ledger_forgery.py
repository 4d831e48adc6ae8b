"""Issue 12, finding 4 and the exit codes, through the CLI (SQLite files).

Someone who can write the database but holds no key appends through the store:
`ledger checkpoint` refuses to sign, `ledger verify` and `report jct` fail, and the
forged agency never reaches a report. Each test fails on the code before the change."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from ledger_cli_env import Env

from ftigate.cli.ledger import accounting_app, report_app
from ftigate.ledger.events import BatchReceived, Disclosure, Pseudonymizer, file_digest
from ftigate.ledger.keys import load_signer
from ftigate.store.api import Store


def _checkpoint(env: Env, name: str = "head.checkpoint") -> str:
    path = env.tmp / name
    code, _, err = env.run("checkpoint", "--out", str(path), "--force")
    assert code == 0, err
    return str(path)


def _forge(env: Env, agency: str = "Forged Agency") -> None:
    pseudonyms = Pseudonymizer(b"\x42" * 32)  # any key: the forger has none of ours
    with Store.open(env.url) as store:
        batch = store.create_batch(letter={}, file_digests={}, requesting_agency=agency)
        store.append_events(
            [
                BatchReceived(batch_id=batch, requesting_agency=agency,
                              letter_digest=file_digest(b"l"), files={}, record_count=1),
                Disclosure(batch_id=batch, request_id="F1",
                           taxpayer=pseudonyms.taxpayer("900-00-0001"), date="2026-04-01",
                           recipient_agency=agency, authority="26 U.S.C. 6103(i)(2)",
                           purpose="forged"),
            ]
        )  # fmt: skip


def test_checkpoint_refuses_a_forged_tail_and_names_its_first_leaf(env: Env) -> None:
    _checkpoint(env)
    _forge(env)
    code, _, err = env.run("checkpoint", "--out", str(env.tmp / "forged.checkpoint"))
    assert code == 1, err
    assert "leaf 12 is not covered by a valid seal" in err
    assert not (env.tmp / "forged.checkpoint").exists()
    code, _, err = env.run("verify", "--pending")
    assert code == 1 and "(leaf 12)" in err  # the forged batch; its leaves are unsealed too


def test_the_jct_report_never_lists_a_forged_agency(env: Env) -> None:
    _checkpoint(env)
    _forge(env)
    folder = env.tmp / "jct"
    code, _, err = env.run("jct", "--year", "2026", "--out", str(folder), use_app=report_app)
    assert code == 1 and "the JCT report is not produced" in err
    assert not folder.exists() or not any(folder.iterdir())


def _seed_released_batch(env: Env) -> None:
    """One ICE batch, recorded as `process` records it: decisions, disclosures, release."""
    from ftigate.ledger.events import Decision, ResponseReleased
    from ftigate.ledger.keys import load_pseudonymizer

    pseudonyms = load_pseudonymizer()
    letter = {"requesting_agency": "ICE", "statute": "8 U.S.C. 1253(a)(1)", "purpose": "Removal",
              "date": "2026-03-01"}  # fmt: skip
    with Store.open(env.url, signer=load_signer(), pseudonyms=pseudonyms) as store:
        batch = store.create_batch(letter=letter, file_digests={}, requesting_agency="ICE")
        events: list[object] = [
            BatchReceived(batch_id=batch, requesting_agency="ICE", letter_digest=file_digest(b"l"), files={},
                          record_count=4, letter_date="2026-03-01")
        ]  # fmt: skip
        for i in range(4):
            taxpayer = pseudonyms.taxpayer(f"90011{i:04d}")
            events.append(
                Decision(batch_id=batch, request_id=f"Q{i}", decision="disclose", taxpayer=taxpayer)
            )
            events.append(
                Disclosure(batch_id=batch, request_id=f"Q{i}", taxpayer=taxpayer, date="2026-03-02",
                           recipient_agency="ICE", authority="26 U.S.C. 6103(i)(2)", purpose="Removal")
            )  # fmt: skip
        events.append(ResponseReleased(batch_id=batch, response_digest=file_digest(b"r")))
        store.append_events(events)  # type: ignore[arg-type]
        store.sign_checkpoint(load_signer())


def test_the_transparency_report_never_publishes_an_edited_table(env: Env) -> None:
    """Finding 4: rows of `disclosures` deleted and `decisions` flipped, which the public
    report reads, are found by the verification the report runs first."""
    from ftigate.cli.main import app

    _seed_released_batch(env)
    args = ["report", "transparency", "--year", "2026", "--threshold", "2"]
    code, _, err = env.run(*args, "--out", str(env.tmp / "before"), use_app=app)
    assert code == 0, err
    env.sql("DELETE FROM disclosures WHERE request_id = 'Q0'")
    env.sql("UPDATE decision_rows SET decision = 'refuse' WHERE request_id = 'Q1'")  # a per-leaf decision
    folder = env.tmp / "public"
    code, _, err = env.run(*args, "--out", str(folder), use_app=app)
    assert code == 1 and "the transparency report is not produced" in err, err
    assert not folder.exists() or not any(folder.iterdir())


def test_no_signed_head_does_not_verify(env: Env) -> None:
    code, _, err = env.run("verify")
    assert code == 1 and "no signed head" in err
    _checkpoint(env)
    assert env.run("verify")[0] == 0
    env.sql("DELETE FROM signed_tree_heads")
    code, _, err = env.run("verify")
    assert code == 1 and "no signed head" in err


def test_accounting_detects_a_replaced_pseudonym_key(env: Env) -> None:
    _checkpoint(env)
    # The key file is replaced by a new key: the log pins the old one.
    key_file = env.tmp / "keys" / "pseudonym.key"
    key_file.chmod(0o600)
    key_file.write_text(("07" * 32) + "\n")
    code, _, err = env.run("--taxpayer", "900-11-2222", use_app=accounting_app)
    assert code == 1 and "not the one this log pins" in err


def test_recording_under_a_replaced_pseudonym_key_is_refused(env: Env) -> None:
    key_file = env.tmp / "keys" / "pseudonym.key"
    key_file.write_text(("07" * 32) + "\n")
    with pytest.raises(Exception, match="pinned to another pseudonym key"):
        env.append(1)


def test_a_leaf_stored_as_text_is_a_finding_not_a_traceback(env: Env) -> None:
    _checkpoint(env)
    env.append(2)  # leaves 12..14, not yet signed
    env.sql("UPDATE ledger_leaves SET entry = CAST(entry AS TEXT) WHERE leaf_index = 13")
    with sqlite3.connect(env.db) as conn:
        stored = conn.execute("SELECT typeof(entry) FROM ledger_leaves WHERE leaf_index = 13")
        assert stored.fetchone() == ("text",)
    code, _, err = env.run("verify", "--pending")
    assert code == 1 and "leaf 13 is stored as text" in err and "Traceback" not in err
    code, _, err = env.run("checkpoint", "--out", str(env.tmp / "y"))
    assert code == 2 and "leaf 13 is not stored as bytes" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--db", "mysql://x"], "not 'mysql'"),
        (["verify", "--log-key", "nope"], "verification key must be"),
        (["verify", "--checkpoint", "MISSING"], "No such file"),
        (["verify", "--checkpoint", "TRUNCATED"], "not a signed checkpoint"),
        (["verify", "--checkpoint", "BINARY"], "is not UTF-8 text"),
        (["check-proof", "MISSING"], "No such file"),
    ],
)
def test_bad_input_exits_2_with_one_line(env: Env, args: list[str], message: str) -> None:
    head = _checkpoint(env)
    text = Path(head).read_text(encoding="utf-8")
    (env.tmp / "TRUNCATED").write_text(text[: len(text) // 2])
    (env.tmp / "BINARY").write_bytes(b"\xff\xfe\x00")
    args = [str(env.tmp / a) if a in {"MISSING", "TRUNCATED", "BINARY"} else a for a in args]
    code, _, err = env.run(*args)
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_log_key_is_pinned(env: Env) -> None:
    vkey = load_signer().verifier.vkey()
    _checkpoint(env)
    code, out, _ = env.run("verify", "--log-key", vkey)
    assert code == 0, out


def test_damaged_leaves_never_crash_prove_or_accounting(env: Env) -> None:
    _checkpoint(env)
    event_id = env.sql("SELECT event_id FROM ledger_leaves WHERE leaf_index = 2")[0][0]
    env.sql("UPDATE ledger_leaves SET entry = CAST(entry AS TEXT) WHERE leaf_index = 2")
    code, _, err = env.run("prove", str(event_id))
    assert code == 2 and "leaf 2 is not stored as bytes" in err
    env.sql("UPDATE ledger_leaves SET kind = 'disclosure', entry = X'00' WHERE leaf_index = 3")
    code, _, err = env.run("--taxpayer", "900-11-2222", use_app=accounting_app)
    assert code == 1 and "leaf 3 is not a readable ledger entry" in err


def test_an_empty_append_records_nothing(env: Env, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with Store.open(url, signer=load_signer(), pseudonyms=Pseudonymizer(b"\x01" * 32)) as store:
        assert store.append_events([]).size == 0
        assert list(store.leaves()) == []


def test_a_store_refusal_inside_a_guarded_command_is_exit_2_with_its_message() -> None:
    import typer

    from ftigate.cli.common import handle_error
    from ftigate.store.api import StoreError, UnsealedLeaves

    for error, code in ((StoreError("pinned to another pseudonym key"), 2),
                        (UnsealedLeaves("leaf 7 is not covered by a valid seal"), 1)):  # fmt: skip
        with pytest.raises(typer.Exit) as raised:
            handle_error(error)
        assert raised.value.exit_code == code
