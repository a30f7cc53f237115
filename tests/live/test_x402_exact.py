"""Accountless x402 on the exact rails, over real sockets.

The gateway quotes a request without credentials (402), and the client replays the very
same request with an ``X-PAYMENT``: an x402 v1 ``exact`` payment that a fake facilitator
on loopback verifies and settles. The three exact rails (``x402-exact`` on Base,
``x402-solana-usdc`` on Solana, ``nano-exact`` on Nano) are offered side by side, as in
production; the model is a priced fake upstream, so every run of a request is counted.

A payment is single-use, bound to its request and amount, and expires; a refusal runs
and settles nothing; a payment that settled is never lost.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from tests.conftest import Live, LiveFactory
from tests.helpers import assert_envelope, make_settings
from tests.x402_helpers import Clock, resting_breakers, stored

from nanogate.config import RailSettings, Settings, X402Settings
from nanogate.core import SSEDecoder, count_chat_tokens
from nanogate.testing import FakeFacilitator, FakeUpstream, Fault, ServedAioHTTP, exact_payment
from nanogate.x402 import encode_payment

CHAT = "/api/v1/chat/completions"
MESSAGES = "/api/v1/messages"
PROMPT = [{"role": "user", "content": "hi"}]
BODY: dict[str, Any] = {"model": "acme/chat", "messages": PROMPT, "max_tokens": 16}
OTHER_BODY: dict[str, Any] = {
    "model": "acme/chat",
    "messages": [{"role": "user", "content": "hi, and something else"}],
    "max_tokens": 16,
}

NETWORKS = {"x402-exact": "base", "x402-solana-usdc": "solana", "nano-exact": "nano-mainnet"}
"""Each exact rail and the network its quotes name."""
EXACT_RAILS = tuple(NETWORKS)
TREASURY = {
    "x402-exact": "0x" + "ab" * 20,
    "x402-solana-usdc": "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
    "nano-exact": "nano_" + "3treasury".ljust(60, "1"),
}
"""Where each rail's payments go (one treasury address per exact rail)."""


@dataclass
class Exact:
    """A gateway offering the exact rails, its facilitator, its upstream and its clock."""

    live: Live
    facilitator: FakeFacilitator
    upstream: FakeUpstream
    clock: Clock
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.live.url, timeout=15)

    def post(
        self, path: str, body: dict[str, Any], payment: str | None = None, **headers: str
    ) -> httpx.Response:
        """``body`` to ``path`` without credentials, paid with ``payment`` if given."""
        if payment is not None:
            headers["x-payment"] = payment
        return self.http.post(path, json=body, headers=headers)

    def quote(self, path: str = CHAT, body: dict[str, Any] = BODY) -> dict[str, Any]:
        """The 402 body that prices ``body`` at ``path``."""
        answer = self.post(path, body)
        assert answer.status_code == 402, answer.text
        quoted: dict[str, Any] = answer.json()
        return quoted

    def status(self, quoted: dict[str, Any]) -> dict[str, Any]:
        """``GET statusUrl`` of a quote."""
        answer = self.http.get(quoted["payment"]["statusUrl"])
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    @property
    def runs(self) -> int:
        """How many times the model was asked to answer."""
        return len(self.upstream.requests)


def requirement(quoted: dict[str, Any], rail: str) -> dict[str, Any]:
    """The x402 v1 payment requirements (``accepts[]``) of ``rail``'s offer."""
    entries = [r for r in quoted["accepts"] if r["network"] == NETWORKS[rail]]
    assert len(entries) == 1, quoted["accepts"]
    found: dict[str, Any] = entries[0]
    return found


def pay(quoted: dict[str, Any], rail: str, **changes: Any) -> str:
    """The ``X-PAYMENT`` a test wallet sends for ``rail``'s offer (``changes``: see
    :func:`~nanogate.testing.exact_payment`)."""
    return encode_payment(exact_payment(requirement(quoted, rail), **changes))


def decoded(header: str) -> dict[str, Any]:
    """The JSON object a base64 header carries."""
    data: dict[str, Any] = json.loads(base64.b64decode(header))
    return data


