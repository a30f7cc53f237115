"""Identifiers: API keys, their stored hash, and prefixed random ids."""

from __future__ import annotations

import hashlib
import re
import time
import uuid

import pytest

from nanogate.core._ids import (
    hash_api_key,
    key_prefix,
    looks_like_api_key,
    new_api_key,
    new_id,
    new_request_id,
)

GOOD = "sk-nano-123e4567-e89b-42d3-a456-426614174000"


def test_new_api_key_shape() -> None:
    """A minted key is sk-nano- followed by a lowercase version-4 UUID."""
    key = new_api_key()
    assert key.startswith("sk-nano-")
    parsed = uuid.UUID(key.removeprefix("sk-nano-"))
    assert parsed.version == 4
    assert str(parsed) == key.removeprefix("sk-nano-")


def test_minted_keys_look_like_keys() -> None:
    """Every minted key passes looks_like_api_key."""
    for _ in range(200):
        assert looks_like_api_key(new_api_key())


def test_minted_keys_are_unique() -> None:
    """Keys do not repeat."""
    assert len({new_api_key() for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    "token",
    [
        "",
        "sk-nano-",
        GOOD.upper(),
        GOOD.replace("sk-nano-", "SK-NANO-"),
        GOOD.replace("sk-nano-", "sk-"),
        GOOD.replace("sk-nano-", "sk-nano"),
        GOOD[:-1],
        GOOD + "0",
        " " + GOOD,
        GOOD + "\n",
        GOOD.replace("-42d3-", "-12d3-"),
        GOOD.replace("-a456-", "-c456-"),
        GOOD.replace("-", ""),
        "sk-nano-" + GOOD.removeprefix("sk-nano-").replace("-", "", 1),
        GOOD.replace("4000", "400g"),
        "Bearer " + GOOD,
    ],
    ids=[
        "empty",
        "prefix-only",
        "uppercase",
        "uppercase-prefix",
        "other-prefix",
        "missing-dash",
        "short",
        "long",
        "leading-space",
        "trailing-newline",
        "not-version-4",
        "wrong-variant",
        "no-dashes",
        "dash-moved",
        "non-hex",
        "with-scheme",
    ],
)
def test_near_misses_do_not_look_like_keys(token: str) -> None:
    """Strings that are almost a key are rejected before any lookup."""
    assert looks_like_api_key(GOOD)
    assert not looks_like_api_key(token)


def test_hash_is_sha256_hex() -> None:
    """The stored form of a key is its SHA-256 as 64 lowercase hex digits."""
    digest = hash_api_key(GOOD)
    assert digest == hashlib.sha256(GOOD.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert hash_api_key(GOOD) == digest
    assert hash_api_key(new_api_key()) != digest


def test_key_prefix_is_displayable_and_short() -> None:
    """The prefix shows the start of the key and never the whole secret."""
    assert key_prefix(GOOD) == GOOD[:16]
    assert GOOD.startswith(key_prefix(GOOD))
    assert len(key_prefix(GOOD)) < len(GOOD)


def test_new_id_prefix_and_shape() -> None:
    """new_id is the prefix, an underscore and 24 hex digits."""
    assert re.fullmatch(r"resp_[0-9a-f]{24}", new_id("resp"))
    assert re.fullmatch(r"req_[0-9a-f]{24}", new_request_id())


def test_new_id_is_unique() -> None:
    """Ids do not repeat."""
    assert len({new_id("x") for _ in range(10_000)}) == 10_000


def test_request_ids_minted_later_sort_later() -> None:
    """A request id starts with the time in milliseconds: ids a millisecond or more apart
    sort in the order they were minted, and ids of one millisecond still differ."""
    first = new_request_id()
    later = first
    while later[4:16] == first[4:16]:  # the next millisecond
        later = new_request_id()
    assert first < later
    assert len({new_request_id() for _ in range(10_000)}) == 10_000
    now_ms = time.time_ns() // 1_000_000
    assert abs(int(later[4:16], 16) - now_ms) < 60_000
