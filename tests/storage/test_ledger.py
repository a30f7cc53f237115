"""The ledger's transactions on SQLite and PostgreSQL: holds, charges, recovery, idempotency."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import gc
import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from tests.helpers import wait_until_async

from nanogate.billing import (
    Admission,
    Book,
    Hold,
    Ledger,
    Limits,
    RedisLimiter,
    connect_redis,
)
from nanogate.core import new_id
from nanogate.errors import (
    DailyRequestLimitExceeded,
    IdempotencyConflict,
    InsufficientBalance,
    RateLimitExceeded,
)
from nanogate.storage import Audit, Query, Script, SQLStore, driver_for

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def ledger(store: SQLStore) -> AsyncIterator[Ledger]:
    ledger = Ledger(store.fast, clock=lambda: NOW)
    await ledger.register()
    yield ledger
    await ledger.close()


def ledger_on(database_url: str, clock: Any, limiter: RedisLimiter | None = None) -> Ledger:
    """A ledger on a driver of its own, as another gateway process would have."""
    return Ledger(driver_for(database_url), clock=clock, limiter=limiter)


async def close(*ledgers: Ledger) -> None:
    for one in ledgers:
        await one.close()
        await one.driver.close()


async def account(store: SQLStore, nano: int) -> tuple[str, str]:
    created = await Book(store.fast).create_account(nano)
    key = await store.create_key(created.id)
    return created.id, key.record.id


def admission(account_id: str, key_id: str, request: str, reserve: int) -> Admission:
    return Admission(request, f"key:{key_id}", NOW, Limits(), account_id, key_id, reserve, "m")


async def test_a_charge_above_the_hold_is_capped_at_the_hold(
    store: SQLStore, ledger: Ledger
) -> None:
    """A request that costs more than it held is charged its hold and no more, even when
    the account has money free beyond it; others' holds are untouched."""
    account_id, key_id = await account(store, 1000)
    first = await ledger.admit(admission(account_id, key_id, "req_1", 400))
    second = await ledger.admit(admission(account_id, key_id, "req_2", 500))
    with pytest.raises(InsufficientBalance):
        await ledger.admit(admission(account_id, key_id, "req_3", 200))
    assert await ledger.settle(first, 10_000) == 400  # the hold, not the 100 nobody holds
    assert await ledger.settle(second, 300) == 300
    audit = await Book(store.fast).audit(account_id)
    assert audit is not None and audit.consistent and audit.balance_nusd == 300


async def test_settling_twice_charges_once(store: SQLStore, ledger: Ledger) -> None:
    """A request settles once: settling (or releasing) it again charges nothing."""
    account_id, key_id = await account(store, 1000)
    hold = await ledger.admit(admission(account_id, key_id, "req_1", 400))
    assert await ledger.settle(hold, 100) == 100
    assert await ledger.settle(hold, 100) == 0
    await ledger.release(hold, "again")
    await ledger.return_unused()
    audit = await Book(store.fast).audit(account_id)
    assert audit is not None and audit.consistent
    assert (audit.balance_nusd, audit.reserved_nusd, audit.open_holds) == (900, 0, 0)


async def test_a_request_settling_after_recovery_is_still_charged(
    store: SQLStore, database_url: str
) -> None:
    """If recovery released a hold of a process taken for dead that was in fact still
    working, the request's own settlement still charges it (from free money)."""
    account_id, key_id = await account(store, 1000)
    slow = ledger_on(database_url, lambda: NOW)
    slow.hostname = "elsewhere"
    judge = ledger_on(database_url, lambda: NOW + timedelta(minutes=5))
    try:
        await slow.register()
        hold = await slow.admit(admission(account_id, key_id, "req_slow", 400))
        await judge.register()
        assert await judge.recover() == 1
        assert await slow.settle(hold, 300) == 300
        kinds = [entry.kind for entry in await Book(store.fast).ledger(account_id)]
        assert kinds == ["topup", "lease", "recovery", "settlement"]
        audit = await Book(store.fast).audit(account_id)
        assert audit is not None and audit.consistent and audit.balance_nusd == 700
    finally:
        await close(slow, judge)


