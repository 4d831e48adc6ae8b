"""The request file is read once: resolution decides the very rows screening judged
(CSV in any encoding, Parquet), even when the file on disk changes after screening."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from process_cases import CASES, write_reference

from ftigate.decide.rules import BatchRules
from ftigate.intake.letter import read_letter
from ftigate.intake.requests import ReadOptions
from ftigate.law.loader import default_law
from ftigate.pipeline.intake import REQUEST_FIELDS, RequestSpill
from ftigate.pipeline.run import ProcessOptions, run_process
from ftigate.resolve.model import load_model
from ftigate_testkit import BASE_LETTER, merge, record, write_letter

OFFICERS = ["A100", "A101", "A102", "A103", "A104"]


class ReplaceFileAfterScreening:
    """A recorder that, once screening is told, replaces the request file on disk with
    one whose records name other people: a second reading would resolve those."""

    def __init__(self, requests: Path, replacement: bytes) -> None:
        self.requests, self.replacement = requests, replacement

    def decided_under(self, rules: BatchRules) -> None:
        pass

    def screened(self, screened: pl.DataFrame) -> None:
        self.requests.write_bytes(self.replacement)

    def searching(self, request_ids: pl.Series) -> None:
        pass

    def read(self, request_ids: pl.Series, candidates: pl.DataFrame) -> None:
        pass

    def inspected(self) -> None:
        pass


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame, Path]:
    root = tmp_path_factory.mktemp("reads-once")
    write_reference(root / "reference")
    rows = pl.DataFrame([record(i, OFFICERS, **case.request) for i, case in enumerate(CASES, start=1)])
    letter = write_letter(root / "letter.yaml", merge(BASE_LETTER, {"record_count": rows.height}))
    return root, rows, letter


def _write(rows: pl.DataFrame, path: Path, encoding: str) -> None:
    if path.suffix == ".parquet":
        rows.write_parquet(path)
    else:
        path.write_bytes(rows.write_csv().encode(encoding))


@pytest.mark.parametrize(("name", "encoding"), [("requests.csv", "utf-8"), ("requests.csv", "cp1252"),
                                                ("requests.parquet", "utf-8")])  # fmt: skip
def test_resolution_decides_the_rows_screening_judged(
    batch: tuple[Path, pl.DataFrame, Path], tmp_path: Path, name: str, encoding: str
) -> None:
    root, rows, letter_path = batch
    requests = tmp_path / name
    _write(rows, requests, encoding)
    letter, law, artefact = read_letter(letter_path), default_law(), load_model()
    options = ProcessOptions(read=ReadOptions(encoding=encoding, chunk_rows=4))  # several chunks
    untouched = run_process(letter, requests, root / "reference", law, artefact, options)
    assert untouched.summary["decisions"]["disclose"] > 0  # the premise: identities resolved

    # The same request ids naming nobody in the reference.
    strangers = rows.with_columns(first_name=pl.lit("Zebulon"), last_name=pl.lit("Quixotl"))
    other = tmp_path / f"other-{name}"
    _write(strangers, other, encoding)
    recorder = ReplaceFileAfterScreening(requests, other.read_bytes())
    replaced = run_process(letter, requests, root / "reference", law, artefact, options, recording=recorder)
    assert requests.read_bytes() == other.read_bytes()  # the file did change under the run
    assert replaced.decisions.equals(untouched.decisions)
    assert replaced.explanations.equals(untouched.explanations)


def test_the_spill_keeps_each_chunks_resolution_fields_in_file_order(tmp_path: Path) -> None:
    chunks = [
        pl.DataFrame({"request_id": ["r1", "r2"], "first_name": ["Ana", "Bo"], "_line": [1, 2]}),
        pl.DataFrame({"request_id": ["r3"], "first_name": ["Cy"], "tin": ["123456789"], "_line": [3]}),
    ]
    spill = RequestSpill(tmp_path)
    passed_on = list(spill.tee(chunks))
    assert all(a.equals(b) for a, b in zip(passed_on, chunks, strict=True))  # unchanged
    kept = spill.rows_of(pl.DataFrame({"request_id": ["r3", "r1"]}))
    assert kept.columns == list(REQUEST_FIELDS)
    assert kept["request_id"].to_list() == ["r1", "r3"]
    assert kept.row(1, named=True)["tin"] == "123456789" and kept.row(0, named=True)["tin"] == ""
    assert spill.rows_of(pl.DataFrame({"request_id": []}, schema={"request_id": pl.String})).height == 0
    assert RequestSpill(tmp_path / "none").rows_of(pl.DataFrame({"request_id": ["r1"]})).height == 0
