"""Sign-in, sessions, CSRF and uploads: the service's edges refuse clearly and write
nothing they do not keep."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_helpers import AGENCY, PASSWORD, Service

from ftigate.web.app import create_app

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_the_session_cookie_is_httponly_strict_and_secure_when_configured(service: Service) -> None:
    client = service.client()
    answer = client.post(
        "/login", data={"user_id": "officer-a", "password": PASSWORD}, follow_redirects=False
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie.replace("samesite", ""), "tests run over http://127.0.0.1 with it off"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in answer.headers["content-security-policy"]


def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(service: Service) -> None:
    client = service.sign_in("officer-a")
    token = service.csrf(client)
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.post("/logout", data={"csrf_token": "0" * 64}, follow_redirects=False).status_code == 403
    cross = client.post("/logout", data={"csrf_token": token}, headers={"Origin": "https://evil.example"},
                        follow_redirects=False)  # fmt: skip
    assert cross.status_code == 403
    site = client.post("/logout", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"},
                       follow_redirects=False)  # fmt: skip
    assert site.status_code == 403
    done = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    # The session is revoked on the server: the old cookie opens nothing.
    assert client.get("/api/ledger").status_code == 401


def test_repeated_failures_lock_the_account(service: Service) -> None:
    client = service.client()
    for _ in range(service.settings.lockout_after):
        page = client.post("/login", data={"user_id": "officer-a", "password": "wrong password!"})
        assert page.status_code == 200 and "officer-a" not in page.text
    locked = client.post(
        "/login", data={"user_id": "officer-a", "password": PASSWORD}, follow_redirects=False
    )
    assert locked.status_code == 200 and "locked" in locked.text
    assert "ftigate_session" not in locked.headers.get("set-cookie", "")


def test_revoking_a_users_sessions_signs_them_out(service: Service) -> None:
    client = service.sign_in("auditor-1")
    assert client.get("/api/ledger").status_code == 200
    assert service.runner.service.revoke_sessions_of("auditor-1") == 1
    assert client.get("/api/ledger").status_code == 401


def _post(service: Service, files: dict[str, tuple[str, bytes]]) -> tuple[int, str]:
    with service.client() as client:
        answer = client.post("/api/batches", headers={"Authorization": f"Bearer {service.tokens[AGENCY]}"},
                             files=files)  # fmt: skip
    return answer.status_code, answer.text


def _jobs_on_disk(service: Service) -> list[Path]:
    folder = service.settings.data_dir / "jobs"
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize(
    ("letter", "requests", "status", "message"),
    [
        (("letter.txt", b"x"), ("r.csv", b"request_id\n"), 422, "letter: the file must end in"),
        (("letter.yaml", b"x"), ("r.xlsx", b"PK"), 422, "requests: the file must end in"),
        (("letter.yaml", b""), ("r.csv", b"a\n"), 422, "the file is empty"),
        (("letter.yaml", b"requesting_agency: [unclosed"), ("r.csv", b"request_id\n"), 422, "letter"),
        ("good", ("r.csv", b"name,tin\nx,y\n"), 422, "missing required column"),
        ("good", ("r.parquet", b"not parquet"), 422, "Parquet"),
        ("tin", ("r.csv", b"request_id\n"), 422, "shaped like a TIN"),
    ],
    ids=[
        "letter suffix",
        "requests suffix",
        "empty",
        "letter yaml",
        "csv header",
        "parquet magic",
        "tin in letter",
    ],
)
def test_bad_uploads_get_a_clear_4xx_and_leave_nothing(
    service: Service, letter: object, requests: tuple[str, bytes], status: int, message: str
) -> None:
    good = ("letter.yaml", (service.synthetic / "batch" / "letter.yaml").read_bytes())
    tin = ("letter.yaml", good[1].replace(b"purpose: ", b"purpose: about 123-45-6789, "))
    chosen = {"good": good, "tin": tin}.get(letter, letter)  # type: ignore[call-overload]
    code, text = _post(service, {"letter": chosen, "requests": requests})
    assert code == status and message in text, text
    assert _jobs_on_disk(service) == [] and service.runner.service.jobs() == []


def test_an_upload_over_the_limit_is_413(service: Service) -> None:
    small = replace(service.settings, max_requests_bytes=1000)
    root = service.synthetic / "batch"
    big = (root / "requests.csv").read_bytes()
    assert len(big) > 1000
    with TestClient(create_app(small, service.runner), base_url="http://127.0.0.1") as client:
        answer = client.post(
            "/api/batches", headers={"Authorization": f"Bearer {service.tokens[AGENCY]}"},
            files={"letter": ("letter.yaml", (root / "letter.yaml").read_bytes()), "requests": ("r.csv", big)},
        )  # fmt: skip
    assert answer.status_code == 413 and "larger than the limit" in answer.text
    assert _jobs_on_disk(service) == []
