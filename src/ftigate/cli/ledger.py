"""``ftigate ledger`` and ``ftigate witness``: keys, checkpoints, verification, proofs.

Exit codes (`ftigate.cli.common`): 0 success, 1 verification failed, 2 bad input
(missing file, malformed key or checkpoint, unknown event, an output that exists),
3 internal error. Errors are one line on stderr.

Inclusion proof check procedure (also written into every proof file):

1. Verify the ``checkpoint`` note's Ed25519 signature with the log's
   verification key (C2SP signed-note); read its tree size and root hash.
2. ``leaf = SHA-256(0x00 || base64decode(entry))`` (RFC 9162 2.1.1).
3. Fold ``proof`` (base64 hashes) from ``leaf`` with ``leaf_index`` and
   ``tree_size`` as in RFC 9162 2.1.3.2; the result must equal the root hash,
   and ``tree_size`` must equal the checkpoint's size.
4. ``entry`` is RFC 8785 JSON ``{"event": ..., "prev": ..., "seq": leaf_index}``.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from sqlalchemy.exc import SQLAlchemyError

from ftigate import __version__
from ftigate.cli.common import (
    ForceOption,
    JsonOption,
    VerificationFailed,
    check_database_url,
    deprecated_spelling,
    handle_error,
    new_app,
    print_json,
    renamed_option,
)
from ftigate.ledger.accounting import (
    LIFECYCLE_KINDS,
    AccountingError,
    account_for_taxpayer,
    batch_log,
    batch_states,
    check_pseudonym_key,
    cross_check,
    disclosures_in_ledger,
    jct_counts,
    jct_csv,
    jct_html,
)
from ftigate.ledger.bundle import HEADER as BUNDLE_HEADER
from ftigate.ledger.bundle import SUFFIX as BUNDLE_SUFFIX
from ftigate.ledger.bundle import BundleFormatError, BundleMismatch, check_bundle, make_bundle
from ftigate.ledger.checkpoint import (
    COSIGNATURE_V1,
    CheckpointError,
    NoteFormatError,
    Signer,
    Verifier,
    cosign,
    open_checkpoint,
    parse_checkpoint_body,
    parse_note,
    parse_skey,
    parse_vkey,
)
from ftigate.ledger.committed import verify_item
from ftigate.ledger.events import BatchDecided, BatchScreened
from ftigate.ledger.keys import (
    DEFAULT_ORIGIN,
    KeyFileError,
    generate_keys,
    load_pseudonymizer,
    load_signer,
    read_secret_file,
    write_secret_file,
)
from ftigate.ledger.merkle import (
    ProofError,
    ProvableTree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ftigate.ledger.witness import (
    WitnessState,
    WitnessStateError,
    add_checkpoint_body,
    attach_cosignatures,
    parse_request,
)
from ftigate.outputs import OutputFolder, check_output_file, check_output_folder, write_output_text
from ftigate.store.api import Store, StoreError, UnsealedLeaves

LOG_VKEY_ENV = "FTIGATE_LOG_VKEY"
PROOF_FORMAT = "ftigate-inclusion-proof/v1"
CHECK_PROCEDURE = [
    "1. Verify the checkpoint's Ed25519 note signature with the log's verification key "
    "(C2SP signed-note); take its tree size and root hash.",
    "2. leaf = SHA-256(0x00 || base64decode(entry)) (RFC 9162 2.1.1).",
    "3. Fold the base64 proof hashes from leaf with leaf_index and tree_size as in RFC 9162 "
    "2.1.3.2; the result must equal the checkpoint root and tree_size its size.",
    '4. entry is RFC 8785 JSON {"event": ..., "prev": ..., "seq": leaf_index}.',
]
RECORD_PROOF_FORMAT = "ftigate-record-proof/v1"
RECORD_CHECK_PROCEDURE = [
    "5. entry's event is a batch_screened or batch_decided event: results_root (hex) and "
    "records.",
    "6. item = base64decode(record.item), RFC 8785 JSON (screening: {batch_id, outcome, "
    "reasons, request_id, rules, v}; decision: {batch_id, decision, match_probability, "
    "model_digest, reasons, request_id, taxpayer, v}); fold record.proof from "
    "SHA-256(0x00 || item) with record.index and record.records as in step 3: the result "
    "must equal results_root, record.records must equal records, and the item's batch_id "
    "the event's.",
]

app = new_app(
    name="ledger",
    help="The tamper-evident ledger: keys, signed checkpoints, verification and proofs.",
    no_args_is_help=True,
)
witness_app = new_app(
    name="witness",
    help="An independent witness: checks each new checkpoint extends the last, then cosigns.",
    no_args_is_help=True,
)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL or SQLite path (default: $FTIGATE_DB, ftigate.db)."),
]
LogKeyOption = Annotated[
    str | None,
    typer.Option(
        "--log-key",
        help="The log's verification key (name+id+key). Default: $FTIGATE_LOG_VKEY, "
        "else derived from the signing key file.",
    ),
]

P = ParamSpec("P")
R = TypeVar("R")


# The ledger's own refusals, raised with messages written for the user (never holding
# taxpayer data): bad input, shown as they are by the one error path.
LEDGER_INPUT_ERRORS: tuple[type[BaseException], ...] = (
    KeyFileError,
    StoreError,
    CheckpointError,
    ProofError,
    ValueError,
    WitnessStateError,
    OSError,
    SQLAlchemyError,
)


def _clean_errors(command: Callable[P, R]) -> Callable[P, R]:
    """The one error path (`common.handle_error`) with the ledger's refusals as bad input
    (exit code 2) and unsealed leaves as a log that does not verify (1)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except BaseException as error:
            handle_error(error, bad_input=LEDGER_INPUT_ERRORS, not_verified=(UnsealedLeaves,))

    return wrapper