async def test_recovery_releases_holds_of_dead_processes_only(
    store: SQLStore, database_url: str
) -> None:
    """Recovery releases the holds of a process that is gone (same host, dead pid; or a
    stale heartbeat), and leaves a live process's holds alone."""
    account_id, key_id = await account(store, 10_000)
    now = [NOW]
    live = ledger_on(database_url, lambda: now[0])
    dead = ledger_on(database_url, lambda: now[0])
    dead.pid = 2**22 + 12345  # no such process
    far = ledger_on(database_url, lambda: now[0])
    far.hostname = "elsewhere"
    try:
        for one in (live, dead, far):
            await one.register()
        await live.admit(admission(account_id, key_id, "req_live", 100))
        await dead.admit(admission(account_id, key_id, "req_dead", 200))
        await far.admit(admission(account_id, key_id, "req_far", 300))
        assert await live.recover() == 1  # the dead pid; the other host is still fresh
        now[0] += timedelta(minutes=5)
        await live.register()
        assert await live.recover() == 1  # the other host's heartbeat is now stale
        audit = await Book(store.fast).audit(account_id)
        assert audit is not None and audit.consistent
        kept = live.escrow.pools[("balance", account_id, "")].lease
        assert kept >= 100  # the live process's lease, covering its hold
        assert (audit.reserved_nusd, audit.open_holds, audit.balance_nusd) == (kept, 1, 10_000)
    finally:
        await close(live, dead, far)


async def test_idempotency_records(store: SQLStore, ledger: Ledger) -> None:
    """A claimed key conflicts while running or with another body, replays once done, and
    can be given up so a retry runs."""
    assert await ledger.claim("key_1", "k", "hash-a", "req_1") is None
    with pytest.raises(IdempotencyConflict, match="in progress"):
        await ledger.claim("key_1", "k", "hash-a", "req_2")
    await ledger.finish("key_1", "k", "req_1", 200, [("content-type", "application/json")], b"{}")
    replay = await ledger.claim("key_1", "k", "hash-a", "req_3")
    assert replay is not None and (replay.request_id, replay.status, replay.body) == (
        "req_1",
        200,
        b"{}",
    )
    assert replay.headers == [("content-type", "application/json")]
    with pytest.raises(IdempotencyConflict, match="different request body"):
        await ledger.claim("key_1", "k", "hash-b", "req_4")
    assert await ledger.claim("key_2", "k", "hash-b", "req_5") is None  # keys are per API key
    await ledger.forget("key_2", "k", "req_5")
    assert await ledger.claim("key_2", "k", "hash-b", "req_6") is None


async def test_concurrent_scripts_commit_together_and_fail_alone(
    store: SQLStore, ledger: Ledger
) -> None:
    """Fifty admissions at once against money for thirty: the thirty are admitted from
    leases that grow to the whole balance, and each refusal takes nothing."""
    account_id, key_id = await account(store, 30 * 100)
    outcomes = await asyncio.gather(
        *(ledger.admit(admission(account_id, key_id, f"req_{i}", 100)) for i in range(50)),
        return_exceptions=True,
    )
    admitted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, InsufficientBalance)]
    assert (len(admitted), len(refused)) == (30, 20)
    audit = await Book(store.fast).audit(account_id)
    assert audit is not None and audit.consistent
    assert (audit.reserved_nusd, audit.open_holds) == (3000, 1)
    assert ledger.escrow.pools[("balance", account_id, "")].free == 0


@contextlib.asynccontextmanager
async def write_locked(database_url: str, account_id: str) -> AsyncIterator[None]:
    """Another process's transaction holding what the ledger needs to write: SQLite's write
    lock, or the account's row on PostgreSQL."""
    if database_url.startswith("sqlite"):
        other = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    connection = await asyncpg.connect(database_url)
    try:
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", account_id)
        yield
        await transaction.rollback()
    finally:
        await connection.close()


