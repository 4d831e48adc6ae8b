"""Speed of `ftigate process` end to end, with two references measured in the same run.

    .venv/bin/python bench/process.py --people 10000000 --requests 1280000 --data data/speed

Stages timed: screen, read requests, read reference, standardise, score (Splink), decide,
assemble, write. References:
  floor   a bare DuckDB exact join of the same files on TIN and name
  splink  a plain Splink predict_between with the same trained model and blocking rules
          over the same standardised inputs, and nothing else
Peak memory is the process's maximum resident set size (ru_maxrss). The court-2025
batch runs under a policy lifting the cases-per-officer ceiling (see bench/accuracy.py).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from ftigate.decide.process import ProcessOptions, run_process, write_outputs
from ftigate.intake.letter import read_letter
from ftigate.law.loader import load_law
from ftigate.resolve.model import load_model
from ftigate.resolve.reference import load_reference
from ftigate.resolve.score import ScoringOptions, score_candidates
from ftigate.resolve.standardise import standard_requests


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def floor_join(population: Path, requests: Path) -> tuple[float, int]:
    started = time.perf_counter()
    con = duckdb.connect()
    count = con.execute(
        "SELECT count(*) FROM read_csv(?, all_varchar=true) r JOIN read_parquet(?) t "
        "ON replace(r.tin, '-', '') = t.tin AND upper(r.last_name) = t.last_name "
        "AND upper(r.first_name) = t.first_name",
        [str(requests), str(population / "taxpayers.parquet")],
    ).fetchone()
    con.close()
    return time.perf_counter() - started, int(count[0]) if count else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=1_280_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--data", type=Path, default=Path("data/speed"))
    parser.add_argument("--profile", default="court-2025")
    args = parser.parse_args()
    from accuracy import ensure_data  # type: ignore[import-not-found]

    population, batch = ensure_data(args.data, args.people, args.requests, args.profile, args.seed)
    print(f"seed {args.seed}; {args.requests:,} requests ({args.profile}) against {args.people:,} people")
    law = load_law().with_policy({"cases_per_officer_ceiling": 10_000_000}, "bench policy")
    artefact = load_model()
    work = Path(tempfile.mkdtemp(prefix="ftigate-bench-", dir=args.data))
    options = ProcessOptions(scoring=ScoringOptions(work_dir=work))

    started = time.perf_counter()
    result = run_process(
        read_letter(batch / "letter.yaml"), batch / "requests.csv", population, law, artefact, options
    )
    write_started = time.perf_counter()
    write_outputs(result, work / "out")
    total = time.perf_counter() - started
    timings = {**result.summary["timings_seconds"], "write": round(time.perf_counter() - write_started, 3)}
    print(f"process end to end: {total:.1f} s, peak RSS {peak_gib():.2f} GiB")
    for name, seconds in timings.items():
        print(f"  {name:16s} {seconds:8.2f} s")
    print(f"  resolved {result.summary['records_resolved']:,}; decisions {result.summary['decisions']}")
    dominant = max(timings.items(), key=lambda kv: kv[1])
    print(f"dominant stage: {dominant[0]} ({dominant[1]:.1f} s)")

    seconds, matches = floor_join(population, batch / "requests.csv")
    print(f"floor (bare DuckDB exact join on TIN and name): {seconds:.1f} s, {matches:,} rows")

    reference = load_reference(population)
    import polars as pl

    from ftigate.intake.requests import read_request_chunks

    requests = pl.concat(list(read_request_chunks(batch / "requests.csv")))
    standard = standard_requests(requests.join(result.decisions.select("request_id"), on="request_id"))
    passed = result.summary["records_resolved"]
    standard = standard.filter(
        pl.col("unique_id").is_in(result.explanations["request_id"].unique().implode())
    )
    started = time.perf_counter()
    pairs = score_candidates(standard, reference, artefact, ScoringOptions(work_dir=work))
    splink_seconds = time.perf_counter() - started
    print(
        f"plain Splink predict_between (same model, rules, {standard.height:,} of {passed:,} resolved requests): "
        f"{splink_seconds:.1f} s, {pairs.height:,} pairs; process/score ratio {total / splink_seconds:.2f}"
    )
    print(f"peak RSS {peak_gib():.2f} GiB")


if __name__ == "__main__":
    main()
