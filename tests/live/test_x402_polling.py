"""Polling rails over real sockets: pay the quote's ``payTo`` on a (fake) Nano node or
EVM chain, poll ``statusUrl``, then ``POST completeUrl`` to run the stored request once.

Every refusal is checked to run nothing: the fake upstream counts the requests it got.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.conftest import LiveFactory
from tests.helpers import assert_envelope, run_sync, wait_until
from tests.x402_helpers import (
    BODY,
    CHAT,
    EVM_POOL,
    MODEL,
    NANO_POOL,
    Clock,
    Peers,
    offer,
    quote,
    resting_breakers,
    serve_peers,
    stored,
    stored_receipts,
    x402_settings,
)

from nanogate.config import RailSettings, Settings
from nanogate.core import SSEDecoder
from nanogate.server._state import utc_now
from nanogate.storage import RequestRecord, SQLStore
from nanogate.testing import FakeFacilitator, Fault, ServedAioHTTP, exact_payment
from nanogate.x402 import encode_payment


@pytest.fixture
def peers() -> Iterator[Peers]:
    yield from serve_peers()


def _status(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)


def _complete(url: str) -> httpx.Response:
    return httpx.post(url, timeout=10)


def recorded(settings: Settings, request_id: str) -> RequestRecord | None:
    """The request's line in the request log, once written."""

    async def read() -> RequestRecord | None:
        store = SQLStore(settings.database.url)
        try:
            return await store.get_request(request_id)
        finally:
            await store.close()

    return run_sync(read())