async def eventually_free(store: SQLStore, ledger: Ledger, account_id: str) -> None:
    """Wait until nothing is taken from the account's lease, so that it can all be given
    back, and check its ledger adds up."""

    async def free() -> Audit | None:
        await ledger.return_unused()
        audit = await Book(store.fast).audit(account_id)
        assert audit is not None
        return audit if (audit.reserved_nusd, audit.open_holds) == (0, 0) else None

    audit = await wait_until_async(free, "the account's holds to be released")
    assert audit.consistent


async def waits_for_the_writer(database_url: str, task: asyncio.Future[Any]) -> None:
    """Wait until ``task`` is blocked behind :func:`write_locked`'s transaction. SQLite's
    driver queues a script at once when the write lock is taken; on PostgreSQL a backend
    of this database waits for the row lock."""
    await asyncio.sleep(0)
    if not database_url.startswith("sqlite"):

        async def blocked() -> bool:
            connection = await asyncpg.connect(database_url)
            try:
                waiting = await connection.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            finally:
                await connection.close()
            return bool(waiting)

        await wait_until_async(blocked, "the ledger's transaction to wait for the row lock")
    assert not task.done()  # waiting for the lock, not failed


async def test_a_cancelled_admission_leaves_no_hold(store: SQLStore, ledger: Ledger) -> None:
    """An admission that waits for another writer when its request is cancelled still
    commits once the writer is done; what it leased stays this process's, free (not
    taken by the gone request), and is given back like any unused lease."""
    account_id, key_id = await account(store, 1000)
    async with write_locked(store.url, account_id):
        task = asyncio.ensure_future(ledger.admit(admission(account_id, key_id, "req_c", 400)))
        await waits_for_the_writer(store.url, task)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await eventually_free(store, ledger, account_id)


async def test_a_settlement_outlives_its_cancelled_request(store: SQLStore, ledger: Ledger) -> None:
    """A settlement that waits for another writer when its request is cancelled still
    charges: the money a finished request cost is never lost with it."""
    account_id, key_id = await account(store, 1000)
    hold = await ledger.admit(admission(account_id, key_id, "req_s", 400))
    async with write_locked(store.url, account_id):
        task = asyncio.ensure_future(ledger.settle(hold, 250))
        await waits_for_the_writer(store.url, task)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await eventually_free(store, ledger, account_id)
    audit = await Book(store.fast).audit(account_id)
    assert audit is not None and audit.balance_nusd == 750


class Counting:
    """A driver that counts the transactions it runs."""

    def __init__(self, driver: Any) -> None:
        self.inner = driver
        self.runs = 0

    async def run(self, script: Any, *, undo: Any = None) -> Any:
        self.runs += 1
        return await self.inner.run(script, undo=undo)

    async def read(self, script: Any) -> Any:
        return await self.inner.read(script)

    async def maintain(self) -> None:
        await self.inner.maintain()

    async def close(self) -> None:
        await self.inner.close()


async def test_requests_are_admitted_from_a_lease_without_the_database(store: SQLStore) -> None:
    """The first request leases a slice of the balance; the next ones are admitted from it
    in memory, and settlements arriving together are written in one transaction."""
    account_id, key_id = await account(store, 1_000_000)
    driver = Counting(store.fast)
    ledger = Ledger(driver, clock=lambda: NOW)  # type: ignore[arg-type]
    try:
        holds = [await ledger.admit(admission(account_id, key_id, "req_0", 100))]
        assert driver.runs == 1
        for i in range(1, 20):
            holds.append(await ledger.admit(admission(account_id, key_id, f"req_{i}", 100)))
        assert driver.runs == 1, "admitted from the lease"
        charges = await asyncio.gather(*(ledger.settle(hold, 60) for hold in holds))
        assert charges == [60] * 20
        assert driver.runs == 2, "twenty settlements, one transaction"
        await ledger.return_unused()
        audit = await Book(store.fast).audit(account_id)
        assert audit is not None and audit.consistent
        assert (audit.balance_nusd, audit.reserved_nusd, audit.open_holds) == (
            1_000_000 - 20 * 60,
            0,
            0,
        )
    finally:
        await ledger.close()


