"""Shared set-up of the x402 tests: a priced model on a fake upstream, fake payment
peers on loopback, and a gateway whose rails point at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import Live
from tests.helpers import make_settings, run_sync, with_provider

from nanogate.config import ProviderSettings, RailSettings, Settings, X402Settings
from nanogate.routing import Breakers
from nanogate.storage import SQLStore, StoredPayment, StoredReceipt
from nanogate.testing import FakeEvmNode, FakeNanoNode, FakeUpstream, ServedAioHTTP
from nanogate.x402 import USDC, XNO

CHAT = "/api/v1/chat/completions"
MODEL = "acme/chat"
BODY: dict[str, Any] = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 100,
}
XNO_USD = Decimal("0.85")
"""The configured price source: dollars per XNO."""
NANO_POOL = tuple(f"nano_1pool{n}" + "x" * 50 for n in "ab")
EVM_POOL = ("0x" + "a1" * 20, "0x" + "b2" * 20)
TOKEN = "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913"


@dataclass
class Peers:
    """The fake upstream and payment peers, served on loopback."""

    upstream: FakeUpstream
    nano: FakeNanoNode
    evm: FakeEvmNode
    urls: dict[str, str] = field(default_factory=dict)


def serve_peers() -> Iterator[Peers]:
    """Serve a fake upstream, Nano node and EVM node for the duration of a fixture."""
    peers = Peers(FakeUpstream(reply="Paid answer."), FakeNanoNode(), FakeEvmNode(TOKEN))
    served = {
        "upstream": ServedAioHTTP(peers.upstream.app()).__enter__(),
        "nano": ServedAioHTTP(peers.nano.app()).__enter__(),
        "evm": ServedAioHTTP(peers.evm.app()).__enter__(),
    }
    peers.urls = {name: s.url for name, s in served.items()}
    yield peers
    for server in served.values():
        server.__exit__(None, None, None)


def x402_settings(tmp_path: Path, peers: Peers, **x402: Any) -> Settings:
    """The test defaults plus ``acme/chat`` (priced) on the fake upstream, and x402 on the
    nano, base-usdc and dev rails (``x402`` overrides any setting)."""
    settings = with_provider(
        make_settings(tmp_path),
        ProviderSettings(
            name="fake", kind="openai", base_url=peers.urls["upstream"] + "/v1", timeout_s=2.0
        ),
        [
            {
                "id": MODEL,
                "provider": "fake",
                "upstream_model": "fake-chat",
                "input_usd_per_mtok": "3",
                "output_usd_per_mtok": "15",
            }
        ],
    )
    options: dict[str, Any] = {
        "enabled": True,
        "rails": ("nano", "base-usdc", "dev"),
        "nano": RailSettings(pay_to=NANO_POOL, node_url=peers.urls["nano"], usd_per_unit=XNO_USD),
        "base_usdc": RailSettings(
            pay_to=EVM_POOL, node_url=peers.urls["evm"], asset=TOKEN, confirmations=2
        ),
        **x402,
    }
    return settings.model_copy(update={"x402": X402Settings(**options)})


class Clock:
    """A controllable clock: real time plus an offset a test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class Monotonic:
    """A monotonic clock for circuit breakers that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def resting_breakers(live: Live, cooldown_s: float = 60.0) -> Monotonic:
    """Give a served gateway circuit breakers that open on one failure and rest until the
    test moves the returned clock past ``cooldown_s``; call before the first request."""
    clock = Monotonic()
    live.app.state.breakers = Breakers(1, cooldown_s, clock)
    return clock


def quote(url: str, body: dict[str, Any] | None = None, path: str = CHAT) -> dict[str, Any]:
    """Send ``body`` without credentials and return the 402's ``payment`` object."""
    response = httpx.post(url + path, json=body or BODY, timeout=10)
    assert response.status_code == 402, response.text
    payment: dict[str, Any] = response.json()["payment"]
    return payment


def offer(payment: dict[str, Any], scheme: str) -> dict[str, Any]:
    """The ``accepted`` entry of rail ``scheme``."""
    entry: dict[str, Any] = next(o for o in payment["accepted"] if o["scheme"] == scheme)
    return entry


def stored(settings: Settings, payment_id: str) -> StoredPayment:
    """The payment as the database holds it."""

    async def read() -> StoredPayment:
        store = SQLStore(settings.database.url)
        try:
            found = await store.payments.get(payment_id)
            assert found is not None
            return found
        finally:
            await store.close()

    return run_sync(read())


def stored_receipts(settings: Settings, payment_id: str) -> list[StoredReceipt]:
    """The funds the database holds as received towards the payment, oldest first."""

    async def read() -> list[StoredReceipt]:
        store = SQLStore(settings.database.url)
        try:
            return await store.payments.receipts(payment_id)
        finally:
            await store.close()

    return run_sync(read())


def price_of(prompt_tokens: int, max_tokens: int) -> Decimal:
    """``acme/chat``'s maximum cost in dollars (3 and 15 dollars per million tokens)."""
    return (Decimal(3) * prompt_tokens + Decimal(15) * max_tokens) / 1_000_000


def nano_amount(usd: Decimal) -> int:
    return XNO.atomic(usd, XNO_USD)


def usdc_amount(usd: Decimal) -> int:
    return USDC.atomic(usd, Decimal(1))


Poll = Callable[[], httpx.Response]
