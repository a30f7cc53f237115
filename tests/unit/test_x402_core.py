"""The x402 core without I/O: the request hash a payment is bound to, and amounts."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from nanogate.x402 import (
    FINAL,
    USDC,
    XNO,
    Asset,
    Offer,
    PaymentRefused,
    Quote,
    Status,
    arrived_in_time,
    caip2,
    canonical_body,
    challenge_body,
    completion_refusal,
    decode_payment,
    encode_header,
    encode_payment,
    observed_status,
    payment_required,
    request_hash,
    retry_after,
    settle_response,
)

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


SEED_CHALLENGE = {
    "error": {
        "type": "insufficient_quota",
        "code": "insufficient_quota",
        "message": "Payment required to complete this request.",
    },
    "payment": {
        "version": 1,
        "paymentId": "pay_...",
        "requestHash": "sha256:...",
        "expiresAt": "2026-06-09T12:00:00.000Z",
        "amountUsd": "0.0714",
        "statusUrl": "https://nano-gpt.com/api/x402/status/pay_...",
        "completeUrl": "https://nano-gpt.com/api/x402/complete/pay_...",
        "accepted": [
            {
                "scheme": "nano",
                "protocolScheme": "nano",
                "network": "nano-mainnet",
                "amount": "...",
                "amountFormatted": "0.17067988 XNO",
                "amountUsd": "0.0714",
                "payTo": "nano_...",
                "paymentId": "pay_...",
                "statusUrl": "https://nano-gpt.com/api/x402/status/pay_...",
                "completeUrl": "https://nano-gpt.com/api/x402/complete/pay_...",
            },
            {
                "scheme": "x402-solana-usdc",
                "protocolScheme": "exact",
                "network": "solana",
                "amount": "1500",
                "amountFormatted": "0.0015 USDC",
                "amountUsd": "0.0015",
                "payTo": "<solana treasury address from quote>",
                "asset": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
                "feePayer": "<solana facilitator fee payer from quote>",
                "paymentId": "pay_...",
                "expiresAt": "2026-06-09T12:00:00.000Z",
            },
        ],
    },
    "x402Version": 1,
    "accepts": [],
}
"""The seed's example, verbatim (its values are placeholders)."""