async def test_settlements_arriving_apart_under_load_share_a_transaction(
    store: SQLStore,
) -> None:
    """Settlements that arrive one loop turn apart, while other requests are still in
    flight, wait for each other: twenty answers cost one or two transactions, not
    twenty, and each is charged once its batch is written. The last one, with nothing
    left in flight, writes the batch at once. The gathering window is 5 s here, not
    1 ms: a loop turn late in a long suite can take milliseconds (another thread of the
    test process holding the interpreter lock for its switch interval), and what is
    tested is that arrivals within the window wait for each other, not the machine's
    speed; the last arrival ends the wait, so the test takes no longer."""
    account_id, key_id = await account(store, 1_000_000)
    driver = Counting(store.fast)
    ledger = Ledger(driver, clock=lambda: NOW, gather_s=5.0)  # type: ignore[arg-type]
    try:
        holds = [
            await ledger.admit(admission(account_id, key_id, f"req_{i}", 100)) for i in range(20)
        ]
        before = driver.runs
        settling = []
        # the gaps between settlements are the subject: a collection of the whole heap
        # (long, late in a long suite) would be one gap of many milliseconds
        gc.collect()
        gc.disable()
        try:
            for hold in holds:
                settling.append(asyncio.ensure_future(ledger.settle(hold, 60)))
                await asyncio.sleep(0)  # the next answer comes back a loop turn later
            assert await asyncio.gather(*settling) == [60] * 20
        finally:
            gc.enable()
        assert driver.runs - before <= 2
        audit = await Book(store.fast).audit(account_id)
        assert audit is not None and audit.consistent
        assert audit.balance_nusd == 1_000_000 - 20 * 60
    finally:
        await ledger.close()


class Gated(Counting):
    """A driver that holds every lease extension until ``gate`` opens, as a slow database
    (or a busy event loop) would."""

    def __init__(self, driver: Any, gate: asyncio.Event) -> None:
        super().__init__(driver)
        self.gate = gate
        self.extends = 0

    async def run(self, script: Any, *, undo: Any = None) -> Any:
        if getattr(script, "__name__", "") == "extend":
            self.extends += 1
            await self.gate.wait()
        return await super().run(script, undo=undo)


async def test_requests_short_of_a_lease_being_written_take_from_it_together(
    store: SQLStore,
) -> None:
    """Requests that find a pool empty while its lease is being written wait for that
    lease, not in a queue for the pool's lock: once it lands they are all admitted in
    the same turn of the event loop, with no second lease. (A lock handed over one
    request per turn kept a convoy of them waiting for 200 ms under load.)"""
    account_id, key_id = await account(store, 10**12)
    gate = asyncio.Event()
    driver = Gated(store.fast, gate)
    ledger = Ledger(driver, clock=lambda: NOW)  # type: ignore[arg-type]
    try:
        first = asyncio.ensure_future(ledger.admit(admission(account_id, key_id, "req_0", 100)))
        await wait_until_async(lambda: _true(driver.extends == 1), "the first lease")
        others = [
            asyncio.ensure_future(ledger.admit(admission(account_id, key_id, f"req_{i}", 100)))
            for i in range(1, 31)
        ]
        for _ in range(3):
            await asyncio.sleep(0)
        assert not any(other.done() for other in others)
        gate.set()
        await first
        for _ in range(3):
            await asyncio.sleep(0)
        assert all(other.done() for other in others)
        assert driver.extends == 1
        for hold in [first.result(), *(other.result() for other in others)]:
            await ledger.release(hold, "test")
    finally:
        await ledger.close()


class HeldSeconds(Counting):
    """A driver that holds per-second leases until ``gate`` opens."""

    def __init__(self, driver: Any, gate: asyncio.Event) -> None:
        super().__init__(driver)
        self.gate = gate
        self.leases: list[int] = []

    async def run(self, script: Any, *, undo: Any = None) -> Any:
        if getattr(script, "__name__", "") != "lease_seconds":
            return await super().run(script, undo=undo)
        await self.gate.wait()
        leased = await super().run(script, undo=undo)
        self.leases.append(leased)
        return leased


