"""`ftigate serve`, `ftigate users add|revoke-sessions` and `ftigate token issue|revoke`:
the disclosure office's service and its first users and agency tokens."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ftigate.cli.batch import DbOption
from ftigate.cli.common import (
    DiscloseProbabilityOption,
    MarginBitsOption,
    ReviewFloorOption,
    check_database_url,
    err,
    fail,
    guarded,
    new_app,
    out,
)
from ftigate.decide.gates import ThresholdOverrides, Thresholds, ThresholdsRefused
from ftigate.ledger.checkpoint import COSIGNATURE_V1, CheckpointError, Verifier, parse_vkey
from ftigate.store.api import Store
from ftigate.store.service import ServiceStore
from ftigate.web.roles import REQUESTER, ROLES
from ftigate.web.security import TOKEN_PREFIX, PasswordTooWeak, hash_password, new_secret, secret_hash

users_app = new_app(name="users", help="Staff and agency users of `ftigate serve`.", no_args_is_help=True)
token_app = new_app(name="token", help="Agency API tokens of `ftigate serve`.", no_args_is_help=True)


def _service(db: str | None) -> ServiceStore:
    return ServiceStore(guarded(lambda: Store.open(check_database_url(db))))


@users_app.command("add")
def users_add(
    user_id: Annotated[str, typer.Argument(help="The id the user signs in with (recorded in the ledger).")],
    name: Annotated[str, typer.Option("--name", help="The display name.")],
    role: Annotated[
        list[str], typer.Option("--role", help=f"A role ({', '.join(ROLES)}); repeat for several.")
    ],
    agency: Annotated[
        str | None, typer.Option(help="A requester's agency, exactly as its letters name it.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (one line).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Add a user who signs in with a password (hashed with Argon2id; asked for twice)."""
    unknown = sorted(set(role) - set(ROLES))
    if unknown:
        fail(f"--role {unknown[0]!r} is not a role; the roles are {', '.join(ROLES)}")
    if (REQUESTER in role) != (agency is not None):
        fail("a requester needs --agency, and only a requester has one")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        hashed = hash_password(password)
    except PasswordTooWeak as weak:
        fail(str(weak))
    service = _service(db)
    try:
        guarded(lambda: service.add_user(user_id, name, role, password_hash=hashed, agency=agency))
    finally:
        service.store.close()
    err.print(f"added {user_id} ({', '.join(sorted(set(role)))})")


@users_app.command("revoke-sessions")
def users_revoke_sessions(
    user_id: Annotated[str, typer.Argument(help="The user whose sessions end now.")], db: DbOption = None
) -> None:
    """End every session of a user at once (a lost laptop, a departure)."""
    service = _service(db)
    try:
        ended = service.revoke_sessions_of(user_id)
    finally:
        service.store.close()
    err.print(f"revoked {ended} session(s) of {user_id}")


