"""One settings object for the service, built by `ftigate serve` from its options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MiB = 1 << 20


@dataclass(frozen=True)
class ServiceSettings:
    db_url: str
    reference: Path
    """the taxpayer file (folder of taxpayers and addresses) every batch is matched against"""
    data_dir: Path
    """where uploads, working results and responses are kept: taxpayer data, protected storage"""
    policy: Path | None = None
    model: Path | None = None
    reference_cache: Path | None = None
    secure_cookies: bool = True
    """off only for plain http on 127.0.0.1 (tests, a demo on one machine)"""
    max_letter_bytes: int = 1 * MiB
    max_requests_bytes: int = 512 * MiB
    lockout_after: int = 5
    """failed sign-ins in a row that lock an account"""
    lockout_minutes: int = 15
    session_hours: int = 8
    stale_after_seconds: int = 60
    """a running job whose worker has not beaten for this long is taken to have died"""
    worker: bool = True
    """run a worker thread beside the server (tests drive the worker themselves)"""