def shape(value: object) -> object:
    """The field names of ``value``, recursively, in order; values replaced by types."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


def a_quote() -> Quote:
    return Quote(
        payment_id="pay_3f9c",
        request_hash=request_hash("POST", CHAT, {"model": "m"}),
        expires_at=datetime(2026, 6, 9, 12, 0, tzinfo=UTC),
        amount_usd=Decimal("0.0714"),
        status_url="https://gate.example/api/x402/status/pay_3f9c",
        complete_url="https://gate.example/api/x402/complete/pay_3f9c",
        resource="https://gate.example/api/v1/chat/completions",
        description="POST /api/v1/chat/completions",
        offers=(
            Offer("nano", "nano", "nano-mainnet", XNO, 170690891704518288309825484103, "nano_1x"),
            Offer(
                "x402-solana-usdc",
                "exact",
                "solana",
                USDC,
                71400,
                "So1Treasury",
                asset_address="EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
                extra={"feePayer": "So1FeePayer"},
            ),
        ),
    )


def test_the_challenge_matches_the_seed_field_for_field() -> None:
    """Every field of the seed's example, in its place and of its type, and no other:
    the polling rail carries its status and complete URLs, the exact rail its asset,
    fee payer and expiry."""
    body = challenge_body(a_quote(), datetime(2026, 6, 9, 11, 50, tzinfo=UTC))
    seed = {**SEED_CHALLENGE, "accepts": body["accepts"]}
    assert shape(body) == shape(seed)
    nano, solana = body["payment"]["accepted"]
    assert [list(nano), list(solana)] == [
        list(entry)
        for entry in SEED_CHALLENGE["payment"]["accepted"]  # type: ignore[index]
    ]
    assert body["payment"]["expiresAt"] == "2026-06-09T12:00:00.000Z"
    assert nano["amount"] == "170690891704518288309825484103"
    assert nano["amountFormatted"] == "0.1706909 XNO" and solana["amountFormatted"] == "0.0714 USDC"


def test_exact_rails_are_also_x402_v1_payment_requirements() -> None:
    """``accepts`` lists each exact-scheme offer as x402 v1 requirements: the amount in
    atomic units, the resource, the asset, and the time left on the quote."""
    body = challenge_body(a_quote(), datetime(2026, 6, 9, 11, 50, tzinfo=UTC))
    assert body["accepts"] == [
        {
            "scheme": "exact",
            "network": "solana",
            "maxAmountRequired": "71400",
            "resource": "https://gate.example/api/v1/chat/completions",
            "description": "POST /api/v1/chat/completions",
            "mimeType": "application/json",
            "payTo": "So1Treasury",
            "maxTimeoutSeconds": 600,
            "asset": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
            "extra": {"paymentId": "pay_3f9c", "feePayer": "So1FeePayer"},
        }
    ]


PAYMENT = {
    "x402Version": 1,
    "scheme": "exact",
    "network": "base",
    "payload": {"signature": "0xabc", "authorization": {"value": "71400", "nonce": "0x01"}},
}


@pytest.mark.parametrize(
    "header",
    [
        encode_payment(PAYMENT),
        encode_payment(PAYMENT).rstrip("="),
        base64.urlsafe_b64encode(json.dumps(PAYMENT).encode()).decode(),
        "  " + encode_payment(PAYMENT) + " ",
    ],
    ids=["standard", "unpadded", "url-safe", "spaces"],
)
def test_an_x_payment_header_decodes_to_its_payload(header: str) -> None:
    """Base64 in either alphabet, with or without padding, gives the same payload."""
    decoded = decode_payment(header)
    assert (decoded.scheme, decoded.network) == ("exact", "base")
    assert decoded.payload["signature"] == "0xabc" and decoded.raw == PAYMENT


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", "empty"),
        ("x" * 20_000, "longer"),
        ("%%%not-base64%%%", "not base64"),
        (base64.b64encode(b"[1, 2]").decode(), "JSON object"),
        (encode_payment({**PAYMENT, "x402Version": 2}), "version 1"),
        (encode_payment({k: v for k, v in PAYMENT.items() if k != "scheme"}), "no scheme"),
        (encode_payment({**PAYMENT, "network": ""}), "no network"),
        (encode_payment({**PAYMENT, "payload": {}}), "no payload"),
        (encode_payment({**PAYMENT, "x402Version": True}), "version 1"),
        (encode_payment({**PAYMENT, "x402Version": 1.0}), "version 1"),
        (base64.b64encode(b"[" * 11_000).decode(), "not base64"),
        (base64.b64encode(b'{"x402Version": NaN}').decode(), "not base64"),
        (base64.b64encode(b'{"x402Version": 1, "s": "\\ud800"}').decode(), "not base64"),
    ],
)
def test_a_malformed_x_payment_is_refused_with_its_reason(header: str, reason: str) -> None:
    """Every malformed header is refused with a reason a client can act on."""
    with pytest.raises(PaymentRefused) as caught:
        decode_payment(header)
    assert reason in str(caught.value)


EXPIRES = datetime(2026, 6, 9, 12, 0, tzinfo=UTC)
BEFORE, AFTER = datetime(2026, 6, 9, 11, 59, tzinfo=UTC), datetime(2026, 6, 9, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stored", "received", "now", "expected"),
    [
        ("pending", 0, BEFORE, "pending"),
        ("pending", 40, BEFORE, "underpaid"),
        ("underpaid", 100, BEFORE, "paid"),
        ("pending", 150, BEFORE, "paid"),
        ("pending", 0, AFTER, "expired"),
        ("underpaid", 40, AFTER, "expired"),
        ("pending", 100, AFTER, "paid"),
        ("paid", 100, AFTER, "paid"),
        ("processing", 100, AFTER, "processing"),
        ("completed", 100, AFTER, "completed"),
        ("failed", 100, BEFORE, "failed"),
        ("expired", 40, BEFORE, "expired"),
        ("expired", 100, AFTER, "paid"),
    ],
)
def test_a_payments_status_follows_what_was_received_and_the_clock(
    stored: Status, received: int, now: datetime, expected: Status
) -> None:
    """Confirmed funds that arrived in time and reach the quote make a payment paid, even
    when seen after the expiry (or after it was reported expired); short of it, the
    expiry ends it; later stages are kept."""
    assert observed_status(stored, received, 100, now, EXPIRES) == expected


def test_funds_count_only_if_they_arrived_before_the_expiry() -> None:
    """Funds pay a quote when they arrived before its expiry, to the microsecond; at or
    after it they are late."""
    assert arrived_in_time(EXPIRES - timedelta(microseconds=1), EXPIRES)
    assert not arrived_in_time(EXPIRES, EXPIRES)
    assert not arrived_in_time(EXPIRES + timedelta(days=1), EXPIRES)


def test_pollers_are_told_when_to_come_back() -> None:
    """Statuses still moving carry a Retry-After; paid and final ones do not."""
    assert {s: retry_after(s) for s in ("pending", "underpaid", "processing")} == dict.fromkeys(
        ("pending", "underpaid", "processing"), 2
    )
    assert all(retry_after(s) is None for s in ("paid", *FINAL))


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        ("paid", None),
        ("completed", "already_completed"),
        ("processing", "in_progress"),
        ("expired", "expired"),
        ("pending", "unpaid"),
        ("underpaid", "unpaid"),
        ("failed", "failed"),
    ],
)
def test_only_a_paid_payment_may_be_completed(status: Status, refusal: str | None) -> None:
    """Complete runs the stored request only from ``paid``; every other status says why."""
    assert completion_refusal(status) == refusal


# x402 version 2 -----------------------------------------------------------------------


def test_the_v2_payment_required_names_networks_by_caip2() -> None:
    """The ``PAYMENT-REQUIRED`` object is x402 v2: the resource, and each exact offer on
    a network with a CAIP-2 id as v2 requirements (``amount``, no ``maxAmountRequired``),
    the quote's payment id in ``extra``; polling offers are not in it."""
    now = datetime(2026, 6, 9, 11, 50, tzinfo=UTC)
    required = payment_required(a_quote(), now)
    assert required == {
        "x402Version": 2,
        "error": "Payment required to complete this request.",
        "resource": {
            "url": "https://gate.example/api/v1/chat/completions",
            "description": "POST /api/v1/chat/completions",
            "mimeType": "application/json",
        },
        "accepts": [
            {
                "scheme": "exact",
                "network": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
                "amount": "71400",
                "asset": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
                "payTo": "So1Treasury",
                "maxTimeoutSeconds": 600,
                "extra": {"paymentId": "pay_3f9c", "feePayer": "So1FeePayer"},
            }
        ],
    }
    assert json.loads(base64.b64decode(encode_header(required))) == required


