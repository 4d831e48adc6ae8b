"""The FastAPI application of `ftigate serve`: the agencies' API, the review queue, pages.

Every route declares its roles with `auth.allow(...)` (or `auth.public()` for sign-in);
`tests/web/test_web_roles.py` walks the routes and fails for one that declares none.
Taxpayer data is shown only on the review item, masked, and only after its view is
recorded in the ledger (`record_viewed`); every vote is a `review_action` event and the
letter-level decision a `letter_reviewed` event, appended before the answer is sent.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import polars as pl
from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import BaseModel, Field

from ftigate.decide.gates import REFUSE, REVIEW
from ftigate.decide.record import RESPONSE_FILE, BatchFiles, check_letter_recordable
from ftigate.facts.reference import TAXPAYER_COLUMNS, find_table, scan_table
from ftigate.facts.tin import tin_digits
from ftigate.intake.errors import IntakeError
from ftigate.intake.letter import read_letter
from ftigate.intake.requests import ReadOptions, read_request_chunks
from ftigate.ledger.checkpoint import cosignatures, parse_note
from ftigate.ledger.events import BatchAbandoned, EntryError, LetterReviewed, RecordViewed
from ftigate.ledger.witness import cosigned_checkpoints
from ftigate.resolve.model import FIELDS
from ftigate.resolve.reference import residents_at
from ftigate.web import oversight
from ftigate.web import review as rules
from ftigate.web.auth import SESSION_COOKIE, Principal, SignInRequired, allow, public
from ftigate.web.jobs import OUT, RESULT, JobRunner, job_dir, letter_scope_codes, load_result, review_action
from ftigate.web.roles import AUDITOR, DISCLOSURE_OFFICER, PRIVACY_OFFICER, REQUESTER, STAFF
from ftigate.web.security import new_secret, password_matches, secret_hash
from ftigate.web.settings import ServiceSettings

HERE = Path(__file__).parent
LETTER_SUFFIXES = (".yaml", ".yml", ".json")
REQUEST_SUFFIXES = (".csv", ".parquet")
PUBLIC_STATES = ("queued", "running", "review", "releasing", "released", "failed")

Anyone = Annotated[Principal | None, Depends(public())]
Requester = Annotated[Principal, Depends(allow(REQUESTER))]
Signed = Annotated[Principal, Depends(allow(REQUESTER, *STAFF))]
Staff = Annotated[Principal, Depends(allow(*STAFF))]
Officer = Annotated[Principal, Depends(allow(DISCLOSURE_OFFICER))]
Privacy = Annotated[Principal, Depends(allow(PRIVACY_OFFICER))]
Reader = Annotated[Principal, Depends(allow(DISCLOSURE_OFFICER, PRIVACY_OFFICER, AUDITOR))]


# --- response models: what leaves the service, never a table row -------------------------


class JobStatus(BaseModel):
    job_id: str
    agency: str
    state: str = Field(description=f"one of {', '.join(PUBLIC_STATES)}")
    stage: str
    progress: int = Field(ge=0, le=100, description="percent")
    batch_id: str | None
    submitted_at: str
    error: str | None
    response_url: str | None


class Problem(BaseModel):
    detail: str = Field(description="why the request was refused (never taxpayer data)")


class Invalid(BaseModel):
    detail: str | list[dict[str, Any]] = Field(
        description="what is wrong with the input: a sentence naming the file, row and column, or the "
        "fields that failed validation"
    )


# Documented on every route, so that a client (and schemathesis) knows each refusal's shape.
REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no session and no agency token"},
    403: {"model": Problem, "description": "the role or the rules do not allow it (or a CSRF refusal)"},
    404: {"model": Problem, "description": "no such batch or request (another agency's batch included)"},
    409: {"model": Problem, "description": "the batch is not in a state that allows it"},
    413: {"model": Problem, "description": "an upload over the size limit"},
    422: {"model": Invalid, "description": "the input is not valid"},
}


class Counts(BaseModel):
    job_id: str
    batch_id: str | None
    decisions: dict[str, dict[str, int]]
    pending_reviews: int
    letter_review: str | None = Field(description="pending, approve, refuse, or null when none was needed")


class QueueItem(BaseModel):
    job_id: str
    batch_id: str
    request_id: str
    reasons: list[str]
    my_vote: str | None


class Evidence(BaseModel):
    job_id: str
    request_id: str
    reasons: list[str]
    gate: str | None
    requested: dict[str, str]
    candidates: list[dict[str, Any]]
    household: list[dict[str, str]] | None = Field(
        description="the other taxpayers on file at the requested address, masked (given name, surname "
        "initial, year of birth, last four of the TIN), when the household matters; null otherwise"
    )
    my_vote: str | None
    resolved: bool


class VoteIn(BaseModel):
    action: str = Field(description="approve or refuse")
    reason: str = Field(min_length=1, max_length=2000)


class VoteOut(BaseModel):
    request_id: str
    action: str
    decision: str = Field(description="the request's decision now: review (pending), disclose or refuse")
    batch_ready: bool


class RetryIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="why the release is tried again")


class LetterDecisionOut(BaseModel):
    job_id: str
    action: str


class WitnessCosignature(BaseModel):
    witness: str = Field(description="the witness's key name")
    key_id: str = Field(description="its signed-note key id, hex")
    time: str | None = Field(description="when it cosigned (cosignature/v1), ISO 8601 UTC")
    verified: bool | None = Field(description="checked against a --witness-key; null when none was given")


class LedgerState(BaseModel):
    size: int
    root_hash: str
    checkpoint: str | None
    cosigned_size: int | None = Field(
        description="the size of the checkpoint the cosignatures are on: the latest's, else the largest "
        "cosigned one kept (null when none is kept)"
    )
    cosignatures: list[WitnessCosignature]


def create_app(settings: ServiceSettings, runner: JobRunner) -> FastAPI:
    service = runner.service
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    letter_codes = letter_scope_codes(runner.law)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        worker = threading.Thread(target=runner.loop, args=(stop,), name="ftigate-worker", daemon=True)
        if settings.worker:
            worker.start()
        try:
            yield
        finally:
            stop.set()
            if worker.is_alive():
                worker.join(timeout=30)

    app = FastAPI(
        title="ftigate serve",
        summary="Submit 26 U.S.C. 6103(i)(2) requests; review, release and account for them.",
        version="1",
        lifespan=lifespan,
        responses=REFUSALS,
    )
    app.state.service = service
    app.state.runner = runner
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"detail": "sign in, or send an agency token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return RedirectResponse("/login", status_code=303)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        # "no-referrer" would make browsers send `Origin: null` on form posts, which the
        # origin check refuses; same-origin keeps the Origin and leaks nothing to other sites.
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith("/docs"):
            response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        return response

    # --- helpers ------------------------------------------------------------------------

    def job_of(job_id: str, principal: Principal) -> dict[str, Any]:
        job = service.job(job_id)
        # Another agency's batch is answered as if it did not exist.
        if job is None or (not principal.has(*STAFF) and job["agency"] != principal.agency):
            raise HTTPException(404, "no such batch")
        return job

    def status_of(job: dict[str, Any]) -> JobStatus:
        released = job["state"] == "released"
        return JobStatus(
            job_id=job["id"],
            agency=job["agency"],
            state=job["state"],
            stage=job["stage"],
            progress=100 if released else int(job["progress"]),
            batch_id=job["batch_id"],
            submitted_at=_iso(job["created_at"]),
            error=job["error"],
            response_url=f"/api/batches/{job['id']}/response" if released else None,
        )

    def letter_state(job: dict[str, Any]) -> str | None:
        if not job["batch_id"]:
            return None
        decided = runner.letter_review(job["batch_id"])
        if decided is not None:
            return decided.action
        if any(e.action == "approve" for e in runner.letter_reviews(job["files_key"])):
            return "approve"  # this batch is the one processed after the approval
        items = service.pending_decisions(job["batch_id"])
        return "pending" if any(set(i["reasons"]) & letter_codes for i in items) else None

    def counts_of(job: dict[str, Any]) -> Counts:
        batch_id = job["batch_id"]
        decisions = service.decision_counts(batch_id) if batch_id else {}
        pending = 0
        if batch_id and job["state"] == "review":
            pending = sum(
                rules.outcome(rules.Vote(v["reviewer"], v["action"]) for v in i["votes"]) == REVIEW
                for i in service.pending_decisions(batch_id)
            )
        return Counts(
            job_id=job["id"],
            batch_id=batch_id,
            decisions=decisions,
            pending_reviews=pending,
            letter_review=letter_state(job),
        )

    def configured_by(job: dict[str, Any]) -> set[str]:
        return {event.reviewer for event in runner.letter_reviews(job["files_key"])}

    def queue_for(principal: Principal) -> list[QueueItem]:
        items: list[QueueItem] = []
        for job in service.jobs():
            if job["state"] != "review" or job["submitted_by"] == principal.id:
                continue
            if principal.id in configured_by(job) or letter_state(job) == "pending":
                continue
            for item in service.pending_decisions(job["batch_id"]):
                votes = [rules.Vote(v["reviewer"], v["action"]) for v in item["votes"]]
                if rules.outcome(votes) != REVIEW:
                    continue
                mine = next((v.action for v in votes if v.reviewer == principal.id), None)
                items.append(
                    QueueItem(
                        job_id=job["id"],
                        batch_id=job["batch_id"],
                        request_id=item["request_id"],
                        reasons=item["reasons"],
                        my_vote=mine,
                    )
                )
        return items

    def item_of(job: dict[str, Any], request_id: str) -> dict[str, Any]:
        if job["state"] != "review" or not job["batch_id"]:
            raise HTTPException(409, "this batch is not in review")
        for item in service.pending_decisions(job["batch_id"]):
            if item["request_id"] == request_id:
                return item
        raise HTTPException(404, "no such request in review")

    def evidence(job: dict[str, Any], request_id: str, principal: Principal) -> Evidence:
        item = item_of(job, request_id)
        folder = job_dir(settings, job["id"])
        result = load_result(folder / RESULT)
        if result is None:
            raise HTTPException(409, "this batch's result is not available")
        rows = result.explanations.filter(pl.col("request_id") == request_id).sort(
            "candidate_rank", nulls_last=True
        )
        candidates = rows.filter(pl.col("candidate_tin").is_not_null())
        tins = [str(t) for t in candidates["candidate_tin"].to_list()]
        on_file = _on_file(settings.reference, tins)
        gate = rows["gate"][0] if rows.height and "gate" in rows.columns else None
        requested = _requested(folder / job["requests_name"], request_id)
        household = _household(settings.reference, requested, tins)
        shows_household = rules.household_matters(
            gate, item["reasons"], [on_file[t][1] for t in tins if t in on_file],
            [str(r["last_name"] or "") for r in household],
        )  # fmt: skip
        if not shows_household:
            household = []
        viewed = [*tins, *(str(r["tin"]) for r in household)]
        pseudonyms = tuple(sorted({runner.pseudonyms.taxpayer(t) for t in viewed}))
        # Recorded before anything of these taxpayers is shown: no view goes unrecorded.
        runner.store.append_events(
            [
                RecordViewed(
                    batch_id=job["batch_id"], request_id=request_id, viewer=principal.id, taxpayers=pseudonyms
                )
            ]
        )
        shown = []
        for row in candidates.iter_rows(named=True):
            shown.append(
                {
                    "rank": row["candidate_rank"],
                    "tin_last4": str(row["candidate_tin"])[-4:],
                    "birth_year": on_file.get(str(row["candidate_tin"]), (None, ""))[0],
                    "match_probability": row["match_probability"],
                    "match_weight": row["match_weight"],
                    "weights": {f: row.get(f"w_{f}") for f in FIELDS},
                }
            )
        mine = next((v["action"] for v in item["votes"] if v["reviewer"] == principal.id), None)
        return Evidence(
            job_id=job["id"],
            request_id=request_id,
            reasons=item["reasons"],
            gate=gate,
            requested=requested,
            candidates=shown,
            household=[rules.masked_resident(r) for r in household] if shows_household else None,
            my_vote=mine,
            resolved=bool(tins),
        )

    def vote(job: dict[str, Any], request_id: str, principal: Principal, action: str, reason: str) -> VoteOut:
        item = item_of(job, request_id)
        votes = [rules.Vote(v["reviewer"], v["action"]) for v in item["votes"]]
        result = load_result(job_dir(settings, job["id"]) / RESULT)
        resolved = result is not None and bool(
            result.explanations.filter(
                (pl.col("request_id") == request_id) & pl.col("candidate_tin").is_not_null()
            ).height
        )
        try:
            decision = rules.check_vote(
                reviewer=principal.id,
                roles=principal.roles,
                action=action,
                votes=votes,
                submitted_by=job["submitted_by"],
                configured_by=configured_by(job),
                resolved=resolved,
                letter_pending=letter_state(job) == "pending",
            )
            event = review_action(job["batch_id"], request_id, principal.id, action, decision, reason.strip())
        except rules.ReviewRefused as refused:
            raise HTTPException(403, str(refused)) from None
        except EntryError:
            raise HTTPException(
                422, "the reason holds something shaped like a TIN; write it without one"
            ) from None
        runner.store.append_events([event])
        ready = runner.final_decisions(job) is not None
        if ready:
            service.set_state(job["id"], ("review",), "releasing", stage="releasing")
        return VoteOut(request_id=request_id, action=action, decision=decision, batch_ready=ready)

    def decide_letter(job: dict[str, Any], principal: Principal, action: str, reason: str) -> None:
        if letter_state(job) != "pending":
            raise HTTPException(409, "this batch has no letter-level review pending")
        if action not in rules.ACTIONS or not reason.strip():
            raise HTTPException(422, "approve or refuse, with a written reason")
        if job["submitted_by"] == principal.id:
            raise HTTPException(403, "nobody reviews a batch they submitted")
        codes = sorted(
            {c for i in service.pending_decisions(job["batch_id"]) for c in i["reasons"]} & letter_codes
        )
        try:
            event = LetterReviewed(
                batch_id=job["batch_id"],
                reviewer=principal.id,
                action=action,
                reasons=tuple(codes),
                reason=reason.strip(),
            )
        except EntryError:
            raise HTTPException(
                422, "the reason holds something shaped like a TIN; write it without one"
            ) from None
        # A refused letter refuses each of its requests: recorded per request, so that the
        # accounting and the reports count them as refused, not as pending review.
        refusals = [
            review_action(
                job["batch_id"], item["request_id"], principal.id, rules.REFUSE_ACTION, REFUSE, reason.strip()
            )
            for item in service.pending_decisions(job["batch_id"])
            if action == "refuse"
        ]
        if action == rules.APPROVE:
            try:
                rules.letter_waiver(codes)
            except rules.ReviewRefused as refused:
                raise HTTPException(422, str(refused)) from None
            # Its requests were never inspected: the batch will not be finished, and its files
            # are processed again as a new batch with what the approval lifts.
            abandoned = BatchAbandoned(
                batch_id=job["batch_id"], actor=principal.id,
                reason="its letter-level review was approved; processed again as a new batch",
            )  # fmt: skip
            runner.store.append_events([event, abandoned])
            runner.store.sign_checkpoint(runner.signer)
            service.set_state(job["id"], ("review",), "queued", stage="queued", batch_id=None, progress=0)
            return
        runner.store.append_events([event, *refusals])
        if runner.final_decisions(job) is not None:
            service.set_state(job["id"], ("review",), "releasing", stage="releasing")

    # --- the agencies' API ---------------------------------------------------------------

    @app.post("/api/batches", response_model=JobStatus, status_code=202, tags=["agencies"])
    async def submit(
        principal: Requester,
        letter: Annotated[UploadFile, File(description="the written request: YAML or JSON")],
        requests: Annotated[UploadFile, File(description="the request file: CSV or Parquet")],
    ) -> JSONResponse:
        """Submit a letter and its request file. The same two files again (same digests)
        return the batch already made of them (200), not a second inspection."""
        letter_suffix = _suffix(letter, LETTER_SUFFIXES, "letter")
        requests_suffix = _suffix(requests, REQUEST_SUFFIXES, "requests")
        job_id = uuid.uuid4().hex
        folder = job_dir(settings, job_id)
        folder.mkdir(mode=0o700, parents=True)
        try:
            letter_path = await _save(letter, folder / f"letter{letter_suffix}", settings.max_letter_bytes)
            requests_path = await _save(
                requests, folder / f"requests{requests_suffix}", settings.max_requests_bytes
            )
            parsed = read_letter(letter_path)
            check_letter_recordable(parsed, letter_path)
            next(read_request_chunks(requests_path, ReadOptions(chunk_rows=1000)), None)
            if parsed.requesting_agency != principal.agency:
                raise HTTPException(403, "the letter names another agency than your token's")
            files = BatchFiles.read(letter_path, requests_path)
            earlier = [j for j in service.jobs(files_key=files.key) if j["state"] != "failed"]
            if earlier:
                if earlier[-1]["agency"] != principal.agency:
                    raise HTTPException(409, "these files were submitted by another agency")
                _remove_upload(folder)
                return JSONResponse(status_of(earlier[-1]).model_dump(), status_code=200)
            service.add_job(
                job_id=job_id,
                files_key=files.key,
                agency=principal.agency or "",
                submitted_by=principal.id,
                letter_name=letter_path.name,
                requests_name=requests_path.name,
            )
        except IntakeError as problem:
            _remove_upload(folder)
            raise HTTPException(422, str(problem)) from None
        except BaseException:
            _remove_upload(folder)
            raise
        job = service.job(job_id)
        assert job is not None
        return JSONResponse(status_of(job).model_dump(), status_code=202)

    @app.get("/api/batches", response_model=list[JobStatus], tags=["agencies"])
    def list_batches(principal: Signed) -> list[JobStatus]:
        """Batches with their state and progress: an agency sees only its own."""
        agency = None if principal.has(*STAFF) else principal.agency
        return [
            status_of(j)
            for j in service.jobs(agency=agency or None)
            if agency is None or j["agency"] == agency
        ]

    @app.get("/api/batches/{job_id}", response_model=JobStatus, tags=["agencies"])
    def batch_status(job_id: str, principal: Signed) -> JobStatus:
        """State and progress of one batch (404 for another agency's)."""
        return status_of(job_of(job_id, principal))

    @app.get(
        "/api/batches/{job_id}/response",
        tags=["agencies"],
        response_class=FileResponse,
        responses={200: {"content": {"text/csv": {}}}, 409: {"description": "not released yet"}},
    )
    def download(job_id: str, principal: Requester) -> FileResponse:
        """The released response (request_id and last known address of each disclosure)."""
        job = job_of(job_id, principal)
        if job["state"] != "released":
            raise HTTPException(409, "the response has not been released")
        path = job_dir(settings, job_id) / OUT / RESPONSE_FILE
        return FileResponse(path, media_type="text/csv", filename=f"response-{job_id}.csv")

    # --- the office's API ------------------------------------------------------------------

    @app.get("/api/batches/{job_id}/counts", response_model=Counts, tags=["office"])
    def batch_counts(job_id: str, principal: Reader) -> Counts:
        """Counts by decision and reason, reviews pending and the letter-level review."""
        return counts_of(job_of(job_id, principal))

    @app.get("/api/review", response_model=list[QueueItem], tags=["office"])
    def review_queue(principal: Officer) -> list[QueueItem]:
        """Requests waiting for a decision you may give (not your own batches')."""
        return queue_for(principal)

    @app.get("/api/review/{job_id}/{request_id}", response_model=Evidence, tags=["office"])
    def review_item(job_id: str, request_id: str, principal: Officer) -> Evidence:
        """The evidence of one request in review (recorded in the ledger as a view)."""
        return evidence(job_of(job_id, principal), request_id, principal)

    @app.post("/api/review/{job_id}/{request_id}", response_model=VoteOut, tags=["office"])
    def review_vote(job_id: str, request_id: str, body: VoteIn, principal: Officer) -> VoteOut:
        """Approve or refuse one request, with a reason. Two approvals by different
        officers disclose it; one refusal refuses it."""
        return vote(job_of(job_id, principal), request_id, principal, body.action, body.reason)

    @app.post("/api/batches/{job_id}/letter-review", response_model=LetterDecisionOut, tags=["office"])
    def letter_review(job_id: str, body: VoteIn, principal: Privacy) -> LetterDecisionOut:
        """The privacy officer decides a letter-level review, with a written reason."""
        decide_letter(job_of(job_id, principal), principal, body.action, body.reason)
        return LetterDecisionOut(job_id=job_id, action=body.action)

    @app.post(
        "/api/batches/{job_id}/retry-release",
        response_model=JobStatus,
        tags=["office"],
        responses={202: {"model": JobStatus, "description": "sent back to be released (recorded)"}},
    )
    def retry_release(job_id: str, body: RetryIn, principal: Privacy) -> JSONResponse:
        """The privacy officer sends a failed release back to be released, with a written
        reason (recorded as `release_retried`); 200 and nothing recorded when it is no
        longer a failed release (already retried, or released)."""
        job = job_of(job_id, principal)
        done = retry(job, principal, body.reason)
        return JSONResponse(status_of(done).model_dump(), status_code=202 if done is not job else 200)

    def retry(job: dict[str, Any], principal: Principal, reason: str) -> dict[str, Any]:
        """The job after a retry of its release: a new dict when one was made, `job` when
        it had been made already (idempotent); 409 for a job that is not a release."""
        if job["state"] in ("releasing", "released") or (
            job["state"] == "running" and job["stage"] in ("retrying", "releasing", "responding")
        ):
            return job
        if not runner.failed_release(job):
            raise HTTPException(
                409, "this batch is not a failed release (its decisions were not all recorded)"
            )
        try:
            retried = runner.retry_release(job, principal.id, reason.strip())
        except EntryError:
            raise HTTPException(
                422, "the reason holds something shaped like a TIN; write it without one"
            ) from None
        now_job = service.job(job["id"])
        assert now_job is not None
        return now_job if retried else job

    @app.get("/api/ledger", response_model=LedgerState, tags=["office"])
    def ledger_state(principal: Reader) -> LedgerState:
        """The ledger's size, root and latest signed checkpoint."""
        head = runner.store.latest_tree_head()
        latest = runner.store.latest_checkpoint()
        cosigned_size, listed = witnessed(latest)
        return LedgerState(
            size=head.size, root_hash=head.root_hash.hex(), checkpoint=latest,
            cosigned_size=cosigned_size, cosignatures=listed,
        )  # fmt: skip

    def witnessed(latest: str | None) -> tuple[int | None, list[WitnessCosignature]]:
        """The witnesses' cosignatures on the latest checkpoint, from the cosigned copies
        kept in --cosigned; when none is of the latest, those of the largest kept."""
        if settings.cosigned_dir is None:
            return None, []
        log_key = runner.signer.verifier
        kept = cosigned_checkpoints(settings.cosigned_dir, log_key)
        latest_text = parse_note(latest).text if latest else None
        chosen = [c for c in kept if c.note.text == latest_text] or kept[:1]
        listed: dict[tuple[str, str], WitnessCosignature] = {}
        for signed in chosen:
            for found in cosignatures(signed.note, log_key, settings.witness_keys):
                listed.setdefault(
                    (found.name, found.key_id),
                    WitnessCosignature(
                        witness=found.name, key_id=found.key_id, verified=found.verified,
                        time=None if found.timestamp is None
                        else datetime.fromtimestamp(found.timestamp, UTC).isoformat(),
                    ),
                )  # fmt: skip
        return (chosen[0].checkpoint.size if chosen else None), list(listed.values())

    # --- pages ------------------------------------------------------------------------------

    def page(request: Request, name: str, principal: Principal | None, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"me": principal, **context})

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, principal: Anyone) -> HTMLResponse:
        return page(request, "login.html", None, error=None)

    @app.post("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(
        request: Request, _anyone: Anyone, user_id: Annotated[str, Form()], password: Annotated[str, Form()]
    ) -> Response:
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            raise HTTPException(403, "refused: a request from another site")
        found = service.credentials(user_id)
        locked_until = found[2] if found else None
        if locked_until is not None and locked_until > datetime.now(UTC):
            password_matches(password, None)
            return page(
                request,
                "login.html",
                None,
                error="This account is locked for a while after repeated failures.",
            )
        account = service.account(user_id) if found else None
        if found is None or account is None or not account.active or not password_matches(password, found[0]):
            locked = found is not None and service.failed_sign_in(
                user_id, settings.lockout_after, timedelta(minutes=settings.lockout_minutes)
            )
            message = "This account is now locked for a while." if locked else "Wrong user id or password."
            return page(request, "login.html", None, error=message)
        service.signed_in(user_id)
        secret = new_secret()
        service.open_session(secret_hash(secret), user_id, timedelta(hours=settings.session_hours))
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            secret,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="strict",
            max_age=settings.session_hours * 3600,
            path="/",
        )
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(principal: Signed) -> Response:
        if principal.session_secret:
            service.revoke_session(secret_hash(principal.session_secret))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(request: Request, principal: Signed) -> Response:
        if not principal.has(*STAFF):
            return RedirectResponse("/batches", status_code=303)
        jobs = service.jobs()
        totals: dict[str, int] = {}
        refusals: dict[str, int] = {}
        for job in jobs:
            for decision, reasons in (
                service.decision_counts(job["batch_id"]) if job["batch_id"] else {}
            ).items():
                totals[decision] = totals.get(decision, 0) + reasons[""]
                if decision == "refuse":
                    for code, n in reasons.items():
                        if code:
                            refusals[code] = refusals.get(code, 0) + n
        by_state: dict[str, int] = {}
        for job in jobs:
            by_state[job["state"]] = by_state.get(job["state"], 0) + 1
        queue = len(queue_for(principal)) if principal.has(DISCLOSURE_OFFICER) else None
        activity = service.activity()
        days = oversight.daily_activity(activity["decisions"], activity["reviews"], activity["released"])
        return page(
            request,
            "dashboard.html",
            principal,
            totals=totals,
            refusals=_sorted(refusals),
            by_state=by_state,
            batches=len(jobs),
            queue=queue,
            days=days,
            day_codes=oversight.refusal_codes(days),
            series=oversight.SERIES,
            # Built of numbers, fixed words and escaped text (`oversight.bar_chart_svg`).
            chart=Markup(oversight.bar_chart_svg(days)),
        )

    @app.get("/batches", response_class=HTMLResponse, include_in_schema=False)
    def batches_page(request: Request, principal: Signed) -> HTMLResponse:
        return page(request, "batches.html", principal, jobs=list_batches(principal))

    @app.get("/batches/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def batch_page(request: Request, job_id: str, principal: Signed) -> HTMLResponse:
        job = job_of(job_id, principal)
        staff = principal.has(DISCLOSURE_OFFICER, PRIVACY_OFFICER, AUDITOR)
        counts = counts_of(job) if staff else None
        queue = (
            [q for q in queue_for(principal) if q.job_id == job_id]
            if principal.has(DISCLOSURE_OFFICER)
            else []
        )
        retryable = principal.has(PRIVACY_OFFICER) and runner.failed_release(job)
        return page(
            request, "batch.html", principal,
            job=status_of(job), counts=counts, queue=queue, retryable=retryable,
        )  # fmt: skip

    @app.post("/batches/{job_id}/letter-review", include_in_schema=False)
    def letter_review_form(
        job_id: str, principal: Privacy, action: Annotated[str, Form()], reason: Annotated[str, Form()]
    ) -> Response:
        decide_letter(job_of(job_id, principal), principal, action, reason)
        return RedirectResponse(f"/batches/{job_id}", status_code=303)

    @app.post("/batches/{job_id}/retry-release", include_in_schema=False)
    def retry_release_form(job_id: str, principal: Privacy, reason: Annotated[str, Form()]) -> Response:
        retry(job_of(job_id, principal), principal, reason)
        return RedirectResponse(f"/batches/{job_id}", status_code=303)

    @app.get("/review", response_class=HTMLResponse, include_in_schema=False)
    def queue_page(request: Request, principal: Officer) -> HTMLResponse:
        return page(request, "queue.html", principal, queue=queue_for(principal))

    @app.get("/review/{job_id}/{request_id}", response_class=HTMLResponse, include_in_schema=False)
    def review_page(request: Request, job_id: str, request_id: str, principal: Officer) -> HTMLResponse:
        shown = evidence(job_of(job_id, principal), request_id, principal)
        return page(request, "review.html", principal, item=shown, fields=FIELDS)

    @app.post("/review/{job_id}/{request_id}", include_in_schema=False)
    def review_form(
        request: Request,
        job_id: str,
        request_id: str,
        principal: Officer,
        action: Annotated[str, Form()],
        reason: Annotated[str, Form()],
    ) -> Response:
        done = vote(job_of(job_id, principal), request_id, principal, action, reason)
        return page(request, "voted.html", principal, vote=done, job_id=job_id)

    @app.get("/ledger", response_class=HTMLResponse, include_in_schema=False)
    def ledger_page(request: Request, principal: Reader) -> HTMLResponse:
        return page(
            request, "ledger.html", principal, ledger=ledger_state(principal), verified=None,
            cosigned_dir=settings.cosigned_dir,
        )  # fmt: skip

    @app.post("/ledger/verify", response_class=HTMLResponse, include_in_schema=False)
    def ledger_verify(request: Request, principal: Reader) -> HTMLResponse:
        # The whole log recomputed and the tables rebuilt from it, as `ftigate ledger verify`
        # does; leaves appended since the last checkpoint (a review under way) are expected.
        report = runner.store.verify(runner.signer.verifier, pending=True)
        findings = [str(f) for f in report.findings][:20]
        return page(request, "ledger.html", principal, ledger=ledger_state(principal),
                    verified={"ok": report.ok, "findings": findings},
                    cosigned_dir=settings.cosigned_dir)  # fmt: skip

    return app


# --- edges ------------------------------------------------------------------------------------


def _iso(moment: Any) -> str:
    return moment.isoformat() if isinstance(moment, datetime) else str(moment)


def _sorted(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _suffix(upload: UploadFile, allowed: tuple[str, ...], field: str) -> str:
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in allowed:
        raise HTTPException(422, f"{field}: the file must end in {' or '.join(allowed)}")
    return suffix


async def _save(upload: UploadFile, path: Path, limit: int) -> Path:
    """Write an upload to `path` (0600, a new file), refusing one larger than `limit`."""
    written = 0
    with path.open("xb") as stream:
        path.chmod(0o600)
        while block := await upload.read(1 << 20):
            written += len(block)
            if written > limit:
                raise HTTPException(413, f"{path.stem}: larger than the limit of {limit:,} bytes")
            stream.write(block)
    if written == 0:
        raise HTTPException(422, f"{path.stem}: the file is empty")
    return path


def _remove_upload(folder: Path) -> None:
    """The upload folder this request made (a fresh uuid folder): only its own files."""
    for name in ("letter.yaml", "letter.yml", "letter.json", "requests.csv", "requests.parquet"):
        (folder / name).unlink(missing_ok=True)
    folder.rmdir()


def _requested(path: Path, request_id: str) -> dict[str, str]:
    """The requested fields of one request, its TIN masked to the last four digits."""
    for chunk in read_request_chunks(path, ReadOptions()):
        found = chunk.filter(pl.col("request_id") == request_id)
        if found.height:
            row = {
                k: ("" if v is None else str(v))
                for k, v in found.row(0, named=True).items()
                if not k.startswith("_")
            }
            if row.get("tin"):
                digits = tin_digits(pl.lit(row["tin"]))
                value = pl.select(digits).item()
                row["tin"] = f"***-**-{str(value or row['tin'])[-4:]}"
            return row
    return {}


def _on_file(reference: Path, tins: list[str]) -> dict[str, tuple[str, str]]:
    """(year of birth, surname) of each candidate TIN, from the taxpayer file."""
    if not tins:
        return {}
    people = scan_table(find_table(reference, "taxpayers"), TAXPAYER_COLUMNS)
    rows = (
        people.select(
            tin_digits(pl.col("tin")).alias("tin"),
            pl.col("date_of_birth").cast(pl.String).str.slice(0, 4),
            pl.col("last_name").cast(pl.String).fill_null(""),
        )
        .filter(pl.col("tin").is_in(tins))
        .collect()
    )
    return {str(t): (str(y), str(s)) for t, y, s in rows.iter_rows()}


def _household(reference: Path, requested: dict[str, str], candidates: list[str]) -> list[dict[str, Any]]:
    """The taxpayers on file at the requested address's building other than the candidates."""
    if not requested.get("street") or not requested.get("zip"):
        return []
    address = pl.DataFrame({c: [requested.get(c, "")] for c in ("street", "unit", "zip", "city")})
    residents = residents_at(reference, address)
    return residents.filter(~pl.col("tin").is_in(candidates)).to_dicts()
