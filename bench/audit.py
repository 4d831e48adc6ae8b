"""The audit against synthetic ground truth, for ftigate's responses and the 2025 replica's.

    .venv/bin/python bench/audit.py --people 50000 --requests 50000 --seed 11 [--data DIR]
        [--profiles court-2025,adversarial]

For each profile it generates (once, cached under --data) a population and a request
batch, answers the batch with `ftigate process` and with the 2025 replica (`ftigate
baseline irs-2025`), audits both responses and a lawful response built from the truth,
and compares each audit with the ground truth. Prints one JSON document: per profile and
responder, the audit's unlawful count and breakdown next to the truth's, whether they
agree request by request, the audit's WRONG_PERSON_DISCLOSED against the truth's wrong-
person disclosures (counts and both kinds of disagreement), the disclosures the audit could
not establish (IDENTITY_NOT_ESTABLISHED, not counted as unlawful), and timings.

The court-2025 letter names one officer for the whole batch (LETTER_OFFICERS_IMPLAUSIBLE,
a review): ftigate would answer nothing, so both process and audit run under a policy that
lifts the cases-per-officer ceiling; this bench measures identity, not the letter.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from ftigate.audit.baseline import irs_2025_disclosures
from ftigate.audit.reference import read_reference, read_requests
from ftigate.audit.run import audit_batch
from ftigate.audit.truthcheck import (
    LAWFUL,
    breakdown,
    lawful_response,
    truth_categories,
    wrong_person_agreement,
)
from ftigate.intake.letter import read_letter
from ftigate.law.loader import Law, load_law
from ftigate.pipeline.run import ProcessOptions, run_process
from ftigate.resolve.model import load_model

KEY = b"bench" * 8


def ensure_data(data: Path, people: int, requests: int, profile: str, seed: int) -> tuple[Path, Path]:
    """The population and the batch, generated once per size, profile and seed."""
    from ftigate.synth import generate_population, generate_requests
    from ftigate.synth.io import read_population, write_population, write_request_batch
    from ftigate.synth.profiles import get_profile

    population_dir = data / f"pop-{people}-{seed}"
    batch_dir = data / f"req-{profile}-{requests}-{people}-{seed}"
    if not (population_dir / "taxpayers.parquet").exists():
        write_population(generate_population(people, seed), population_dir, force=True)  # a partial run: ours
    if not (batch_dir / "truth.parquet").exists():
        rates = get_profile(profile)
        batch = generate_requests(
            read_population(population_dir), requests, rates, seed + 1, profile_name=profile
        )
        write_request_batch(batch, batch_dir, rates, population_dir, force=True)
    return population_dir, batch_dir


def audit_against_truth(
    name: str, disclosed_path: Path, batch_dir: Path, population_dir: Path, law: Law, truth: pl.DataFrame
) -> dict[str, Any]:
    reference = read_reference(population_dir)
    started = time.perf_counter()
    result = audit_batch(
        batch_dir / "letter.yaml",
        batch_dir / "requests.csv",
        disclosed_path,
        law,
        reference_path=population_dir,
        example_key=KEY,
        key_note="bench key",
    )
    seconds = round(time.perf_counter() - started, 2)
    disclosed = pl.read_csv(disclosed_path, infer_schema=False)
    categories = truth_categories(disclosed, truth, reference)
    joined = result.findings.join(categories, on="request_id")
    primary = joined["primary_reason"].fill_null(LAWFUL)
    return {
        "responder": name,
        "disclosures": result.summary["totals"]["disclosures"],
        "audit_unlawful": result.summary["totals"]["unlawful"],
        "truth_unlawful": int((categories["truth_category"] != LAWFUL).sum()),
        "audit_breakdown": breakdown(result.findings["primary_reason"].fill_null(LAWFUL)),
        "truth_breakdown": breakdown(categories["truth_category"]),
        "disagreements_by_primary_reason": int((primary != joined["truth_category"]).sum()),
        "wrong_person": wrong_person_agreement(result.findings, categories),
        "identity_not_established": result.summary["identity_not_established"]["disclosures"],
        "audit_s": seconds,
    }


def run_profile(args: argparse.Namespace, profile: str, law: Law) -> dict[str, Any]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    population_dir, batch_dir = ensure_data(args.data, args.people, args.requests, profile, args.seed)
    timings["synth_s"] = round(time.perf_counter() - started, 2)
    truth = pl.read_parquet(batch_dir / "truth.parquet")
    out = args.data / f"responses-{profile}-{args.requests}-{args.people}-{args.seed}"
    out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    processed = run_process(
        read_letter(batch_dir / "letter.yaml"),
        batch_dir / "requests.csv",
        population_dir,
        law,
        load_model(),
        ProcessOptions(),
    )
    processed.disclosures.write_csv(out / "ftigate.csv")
    timings["process_s"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    replica = irs_2025_disclosures(read_requests(batch_dir / "requests.csv"), read_reference(population_dir))
    replica.write_csv(out / "replica.csv")
    timings["replica_s"] = round(time.perf_counter() - started, 2)
    lawful_response(truth).write_csv(out / "lawful.csv")

    responders = [
        audit_against_truth(name, out / f"{name}.csv", batch_dir, population_dir, law, truth)
        for name in ("ftigate", "replica", "lawful")
    ]
    return {"profile": profile, "responders": responders, "timings": timings}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profiles", default="court-2025,adversarial")
    parser.add_argument("--data", type=Path, default=None, help="cache folder (default: a new temporary one)")
    args = parser.parse_args()
    args.data = args.data or Path(tempfile.mkdtemp(prefix="ftigate-bench-audit-"))
    law = load_law().with_policy({"cases_per_officer_ceiling": 10_000_000}, "bench policy")
    report = {
        "sizes": {"people": args.people, "requests": args.requests, "seed": args.seed},
        "profiles": [run_profile(args, p.strip(), law) for p in args.profiles.split(",") if p.strip()],
        "data": str(args.data),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