def test_without_a_caip2_network_the_header_carries_the_v1_requirements() -> None:
    """Exact offers only on networks without a CAIP-2 id (Nano) make the header a v1
    ``PaymentRequired`` with ``error`` a string; without exact offers there is none."""
    now = datetime(2026, 6, 9, 11, 50, tzinfo=UTC)
    quote = a_quote()
    nano_exact = Offer("nano-exact", "exact", "nano-mainnet", XNO, 5, "nano_1t")
    only_nano = replace(quote, offers=(quote.offers[0], nano_exact))
    required = payment_required(only_nano, now)
    assert required is not None and required["x402Version"] == 1
    assert required["error"] == "Payment required to complete this request."
    assert required["accepts"] == challenge_body(only_nano, now)["accepts"]
    assert payment_required(replace(quote, offers=quote.offers[:1]), now) is None


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        ("base", "eip155:8453"),
        ("base-sepolia", "eip155:84532"),
        ("solana", "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"),
        ("eip155:10", "eip155:10"),
        ("nano-mainnet", None),
    ],
)
def test_caip2_ids(network: str, expected: str | None) -> None:
    """v1 names map to CAIP-2; a network configured as CAIP-2 is kept; Nano has none."""
    assert caip2(network) == expected


V2_PAYMENT = {
    "x402Version": 2,
    "accepted": {"scheme": "exact", "network": "eip155:8453", "amount": "71400"},
    "payload": {"signature": "0xabc", "authorization": {"value": "71400"}},
}


def test_a_payment_signature_decodes_to_its_v2_payload() -> None:
    """The scheme and network come from ``accepted``; the version is kept."""
    decoded = decode_payment(encode_header(V2_PAYMENT), 2)
    assert (decoded.scheme, decoded.network, decoded.version) == ("exact", "eip155:8453", 2)
    assert decoded.accepted == V2_PAYMENT["accepted"]


@pytest.mark.parametrize(
    ("data", "version", "reason"),
    [
        (V2_PAYMENT, 1, "X-PAYMENT must be an x402 version 1 payment payload (an x402 version 2"),
        (PAYMENT, 2, "PAYMENT-SIGNATURE must be an x402 version 2 payment payload (an x402 v"),
        ({**V2_PAYMENT, "accepted": None}, 2, "PAYMENT-SIGNATURE has no accepted payment"),
        ({**V2_PAYMENT, "accepted": {"network": "eip155:1"}}, 2, "PAYMENT-SIGNATURE has no scheme"),
        ({**V2_PAYMENT, "payload": {}}, 2, "PAYMENT-SIGNATURE has no payload"),
    ],
)
def test_a_payment_of_the_wrong_version_or_shape_is_refused(
    data: dict[str, object], version: int, reason: str
) -> None:
    """Each header takes its own version only, and a v2 payload needs ``accepted``."""
    with pytest.raises(PaymentRefused) as refused:
        decode_payment(encode_header(data), version)
    assert str(refused.value).startswith(reason)


def test_a_settlement_is_answered_as_a_v2_settle_response() -> None:
    """``PAYMENT-RESPONSE`` names the network by CAIP-2 and has no payment id."""
    assert settle_response(
        {"success": True, "transaction": "0x1", "network": "base", "payer": "0x2"}
    ) == {"success": True, "transaction": "0x1", "network": "eip155:8453", "payer": "0x2"}