def _open_store(db: str | None, *, create: bool = False) -> Store:
    url = check_database_url(db)
    if url.startswith("sqlite:///") and not create:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise StoreError(f"no database at {path}")
    return Store.open(url, run_migrations=create)


def _log_key(log_key: str | None) -> Verifier:
    text = log_key or os.environ.get(LOG_VKEY_ENV)
    if text:
        return parse_vkey(text)
    return load_signer().verifier


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None


# --- ftigate ledger -------------------------------------------------------------------


@app.command()
@_clean_errors
def keygen(
    origin: Annotated[
        str, typer.Option(help="Log name, used as the checkpoint origin line.")
    ] = DEFAULT_ORIGIN,
    as_json: JsonOption = False,
) -> None:
    """Create the pseudonym key and the Ed25519 log signing key (mode 0600)."""
    keys = generate_keys(origin)
    if as_json:
        print_json(
            {
                "pseudonym_key_file": str(keys.pseudonym_key_file),
                "signing_key_file": str(keys.signing_key_file),
                "verification_key": keys.verification_key,
            }
        )
        return
    typer.echo(f"pseudonym key: {keys.pseudonym_key_file}")
    typer.echo(f"signing key:   {keys.signing_key_file}")
    typer.echo(f"verification key (give it to overseers): {keys.verification_key}")


@app.command()
@_clean_errors
def checkpoint(
    out: Annotated[Path, typer.Option("--out", help="File the overseer keeps.")],
    db: DbOption = None,
    as_json: JsonOption = False,
    force: ForceOption = False,
) -> None:
    """Sign the current tree head and write it to FILE."""
    check_output_file(out, force=force)
    signer = load_signer()
    store = _open_store(db)
    try:
        signed = store.sign_checkpoint(signer)
    finally:
        store.close()
    write_output_text(out, signed.serialize(), force=force)
    if as_json:
        root = base64.b64encode(signed.checkpoint.root_hash).decode()
        print_json({"out": str(out), "size": signed.checkpoint.size, "root": root})
        return
    typer.echo(f"signed checkpoint at size {signed.checkpoint.size} written to {out}")


