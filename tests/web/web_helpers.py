"""What the service tests share: the users of each role, the agencies, and a handle on a
running service (its app, worker, settings and tokens) with sign-in and submit helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ftigate.web.jobs import JobRunner
from ftigate.web.settings import ServiceSettings

AGENCY = "U.S. Immigration and Customs Enforcement"
OTHER_AGENCY = "Federal Bureau of Investigation"
PASSWORD = "correct horse battery staple"
USERS = {
    "officer-a": ("Officer A", ["disclosure_officer"], None),
    "officer-b": ("Officer B", ["disclosure_officer"], None),
    "privacy-1": ("Privacy Officer", ["privacy_officer"], None),
    "auditor-1": ("Auditor", ["auditor"], None),
    "ice-user": ("ICE requester", ["requester"], AGENCY),
    "fbi-user": ("FBI requester", ["requester"], OTHER_AGENCY),
}


@dataclass
class Service:
    app: FastAPI
    runner: JobRunner
    settings: ServiceSettings
    tokens: dict[str, str]
    synthetic: Path

    def client(self) -> TestClient:
        return TestClient(self.app, base_url="http://127.0.0.1")

    def sign_in(self, user_id: str) -> TestClient:
        client = self.client()
        answer = client.post(
            "/login", data={"user_id": user_id, "password": PASSWORD}, follow_redirects=False
        )
        assert answer.status_code == 303, answer.text
        return client

    def csrf(self, client: TestClient, path: str = "/batches") -> str:
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get(path).text)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def submit(
        self, token: str, letter: Path | None = None, requests: Path | None = None
    ) -> dict[str, object]:
        letter = letter or self.synthetic / "batch" / "letter.yaml"
        requests = requests or self.synthetic / "batch" / "requests.csv"
        with self.client() as client:
            answer = client.post(
                "/api/batches",
                headers={"Authorization": f"Bearer {token}"},
                files={
                    "letter": (letter.name, letter.read_bytes()),
                    "requests": (requests.name, requests.read_bytes()),
                },
            )
        assert answer.status_code in (200, 202), answer.text
        body: dict[str, object] = answer.json()
        return body
