"""Quotes over real sockets: which requests are priced, the 402 body field for field as
the seed documents it, exact amounts, the stored request, and the endpoint matrix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.conftest import LiveFactory
from tests.helpers import assert_envelope
from tests.unit.test_x402_core import SEED_CHALLENGE, shape
from tests.x402_helpers import (
    BODY,
    CHAT,
    Peers,
    nano_amount,
    offer,
    price_of,
    quote,
    serve_peers,
    stored,
    usdc_amount,
    x402_settings,
)

from nanogate.config import RailSettings
from nanogate.core import count_chat_tokens
from nanogate.x402 import request_hash

HI = [{"role": "user", "content": "hi"}]
FEE_PAYER = "FeePayer1111111111111111111111111111111111"
TREASURY = "Treasury111111111111111111111111111111111111"


@pytest.fixture
def peers() -> Iterator[Peers]:
    yield from serve_peers()


def test_the_402_matches_the_seeds_example_field_for_field(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """With the seed's two rails (nano, x402-solana-usdc), the body has every field of
    the seed's example, in place and of its type, and no other; ``accepts`` holds the
    exact rail's x402 v1 payment requirements."""
    settings = x402_settings(
        tmp_path,
        peers,
        rails=("nano", "x402-solana-usdc"),
        x402_solana_usdc=RailSettings(
            facilitator_url="http://127.0.0.1:9", pay_to=(TREASURY,), fee_payer=FEE_PAYER
        ),
    )
    live = serve_gateway(settings)
    response = httpx.post(live.url + CHAT, json=BODY, timeout=10)
    assert response.status_code == 402
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-should-retry"] == "false"
    body = response.json()
    # the error object's keys are in OpenAI's order (message first); JSON ignores order
    seed = {**SEED_CHALLENGE, "accepts": body["accepts"]}
    seed["error"] = {key: body["error"][key] for key in body["error"]}
    assert shape(body) == shape(seed)
    nano, solana = body["payment"]["accepted"]
    seed_nano, seed_solana = SEED_CHALLENGE["payment"]["accepted"]  # type: ignore[index]
    assert (list(nano), list(solana)) == (list(seed_nano), list(seed_solana))
    assert (nano["network"], solana["network"]) == ("nano-mainnet", "solana")
    assert solana["asset"] == "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
    assert (solana["feePayer"], solana["payTo"]) == (FEE_PAYER, TREASURY)
    (requirement,) = body["accepts"]
    assert requirement["scheme"] == "exact" and requirement["network"] == "solana"
    assert requirement["maxAmountRequired"] == solana["amount"]
    assert requirement["resource"] == live.url + CHAT
    payment_id = body["payment"]["paymentId"]
    assert requirement["extra"] == {"paymentId": payment_id, "feePayer": FEE_PAYER}
    assert body["error"] == {
        "type": "insufficient_quota",
        "code": "insufficient_quota",
        "message": "Payment required to complete this request.",
    }