@app.command()
@_clean_errors
def verify(
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="An older checkpoint kept outside.")
    ] = None,
    witness_key: Annotated[
        str | None,
        typer.Option("--witness-key", help="Require this witness's cosignature on --checkpoint."),
    ] = None,
    pending: Annotated[
        bool,
        typer.Option(
            "--pending",
            help="Leaves beyond the last signed head are expected (appended since): report "
            "how many instead of failing.",
        ),
    ] = False,
    in_line: Annotated[
        bool,
        typer.Option(
            "--in-line",
            help="Rehash the committed items in this process too, after the log (by default a "
            "second process rehashes them meanwhile when there are 200,000 or more).",
        ),
    ] = False,
    log_key: LogKeyOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the log, its seals and the tables the reports read, and check them against
    every signed head (exit 1 if anything differs, if nothing is signed, or if leaves lie
    beyond the last signed head without --pending)."""
    verifier = _log_key(log_key)
    witness = parse_vkey(witness_key) if witness_key else None
    if witness is not None and checkpoint is None:
        raise ValueError("--witness-key needs --checkpoint FILE (the cosigned checkpoint)")
    if witness is not None and witness.signature_type != COSIGNATURE_V1:
        raise ValueError("--witness-key must be a cosignature/v1 key (type 0x04)")
    outside = _read_text(checkpoint) if checkpoint else None
    if outside is not None:
        try:  # a file that is not a checkpoint at all is bad input, not a failed check
            parse_checkpoint_body(parse_note(outside).text)
        except NoteFormatError as error:
            raise ValueError(f"{checkpoint}: not a signed checkpoint: {error}") from None
    store = _open_store(db)
    try:
        parallel = False if in_line else None
        report = store.verify(verifier, outside, witness, pending=pending, parallel=parallel)
    finally:
        store.close()
    if as_json:
        # Printed whether or not the log verifies: the exit code (0 or 1) says which.
        print_json(
            {
                "verified": report.ok,
                "size": report.size,
                "root": base64.b64encode(report.root_hash).decode(),
                "signed_checkpoints": report.checked_checkpoints,
                "sealed_appends": report.sealed_ranges,
                "pending": report.pending,
                "findings": [str(finding) for finding in report.findings],
            }
        )
    if not report.ok:
        first = report.first
        more = len(report.findings) - 1
        suffix = f" ({more} more finding{'s' if more != 1 else ''})" if more else ""
        raise VerificationFailed(f"verification failed: {first}{suffix}")
    if as_json:
        return
    root = base64.b64encode(report.root_hash).decode()
    waiting = f", {report.pending} pending beyond the last signed head" if report.pending else ""
    typer.echo(
        f"OK: {report.size} leaves, root {root}, "
        f"{report.checked_checkpoints} signed checkpoint(s) consistent, "
        f"{report.sealed_ranges} sealed append(s), tables match the log{waiting}"
    )


@app.command()
@_clean_errors
def prove(
    event_id: Annotated[str, typer.Argument(help="The event id recorded in the ledger.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write here, not stdout.")] = None,
    db: DbOption = None,
    force: ForceOption = False,
) -> None:
    """Print an inclusion proof for EVENT_ID against the latest signed checkpoint."""
    if out:
        check_output_file(out, force=force)
    store = _open_store(db)
    try:
        proof = build_inclusion_proof(store, event_id)
    finally:
        store.close()
    text = json.dumps(proof, indent=2, ensure_ascii=False) + "\n"
    if out:
        write_output_text(out, text, force=force)
    else:
        typer.echo(text, nl=False)


def build_inclusion_proof(store: Store, event_id: str) -> dict[str, Any]:
    """The proof document ``prove`` prints (also used by accounting)."""
    leaf = store.leaf_by_event_id(event_id)
    if leaf is None:
        raise StoreError(f"no event {event_id} in the ledger")
    latest = store.latest_checkpoint()
    if latest is None:
        raise StoreError("no signed checkpoint yet; run `ftigate ledger checkpoint`")
    note = parse_note(latest)
    head = parse_checkpoint_body(note.text)
    if head.size <= leaf.leaf_index:
        raise StoreError(
            f"event {event_id} (leaf {leaf.leaf_index}) is newer than the latest signed "
            f"checkpoint (size {head.size}); run `ftigate ledger checkpoint`"
        )
    return proof_document(leaf.leaf_index, leaf.event_id, leaf.entry, store.hash_tree(), latest)


def proof_document(
    leaf_index: int, event_id: str, entry: bytes, tree: ProvableTree, checkpoint_text: str
) -> dict[str, Any]:
    size = parse_checkpoint_body(parse_note(checkpoint_text).text).size
    hashes = tree.inclusion_proof(leaf_index, size)
    return {
        "format": PROOF_FORMAT,
        "event_id": event_id,
        "leaf_index": leaf_index,
        "tree_size": size,
        "entry": base64.b64encode(entry).decode(),
        "leaf_hash": base64.b64encode(leaf_hash(entry)).decode(),
        "proof": [base64.b64encode(h).decode() for h in hashes],
        "checkpoint": checkpoint_text,
        "check": CHECK_PROCEDURE,
    }


RECORD_PARTS = {"screening": BatchScreened.kind, "decision": BatchDecided.kind}


@app.command("prove-record")
@_clean_errors
def prove_record(
    batch_id: Annotated[str, typer.Argument(help="The batch the request was recorded in.")],
    request_id: Annotated[str, typer.Argument(help="The request id, as in the request file.")],
    what: Annotated[
        str,
        typer.Option("--what", help="Which result to prove: screening or decision."),
    ] = "screening",
    out: Annotated[Path | None, typer.Option("--out", help="Write here, not stdout.")] = None,
    db: DbOption = None,
    force: ForceOption = False,
) -> None:
    """Print the proof of one request's screening result or decision: its item under the
    root of the batch's `batch_screened` / `batch_decided` leaf, and that leaf under the
    latest signed checkpoint (`ledger check-proof` checks it offline)."""
    if what not in RECORD_PARTS:
        raise ValueError(f"--what must be one of {', '.join(RECORD_PARTS)}, not {what!r}")
    if out:
        check_output_file(out, force=force)
    store = _open_store(db)
    try:
        proof = build_record_proof(store, batch_id, request_id, RECORD_PARTS[what])
    finally:
        store.close()
    text = json.dumps(proof, indent=2, ensure_ascii=False) + "\n"
    if out:
        write_output_text(out, text, force=force)
    else:
        typer.echo(text, nl=False)


def build_record_proof(store: Store, batch_id: str, request_id: str, kind: str) -> dict[str, Any]:
    """The document ``prove-record`` prints: an inclusion proof of the batch's committing
    leaf of ``kind``, with the record's item and its audit path to that leaf's root."""
    leaves = store.batch_leaves(batch_id, [kind])
    if not leaves:
        raise StoreError(
            f"no {kind} event for batch {batch_id} (a batch recorded before it was introduced "
            "has one leaf per request: `ledger prove` that event's id)"
        )
    _index, event = leaves[-1]
    event_id = str(event["event_id"])
    found = store.item_proof(batch_id, event_id, request_id)
    if found is None:
        raise StoreError(f"no request {request_id!r} is recorded in {kind} of batch {batch_id}")
    item = found.item.canonical()
    try:
        if found.records != event.get("records"):
            raise ProofError("the stored rows are not as many as the leaf commits to")
        root = bytes.fromhex(str(event.get("results_root")))
        verify_item(item, found.index, found.records, found.proof, root)
    except (ProofError, ValueError):
        raise VerificationFailed(
            f"the stored rows of batch {batch_id} do not hash to the root its {kind} leaf "
            "commits to; run `ftigate ledger verify`"
        ) from None
    document = build_inclusion_proof(store, event_id)
    document["format"] = RECORD_PROOF_FORMAT
    document["record"] = {
        "item": base64.b64encode(item).decode(),
        "index": found.index,
        "records": found.records,
        "proof": [base64.b64encode(h).decode() for h in found.proof],
    }
    document["check"] = [*CHECK_PROCEDURE, *RECORD_CHECK_PROCEDURE]
    return document


def _check_record(document: dict[str, Any], entry: bytes) -> str:
    """Steps 5-6 of a record proof: the item under the root of the proved leaf."""
    try:
        record = document["record"]
        item = base64.b64decode(record["item"], validate=True)
        proof = [base64.b64decode(h, validate=True) for h in record["proof"]]
        index, records = int(record["index"]), int(record["records"])
        event = json.loads(entry)["event"]
        root = bytes.fromhex(str(event["results_root"]))
        committed = int(event["records"])
        content = json.loads(item)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"record proof is malformed: {error}") from None
    if event.get("kind") not in RECORD_PARTS.values():
        raise VerificationFailed("the proved leaf is not a batch_screened or batch_decided event")
    if records != committed:
        raise VerificationFailed(f"the proof is for {records} records but the leaf commits to {committed}")
    if not isinstance(content, dict) or content.get("batch_id") != event.get("batch_id"):
        raise VerificationFailed("the item names another batch than the proved leaf")
    try:
        verify_item(item, index, records, proof, root)
    except ProofError as error:
        raise VerificationFailed(f"the record's proof under the batch root fails: {error}") from None
    reasons = ", ".join(content.get("reasons") or ()) or "no reasons"
    result = (
        f"was screened {content.get('outcome')}"
        if event["kind"] == BatchScreened.kind
        else f"was decided {content.get('decision')}"
    )
    return (
        f"request {content.get('request_id')} of batch {content.get('batch_id')} {result} "
        f"({reasons}), item {index} of {records}"
    )


def check_inclusion_document(document: Any, verifier: Verifier) -> str:
    """Verify a proof document; returns a one-line summary or raises."""
    if not isinstance(document, dict) or document.get("format") not in (PROOF_FORMAT, RECORD_PROOF_FORMAT):
        raise ValueError(f"not an {PROOF_FORMAT} or {RECORD_PROOF_FORMAT} document")
    try:
        entry = base64.b64decode(document["entry"], validate=True)
        proof = [base64.b64decode(h, validate=True) for h in document["proof"]]
        index, size = int(document["leaf_index"]), int(document["tree_size"])
        note_text = str(document["checkpoint"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"proof document is malformed: {error}") from None
    try:
        signed = open_checkpoint(note_text, verifier)
    except CheckpointError as error:
        raise VerificationFailed(f"checkpoint in the proof: {error}") from None
    if signed.checkpoint.size != size:
        raise VerificationFailed(
            f"proof is for size {size} but the checkpoint is signed at {signed.checkpoint.size}"
        )
    try:
        verify_inclusion(leaf_hash(entry), index, size, proof, signed.checkpoint.root_hash)
    except ProofError as error:
        raise VerificationFailed(f"inclusion proof does not verify: {error}") from None
    located = (
        f"event {document.get('event_id')} is leaf {index} of the log "
        f"{signed.checkpoint.origin} signed at size {size}"
    )
    if document["format"] == RECORD_PROOF_FORMAT:
        return f"OK: {_check_record(document, entry)}; its {located}"
    return f"OK: {located}"


@app.command("check-proof")
@_clean_errors
def check_proof(
    file: Annotated[
        Path,
        typer.Argument(
            help="A proof from `ftigate ledger prove`, a .tlog-proof bundle from "
            "`ftigate accounting --bundle`, or a folder of bundles."
        ),
    ],
    log_key: LogKeyOption = None,
    vkey: Annotated[
        str | None, typer.Option("--vkey", help="The log's verification key (as --log-key).")
    ] = None,
    witness_key: Annotated[
        list[str] | None,
        typer.Option("--witness-key", help="Require this witness's cosignature (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check an inclusion proof or proof bundle offline: needs only the file and the keys."""
    verifier = _log_key(vkey or log_key)
    witnesses = tuple(_witness_key(text) for text in witness_key or ())
    checked = []
    for path, result in _checked_proofs(file, verifier, witnesses):
        # Each proof as it is checked; the first that does not verify exits 1.
        checked.append({"file": path.name, "result": result})
        if not as_json:
            typer.echo(f"{path.name}: {result}" if file.is_dir() else result)
    if as_json:
        print_json({"verified": True, "checked": checked})


