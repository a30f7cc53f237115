"""Money over real sockets: balances never overspent, limits exact, holds never leaked.

Each request here costs exactly what it reserves: a two-token answer to a prompt
whose size the local model counts exactly, so a balance covers an exact number
of requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import SURFACE_PATHS, assert_envelope, make_settings, run_sync, wait_until

from nanogate.billing import Book, cost
from nanogate.config import Settings
from nanogate.core import count_chat_tokens, format_usd, hash_api_key
from nanogate.routing import Model
from nanogate.storage import SQLStore

MESSAGES = [{"role": "user", "content": "hi"}]
CHAT = {"model": "local/chat", "messages": MESSAGES, "max_tokens": 2}


def unit_cost(settings: Settings) -> int:
    """What one CHAT request costs (and reserves), in nano-dollars."""
    model = Model.from_settings(next(m for m in settings.models if m.id == "local/chat"))
    return cost(model, count_chat_tokens(MESSAGES), 2)


async def fire(live: Live, count: int, body: dict[str, Any] = CHAT) -> list[httpx.Response]:
    """``count`` requests at once, each on its own connection."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=live.url, limits=limits, timeout=60) as client:
        return await asyncio.gather(
            *(
                client.post(SURFACE_PATHS["openai"], json=body, headers=live.auth())
                for _ in range(count)
            )
        )


def store_call(url: str, action: Callable[[SQLStore], Any]) -> Any:
    async def run() -> Any:
        store = SQLStore(url)
        try:
            return await action(store)
        finally:
            await store.close()

    return run_sync(run())


def assert_books_balance(url: str, account_id: str) -> None:
    """The stored balance equals the ledger's sum, no lease or hold is left once the
    gateway gives its idle leases back, and walking the ledger in order, neither the
    balance nor the money available ever went below zero."""

    def settled() -> Any:
        audit = store_call(url, lambda s: Book(s.fast).audit(account_id))
        return audit if (audit.reserved_nusd, audit.open_holds) == (0, 0) else None

    audit = wait_until(settled, "the gateway to give its unused leases back")
    assert audit.consistent, audit
    balance = held = 0
    for entry in store_call(url, lambda s: Book(s.fast).ledger(account_id, limit=100_000)):
        balance += entry.amount_nusd
        held += entry.hold_nusd
        assert balance >= 0 and balance - held >= 0, entry
    assert balance == audit.balance_nusd


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def money_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path)
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_database")
        database = settings.database.model_copy(update={"url": url})
        settings = settings.model_copy(update={"database": database})
    return settings


def test_concurrent_requests_never_overspend(
    serve_gateway: LiveFactory, money_settings: Settings
) -> None:
    """200 requests at once against a balance that covers exactly 37 of them: 37 succeed,
    163 get 402 insufficient_balance with requiredBalance, the balance ends at exactly
    zero, and the ledger recomputes to it."""
    each, covered = unit_cost(money_settings), 37
    live = serve_gateway(money_settings, balance=format_usd(each * covered, 0))
    responses = run_sync(fire(live, 200))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == covered
    assert statuses.count(402) == 200 - covered
    refused = next(r for r in responses if r.status_code == 402)
    body = assert_envelope(refused, "openai", "insufficient_balance")
    assert Decimal(str(body["requiredBalance"])) == Decimal(each) / 10**9
    assert body["status"] == 402 and refused.headers["x-should-retry"] == "false"
    account = store_call(
        money_settings.database.url, lambda s: Book(s.fast).get_account(live.seeded.account_id)
    )
    assert account.balance_nusd == 0
    assert_books_balance(money_settings.database.url, live.seeded.account_id)


def test_a_settled_request_reports_its_price(serve_gateway: LiveFactory, tmp_path: Path) -> None:
    """A request's x_nanogpt_pricing, its Request Billing lookup and the balance all agree
    on the exact charge; another key's lookup of it is a 404."""
    settings = make_settings(tmp_path)
    live = serve_gateway(settings)
    with httpx.Client(base_url=live.url) as client:
        done = client.post(SURFACE_PATHS["openai"], json=CHAT, headers=live.auth())
        pricing = done.json()["x_nanogpt_pricing"]
        expected = Decimal(unit_cost(settings)) / 10**9
        assert Decimal(str(pricing["cost"])) == expected and pricing["paymentSource"] == "balance"
        assert (pricing["inputTokens"], pricing["outputTokens"]) == (
            count_chat_tokens(MESSAGES),
            2,
        )
        request_id = done.headers["x-request-id"]
        billing = client.get(f"/api/v1/usage/requests/{request_id}", headers=live.auth()).json()
        assert Decimal(billing["cost"]) == expected
        stranger = store_call(
            settings.database.url, lambda s: s.create_key(live.seeded.account_id)
        ).key
        known = live.app.state.keys.get
        wait_until(lambda: known(hash_api_key(stranger)), "the key cache to pick up the new key")
        hidden = client.get(
            f"/api/v1/usage/requests/{request_id}", headers={"authorization": f"Bearer {stranger}"}
        )
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "request_not_found"
    account = store_call(
        settings.database.url, lambda s: Book(s.fast).get_account(live.seeded.account_id)
    )
    assert account.balance_nusd == 5 * 10**9 - unit_cost(settings)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, moment: datetime) -> None:
        self.now = moment

    def __call__(self) -> datetime:
        return self.now


