"""Authentication: which key a request presents, and whether it is good."""

from __future__ import annotations

import hmac
from datetime import datetime

from starlette.datastructures import Headers

from nanogate.core import hash_api_key, looks_like_api_key
from nanogate.errors import ConflictingCredentials, InvalidAPIKey, MissingAPIKey
from nanogate.server._keycache import KeyCache
from nanogate.storage import APIKey


def presented_key(headers: Headers) -> str | None:
    """The key from ``Authorization: Bearer`` or ``x-api-key``; both must agree."""
    bearer: str | None = None
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise InvalidAPIKey("The Authorization header must use the Bearer scheme.")
        bearer = token.strip() or None
    api_key = (headers.get("x-api-key") or "").strip() or None
    if bearer and api_key and bearer != api_key:
        raise ConflictingCredentials()
    return bearer or api_key


def is_admin_token(presented: str, admin_token: str) -> bool:
    """Whether ``presented`` (surrounding spaces aside) is the admin token, compared in
    constant time."""
    return hmac.compare_digest(presented.strip().encode(), admin_token.encode())


def authenticate(token: str | None, keys: KeyCache, now: datetime) -> APIKey:
    """The stored key for ``token``; raises the 401 that says why not."""
    if token is None:
        raise MissingAPIKey()
    key = keys.get(hash_api_key(token)) if looks_like_api_key(token) else None
    if key is None:
        raise InvalidAPIKey()
    if key.revoked_at is not None:
        raise InvalidAPIKey("This API key has been revoked.")
    if key.expires_at is not None and key.expires_at <= now:
        raise InvalidAPIKey("This API key has expired.")
    return key
