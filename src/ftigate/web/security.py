"""Secrets of the service: passwords, sessions, agency tokens and CSRF tokens.

Passwords are hashed with Argon2id (pwdlib's recommended parameters). Session and token
secrets are 256 random bits, so the store keeps only their SHA-256: a copy of the
database opens no session. A form's CSRF token is an HMAC of the session secret, so it
is bound to the session and needs no storage.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_PASSWORDS = PasswordHash((Argon2Hasher(),))
# Verifying against this when the user is unknown costs what a real check costs, so the
# time of an answer does not tell which user ids exist.
_DUMMY_HASH = _PASSWORDS.hash("not a password of anyone")
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "ftg_"


class PasswordTooWeak(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _PASSWORDS.hash(password)


def password_matches(password: str, stored: str | None) -> bool:
    if stored is None:
        _PASSWORDS.verify(password, _DUMMY_HASH)
        return False
    try:
        return bool(_PASSWORDS.verify(password, stored))
    except Exception:  # a hash pwdlib cannot read matches no password
        return False


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def csrf_token(session_secret: str) -> str:
    return hmac.new(session_secret.encode("utf-8"), b"ftigate csrf v1", hashlib.sha256).hexdigest()


def csrf_matches(session_secret: str, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(csrf_token(session_secret), token)
