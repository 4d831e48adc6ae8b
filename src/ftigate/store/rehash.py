"""The committed items rehashed in a second process while ``verify`` checks the log.

``verify`` has two long halves that need nothing of each other until the end: the log
(every leaf decoded and rehashed, the tree rebuilt, the tables rebuilt from the events)
and the item rows (every screening result and decision rehashed, each commitment's item
tree rebuilt). Both are Python loops that hold the GIL, so a thread gains nothing; a
second process takes the items and the two halves share the machine's cores. The log's
findings are then compared with what the process found (:func:`items.check_items`).

The second process reads the state of the store that ``verify`` reads:

- PostgreSQL: ``verify``'s REPEATABLE READ transaction exports its snapshot
  (``pg_export_snapshot``) and the second process's transaction imports it
  (``SET TRANSACTION SNAPSHOT``): the same rows, to the transaction;
- SQLite has no shared snapshot. Every append moves the ledger head in the transaction
  that writes its items, so the second process's rows are the verified state's exactly
  when its own snapshot holds the same head (size and root). When it does not (an append
  landed in between), its result is set aside and the items are rehashed in ``verify``'s
  own snapshot, as they are when the second process fails or is not worth starting.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import re
import signal
import sys
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Any

from sqlalchemy import make_url
from sqlalchemy.engine import Connection

from ftigate.store.db import READ_ONLY_OPTION, make_engine
from ftigate.store.items import RehashedItems, rehash_items

PARALLEL_ITEMS = 200_000
"""item rows from which a second process pays for its start (about half a second to
import and connect; rehashing 200,000 items takes about a second)"""

_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9]+)?$")
log = logging.getLogger(__name__)


def rehash_at(url: str, snapshot: str | None) -> RehashedItems:
    """:func:`rehash_items` over a connection of its own (in the second process), inside
    the exported PostgreSQL snapshot when one is given. It only reads: a SQLite file that
    is not there is an error, never a new empty database."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise FileNotFoundError("the store's database file is not there")
    engine = make_engine(url)
    try:
        options: dict[str, Any] = {READ_ONLY_OPTION: True}
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        with engine.connect() as conn:
            conn = conn.execution_options(**options)
            with conn.begin():
                if snapshot is not None:
                    if not _SNAPSHOT_ID.match(snapshot):
                        raise ValueError("not a PostgreSQL snapshot id")
                    conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                return rehash_items(conn)
    finally:
        engine.dispose()


PR_SET_PDEATHSIG, PR_GET_PDEATHSIG = 1, 2


def die_with_parent() -> None:
    """The second process is ended when ``verify``'s process dies, killed or not (Linux's
    parent-death signal): it would otherwise read the whole item tables for no one."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def parent_death_signal() -> int:
    """The signal this process gets when its parent dies (0: none)."""
    found = ctypes.c_int(0)
    ctypes.CDLL(None, use_errno=True).prctl(PR_GET_PDEATHSIG, ctypes.byref(found))
    return found.value


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class ItemsRehash:
    """A rehash of the items started in a second process (see the module text)."""

    def __init__(self, pool: Pool, pending: AsyncResult[RehashedItems]) -> None:
        self._pool: Pool | None = pool
        self._pending = pending

    @classmethod
    def start(cls, conn: Connection, *, force: bool = False) -> ItemsRehash | None:
        """Start it for the store ``conn`` reads (inside ``verify``'s snapshot), or None
        where it does not pay (few items, one core, an in-memory database) unless
        ``force``; None too where no second process can be started."""
        url = conn.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        if not force:
            if _usable_cores() < 2:
                return None
            items = conn.exec_driver_sql("SELECT COALESCE(SUM(items), 0) FROM commitments").scalar_one()
            if int(items) < PARALLEL_ITEMS:
                return None
        snapshot = None
        if conn.dialect.name == "postgresql":
            snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
        try:
            # spawn, not fork: the parent holds an engine's connections and may run threads
            pool = multiprocessing.get_context("spawn").Pool(1, initializer=die_with_parent)
        except OSError as error:
            log.warning("verify: no second process for the items (%s); they are rehashed in line", error)
            return None
        pending = pool.apply_async(rehash_at, (url.render_as_string(hide_password=False), snapshot))
        return cls(pool, pending)

    def result(self, head: tuple[int, bytes]) -> RehashedItems | None:
        """The second process's items if it read the state whose head is ``head``, else
        None (the caller rehashes them in its own snapshot)."""
        try:
            found = self._pending.get()
        except Exception as error:  # any failure of the helper: the caller does the work
            name = type(error).__name__
            log.warning("verify: the second process failed (%s); the items are rehashed in line", name)
            return None
        finally:
            self.close()
        return found if found.head == head else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
