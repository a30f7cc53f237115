"""Authentication: which key a request presents, and whether the key is good now."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import Headers

from nanogate.core._ids import hash_api_key, key_prefix, new_api_key
from nanogate.errors import ConflictingCredentials, InvalidAPIKey, MissingAPIKey
from nanogate.server._auth import authenticate, presented_key
from nanogate.server._keycache import KeyCache
from nanogate.storage import APIKey, Changes

NOW = datetime(2026, 6, 9, 12, 0, tzinfo=UTC)
KEY = "sk-nano-123e4567-e89b-42d3-a456-426614174000"
OTHER = "sk-nano-00000000-0000-4000-8000-000000000000"


def record(key: str = KEY, **changes: object) -> APIKey:
    stored = APIKey(
        id="key_1",
        account_id="acct_1",
        name="test",
        key_hash=hash_api_key(key),
        key_prefix=key_prefix(key),
        models=None,
        daily_requests=None,
        daily_usd_nusd=None,
        rps=None,
        expires_at=None,
        revoked_at=None,
        created_at=NOW - timedelta(days=1),
    )
    return replace(stored, **changes)  # type: ignore[arg-type]


class FakeStore:
    """The one Store method KeyCache uses: keys changed since a sequence number."""

    def __init__(self, *keys: APIKey) -> None:
        self.keys = keys

    async def changes_since(self, seq: int) -> Changes:
        return Changes(seq=seq + 1, keys=self.keys)


async def cache_of(*keys: APIKey) -> KeyCache:
    cache = KeyCache(FakeStore(*keys), interval=0.25)  # type: ignore[arg-type]
    await cache.refresh()
    return cache


def headers(**values: str) -> Headers:
    return Headers(headers={k.replace("_", "-"): v for k, v in values.items()})


# presented_key -----------------------------------------------------------------------


def test_bearer_token() -> None:
    """Authorization: Bearer <key> presents the key."""
    assert presented_key(headers(authorization=f"Bearer {KEY}")) == KEY


def test_bearer_scheme_is_case_insensitive() -> None:
    """The scheme may be written in any case, with extra spaces around the token."""
    assert presented_key(headers(authorization=f"bearer   {KEY} ")) == KEY
    assert presented_key(headers(authorization=f"BEARER {KEY}")) == KEY


def test_x_api_key() -> None:
    """x-api-key presents the key, as the Anthropic SDK sends it."""
    assert presented_key(headers(x_api_key=KEY)) == KEY


def test_both_headers_agreeing() -> None:
    """Both headers naming the same key is fine."""
    assert presented_key(headers(authorization=f"Bearer {KEY}", x_api_key=KEY)) == KEY


def test_both_headers_disagreeing() -> None:
    """Bearer and x-api-key naming different keys is conflicting_credentials."""
    with pytest.raises(ConflictingCredentials) as info:
        presented_key(headers(authorization=f"Bearer {KEY}", x_api_key=OTHER))
    assert info.value.status == 400


@pytest.mark.parametrize("authorization", [f"Basic {KEY}", KEY, "Token abc"])
def test_non_bearer_scheme(authorization: str) -> None:
    """An Authorization header with another scheme is invalid_api_key."""
    with pytest.raises(InvalidAPIKey) as info:
        presented_key(headers(authorization=authorization))
    assert "Bearer" in info.value.message


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "Bearer    "])
def test_empty_bearer(authorization: str) -> None:
    """An empty Bearer token presents no key."""
    assert presented_key(headers(authorization=authorization)) is None


def test_empty_bearer_falls_back_to_x_api_key() -> None:
    """An empty Bearer beside an x-api-key presents the x-api-key."""
    assert presented_key(headers(authorization="Bearer ", x_api_key=KEY)) == KEY


def test_no_credentials() -> None:
    """No Authorization and no (or a blank) x-api-key presents nothing."""
    assert presented_key(headers()) is None
    assert presented_key(headers(x_api_key="  ")) is None


# authenticate ------------------------------------------------------------------------


async def test_no_key_is_missing_api_key() -> None:
    """No key at all is missing_api_key."""
    with pytest.raises(MissingAPIKey) as info:
        authenticate(None, await cache_of(record()), NOW)
    assert info.value.status == 401


@pytest.mark.parametrize("token", ["sk-123", "hello", KEY.upper(), KEY + "x", ""])
async def test_malformed_key(token: str) -> None:
    """A token that is not shaped like a key is invalid_api_key."""
    with pytest.raises(InvalidAPIKey):
        authenticate(token, await cache_of(record()), NOW)


async def test_unknown_key() -> None:
    """A well-formed key that is not stored is invalid_api_key."""
    with pytest.raises(InvalidAPIKey) as info:
        authenticate(new_api_key(), await cache_of(record()), NOW)
    assert info.value.message == InvalidAPIKey.default_message


async def test_revoked_key() -> None:
    """A revoked key is invalid_api_key saying it was revoked."""
    cache = await cache_of(record(revoked_at=NOW - timedelta(minutes=1)))
    with pytest.raises(InvalidAPIKey) as info:
        authenticate(KEY, cache, NOW)
    assert "revoked" in info.value.message


async def test_expired_key() -> None:
    """A key whose expiry is now or past is invalid_api_key saying it expired."""
    cache = await cache_of(record(expires_at=NOW))
    with pytest.raises(InvalidAPIKey) as info:
        authenticate(KEY, cache, NOW)
    assert "expired" in info.value.message


async def test_key_before_expiry() -> None:
    """A key is good until its expiry."""
    stored = record(expires_at=NOW + timedelta(seconds=1))
    assert authenticate(KEY, await cache_of(stored), NOW) == stored


async def test_good_key_returns_its_record() -> None:
    """A stored, live key returns its record."""
    stored = record()
    other = record(OTHER, id="key_2")
    assert authenticate(KEY, await cache_of(stored, other), NOW) is stored
    assert authenticate(OTHER, await cache_of(stored, other), NOW) is other


async def test_key_cache_picks_up_changes() -> None:
    """A refresh replaces a key's record, so a revocation takes effect."""
    store = FakeStore(record())
    cache = KeyCache(store, interval=0.25)  # type: ignore[arg-type]
    await cache.refresh()
    assert authenticate(KEY, cache, NOW).revoked_at is None
    store.keys = (record(revoked_at=NOW),)
    await cache.refresh()
    assert cache.seq == 1
    refreshed = cache.get(hash_api_key(KEY))
    assert refreshed is not None and refreshed.revoked_at == NOW
    with pytest.raises(InvalidAPIKey, match="revoked"):
        authenticate(KEY, cache, NOW)