def _checked_proofs(
    file: Path, verifier: Verifier, witnesses: tuple[Verifier, ...]
) -> Iterator[tuple[Path, str]]:
    if file.is_dir():
        bundles = sorted(file.glob(f"*{BUNDLE_SUFFIX}"))
        if not bundles:
            raise ValueError(f"{file} holds no {BUNDLE_SUFFIX} files")
        for bundle in bundles:
            yield bundle, _check_bundle_file(bundle, verifier, witnesses)
        return
    if file.read_bytes().startswith(BUNDLE_HEADER.encode()):
        yield file, _check_bundle_file(file, verifier, witnesses)
        return
    if witnesses:
        raise ValueError("--witness-key applies to .tlog-proof bundles")
    try:
        document = json.loads(_read_text(file))
    except json.JSONDecodeError as error:
        raise ValueError(f"{file} is not JSON: {error.msg}") from None
    yield file, check_inclusion_document(document, verifier)


def _witness_key(text: str) -> Verifier:
    witness = parse_vkey(text)
    if witness.signature_type != COSIGNATURE_V1:
        raise ValueError("--witness-key must be a cosignature/v1 key (type 0x04)")
    return witness


def _check_bundle_file(path: Path, verifier: Verifier, witnesses: tuple[Verifier, ...]) -> str:
    try:
        return check_bundle(path.read_bytes(), verifier, witnesses).summary()
    except BundleFormatError as error:
        raise ValueError(f"{path}: {error}") from None
    except BundleMismatch as error:
        raise VerificationFailed(f"{path}: {error}") from None


