"""Fixtures shared by the whole suite (builders live in ftigate_testkit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ftigate.intake.letter import Letter
from ftigate.law.loader import load_law
from ftigate.screen.run import screen_files
from ftigate_testkit import ScreenBatch, write_requests


@pytest.fixture
def screen_batch(tmp_path: Path) -> ScreenBatch:
    """Screen rows under a letter (and optional policy); returns the output as a frame."""

    def run(
        rows: list[dict[str, str]], letter: dict[str, Any], policy: dict[str, Any] | None = None
    ) -> pl.DataFrame:
        law = load_law()
        if policy:
            law = law.with_policy(policy, "test policy")
        src = write_requests(tmp_path / "requests.csv", rows)
        out = tmp_path / "screened.parquet"
        screen_files(Letter.model_validate(letter), src, out, law, workers=1)
        return pl.read_parquet(out)

    return run
