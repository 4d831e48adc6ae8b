"""The store's side of `ftigate serve`: users who sign in, their sessions, agency tokens,
and the jobs a worker claims (revision 0004).

Secrets are never stored: a session or a token is found by the SHA-256 of its secret
(they are 256-bit random strings, so a fast hash is enough; passwords are Argon2id,
hashed by `ftigate.web.security`). A job is claimed with a conditional UPDATE
(`... WHERE state = 'queued'`), so of several workers on one PostgreSQL database exactly
one wins each job.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ftigate.store.api import Store, StoreError
from ftigate.store.models import (
    AgencyToken,
    Batch,
    BatchEventRow,
    DecisionRow,
    DisclosureRow,
    Job,
    Review,
    Role,
    ServiceSession,
    User,
    UserRole,
)

JOB_STATES = ("queued", "running", "review", "releasing", "released", "failed")
"""queued -> running -> (review ->) releasing -> released; failed from any of them"""
CLAIMABLE = {"queued": "running", "releasing": "running"}


def now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Account:
    """A user as the service sees one: never the password hash."""

    id: str
    display_name: str
    roles: frozenset[str]
    agency: str | None
    active: bool


class ServiceStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # --- users ------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        display_name: str,
        roles: Iterable[str],
        *,
        password_hash: str,
        agency: str | None = None,
    ) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(User),
                    [
                        {
                            "id": user_id,
                            "display_name": display_name,
                            "created_at": now(),
                            "active": True,
                            "password_hash": password_hash,
                            "agency": agency,
                            "failed_attempts": 0,
                        }
                    ],
                )
                for role in sorted(set(roles)):
                    if conn.execute(select(Role.name).where(Role.name == role)).first() is None:
                        conn.execute(insert(Role), [{"name": role, "description": ""}])
                    conn.execute(insert(UserRole), [{"user_id": user_id, "role": role}])
        except IntegrityError:
            raise StoreError(f"user {user_id} already exists") from None

    def account(self, user_id: str) -> Account | None:
        with self.store.snapshot() as conn:
            row = conn.execute(
                select(User.id, User.display_name, User.agency, User.active).where(User.id == user_id)
            ).first()
            if row is None:
                return None
            roles = conn.execute(select(UserRole.role).where(UserRole.user_id == user_id)).scalars()
            return Account(row.id, row.display_name, frozenset(roles), row.agency, bool(row.active))

    def credentials(self, user_id: str) -> tuple[str | None, int, datetime | None] | None:
        """(password hash, failed attempts, locked until) of a user, None if unknown."""
        with self.store.snapshot() as conn:
            row = conn.execute(
                select(User.password_hash, User.failed_attempts, User.locked_until).where(User.id == user_id)
            ).first()
            return None if row is None else (row[0], int(row[1]), _aware(row[2]))

    def failed_sign_in(self, user_id: str, threshold: int, lock_for: timedelta) -> bool:
        """Count a failed attempt; lock the account at `threshold`. True when now locked."""
        with self.engine.begin() as conn:
            row = conn.execute(select(User.failed_attempts).where(User.id == user_id)).first()
            if row is None:
                return False
            attempts = int(row[0]) + 1
            locked = attempts >= threshold
            conn.execute(
                update(User)
                .where(User.id == user_id)
                .values(
                    failed_attempts=0 if locked else attempts,
                    locked_until=now() + lock_for if locked else None,
                )
            )
            return locked

    def signed_in(self, user_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(User).where(User.id == user_id).values(failed_attempts=0, locked_until=None))

    # --- sessions ---------------------------------------------------------------------

    def open_session(self, secret_hash: str, user_id: str, lasts: timedelta) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(ServiceSession),
                [
                    {
                        "secret_hash": secret_hash,
                        "user_id": user_id,
                        "created_at": now(),
                        "expires_at": now() + lasts,
                        "revoked_at": None,
                    }
                ],
            )

    def session_user(self, secret_hash: str) -> str | None:
        """The user of a live session (not revoked, not expired), else None."""
        with self.store.snapshot() as conn:
            row = conn.execute(
                select(ServiceSession.user_id, ServiceSession.expires_at, ServiceSession.revoked_at).where(
                    ServiceSession.secret_hash == secret_hash
                )
            ).first()
        if row is None or row.revoked_at is not None:
            return None
        expires = _aware(row.expires_at)
        return str(row.user_id) if expires is not None and expires > now() else None

    def revoke_session(self, secret_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(ServiceSession)
                .where(ServiceSession.secret_hash == secret_hash, ServiceSession.revoked_at.is_(None))
                .values(revoked_at=now())
            )

    def revoke_sessions_of(self, user_id: str) -> int:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(ServiceSession)
                .where(ServiceSession.user_id == user_id, ServiceSession.revoked_at.is_(None))
                .values(revoked_at=now())
            )
            return int(done.rowcount)

    # --- agency tokens ------------------------------------------------------------------

    def add_token(self, secret_hash: str, agency: str, label: str) -> str:
        token_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                insert(AgencyToken),
                [
                    {
                        "id": token_id,
                        "secret_hash": secret_hash,
                        "agency": agency,
                        "label": label,
                        "created_at": now(),
                        "revoked_at": None,
                    }
                ],
            )
        return token_id

    def token(self, secret_hash: str) -> tuple[str, str] | None:
        """(token id, agency) of a live token, else None."""
        with self.store.snapshot() as conn:
            row = conn.execute(
                select(AgencyToken.id, AgencyToken.agency).where(
                    AgencyToken.secret_hash == secret_hash, AgencyToken.revoked_at.is_(None)
                )
            ).first()
            return None if row is None else (str(row[0]), str(row[1]))

    def revoke_token(self, token_id: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(AgencyToken)
                .where(AgencyToken.id == token_id, AgencyToken.revoked_at.is_(None))
                .values(revoked_at=now())
            )
            return done.rowcount == 1

    # --- jobs ---------------------------------------------------------------------------

    def add_job(
        self,
        *,
        job_id: str,
        files_key: str,
        agency: str,
        submitted_by: str,
        letter_name: str,
        requests_name: str,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(Job),
                [
                    {
                        "id": job_id,
                        "files_key": files_key,
                        "agency": agency,
                        "submitted_by": submitted_by,
                        "letter_name": letter_name,
                        "requests_name": requests_name,
                        "state": "queued",
                        "stage": "queued",
                        "progress": 0,
                        "created_at": now(),
                        "updated_at": now(),
                    }
                ],
            )

    def job(self, job_id: str) -> dict[str, Any] | None:
        with self.store.snapshot() as conn:
            row = conn.execute(select(Job.__table__).where(Job.id == job_id)).mappings().first()
            return dict(row) if row else None

    def jobs(self, *, agency: str | None = None, files_key: str | None = None) -> list[dict[str, Any]]:
        query = select(Job.__table__).order_by(Job.created_at, Job.id)
        if agency is not None:
            query = query.where(Job.agency == agency)
        if files_key is not None:
            query = query.where(Job.files_key == files_key)
        with self.store.snapshot() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def claim(self, worker: str) -> dict[str, Any] | None:
        """Claim the oldest job waiting for a worker (to process, or to release after its
        review). The UPDATE's WHERE repeats the state it read: a job another worker took
        meanwhile matches no row, and this worker tries the next."""
        with self.store.snapshot() as conn:
            waiting = conn.execute(
                select(Job.id, Job.state)
                .where(Job.state.in_(list(CLAIMABLE)))
                .order_by(Job.updated_at, Job.id)
                .limit(20)
            ).all()
        for job_id, state in waiting:
            with self.engine.begin() as conn:
                done = conn.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.state == state)
                    .values(
                        state=CLAIMABLE[state],
                        stage=state,
                        claimed_by=worker,
                        heartbeat=now(),
                        updated_at=now(),
                    )
                )
            if done.rowcount == 1:
                return self.job(job_id)
        return None

    def update_job(self, job_id: str, worker: str | None = None, **values: Any) -> bool:
        """Update a job, only while `worker` still holds it when one is named."""
        query = update(Job).where(Job.id == job_id)
        if worker is not None:
            query = query.where(Job.claimed_by == worker, Job.state == "running")
        with self.engine.begin() as conn:
            done = conn.execute(query.values(**values, updated_at=now(), heartbeat=now()))
            return done.rowcount == 1

    def set_state(self, job_id: str, from_states: Iterable[str], state: str, **values: Any) -> bool:
        """Move a job from one of `from_states` to `state` (conditional: one mover wins)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(Job)
                .where(Job.id == job_id, Job.state.in_(list(from_states)))
                .values(state=state, updated_at=now(), **values)
            )
            return done.rowcount == 1

    def stale_jobs(self, older_than: timedelta) -> list[dict[str, Any]]:
        """Running jobs whose worker has not beaten for `older_than`: it died."""
        limit = now() - older_than
        with self.store.snapshot() as conn:
            rows = conn.execute(select(Job.__table__).where(Job.state == "running")).mappings().all()
        return [dict(r) for r in rows if (_aware(r["heartbeat"]) or limit) <= limit]

    # --- the review queue ------------------------------------------------------------------

    def pending_decisions(self, batch_id: str) -> list[dict[str, Any]]:
        """The batch's `review` decisions, with the votes cast on each (oldest first)."""
        with self.store.snapshot() as conn:
            decided = conn.execute(
                select(DecisionRow.request_id, DecisionRow.reasons, DecisionRow.match_probability)
                .where(DecisionRow.batch_id == batch_id, DecisionRow.decision == "review")
                .order_by(DecisionRow.id)
            ).all()
            votes = conn.execute(
                select(Review.request_id, Review.reviewer, Review.action, Review.decision, Review.reasons)
                .where(Review.batch_id == batch_id)
                .order_by(Review.id)
            ).all()
        by_request: dict[str, list[dict[str, Any]]] = {}
        for vote in votes:
            by_request.setdefault(vote.request_id, []).append(
                {
                    "reviewer": vote.reviewer,
                    "action": vote.action,
                    "decision": vote.decision,
                    "reasons": list(vote.reasons or []),
                }
            )
        return [
            {
                "request_id": r.request_id,
                "reasons": list(r.reasons or []),
                "match_probability": r.match_probability,
                "votes": by_request.get(r.request_id, []),
            }
            for r in decided
        ]

    def decision_counts(self, batch_id: str) -> dict[str, dict[str, int]]:
        """{decision: {reason: count}} and totals under "" of the batch's decisions, a
        reviewed request counted under the decision its review reached (as the reports do)."""
        with self.store.snapshot() as conn:
            rows = conn.execute(
                select(DecisionRow.request_id, DecisionRow.decision, DecisionRow.reasons).where(
                    DecisionRow.batch_id == batch_id
                )
            ).all()
            reviewed = dict(
                conn.execute(
                    select(Review.request_id, Review.decision)
                    .where(Review.batch_id == batch_id)
                    .order_by(Review.id)
                ).all()
            )
        counts: dict[str, dict[str, int]] = {}
        for request_id, decided, reasons in rows:
            decision = reviewed.get(request_id, decided)
            bucket = counts.setdefault(decision, {"": 0})
            bucket[""] += 1
            for reason in reasons or ():
                bucket[reason] = bucket.get(reason, 0) + 1
        return counts

    def activity(self) -> dict[str, list[tuple[Any, ...]]]:
        """The rows the oversight dashboard counts by day (`web.oversight.daily_activity`):

        decisions  (day the batch was recorded, request_id, batch_id, decision, reasons) of
                   every batch not abandoned (an abandoned batch's requests are processed
                   again as another batch: counted there)
        reviews    (day, batch_id, request_id, decision) of every vote, oldest first
        released   (day, disclosures) of every released batch, by the day of its release
        """
        with self.store.snapshot() as conn:
            decisions = conn.execute(
                select(Batch.created_at, DecisionRow.request_id, DecisionRow.batch_id, DecisionRow.decision,
                       DecisionRow.reasons)
                .join(Batch, Batch.id == DecisionRow.batch_id)
                .where(Batch.status != "abandoned")
            ).all()  # fmt: skip
            reviews = conn.execute(
                select(Review.at, Review.batch_id, Review.request_id, Review.decision).order_by(Review.id)
            ).all()
            releases = dict(
                conn.execute(
                    select(BatchEventRow.batch_id, BatchEventRow.at).where(
                        BatchEventRow.kind == "response_released"
                    )
                ).all()
            )
            disclosed = conn.execute(
                select(DisclosureRow.batch_id, func.count())
                .where(DisclosureRow.batch_id.in_(list(releases)))
                .group_by(DisclosureRow.batch_id)
            ).all()
        return {
            "decisions": [(_day(at), *rest) for at, *rest in decisions],
            "reviews": [(_day(at), *rest) for at, *rest in reviews],
            "released": [(_day(releases[batch_id]), n) for batch_id, n in disclosed],
        }


def _day(moment: Any) -> str:
    """The UTC day of a stored moment (a datetime, or ISO 8601 text as the ledger keeps it)."""
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date().isoformat()
    return str(moment)[:10]
