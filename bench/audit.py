"""The court-2025 check at any size: replicate the 2025 process, audit what it released,
compare with the synthetic ground truth, and audit a lawful response.

    .venv/bin/python bench/audit.py --people 50000 --requests 50000 --seed 11 [--work DIR]

Prints one JSON document: the audit's unlawful count and breakdown next to the truth's,
whether they agree request by request, the lawful response's result, and timings.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import polars as pl

from ftigate.audit.baseline import irs_2025_disclosures
from ftigate.audit.reference import read_reference, read_requests
from ftigate.audit.run import audit_batch
from ftigate.audit.truthcheck import LAWFUL, breakdown, lawful_response, truth_categories
from ftigate.law.loader import load_law
from ftigate.synth import io
from ftigate.synth.population import generate_population
from ftigate.synth.profiles import PROFILES
from ftigate.synth.requests import generate_requests


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profile", default="court-2025")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="ftigate-bench-audit-"))
    timings: dict[str, float] = {}

    started = time.perf_counter()
    population = generate_population(args.people, args.seed)
    io.write_population(population, work / "pop", force=True)  # a --work reused: ftigate's own files only
    profile = PROFILES[args.profile]
    batch = generate_requests(population, args.requests, profile, args.seed, args.profile)
    io.write_request_batch(batch, work / "req", profile, force=True)
    timings["synth_s"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    reference = read_reference(work / "pop")
    disclosed = irs_2025_disclosures(read_requests(work / "req" / "requests.csv"), reference)
    disclosed.write_csv(work / "disclosed.csv")
    timings["baseline_s"] = round(time.perf_counter() - started, 2)

    law = load_law()
    started = time.perf_counter()
    result = audit_batch(
        work / "req" / "letter.yaml",
        work / "req" / "requests.csv",
        work / "disclosed.csv",
        law,
        reference_path=work / "pop",
        example_key=b"bench" * 8,
        key_note="bench key",
    )
    timings["audit_s"] = round(time.perf_counter() - started, 2)

    truth = pl.read_parquet(work / "req" / "truth.parquet")
    categories = truth_categories(disclosed, truth, reference)
    joined = result.findings.join(categories, on="request_id")
    agree = bool((joined["primary_reason"].fill_null(LAWFUL) == joined["truth_category"]).all())

    lawful = lawful_response(truth)
    lawful.write_csv(work / "lawful.csv")
    lawful_result = audit_batch(
        work / "req" / "letter.yaml",
        work / "req" / "requests.csv",
        work / "lawful.csv",
        law,
        reference_path=work / "pop",
        example_key=b"bench" * 8,
        key_note="bench key",
    )
    print(
        json.dumps(
            {
                "sizes": {
                    "people": args.people,
                    "requests": args.requests,
                    "seed": args.seed,
                    "profile": args.profile,
                },
                "disclosures": result.summary["totals"]["disclosures"],
                "by_route": result.summary["by_route"],
                "audit_unlawful": result.summary["totals"]["unlawful"],
                "truth_unlawful": int((categories["truth_category"] != LAWFUL).sum()),
                "audit_breakdown": breakdown(result.findings["primary_reason"].fill_null(LAWFUL)),
                "truth_breakdown": breakdown(categories["truth_category"]),
                "agree_request_by_request": agree,
                "lawful_response": {
                    "disclosures": lawful.height,
                    "unlawful_found": lawful_result.summary["totals"]["unlawful"],
                },
                "timings": timings,
                "work": str(work),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