def exact_settings(
    tmp_path: Path, facilitator_url: str, upstream_url: str, **x402: Any
) -> Settings:
    """The test settings, with a priced model on the fake upstream and the exact rails."""
    base = make_settings(tmp_path).model_dump()
    settings = Settings.model_validate(
        {
            **base,
            "providers": [
                *base["providers"],
                {"name": "fake", "kind": "openai", "base_url": upstream_url + "/v1"},
            ],
            "models": [
                *base["models"],
                {
                    "id": "acme/chat",
                    "provider": "fake",
                    "upstream_model": "chat-1",
                    "capabilities": ["streaming"],
                    "input_usd_per_mtok": "100",
                    "output_usd_per_mtok": "200",
                },
            ],
        }
    )
    rails = {
        "x402_exact": RailSettings(
            facilitator_url=facilitator_url, pay_to=(TREASURY["x402-exact"],)
        ),
        "x402_solana_usdc": RailSettings(
            facilitator_url=facilitator_url,
            pay_to=(TREASURY["x402-solana-usdc"],),
            fee_payer="FeePayer1111111111111111111111111111111111",
        ),
        "nano_exact": RailSettings(
            facilitator_url=facilitator_url,
            pay_to=(TREASURY["nano-exact"],),
            usd_per_unit=Decimal("0.5"),
        ),
    }
    options: dict[str, Any] = {"enabled": True, "rails": EXACT_RAILS, **rails, **x402}
    section = X402Settings(**options)
    return settings.model_copy(update={"x402": section})


@pytest.fixture
def facilitator() -> Iterator[tuple[FakeFacilitator, str]]:
    fake = FakeFacilitator()
    with ServedAioHTTP(fake.app()) as served:
        yield fake, served.url


@pytest.fixture
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with ServedAioHTTP(fake.app()) as served:
        yield fake, served.url


ExactFactory = Callable[..., Exact]


@pytest.fixture
def serve_exact(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    facilitator: tuple[FakeFacilitator, str],
    upstream: tuple[FakeUpstream, str],
) -> Iterator[ExactFactory]:
    """A factory: ``serve_exact(**x402_settings)`` → a served gateway on the exact rails."""
    made: list[Exact] = []

    def start(**x402: Any) -> Exact:
        clock = Clock()
        settings = exact_settings(tmp_path, facilitator[1], upstream[1], **x402)
        exact = Exact(serve_gateway(settings, clock=clock), facilitator[0], upstream[0], clock)
        made.append(exact)
        return exact

    yield start
    for exact in made:
        exact.http.close()


@pytest.fixture
def gate(serve_exact: ExactFactory) -> Exact:
    return serve_exact()


def sse_data(raw: bytes) -> list[str]:
    """The ``data`` of each event of an SSE body."""
    return [event.data for event in SSEDecoder().feed(raw)]


# The flow ------------------------------------------------------------------------------


@pytest.mark.parametrize("rail", EXACT_RAILS)
def test_a_quote_offers_each_exact_rail_with_its_requirements(gate: Exact, rail: str) -> None:
    """The 402 offers the rail as protocolScheme ``exact`` with its expiry, treasury and
    amount, and ``accepts[]`` holds the same offer as x402 v1 payment requirements."""
    quoted = gate.quote()
    payment = quoted["payment"]
    entry = next(e for e in payment["accepted"] if e["scheme"] == rail)
    assert entry["protocolScheme"] == "exact"
    assert entry["network"] == NETWORKS[rail]
    assert entry["payTo"] == TREASURY[rail]
    assert entry["expiresAt"] == payment["expiresAt"]
    assert entry["paymentId"] == payment["paymentId"]
    assert int(entry["amount"]) > 0
    needed = requirement(quoted, rail)
    assert needed["scheme"] == "exact"
    assert needed["maxAmountRequired"] == entry["amount"]
    assert needed["payTo"] == entry["payTo"]
    assert needed["resource"] == gate.live.url + CHAT
    assert needed["extra"]["paymentId"] == payment["paymentId"]
    assert quoted["x402Version"] == 1
    assert gate.runs == 0 and gate.facilitator.verified == []


