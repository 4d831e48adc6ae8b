"""Scoring requests in chunks bounds memory and changes no score or decision."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from splink import DuckDBAPI, Linker

from ftigate.intake.letter import Letter
from ftigate.law.loader import load_law
from ftigate.pipeline.run import ProcessOptions, run_process
from ftigate.resolve.model import load_model
from ftigate.resolve.reference import load_reference, term_frequencies
from ftigate.resolve.score import TF_COLUMNS, ScoringOptions, model_input, score_candidates, settings_for
from ftigate.resolve.standardise import standard_requests
from ftigate.synth import PROFILES, generate_population, generate_requests
from ftigate.synth import io as synth_io


def test_chunked_scoring_gives_identical_results(tmp_path: Path) -> None:
    population = generate_population(6_000, seed=31)
    batch = generate_requests(population, 800, PROFILES["adversarial"], seed=31, profile_name="adversarial")
    synth_io.write_population(population, tmp_path / "pop")
    requests = tmp_path / "requests.csv"
    batch.requests.write_csv(requests)
    letter = Letter.model_validate(batch.letter)
    law = load_law()
    artefact = load_model()

    def run(chunk_rows: int) -> tuple[object, object]:
        options = ProcessOptions(scoring=ScoringOptions(request_chunk_rows=chunk_rows))
        result = run_process(letter, requests, tmp_path / "pop", law, artefact, options)
        explanations = result.explanations.sort(["request_id", "candidate_rank"])
        return result.decisions, explanations

    whole_decisions, whole_explanations = run(1_000_000)
    chunked_decisions, chunked_explanations = run(97)
    assert whole_decisions.equals(chunked_decisions)  # type: ignore[attr-defined]
    assert whole_explanations.equals(chunked_explanations)  # type: ignore[attr-defined]
    assert whole_decisions.filter(whole_decisions["decision"] == "disclose").height > 100  # type: ignore[attr-defined]


def test_blocking_before_splink_finds_exactly_the_pairs_splink_finds_against_the_whole_file(
    tmp_path: Path,
) -> None:
    """Handing Splink only the taxpayers `blocked_pairs` found must lose no pair (and add
    none) compared with Splink blocking the same requests against the whole reference."""
    population = generate_population(4_000, seed=5)
    batch = generate_requests(population, 600, PROFILES["adversarial"], seed=5, profile_name="adversarial")
    synth_io.write_population(population, tmp_path / "pop")
    reference = load_reference(tmp_path / "pop")
    standard = standard_requests(batch.requests)
    artefact = load_model()
    ours = score_candidates(standard, reference, artefact, ScoringOptions(request_chunk_rows=250))

    con = duckdb.connect()
    db_api = DuckDBAPI(connection=con)
    left = db_api.register(model_input(standard).to_arrow(), table_name="requests")
    right = db_api.register(model_input(reference.people).to_arrow(), table_name="taxpayers")
    linker = Linker([left, right], settings_for(artefact, reference.size, ScoringOptions()))
    for column in TF_COLUMNS:
        tf = db_api.register(term_frequencies(reference.people, column).to_arrow(), table_name=f"tf_{column}")
        linker.table_management.register_term_frequency_lookup(tf, column)
    predicted = linker.inference.predict_between(left, right, warning_mode="never")
    whole = pl.from_arrow(
        con.sql(
            f"SELECT unique_id_l AS request_id, unique_id_r AS tin, match_weight FROM {predicted.physical_name}"
        ).to_arrow_table()
    )
    con.close()
    assert isinstance(whole, pl.DataFrame) and whole.height > 1_000
    key = ["request_id", "tin"]
    mine = ours.select(*key, pl.col("match_weight").round(9)).sort(key)
    theirs = whole.select(*key, pl.col("match_weight").round(9)).sort(key)
    assert mine.equals(theirs)


def test_a_work_dir_is_left_empty_and_splink_complains_of_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Splink is handed only the columns its comparisons and the one pair-key rule read;
    the model's own blocking rules (which read more) must not be checked against them."""
    population = generate_population(1_500, seed=8)
    batch = generate_requests(population, 120, PROFILES["adversarial"], seed=8, profile_name="adversarial")
    synth_io.write_population(population, tmp_path / "pop")
    work = tmp_path / "work"
    work.mkdir()
    options = ScoringOptions(request_chunk_rows=50, work_dir=work)
    scored = score_candidates(
        standard_requests(batch.requests), load_reference(tmp_path / "pop"), load_model(), options
    )
    assert scored.height > 0
    assert list(work.iterdir()) == []
    said = capfd.readouterr()
    assert "SETTINGS VALIDATION" not in said.out + said.err + caplog.text


def test_every_chunk_is_announced_before_the_taxpayer_file_is_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorder hears of each chunk's requests before the search (so a run killed while
    searching leaves its inspections in the log), and after each chunk what it read."""
    import ftigate.resolve.score as score

    population = generate_population(3_000, seed=8)
    batch = generate_requests(population, 300, PROFILES["adversarial"], seed=8, profile_name="adversarial")
    synth_io.write_population(population, tmp_path / "pop")
    reference = load_reference(tmp_path / "pop")
    standard = standard_requests(batch.requests)
    steps: list[tuple[str, object]] = []
    search = score.blocked_pairs

    def searched(requests: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
        steps.append(("search", requests.height))
        return search(requests, people)

    monkeypatch.setattr(score, "blocked_pairs", searched)

    class Log:
        def searching(self, request_ids: pl.Series) -> None:
            steps.append(("searching", tuple(request_ids)))

        def read(self, request_ids: pl.Series, candidates: pl.DataFrame) -> None:
            assert set(candidates["request_id"]) <= set(request_ids)
            steps.append(("read", tuple(request_ids)))

        def inspected(self) -> None:
            steps.append(("inspected", ()))

    candidates = score_candidates(
        standard, reference, load_model(), ScoringOptions(request_chunk_rows=120), inspections=Log()
    )
    kinds = [kind for kind, _ in steps]
    assert kinds == ["searching"] * 3 + ["search"] + ["read"] * 3 + ["inspected"]  # then returned
    announced = [ids for kind, ids in steps if kind == "searching"]
    assert announced == [ids for kind, ids in steps if kind == "read"]
    assert sum(len(ids) for ids in announced) == standard.height  # type: ignore[arg-type]
    assert set(candidates["request_id"]) <= set(standard["unique_id"])