def test_a_nano_payment_confirmed_on_the_node_completes_the_request_once(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """Quote → a confirmed Nano send of the amount to payTo → status paid → complete
    answers the stored request (paid by x402) → status completed, with its request id."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    payment = quote(live.url)
    nano = offer(payment, "nano")
    assert nano["payTo"] in NANO_POOL and int(nano["amount"]) > 0
    pending = _status(payment["statusUrl"])
    assert pending.json()["status"] == "pending" and pending.headers["retry-after"] == "2"

    peers.nano.send(nano["payTo"], int(nano["amount"]))
    paid = _status(payment["statusUrl"])
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert "retry-after" not in paid.headers and paid.json()["paidWith"] == "nano"
    actions = {call["action"] for call in peers.nano.calls}
    assert actions == {"receivable", "block_info"}
    asked = sum(call["action"] == "block_info" for call in peers.nano.calls)
    assert _status(payment["statusUrl"]).json()["status"] == "paid"
    assert sum(call["action"] == "block_info" for call in peers.nano.calls) == asked

    answer = _complete(payment["completeUrl"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["choices"][0]["message"]["content"] == "Paid answer."
    assert body["x_nanogpt_pricing"]["paymentSource"] == "x402"
    assert len(peers.upstream.requests) == 1
    done = _status(payment["statusUrl"]).json()
    assert done["status"] == "completed" and done["requestId"] == answer.headers["x-request-id"]


def test_a_usdc_transfer_on_base_counts_once_it_has_its_confirmations(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """A USDC ``Transfer`` to payTo leaves the payment pending until the chain has the
    configured confirmations; then it is paid and completes."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    payment = quote(live.url)
    usdc = offer(payment, "base-usdc")
    assert usdc["payTo"] in EVM_POOL and usdc["asset"].lower() == peers.evm.token
    peers.evm.transfer(usdc["payTo"], int(usdc["amount"]))
    assert _status(payment["statusUrl"]).json()["status"] == "pending"
    peers.evm.mine()
    assert _status(payment["statusUrl"]).json()["status"] == "paid"
    answer = _complete(payment["completeUrl"])
    assert answer.status_code == 200 and len(peers.upstream.requests) == 1


def test_an_underpaid_payment_is_refused_until_the_rest_arrives(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """Half the amount: status underpaid (Retry-After), complete → 402 payment_pending
    and nothing runs; the other half: paid, and complete answers."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    payment = quote(live.url)
    nano = offer(payment, "nano")
    amount = int(nano["amount"])
    peers.nano.send(nano["payTo"], amount // 2)
    status = _status(payment["statusUrl"])
    assert status.json()["status"] == "underpaid" and status.headers["retry-after"] == "2"
    rails = {r["scheme"]: r for r in status.json()["rails"]}
    assert rails["nano"]["received"] == str(amount // 2)
    refused = _complete(payment["completeUrl"])
    body = assert_envelope(refused, "openai", "payment_pending")
    assert refused.status_code == 402 and "of " + str(amount) in body["error"]["message"]
    assert peers.upstream.requests == []
    peers.nano.send(nano["payTo"], amount - amount // 2)
    assert _complete(payment["completeUrl"]).status_code == 200


def test_unconfirmed_and_earlier_blocks_are_not_counted(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """A send the network has not confirmed, or one that arrived before the quote (a
    previous payer's), does not pay the quote."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    payment = quote(live.url)
    nano = offer(payment, "nano")
    amount = int(nano["amount"])
    unconfirmed = peers.nano.send(nano["payTo"], amount, confirmed=False)
    created = stored(live.settings, payment["paymentId"]).created_at
    peers.nano.send(nano["payTo"], amount, at=created - timedelta(seconds=5))
    assert _status(payment["statusUrl"]).json()["status"] == "pending"
    peers.nano.confirm(unconfirmed)
    assert _status(payment["statusUrl"]).json()["status"] == "paid"


def test_completing_twice_is_refused_and_runs_nothing(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """A second complete → 409 payment_already_completed; the upstream ran once."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    payment = quote(live.url)
    nano = offer(payment, "nano")
    peers.nano.send(nano["payTo"], int(nano["amount"]))
    assert _complete(payment["completeUrl"]).status_code == 200
    again = _complete(payment["completeUrl"])
    assert_envelope(again, "openai", "payment_already_completed")
    assert again.status_code == 409 and again.headers["x-should-retry"] == "false"
    assert len(peers.upstream.requests) == 1


def test_concurrent_completes_run_the_request_exactly_once(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """Twelve concurrent completes of one paid payment: one 200, eleven 409, and the
    upstream got exactly one request."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    payment = quote(live.url)
    nano = offer(payment, "nano")
    peers.nano.send(nano["payTo"], int(nano["amount"]))
    assert _status(payment["statusUrl"]).json()["status"] == "paid"

    async def race() -> list[int]:
        async with httpx.AsyncClient(timeout=20) as client:
            answers = await asyncio.gather(
                *(client.post(payment["completeUrl"]) for _ in range(12))
            )
        return sorted(a.status_code for a in answers)

    assert asyncio.run(race()) == [200] + [409] * 11
    assert len(peers.upstream.requests) == 1


def test_an_unpaid_quote_expires_and_cannot_be_completed(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """Past expiresAt with nothing received: status expired (no Retry-After), complete →
    410 payment_expired, nothing runs."""
    clock = Clock()
    live = serve_gateway(x402_settings(tmp_path, peers, quote_ttl_s=60), clock=clock)
    payment = quote(live.url)
    clock.offset = timedelta(seconds=61)
    status = _status(payment["statusUrl"])
    assert status.json()["status"] == "expired" and "retry-after" not in status.headers
    refused = _complete(payment["completeUrl"])
    assert refused.status_code == 410
    assert_envelope(refused, "openai", "payment_expired")
    assert peers.upstream.requests == []


def _pay(peers: Peers, rail: str, pay_to: str, amount: int, at: datetime) -> Callable[[], None]:
    """Send ``amount`` to ``pay_to`` on ``rail``, arrived (Nano) or mined (Base) ``at``,
    not yet confirmed; the function that confirms it."""
    if rail == "nano":
        block = peers.nano.send(pay_to, amount, at=at, confirmed=False)
        return lambda: peers.nano.confirm(block)
    peers.evm.transfer(pay_to, amount, at=at)  # one confirmation of the two required
    return peers.evm.mine


@pytest.mark.parametrize("rail", ["nano", "base-usdc"])
@pytest.mark.parametrize("order", ["polled first", "paid first"])
def test_funds_that_arrive_after_expiry_never_pay_the_quote(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers, rail: str, order: str
) -> None:
    """A payment is judged by when its funds arrived: funds arriving after expiresAt
    leave it expired whether or not its status was polled first; they are recorded on
    it as late (for the operator's refund), complete is 410, and nothing runs."""
    clock = Clock()
    live = serve_gateway(x402_settings(tmp_path, peers, quote_ttl_s=60), clock=clock)
    payment = quote(live.url)
    entry = offer(payment, rail)
    amount = int(entry["amount"])
    clock.offset = timedelta(seconds=61)
    if order == "polled first":
        assert _status(payment["statusUrl"]).json()["status"] == "expired"
    _pay(peers, rail, entry["payTo"], amount, at=clock())()
    status = _status(payment["statusUrl"]).json()
    assert status["status"] == "expired"
    rails = {r["scheme"]: r for r in status["rails"]}
    assert (rails[rail]["received"], rails[rail]["late"]) == ("0", str(amount))
    refused = _complete(payment["completeUrl"])
    assert refused.status_code == 410
    body = assert_envelope(refused, "openai", "payment_expired")
    assert f"0 before and {amount} after expiresAt" in body["error"]["message"]
    assert "refund" in body["error"]["message"]
    assert _status(payment["statusUrl"]).json()["status"] == "expired"
    assert peers.upstream.requests == []


@pytest.mark.parametrize("rail", ["nano", "base-usdc"])
@pytest.mark.parametrize("order", ["polled first", "paid first"])
def test_funds_that_arrived_before_expiry_pay_it_even_when_first_seen_after(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers, rail: str, order: str
) -> None:
    """Funds that arrived before expiresAt but were confirmed or first looked at after it
    make the payment paid, whether its status was polled in between (expired until the
    funds are confirmed) or not; it completes."""
    clock = Clock()
    live = serve_gateway(x402_settings(tmp_path, peers, quote_ttl_s=60), clock=clock)
    payment = quote(live.url)
    entry = offer(payment, rail)
    expires = datetime.fromisoformat(payment["expiresAt"])
    confirm = _pay(
        peers, rail, entry["payTo"], int(entry["amount"]), expires - timedelta(seconds=5)
    )
    clock.offset = timedelta(seconds=61)
    if order == "polled first":
        assert _status(payment["statusUrl"]).json()["status"] == "expired"
    confirm()
    status = _status(payment["statusUrl"]).json()
    assert status["status"] == "paid"
    rails = {r["scheme"]: r for r in status["rails"]}
    assert (rails[rail]["received"], rails[rail]["late"]) == (entry["amount"], "0")
    assert _complete(payment["completeUrl"]).status_code == 200
    assert len(peers.upstream.requests) == 1


def test_a_payment_short_at_expiry_is_not_completed_by_late_funds(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """Half the amount in time and the rest after expiresAt: expired, with both parts on
    record (in time and late) for the refund, and complete is 410."""
    clock = Clock()
    live = serve_gateway(x402_settings(tmp_path, peers, quote_ttl_s=60), clock=clock)
    payment = quote(live.url)
    nano = offer(payment, "nano")
    amount = int(nano["amount"])
    peers.nano.send(nano["payTo"], amount // 2, at=clock())
    assert _status(payment["statusUrl"]).json()["status"] == "underpaid"
    clock.offset = timedelta(seconds=61)
    peers.nano.send(nano["payTo"], amount - amount // 2, at=clock())
    status = _status(payment["statusUrl"]).json()
    rails = {r["scheme"]: r for r in status["rails"]}
    assert status["status"] == "expired"
    assert (rails["nano"]["received"], rails["nano"]["late"]) == (
        str(amount // 2),
        str(amount - amount // 2),
    )
    assert _complete(payment["completeUrl"]).status_code == 410
    receipts = stored_receipts(live.settings, payment["paymentId"])
    assert [r.arrived_at >= datetime.fromisoformat(payment["expiresAt"]) for r in receipts] == [
        False,
        True,
    ]


def test_an_expired_payment_is_no_longer_watched_once_its_address_moved_on(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """After expiry plus the address quarantine, funds sent to the old address are not
    credited to the expired payment (they may be the next payer's)."""
    clock = Clock()
    settings = x402_settings(tmp_path, peers, quote_ttl_s=60, address_quarantine_s=60)
    live = serve_gateway(settings, clock=clock)
    payment = quote(live.url)
    nano = offer(payment, "nano")
    clock.offset = timedelta(seconds=200)
    peers.nano.send(nano["payTo"], int(nano["amount"]), at=clock())
    assert _status(payment["statusUrl"]).json()["status"] == "expired"
    assert _complete(payment["completeUrl"]).status_code == 410


def test_unknown_payments_are_404_on_status_and_complete(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """An unknown payment id → 404 payment_not_found on both endpoints."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    for response in (
        _status(live.url + "/api/x402/status/pay_unknown"),
        _complete(live.url + "/api/x402/complete/pay_unknown"),
    ):
        assert response.status_code == 404
        assert_envelope(response, "openai", "payment_not_found")


def test_a_node_that_cannot_be_reached_is_a_503_and_changes_nothing(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """While the Nano node fails, status and complete answer 503 with Retry-After and the
    payment stays pending; when it is back, the payment is seen."""
    live = serve_gateway(x402_settings(tmp_path, peers, rails=("nano",)))
    payment = quote(live.url)
    nano = offer(payment, "nano")
    peers.nano.send(nano["payTo"], int(nano["amount"]))
    peers.nano.fail_next(2, status=500)
    for response in (_status(payment["statusUrl"]), _complete(payment["completeUrl"])):
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert_envelope(response, "openai", "service_unavailable")
    assert stored(live.settings, payment["paymentId"]).status == "pending"
    assert _complete(payment["completeUrl"]).status_code == 200


def test_a_failed_run_leaves_the_payment_paid_to_complete_again(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """The upstream fails the paid request: the complete answers the error, the payment
    is paid again (money not lost), and the next complete answers."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    payment = quote(live.url)
    nano = offer(payment, "nano")
    peers.nano.send(nano["payTo"], int(nano["amount"]))
    peers.upstream.inject(Fault.status_error(500))
    failed = _complete(payment["completeUrl"])
    assert failed.status_code >= 400
    record = stored(live.settings, payment["paymentId"])
    assert record.status == "paid" and record.runs == 1 and record.last_error
    assert _complete(payment["completeUrl"]).status_code == 200
    assert stored(live.settings, payment["paymentId"]).status == "completed"


def test_a_request_that_fails_every_allowed_run_is_held_as_failed(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """After ``max_runs`` failed runs the payment is failed: complete → 409
    payment_failed, and nothing more runs."""
    live = serve_gateway(x402_settings(tmp_path, peers, max_runs=2))
    payment = quote(live.url)
    nano = offer(payment, "nano")
    peers.nano.send(nano["payTo"], int(nano["amount"]))
    peers.upstream.inject(Fault.status_error(500), Fault.status_error(500))
    assert _complete(payment["completeUrl"]).status_code >= 400
    assert _complete(payment["completeUrl"]).status_code >= 400
    assert stored(live.settings, payment["paymentId"]).status == "failed"
    refused = _complete(payment["completeUrl"])
    assert refused.status_code == 409
    assert_envelope(refused, "openai", "payment_failed")
    assert len(peers.upstream.requests) == 2


def test_runs_refused_before_any_upstream_do_not_use_up_the_payment(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """A run that reaches the upstream and fails counts; runs refused by an open circuit
    (no upstream called), more of them than ``max_runs``, do not: the payment stays paid,
    never failed, and completes once the circuit lets a request through again."""
    live = serve_gateway(x402_settings(tmp_path, peers, max_runs=2))
    breaker = resting_breakers(live)
    payment = quote(live.url)
    nano = offer(payment, "nano")
    peers.nano.send(nano["payTo"], int(nano["amount"]))
    peers.upstream.inject(Fault.status_error(500))
    assert _complete(payment["completeUrl"]).status_code == 503
    record = stored(live.settings, payment["paymentId"])
    assert (record.status, record.runs) == ("paid", 1)
    for _ in range(3):
        refused = _complete(payment["completeUrl"])
        assert refused.status_code == 503
        assert_envelope(refused, "openai", "model_not_available")
        record = stored(live.settings, payment["paymentId"])
        assert (record.status, record.runs) == ("paid", 1), record.last_error
        assert "not counted" in (record.last_error or "")
    assert len(peers.upstream.requests) == 1
    breaker.now += 61
    answer = _complete(payment["completeUrl"])
    assert answer.status_code == 200, answer.text
    assert stored(live.settings, payment["paymentId"]).status == "completed"
    assert len(peers.upstream.requests) == 2


def test_a_stored_request_refused_before_dispatch_leaves_the_payment_paid(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """A gateway whose catalogue no longer has the quoted model refuses the stored
    request (404) before any upstream, more times than ``max_runs``, without using up the
    payment; a gateway that has the model completes it."""
    settings = x402_settings(tmp_path, peers, max_runs=1)
    live = serve_gateway(settings)
    payment = quote(live.url)
    nano = offer(payment, "nano")
    peers.nano.send(nano["payTo"], int(nano["amount"]))
    models = tuple(m for m in settings.models if m.id != MODEL)
    without = serve_gateway(settings.model_copy(update={"models": models}))
    complete_url = payment["completeUrl"].replace(live.url, without.url)
    for _ in range(2):
        assert_envelope(_complete(complete_url), "openai", "model_not_found")
        record = stored(settings, payment["paymentId"])
        assert (record.status, record.runs) == ("paid", 0), record.last_error
    assert peers.upstream.requests == []
    assert _complete(payment["completeUrl"]).status_code == 200
    assert stored(settings, payment["paymentId"]).status == "completed"


def test_a_streaming_request_completes_as_a_stream(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """A quoted streaming request, once paid, completes as its SSE stream, ending with
    [DONE]; the payment is then completed."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    payment = quote(live.url, {**BODY, "stream": True})
    nano = offer(payment, "nano")
    peers.nano.send(nano["payTo"], int(nano["amount"]))
    with httpx.stream("POST", payment["completeUrl"], timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = b"".join(response.iter_raw())
    events = list(SSEDecoder().feed(raw))
    assert events[-1].data == "[DONE]" and len(events) > 2
    assert stored(live.settings, payment["paymentId"]).status == "completed"


def test_a_messages_request_completes_in_the_anthropic_dialect(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """A quoted Messages request completes as an Anthropic message; its errors would be
    in the Anthropic envelope."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    body = {"model": "acme/chat", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    payment = quote(live.url, body, "/api/v1/messages")
    nano = offer(payment, "nano")
    peers.nano.send(nano["payTo"], int(nano["amount"]))
    answer = _complete(payment["completeUrl"])
    assert answer.status_code == 200
    assert answer.json()["type"] == "message"
    assert answer.json()["content"][0]["text"] == "Paid answer."
    assert answer.headers["request-id"] == answer.headers["x-request-id"]


def test_a_stored_messages_request_refused_is_in_the_anthropic_envelope(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """The complete answers for its stored request: a Messages request the gateway
    refuses (its model gone) is the Anthropic error, with Anthropic's ``request-id``,
    and the request log records it under the stored path."""
    settings = x402_settings(tmp_path, peers)
    live = serve_gateway(settings)
    body = {"model": "acme/chat", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    payment = quote(live.url, body, "/api/v1/messages")
    nano = offer(payment, "nano")
    peers.nano.send(nano["payTo"], int(nano["amount"]))
    models = tuple(m for m in settings.models if m.id != MODEL)
    without = serve_gateway(settings.model_copy(update={"models": models}))
    answer = _complete(payment["completeUrl"].replace(live.url, without.url))
    assert_envelope(answer, "anthropic", "model_not_found")
    assert answer.headers["request-id"] == answer.headers["x-request-id"]
    request_id = answer.headers["x-request-id"]
    record = wait_until(lambda: recorded(settings, request_id), "the request's log record")
    assert (record.path, record.surface, record.status) == ("/api/v1/messages", "anthropic", 404)


def test_an_address_is_not_offered_twice_while_leased(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """Two open quotes get each pool's two addresses; a third is offered only the rail
    that needs no address (dev). An address stays its quote's until expiresAt plus the
    quarantine, even once completed: a second transfer to it is recorded on that quote
    (for a refund) and never pays the next one."""
    clock = Clock()
    settings = x402_settings(tmp_path, peers, quote_ttl_s=60, address_quarantine_s=60)
    live = serve_gateway(settings, clock=clock)
    first, second = quote(live.url), quote(live.url)
    assert {offer(first, "nano")["payTo"], offer(second, "nano")["payTo"]} == set(NANO_POOL)
    third = quote(live.url)
    assert {o["scheme"] for o in third["accepted"]} == {"dev"}
    address, amount = offer(first, "nano")["payTo"], int(offer(first, "nano")["amount"])
    peers.nano.send(address, amount)
    assert _complete(first["completeUrl"]).status_code == 200
    assert {o["scheme"] for o in quote(live.url)["accepted"]} == {"dev"}
    peers.nano.send(address, amount)  # the payer's wallet sent it twice
    rails = {r["scheme"]: r for r in _status(first["statusUrl"]).json()["rails"]}
    assert rails["nano"]["received"] == str(2 * amount)
    clock.offset = timedelta(seconds=121)
    later = quote(live.url)
    assert offer(later, "nano")["payTo"] in NANO_POOL
    assert _status(later["statusUrl"]).json()["status"] == "pending"


def test_a_quote_with_no_free_address_on_any_rail_is_a_503(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """With only the nano rail and its pool in use, a new quote is 503 with Retry-After
    (nothing to pay with), not a 402 without offers."""
    live = serve_gateway(x402_settings(tmp_path, peers, rails=("nano",)))
    quote(live.url)
    quote(live.url)
    response = httpx.post(live.url + "/api/v1/chat/completions", json=BODY, timeout=10)
    assert response.status_code == 503 and response.headers["retry-after"] == "30"
    assert_envelope(response, "openai", "service_unavailable")


def test_a_run_abandoned_by_a_stopped_gateway_can_be_completed_later(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """A payment left ``processing`` by a gateway process that is still running is
    refused 409; one left by a process that stopped is paid again and completes."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    payment = quote(live.url)
    nano = offer(payment, "nano")
    peers.nano.send(nano["payTo"], int(nano["amount"]))
    assert _status(payment["statusUrl"]).json()["status"] == "paid"

    async def strand(owner: str, status: str) -> bool:
        store = SQLStore(live.settings.database.url)
        try:
            return await store.payments.transition(
                payment["paymentId"], [status], "processing", utc_now(), owner=owner
            )
        finally:
            await store.close()

    assert run_sync(strand(live.app.state.ledger.instance, "paid"))
    assert _complete(payment["completeUrl"]).status_code == 409
    assert _status(payment["statusUrl"]).json()["status"] == "processing"
    assert run_sync(strand("gw_stopped", "processing"))
    assert _status(payment["statusUrl"]).json()["status"] == "paid"
    assert _complete(payment["completeUrl"]).status_code == 200
    assert "abandoned" in (stored(live.settings, payment["paymentId"]).last_error or "")


def test_an_x_payment_never_pays_a_quote_its_polling_rail_already_paid(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """Two clients quote the same request; B pays its quote on Nano; A replays with an
    X-PAYMENT naming no quote: A's payment pays A's open quote, and B's Nano payment
    still completes B's."""
    facilitator = FakeFacilitator()
    with ServedAioHTTP(facilitator.app()) as served:
        exact = RailSettings(facilitator_url=served.url, pay_to=("0x" + "cd" * 20,))
        settings = x402_settings(tmp_path, peers, rails=("nano", "x402-exact"), x402_exact=exact)
        live = serve_gateway(settings)
        first = httpx.post(live.url + CHAT, json=BODY, timeout=10).json()
        second = httpx.post(live.url + CHAT, json=BODY, timeout=10).json()
        nano = offer(second["payment"], "nano")
        peers.nano.send(nano["payTo"], int(nano["amount"]))
        (requirement,) = first["accepts"]
        header = encode_payment(exact_payment(requirement))
        paid = httpx.post(live.url + CHAT, json=BODY, headers={"x-payment": header}, timeout=10)
        assert paid.status_code == 200, paid.text
        assert _status(first["payment"]["statusUrl"]).json()["status"] == "completed"
        assert _complete(second["payment"]["completeUrl"]).status_code == 200
        assert len(peers.upstream.requests) == 2