@pytest.mark.parametrize("rail", EXACT_RAILS)
def test_a_replay_with_x_payment_is_settled_and_answered(gate: Exact, rail: str) -> None:
    """The identical request replayed with a valid X-PAYMENT is verified and settled once,
    answered 200 with X-PAYMENT-RESPONSE, and the payment is then completed."""
    quoted = gate.quote()
    payment_id = quoted["payment"]["paymentId"]
    answer = gate.post(CHAT, BODY, pay(quoted, rail))
    assert answer.status_code == 200, answer.text
    completion = answer.json()
    assert completion["choices"][0]["message"]["content"] == gate.upstream.reply
    assert completion["x_nanogpt_pricing"]["paymentSource"] == "x402"
    settlement = decoded(answer.headers["x-payment-response"])
    assert settlement["success"] is True
    assert settlement["transaction"].startswith("0x")
    assert settlement["network"] == NETWORKS[rail]
    assert settlement["payer"] == "0x" + "22" * 20
    assert settlement["paymentId"] == payment_id
    assert len(gate.facilitator.verified) == 1 and len(gate.facilitator.settled) == 1
    status = gate.status(quoted)
    assert status["status"] == "completed"
    assert status["paidWith"] == rail
    paid = next(r for r in status["rails"] if r["scheme"] == rail)
    assert paid["received"] == paid["amount"] == requirement(quoted, rail)["maxAmountRequired"]
    assert status["requestId"] == answer.headers["x-request-id"]
    assert gate.runs == 1


def test_an_anthropic_messages_request_is_paid_the_same_way(gate: Exact) -> None:
    """``/api/v1/messages`` is quoted and paid by replay too, answered in Anthropic's
    envelope with X-PAYMENT-RESPONSE."""
    body = {"model": "acme/chat", "max_tokens": 16, "messages": PROMPT}
    headers = {"anthropic-version": "2023-06-01"}
    quote = gate.post(MESSAGES, body, **headers)
    assert quote.status_code == 402, quote.text
    quoted = quote.json()
    assert quoted["payment"]["accepted"]
    answer = gate.post(MESSAGES, body, pay(quoted, "x402-exact"), **headers)
    assert answer.status_code == 200, answer.text
    message = answer.json()
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["content"][0]["text"] == gate.upstream.reply
    assert message["x_nanogpt_pricing"]["paymentSource"] == "x402"
    assert decoded(answer.headers["x-payment-response"])["success"] is True
    assert gate.status(quoted)["status"] == "completed"
    assert len(gate.facilitator.settled) == 1


def test_a_streamed_request_is_paid_and_streams_to_done(gate: Exact) -> None:
    """A ``stream: true`` request is quoted, then its paid replay streams the answer to
    ``[DONE]`` with X-PAYMENT-RESPONSE on the response."""
    body = {**BODY, "stream": True}
    quoted = gate.quote(CHAT, body)
    with gate.http.stream(
        "POST", CHAT, json=body, headers={"x-payment": pay(quoted, "x402-solana-usdc")}
    ) as answer:
        raw = b"".join(answer.iter_raw())
    assert answer.status_code == 200, raw
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert decoded(answer.headers["x-payment-response"])["network"] == "solana"
    data = sse_data(raw)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == gate.upstream.reply
    assert chunks[-1]["x_nanogpt_pricing"]["paymentSource"] == "x402"
    assert gate.status(quoted)["status"] == "completed"
    assert len(gate.facilitator.settled) == 1


# Single use ------------------------------------------------------------------------------


@pytest.mark.parametrize("rail", EXACT_RAILS)
def test_the_same_x_payment_again_is_refused_and_runs_nothing(gate: Exact, rail: str) -> None:
    """A completed X-PAYMENT sent again is 409 payment_already_completed: the model is not
    asked again and nothing more is settled."""
    quoted = gate.quote()
    payment = pay(quoted, rail)
    assert gate.post(CHAT, BODY, payment).status_code == 200
    again = gate.post(CHAT, BODY, payment)
    assert_envelope(again, "openai", "payment_already_completed")
    assert "x-payment-response" not in again.headers
    assert len(gate.facilitator.settled) == 1 and len(gate.facilitator.verified) == 1
    assert gate.runs == 1


