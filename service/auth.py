"""Bearer tokens with scopes, stored hashed and compared in constant time.

A token reads ``emw_<id>_<secret>``. The id finds the row; only the SHA-256 of the secret is
stored (secrets are 256 random bits, so a plain hash is as strong as a slow one), and the
comparison uses ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from enum import StrEnum

from service.store import Store
from service.store.records import TokenRecord


class Scope(StrEnum):
    INGEST = "ingest"  # register packs, create runs; send checks to, finish, resume its own runs
    READ = "read"  # every GET, /metrics when protected
    ADMIN = "admin"  # tokens, deleting runs and packs; implies the others


PREFIX = "emw"


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(token: str) -> tuple[str, str]:
    parts = token.split("_")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        raise AuthError(401, "malformed token: emwatch tokens look like emw_<id>_<secret>")
    return parts[1], parts[2]


def create_token(store: Store, name: str, scopes: set[Scope]) -> tuple[str, TokenRecord]:
    """Create and store a token; the plain text is returned once and never stored."""
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32).replace("_", "-")
    return _store(store, token_id, secret, name, scopes)


def ensure_token(store: Store, token: str, name: str, scopes: set[Scope]) -> TokenRecord:
    """Accept a token chosen outside (e.g. EMWATCH_BOOTSTRAP_TOKEN); idempotent."""
    token_id, secret = parse_token(token)
    existing = store.get_token(token_id)
    if existing is not None:
        if not hmac.compare_digest(existing.secret_sha256, _digest(secret)):
            raise AuthError(409, f"token id {token_id} exists with another secret")
        return existing
    return _store(store, token_id, secret, name, scopes)[1]


def _store(
    store: Store, token_id: str, secret: str, name: str, scopes: set[Scope]
) -> tuple[str, TokenRecord]:
    record = TokenRecord(token_id, name, _digest(secret), frozenset(scopes), time.time(), None)
    store.insert_token(record)
    return f"{PREFIX}_{token_id}_{secret}", record


def bearer_token(authorization: str | None) -> tuple[str, str]:
    """The (id, secret) of the token in an ``Authorization`` header; 401 if there is none."""
    if not authorization:
        raise AuthError(
            401,
            "missing bearer token: send 'Authorization: Bearer <token>' "
            "(`emwatch serve` prints an admin token on first start)",
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "the Authorization header must be 'Bearer <token>'")
    return parse_token(token.strip())


def verify(record: TokenRecord | None, token_id: str, secret: str, *needed: Scope) -> TokenRecord:
    """Check a secret against the stored token, which must be live and hold one of
    ``needed`` (or admin)."""
    # Compare against a dummy digest when the id is unknown, so timing does not tell ids apart.
    expected = record.secret_sha256 if record else _digest("unknown-" + token_id)
    if not hmac.compare_digest(expected, _digest(secret)) or record is None:
        raise AuthError(401, "invalid token")
    if record.revoked_at is not None:
        raise AuthError(401, f"token {record.name!r} was revoked")
    if not record.scopes & {*needed, Scope.ADMIN}:
        held = ", ".join(sorted(record.scopes)) or "none"
        wanted = " or ".join(f"'{scope}'" for scope in needed)
        raise AuthError(
            403, f"token {record.name!r} has scopes [{held}]; this endpoint needs {wanted}"
        )
    return record


def authenticate(store: Store, authorization: str | None, *needed: Scope) -> TokenRecord:
    """Check an ``Authorization`` header for a live token holding one of ``needed`` (or admin)."""
    token_id, secret = bearer_token(authorization)
    return verify(store.get_token(token_id), token_id, secret, *needed)