def test_the_amounts_are_the_requests_maximum_cost_in_each_asset(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """amountUsd is the request's maximum cost (its prompt plus max_tokens at the model's
    prices, as an account's hold); each rail's amount is that converted at the
    configured price, rounded up, as an exact integer string."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    payment = quote(live.url)
    usd = price_of(count_chat_tokens(BODY["messages"]), BODY["max_tokens"])
    assert Decimal(payment["amountUsd"]) == usd
    assert offer(payment, "nano")["amount"] == str(nano_amount(usd))
    assert offer(payment, "base-usdc")["amount"] == str(usdc_amount(usd))
    assert offer(payment, "dev")["amount"] == str(usdc_amount(usd))
    assert all(o["amountUsd"] == payment["amountUsd"] for o in payment["accepted"])


def test_a_request_too_cheap_to_price_is_quoted_the_minimum(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """A request whose maximum cost is below ``min_usd`` is quoted ``min_usd``."""
    live = serve_gateway(x402_settings(tmp_path, peers, min_usd=Decimal("0.05")))
    assert quote(live.url)["amountUsd"] == "0.05"


def test_the_quote_stores_the_request_under_its_documented_hash(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """requestHash is sha256 over the method, path and canonical body (key order and
    whitespace aside); the stored request is that body with only safe headers."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    raw = (
        b'{ "max_tokens": 100, "messages": [{"content": "hi", "role": "user"}],\n'
        b'"model": "acme/chat" }'
    )
    response = httpx.post(
        live.url + CHAT,
        content=raw,
        headers={"content-type": "application/json", "x-provider": "fake", "cookie": "c=1"},
        timeout=10,
    )
    payment = response.json()["payment"]
    assert payment["requestHash"] == request_hash("POST", CHAT, BODY)
    record = stored(live.settings, payment["paymentId"])
    assert json.loads(record.body) == BODY
    safe = {"content-type": "application/json", "accept": "*/*", "x-provider": "fake"}
    assert record.headers == safe
    assert (record.method, record.path, record.status) == ("POST", CHAT, "pending")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/messages", {"model": "acme/chat", "max_tokens": 10, "messages": HI}),
        ("/api/talk-to-gpt", {"model": "acme/chat", "prompt": "hi"}),
        ("/api/v1/embeddings", {"model": "local/embed", "input": "hi"}),
    ],
)
def test_every_endpoint_of_the_matrix_quotes_with_the_same_body(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers, path: str, body: dict[str, object]
) -> None:
    """Messages, talk-to-gpt and embeddings quote too, with the seed's body exactly as on
    chat completions (the challenge has one envelope on every surface)."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    response = httpx.post(live.url + path, json=body, timeout=10)
    assert response.status_code == 402, response.text
    answer = response.json()
    assert set(answer) == {"error", "payment", "x402Version", "accepts"}
    assert answer["error"]["type"] == answer["error"]["code"] == "insufficient_quota"
    assert answer["payment"]["version"] == 1 and answer["x402Version"] == 1


def test_endpoints_outside_the_matrix_still_need_a_key(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """An endpoint left out of ``endpoints`` (or never quotable, like responses) answers
    401 missing_api_key without credentials."""
    live = serve_gateway(x402_settings(tmp_path, peers, endpoints=("POST /api/v1/messages",)))
    assert_envelope(httpx.post(live.url + CHAT, json=BODY, timeout=10), "openai", "missing_api_key")
    responses = httpx.post(
        live.url + "/api/v1/responses", json={"model": "acme/chat", "input": "hi"}, timeout=10
    )
    assert_envelope(responses, "openai", "missing_api_key")


def test_the_opt_in_header_can_be_required(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """With ``require_opt_in``, a request without credentials and without ``x-x402: true``
    gets 401 missing_api_key (nothing stored); with the header, the quote."""
    live = serve_gateway(x402_settings(tmp_path, peers, require_opt_in=True))
    refused = httpx.post(live.url + CHAT, json=BODY, timeout=10)
    assert refused.status_code == 401
    assert_envelope(refused, "openai", "missing_api_key")
    quoted = httpx.post(live.url + CHAT, json=BODY, headers={"x-x402": "true"}, timeout=10)
    assert quoted.status_code == 402 and "payment" in quoted.json()


def test_bad_requests_are_refused_before_they_are_quoted(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """An invalid body, an unknown model or an inline-moderation request is refused with
    its own error and never priced."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    missing = httpx.post(live.url + CHAT, json={"model": "acme/chat"}, timeout=10)
    assert_envelope(missing, "openai", "missing_required_parameter")
    unknown = httpx.post(live.url + CHAT, json={**BODY, "model": "acme/none"}, timeout=10)
    assert_envelope(unknown, "openai", "model_not_found")
    moderated = httpx.post(live.url + CHAT, json=BODY, headers={"moderation": "true"}, timeout=10)
    assert_envelope(moderated, "openai", "inline_moderation_requires_api_key")


