"""The audit's identity codes, driven by the case tables in src/ftigate/law/cases/audit/:
every case of every table is one disclosure of one audited batch against the hand-built
households, and each must show its code (as a reason or a note) or not show it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from audit_fixtures import (
    BORROWER_HOME,
    GARCIA_HOUSE,
    JR_NOW,
    LATTIMORE_HOUSE,
    LENDER_HOME,
    LETTER,
    MARIA_NOW,
    OFFICERS,
    PEREZ_HOUSE,
    write_reference,
)

import ftigate.law
from ftigate.audit.run import audit_batch
from ftigate.law.loader import default_law
from ftigate_testkit import merge, record, write_letter, write_requests

CASES_DIR = Path(ftigate.law.__file__).parent / "cases" / "audit"
RELEASED = {
    "BORROWER_HOME": BORROWER_HOME,
    "GARCIA_HOUSE": GARCIA_HOUSE,
    "JR_NOW": JR_NOW,
    "LATTIMORE_HOUSE": LATTIMORE_HOUSE,
    "LENDER_HOME": LENDER_HOME,
    "MARIA_NOW": MARIA_NOW,
    "PEREZ_HOUSE": PEREZ_HOUSE,
}


def _tables() -> dict[str, dict[str, Any]]:
    tables = {}
    for path in sorted(CASES_DIR.glob("*.yaml")):
        table = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert table["code"] == path.stem, f"{path.name} declares {table['code']}"
        tables[path.stem] = table
    return tables


TABLES = _tables()
CASES = [
    (code, expect, case)
    for code, table in TABLES.items()
    for expect in ("fires", "clears")
    for case in table[expect]
]


def test_every_audit_code_has_a_case_table_that_fires_and_clears() -> None:
    audit_codes = {
        code for code, rc in default_law().codes.items()
        if "ftigate.audit.identity.identity_findings" in rc.implemented_by
    }  # fmt: skip
    assert audit_codes - set(TABLES) == set(), "audit codes without a case table"
    assert set(TABLES) - audit_codes == set(), "case tables for codes the audit does not decide"
    for code, table in TABLES.items():
        assert len(table["fires"]) >= 3 and len(table["clears"]) >= 3, code


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    root = tmp_path_factory.mktemp("audit-cases")
    rows = [record(i, OFFICERS, **case["request"]) for i, (_, _, case) in enumerate(CASES, 1)]
    requests = write_requests(root / "requests.csv", rows)
    letter = write_letter(root / "letter.yaml", merge(LETTER, {"record_count": len(rows)}))
    disclosed = root / "disclosed.csv"
    released = [
        {"request_id": f"R{i:06d}", **RELEASED[case["released"]]} for i, (_, _, case) in enumerate(CASES, 1)
    ]
    pl.DataFrame(
        released, schema=dict.fromkeys(("request_id", "street", "unit", "city", "state", "zip"), pl.String)
    ).write_csv(disclosed)
    result = audit_batch(
        letter, requests, disclosed, default_law(), reference_path=write_reference(root / "reference"),
        example_key=b"k" * 32, key_note="test", workers=1,
    )  # fmt: skip
    return dict(enumerate(result.findings.iter_rows(named=True), 1))


@pytest.mark.parametrize(
    ("code", "expect", "case"), CASES, ids=[f"{code}-{expect}-{case['name']}" for code, expect, case in CASES]
)
def test_audit_case(audited: dict[int, dict[str, Any]], code: str, expect: str, case: dict[str, Any]) -> None:
    row = audited[CASES.index((code, expect, case)) + 1]
    # AMBIGUOUS_IDENTITY among namesakes who share the address released is a note, and the
    # table says so by listing that case among those that clear.
    found = set(row["reasons"]) | ({c for c in row["notes"] if c == "IDENTITY_NOT_ESTABLISHED"})
    if expect == "fires":
        assert code in found, f"{case['name']}: {row['reasons']} / {row['notes']}"
    else:
        assert code not in found, f"{case['name']}: {row['reasons']} / {row['notes']}"
