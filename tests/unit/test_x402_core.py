"""The x402 core without I/O: the request hash a payment is bound to, and amounts."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from nanogate.x402 import USDC, XNO, Asset, canonical_body, request_hash

CHAT = "/api/v1/chat/completions"


def test_the_hash_is_sha256_of_the_documented_canonical_form() -> None:
    """``sha256:`` + hex of ``METHOD\\nPATH\\n`` and the canonical JSON body."""
    body = {"model": "m", "messages": [{"role": "user", "content": "héllo"}]}
    form = (
        b"POST\n/api/v1/chat/completions\n"
        + '{"messages":[{"content":"héllo","role":"user"}],"model":"m"}'.encode()
    )
    assert request_hash("POST", CHAT, body) == "sha256:" + hashlib.sha256(form).hexdigest()


def test_key_order_whitespace_and_method_case_do_not_change_the_hash() -> None:
    """The same request written differently is the same request."""
    one = request_hash("post", CHAT, b'{"model": "m",  "max_tokens": 5}')
    other = request_hash("POST", CHAT + "?ignored=1", {"max_tokens": 5, "model": "m"})
    assert one == other


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", CHAT, {"model": "m", "max_tokens": 6}),
        ("POST", CHAT, {"model": "other", "max_tokens": 5}),
        ("POST", "/api/v1/embeddings", {"model": "m", "max_tokens": 5}),
        ("PUT", CHAT, {"model": "m", "max_tokens": 5}),
        ("POST", CHAT, None),
    ],
)
def test_any_other_change_changes_the_hash(method: str, path: str, body: object) -> None:
    """A payment for one request cannot be spent on another."""
    original = request_hash("POST", CHAT, {"model": "m", "max_tokens": 5})
    assert request_hash(method, path, body) != original  # type: ignore[arg-type]


def test_a_body_that_is_not_json_is_hashed_as_its_bytes() -> None:
    """Non-JSON bodies are taken byte for byte; an absent body is empty."""
    assert canonical_body(b"not json {") == b"not json {"
    assert canonical_body(None) == b""


@pytest.mark.parametrize(
    ("asset", "usd", "price", "atomic", "shown"),
    [
        (USDC, "0.0015", "1", 1500, "0.0015 USDC"),
        (USDC, "0.00000001", "1", 1, "0.000001 USDC"),
        (XNO, "0.0714", "0.4183", 170690891704518288309825484103, "0.1706909 XNO"),
        (XNO, "1", "1", 10**30, "1 XNO"),
    ],
)
def test_amounts_are_exact_integers_rounded_up(
    asset: Asset, usd: str, price: str, atomic: int, shown: str
) -> None:
    """Dollars become whole atomic units at the configured price, rounded up so a
    payment of the quoted amount never falls short; people see a short decimal."""
    assert asset.atomic(Decimal(usd), Decimal(price)) == atomic
    assert asset.formatted(atomic) == shown


def test_amounts_refuse_nonsense() -> None:
    """A negative amount or a price of zero is a programming error, not a quote."""
    with pytest.raises(ValueError):
        USDC.atomic(Decimal("-1"), Decimal(1))
    with pytest.raises(ValueError):
        XNO.atomic(Decimal(1), Decimal(0))
