"""Who is asking, and whether they may: the one role dependency every route declares.

An agency authenticates with `Authorization: Bearer <token>`; staff with the session
cookie set at sign-in. A request that changes anything under a session cookie must
carry the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`) and
must not come from another site (`Origin`, `Sec-Fetch-Site`). A route admits only the
roles it names (`allow(...)`); `public()` marks the sign-in page, on purpose.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from ftigate.store.service import ServiceStore
from ftigate.web.roles import REQUESTER
from ftigate.web.security import csrf_matches, csrf_token, secret_hash

SESSION_COOKIE = "ftigate_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLES_ATTRIBUTE = "ftigate_roles"


@dataclass(frozen=True)
class Principal:
    id: str
    display_name: str
    roles: frozenset[str]
    agency: str | None
    session_secret: str | None = None  # set when signed in with the cookie

    @property
    def csrf(self) -> str:
        return csrf_token(self.session_secret) if self.session_secret else ""

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class SignInRequired(Exception):
    """No valid credentials: the API answers 401, a page redirects to /login."""


def _service(request: Request) -> ServiceStore:
    service: ServiceStore = request.app.state.service
    return service


def identify(request: Request) -> Principal | None:
    service = _service(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = service.token(secret_hash(header[7:].strip()))
        if token is None:
            return None
        token_id, agency = token
        return Principal(f"token:{token_id}", agency, frozenset({REQUESTER}), agency)
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    user_id = service.session_user(secret_hash(secret))
    account = service.account(user_id) if user_id else None
    if account is None or not account.active:
        return None
    return Principal(account.id, account.display_name, account.roles, account.agency, secret)


async def check_csrf(request: Request, principal: Principal) -> None:
    if request.method in SAFE_METHODS or principal.session_secret is None:
        return  # a bearer token is not sent by a browser on its own: no cross-site forgery
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise HTTPException(403, "refused: a request from another site")
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise HTTPException(403, "refused: a request from another origin")
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        token = value if isinstance(value, str) else None
    if not csrf_matches(principal.session_secret, token):
        raise HTTPException(403, "refused: the form's CSRF token is missing or wrong; reload the page")


def allow(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """The dependency of a route that admits `roles` (403 for anyone else)."""

    async def require(request: Request) -> Principal:
        principal = identify(request)
        if principal is None:
            raise SignInRequired()
        if not principal.has(*roles):
            raise HTTPException(403, "your role does not allow this")
        await check_csrf(request, principal)
        return principal

    setattr(require, ROLES_ATTRIBUTE, frozenset(roles))
    return require


def public() -> Callable[[Request], Awaitable[Principal | None]]:
    """The dependency of a route anyone may open (sign-in): declared, not forgotten."""

    async def anyone(request: Request) -> Principal | None:
        return identify(request)

    setattr(anyone, ROLES_ATTRIBUTE, frozenset({"public"}))
    return anyone


def route_roles(dependencies: list[Any]) -> frozenset[str] | None:
    """The roles a route's dependencies admit (None: no role dependency at all)."""
    for dependant in dependencies:
        roles = getattr(dependant.call, ROLES_ATTRIBUTE, None)
        if roles is not None:
            return frozenset(roles)
    return None