@pytest.mark.parametrize("rail", EXACT_RAILS)
def test_another_payment_for_a_completed_quote_is_refused_unsettled(gate: Exact, rail: str) -> None:
    """Once a quote is completed, a second valid X-PAYMENT for it (a fresh authorization,
    on any exact rail) is 409 before the facilitator is asked: nobody pays twice."""
    quoted = gate.quote()
    assert gate.post(CHAT, BODY, pay(quoted, "x402-exact")).status_code == 200
    again = gate.post(CHAT, BODY, pay(quoted, rail))
    assert_envelope(again, "openai", "payment_already_completed")
    assert len(gate.facilitator.verified) == 1 and len(gate.facilitator.settled) == 1
    assert gate.runs == 1


def test_an_x_payment_used_for_another_request_is_refused(gate: Exact) -> None:
    """A used X-PAYMENT cannot pay for a different body, even one that was quoted: 409, and
    nothing is settled for it."""
    quoted = gate.quote()
    payment = pay(quoted, "x402-exact")
    assert gate.post(CHAT, BODY, payment).status_code == 200
    other = gate.quote(CHAT, OTHER_BODY)
    refused = gate.post(CHAT, OTHER_BODY, payment)
    assert_envelope(refused, "openai", "payment_already_completed")
    assert len(gate.facilitator.settled) == 1
    assert gate.status(other)["status"] == "pending"
    assert gate.runs == 1


# Bound to the request and the amount ---------------------------------------------------


@pytest.mark.parametrize("named", [False, True], ids=["unnamed", "naming-the-quote"])
def test_a_payment_for_another_body_is_invalid(gate: Exact, named: bool) -> None:
    """A payment made for body A's quote, replayed with body B (another prompt), is 402
    payment_invalid, whether or not the payment names A's paymentId: nothing is asked
    of the facilitator, nothing settles, nothing runs."""
    quoted = gate.quote()
    payload = exact_payment(requirement(quoted, "x402-exact"))
    if named:
        payload["paymentId"] = quoted["payment"]["paymentId"]
    refused = gate.post(CHAT, OTHER_BODY, encode_payment(payload))
    body = assert_envelope(refused, "openai", "payment_invalid")
    assert "request" in body["error"]["message"]
    assert gate.facilitator.verified == [] and gate.facilitator.settled == []
    assert gate.status(quoted)["status"] == "pending"
    assert gate.runs == 0


@pytest.mark.parametrize("rail", EXACT_RAILS)
def test_a_tampered_signature_is_refused_with_the_facilitators_reason(
    gate: Exact, rail: str
) -> None:
    """An authorization edited after signing is 402 payment_invalid carrying the
    facilitator's reason; nothing settles, nothing runs, the quote stays payable."""
    quoted = gate.quote()
    payload = exact_payment(requirement(quoted, rail))
    payload["payload"]["authorization"]["nonce"] = "0x" + "00" * 32
    refused = gate.post(CHAT, BODY, encode_payment(payload))
    body = assert_envelope(refused, "openai", "payment_invalid")
    assert "invalid_exact_evm_payload_signature" in body["error"]["message"]
    assert len(gate.facilitator.verified) == 1 and gate.facilitator.settled == []
    assert gate.status(quoted)["status"] == "pending"
    assert gate.runs == 0


@pytest.mark.parametrize("rail", EXACT_RAILS)
@pytest.mark.parametrize("delta", [-1, 1], ids=["one-unit-short", "one-unit-more"])
def test_a_payment_of_another_amount_is_refused_before_the_facilitator(
    gate: Exact, rail: str, delta: int
) -> None:
    """An X-PAYMENT for one atomic unit less or more than the quote is 402 payment_invalid,
    decided by the gateway itself: the facilitator is never asked."""
    quoted = gate.quote()
    amount = int(requirement(quoted, rail)["maxAmountRequired"])
    refused = gate.post(CHAT, BODY, pay(quoted, rail, value=amount + delta))
    body = assert_envelope(refused, "openai", "payment_invalid")
    assert str(amount) in body["error"]["message"]
    assert gate.facilitator.verified == [] and gate.facilitator.settled == []
    assert gate.runs == 0


