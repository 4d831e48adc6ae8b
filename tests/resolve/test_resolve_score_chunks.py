"""Scoring requests in chunks bounds memory and changes no score or decision."""

from __future__ import annotations

from pathlib import Path

from ftigate.decide.process import ProcessOptions, run_process
from ftigate.intake.letter import Letter
from ftigate.law.loader import load_law
from ftigate.resolve.model import load_model
from ftigate.resolve.score import ScoringOptions
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