def test_daily_request_limit_is_exact_and_resets_at_midnight(
    serve_gateway: LiveFactory, money_settings: Settings
) -> None:
    """100 requests at once on a key with --daily-requests 10: exactly 10 succeed; the 429s
    are daily_rpd_limit_exceeded with x-should-retry: false and a Retry-After counting down
    to 00:00 UTC by the gateway's clock; after midnight the key has 10 again."""
    clock = Clock(datetime(2026, 3, 1, 23, 59, 0, tzinfo=UTC))
    live = serve_gateway(money_settings, clock=clock, daily_requests=10)
    responses = run_sync(fire(live, 100))
    assert [r.status_code for r in responses].count(200) == 10
    refused = [r for r in responses if r.status_code != 200]
    assert len(refused) == 90
    for response in refused:
        assert_envelope(response, "openai", "daily_rpd_limit_exceeded")
        assert response.headers["retry-after"] == "60"
        assert response.headers["x-should-retry"] == "false"
    clock.now += timedelta(seconds=30)
    with httpx.Client(base_url=live.url) as client:
        later = client.post(SURFACE_PATHS["openai"], json=CHAT, headers=live.auth())
        assert later.headers["retry-after"] == "30"
    clock.now = datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC)
    next_day = run_sync(fire(live, 12))
    assert [r.status_code for r in next_day].count(200) == 10
    assert {r.headers.get("retry-after") for r in next_day if r.status_code == 429} == {"86399"}
    assert_books_balance(money_settings.database.url, live.seeded.account_id)


def test_daily_spending_limit_counts_reservations(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """A key may spend --daily-usd per UTC day, counting what requests in flight hold: with
    room for exactly 4 requests, 4 of 20 concurrent ones succeed."""
    settings = make_settings(tmp_path)
    each = unit_cost(settings)
    live = serve_gateway(settings, daily_usd_nusd=4 * each)
    responses = run_sync(fire(live, 20))
    assert [r.status_code for r in responses].count(200) == 4
    for response in (r for r in responses if r.status_code != 200):
        assert_envelope(response, "openai", "daily_usd_limit_exceeded")
        assert response.headers["x-should-retry"] == "false"
        assert int(response.headers["retry-after"]) >= 1


def test_per_second_limit(serve_gateway: LiveFactory, tmp_path: Path) -> None:
    """--rps 3: within one second 3 of 10 requests succeed, the rest get
    rate_limit_exceeded with Retry-After: 1 and x-should-retry: true; the next second
    admits 3 more."""
    clock = Clock(datetime(2026, 3, 1, 12, 0, 0, 100_000, tzinfo=UTC))
    live = serve_gateway(make_settings(tmp_path), clock=clock, rps=3)
    responses = run_sync(fire(live, 10))
    assert [r.status_code for r in responses].count(200) == 3
    for response in (r for r in responses if r.status_code != 200):
        assert_envelope(response, "openai", "rate_limit_exceeded")
        assert response.headers["retry-after"] == "1"
    clock.now += timedelta(seconds=1)
    assert [r.status_code for r in run_sync(fire(live, 5))].count(200) == 3


def test_requests_without_a_valid_key_are_limited_per_address(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """Past accountless_rps, requests from one address without a valid key get 429
    rate_limit_exceeded instead of 401 (guessing keys is slow)."""
    settings = make_settings(tmp_path)
    settings = settings.model_copy(
        update={"limits": settings.limits.model_copy(update={"accountless_rps": 2})}
    )
    clock = Clock(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC))
    live = serve_gateway(settings, clock=clock)
    with httpx.Client(base_url=live.url) as client:
        bad = {"authorization": "Bearer sk-nano-00000000-0000-4000-8000-000000000000"}
        codes = [
            client.post(SURFACE_PATHS["openai"], json=CHAT, headers=bad).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 429, 429]
        assert (
            client.post(SURFACE_PATHS["openai"], json=CHAT, headers=live.auth()).status_code == 200
        )
