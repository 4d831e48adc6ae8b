"""Shared test builders: a valid letter, a valid record, and writers for both."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from ftigate.intake.requests import REQUEST_COLUMNS

BASE_LETTER: dict[str, Any] = {
    "requesting_agency": "U.S. Immigration and Customs Enforcement",
    "department": "Department of Homeland Security",
    "signer": {"name": "Example Signer", "title": "Director, U.S. Immigration and Customs Enforcement"},
    "date": "2025-06-27",
    "statute": "8 U.S.C. 1253(a)(1)",
    "purpose": "Investigation of wilful failure to depart after a final order of removal",
    "officers": ["A100", "A101", "A102", "A103", "A104"],
    "record_count": 5,
}

BASE_RECORD: dict[str, str] = {
    "first_name": "Maria",
    "middle_name": "",
    "last_name": "Garcia Lopez",
    "date_of_birth": "1984-03-02",
    "tin": "123-45-6789",
    "street": "1234 N Oak St",
    "unit": "Apt 4B",
    "city": "Austin",
    "state": "TX",
    "zip": "78701",
    "taxable_periods": "2022;2023",
    "statute": "8 U.S.C. 1253(a)(1)",
}


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def record(index: int, officers: list[str], **overrides: str) -> dict[str, str]:
    """A sufficient record, unique by index, with `overrides` applied."""
    row = {
        "request_id": f"R{index:06d}",
        **BASE_RECORD,
        "reason": f"Final order of removal entered 2019; did not depart; case C{index}",
        "case_number": f"C{index}",
        "officer": officers[index % len(officers)] if officers else "",
    }
    row.update(overrides)
    return {c: row.get(c, "") for c in REQUEST_COLUMNS}


def write_requests(path: Path, rows: list[dict[str, str]]) -> Path:
    pl.DataFrame(rows, schema=dict.fromkeys(REQUEST_COLUMNS, pl.String)).write_csv(path)
    return path


def write_letter(path: Path, letter: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(letter, allow_unicode=True), encoding="utf-8")
    return path


ScreenBatch = Callable[..., pl.DataFrame]


def key_codes(*keys: str) -> list[int]:
    """The sorted codes of readable address keys, as the matcher stores them."""
    import polars as pl

    from ftigate.resolve.standardise import key_code

    return sorted(pl.select(key_code(pl.lit(pl.Series(keys, dtype=pl.String)))).to_series().to_list())
