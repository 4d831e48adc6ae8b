"""Structurally valid SSNs and ITINs, drawn without repetition, vectorised.

SSN: area 001-899 except 666, group 01-99, serial 0001-9999.
ITIN: area 9xx, group (4th-5th digits) in 50-65, 70-88, 90-92 or 94-99, serial 0000-9999
(the serial rules the IRS publishes allow any serial).
"""

from __future__ import annotations

import numpy as np
import polars as pl

SSN_AREAS = np.array([a for a in range(1, 900) if a != 666], dtype=np.int64)
SSN_GROUPS = np.arange(1, 100, dtype=np.int64)
SSN_SERIALS = np.arange(1, 10000, dtype=np.int64)
ITIN_AREAS = np.arange(900, 1000, dtype=np.int64)
ITIN_GROUPS = np.array(
    [*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)], dtype=np.int64
)
ITIN_SERIALS = np.arange(0, 10000, dtype=np.int64)

SSN_SPACE = len(SSN_AREAS) * len(SSN_GROUPS) * len(SSN_SERIALS)
ITIN_SPACE = len(ITIN_AREAS) * len(ITIN_GROUPS) * len(ITIN_SERIALS)


def draw_unique_indices(rng: np.random.Generator, space: int, count: int) -> np.ndarray:
    """`count` distinct integers in [0, space), in random order."""
    if count > space:
        raise ValueError(f"cannot draw {count} distinct values from {space}")
    found = np.empty(0, dtype=np.int64)
    while len(found) < count:
        extra = int((count - len(found)) * 1.05) + 64
        found = np.unique(np.concatenate([found, rng.integers(0, space, extra)]))
    # np.unique sorts; a seeded shuffle restores randomness deterministically.
    return rng.permutation(found)[:count]


def _compose(index: np.ndarray, areas: np.ndarray, groups: np.ndarray,
             serials: np.ndarray) -> np.ndarray:
    per_area = len(groups) * len(serials)
    area = areas[index // per_area]
    group = groups[(index % per_area) // len(serials)]
    serial = serials[index % len(serials)]
    return area * 1_000_000 + group * 10_000 + serial


def ssn_from_index(index: np.ndarray) -> np.ndarray:
    """Map indices in [0, SSN_SPACE) to SSNs as integers (format with `tin_strings`)."""
    return _compose(index, SSN_AREAS, SSN_GROUPS, SSN_SERIALS)


def itin_from_index(index: np.ndarray) -> np.ndarray:
    return _compose(index, ITIN_AREAS, ITIN_GROUPS, ITIN_SERIALS)


def tin_strings(tins: np.ndarray) -> pl.Series:
    """Nine-digit, zero-padded, no dashes."""
    return pl.Series(tins.astype(np.int64)).cast(pl.String).str.zfill(9)


def is_valid_ssn(tin: pl.Expr) -> pl.Expr:
    """Polars expression: a 9-digit string that is a structurally valid SSN."""
    area = tin.str.slice(0, 3)
    return (
        tin.str.contains(r"^\d{9}$")
        & (area != "000")
        & (area != "666")
        & ~area.str.starts_with("9")
        & (tin.str.slice(3, 2) != "00")
        & (tin.str.slice(5, 4) != "0000")
    )


def is_valid_itin(tin: pl.Expr) -> pl.Expr:
    group = tin.str.slice(3, 2).cast(pl.Int32, strict=False)
    return (
        tin.str.contains(r"^9\d{8}$")
        & (
            group.is_between(50, 65)
            | group.is_between(70, 88)
            | group.is_between(90, 92)
            | group.is_between(94, 99)
        )
    )