def _leasing(task: asyncio.Future[Any]) -> bool:
    """Whether ``task`` is the request writing a per-second lease: its chain of awaited
    coroutines passes through the ledger's lease writer."""
    awaited: Any = task.get_coro() if isinstance(task, asyncio.Task) else None
    while awaited is not None:
        code = getattr(awaited, "cr_code", None) or getattr(awaited, "ag_code", None)
        if code is not None and code.co_name == "_lease_seconds":
            return True
        awaited = getattr(awaited, "cr_await", None)
    return False


async def test_a_per_second_lease_outlives_the_request_that_asked_for_it(
    store: SQLStore,
) -> None:
    """A request that goes away while its per-second lease is written leaves the lease to
    the requests waiting for it: none of its admissions is lost to the second (the
    limit's 800 are all admitted, the one the cancelled request never used included)."""
    gate = asyncio.Event()
    driver = HeldSeconds(store.fast, gate)
    ledger = Ledger(driver, clock=lambda: NOW)  # type: ignore[arg-type]
    limits = Limits(rps=800)
    subject = f"key:{new_id('k')}"

    def admit(request: str) -> asyncio.Future[Hold]:
        return asyncio.ensure_future(ledger.admit(Admission(request, subject, NOW, limits)))

    try:
        first = admit("req_0")
        await wait_until_async(lambda: _true(bool(ledger._in_flight)), "the first lease")
        waiting = [admit(f"req_{i}") for i in range(1, 101)]
        await asyncio.sleep(0.01)
        gate.set()  # the first lease (of one) lands, and the next is written for the rest
        gate.clear()
        await wait_until_async(
            lambda: _true(any(_leasing(task) for task in waiting)), "the second lease"
        )
        (leaser,) = [task for task in waiting if _leasing(task)]
        leaser.cancel()
        gate.set()
        answers = await asyncio.gather(first, *waiting, return_exceptions=True)
        admitted = sum(not isinstance(answer, BaseException) for answer in answers)
        assert admitted == 100 and leaser.cancelled()
        for i in range(1000, 2000):
            try:
                await ledger.admit(Admission(f"req_{i}", subject, NOW, limits))
            except RateLimitExceeded:
                break
            admitted += 1
        assert admitted == 800
    finally:
        await ledger.close()


async def test_a_lock_someone_waits_for_is_kept_by_housekeeping(store: SQLStore) -> None:
    """Housekeeping forgets the locks of pools that are gone, but not one a request is
    about to take: released, with its next holder woken but not yet running, it is still
    the one lock of its pool, so a newcomer waits for it instead of leasing beside."""
    ledger = Ledger(store.fast, clock=lambda: NOW)
    key = ("seconds", "key:k", "")
    order: list[str] = []
    later: list[asyncio.Future[None]] = []

    async def holder(name: str) -> None:
        async with ledger._locked([key]):
            order.append(f"{name} in")
            await asyncio.sleep(0)
            order.append(f"{name} out")
            if name == "first":  # both run before the lock's next holder wakes
                later.append(asyncio.ensure_future(ledger.return_unused()))
                later.append(asyncio.ensure_future(holder("newcomer")))

    try:
        first = asyncio.ensure_future(holder("first"))
        second = asyncio.ensure_future(holder("second"))
        await asyncio.gather(first, second)
        await asyncio.gather(*later)
        assert order == [
            "first in",
            "first out",
            "second in",
            "second out",
            "newcomer in",
            "newcomer out",
        ]
        await ledger.return_unused()
        assert ledger._locks == {} and ledger._lock_users == {}
    finally:
        await ledger.close()


async def _true(value: bool) -> bool:
    return value


async def processes(database_url: str, count: int) -> list[Ledger]:
    made = [ledger_on(database_url, lambda: NOW) for _ in range(count)]
    for one in made:
        await one.register()
    return made