# --- ftigate witness ------------------------------------------------------------------

StateOption = Annotated[Path, typer.Option("--state", help="The witness's own directory.")]


@witness_app.command("init")
@_clean_errors
def witness_init(
    state: StateOption,
    name: Annotated[str, typer.Option(help="Witness key name, e.g. oversight.example/w1.")],
    log_key: Annotated[str, typer.Option("--log-key", help="The log's verification key.")],
    as_json: JsonOption = False,
) -> None:
    """Create the witness key (cosignature/v1) and remember which log it watches."""
    parse_vkey(log_key)
    signer = Signer.generate(name, COSIGNATURE_V1)
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_secret_file(state / "witness.key", signer.skey() + "\n")
    # Created like the key beside it (0600, never replacing a file): the witness's trust root.
    write_secret_file(state / "log.vkey", log_key.strip() + "\n")
    if as_json:
        print_json({"state": str(state), "witness_key": signer.verifier.vkey()})
        return
    typer.echo(f"witness key (give it to verifiers): {signer.verifier.vkey()}")


@witness_app.command("cosign")
@_clean_errors
def witness_cosign(
    state: StateOption,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="Checkpoint to check (default: the store's latest)."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Cosigned checkpoint file.")] = None,
    db: DbOption = None,
    force: ForceOption = False,
) -> None:
    """Verify a new checkpoint extends the last accepted one, then cosign it."""
    if out:
        check_output_file(out, force=force)
    signer = parse_skey(read_secret_file(state / "witness.key"))
    log = parse_vkey(_read_text(state / "log.vkey"))
    store = _open_store(db)
    try:
        text = _read_text(checkpoint) if checkpoint else store.latest_checkpoint()
        if text is None:
            raise StoreError("the store has no signed checkpoint to witness")
        try:
            new = open_checkpoint(text, log)
        except CheckpointError as error:
            raise VerificationFailed(f"checkpoint refused: {error}") from None
        accepted_path = state / "accepted.checkpoint"
        if accepted_path.exists():
            old = open_checkpoint(_read_text(accepted_path), log)
            old_size, new_size = old.checkpoint.size, new.checkpoint.size
            problem = None
            if new_size < old_size:
                problem = f"rollback: new size {new_size} is below the accepted size {old_size}"
            elif old_size > 0:
                proof = (
                    store.hash_tree().consistency_proof(old_size, new_size)
                    if new_size <= store.latest_tree_head().size
                    else None
                )
                if proof is None:
                    problem = f"the log cannot prove size {new_size} (it holds fewer leaves)"
                else:
                    try:
                        verify_consistency(
                            old_size,
                            new_size,
                            proof,
                            old.checkpoint.root_hash,
                            new.checkpoint.root_hash,
                        )
                    except ProofError as error:
                        problem = f"fork: {error}"
            if problem:
                evidence = state / f"evidence-{time.time_ns()}.txt"
                write_output_text(evidence, "ACCEPTED\n" + old.serialize() + "\nOFFERED\n" + new.serialize())
                raise VerificationFailed(f"{problem}; both checkpoints saved in {evidence}")
    finally:
        store.close()
    cosigned = cosign(new, signer)
    # The witness's own state, replaced by each accepted checkpoint (staged and renamed:
    # a crash never leaves it half-written).
    write_output_text(accepted_path, new.serialize(), force=True)
    text_out = cosigned.serialize()
    if out:
        write_output_text(out, text_out, force=force)
        typer.echo(f"cosigned checkpoint at size {new.checkpoint.size} written to {out}")
    else:
        typer.echo(text_out, nl=False)


