"""ftigate tried by an outside tester: an independently written population and batch.

    .venv/bin/python bench/independent_run.py --out /tmp/indep            # 200,000 people, 5,000 requests
    .venv/bin/python bench/independent_run.py --people 20000 --requests 1000 --seed 11 --out /tmp/indep-small
    .venv/bin/python bench/independent_run.py --reference-format parquet --out /tmp/indep-pq

Generates (seeded; the seed is printed) a world of people in households, flats and shared
houses, its taxpayer file (CSV by default) and a request batch with its truth, with
`bench/independent/` (written without reading `src/ftigate/synth/`). Then runs, as
subprocesses: `ftigate process` (no ledger), `ftigate audit --reference` on ftigate's
response, `ftigate baseline irs-2025` and its audit; when a command refuses the CSV
reference it is run again on the same data in Parquet so the figures exist, and the
refusal is reported.

Reported against the truth: wrong-person disclosures (the address released is not the
true person's last known address, or there is no true person), disclosures with no
lawful answer, recall among requests with a lawful answer, review rate, each by request
kind and by label; the audit's WRONG_PERSON_DISCLOSED against the true wrong-person
count (false charges by label); whether every command reads the reference as given and
the same way. The whole report is written to OUT/report.json.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from independent.pipeline import run_pipeline


def _line(name: str, s: dict) -> str:
    recall = "-" if s["recall"] is None else f"{s['recall']:.4f}"
    return (f"{name:<28} {s['requests']:>6} {s['lawful_answers']:>6} {s['disclosed']:>6} {s['wrong_person']:>6} "
            f"{s['disclosed_without_lawful_answer']:>6} {recall:>7} {s['review']:>6}")  # fmt: skip


def print_report(report: dict) -> None:
    header = f"{'':<28} {'reqs':>6} {'lawful':>6} {'discl':>6} {'wrong':>6} {'unlaw':>6} {'recall':>7} {'review':>6}"
    for system in ("ftigate", "baseline"):
        if system not in report:
            continue
        s = report[system]
        print(f"\n== {system} ==")
        print(header)
        print(_line("all", s))
        for kind, row in s["by_kind"].items():
            print(_line(kind, row))
        print(f"wrong-person breakdown: {s['wrong_person_breakdown']}")
        if s.get("screening_vs_truth"):
            print(f"screening against the truth: {s['screening_vs_truth']}")
        audit = report.get(f"audit_of_{system}", {})
        if "audit_wrong_person" in audit:
            print(f"audit: WRONG_PERSON_DISCLOSED {audit['audit_wrong_person']} against {audit['true_wrong_person']} true "
                  f"(caught {audit['wrong_person_caught']}, false charges {audit['false_wrong_person_charges']}, "
                  f"missed {audit['wrong_person_missed']}); unlawful {audit['audit_unlawful']} against "
                  f"{audit['true_unlawful']} true")  # fmt: skip
            top = dict(list(audit["false_charges_by_label"].items())[:8])
            print(f"audit false charges by label: {top}")
        else:
            print(f"audit: {audit}")
    print("\n== wrong-person disclosures by ftigate (shapes, no data) ==")
    for example in report["ftigate_wrong_person_examples"]:
        print(f"  {example}")
    print(f"\n== readings of the reference ==\n{json.dumps(report['readings'], indent=1)}")
    print("\n== commands ==")
    for name, c in report["commands"].items():
        print(f"  {name}: exit {c['exit']}, {c['seconds']} s" + (f" -- {c['stderr']}" if c["exit"] else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh random seed (printed)")
    parser.add_argument("--reference-format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--out", type=Path, required=True, help="a new (or empty) folder for every file of the run")
    parser.add_argument("--no-format-comparison", action="store_true",
                        help="skip the second process run on the other reference format")  # fmt: skip
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else secrets.randbelow(10**6)
    print(f"seed {seed}")
    run = run_pipeline(args.out, people=args.people, count=args.requests, seed=seed,
                       reference_format=args.reference_format, log=lambda m: print(m, flush=True),
                       compare_formats=not args.no_format_comparison)  # fmt: skip
    (args.out / "report.json").write_text(json.dumps(run.report, indent=1, default=str), "utf-8")
    print_report(run.report)
    print(f"\nseed {seed}; report: {args.out / 'report.json'}")


if __name__ == "__main__":
    main()