async def test_leases_of_several_processes_spend_a_balance_exactly(
    store: SQLStore, database_url: str
) -> None:
    """Two processes, 200 requests at once on money for 37: exactly 37 are admitted (no
    slice is stranded in a lease), the account never goes below zero, and the ledger adds
    up once every lease is given back."""
    account_id, key_id = await account(store, 37 * 100)
    ledgers = await processes(database_url, 2)
    try:
        outcomes = await asyncio.gather(
            *(
                ledgers[i % 2].admit(admission(account_id, key_id, f"req_{i}", 100))
                for i in range(200)
            ),
            return_exceptions=True,
        )
        admitted = [(i, o) for i, o in enumerate(outcomes) if not isinstance(o, BaseException)]
        assert len(admitted) == 37
        refused = [o for o in outcomes if isinstance(o, BaseException)]
        assert all(isinstance(o, InsufficientBalance) for o in refused)
        await asyncio.gather(*(ledgers[i % 2].settle(hold, 100) for i, hold in admitted))
        for one in ledgers:
            await one.return_unused()
        audit = await Book(store.fast).audit(account_id)
        assert audit is not None and audit.consistent
        assert (audit.balance_nusd, audit.reserved_nusd, audit.open_holds) == (0, 0, 0)
    finally:
        await close(*ledgers)


async def test_leases_of_several_processes_keep_a_daily_limit_exact(
    store: SQLStore, database_url: str
) -> None:
    """Two processes, 200 requests at once on a key allowed 50 a day: exactly 50 are
    admitted, and the day's counter is 50 once the leases are given back."""
    account_id, key_id = await account(store, 10**9)
    ledgers = await processes(database_url, 2)
    limits = Limits(daily_requests=50)
    try:
        outcomes = await asyncio.gather(
            *(
                ledgers[i % 2].admit(
                    Admission(f"req_{i}", f"key:{key_id}", NOW, limits, account_id, key_id, 10)
                )
                for i in range(200)
            ),
            return_exceptions=True,
        )
        admitted = [(i, o) for i, o in enumerate(outcomes) if not isinstance(o, BaseException)]
        assert len(admitted) == 50
        refused = [o for o in outcomes if isinstance(o, BaseException)]
        assert all(isinstance(o, DailyRequestLimitExceeded) for o in refused)
        await asyncio.gather(*(ledgers[i % 2].release(hold, "test") for i, hold in admitted))
        for one in ledgers:
            await one.return_unused()
        counted = await store.fast.run(daily_requests(f"key:{key_id}"))
        assert counted == 50
    finally:
        await close(*ledgers)


def daily_requests(subject: str) -> Script[int]:
    rows = (
        yield Query(
            "SELECT requests FROM usage_daily WHERE subject = :subject AND day = :day",
            {"subject": subject, "day": "2026-03-01"},
        )
    ).rows
    return int(rows[0][0])


async def test_a_dead_processes_leases_are_recovered_and_its_settlements_kept(
    store: SQLStore, database_url: str
) -> None:
    """A process that settled some requests and died with others in flight: recovery gives
    its leases back to the account and the day's counters, and the settled charges stay.
    The two requests it never answered count neither in the balance nor in the day's
    requests."""
    account_id, key_id = await account(store, 10_000)
    dead, survivor = await processes(database_url, 2)
    dead.pid = 2**22 + 4321  # no such process
    limits = Limits(daily_requests=100, daily_usd_nusd=10**6)
    asking = [
        Admission(f"req_{i}", f"key:{key_id}", NOW, limits, account_id, key_id, 200)
        for i in range(4)
    ]
    try:
        held = [await dead.admit(one) for one in asking]
        assert [await dead.settle(hold, 150) for hold in held[:2]] == [150, 150]
        assert await survivor.recover() == 3  # the balance, requests and spending leases
        audit = await Book(store.fast).audit(account_id)
        assert audit is not None and audit.consistent
        assert (audit.balance_nusd, audit.reserved_nusd, audit.open_holds) == (10_000 - 300, 0, 0)
        assert await store.fast.run(daily_requests(f"key:{key_id}")) == 2
    finally:
        await close(dead, survivor)


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RedisLimiter | None]:
    """Where per-second limits are counted: the database, or Redis under a fresh prefix."""
    if request.param == "database":
        yield None
        return
    made = RedisLimiter(connect_redis("redis://127.0.0.1:6379/0"), f"test-{new_id('p')}:")
    yield made
    await made.close()


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def limiters(request: pytest.FixtureRequest) -> Callable[[], RedisLimiter | None]:
    """Makes the limiter of each process: none (the database counts), or one on Redis
    under a prefix fresh for the test and shared by its processes."""
    if request.param == "database":
        return lambda: None
    prefix = f"test-{new_id('p')}:"
    return lambda: RedisLimiter(connect_redis("redis://127.0.0.1:6379/0"), prefix)


