"""Every route declares its roles, and each role is refused what it must not see or do.

The table below is written from the issue, not from the code: a route added without a
role dependency, or with other roles than the table's, fails here."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from web_helpers import AGENCY, OTHER_AGENCY, USERS, Service

from ftigate.web.auth import route_roles

R, D, P, A = "requester", "disclosure_officer", "privacy_officer", "auditor"
EVERYONE = frozenset({R, D, P, A})
STAFF = frozenset({D, P, A})
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/api/batches"): frozenset({R}),
    ("GET", "/api/batches"): EVERYONE,
    ("GET", "/api/batches/{job_id}"): EVERYONE,
    ("GET", "/api/batches/{job_id}/response"): frozenset({R}),
    ("GET", "/api/batches/{job_id}/counts"): STAFF,
    ("GET", "/api/review"): frozenset({D}),
    ("GET", "/api/review/{job_id}/{request_id}"): frozenset({D}),
    ("POST", "/api/review/{job_id}/{request_id}"): frozenset({D}),
    ("POST", "/api/batches/{job_id}/letter-review"): frozenset({P}),
    ("POST", "/api/batches/{job_id}/retry-release"): frozenset({P}),
    ("GET", "/api/ledger"): STAFF,
    ("GET", "/login"): frozenset({"public"}),
    ("POST", "/login"): frozenset({"public"}),
    ("POST", "/logout"): EVERYONE,
    ("GET", "/"): EVERYONE,
    ("GET", "/batches"): EVERYONE,
    ("GET", "/batches/{job_id}"): EVERYONE,
    ("POST", "/batches/{job_id}/letter-review"): frozenset({P}),
    ("POST", "/batches/{job_id}/retry-release"): frozenset({P}),
    ("GET", "/review"): frozenset({D}),
    ("GET", "/review/{job_id}/{request_id}"): frozenset({D}),
    ("POST", "/review/{job_id}/{request_id}"): frozenset({D}),
    ("GET", "/ledger"): STAFF,
    ("POST", "/ledger/verify"): STAFF,
}
# FastAPI's own documentation routes: public on purpose (the schema holds no data).
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _routes(service: Service) -> dict[tuple[str, str], APIRoute]:
    found = {}
    for route in service.app.routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                found[(method, route.path)] = route
    return found


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_route_declares_the_roles_the_issue_gives_it(service: Service) -> None:
    routes = _routes(service)
    undeclared = [key for key, route in routes.items() if route_roles(route.dependant.dependencies) is None]
    assert undeclared == [], f"routes without a role dependency: {undeclared}"
    assert set(routes) == set(EXPECTED), "a route was added or removed: give it its roles in EXPECTED"
    for key, route in routes.items():
        assert route_roles(route.dependant.dependencies) == EXPECTED[key], key
    others = {getattr(r, "path", "") for r in service.app.routes if not isinstance(r, APIRoute)}
    assert others <= DOCS | {"/static"}, others


def _principals(service: Service) -> dict[str, tuple[object, dict[str, str], frozenset[str]]]:
    """name -> (client, headers, roles); the requester token and a signed-in requester too."""
    made: dict[str, tuple[object, dict[str, str], frozenset[str]]] = {
        "anonymous": (service.client(), {}, frozenset()),
        "token": (service.client(), {"Authorization": f"Bearer {service.tokens[AGENCY]}"}, frozenset({R})),
    }
    for user_id in ("officer-a", "privacy-1", "auditor-1", "ice-user"):
        client = service.sign_in(user_id)
        made[user_id] = (client, {"X-CSRF-Token": service.csrf(client)}, frozenset(USERS[user_id][1]))
    return made


def test_each_role_is_refused_what_it_may_not_do(service: Service) -> None:
    job = service.submit(service.tokens[AGENCY])
    service.runner.run_until_idle()
    job_id = str(job["job_id"])
    officer = service.sign_in("officer-b")
    request_id = officer.get("/api/review").json()[0]["request_id"]
    values = {"job_id": job_id, "request_id": request_id}
    bodies = {"json": {"action": "refuse", "reason": "matrix"}}
    for name, (client, headers, roles) in _principals(service).items():
        for (method, path), allowed in EXPECTED.items():
            if "public" in allowed or path == "/logout":
                continue
            url = path.format(**values)
            kwargs = bodies if method == "POST" and "review" in path else {}
            answer = client.request(method, url, headers=headers, follow_redirects=False, **kwargs)  # type: ignore[attr-defined]
            if roles & allowed:
                assert answer.status_code not in (401, 403), (name, method, path, answer.text)
            elif not roles:
                assert answer.status_code in (401, 303), (name, method, path, answer.status_code)
            else:
                assert answer.status_code == 403, (name, method, path, answer.status_code)


def test_a_requester_never_sees_another_agencys_batch(service: Service) -> None:
    job = service.submit(service.tokens[AGENCY])
    job_id = str(job["job_id"])
    other = {"Authorization": f"Bearer {service.tokens[OTHER_AGENCY]}"}
    with service.client() as client:
        for path in (f"/api/batches/{job_id}", f"/api/batches/{job_id}/response"):
            assert client.get(path, headers=other).status_code == 404
        assert client.get("/api/batches", headers=other).json() == []
    fbi = service.sign_in("fbi-user")
    assert fbi.get(f"/batches/{job_id}").status_code == 404
    # Nor may an agency submit a letter in another agency's name.
    root = service.synthetic / "batch"
    with service.client() as client:
        answer = client.post(
            "/api/batches", headers=other,
            files={"letter": ("l.yaml", (root / "letter.yaml").read_bytes()),
                   "requests": ("r.csv", (root / "requests.csv").read_bytes())},
        )  # fmt: skip
    assert answer.status_code == 403
