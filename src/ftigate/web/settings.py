"""One settings object for the service, built by `ftigate serve` from its options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ftigate.decide.gates import ThresholdOverrides
from ftigate.ledger.checkpoint import Verifier

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
    thresholds: ThresholdOverrides = field(default_factory=ThresholdOverrides)
    """what `--disclose-probability`, `--review-floor`, `--margin-bits` set; the rest is the
    law's on each letter's date, as for `ftigate process`"""
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
    cosigned_dir: Path | None = None
    """where the witnesses' cosigned checkpoints are kept (the ledger page lists their cosignatures)"""
    witness_keys: tuple[Verifier, ...] = ()
    """witnesses whose cosignatures the ledger page checks"""
    worker: bool = True
    """run a worker thread beside the server (tests drive the worker themselves)"""