@pytest.mark.parametrize("rail", EXACT_RAILS)
def test_a_payment_to_another_address_is_refused(gate: Exact, rail: str) -> None:
    """An X-PAYMENT paying another address than the quote's payTo is 402 payment_invalid,
    and the facilitator is never asked."""
    quoted = gate.quote()
    elsewhere = {**requirement(quoted, rail), "payTo": "0x" + "cd" * 20}
    refused = gate.post(CHAT, BODY, encode_payment(exact_payment(elsewhere)))
    body = assert_envelope(refused, "openai", "payment_invalid")
    assert "payTo" in body["error"]["message"]
    assert gate.facilitator.verified == [] and gate.facilitator.settled == []
    assert gate.runs == 0


def test_a_payment_on_a_network_the_quote_does_not_offer_is_refused(gate: Exact) -> None:
    """An X-PAYMENT on a network no exact offer of the quote names is 402 payment_invalid,
    and the facilitator is never asked."""
    quoted = gate.quote()
    refused = gate.post(CHAT, BODY, pay(quoted, "x402-exact", network="base-sepolia"))
    body = assert_envelope(refused, "openai", "payment_invalid")
    assert "base-sepolia" in body["error"]["message"]
    assert gate.facilitator.verified == [] and gate.facilitator.settled == []
    assert gate.runs == 0


# Expiry and malformed payments ---------------------------------------------------------


@pytest.mark.parametrize("rail", EXACT_RAILS)
def test_a_payment_after_the_quote_expired_is_gone(gate: Exact, rail: str) -> None:
    """Past the quote's ``expiresAt`` a replay is 410 payment_expired, nothing is settled,
    and the payment's status says expired."""
    quoted = gate.quote()
    payment = pay(quoted, rail)
    expires = datetime.fromisoformat(quoted["payment"]["expiresAt"])
    gate.clock.offset = expires - datetime.now(UTC) + timedelta(seconds=1)
    refused = gate.post(CHAT, BODY, payment)
    assert_envelope(refused, "openai", "payment_expired")
    assert gate.facilitator.verified == [] and gate.facilitator.settled == []
    assert gate.status(quoted)["status"] == "expired"
    assert gate.runs == 0


MALFORMED = {
    "not-base64": ("%%% not base64 %%%", "base64"),
    "not-json": (base64.b64encode(b"not json at all").decode(), "JSON"),
    "json-array": (base64.b64encode(b"[1, 2]").decode(), "object"),
    "version-2": (
        encode_payment({"x402Version": 2, "scheme": "exact", "network": "base", "payload": {}}),
        "version 1",
    ),
}


