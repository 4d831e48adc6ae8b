"""Append throughput of the ledger on SQLite, against a bare executemany baseline.

    .venv/bin/python bench/ledger.py [--events 100000] [--db-dir /tmp]

The store is opened with keys, as ``process`` opens it, so the append is pinned
and sealed; the first signed checkpoint (which checks the seal over every leaf)
and a full ``verify`` (leaves, seals, pins, signed heads, and the tables rebuilt
from the log) are timed too.

Events are a realistic mix (per record: one screening result and one decision;
a disclosure for one record in three), built before timing starts. Reported:
events/s for ``Store.append_events`` (canonical JSON, privacy checks, leaf
hashes, frontier update, leaf rows and typed projection rows, one
transaction), and for a baseline that only executemany-inserts the same leaf
rows with sqlite3 and commits; the ratio says what the ledger work costs.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))

from store_helpers import PSEUDONYMS, batch_events

from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.events import file_digest
from ftigate.store.api import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--db-dir", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        db = Path(tmp) / "bench.db"
        signer = Signer.generate("bench.example/ledger")
        # Keys as `process` uses them: the append is pinned and sealed.
        store = Store.open(f"sqlite:///{db}", signer=signer, pseudonyms=PSEUDONYMS)
        batch_id = store.create_batch(
            letter={}, file_digests={"requests.csv": file_digest(b"rows")}, requesting_agency="ICE"
        )
        records = max(1, args.events * 3 // 7)  # 7 events per 3 records
        events = batch_events(batch_id, records)[: args.events]
        start = time.perf_counter()
        result = store.append_events(events)
        ledger_seconds = time.perf_counter() - start
        assert result.size == len(events) + 2  # the genesis leaf and the seal
        start = time.perf_counter()
        store.sign_checkpoint(signer)  # checks the seal over every leaf appended since
        sign_seconds = time.perf_counter() - start
        start = time.perf_counter()
        report = store.verify(signer.verifier)  # leaves, seals, pins, heads, tables
        verify_seconds = time.perf_counter() - start
        assert report.ok, [str(f) for f in report.findings[:3]]
        store.close()

        rows = []
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT leaf_index, event_id, kind, entry, leaf_hash FROM ledger_leaves"
            ).fetchall()
        baseline_db = Path(tmp) / "baseline.db"
        conn = sqlite3.connect(baseline_db, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE leaves (leaf_index INTEGER PRIMARY KEY, event_id TEXT UNIQUE, "
            "kind TEXT, entry BLOB, leaf_hash BLOB)"
        )
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO leaves VALUES (?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
        baseline_seconds = time.perf_counter() - start
        conn.close()

    ledger_rate = len(events) / ledger_seconds
    baseline_rate = len(rows) / baseline_seconds
    print(f"events: {len(events)}")
    print(f"ledger append:        {ledger_rate:>10,.0f} events/s ({ledger_seconds:.2f} s)")
    print(f"bare executemany:     {baseline_rate:>10,.0f} rows/s ({baseline_seconds:.2f} s)")
    print(f"ledger / baseline:    {ledger_rate / baseline_rate:.2f}")
    print(f"sign checkpoint:      {sign_seconds:.2f} s (seal check over {result.size:,} leaves)")
    print(f"verify (with tables): {verify_seconds:.2f} s")
    print("target: >= 50,000 events/s:", "met" if ledger_rate >= 50_000 else "NOT met")


if __name__ == "__main__":
    main()
