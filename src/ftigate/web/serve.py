"""Building the service from its settings: the store with the ledger keys, the law, the
model and the worker (`ftigate serve`, `ftigate demo --serve`, the tests)."""

from __future__ import annotations

from fastapi import FastAPI

from ftigate.intake.errors import IntakeError
from ftigate.law.loader import load_law
from ftigate.ledger.keys import KeyFileError, load_pseudonymizer, load_signer
from ftigate.resolve.model import default_model_path, load_model
from ftigate.resolve.reference import check_reference_folder
from ftigate.store.api import Store
from ftigate.store.service import ServiceStore
from ftigate.web.app import create_app
from ftigate.web.jobs import JobRunner
from ftigate.web.settings import ServiceSettings


def build_runner(settings: ServiceSettings) -> JobRunner:
    """Everything a worker needs; refuses (IntakeError) before the server starts."""
    check_reference_folder(settings.reference)
    try:
        pseudonyms, signer = load_pseudonymizer(), load_signer()
    except KeyFileError as exc:
        raise IntakeError("ledger keys", f"{exc}; run `ftigate ledger keygen` first") from None
    law = load_law(settings.policy)
    source = settings.model or default_model_path()
    try:
        artefact = load_model(source)
    except (OSError, ValueError, KeyError):
        raise IntakeError(source, "not a readable ftigate model artefact") from None
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    store = Store.open(settings.db_url, signer=signer, pseudonyms=pseudonyms)
    return JobRunner(settings, ServiceStore(store), law, artefact, signer, pseudonyms)


def build_app(settings: ServiceSettings) -> FastAPI:
    return create_app(settings, build_runner(settings))
