"""The ZIP snapshot is the installed `zipcodes` package, row for row."""

from __future__ import annotations

from pathlib import Path

import pytest
import zipcodes

from ftigate.facts import zips


def test_the_snapshot_for_the_installed_package_exists() -> None:
    # Upgrading zipcodes without a new snapshot would still be correct (the package is read),
    # only slow: this says which command restores the speed.
    assert zips.snapshot_path().is_file(), (
        f"no ZIP snapshot for zipcodes {zipcodes.__version__}: run .venv/bin/python -m ftigate.facts.zips"
    )


def test_the_snapshot_holds_what_the_package_holds() -> None:
    zips.zip_table.cache_clear()
    try:
        assert zips.zip_table().equals(zips._from_package())
    finally:
        zips.zip_table.cache_clear()


def test_without_a_snapshot_the_package_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(zips, "snapshot_path", lambda version=None: tmp_path / "absent.csv.gz")
    zips.zip_table.cache_clear()
    try:
        assert zips.zip_table().equals(zips._from_package())
    finally:
        zips.zip_table.cache_clear()