async def test_no_second_admits_more_than_the_per_second_limit(
    store: SQLStore, limiter: RedisLimiter | None
) -> None:
    """rps 3: three requests at 0.9 s, then none at 1.1 s (fixed windows would let three
    more through, six in 0.2 s), and three again once a second has passed since the
    first three. A refused request takes no place in the second."""
    now = [NOW + timedelta(milliseconds=900)]
    ledger = Ledger(store.fast, clock=lambda: now[0], limiter=limiter)
    limits = Limits(rps=3)

    async def ask(request: str) -> bool:
        try:
            await ledger.admit(Admission(request, "key:k", now[0], limits))
        except RateLimitExceeded as refused:
            assert refused.retry_after == 1
            return False
        return True

    try:
        assert [await ask(f"req_a{i}") for i in range(4)] == [True, True, True, False]
        now[0] += timedelta(milliseconds=200)  # 1.1 s: a new fixed window, same sliding second
        assert [await ask(f"req_b{i}") for i in range(3)] == [False, False, False]
        now[0] += timedelta(milliseconds=800)  # 1.9 s: a second after the first three
        assert [await ask(f"req_c{i}") for i in range(4)] == [True, True, True, False]
    finally:
        await ledger.close()


class FailingOnce(Counting):
    """A driver whose first settlement batch fails: before its commit, or (``after``)
    once committed, as a connection lost while the commit's answer travels."""

    def __init__(self, driver: Any, after: bool) -> None:
        super().__init__(driver)
        self.after = after
        self.failed = False

    async def run(self, script: Any, *, undo: Any = None) -> Any:
        if getattr(script, "__name__", "") == "settle_leased" and not self.failed:
            self.failed = True
            if self.after:
                await self.inner.run(script, undo=undo)
            raise ConnectionResetError("the database connection was lost")
        return await super().run(script, undo=undo)


@pytest.mark.parametrize("after", [False, True], ids=["before-commit", "after-commit"])
async def test_a_failed_settlement_batch_is_written_once_on_retry(
    store: SQLStore, after: bool
) -> None:
    """A settlement batch whose transaction fails is tried again: the request is charged
    exactly once, whether the failure came before the commit or after it."""
    account_id, key_id = await account(store, 10_000)
    driver = FailingOnce(store.fast, after)
    ledger = Ledger(driver, clock=lambda: NOW)  # type: ignore[arg-type]
    try:
        hold = await ledger.admit(admission(account_id, key_id, "req_r", 400))
        assert await ledger.settle(hold, 300) == 300
        assert driver.failed
        await ledger.return_unused()
        audit = await Book(store.fast).audit(account_id)
        assert audit is not None and audit.consistent
        assert (audit.balance_nusd, audit.reserved_nusd) == (10_000 - 300, 0)
        settlements = [
            e for e in await Book(store.fast).ledger(account_id) if e.kind == "settlement"
        ]
        assert len(settlements) == 1
    finally:
        await ledger.close()