@witness_app.command("add-checkpoint")
@_clean_errors
def witness_add_checkpoint(
    state: StateOption,
    request: Annotated[
        Path,
        typer.Option(
            "--request",
            help="A tlog-witness add-checkpoint request body (from `ftigate ledger "
            "witness-request`): 'old N', proof lines, an empty line, the checkpoint.",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Also write the checkpoint with the cosignature appended."),
    ] = None,
    force: ForceOption = False,
) -> None:
    """Check a checkpoint and its consistency proof against the witness's own state, then
    print the cosignature (C2SP tlog-witness; needs nothing of the agency's). Exit 1 when
    the witness refuses (conflict 409, bad proof 422, not the log's signature 403/404)."""
    if out:
        check_output_file(out, force=force)
    witness = WitnessState.load(state)
    try:
        body = request.read_bytes()
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(request)) from None
    response = witness.add_checkpoint(body)
    if response.status == 400:
        raise ValueError(f"{request}: {response.body.strip()}")
    if response.status == 409:
        raise VerificationFailed(
            f"conflict (409): the witness last cosigned size {response.body.strip()}; "
            "ask for a request from that size"
        )
    if not response.ok:
        raise VerificationFailed(f"refused ({response.status}): {response.body.strip()}")
    if out:
        checkpoint_text = parse_request(body).checkpoint_text
        write_output_text(out, attach_cosignatures(checkpoint_text, response.body), force=force)
    typer.echo(response.body, nl=False)