@token_app.command("issue")
def token_issue(
    agency: Annotated[str, typer.Option(help="The agency, exactly as its letters name it.")],
    label: Annotated[str, typer.Option(help="What the token is for (shown in listings).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the token as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Issue an API token for a requesting agency. It is printed once; the store keeps
    only its SHA-256."""
    secret = new_secret(TOKEN_PREFIX)
    service = _service(db)
    try:
        token_id = guarded(lambda: service.add_token(secret_hash(secret), agency, label))
    finally:
        service.store.close()
    if as_json:
        out.print_json(json.dumps({"token_id": token_id, "agency": agency, "token": secret}))
        return
    out.print(secret, markup=False)
    err.print(f"token {token_id} for {agency}: give it to the agency now, it is not shown again")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token id `token issue` printed.")], db: DbOption = None
) -> None:
    """Revoke an agency token: it is refused from now on."""
    service = _service(db)
    try:
        revoked = service.revoke_token(token_id)
    finally:
        service.store.close()
    if not revoked:
        fail(f"no live token {token_id}")
    err.print(f"revoked token {token_id}")


def serve(
    reference: Annotated[Path, typer.Option(help="Folder holding taxpayers and addresses (CSV or Parquet).")],
    data_dir: Annotated[
        Path,
        typer.Option(
            help="Folder for uploads, working results and responses (taxpayer data: protected storage)."
        ),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    db: DbOption = None,
    policy: Annotated[Path | None, typer.Option(help="YAML file overriding law parameters.")] = None,
    model: Annotated[Path | None, typer.Option(help="A model artefact (default: the packaged one).")] = None,
    reference_cache: Annotated[
        Path | None, typer.Option(help="Folder to keep the taxpayer file prepared for matching.")
    ] = None,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            "--insecure-cookies",
            help="Send the session cookie over plain http (only for http://127.0.0.1 on one machine).",
        ),
    ] = False,
    max_upload_mb: Annotated[int, typer.Option(min=1, help="Largest request file accepted, in MiB.")] = 512,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Process jobs in a worker thread beside the server.")
    ] = True,
    stale_after: Annotated[
        int,
        typer.Option(
            min=1, help="Seconds without a heartbeat after which a running job's worker is taken as dead."
        ),
    ] = 60,
    disclose_probability: DiscloseProbabilityOption = None,
    review_floor: ReviewFloorOption = None,
    margin_bits: MarginBitsOption = None,
    cosigned: Annotated[
        Path | None,
        typer.Option(
            help="Folder where the witnesses' cosigned checkpoints are kept (the --out files of "
            "`ftigate witness add-checkpoint`); the ledger page lists their cosignatures."
        ),
    ] = None,
    witness_key: Annotated[
        list[str] | None,
        typer.Option(
            "--witness-key", help="A witness's verification key: its cosignatures are checked (repeatable)."
        ),
    ] = None,
) -> None:
    """Start the disclosure office's service: the agencies' API (OpenAPI at /docs), the
    review queue with two-person approval, and the pages."""
    import uvicorn

    from ftigate.web.serve import build_app
    from ftigate.web.settings import MiB, ServiceSettings

    if insecure_cookies and host not in ("127.0.0.1", "localhost", "::1"):
        fail("--insecure-cookies is for a server on 127.0.0.1 only")
    overrides = ThresholdOverrides(disclose_probability, review_floor, margin_bits)
    try:
        # Checked against today's law; a letter dated under another law is checked again
        # when its batch runs (the job fails before anything is inspected).
        overrides.over(Thresholds())
    except ThresholdsRefused as refused:
        fail(str(refused))
    witnesses = tuple(_witness_key(text) for text in witness_key or ())
    if cosigned is not None and not cosigned.is_dir():
        fail(f"--cosigned {cosigned}: not a folder")
    settings = ServiceSettings(
        db_url=check_database_url(db),
        reference=reference,
        data_dir=data_dir,
        policy=policy,
        model=model,
        reference_cache=reference_cache,
        secure_cookies=not insecure_cookies,
        max_requests_bytes=max_upload_mb * MiB,
        worker=worker,
        stale_after_seconds=stale_after,
        thresholds=overrides,
        cosigned_dir=cosigned,
        witness_keys=witnesses,
    )
    app = guarded(lambda: build_app(settings))
    scheme = "http" if insecure_cookies else "https (behind a TLS proxy)"
    err.print(f"ftigate serve on http://{host}:{port}/ ({scheme}); API docs at /docs")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _witness_key(text: str) -> Verifier:
    try:
        witness = parse_vkey(text)
    except CheckpointError as problem:
        fail(f"--witness-key: {problem}")
    if witness.signature_type != COSIGNATURE_V1:
        fail("--witness-key must be a cosignature/v1 key (type 0x04)")
    return witness


DEMO_USERS = (
    ("officer-a", "Demo Officer A", "disclosure_officer"),
    ("officer-b", "Demo Officer B", "disclosure_officer"),
    ("privacy", "Demo Privacy Officer", "privacy_officer"),
    ("auditor", "Demo Auditor", "auditor"),
)


def serve_demo(out_dir: Path, port: int) -> None:
    """`ftigate demo --serve`: the service on 127.0.0.1 over the demo's synthetic files,
    with its own ledger keys and store in `out_dir`/service, the demo batch queued, and
    demo users whose passwords are printed (synthetic data only)."""
    import os

    import uvicorn

    from ftigate.intake.letter import read_letter
    from ftigate.ledger.keys import generate_keys
    from ftigate.outputs import make_private_dirs
    from ftigate.web.app import create_app
    from ftigate.web.jobs import enqueue_files
    from ftigate.web.serve import build_runner
    from ftigate.web.settings import ServiceSettings

    home = out_dir / "service"
    if home.exists():
        fail(f"{home} holds an earlier demo service (its ledger is never replaced); give a new --out")
    guarded(lambda: make_private_dirs(home / "keys"))
    # The demo records under keys of its own, never under the keys of a real ledger.
    os.environ["FTIGATE_PSEUDONYM_KEY_FILE"] = str(home / "keys" / "pseudonym.key")
    os.environ["FTIGATE_SIGNING_KEY_FILE"] = str(home / "keys" / "signing.key")
    guarded(lambda: generate_keys("ftigate.demo/ledger"))
    settings = ServiceSettings(
        db_url=f"sqlite:///{home / 'ftigate.db'}", reference=out_dir / "population", data_dir=home / "data",
        secure_cookies=False,
    )  # fmt: skip
    runner = guarded(lambda: build_runner(settings))
    letter_path, requests_path = out_dir / "batch" / "letter.yaml", out_dir / "batch" / "requests.csv"
    agency = guarded(lambda: read_letter(letter_path)).requesting_agency
    credentials = []
    for user_id, name, role in DEMO_USERS:
        password = new_secret()[:20]
        runner.service.add_user(user_id, name, [role], password_hash=hash_password(password))
        credentials.append((user_id, role, password))
    token = new_secret(TOKEN_PREFIX)
    runner.service.add_token(secret_hash(token), agency, "demo")
    enqueue_files(runner, letter_path, requests_path, agency=agency, submitted_by="demo")
    url = f"http://127.0.0.1:{port}/"
    out.print(f"\n[bold]ftigate serve[/] with the demo batch queued: {url}  (API docs: {url}docs)")
    for user_id, role, password in credentials:
        out.print(f"   sign in as {user_id:<10} ({role}) with password {password}", markup=False)
    out.print(f"   agency token for {agency}: {token}", markup=False)
    out.print("   synthetic data only; stop with Ctrl-C")
    uvicorn.run(
        create_app(settings, runner), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