def test_a_key_still_pays_from_its_balance(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """With x402 on, a request with a valid key is answered and charged to its account
    as before; a bad key is 401, never a quote."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    answer = httpx.post(live.url + CHAT, json=BODY, headers=live.auth(), timeout=10)
    assert answer.status_code == 200
    assert answer.json()["x_nanogpt_pricing"]["paymentSource"] == "balance"
    bad = httpx.post(
        live.url + CHAT, json=BODY, headers={"authorization": "Bearer sk-nano-bad"}, timeout=10
    )
    assert_envelope(bad, "openai", "invalid_api_key")


def test_the_endpoint_matrix_lists_what_can_be_paid_and_how(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """GET /api/v1/x402/endpoints (no credentials) answers in NanoGPT's schema: each
    endpoint that takes accountless payments, with its schemes, whether it streams and
    whether its answer waits for the payment to be seen; ``meta`` counts them and lists
    the rails with their protocol scheme, network and asset."""
    live = serve_gateway(x402_settings(tmp_path, peers, endpoints=("POST /api/v1/messages",)))
    matrix = httpx.get(live.url + "/api/v1/x402/endpoints", timeout=10).json()
    assert matrix["object"] == "x402.endpoint_support.list" and matrix["version"] == 1
    assert matrix["data"] == [
        {
            "endpoint": "/api/v1/messages",
            "method": "POST",
            "supported": True,
            "schemes": ["nano", "base-usdc", "dev"],
            "streaming": True,
            "async": True,
            "quoteType": "max_cost",
            "notes": matrix["data"][0]["notes"],
        }
    ]
    meta = matrix["meta"]
    assert (meta["count"], meta["totalCount"], meta["unsupportedIncluded"]) == (1, 6, False)
    assert meta["enabled"] is True and meta["x402Version"] == 1
    rails = {r["scheme"]: r for r in meta["rails"]}
    assert list(rails) == ["nano", "base-usdc", "dev"]
    assert rails["nano"] == {
        "scheme": "nano",
        "protocolScheme": "nano",
        "network": "nano-mainnet",
        "asset": "XNO",
    }
    assert rails["base-usdc"]["asset"] == "USDC" and rails["base-usdc"]["network"] == "base"


def test_supported_all_lists_the_endpoints_that_take_no_payment_too(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """``?supported=all`` adds every paid endpoint that takes no accountless payment, as
    unsupported with no schemes and a note saying why."""
    live = serve_gateway(x402_settings(tmp_path, peers, endpoints=("POST /api/v1/messages",)))
    matrix = httpx.get(live.url + "/api/v1/x402/endpoints?supported=all", timeout=10).json()
    entries = {(e["method"], e["endpoint"]): e for e in matrix["data"]}
    assert len(entries) == matrix["meta"]["count"] == matrix["meta"]["totalCount"] == 6
    assert matrix["meta"]["unsupportedIncluded"] is True
    assert entries[("POST", "/api/v1/messages")]["supported"] is True
    chat = entries[("POST", CHAT)]
    assert (chat["supported"], chat["schemes"], chat["quoteType"]) == (False, [], None)
    assert chat["notes"] == "Not offered for accountless payment on this gateway."
    assert "pay with a key" in entries[("POST", "/api/v1/responses")]["notes"]


def test_the_matrix_says_so_when_x402_is_off(serve_gateway: LiveFactory) -> None:
    """With x402 off, the matrix lists nothing as supported (and everything, unsupported,
    with ``?supported=all``), and requests need keys."""
    live = serve_gateway()
    matrix = httpx.get(live.url + "/api/v1/x402/endpoints", timeout=10).json()
    assert matrix["data"] == [] and matrix["meta"]["enabled"] is False
    assert (matrix["meta"]["count"], matrix["meta"]["rails"]) == (0, [])
    every = httpx.get(live.url + "/api/v1/x402/endpoints?supported=all", timeout=10).json()
    assert {e["supported"] for e in every["data"]} == {False}
    notes = {e["notes"] for e in every["data"] if e["endpoint"] == CHAT}
    assert notes == {"x402 is not enabled on this gateway."}
    status = httpx.get(live.url + "/api/x402/status/pay_1", timeout=10)
    assert_envelope(status, "openai", "payment_not_found")


def test_an_accountless_byok_request_needs_a_key(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """BYOK uses provider keys stored for an API key: without one, 401 missing_api_key
    (never a quote, never a 500)."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    response = httpx.post(live.url + CHAT, json=BODY, headers={"x-use-byok": "true"}, timeout=10)
    body = assert_envelope(response, "openai", "missing_api_key")
    assert "BYOK" in body["error"]["message"]


def test_status_lists_the_rails_in_the_quotes_order(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """The status body lists the rails in the order the quote offered them."""
    live = serve_gateway(x402_settings(tmp_path, peers, rails=("dev", "nano", "base-usdc")))
    payment = quote(live.url)
    assert [o["scheme"] for o in payment["accepted"]] == ["dev", "nano", "base-usdc"]
    status = httpx.get(payment["statusUrl"], timeout=10).json()
    assert [r["scheme"] for r in status["rails"]] == ["dev", "nano", "base-usdc"]


def test_malformed_credentials_are_refused_and_counted_as_elsewhere(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """A non-Bearer Authorization on a quoting endpoint is refused 401 (never quoted)
    and counts against its address's limit, as on every route: past it, 429."""
    settings = x402_settings(tmp_path, peers)
    limits = settings.limits.model_copy(update={"accountless_rps": 1})
    live = serve_gateway(settings.model_copy(update={"limits": limits}))
    headers = {"authorization": "Basic dXNlcjpwYXNz"}
    codes = [
        httpx.post(live.url + CHAT, json=BODY, headers=headers, timeout=10).status_code
        for _ in range(3)
    ]
    assert codes[0] == 401 and 429 in codes
