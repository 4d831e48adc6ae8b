"""Speed of `ftigate process` end to end, with two references measured in the same run.

    .venv/bin/ftigate synth population --people 10000000 --seed 7 --out data/pop10m
    .venv/bin/ftigate synth requests --population data/pop10m --count 1280000 \\
        --profile court-2025 --seed 7 --out data/batch1280k
    .venv/bin/python bench/process.py --population data/pop10m --batch data/batch1280k

(or `--people N --requests M` to generate a cached pair under --data). Three
measurements, each in a fresh child process so that its peak memory (VmHWM from
/proc/self/status) is its own:

  process  read, screen, resolve, decide, write: `run_process` + `write_outputs`, with
           the time of each stage
  floor    a bare DuckDB exact join of the same files on TIN and name, written to
           Parquet (read, join, write: the least any answer could cost)
  splink   a plain Splink `predict_between` with the same trained model (settings as
           scored) and blocking rules, over the same standardised inputs (the requests
           that passed screening, the standardised reference), term frequencies
           registered from the reference as Splink requires, the result fetched whole
           as Arrow, and nothing else (its inputs are prepared before the clock starts)

With `--db sqlite` and/or `--db postgresql://127.0.0.1:5432/test` it also runs, per
store, `ftigate process --db` end to end as a user runs it (a fresh store and fresh
ledger keys, the reference prepared ahead: warm), then `ftigate ledger verify` of that
store, each a child process whose wall time and peak RSS are its own. PostgreSQL runs
use a database the bench creates beside the one named and drops afterwards.

With `--baseline CHECKOUT` (an older clone, e.g. `git worktree add ../before 339e881`)
that version's warm process runs twice, alternating with this version's, each from its
own bench script, source and prepared cache: a ratio measured in the same run.

The court-2025 letter names one officer for the whole batch, which screening sends to
review (LETTER_OFFICERS_IMPLAUSIBLE): this bench runs under a policy lifting the
cases-per-officer ceiling so that records reach resolution, as bench/accuracy.py does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_POLICY = {"cases_per_officer_ceiling": 10_000_000}


def vm_hwm_gib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def child_prepare(population: Path, batch: Path, work: Path) -> dict[str, Any]:
    from ftigate.resolve.reference import prepared_reference

    started = time.perf_counter()
    reference = prepared_reference(population, work / "prepared")
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "people": reference.size,
        "peak_gib": round(vm_hwm_gib(), 2),
    }


def child_warm(population: Path, batch: Path, work: Path) -> dict[str, Any]:
    return child_process(population, batch, work, cache=work / "prepared")


def child_process(population: Path, batch: Path, work: Path, cache: Path | None = None) -> dict[str, Any]:
    from ftigate.intake.letter import read_letter
    from ftigate.law.loader import load_law
    from ftigate.pipeline.respond import write_outputs
    from ftigate.pipeline.run import ProcessOptions, run_process
    from ftigate.resolve.model import load_model

    law = load_law().with_policy(BENCH_POLICY, "bench policy")
    artefact = load_model()
    options = ProcessOptions(reference_cache=cache)
    started = time.perf_counter()
    result = run_process(
        read_letter(batch / "letter.yaml"), batch / "requests.csv", population, law, artefact, options
    )
    write_started = time.perf_counter()
    write_outputs(result, work / ("out-warm" if cache else "out"))
    ended = time.perf_counter()
    peak = vm_hwm_gib()
    timings = {**result.summary["timings_seconds"], "write": round(ended - write_started, 3)}
    # Hand the splink reference its exact inputs: the requests that reached scoring.
    passing = result.explanations.select("request_id").unique()
    passing.write_parquet(work / "resolved_ids.parquet")
    return {
        "seconds": round(ended - started, 2),
        "stages": timings,
        "peak_gib": round(peak, 2),
        "records": result.summary["records"],
        "resolved": result.summary["records_resolved"],
        "decisions": result.summary["decisions"],
        "inspected": result.summary["taxpayer_records_inspected"],
    }


def child_floor(population: Path, batch: Path, work: Path) -> dict[str, Any]:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT r.request_id, t.tin FROM read_csv(?, all_varchar=true) r "
        "JOIN read_parquet(?) t ON regexp_replace(r.tin, '[^0-9]', '', 'g') = t.tin "
        "AND upper(trim(r.last_name)) = upper(t.last_name) "
        "AND upper(trim(r.first_name)) = upper(t.first_name)) TO ? (FORMAT parquet)",
        [str(batch / "requests.csv"), str(population / "taxpayers.parquet"), str(work / "floor.parquet")],
    )
    row = con.execute("SELECT count(*) FROM read_parquet(?)", [str(work / "floor.parquet")]).fetchone()
    con.close()
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "rows": int(row[0]) if row else 0,
        "peak_gib": round(vm_hwm_gib(), 2),
    }


def child_splink(population: Path, batch: Path, work: Path) -> dict[str, Any]:
    import duckdb
    import polars as pl
    from splink import DuckDBAPI, Linker

    from ftigate.intake.requests import read_request_chunks
    from ftigate.resolve.model import load_model
    from ftigate.resolve.reference import prepared_reference, term_frequencies
    from ftigate.resolve.score import TF_COLUMNS, ScoringOptions, model_input, settings_for
    from ftigate.resolve.standardise import standard_requests

    prepared = time.perf_counter()
    reference = prepared_reference(population, work / "prepared")
    ids = pl.read_parquet(work / "resolved_ids.parquet")
    requests = pl.concat(list(read_request_chunks(batch / "requests.csv")), how="diagonal_relaxed")
    standard = standard_requests(requests.join(ids, on="request_id", how="semi"))
    left_arrow = model_input(standard).to_arrow()
    right_arrow = model_input(reference.people).to_arrow()
    tf_arrow = {c: term_frequencies(reference.people, c).to_arrow() for c in TF_COLUMNS}
    settings = settings_for(load_model(), reference.size, ScoringOptions())
    del requests, standard, reference
    prepare_seconds = time.perf_counter() - prepared

    started = time.perf_counter()
    con = duckdb.connect()
    db_api = DuckDBAPI(connection=con)
    left = db_api.register(left_arrow, table_name="requests")
    right = db_api.register(right_arrow, table_name="taxpayers")
    linker = Linker([left, right], settings)
    for column, table in tf_arrow.items():
        tf = db_api.register(table, table_name=f"tf_lookup_{column}")
        linker.table_management.register_term_frequency_lookup(tf, column)
    predictions = linker.inference.predict_between(left, right, warning_mode="never")
    pairs = con.sql(f"SELECT * FROM {predictions.physical_name}").to_arrow_table()
    seconds = time.perf_counter() - started
    con.close()
    return {
        "seconds": round(seconds, 2),
        "prepare_seconds_untimed": round(prepare_seconds, 1),
        "requests": left_arrow.num_rows,
        "pairs": pairs.num_rows,
        "peak_gib": round(vm_hwm_gib(), 2),
    }


def run_recorded(url: str, population: Path, batch: Path, work: Path) -> dict[str, Any]:
    """`ftigate process --db url` and `ftigate ledger verify` of a fresh store, as a user
    runs them (the reference cache the warm child prepared), with keys made for the run."""
    import resource

    import yaml

    ftigate = str(Path(sys.executable).with_name("ftigate"))
    keys = work / "keys"  # made by the first store's run, used by every store's
    keys.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "FTIGATE_PSEUDONYM_KEY_FILE": str(keys / "pseudonym.key"),
           "FTIGATE_SIGNING_KEY_FILE": str(keys / "signing.key")}  # fmt: skip
    if not (keys / "signing.key").exists():
        made = subprocess.run([ftigate, "ledger", "keygen"], env=env, capture_output=True, text=True, check=False)
        if made.returncode != 0:
            raise SystemExit(f"ledger keygen failed: {made.stderr.strip()}")
    policy = work / "bench-policy.yaml"
    policy.write_text(yaml.safe_dump(BENCH_POLICY))

    def timed(command: list[str]) -> tuple[float, float, str]:
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-4000:])
            raise SystemExit(f"{command[1]} failed ({done.returncode})")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
        return seconds, peak, done.stdout

    out = work / f"out-{url.split(':')[0]}"
    process_seconds, peak, printed = timed(
        [ftigate, "process", "--letter", str(batch / "letter.yaml"), "--requests", str(batch / "requests.csv"),
         "--reference", str(population), "--reference-cache", str(work / "prepared"), "--policy", str(policy),
         "--db", url, "--out", str(out), "--json", "-q"]
    )  # fmt: skip
    result = json.loads(printed)
    verify_seconds, _, _ = timed([ftigate, "ledger", "verify", "--db", url, "--json"])
    summary = json.loads((out / "summary.json").read_text())
    shutil.rmtree(out, ignore_errors=True)  # the bench's own output folder
    return {
        "seconds": round(process_seconds, 2),
        "peak_gib": round(peak, 2),
        "verify_seconds": round(verify_seconds, 2),
        "stages": summary.get("timings_seconds", {}),
        "decisions": summary.get("decisions"),
        "batch": result.get("ledger", {}).get("batch_id") if isinstance(result, dict) else None,
    }


def store_urls(wanted: list[str], work: Path) -> list[tuple[str, str, Any]]:
    """(label, URL, cleanup) per --db: SQLite in the bench's work folder; PostgreSQL in a
    database created for the run beside the one named (dropped by cleanup)."""
    urls: list[tuple[str, str, Any]] = []
    for name in wanted:
        if name == "sqlite":
            urls.append(("sqlite", f"sqlite:///{work / 'ledger.db'}", lambda: None))
            continue
        from sqlalchemy import create_engine, text

        database = f"ftigate_bench_{os.getpid()}"
        admin = create_engine(name, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))

        def drop(admin: Any = admin, database: str = database) -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
            admin.dispose()

        urls.append(("postgresql", name.rsplit("/", 1)[0] + "/" + database, drop))
    return urls


def child_recorded(population: Path, batch: Path, work: Path) -> dict[str, Any]:
    """`run_recorded` in a child of its own, so the peak of its own children is theirs."""
    return run_recorded(os.environ["FTIGATE_BENCH_STORE"], population, batch, work)


CHILDREN = {
    "recorded": child_recorded,
    "process": child_process,
    "prepare": child_prepare,
    "warm": child_warm,
    "floor": child_floor,
    "splink": child_splink,
}


def run_child(
    kind: str, population: Path, batch: Path, work: Path, store: str | None = None, checkout: Path | None = None
) -> dict[str, Any]:
    """One measurement in a child process; `checkout`: an older clone of ftigate, whose own
    bench script and source run it (a baseline measured in the same run)."""
    script = checkout / "bench" / "process.py" if checkout else Path(__file__)
    command = [sys.executable, str(script), "--child", kind, "--population", str(population)]
    command += ["--batch", str(batch), "--work", str(work)]
    env = dict(os.environ)
    if store:
        env["FTIGATE_BENCH_STORE"] = store
    if checkout:
        env["PYTHONPATH"] = str(checkout / "src")
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{kind} child failed ({done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--population", type=Path, help="reference folder (taxpayers, addresses)")
    parser.add_argument("--batch", type=Path, help="request batch folder (letter.yaml, requests.csv)")
    parser.add_argument("--people", type=int, default=1_000_000, help="without --population: generate")
    parser.add_argument("--requests", type=int, default=128_000, help="without --batch: generate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", default="court-2025")
    parser.add_argument("--data", type=Path, default=Path("data/speed"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--db", action="append", default=[], metavar="STORE",
        help="also run `ftigate process --db` end to end: 'sqlite' or a PostgreSQL URL (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", type=Path, metavar="CHECKOUT",
        help="also run an older clone's warm process (its own bench script, source and prepared cache), "
        "before and after this version's, for a ratio measured in the same run (e.g. a `git worktree add`)",
    )  # fmt: skip
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        figures = CHILDREN[args.child](args.population, args.batch, args.work)
        print(json.dumps(figures))
        return

    if args.population is None or args.batch is None:
        sys.path.insert(0, str(Path(__file__).parent))
        from accuracy import ensure_data  # type: ignore[import-not-found]

        population, batch = ensure_data(args.data, args.people, args.requests, args.profile, args.seed)
    else:
        population, batch = args.population, args.batch
    load = os.getloadavg()
    print(f"{batch} against {population}; {os.cpu_count()} cores; load average before {load[0]:.2f}")
    work = Path(tempfile.mkdtemp(prefix="ftigate-bench-", dir=batch.parent))
    try:
        kinds = ("process", "prepare", "warm", "floor", "splink")
        figures = {kind: run_child(kind, population, batch, work) for kind in kinds}
        if args.baseline:
            # its own prepared cache (formats change between versions), then warm runs on
            # either side of one more of this version's, so drift in the machine shows
            old = work / "baseline"
            old.mkdir()
            run_child("prepare", population, batch, old, checkout=args.baseline)
            figures["baseline_warm"] = run_child("warm", population, batch, old, checkout=args.baseline)
            again, old_again = work / "again", work / "baseline-again"  # fresh output folders
            for folder, prepared in ((again, work / "prepared"), (old_again, old / "prepared")):
                folder.mkdir()
                (folder / "prepared").symlink_to(prepared)
            figures["warm_again"] = run_child("warm", population, batch, again)
            figures["baseline_warm_again"] = run_child("warm", population, batch, old_again, checkout=args.baseline)
        for label, url, cleanup in store_urls(args.db, work):
            try:
                figures[f"recorded_{label}"] = run_child("recorded", population, batch, work, store=url)
            finally:
                cleanup()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures["load_average_after"] = os.getloadavg()[0]
    floor, plain, prepare = figures["floor"], figures["splink"], figures["prepare"]
    for kind, title in (
        ("process", "cold: reference prepared in the run"),
        ("warm", "warm: reference prepared"),
    ):
        proc = figures[kind]
        print(
            f"process end to end, {title}: {proc['seconds']:.1f} s, peak {proc['peak_gib']:.2f} GiB; "
            f"{proc['records']:,} records, {proc['resolved']:,} resolved, decisions {proc['decisions']}"
        )
        for name, seconds in proc["stages"].items():
            print(f"  {name:16s} {seconds:8.2f} s")
        dominant = max(proc["stages"].items(), key=lambda kv: kv[1])
        print(f"  dominant stage: {dominant[0]} ({dominant[1]:.1f} s)")
    print(f"preparing the reference once (per version of the taxpayer file): {prepare['seconds']:.1f} s, "
          f"peak {prepare['peak_gib']:.2f} GiB")  # fmt: skip
    print(f"floor (bare DuckDB exact join on TIN and name): {floor['seconds']:.1f} s, {floor['rows']:,} rows, "
          f"peak {floor['peak_gib']:.2f} GiB")  # fmt: skip
    cold, warm = figures["process"]["seconds"], figures["warm"]["seconds"]
    print(
        f"plain Splink predict_between ({plain['requests']:,} requests, {plain['pairs']:,} pairs): "
        f"{plain['seconds']:.1f} s, peak {plain['peak_gib']:.2f} GiB (inputs prepared untimed); "
        f"process / plain Splink: cold {cold / plain['seconds']:.2f}, warm {warm / plain['seconds']:.2f}"
    )
    if args.baseline:
        pairs = [(figures["warm"], figures["baseline_warm"]), (figures["warm_again"], figures["baseline_warm_again"])]
        for mine, theirs in pairs:
            print(
                f"warm against {args.baseline}: {mine['seconds']:.1f} s vs {theirs['seconds']:.1f} s "
                f"({mine['seconds'] / theirs['seconds']:.2f}x); its decisions {theirs['decisions']}"
            )
        figures["ratio_warm_to_baseline"] = [round(m["seconds"] / t["seconds"], 3) for m, t in pairs]
    for label in ("sqlite", "postgresql"):
        recorded = figures.get(f"recorded_{label}")
        if recorded:
            print(
                f"process --db {label}, end to end (warm, ledger on): {recorded['seconds']:.1f} s, peak "
                f"{recorded['peak_gib']:.2f} GiB, {recorded['seconds'] / plain['seconds']:.2f}x plain Splink, "
                f"{recorded['seconds'] / warm:.2f}x without the ledger; decisions {recorded['decisions']}; "
                f"ledger verify {recorded['verify_seconds']:.1f} s"
            )
            for name, seconds in recorded["stages"].items():
                print(f"  {name:16s} {seconds:8.2f} s")
            figures[f"ratio_recorded_{label}_to_splink"] = round(recorded["seconds"] / plain["seconds"], 3)
    figures["ratio_cold_to_splink"] = round(cold / plain["seconds"], 3)
    figures["ratio_warm_to_splink"] = round(warm / plain["seconds"], 3)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
