"""One bad fixture per failure mode of issue 12, finding 7 (OpenFisca's style: a fixture,
the command it goes through, the exit code and the message expected).

Each builder writes its fixture into a fresh folder and returns the command line. The
fixtures are built rather than checked in because several are large (100,000 levels of
nesting) or binary (Parquet with list and struct columns); each is a few lines here.
SECRET is a value planted in the hostile field: it must never appear in any output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from ftigate.intake.requests import REQUEST_COLUMNS
from ftigate_testkit import BASE_LETTER, merge, record, write_letter, write_requests

SECRET = "Zyxwquartz"
OFFICERS = ["A100", "A101", "A102"]
DEEP = 100_000
UNWRITABLE = Path("/sys/ftigate-hostile-test/out")  # EPERM even for root: a real unwritable place


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], list[str]]
    code: int | tuple[int, ...]
    says: tuple[str, ...]
    """fragments the one error line must hold (file, row, column, the problem)"""
    writes: tuple[str, ...] = ()
    """paths (relative to the case folder) the command may create; anything else is a failure"""
    env: Callable[[Path], dict[str, str]] = lambda _tmp: {}
    """environment for the command (e.g. where its key files are)"""


def _rows(n: int = 3) -> list[dict[str, str]]:
    return [record(i, OFFICERS) for i in range(1, n + 1)]


def _letter(tmp: Path, **overrides: object) -> Path:
    return write_letter(tmp / "letter.yaml", merge(BASE_LETTER, {"record_count": 3, **overrides}))


def _screen(tmp: Path, letter: Path, requests: Path, *extra: str) -> list[str]:
    return ["screen", "--letter", str(letter), "--requests", str(requests), "--out", str(tmp / "out.csv"), *extra]


# --- request files ------------------------------------------------------------------------------


def nul_in_csv_field(tmp: Path) -> list[str]:
    rows = _rows()
    rows[1]["street"] = f"12 {SECRET}\x00 St"
    return _screen(tmp, _letter(tmp), write_requests(tmp / "requests.csv", rows))


def nul_in_parquet_field(tmp: Path) -> list[str]:
    rows = _rows()
    rows[2]["last_name"] = f"{SECRET}\x00"
    path = tmp / "requests.parquet"
    pl.DataFrame(rows, schema=dict.fromkeys(REQUEST_COLUMNS, pl.String)).write_parquet(path)
    return _screen(tmp, _letter(tmp), path)


def _parquet_with(tmp: Path, column: str, values: pa.Array) -> Path:
    rows = _rows()
    table = pa.table({c: [r[c] for r in rows] for c in REQUEST_COLUMNS})
    table = table.set_column(table.schema.get_field_index(column), column, values)
    path = tmp / "requests.parquet"
    pq.write_table(table, path)
    return path


def parquet_list_column(tmp: Path) -> list[str]:
    values = pa.array([["1 Main St"], [f"2 {SECRET} Ave", "x"], ["3 Elm St"]])
    return _screen(tmp, _letter(tmp), _parquet_with(tmp, "street", values))


def parquet_struct_column(tmp: Path) -> list[str]:
    values = pa.array([{"area": "123", "rest": SECRET}] * 3)
    return _screen(tmp, _letter(tmp), _parquet_with(tmp, "tin", values))


def parquet_map_column(tmp: Path) -> list[str]:
    values = pa.array([[("k", SECRET)]] * 3, type=pa.map_(pa.string(), pa.string()))
    return _screen(tmp, _letter(tmp), _parquet_with(tmp, "reason", values))


def parquet_binary_not_utf8(tmp: Path) -> list[str]:
    values = pa.array([b"Maria", SECRET.encode() + b"\xff\xfe", b"Ana"], type=pa.binary())
    return _screen(tmp, _letter(tmp), _parquet_with(tmp, "first_name", values))


# --- letters and policies -------------------------------------------------------------------------


def letter_json_nested_deep(tmp: Path) -> list[str]:
    letter = tmp / "letter.json"
    letter.write_text('{"purpose": ' + "[" * DEEP + json.dumps(SECRET) + "]" * DEEP + "}")
    return _screen(tmp, letter, write_requests(tmp / "requests.csv", _rows()))


def letter_yaml_nested_deep(tmp: Path) -> list[str]:
    letter = tmp / "letter.yaml"
    letter.write_text("purpose: " + "[" * DEEP + SECRET + "]" * DEEP + "\n")
    return _screen(tmp, letter, write_requests(tmp / "requests.csv", _rows()))


def policy_yaml_nested_deep(tmp: Path) -> list[str]:
    policy = tmp / "policy.yaml"
    policy.write_text("officials: " + "{a: " * DEEP + SECRET + "}" * DEEP + "\n")
    requests = write_requests(tmp / "requests.csv", _rows())
    return _screen(tmp, _letter(tmp), requests, "--policy", str(policy))


def letter_bad_date(tmp: Path) -> list[str]:
    text = yaml.safe_dump(merge(BASE_LETTER, {"record_count": 3, "signer": {"name": SECRET}}), sort_keys=False)
    letter = tmp / "letter.yaml"
    letter.write_text(text.replace("date: '2025-06-27'", "date: 2025-13-45"))
    assert "2025-13-45" in letter.read_text()
    return _screen(tmp, letter, write_requests(tmp / "requests.csv", _rows()))


def letter_json_nul(tmp: Path) -> list[str]:
    letter = tmp / "letter.json"
    letter.write_text(json.dumps(merge(BASE_LETTER, {"purpose": f"{SECRET}\u0000 investigation"})))
    return _screen(tmp, letter, write_requests(tmp / "requests.csv", _rows()))


# --- outputs and databases -------------------------------------------------------------------------


def _audit_inputs(tmp: Path, route: str) -> tuple[Path, Path, Path]:
    rows = _rows()
    requests = write_requests(tmp / "requests.csv", rows)
    disclosed = tmp / "disclosed.csv"
    pl.DataFrame(
        [{"request_id": rows[0]["request_id"], "route": route, "street": "1 Main St", "unit": "",
          "city": "Austin", "state": "TX", "zip": "78701"}]
    ).write_csv(disclosed)  # fmt: skip
    return _letter(tmp), requests, disclosed


def audit_route_mathtext(tmp: Path) -> list[str]:
    letter, requests, disclosed = _audit_inputs(tmp, "$\\frac{$")
    return ["audit", "--letter", str(letter), "--requests", str(requests), "--disclosed", str(disclosed),
            "--out", str(tmp / "audit"), "--workers", "1"]  # fmt: skip


def audit_unwritable_out(tmp: Path) -> list[str]:
    letter, requests, disclosed = _audit_inputs(tmp, "tin_matching")
    return ["audit", "--letter", str(letter), "--requests", str(requests), "--disclosed", str(disclosed),
            "--out", str(UNWRITABLE), "--workers", "1"]  # fmt: skip


def transparency_unwritable_out(tmp: Path) -> list[str]:
    decisions = tmp / "decisions.csv"
    decisions.write_text("request_id,decision,reasons\nR1,refuse,ADDRESS_MISSING\n")
    return ["report", "transparency", "--year", "2025", "--decisions", str(decisions),
            "--letter", str(_letter(tmp)), "--out", str(UNWRITABLE)]  # fmt: skip


def synth_unwritable_out(tmp: Path) -> list[str]:
    return ["synth", "population", "--people", "200", "--quiet", "--out", str(UNWRITABLE)]


def mysql_database(tmp: Path) -> list[str]:
    return ["ledger", "prove", "some-event", "--db", "mysql://user@db.example/ftigate"]


def transparency_mysql_database(tmp: Path) -> list[str]:
    return ["report", "transparency", "--year", "2025", "--db", "mysql://x", "--out", str(tmp / "t")]


def ledger_leaf_stored_as_text(tmp: Path) -> list[str]:
    import sqlite3

    from ftigate.ledger.events import RecordScreened
    from ftigate.store.api import Store

    db = tmp / "ledger.db"
    with Store.open(f"sqlite:///{db}") as store:
        batch = store.create_batch(letter={}, file_digests={}, requesting_agency="ICE")
        store.append_events(RecordScreened(batch_id=batch, request_id=f"R{i}", outcome="sufficient") for i in range(3))
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE ledger_leaves SET entry = CAST(entry AS TEXT) WHERE leaf_index = 1")
    from ftigate.ledger.keys import generate_keys

    saved = {name: os.environ.get(name) for name in key_env(tmp)}
    os.environ.update(key_env(tmp))
    try:
        generate_keys("ftigate.test/hostile")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return ["ledger", "verify", "--db", str(db)]


def key_env(tmp: Path) -> dict[str, str]:
    return {
        "FTIGATE_SIGNING_KEY_FILE": str(tmp / "signing.key"),
        "FTIGATE_PSEUDONYM_KEY_FILE": str(tmp / "pseudonym.key"),
    }


CASES = [
    Case("nul-in-csv-field", nul_in_csv_field, 2, ("requests.csv", "row 2", "column 'street'", "NUL byte")),
    Case("nul-in-parquet-field", nul_in_parquet_field, 2, ("requests.parquet", "row 3", "column 'last_name'", "NUL")),
    Case("parquet-list-column", parquet_list_column, 2, ("requests.parquet", "column 'street'", "a list")),
    Case("parquet-struct-column", parquet_struct_column, 2, ("requests.parquet", "column 'tin'", "a struct")),
    Case("parquet-map-column", parquet_map_column, 2, ("requests.parquet", "column 'reason'", "a map")),
    Case("parquet-binary-not-utf8", parquet_binary_not_utf8, 2, ("row 2", "column 'first_name'", "UTF-8")),
    Case("letter-json-nested-deep", letter_json_nested_deep, 2, ("letter.json", "nested too deeply")),
    Case("letter-yaml-nested-deep", letter_yaml_nested_deep, 2, ("letter.yaml", "nested too deeply")),
    Case("policy-yaml-nested-deep", policy_yaml_nested_deep, 2, ("policy.yaml", "nested too deeply")),
    Case("letter-bad-date", letter_bad_date, 2, ("letter.yaml", "not a valid date", "line ", "column ")),
    Case("letter-json-nul", letter_json_nul, 2, ("letter.json", "field 'purpose'", "NUL byte")),
    Case("audit-route-mathtext", audit_route_mathtext, 0, ("disclosures audited",), writes=("audit",)),
    Case("audit-unwritable-out", audit_unwritable_out, 2, (str(UNWRITABLE), "cannot create the output folder")),
    Case("transparency-unwritable-out", transparency_unwritable_out, 2, (str(UNWRITABLE), "cannot create")),
    Case("synth-unwritable-out", synth_unwritable_out, 2, (str(UNWRITABLE), "cannot create")),
    Case("db-mysql", mysql_database, 2, ("--db", "SQLite or PostgreSQL", "'mysql'")),
    Case("transparency-db-mysql", transparency_mysql_database, 2, ("--db", "'mysql'")),
    # The ledger's own check of a leaf's type is the ledger work's (branch ledgertrust): here
    # the error path must give "does not verify" or "internal error", never a traceback.
    Case("ledger-leaf-stored-as-text", ledger_leaf_stored_as_text, (1, 3), ("error:",), env=key_env),
]