@witness_app.command("serve")
@_clean_errors
def witness_serve(
    state: StateOption,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8080,
) -> None:
    """Serve POST /add-checkpoint (C2SP tlog-witness) from the witness's state folder."""
    from ftigate.ledger.witness_http import serve

    witness = WitnessState.load(state)
    serve(witness, host, port, announce=lambda url: typer.echo(f"witness listening on {url}"))


@app.command("witness-request")
@_clean_errors
def witness_request(
    old: Annotated[
        int,
        typer.Option("--old", help="The size the witness last cosigned (0 the first time)."),
    ] = 0,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="Checkpoint to submit (default: the latest signed)."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write here, not stdout.")] = None,
    db: DbOption = None,
    force: ForceOption = False,
) -> None:
    """Write a tlog-witness add-checkpoint request body: the consistency proof from size
    OLD to the checkpoint, then the checkpoint."""
    if out:
        check_output_file(out, force=force)
    if old < 0:
        raise ValueError("--old must be 0 or more")
    store = _open_store(db)
    try:
        text = _read_text(checkpoint) if checkpoint else store.latest_checkpoint()
        if text is None:
            raise StoreError("no signed checkpoint yet; run `ftigate ledger checkpoint`")
        size = parse_checkpoint_body(parse_note(text).text).size
        if old > size:
            raise ValueError(f"--old {old} is larger than the checkpoint's size {size}")
        if size > store.latest_tree_head().size:
            raise StoreError(f"the store holds fewer leaves than the checkpoint's size {size}")
        proof = store.hash_tree().consistency_proof(old, size) if 0 < old < size else []
    finally:
        store.close()
    body = add_checkpoint_body(old, proof, text)
    if out:
        write_output_text(out, body, force=force)
        typer.echo(f"add-checkpoint request from size {old} to {size} written to {out}")
    else:
        typer.echo(body, nl=False)


# --- ftigate accounting / ftigate report ------------------------------------------------

accounting_app = new_app(
    name="accounting",
    help="Every disclosure about one taxpayer, each with an inclusion proof (6103(p)(3)(A)).",
)
report_app = new_app(name="report", help="Reports built from the ledger.", no_args_is_help=True)


@accounting_app.callback(invoke_without_command=True)
@_clean_errors
def accounting(
    taxpayer: Annotated[
        str, typer.Option("--taxpayer", help="The taxpayer's TIN (never printed or stored).")
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Write here, not stdout.")] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(
            "--bundle",
            help="Also write one offline proof bundle (.tlog-proof) per disclosure into this "
            "folder (new or empty, or --force).",
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Prove against this checkpoint (e.g. one a witness cosigned) instead of the "
            "latest stored one.",
        ),
    ] = None,
    db: DbOption = None,
    force: ForceOption = False,
) -> None:
    """Accounting of disclosures for one taxpayer, provable against the latest checkpoint."""
    if out:
        check_output_file(out, force=force)
    if bundle:
        check_output_folder(bundle, force=force)
    pseudonyms = load_pseudonymizer()
    pseudonym = pseudonyms.taxpayer(taxpayer)
    store = _open_store(db)
    try:
        try:
            check_pseudonym_key(pseudonyms.fingerprint(), store.pins())
        except AccountingError as error:
            raise VerificationFailed(str(error)) from None
        latest = _read_text(checkpoint) if checkpoint else store.latest_checkpoint()
        if latest is None:
            raise StoreError("no signed checkpoint yet; run `ftigate ledger checkpoint`")
        try:
            ledger = disclosures_in_ledger(
                ((leaf.leaf_index, leaf.event_id, leaf.entry) for leaf in store.leaves("disclosure")),
                pseudonym,
            )
            cross_check(ledger, store.disclosures_for(pseudonym))
        except AccountingError as error:
            raise VerificationFailed(str(error)) from None
        tree = store.hash_tree()
        size = parse_checkpoint_body(parse_note(latest).text).size
        if size > tree.size:
            raise StoreError(f"the checkpoint's size {size} is beyond the stored log")
        result = account_for_taxpayer(
            pseudonym,
            ledger,
            tree,
            latest,
            lambda item, tree, _size: proof_document(
                item.leaf_index, item.event_id, item.entry, tree, latest
            ),
            batch_log(store.entries_of_kinds(LIFECYCLE_KINDS)),
        )
        bundles = {
            f"{item.event_id}{BUNDLE_SUFFIX}": make_bundle(
                item.entry, item.leaf_index, tree.inclusion_proof(item.leaf_index, size), latest
            )
            for item in ledger
        }
    finally:
        store.close()
    text = json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"
    if bundle:
        with OutputFolder(bundle, force=force, command="accounting --bundle") as folder:
            for name, body in bundles.items():
                folder.write_text(name, body)
            folder.prepare()
            folder.commit()
        typer.echo(f"{len(bundles)} proof bundle(s) written to {bundle}", err=out is None)
    if out:
        write_output_text(out, text, force=force)
        typer.echo(f"{len(result.disclosures)} disclosure(s) written to {out}")
    else:
        typer.echo(text, nl=False)