async def test_leased_seconds_never_let_a_sliding_second_exceed_the_limit(
    store: SQLStore, database_url: str, limiters: Callable[[], RedisLimiter | None]
) -> None:
    """rps 400, two processes leasing admissions ahead (in the database, or in Redis),
    3,000 requests at random moments (bursts and lulls, faster than the limit on
    average) to random processes: no second, starting at any admission, holds more
    than 400, and leases waste little: at least 85% as many are admitted as an exact
    sliding second, counting each request as it comes, would admit."""
    rng = random.Random(7)
    now = [NOW]
    limits = Limits(rps=400)
    subject = f"key:{new_id('k')}"
    ledgers = [ledger_on(database_url, lambda: now[0], limiters()) for _ in range(2)]
    admitted: list[datetime] = []
    exact: list[datetime] = []
    try:
        for i in range(3000):
            now[0] += timedelta(microseconds=rng.choice([100, 500, 1_000, 5_000]))
            if bisect.bisect_right(exact, now[0] - timedelta(seconds=1)) > len(exact) - 400:
                exact.append(now[0])
            try:
                await rng.choice(ledgers).admit(Admission(f"req_{i}", subject, now[0], limits))
            except RateLimitExceeded:
                continue
            admitted.append(now[0])
        busiest = max(
            bisect.bisect_left(admitted, start + timedelta(seconds=1)) - index
            for index, start in enumerate(admitted)
        )
        assert busiest <= 400
        assert len(admitted) >= 0.85 * len(exact)
    finally:
        await close(*ledgers)


@pytest.mark.parametrize("limit", [10**6, 40_000], ids=["far-below", "near"])
async def test_a_busy_key_far_below_its_limit_has_its_next_lease_written_ahead(
    store: SQLStore, limiter: RedisLimiter | None, limit: int
) -> None:
    """5,000 requests a second for a key allowed a million: once its rate is known, the
    next per-second lease is written before the last runs out, so requests find their
    admission leased (at most 8 of 3,000 lease for themselves, while its rate is
    learnt), and no second holds
    more than the limit. Near the limit (40,000: 5,000 is an eighth), nothing is written
    ahead: each lease is written by a request that found none."""
    now = [NOW]
    ledger = Ledger(store.fast, clock=lambda: now[0], limiter=limiter)
    subject = f"key:{new_id('k')}"
    leased = ledger.seconds.leased
    for_themselves = 0

    def counting(subject: str, size: int, until: int, now: int, used: int = 1) -> None:
        nonlocal for_themselves
        for_themselves += used
        leased(subject, size, until, now, used)

    ledger.seconds.leased = counting  # type: ignore[method-assign]
    try:
        for i in range(3000):
            now[0] += timedelta(microseconds=200)
            await ledger.admit(Admission(f"req_{i}", subject, now[0], Limits(rps=limit)))
            await asyncio.sleep(0)  # what is written ahead runs between requests
        if limit == 10**6:
            assert for_themselves <= 8  # while its rate builds up; 21 without leasing ahead
        else:
            assert for_themselves >= 3000 // 256
    finally:
        await ledger.close()


async def test_a_refused_request_gives_its_leased_second_back(
    store: SQLStore, limiters: Callable[[], RedisLimiter | None]
) -> None:
    """With admissions leased ahead (in the database, or in Redis), requests refused for
    want of money take no place in the second: after five of them, forty others are
    still admitted in it."""
    poor, key_id = await account(store, 0)
    ledger = Ledger(store.fast, clock=lambda: NOW, limiter=limiters())
    limits = Limits(rps=40)
    subject = f"key:{key_id}"
    try:
        for i in range(5):
            with pytest.raises(InsufficientBalance):
                await ledger.admit(Admission(f"poor_{i}", subject, NOW, limits, poor, key_id, 10))
        outcomes = []
        for i in range(41):
            try:
                await ledger.admit(Admission(f"req_{i}", subject, NOW, limits))
                outcomes.append(True)
            except RateLimitExceeded:
                outcomes.append(False)
        assert outcomes == [True] * 40 + [False]
    finally:
        await ledger.close()
