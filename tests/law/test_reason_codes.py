"""Every screening reason code, driven by the case tables in src/ftigate/law/cases/screen/.

Each table has examples that must fire the code and near-misses that must
not. Record-level cases run together in one batch; letter- and batch-level
cases each run as their own small batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

import ftigate.law
from ftigate.law.loader import default_law
from ftigate.law.model import Scope
from ftigate_testkit import BASE_LETTER, ScreenBatch, merge, record

CASES_DIR = Path(ftigate.law.__file__).parent / "cases" / "screen"
BATCH_KEYS = {"letter", "records", "policy", "record"}


def _tables() -> dict[str, dict[str, Any]]:
    tables = {}
    for path in sorted(CASES_DIR.glob("*.yaml")):
        # BaseLoader keeps every scalar a string, as it would be in a CSV file.
        table = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
        assert table["code"] == path.stem, f"{path.name} declares {table['code']}"
        tables[path.stem] = table
    return tables


TABLES = _tables()
CASES = [
    (code, expect, i, case)
    for code, table in TABLES.items()
    for expect in ("fires", "clears")
    for i, case in enumerate(table[expect])
]
RECORD_CASES = [c for c in CASES if not (set(c[3]) & BATCH_KEYS)]
BATCH_CASES = [c for c in CASES if set(c[3]) & BATCH_KEYS or c[3] == {}]


def test_every_screening_code_has_three_positive_and_three_negative_cases() -> None:
    screening = {c for c, rc in default_law().codes.items() if rc.scope != Scope.IDENTITY}
    assert screening - set(TABLES) == set(), "codes without a case table"
    assert set(TABLES) - screening == set(), "case tables for unknown codes"
    for code, table in TABLES.items():
        assert len(table["fires"]) >= 3, code
        assert len(table["clears"]) >= 3, code


@pytest.fixture(scope="module")
def record_results(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    from ftigate.intake.letter import Letter
    from ftigate.law.loader import load_law
    from ftigate.screen.run import screen_files

    officers = [f"A{100 + i}" for i in range(40)]
    rows = [record(i, officers, **case) for i, (_, _, _, case) in enumerate(RECORD_CASES)]
    rows.append(record(len(rows), officers))  # the base record alone
    letter = merge(BASE_LETTER, {"officers": officers, "record_count": len(rows)})
    tmp = tmp_path_factory.mktemp("record-cases")
    from ftigate_testkit import write_requests

    src = write_requests(tmp / "requests.csv", rows)
    out = tmp / "screened.parquet"
    screen_files(Letter.model_validate(letter), src, out, load_law(), workers=1)
    frame = pl.read_parquet(out)
    return {i: row for i, row in enumerate(frame.iter_rows(named=True))}


def test_the_base_record_is_sufficient(record_results: dict[int, dict[str, Any]]) -> None:
    base = record_results[len(RECORD_CASES)]
    assert base["sufficient"], base


@pytest.mark.parametrize(
    ("code", "expect", "index", "case"), RECORD_CASES, ids=[f"{c}-{e}-{i}" for c, e, i, _ in RECORD_CASES]
)
def test_record_case(
    record_results: dict[int, dict[str, Any]], code: str, expect: str, index: int, case: dict[str, str]
) -> None:
    row = record_results[RECORD_CASES.index((code, expect, index, case))]
    found = set(row["reasons"]) | set(row["warnings"])
    if expect == "fires":
        assert code in found, f"{case} gave {sorted(found)}"
    else:
        assert code not in found, f"{case} gave {sorted(found)}"


@pytest.mark.parametrize(
    ("code", "expect", "index", "case"), BATCH_CASES, ids=[f"{c}-{e}-{i}" for c, e, i, _ in BATCH_CASES]
)
def test_batch_case(
    screen_batch: ScreenBatch, code: str, expect: str, index: int, case: dict[str, Any]
) -> None:
    count = int(case.get("records", 5))
    letter = merge(BASE_LETTER, {"record_count": count})
    letter = merge(letter, case.get("letter", {}))
    rows = [record(i, list(letter["officers"]), **case.get("record", {})) for i in range(count)]
    frame = screen_batch(rows, letter, case.get("policy"))
    for row in frame.iter_rows(named=True):
        found = set(row["reasons"]) | set(row["warnings"])
        if expect == "fires":
            assert code in found, f"{case} gave {sorted(found)}"
        else:
            assert code not in found, f"{case} gave {sorted(found)}"
