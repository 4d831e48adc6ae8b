"""The pages in a real browser (Debian's /usr/bin/chromium through Playwright; never a
downloaded one): two officers in two browser contexts approve one item and the response is
released; one officer alone cannot; a requester cannot open another agency's batch.
Screenshots of the review page and the dashboard go to $FTIGATE_TEST_ARTEFACTS (default: the
test's tmp folder)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from web_helpers import AGENCY, PASSWORD, Service

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (.ci/run installs it)"
    ),
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def live(service: Service) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(service.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ready = threading.Event()
    while not server.started and thread.is_alive():
        ready.wait(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def artefacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("FTIGATE_TEST_ARTEFACTS", tmp_path / "artefacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(browser: object, url: str, user_id: str) -> object:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{url}/login")
    page.get_by_label("User id").fill(user_id)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/**")
    return page


def _decide(page: object, url: str, job_id: str, request_id: str, action: str) -> str:
    page.goto(f"{url}/review/{job_id}/{request_id}")  # type: ignore[attr-defined]
    page.get_by_label("approve the disclosure" if action == "approve" else "refuse").check()  # type: ignore[attr-defined]
    page.get_by_label("Reason").fill("checked the address history on file")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Record my decision").click()  # type: ignore[attr-defined]
    return str(page.locator("#outcome").inner_text())  # type: ignore[attr-defined]


def test_two_officers_release_one_alone_cannot_and_agencies_stay_apart(
    service: Service, live: str, artefacts: Path
) -> None:
    from playwright.sync_api import sync_playwright

    job_id = str(service.submit(service.tokens[AGENCY])["job_id"])
    service.runner.run_until_idle()
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM))
        try:
            a, b = _sign_in(browser, live, "officer-a"), _sign_in(browser, live, "officer-b")
            a.goto(f"{live}/review")  # type: ignore[attr-defined]
            links = a.locator("tbody tr td:nth-child(2) a")  # type: ignore[attr-defined]
            items = [links.nth(i).inner_text() for i in range(links.count())]
            assert len(items) == 7
            first, *others = items
            a.goto(f"{live}/review/{job_id}/{first}")  # type: ignore[attr-defined]
            assert "TIN ending" in a.content() and "recorded in the ledger" in a.content()  # type: ignore[attr-defined]
            a.screenshot(path=str(artefacts / "review.png"), full_page=True)  # type: ignore[attr-defined]
            # One officer alone: the request stays in review, the batch is not released.
            assert "now: review" in _decide(a, live, job_id, first, "approve")
            a.goto(f"{live}/review/{job_id}/{first}")  # type: ignore[attr-defined]
            assert "You voted" in a.content()  # type: ignore[attr-defined]
            for request_id in others:
                _decide(a, live, job_id, request_id, "refuse")
            assert service.runner.run_until_idle() == 0, "nothing to release on one approval"
            # Blind: the second officer's page shows no vote of the first.
            b.goto(f"{live}/review/{job_id}/{first}")  # type: ignore[attr-defined]
            assert "You voted" not in b.content()  # type: ignore[attr-defined]
            outcome = _decide(b, live, job_id, first, "approve")
            assert "now: disclose" in outcome and "being released" in b.content()  # type: ignore[attr-defined]
            assert service.runner.run_until_idle() == 1
            a.goto(f"{live}/")  # type: ignore[attr-defined]
            a.screenshot(path=str(artefacts / "dashboard.png"), full_page=True)  # type: ignore[attr-defined]
            ice = _sign_in(browser, live, "ice-user")
            ice.goto(f"{live}/batches/{job_id}")  # type: ignore[attr-defined]
            assert ice.locator("#state").inner_text() == "released"  # type: ignore[attr-defined]
            assert ice.get_by_role("link", name="Download the response").count() == 1  # type: ignore[attr-defined]
            fbi = _sign_in(browser, live, "fbi-user")
            answer = fbi.goto(f"{live}/batches/{job_id}")  # type: ignore[attr-defined]
            assert answer.status == 404
        finally:
            browser.close()
    assert (artefacts / "review.png").stat().st_size > 0 and (artefacts / "dashboard.png").stat().st_size > 0