def _require_verified(store: Store, verifier: Verifier, what: str) -> None:
    """Refuse to report from a log that does not verify (leaves appended since the last
    signed head are accepted when sealed: they came through the authenticated path)."""
    report = store.verify(verifier, pending=True)
    if not report.ok:
        raise VerificationFailed(
            f"the ledger does not verify, so {what} is not produced: {report.first} "
            "(run `ftigate ledger verify`)"
        )


def require_verified_store(db: str | None, log_key: str | None, what: str) -> None:
    """`_require_verified` for a report that reads the store by URL itself."""
    store = _open_store(db)
    try:
        _require_verified(store, _log_key(log_key), what)
    finally:
        store.close()


@report_app.callback()
def report_group() -> None:
    """Reports built from the ledger (a group even while it has one command)."""


@report_app.command("jct")
@_clean_errors
def report_jct(
    year: Annotated[int, typer.Option("--year", help="Calendar year to report.")],
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for jct-YEAR.csv, .html and .json (default: jct-YEAR); new or empty, "
            "or --force to replace ftigate's own earlier report.",
        ),
    ] = None,
    old_out_dir: Annotated[Path | None, deprecated_spelling("--out-dir", "--out")] = None,
    log_key: LogKeyOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    force: ForceOption = False,
) -> None:
    """Counts per recipient agency for the Joint Committee on Taxation (6103(p)(3)(B)).

    The log is verified first (seals, pins, signed heads, tables); a log that does not
    verify gives no report (exit 1), so unsealed leaves never reach the Committee."""
    # `--out-dir`, its first spelling, still works (every other command writes to --out).
    folder_path = renamed_option("--out", out_dir, "--out-dir", old_out_dir, default=Path(f"jct-{year}"))
    check_output_folder(folder_path, force=force)
    store = _open_store(db)
    try:
        _require_verified(store, _log_key(log_key), "the JCT report")
        rows = jct_counts(
            (leaf.entry for leaf in store.leaves()),
            year,
            lambda batch, event: [
                item.request_id for item in store.committed_items("screening_results", batch, event)
            ],
        )
        states = batch_states(batch_log(store.entries_of_kinds(LIFECYCLE_KINDS)))
        head = store.latest_tree_head()
    finally:
        store.close()
    root = base64.b64encode(head.root_hash).decode()
    as_of = f"ledger size {head.size}, root {root}; produced by ftigate {__version__}"
    summary = {
        "year": year,
        "provenance": {
            "ftigate_version": __version__,
            "inputs": {"store": {"database": check_database_url(db).split("://", 1)[0],
                                 "ledger_size": head.size, "ledger_root": root}},
            "policy": None,
        },
        "agencies": len(rows),
        "batches_by_state": states,
    }  # fmt: skip
    with OutputFolder(folder_path, force=force, command="report jct") as folder:
        folder.write_text(f"jct-{year}.csv", jct_csv(rows))
        folder.write_text(f"jct-{year}.html", jct_html(rows, year, as_of, states))
        folder.write_json(f"jct-{year}.json", summary)
        folder.prepare()
        written = folder.commit()
    if as_json:
        print_json({**summary, "wrote": [str(p) for p in written]})
        return
    typer.echo(f"wrote {', '.join(str(p) for p in written)} ({len(rows)} agencies)")
