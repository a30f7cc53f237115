"""Limits through Redis outages, against a redis-server each test starts on its own port,
kills, restarts empty and hangs with SIGSTOP.

Daily counters live in the database, so no outage or empty restart resets them;
only the per-second windows live in Redis. Stale pooled connections to a
restarted Redis are retried on fresh ones. A request refused for money or a
daily limit consumes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import SURFACE_PATHS, assert_envelope, make_settings, run_sync
from tests.live.test_balances import CHAT, assert_books_balance, store_call
from tests.live.test_redis_limits import with_redis
from tests.redis_server import RedisServer, redis_server

from nanogate.billing import Admission, Book, Ledger, Limits, RedisLimiter, connect_redis, day_of
from nanogate.config import Settings
from nanogate.errors import DailyUSDLimitExceeded, InsufficientBalance, RateLimitExceeded
from nanogate.storage import Query, Script, SQLStore

__all__ = ["redis_server"]

pytestmark = pytest.mark.redis

PREFIX = "outage:"


def served(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    redis: RedisServer | None,
    *,
    fail_open: bool = False,
    balance: str = "5",
    clock: Callable[[], datetime] | None = None,
    **limits: int,
) -> Live:
    settings: Settings = make_settings(tmp_path)
    if redis is not None:
        settings = with_redis(settings, redis.url, PREFIX, fail_open)
    return serve_gateway(settings, clock=clock, balance=balance, **limits)


def send(live: Live, count: int) -> list[httpx.Response]:
    """``count`` requests one after another on one connection."""
    with httpx.Client(base_url=live.url, timeout=30) as client:
        return [
            client.post(SURFACE_PATHS["openai"], json=CHAT, headers=live.auth())
            for _ in range(count)
        ]


def statuses(responses: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in responses]


async def _burst(live: Live, count: int) -> list[int]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=live.url, limits=limits, timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post(SURFACE_PATHS["openai"], json=CHAT, headers=live.auth())
                for _ in range(count)
            )
        )
    return [r.status_code for r in responses]


def burst(live: Live, count: int) -> list[int]:
    """``count`` requests at once, each on its own connection."""
    return run_sync(_burst(live, count))


@pytest.mark.parametrize("fail_open", [False, True], ids=["fail-closed", "fail-open"])
def test_a_redis_restarted_empty_does_not_reset_the_days_limits(
    serve_gateway: LiveFactory, tmp_path: Path, redis_server: RedisServer, fail_open: bool
) -> None:
    """A key limited to 10 requests a day uses 6, Redis restarts empty (and, failing
    open, is down for 3 more requests in between): the key is admitted exactly 10 times
    in all, never more."""
    live = served(
        serve_gateway, tmp_path, redis_server, fail_open=fail_open, daily_requests=10, rps=100
    )
    before = statuses(send(live, 6))
    assert before == [200] * 6
    during: list[int] = []
    if fail_open:
        redis_server.kill()
        during = statuses(send(live, 3))
        assert during == [200] * 3  # the per-second limit is lifted, the daily one is not
        redis_server.start()
    else:
        redis_server.restart()
    after = statuses(send(live, 10))
    admitted = (before + during + after).count(200)
    assert admitted == 10, (before, during, after)
    refused = send(live, 1)[0]
    assert_envelope(refused, "openai", "daily_rpd_limit_exceeded")
    assert_books_balance(live.settings.database.url, live.seeded.account_id)


def test_stale_connections_to_a_restarted_redis_are_retried(
    serve_gateway: LiveFactory, tmp_path: Path, redis_server: RedisServer
) -> None:
    """After Redis restarts, requests that meet the pool's dead connections are retried
    on fresh ones: no spurious 503 rate_limit_unavailable."""
    live = served(serve_gateway, tmp_path, redis_server, rps=1000)
    assert burst(live, 12) == [200] * 12  # the pool now holds several connections
    redis_server.restart()
    assert burst(live, 12) == [200] * 12
    assert statuses(send(live, 5)) == [200] * 5


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_a_request_refused_for_money_consumes_no_allowance(
    serve_gateway: LiveFactory, tmp_path: Path, redis_server: RedisServer, backend: str
) -> None:
    """On an empty balance, 10 requests within one second on a key allowing 5 a second
    and 5 a day all get 402 (none 429): refused requests consume nothing. Once funded,
    the key still has its whole daily allowance."""
    now = datetime.now(UTC)
    live = served(
        serve_gateway,
        tmp_path,
        redis_server if backend == "redis" else None,
        balance="0",
        clock=lambda: now,
        rps=5,
        daily_requests=5,
    )
    refused = send(live, 10)
    assert statuses(refused) == [402] * 10
    assert_envelope(refused[0], "openai", "insufficient_balance")
    store_call(
        live.settings.database.url, lambda s: Book(s.fast).topup(live.seeded.account_id, 10**9)
    )
    funded = statuses(send(live, 6))
    assert funded[:5] == [200] * 5
    assert funded[5] == 429


def test_a_hung_redis_fails_closed_and_keeps_daily_limits_exact(
    serve_gateway: LiveFactory, tmp_path: Path, redis_server: RedisServer
) -> None:
    """While Redis is hung (SIGSTOP), a key with a per-second limit gets 503
    rate_limit_unavailable and is charged nothing; woken, it is served again, and its
    daily limit is exactly what it was."""
    live = served(serve_gateway, tmp_path, redis_server, daily_requests=4, rps=100)
    assert statuses(send(live, 2)) == [200, 200]
    spent = store_call(
        live.settings.database.url, lambda s: Book(s.fast).get_account(live.seeded.account_id)
    )
    redis_server.hang()
    try:
        hung = send(live, 2)
    finally:
        redis_server.wake()
    for response in hung:
        assert_envelope(response, "openai", "rate_limit_unavailable")
    after_hang = store_call(
        live.settings.database.url, lambda s: Book(s.fast).get_account(live.seeded.account_id)
    )
    assert after_hang.balance_nusd == spent.balance_nusd
    assert statuses(send(live, 3)) == [200, 200, 429]
    assert_books_balance(live.settings.database.url, live.seeded.account_id)


def test_recovery_after_a_crash_corrects_the_daily_spending_counter(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """Holds of a gateway process that died are released by recovery, and the day's
    spending counter drops by what they held, as a settlement would: the key may spend
    up to its limit again."""

    async def scenario() -> tuple[int, int, int]:
        url = f"sqlite:///{tmp_path / 'crash.db'}"
        store = SQLStore(url)
        await store.upgrade()
        limiter = RedisLimiter(connect_redis(redis_server.url), PREFIX)
        now = datetime.now(UTC).replace(hour=12, minute=0)
        try:
            account = await Book(store.fast).create_account(10**9)
            key = (await store.create_key(account.id, daily_usd_nusd=1000, rps=10)).record
            dead = Ledger(store.fast, lambda: now, limiter)
            dead.hostname = "another-host"  # silent for long enough, it is taken for dead
            await dead.register()

            def asking(request_id: str, amount: int) -> Admission:
                return Admission(
                    request_id=request_id,
                    subject=f"key:{key.id}",
                    now=now,
                    limits=Limits(rps=10, daily_usd_nusd=1000),
                    account_id=account.id,
                    key_id=key.id,
                    reserve_nusd=amount,
                )

            settled = await dead.admit(asking("req_settled", 300))
            await dead.settle(settled, 100)
            await dead.admit(asking("req_crashed", 600))
            survivor = Ledger(store.fast, lambda: now + timedelta(minutes=5), limiter)
            await survivor.register()
            released = await survivor.recover()
            spent_before = await daily_usd(store, key.id, now)
            # what is left of the limit (900) can be held again, and no more
            hold = await survivor.admit(asking("req_after", 900))
            await survivor.release(hold, "test")
            with pytest.raises(DailyUSDLimitExceeded):
                await survivor.admit(asking("req_over", 901))
            account_now = await Book(store.fast).get_account(account.id)
            assert account_now is not None
            return released, spent_before, account_now.balance_nusd
        finally:
            await limiter.close()
            await store.close()

    released, spent, balance = run_sync(scenario())
    assert released == 2  # its lease of the balance, and of the daily spending allowance
    assert spent == 100
    assert balance == 10**9 - 100


async def daily_usd(store: SQLStore, key_id: str, now: datetime) -> int:
    """The database's spending counter of ``key_id`` on ``now``'s day."""

    def read() -> Script[int]:
        rows = (
            yield Query(
                "SELECT usd_nusd FROM usage_daily WHERE subject = :s AND day = :d",
                {"s": f"key:{key_id}", "d": day_of(now)},
            )
        ).rows
        return int(rows[0][0]) if rows else 0

    return await store.fast.run(read())


def test_a_request_cancelled_during_admission_gives_its_slot_back(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """A request cancelled after it took its per-second slot in Redis, while its hold was
    being taken, gives the slot back: the window counts only requests that run."""

    async def scenario() -> list[str]:
        url = f"sqlite:///{tmp_path / 'cancel.db'}"
        store = SQLStore(url)
        await store.upgrade()
        limiter = RedisLimiter(connect_redis(redis_server.url), PREFIX)
        now = datetime.now(UTC)
        outcomes: list[str] = []
        try:
            account = await Book(store.fast).create_account(10**9)
            key = (await store.create_key(account.id, rps=1)).record
            gate = asyncio.Event()
            entered = asyncio.Event()

            class SlowDriver:
                """The store's driver, holding each transaction until the test lets it."""

                def __getattr__(self, name: str) -> object:
                    return getattr(store.fast, name)

                async def run(self, script: object, **options: object) -> object:
                    entered.set()
                    await gate.wait()
                    return await store.fast.run(script, **options)  # type: ignore[arg-type]

            slow = Ledger(SlowDriver(), lambda: now, limiter)  # type: ignore[arg-type]
            admission = Admission(
                request_id="req_cancelled",
                subject=f"key:{key.id}",
                now=now,
                limits=Limits(rps=1),
                account_id=account.id,
                key_id=key.id,
                reserve_nusd=10,
            )
            task = asyncio.create_task(slow.admit(admission))
            await entered.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            fast = Ledger(store.fast, lambda: now, limiter)
            try:
                hold = await fast.admit(replace(admission, request_id="req_next"))
                outcomes.append("admitted")
                await fast.release(hold, "test")
            except RateLimitExceeded:
                outcomes.append("rate limited")
            except InsufficientBalance:
                outcomes.append("no money")
            return outcomes
        finally:
            await limiter.close()
            await store.close()

    assert run_sync(scenario()) == ["admitted"]
