"""The client library's x402 helpers against a served gateway, over real sockets.

The gateway offers two rails: ``x402-exact`` (an ``X-PAYMENT`` replay, verified and
settled by a fake facilitator) and ``nano`` (a polling rail, watched on a fake Nano node).
Test wallets pay them as real ones would: the exact wallet signs an authorization the
facilitator accepts, the Nano wallet sends a confirmed block to the quote's ``payTo``.
The client's retry policy is in test mode, so polling never sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import make_settings
from tests.live.test_charging import balance

from nanogate.client import (
    AsyncClient,
    Client,
    PaymentOffer,
    PaymentQuote,
    RetryPolicy,
    encode_payment,
)
from nanogate.config import RailSettings, X402Settings
from nanogate.testing import FakeFacilitator, FakeNanoNode, ServedAioHTTP, exact_payment

BODY: dict[str, Any] = {
    "model": "local/chat",
    "messages": [{"role": "user", "content": "Say hello."}],
    "max_tokens": 32,
}
TREASURY = "0x" + "ab" * 20
NANO_POOL = tuple("nano_" + f"1pool{n}".ljust(60, "1") for n in range(3))


@dataclass
class Rails:
    """A gateway offering ``x402-exact`` and ``nano``, and the fakes behind them."""

    live: Live
    facilitator: FakeFacilitator
    node: FakeNanoNode

    def client(self, **options: Any) -> Client:
        return Client(base_url=self.live.url + "/api/v1", retry=RetryPolicy.for_tests(), **options)

    def async_client(self, **options: Any) -> AsyncClient:
        return AsyncClient(
            base_url=self.live.url + "/api/v1", retry=RetryPolicy.for_tests(), **options
        )


@dataclass
class ExactWallet:
    """Pays ``x402-exact`` offers with an authorization the fake facilitator accepts."""

    paid: list[PaymentOffer] = field(default_factory=list)

    def supports(self, offer: PaymentOffer) -> bool:
        return offer.scheme == "x402-exact"

    def pay(
        self, quote: PaymentQuote, offer: PaymentOffer, requirements: Mapping[str, Any] | None
    ) -> str | None:
        assert requirements is not None
        self.paid.append(offer)
        return encode_payment(exact_payment(requirements))


@dataclass
class AsyncExactWallet:
    """:class:`ExactWallet`, awaited."""

    wallet: ExactWallet = field(default_factory=ExactWallet)

    def supports(self, offer: PaymentOffer) -> bool:
        return self.wallet.supports(offer)

    async def pay(
        self, quote: PaymentQuote, offer: PaymentOffer, requirements: Mapping[str, Any] | None
    ) -> str | None:
        return self.wallet.pay(quote, offer, requirements)


@dataclass
class NanoWallet:
    """Pays ``nano`` offers by sending a confirmed block to the offer's ``payTo``."""

    node: FakeNanoNode
    paid: list[PaymentOffer] = field(default_factory=list)

    def supports(self, offer: PaymentOffer) -> bool:
        return offer.scheme == "nano"

    def pay(
        self, quote: PaymentQuote, offer: PaymentOffer, requirements: Mapping[str, Any] | None
    ) -> str | None:
        self.paid.append(offer)
        self.node.send(offer.pay_to, offer.amount, confirmed=True)
        return None


@dataclass
class NoWallet:
    """A wallet for a rail the gateway does not offer."""

    asked: int = 0

    def supports(self, offer: PaymentOffer) -> bool:
        return offer.scheme == "base-usdc"

    def pay(
        self, quote: PaymentQuote, offer: PaymentOffer, requirements: Mapping[str, Any] | None
    ) -> str | None:
        self.asked += 1
        raise AssertionError("a wallet that supports no offer is never asked to pay")


@pytest.fixture
def rails(serve_gateway: LiveFactory, tmp_path: Path) -> Iterator[Rails]:
    facilitator, node = FakeFacilitator(), FakeNanoNode()
    with ServedAioHTTP(facilitator.app()) as paid, ServedAioHTTP(node.app()) as watched:
        x402 = X402Settings(
            enabled=True,
            rails=("x402-exact", "nano"),
            x402_exact=RailSettings(facilitator_url=paid.url, pay_to=(TREASURY,)),
            nano=RailSettings(node_url=watched.url, pay_to=NANO_POOL, usd_per_unit=Decimal("0.8")),
        )
        settings = make_settings(tmp_path).model_copy(update={"x402": x402})
        yield Rails(serve_gateway(settings), facilitator, node)


