"""The ledger's transactions on SQLite and PostgreSQL: holds, charges, recovery, idempotency."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from tests.helpers import wait_until_async

from nanogate.billing import Admission, Ledger, Limits
from nanogate.errors import IdempotencyConflict, InsufficientBalance
from nanogate.storage import Audit, SQLStore, driver_for

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def ledger(store: SQLStore) -> AsyncIterator[Ledger]:
    ledger = Ledger(store.fast, clock=lambda: NOW)
    await ledger.register()
    yield ledger
    await ledger.close()


def ledger_on(database_url: str, clock: Any) -> Ledger:
    """A ledger on a driver of its own, as another gateway process would have."""
    return Ledger(driver_for(database_url), clock=clock)


async def close(*ledgers: Ledger) -> None:
    for one in ledgers:
        await one.close()
        await one.driver.close()


async def account(store: SQLStore, nano: int) -> tuple[str, str]:
    created = await store.create_account(nano)
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
    audit = await store.audit(account_id)
    assert audit is not None and audit.consistent and audit.balance_nusd == 300


async def test_settling_twice_charges_once(store: SQLStore, ledger: Ledger) -> None:
    """A request settles once: settling (or releasing) it again charges nothing."""
    account_id, key_id = await account(store, 1000)
    hold = await ledger.admit(admission(account_id, key_id, "req_1", 400))
    assert await ledger.settle(hold, 100) == 100
    assert await ledger.settle(hold, 100) == 0
    await ledger.release(hold, "again")
    audit = await store.audit(account_id)
    assert audit is not None and audit.consistent
    assert (audit.balance_nusd, audit.reserved_nusd) == (900, 0)


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
        kinds = [entry.kind for entry in await store.ledger(account_id)]
        assert kinds == ["topup", "reservation", "recovery", "settlement"]
        audit = await store.audit(account_id)
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
        audit = await store.audit(account_id)
        assert audit is not None and audit.consistent
        assert (audit.reserved_nusd, audit.open_holds, audit.balance_nusd) == (100, 1, 10_000)
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
    """Fifty admissions at once against money for thirty: the thirty commit (on SQLite in
    shared transactions) and each refusal rolls back only itself."""
    account_id, key_id = await account(store, 30 * 100)
    outcomes = await asyncio.gather(
        *(ledger.admit(admission(account_id, key_id, f"req_{i}", 100)) for i in range(50)),
        return_exceptions=True,
    )
    admitted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, InsufficientBalance)]
    assert (len(admitted), len(refused)) == (30, 20)
    audit = await store.audit(account_id)
    assert audit is not None and audit.consistent
    assert (audit.reserved_nusd, audit.open_holds) == (3000, 30)


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


async def eventually_free(store: SQLStore, account_id: str) -> None:
    """Wait until the account holds nothing, and check its ledger adds up."""

    async def free() -> Audit | None:
        audit = await store.audit(account_id)
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
    commits once the writer is done, and its hold is then released at once, not left
    until the next restart."""
    account_id, key_id = await account(store, 1000)
    async with write_locked(store.url, account_id):
        task = asyncio.ensure_future(ledger.admit(admission(account_id, key_id, "req_c", 400)))
        await waits_for_the_writer(store.url, task)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await eventually_free(store, account_id)


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
    await eventually_free(store, account_id)
    audit = await store.audit(account_id)
    assert audit is not None and audit.balance_nusd == 750
