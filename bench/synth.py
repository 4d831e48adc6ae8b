"""Benchmark the synthetic data generator: time and peak memory for each step.

    .venv/bin/python bench/synth.py                       # 10M people, 1.28M requests
    .venv/bin/python bench/synth.py --people 1000000 --count 128000

Each step runs in its own child process so its peak RSS (ru_maxrss of the child)
is its own. The baseline is the time to write a Parquet file of random integers
with as many rows as the address table, so slow disks or a busy machine show up
as a baseline that moves with the result.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from pathlib import Path
start = time.perf_counter()
step = sys.argv[1]
if step == "population":
    from ftigate.synth import io
    from ftigate.synth.population import generate_population
    people, seed, out = int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    io.write_population(generate_population(people, seed), out, force=True)  # a --workdir reused
elif step == "requests":
    from ftigate.synth import io
    from ftigate.synth.profiles import PROFILES
    from ftigate.synth.requests import generate_requests
    count, seed, pop, out = int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5])
    profile = PROFILES["court-2025"]
    batch = generate_requests(io.read_population(pop), count, profile, seed, "court-2025")
    io.write_request_batch(batch, out, profile, pop, force=True)
elif step == "baseline":
    import numpy as np, pyarrow as pa, pyarrow.parquet as pq
    rows, out = int(sys.argv[2]), Path(sys.argv[3])
    rng = np.random.default_rng(0)
    table = pa.table({f"c{i}": rng.integers(0, 1 << 40, rows) for i in range(4)})
    pq.write_table(table, out, compression="zstd", row_group_size=1_000_000)
seconds = time.perf_counter() - start
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_mib}))
"""


def run(*args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000_000)
    parser.add_argument("--count", type=int, default=1_280_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="ftigate-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        population = run("population", str(args.people), str(args.seed), str(work / "pop"))
        address_rows = _parquet_rows(work / "pop" / "addresses.parquet")
        requests = run(
            "requests", str(args.count), str(args.seed), str(work / "pop"), str(work / "batch")
        )
        baseline = run("baseline", str(address_rows), str(work / "baseline.parquet"))
        sizes = {p.name: p.stat().st_size for p in (work / "pop").iterdir()}
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"people={args.people:,} address_rows={address_rows:,} requests={args.count:,}")
    print(f"population: {population['seconds']:.1f} s, peak RSS {population['peak_rss_mib']:.0f} MiB")
    print(f"requests:   {requests['seconds']:.1f} s, peak RSS {requests['peak_rss_mib']:.0f} MiB")
    print(
        f"baseline (write {address_rows:,} rows x 4 random int64 columns to Parquet): "
        f"{baseline['seconds']:.1f} s, peak RSS {baseline['peak_rss_mib']:.0f} MiB"
    )
    print(
        f"ratio to baseline: population {population['seconds'] / baseline['seconds']:.1f}x, "
        f"requests {requests['seconds'] / baseline['seconds']:.1f}x"
    )
    print(f"population files (bytes): {sizes}")
    print(f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


if __name__ == "__main__":
    main()
