"""What safe outputs cost: the formula-safe CSV writer against a bare Polars write, and an
OutputFolder (0600 files, fsync, SHA-256 read back, rename, manifest) against writing the
same files straight into a folder; plus SHA-256 throughput for the inputs' digests.

    .venv/bin/python bench/outputs.py [--rows 1280000]

Each measurement runs in this process on a synthetic decisions-shaped frame (request id,
decision, reasons, probability, model version, five address fields); the machine is
shared, so each figure is the best of three runs and the baseline is measured beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from ftigate.outputs import OutputFolder, file_sha256, write_csv


def frame(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(7)
    ids = [f"R{i:09d}" for i in range(rows)]
    ids[::1000] = [f"=HYPERLINK(\"http://x.example/{i}\")" for i in range(len(ids[::1000]))]
    return pl.DataFrame(
        {
            "request_id": ids,
            "decision": rng.choice(["disclose", "refuse", "review"], rows),
            "reasons": rng.choice(["", "ADDRESS_ZIP_ONLY", "NO_MATCH;LOW_CONFIDENCE"], rows),
            "match_probability": rng.random(rows),
            "model_version": "ftigate-fs-bench",
            "street": [f"{n} Quillfeather Ln" for n in rng.integers(1, 99999, rows)],
            "unit": "",
            "city": rng.choice(["Austin", "Dayton", "Fresno"], rows),
            "state": rng.choice(["TX", "OH", "CA"], rows),
            "zip": [f"{z:05d}" for z in rng.integers(501, 99950, rows)],
        }
    )


def best(action: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(min(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_280_000)
    args = parser.parse_args()
    data = frame(args.rows)
    work = Path(tempfile.mkdtemp(prefix="ftigate-bench-outputs-"))
    counter = iter(range(1_000_000))

    def bare_csv() -> None:
        data.write_csv(work / f"bare-{next(counter)}.csv")

    def safe_csv() -> None:
        with (work / f"safe-{next(counter)}.csv").open("wb") as stream:
            write_csv(data, stream)

    def bare_folder() -> None:
        out = work / f"bare-folder-{next(counter)}"
        out.mkdir()
        data.write_csv(out / "decisions.csv")
        data.write_parquet(out / "explanations.parquet")

    def output_folder() -> None:
        with OutputFolder(work / f"folder-{next(counter)}", command="bench") as folder:
            folder.write_csv("decisions.csv", data)
            folder.write_parquet("explanations.parquet", data)
            folder.prepare()
            folder.commit()

    results = {
        "rows": args.rows,
        "bare_polars_csv_s": best(bare_csv),
        "safe_csv_s": best(safe_csv),
        "bare_folder_csv_parquet_s": best(bare_folder),
        "output_folder_csv_parquet_s": best(output_folder),
    }
    results["safe_csv_over_bare"] = round(results["safe_csv_s"] / results["bare_polars_csv_s"], 2)
    results["output_folder_over_bare"] = round(
        results["output_folder_csv_parquet_s"] / results["bare_folder_csv_parquet_s"], 2
    )
    sample = work / "bare-0.csv"
    size = sample.stat().st_size
    seconds = best(lambda: file_sha256(sample))
    results["csv_mib"] = round(size / 2**20, 1)
    results["sha256_mib_per_s"] = round(size / 2**20 / seconds, 0)
    results["hashlib_reference_mib_per_s"] = round(
        size / 2**20 / best(lambda: hashlib.sha256(sample.read_bytes()).hexdigest()), 0
    )
    shutil.rmtree(work)  # this run's own mkdtemp folder
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
