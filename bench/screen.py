"""Screening throughput: records per second and peak memory, end to end.

    .venv/bin/python bench/screen.py                # 1,280,000 records (the court-record size)
    .venv/bin/python bench/screen.py --rows 200000  # quicker

Builds a request file with a realistic mix (most addresses well formed in the
shapes agencies use, about a third deficient in the court's categories, a few
odd shapes that need the full parser), then times `ftigate.screen.run.screen_files`
reading it, screening it and writing the result. As a baseline in the same run
it times reading and writing the same CSV with Polars (the I/O floor), and
reports the ratio: the machine is shared, so ratios travel better than seconds.
The two alternate `--repeat` times (default 3) and the median pair is reported too.
Screening and the baseline each run in a fresh child process, so the peak
memory reported (VmHWM) is screening's own, not the data generator's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import zipcodes

from ftigate.intake.letter import Letter, Signer
from ftigate.law.loader import default_law
from ftigate.screen.run import screen_files

STREET_NAMES = [
    "Oak",
    "Maple",
    "Main",
    "Cedar",
    "Pine",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Sunset",
    "Lincoln",
    "Jackson",
    "Church",
    "River",
    "Mill",
    "Spring",
    "Ridge",
    "Highland",
    "Franklin",
    "Cherry",
    "Walnut",
    "Jefferson",
    "Madison",
    "Willow",
    "Peñasco",
    "Álamo",
    "Martin Luther King Jr",
    "Del Mar",
    "Santa Rosa",
    "San Pedro",
    "Las Palmas",
    "Valley View",
]
SUFFIXES = [
    "St",
    "Ave",
    "Rd",
    "Dr",
    "Ln",
    "Blvd",
    "Ct",
    "Way",
    "Pl",
    "Street",
    "Avenue",
    "Road",
    "Cir",
    "Ter",
]
DIRECTIONS = ["", "", "", "", "N ", "S ", "E ", "W ", "NE "]
UNITS = ["", "", "", "", "", "Apt 4B", "Unit 12", "# 3", "Ste 200", "Apt 101"]
DEFICIENT_STREETS = [
    "Failed to Provide",
    "Unknown Address",
    "NA NA",
    "Don't Care 12345",
    "00000",
    "N/A",
    "TBD",
    "None",
    "Homeless",
    "",
    "Oak St",
    "1234",
    "Harris County Jail",
    "Otay Mesa Detention Center",
]
ODD_STREETS = [  # shapes the pre-classifier leaves to usaddress
    "123 Broadway",
    "N123W456 Main St",
    "Urb Las Gladiolas 150 Calle A",
    "One Infinite Loop",
    "1600 Pennsylvania Avenue Northwest",
    "22-14 Steinway",
    "45 Avenue of the Americas",
]


def build_requests(rows: int, path: Path, seed: int = 6103) -> None:
    rng = np.random.default_rng(seed)
    z = [r for r in zipcodes.list_all() if r["zip_code_type"] == "STANDARD"]
    zi = rng.integers(0, len(z), rows)
    zips = np.array([r["zip_code"] for r in z])[zi]
    cities = np.array([r["city"] for r in z])[zi]
    states = np.array([r["state"] for r in z])[zi]
    numbers = rng.integers(1, 20000, rows).astype(str)
    street = np.char.add(
        np.char.add(np.char.add(numbers, " "), np.array(DIRECTIONS)[rng.integers(0, len(DIRECTIONS), rows)]),
        np.char.add(
            np.char.add(np.array(STREET_NAMES)[rng.integers(0, len(STREET_NAMES), rows)], " "),
            np.array(SUFFIXES)[rng.integers(0, len(SUFFIXES), rows)],
        ),
    ).astype(object)
    kind = rng.random(rows)
    deficient = kind < 0.33
    street[deficient] = np.array(DEFICIENT_STREETS, dtype=object)[
        rng.integers(0, len(DEFICIENT_STREETS), deficient.sum())
    ]
    odd = (kind >= 0.33) & (kind < 0.35)
    street[odd] = np.array(ODD_STREETS, dtype=object)[rng.integers(0, len(ODD_STREETS), odd.sum())]
    box = (kind >= 0.35) & (kind < 0.38)
    street[box] = np.char.add("PO Box ", rng.integers(1, 9999, box.sum()).astype(str))
    ids = np.char.add("R", np.char.zfill(np.arange(1, rows + 1).astype(str), 8))
    frame = pl.DataFrame(
        {
            "request_id": ids,
            "first_name": np.array(["Jose", "Maria", "John", "Ana", "Wei", "Fatima"])[
                rng.integers(0, 6, rows)
            ],
            "middle_name": "",
            "last_name": np.array(["Garcia", "Smith", "Nguyen", "Hernandez", "de la Cruz", "Lopez"])[
                rng.integers(0, 6, rows)
            ],
            "date_of_birth": "1985-04-12",
            "tin": np.char.add("9", rng.integers(10_000_000, 99_999_999, rows).astype(str)),
            "street": street.astype(str),
            "unit": np.array(UNITS)[rng.integers(0, len(UNITS), rows)],
            "city": cities,
            "state": states,
            "zip": zips,
            "taxable_periods": np.array(["2022;2023", "2023", "2021-2023", "", "2031"])[
                rng.choice(5, rows, p=[0.6, 0.3, 0.08, 0.01, 0.01])
            ],
            "statute": np.array(["8 U.S.C. 1253(a)(1)", "8 USC 1253(a)(1)", "INA 243(a)", "8 U.S.C. 1227"])[
                rng.choice(4, rows, p=[0.7, 0.2, 0.09, 0.01])
            ],
            "reason": np.char.add("Subject of final removal order, case ", ids),
            "case_number": np.char.add("C", ids),
            "officer": np.char.add("A", (np.arange(rows) // 25).astype(str)),
        }
    )
    frame.write_csv(path)


def _peak_rss_mib() -> float:
    # VmHWM is this process's own high-water mark (reset by exec, unlike ru_maxrss).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(task: str, src: Path, workers: int | None) -> None:
    """Runs in a fresh process so its time and memory are its own."""
    t = time.perf_counter()
    if task == "baseline":
        pl.read_csv(src, infer_schema=False).write_csv(src.with_name("copy.csv"))
        records = 0
    else:
        rows = sum(1 for _ in src.open("rb")) - 1
        letter = Letter(
            requesting_agency="U.S. Immigration and Customs Enforcement",
            department="Department of Homeland Security",
            signer=Signer(name="Example Signer", title="Director"),
            date=date(2025, 6, 27),
            statute="8 U.S.C. 1253(a)(1)",
            purpose="bench",
            officers=[f"A{i}" for i in range(max(1, rows // 25))],
            record_count=rows,
        )
        t = time.perf_counter()
        summary = screen_files(letter, src, src.with_name("screened.csv"), default_law(), workers=workers)
        records = summary.records
        print(
            f"  sufficient {summary.sufficient:,}, refused {summary.refused:,}, review {summary.review:,}",
            file=sys.stderr,
        )
    print(json.dumps({"seconds": time.perf_counter() - t, "peak_mib": _peak_rss_mib(), "records": records}))


def _run_child(task: str, src: Path, workers: int | None) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", task, "--src", str(src)]
    if workers:
        cmd += ["--workers", str(workers)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    sys.stderr.write(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_280_000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--repeat", type=int, default=3, help="baseline and screening pairs, alternating (median reported)"
    )
    parser.add_argument("--child", choices=["screen", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.src, args.workers)
        return
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "requests.csv"
        t = time.perf_counter()
        build_requests(args.rows, src)
        print(
            f"built {args.rows:,} requests ({src.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f}s"
        )
        pairs = []
        for _ in range(max(1, args.repeat)):
            pairs.append((_run_child("baseline", src, None), _run_child("screen", src, args.workers)))
    for number, (baseline, screened) in enumerate(pairs, 1):
        rate = screened["records"] / screened["seconds"]
        print(
            f"pair {number}: screened {screened['records']:,} records in {screened['seconds']:.1f}s "
            f"({rate:,.0f} records/s); baseline (Polars read + write of the same CSV) {baseline['seconds']:.2f}s; "
            f"screening/baseline = {screened['seconds'] / baseline['seconds']:.1f}x"
        )
    ratios = sorted(s["seconds"] / b["seconds"] for b, s in pairs)
    seconds = sorted(s["seconds"] for _, s in pairs)
    median = len(pairs) // 2
    print(
        f"median of {len(pairs)}: screening {seconds[median]:.1f}s "
        f"({pairs[0][1]['records'] / seconds[median]:,.0f} records/s), screening/baseline = {ratios[median]:.1f}x"
    )
    print(
        f"peak RSS of the screening process: {max(s['peak_mib'] for _, s in pairs):,.0f} MiB "
        f"(parser workers are separate processes); of the baseline: {max(b['peak_mib'] for b, _ in pairs):,.0f} MiB"
    )
    print(f"machine: {sys.platform}, {os.cpu_count()} cores, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