def test_pay_with_an_exact_wallet_returns_the_answer_and_its_settlement(rails: Rails) -> None:
    """``client.x402.pay`` with a wallet for ``x402-exact`` quotes the request, replays it
    with the wallet's X-PAYMENT and returns the completion and the decoded
    X-PAYMENT-RESPONSE; the quote is then completed."""
    wallet = ExactWallet()
    with rails.client() as client:
        paid = client.x402.pay("/chat/completions", BODY, wallet)
        status = client.x402.status(paid.quote)
    assert paid.offer.scheme == "x402-exact" and wallet.paid == [paid.offer]
    assert paid.body["choices"][0]["message"]["content"]
    assert paid.body["x_nanogpt_pricing"]["paymentSource"] == "x402"
    assert paid.payment_response is not None
    assert paid.payment_response["success"] is True
    assert paid.payment_response["network"] == "base"
    assert paid.payment_response["paymentId"] == paid.quote.payment_id
    assert paid.payment_response["transaction"].startswith("0x")
    assert len(rails.facilitator.settled) == 1
    assert status.status == "completed" and not status.waiting


def test_pay_on_the_nano_rail_polls_and_completes(rails: Rails) -> None:
    """``client.x402.pay`` with a Nano wallet sends the quoted amount to ``payTo``, polls
    the status until the node's block counts, completes the payment and returns the
    answer, without sleeping (test-mode retry policy)."""
    wallet = NanoWallet(rails.node)
    with rails.client() as client:
        paid = client.x402.pay("/chat/completions", BODY, wallet)
        status = client.x402.status(paid.quote.payment_id)
    assert paid.offer.scheme == "nano" and paid.offer.pay_to in NANO_POOL
    assert wallet.paid == [paid.offer] and paid.offer.amount > 0
    assert paid.payment_response is None
    assert paid.body["choices"][0]["message"]["content"]
    assert paid.body["x_nanogpt_pricing"]["paymentSource"] == "x402"
    assert status.status == "completed"
    nano = next(r for r in status.rails if r["scheme"] == "nano")
    assert int(nano["received"]) == paid.offer.amount
    assert rails.facilitator.verified == []


async def test_the_async_client_pays_an_exact_offer_too(rails: Rails) -> None:
    """``AsyncClient.x402.pay`` with an async wallet does what the sync client does: the
    answer, and the decoded X-PAYMENT-RESPONSE of its settlement."""
    wallet = AsyncExactWallet()
    async with rails.async_client() as client:
        paid = await client.x402.pay("/chat/completions", BODY, wallet)
        status = await client.x402.status(paid.quote)
    assert paid.offer.scheme == "x402-exact" and wallet.wallet.paid == [paid.offer]
    assert paid.body["choices"][0]["message"]["content"]
    assert paid.payment_response is not None and paid.payment_response["success"] is True
    assert paid.payment_response["paymentId"] == paid.quote.payment_id
    assert len(rails.facilitator.settled) == 1
    assert status.status == "completed"


def test_a_wallet_that_supports_no_offer_pays_nothing(rails: Rails) -> None:
    """A wallet that supports none of the offers makes ``pay`` raise ValueError naming the
    rails offered; the wallet is never asked to pay and nothing is verified or settled."""
    wallet = NoWallet()
    with rails.client() as client:
        with pytest.raises(ValueError, match="x402-exact, nano"):
            client.x402.pay("/chat/completions", BODY, wallet)
    assert wallet.asked == 0
    assert rails.facilitator.verified == [] and rails.facilitator.settled == []


def test_a_client_with_an_api_key_still_pays_per_request(rails: Rails) -> None:
    """x402 calls never carry the client's credential: a client holding an API key is
    quoted and paid like any other, and its account's balance does not move."""
    before = balance(rails.live)
    with rails.client(api_key=rails.live.key) as client:
        paid = client.x402.pay("/chat/completions", BODY, ExactWallet())
    assert paid.body["x_nanogpt_pricing"]["paymentSource"] == "x402"
    assert balance(rails.live) == before