@pytest.mark.parametrize("header,says", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_x_payment_is_invalid_with_a_clear_message(
    gate: Exact, header: str, says: str
) -> None:
    """An X-PAYMENT that is not base64, not JSON, not an object or not x402 version 1 is
    402 payment_invalid whose message says what is wrong; nothing else happens."""
    quoted = gate.quote()
    refused = gate.post(CHAT, BODY, header)
    body = assert_envelope(refused, "openai", "payment_invalid")
    assert says in body["error"]["message"] and "X-PAYMENT" in body["error"]["message"]
    assert gate.facilitator.verified == []
    assert gate.status(quoted)["status"] == "pending"
    assert gate.runs == 0


# The facilitator refuses or fails --------------------------------------------------------


@pytest.mark.parametrize("rail", EXACT_RAILS)
def test_a_refused_settlement_leaves_the_quote_payable(gate: Exact, rail: str) -> None:
    """When the facilitator refuses to settle, the replay is 402 payment_invalid with its
    reason and runs nothing; a new valid X-PAYMENT for the same quote then succeeds."""
    quoted = gate.quote()
    gate.facilitator.refuse_settle_next("insufficient_funds")
    refused = gate.post(CHAT, BODY, pay(quoted, rail))
    body = assert_envelope(refused, "openai", "payment_invalid")
    assert "insufficient_funds" in body["error"]["message"]
    assert gate.facilitator.settled == [] and gate.runs == 0
    assert gate.status(quoted)["status"] == "pending"
    answer = gate.post(CHAT, BODY, pay(quoted, rail))
    assert answer.status_code == 200, answer.text
    assert len(gate.facilitator.settled) == 1 and gate.runs == 1


@pytest.mark.parametrize("rail", EXACT_RAILS)
def test_a_facilitator_that_is_down_is_503_and_a_retry_succeeds(gate: Exact, rail: str) -> None:
    """A facilitator answering 500 to verify makes the replay 503 (retryable), with nothing
    settled or run; the same X-PAYMENT sent again then succeeds."""
    quoted = gate.quote()
    payment = pay(quoted, rail)
    gate.facilitator.fail_next(status=500)
    down = gate.post(CHAT, BODY, payment)
    assert_envelope(down, "openai", "service_unavailable")
    assert "retry-after" in down.headers
    assert gate.facilitator.settled == [] and gate.runs == 0
    assert gate.status(quoted)["status"] == "pending"
    answer = gate.post(CHAT, BODY, payment)
    assert answer.status_code == 200, answer.text
    assert len(gate.facilitator.settled) == 1 and gate.runs == 1


def test_an_exact_quote_cannot_be_completed_before_it_is_paid(gate: Exact) -> None:
    """POST completeUrl of an exact quote nobody paid is 402 payment_pending: nothing runs,
    and the quote can still be paid by replay."""
    quoted = gate.quote()
    unpaid = gate.http.post(quoted["payment"]["completeUrl"])
    assert_envelope(unpaid, "openai", "payment_pending")
    assert gate.runs == 0
    assert gate.post(CHAT, BODY, pay(quoted, "nano-exact")).status_code == 200


# Concurrency and failed runs -------------------------------------------------------------


@pytest.mark.parametrize("rail", EXACT_RAILS)
async def test_concurrent_replays_of_one_payment_run_once(gate: Exact, rail: str) -> None:
    """Ten concurrent replays with the same valid X-PAYMENT: exactly one 200, nine 409s,
    one settlement, one run of the model."""
    quoted = await asyncio.to_thread(gate.quote)
    payment = pay(quoted, rail)
    async with httpx.AsyncClient(base_url=gate.live.url, timeout=30) as client:
        answers = await asyncio.gather(
            *(client.post(CHAT, json=BODY, headers={"x-payment": payment}) for _ in range(10))
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * 9, [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert_envelope(answer, "openai", "payment_already_completed")
    assert len(gate.facilitator.settled) == 1
    assert gate.runs == 1


@pytest.mark.parametrize("rail", EXACT_RAILS)
def test_a_run_that_fails_after_settlement_can_be_completed(gate: Exact, rail: str) -> None:
    """A paid replay whose model fails still answers X-PAYMENT-RESPONSE; the payment is
    then ``paid``, and POST completeUrl runs the request once and answers it."""
    quoted = gate.quote()
    gate.upstream.inject(Fault.status_error(500))
    failed = gate.post(CHAT, BODY, pay(quoted, rail))
    assert failed.status_code >= 500, failed.text
    assert failed.json()["error"]["code"]
    settlement = decoded(failed.headers["x-payment-response"])
    assert settlement["success"] is True
    assert settlement["paymentId"] == quoted["payment"]["paymentId"]
    assert len(gate.facilitator.settled) == 1 and gate.runs == 1
    assert gate.status(quoted)["status"] == "paid"
    completed = gate.http.post(quoted["payment"]["completeUrl"])
    assert completed.status_code == 200, completed.text
    assert completed.json()["choices"][0]["message"]["content"] == gate.upstream.reply
    assert completed.json()["x_nanogpt_pricing"]["paymentSource"] == "x402"
    assert gate.status(quoted)["status"] == "completed"
    again = gate.http.post(quoted["payment"]["completeUrl"])
    assert_envelope(again, "openai", "payment_already_completed")
    assert len(gate.facilitator.settled) == 1 and gate.runs == 2


def test_a_failed_run_may_be_run_again_by_replaying_its_x_payment(gate: Exact) -> None:
    """After a paid run fails, the same X-PAYMENT replayed runs the request again without a
    second verification or settlement; once answered, it is refused like any used one."""
    quoted = gate.quote()
    payment = pay(quoted, "x402-exact")
    gate.upstream.inject(Fault.status_error(500))
    assert gate.post(CHAT, BODY, payment).status_code >= 500
    answer = gate.post(CHAT, BODY, payment)
    assert answer.status_code == 200, answer.text
    assert decoded(answer.headers["x-payment-response"])["success"] is True
    assert len(gate.facilitator.verified) == 1 and len(gate.facilitator.settled) == 1
    assert gate.status(quoted)["status"] == "completed"
    assert_envelope(gate.post(CHAT, BODY, payment), "openai", "payment_already_completed")
    assert gate.runs == 2


def test_an_open_circuit_never_uses_up_a_settled_payment(gate: Exact) -> None:
    """With the model's circuit open (tripped by a keyed request), replays of a settled
    X-PAYMENT are 503 model_not_available without calling the upstream, more times than
    ``max_runs``: the payment stays paid, and once the circuit lets a request through,
    the same X-PAYMENT completes it."""
    breaker = resting_breakers(gate.live)
    gate.upstream.inject(Fault.status_error(500))
    tripped = gate.http.post(CHAT, json=BODY, headers=gate.live.auth())
    assert tripped.status_code == 503, tripped.text
    quoted = gate.quote()
    payment = pay(quoted, "x402-exact")
    payment_id = quoted["payment"]["paymentId"]
    for _ in range(4):
        refused = gate.post(CHAT, BODY, payment)
        assert refused.status_code == 503
        assert_envelope(refused, "openai", "model_not_available")
        assert decoded(refused.headers["x-payment-response"])["success"] is True
        record = stored(gate.live.settings, payment_id)
        assert (record.status, record.runs) == ("paid", 0), record.last_error
    assert len(gate.facilitator.settled) == 1 and gate.runs == 1
    breaker.now += 61
    answer = gate.post(CHAT, BODY, payment)
    assert answer.status_code == 200, answer.text
    assert gate.status(quoted)["status"] == "completed"
    assert len(gate.facilitator.settled) == 1 and gate.runs == 2


# Secrets and opting in ---------------------------------------------------------------------


def test_x_payment_never_reaches_the_logs(gate: Exact, caplog: pytest.LogCaptureFixture) -> None:
    """Neither the X-PAYMENT value nor its signature appears in any log record, on the
    refusals (malformed, tampered, wrong amount, refused settlement) nor on success."""
    caplog.set_level(logging.DEBUG)
    quoted = gate.quote()
    needed = requirement(quoted, "x402-exact")
    tampered = exact_payment(needed)
    tampered["payload"]["authorization"]["nonce"] = "0x" + "11" * 32
    short = exact_payment(needed, value=int(needed["maxAmountRequired"]) - 1)
    refused, good = exact_payment(needed), exact_payment(needed)
    secrets = [p["payload"]["signature"] for p in (tampered, short, refused, good)]
    headers = [encode_payment(p) for p in (tampered, short, refused, good)]
    garbage = "eyJzZWNyZXQiOiAiZG8tbm90LWxvZy1tZSJ9-not-base64"
    assert gate.post(CHAT, BODY, headers[0]).status_code == 402
    assert gate.post(CHAT, BODY, headers[1]).status_code == 402
    assert gate.post(CHAT, BODY, garbage).status_code == 402
    gate.facilitator.refuse_settle_next()
    assert gate.post(CHAT, BODY, headers[2]).status_code == 402
    assert gate.post(CHAT, BODY, headers[3]).status_code == 200
    assert gate.post(CHAT, BODY, headers[3]).status_code == 409
    assert any(r.name.startswith("nanogate") for r in caplog.records), "nothing captured"
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.__dict__}" for r in caplog.records)
    for secret in [*headers, garbage, *secrets]:
        assert secret not in logged


def test_with_opt_in_required_only_opted_in_requests_are_quoted(serve_exact: ExactFactory) -> None:
    """With ``require_opt_in``, a request without credentials is 401 missing_api_key unless
    it sends ``x-x402: true`` (then 402 with a quote); an X-PAYMENT replay counts as
    opted in."""
    gate = serve_exact(require_opt_in=True)
    assert_envelope(gate.post(CHAT, BODY), "openai", "missing_api_key")
    assert_envelope(gate.post(CHAT, BODY, **{"x-x402": "false"}), "openai", "missing_api_key")
    quote = gate.post(CHAT, BODY, **{"x-x402": "true"})
    assert quote.status_code == 402, quote.text
    quoted = quote.json()
    assert quoted["payment"]["paymentId"].startswith("pay_")
    answer = gate.post(CHAT, BODY, pay(quoted, "x402-exact"))
    assert answer.status_code == 200, answer.text
    assert decoded(answer.headers["x-payment-response"])["success"] is True
    assert gate.runs == 1


def test_a_settlement_whose_outcome_is_unknown_is_held_and_runs_nothing(gate: Exact) -> None:
    """The facilitator settles but its answer is lost: the replay is 409 payment_failed
    (never retried into a second charge), nothing runs, and the payment is held as
    failed with the payer noted for the operator."""
    quoted = gate.quote()
    gate.facilitator.fail_settle_next(502)
    lost = gate.post(CHAT, BODY, pay(quoted, "x402-exact"))
    body = assert_envelope(lost, "openai", "payment_failed")
    assert lost.status_code == 409 and lost.headers["x-should-retry"] == "false"
    assert "held for the operator" in body["error"]["message"] and gate.runs == 0
    assert gate.status(quoted)["status"] == "failed"
    again = gate.http.post(quoted["payment"]["completeUrl"])
    assert_envelope(again, "openai", "payment_failed")
    assert "could not be confirmed" in again.json()["error"]["message"] and gate.runs == 0


def test_a_quote_whose_rail_was_withdrawn_is_refused_cleanly(serve_exact: ExactFactory) -> None:
    """A quote made while x402-exact was offered, replayed on a gateway (same database)
    that no longer offers it: 402 payment_invalid, nothing settled, the quote untouched."""
    before = serve_exact()
    quoted = before.quote()
    after = serve_exact(rails=("nano-exact",))
    refused = after.post(CHAT, BODY, pay(quoted, "x402-exact"))
    body = assert_envelope(refused, "openai", "payment_invalid")
    assert "no longer accepted" in body["error"]["message"]
    assert after.facilitator.verified == [] and after.status(quoted)["status"] == "pending"


@pytest.mark.parametrize(
    ("surface", "path", "body"),
    [
        ("openai", CHAT, BODY),
        ("anthropic", MESSAGES, BODY),
        ("legacy", "/api/talk-to-gpt", {"model": "acme/chat", "prompt": "hi"}),
    ],
)
def test_a_refused_x_payment_answers_in_its_surfaces_envelope(
    gate: Exact, surface: str, path: str, body: dict[str, Any]
) -> None:
    """payment_invalid comes in the envelope of the endpoint replayed (OpenAI, Anthropic,
    legacy), like every other error of that endpoint."""
    refused = gate.post(path, body, "not-a-payment")
    assert_envelope(refused, surface, "payment_invalid")
    assert gate.facilitator.verified == [] and gate.runs == 0


def test_a_replay_that_turns_memory_on_by_header_is_refused(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    facilitator: tuple[FakeFacilitator, str],
    upstream: tuple[FakeUpstream, str],
) -> None:
    """The request hash covers the body, not the ``memory`` header: a replay that adds
    ``memory: true`` to a quoted conversation too long for memory's budget would cost
    more than its quote, and is 402 ``payment_invalid``; nothing is verified, settled,
    compressed or run."""
    settings = exact_settings(tmp_path, facilitator[1], upstream[1])
    settings = settings.model_copy(
        update={
            "memory": settings.memory.model_copy(
                update={
                    "enabled": True,
                    "secret": SecretStr("x402-memory-test-secret-0123456789"),
                    "input_usd_per_mtok": Decimal(1000),
                }
            )
        }
    )
    exact = Exact(serve_gateway(settings), facilitator[0], upstream[0], Clock())
    turn = {"role": "user", "content": ""}
    body = {
        "model": "acme/chat",
        "messages": [
            turn,
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "and?"},
        ],
    }
    n = 0
    while count_chat_tokens(body["messages"]) < 7400:  # within 8,192, beyond memory's budget
        n += 1
        turn["content"] += f" w{n}"
    quoted = exact.quote(CHAT, body)
    refused = exact.post(CHAT, body, pay(quoted, "x402-exact"), memory="true")
    error = assert_envelope(refused, "openai", "payment_invalid")
    assert "costs more than its quote" in error["error"]["message"]
    assert exact.facilitator.verified == [] and exact.facilitator.settled == []
    assert exact.runs == 0
    exact.http.close()
