"""The ledger: admission, settlement and recovery of the money path, in one place.

Every priced or limited request is *admitted* before it is dispatched (counted
against its limits, its maximum cost held) and *settled* after (charged what it
cost, the rest released). Admission takes from this process's escrow leases
(:mod:`nanogate.billing._escrow`) in memory; only a lease that is too small is
extended, in one transaction. Settlements are group-committed: every settlement
that arrives while the previous batch is being written goes into the next
batch, one transaction for all, and each request's answer waits for its batch;
under concurrent load a batch also waits a moment for the settlements about to
arrive (:mod:`nanogate.billing._gather`).
Leases unused for :data:`LEASE_IDLE_S` are given back. A process that dies
leaves its leases in the database; the next recovery (at start, and every few
seconds in the others) gives them back to the accounts and daily allowances.
With Redis, the per-second windows live there; without it, in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from nanogate.billing._calendar import day_of, micros, second_of
from nanogate.billing._escrow import (
    BALANCE,
    REQUESTS,
    SECONDS_LEASE_US,
    USD,
    Claim,
    Escrow,
    PoolKey,
    Seconds,
    Shortfall,
)
from nanogate.billing._gather import GATHER_S, Gathering
from nanogate.billing._model import Admission, Hold, Replay, Spent
from nanogate.billing._scripts import (
    claim_idempotency,
    consumption,
    extend,
    finish_idempotency,
    forget_idempotency,
    heartbeat,
    instances,
    lease_seconds,
    release_owner,
    return_leases,
    settle_leased,
    sweep,
)
from nanogate.core import new_id
from nanogate.errors import GatewayError
from nanogate.storage import Driver, Script

if TYPE_CHECKING:
    from nanogate.billing._redis import RedisLimiter, Slot

log = logging.getLogger("nanogate.ledger")

T = TypeVar("T")

HEARTBEAT_S = 2.0
"""How often a process renews its registration and recovers dead processes' leases."""
TICK_S = 0.25
"""How often idle leases are looked for."""
LEASE_IDLE_S = 1.0
"""A lease with nothing in flight that has not been used for this long is given back
(``[server] lease_idle_s``)."""
SETTLE_RETRY_S = (0.05, 0.2, 0.5, 1.0, 2.0)
"""Waits before writing a failed batch of settlements again (a deadlock, a lost
connection, a database restarting): about 4 s in all before its requests fail."""
STALE_AFTER = timedelta(seconds=60)
"""A process on another host that has not renewed its registration for this long is
taken for dead and its leases are released."""
IDEMPOTENCY_TTL = timedelta(hours=24)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ledger:
    """Admission, settlement, recovery and idempotency records over one database."""

    def __init__(
        self,
        driver: Driver,
        clock: Callable[[], datetime],
        limiter: RedisLimiter | None = None,
        *,
        lease_idle_s: float = LEASE_IDLE_S,
        gather_s: float = GATHER_S,
    ) -> None:
        self.driver = driver
        self.lease_idle_s = lease_idle_s
        self.limiter = limiter
        self.clock = clock
        self.instance = new_id("gw")
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.escrow = Escrow()
        self.seconds = Seconds()
        """Per-second admissions leased ahead (without Redis)."""
        self._locks: dict[PoolKey, asyncio.Lock] = {}
        self._lock_users: dict[PoolKey, int] = {}
        """Per lock: the requests holding it or waiting for it (see :meth:`_locked`)."""
        self._seconds_queued: dict[str, int] = {}
        """Per subject: requests waiting for a per-second lease."""
        self._in_flight: dict[PoolKey, asyncio.Future[None]] = {}
        """Leases being written, by pool (``("seconds", subject, "")`` for per-second
        admissions): resolved once the pool has what the lease granted."""
        self._open: set[str] = set()
        """Admitted requests not yet settled: a request settles once."""
        self._queue: list[tuple[Spent, asyncio.Future[int]]] = []
        self._writer: asyncio.Future[None] | None = None
        self._gathering = Gathering(gather_s)
        self._gathered: asyncio.Future[None] | None = None
        """Set while a batch waits for more settlements; resolved to write it."""
        self._ahead: set[asyncio.Future[int]] = set()
        """Per-second leases being written ahead (:meth:`_lease_ahead`)."""

    async def _committed(
        self, script: Script[T], undo: Callable[[T], Awaitable[None]] | None = None
    ) -> T:
        """Run ``script``; if the caller is cancelled after it committed, ``undo`` reverses
        it."""
        return await self.driver.run(script, undo=undo)

    # Requests -------------------------------------------------------------------------

    async def admit(self, admission: Admission) -> Hold:
        """Count the request and hold its maximum cost, or raise the 429/402 refusing it.

        Refusals, first match: ``rate_limit_exceeded``, ``daily_rpd_limit_exceeded``,
        ``daily_usd_limit_exceeded``, then ``insufficient_balance``. With Redis, the
        per-second window is counted there first. A request refused or cancelled
        consumes nothing: what it took from a lease or a window is given back."""
        a = admission
        limits = a.limits
        slot: Slot | None = None
        token: int | None = None
        if self.limiter is not None and limits.rps is not None:
            slot, token = await self._second_in_redis(a, self.limiter, limits.rps)
            limits = replace(limits, rps=None)
        day = day_of(a.now)
        claims: list[Claim] = []
        if limits.daily_requests is not None:
            claims.append(Claim((REQUESTS, a.subject, day), 1, limits.daily_requests))
        if limits.daily_usd_nusd is not None and a.reserve_nusd > 0:
            claims.append(Claim((USD, a.subject, day), a.reserve_nusd, limits.daily_usd_nusd))
        if a.account_id is not None and a.reserve_nusd > 0:
            claims.append(Claim((BALANCE, a.account_id, ""), a.reserve_nusd))
        hold = Hold(
            request_id=a.request_id,
            subject=a.subject,
            day=day,
            account_id=a.account_id,
            key_id=a.key_id,
            amount_nusd=a.reserve_nusd,
            model=a.model,
            counts_requests=limits.daily_requests is not None,
            counts_usd=limits.daily_usd_nusd is not None and a.reserve_nusd > 0,
        )
        if not claims and limits.rps is None:
            return hold
        try:
            await self._take(a, claims, limits.rps)
        except BaseException:
            if token is not None:
                self.seconds.give_back(a.subject, token, self._micros())
            if slot is not None and self.limiter is not None:
                await self.limiter.give_back(slot)
            raise
        if claims:
            self._open.add(a.request_id)
        return hold

    async def _take(self, a: Admission, claims: list[Claim], per_second: int | None) -> None:
        """Take ``claims`` from this process's leases, and an admission of the per-second
        limit from those leased ahead, extending what is short in one transaction (the
        per-second window counted there too).

        Extensions of one lease wait for each other; a request that finds the lease
        extended meanwhile takes from it and goes on without waiting again."""
        now = time.monotonic()
        short = self.escrow.take(claims, now)
        token = None if per_second is None else self._leased_second(a, per_second)
        count = None if token is not None else per_second
        try:
            if short and await self._after_flights([s.claim.key for s in short]):
                short = [s for s in map(self.escrow.retake, short) if s is not None]
            if short:
                async with self._locked(sorted({s.claim.key for s in short})):
                    short = [s for s in map(self.escrow.retake, short) if s is not None]
                    if short:
                        await self._extend(a, short, count)
                        count = None
            if count is not None:
                await self._count_second(a, count)
        except BaseException:
            self._untake(claims, short)
            if token is not None:
                self.seconds.give_back(a.subject, token, self._micros())
            raise

    async def _count_second(self, a: Admission, limit: int) -> None:
        """Count the request in its per-second window: from an admission another request
        leased meanwhile, or with a lease of several (:func:`seconds_wanted`)."""
        if await self._second_after_flight(a.subject) is not None:
            return
        async with self._seconds_lock(a.subject) as waiting:
            now = self._micros()
            if self.seconds.take(a.subject, now) is not None:
                return
            want = self.seconds.want(a.subject, limit, now, waiting())
            valid_us = self.seconds.lease_us(a.subject, limit, now)
            script = lease_seconds(a.subject, a.now, limit, want, valid_us)
            await self._lease_seconds(a, self.driver.run(script), micros(a.now) + valid_us)

    async def _second_in_redis(
        self, a: Admission, limiter: RedisLimiter, limit: int
    ) -> tuple[Slot | None, int | None]:
        """An admission of the per-second limit counted in Redis: one leased ahead by an
        earlier request of this process (its lease's deadline, to give back here), or
        the request's own slot in Redis (to give back there), or a new lease of several
        for a busy subject, whose first is this request's."""
        token = self._leased_second(a, limit)
        if token is not None:
            return None, token
        token = await self._second_after_flight(a.subject)
        if token is not None:
            return None, token
        async with self._seconds_lock(a.subject) as waiting:
            now = self._micros()
            token = self.seconds.take(a.subject, now)
            if token is not None:
                return None, token
            want = self.seconds.want(a.subject, limit, now, waiting())
            if want == 1:
                lease = await limiter.take(a)
                self.seconds.leased(a.subject, 1, micros(a.now), self._micros())
                return lease.slot, None
            until = micros(a.now) + self.seconds.lease_us(a.subject, limit, now)
            await self._lease_seconds(a, self._leased_in_redis(limiter, a, want, until), until)
            return None, until

    @staticmethod
    async def _leased_in_redis(limiter: RedisLimiter, a: Admission, want: int, until: int) -> int:
        """Lease up to ``want`` admissions of ``a``'s subject in Redis, usable until
        ``until``: how many were leased."""
        return (await limiter.take(a, want, until)).size

    def _leased_second(self, a: Admission, limit: int) -> int | None:
        """An admission of ``a``'s per-second limit from those this process leased
        ahead (its lease's deadline), or ``None``; the next lease is written ahead when
        they run low."""
        now = self._micros()
        token = self.seconds.take(a.subject, now)
        if token is not None and self.seconds.running_low(a.subject, limit, now):
            self._lease_ahead(a, limit, now)
        return token

    def _lease_ahead(self, a: Admission, limit: int, now: int) -> None:
        """Write the next per-second lease of ``a``'s subject in the background, before
        its leases run out (:meth:`Seconds.running_low`): the requests that would have
        found none take from it instead, and those that come while it is written wait
        for it beside each other. None of it is any request's; a lease refused (the
        second is full) or failed leaves the requests to count themselves."""
        key: PoolKey = ("seconds", a.subject, "")
        if key in self._in_flight or key in self._lock_users:
            return
        want = self.seconds.want(a.subject, limit, now)
        valid_us = self.seconds.lease_us(a.subject, limit, now)
        until = micros(a.now) + valid_us
        lease: Awaitable[int]
        if self.limiter is None:
            lease = self.driver.run(lease_seconds(a.subject, a.now, limit, want, valid_us))
        else:
            lease = self._leased_in_redis(self.limiter, a, want, until)

        def record(got: int, gone: bool) -> None:
            self.seconds.leased(a.subject, got, until, self._micros(), used=0)

        task = asyncio.ensure_future(self._write_lease([key], lease, record))
        self._ahead.add(task)
        task.add_done_callback(self._wrote_ahead)

    def _wrote_ahead(self, task: asyncio.Future[int]) -> None:
        self._ahead.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, GatewayError):
            log.warning("a per-second lease written ahead failed: %s", exc)

    async def _lease_seconds(self, a: Admission, lease: Awaitable[int], until: int) -> None:
        """Write a per-second lease for ``a`` (``lease`` gives the admissions written,
        usable until ``until``), the first of them this request's (see
        :meth:`_write_lease`: one that goes away meanwhile leaves all of it to others)."""

        def record(got: int, gone: bool) -> None:
            self.seconds.leased(a.subject, got, until, self._micros(), 0 if gone else 1)

        await self._write_lease([("seconds", a.subject, "")], lease, record)

    async def _write_lease(
        self, keys: list[PoolKey], lease: Awaitable[T], record: Callable[[T, bool], None]
    ) -> T:
        """Write a lease of ``keys`` in a task of its own, and hand what was written to
        ``record``, told whether the request that asked for it went away meanwhile. The
        lease is this process's whatever happens to that request; the requests waiting
        for ``keys`` (:meth:`_after_flights`) wake once it is recorded, or has failed."""
        flights = [(key, self._flying(key)) for key in keys]
        gone = False

        def written(done: asyncio.Future[T]) -> None:
            try:
                if not done.cancelled() and done.exception() is None:
                    record(done.result(), gone)
            finally:
                for key, flight in flights:
                    self._landed(key, flight)

        task = asyncio.ensure_future(lease)
        task.add_done_callback(written)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            gone = True
            raise

    @contextlib.contextmanager
    def _queued_for_seconds(self, subject: str) -> Iterator[None]:
        """Count a request waiting for a per-second lease of ``subject`` for the block."""
        queued = self._seconds_queued
        queued[subject] = queued.get(subject, 0) + 1
        try:
            yield
        finally:
            if queued[subject] == 1:
                del queued[subject]
            else:
                queued[subject] -= 1

    async def _second_after_flight(self, subject: str) -> int | None:
        """With a per-second lease of ``subject`` being written, wait for it beside every
        other request that does, then take an admission from it (its deadline), if one is
        left; ``None`` at once when no lease is being written."""
        flight = self._in_flight.get(("seconds", subject, ""))
        if flight is None:
            return None
        with self._queued_for_seconds(subject):
            await asyncio.wait((flight,))
        return self.seconds.take(subject, self._micros())

    @contextlib.asynccontextmanager
    async def _seconds_lock(self, subject: str) -> AsyncIterator[Callable[[], int]]:
        """The subject's per-second lock, held for the block; the block is handed how
        many requests wait for a lease besides it, so that the lease covers them too."""
        keys: list[PoolKey] = [("seconds", subject, "")]
        (lock,) = self._using(keys)
        try:
            with self._queued_for_seconds(subject):
                await lock.acquire()
            try:
                yield lambda: self._seconds_queued.get(subject, 0)
            finally:
                lock.release()
        finally:
            self._done_with(keys)

    def _flying(self, key: PoolKey) -> asyncio.Future[None]:
        """Mark a lease of ``key`` as being written; :meth:`_landed` ends it."""
        flight: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = flight
        return flight

    def _landed(self, key: PoolKey, flight: asyncio.Future[None]) -> None:
        """The lease of ``key`` is written (or failed): wake every request waiting for it."""
        if self._in_flight.get(key) is flight:
            del self._in_flight[key]
        _resolve(flight)

    async def _after_flights(self, keys: list[PoolKey]) -> bool:
        """Wait for the leases of ``keys`` being written, if any, beside every other
        request that does: they all take from them in the same turn of the loop, instead
        of one lock hand-over per turn. Whether there were any."""
        flights = {flight for key in keys if (flight := self._in_flight.get(key)) is not None}
        if not flights:
            return False
        await asyncio.wait(flights)
        return True

    def _micros(self) -> int:
        """Now on the clock per-second windows are stamped with, in microseconds."""
        return micros(self.clock())

    async def _extend(self, a: Admission, short: list[Shortfall], per_second: int | None) -> None:
        """Lease what ``short`` needs. The lease is this process's whatever happens to the
        request: one that goes away while it is written finds the lease in the pool."""
        pending = list(short)
        seconds = None
        until = micros(a.now) + SECONDS_LEASE_US
        if per_second is not None:
            now = self._micros()
            waiting = self._seconds_queued.get(a.subject, 0)
            want = self.seconds.want(a.subject, per_second, now, waiting)
            valid_us = self.seconds.lease_us(a.subject, per_second, now)
            seconds = (per_second, want, valid_us)
            until = micros(a.now) + valid_us
        keys = [s.claim.key for s in pending]
        if seconds is not None:
            keys.append(("seconds", a.subject, ""))
        covered = False

        def cover(written: tuple[list[int], int], gone: bool) -> None:
            nonlocal covered
            grants, counted = written
            # the grant is added to the pool, never the database's amount: a settlement
            # batch committed meanwhile has shrunk that already, and shrinks the pool
            # when its writer resumes
            for shortfall, granted in zip(pending, grants, strict=True):
                self.escrow.covered(shortfall, granted)
                if gone:
                    self.escrow.untake(shortfall.claim.key, shortfall.taking)
            # one admission counted is this request's, unless it went away meanwhile
            if counted:
                self.seconds.leased(a.subject, counted, until, self._micros(), 0 if gone else 1)
            covered = True

        lease = self.driver.run(extend(self.instance, pending, a.now, a, seconds))
        try:
            await self._write_lease(keys, lease, cover)
        except asyncio.CancelledError:
            if covered:
                short.clear()  # the caller gives back all it claimed
            raise
        short.clear()  # covered: nothing of the claims is left to take

    def _untake(self, claims: list[Claim], short: list[Shortfall]) -> None:
        """Give back what a refused or cancelled admission took."""
        missing = {s.claim.key: s.taking for s in short}
        for claim in claims:
            self.escrow.untake(claim.key, claim.amount - missing.get(claim.key, 0))

    @contextlib.asynccontextmanager
    async def _locked(self, keys: list[PoolKey]) -> AsyncIterator[None]:
        """Hold the locks of ``keys``, taken in this order, for the block."""
        locks = self._using(keys)
        held: list[asyncio.Lock] = []
        try:
            for lock in locks:
                await lock.acquire()
                held.append(lock)
            yield
        finally:
            for lock in held:
                lock.release()
            self._done_with(keys)

    def _using(self, keys: list[PoolKey]) -> list[asyncio.Lock]:
        """The locks of ``keys``, for a request about to wait for them: they stay in
        :attr:`_locks` until it is :meth:`_done_with` them. A lock dropped between its
        release and its next holder's wake-up would let a newcomer make another, and
        two requests would lease at once."""
        locks = []
        for key in keys:
            self._lock_users[key] = self._lock_users.get(key, 0) + 1
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = asyncio.Lock()
            locks.append(lock)
        return locks

    def _done_with(self, keys: list[PoolKey]) -> None:
        """A request no longer holds or waits for the locks of ``keys``."""
        users = self._lock_users
        for key in keys:
            left = users[key] - 1
            if left:
                users[key] = left
            else:
                del users[key]

    async def settle(self, hold: Hold, cost: int, note: str | None = None) -> int:
        """Charge ``cost`` (0 releases the hold), at most the hold; returns what was
        charged, once the settlement is durable. The unspent part of the hold is free
        for other requests at once. A settlement, once called, is written even if its
        caller is cancelled."""
        if hold.request_id not in self._open:
            return 0
        self._open.discard(hold.request_id)
        charge = max(0, min(cost, hold.amount_nusd)) if hold.holds_money else 0
        unspent = hold.amount_nusd - charge
        if hold.holds_money:
            assert hold.account_id is not None
            self.escrow.untake((BALANCE, hold.account_id, ""), unspent)
        if hold.counts_usd:
            self.escrow.untake((USD, hold.subject, hold.day), unspent)
        if charge == 0 and not hold.counts_requests:
            return 0
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((Spent(hold, charge, note), future))
        self._gathering.arrived(time.monotonic())
        gathered = self._gathered
        if gathered is not None and self._gathering.full(len(self._queue), len(self._open)):
            _resolve(gathered)
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write())
        # not shielded: a cancelled caller cancels only its future, which the writer
        # skips; the settlement itself is queued and written all the same
        return await future

    async def _write(self) -> None:
        """Write queued settlements, a batch per transaction, until none are left. A batch
        that fails is tried again (:data:`SETTLE_RETRY_S`) before its requests fail: their
        answers wait, since none is sent before its charge is written."""
        try:
            while self._queue:
                await self._gather()
                batch, self._queue = self._queue, []
                spent = [item for item, _ in batch]
                used = consumption(spent)
                try:
                    charges, lost = await self._settle_batch(spent)
                except Exception as exc:
                    log.error("settlements could not be written: %s", exc)
                    for key, amount in used.items():
                        self.escrow.untake(key, amount)
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for key, amount in used.items():
                    if key in lost:
                        self.escrow.lost(key)
                        self.escrow.untake(key, amount)
                    else:
                        self.escrow.consumed(key, amount)
                for (_, future), charge in zip(batch, charges, strict=True):
                    if not future.done():
                        future.set_result(charge)
        finally:
            self._writer = None

    async def _gather(self) -> None:
        """Under concurrent load, let the settlements about to arrive join the batch."""
        wait = self._gathering.wait_s(len(self._queue), len(self._open))
        if not wait:
            return
        loop = asyncio.get_running_loop()
        gathered = self._gathered = loop.create_future()
        timer = loop.call_later(wait, _resolve, gathered)
        try:
            await gathered
        finally:
            timer.cancel()
            self._gathered = None

    async def _settle_batch(self, spent: list[Spent]) -> tuple[list[int], set[PoolKey]]:
        for attempt, wait in enumerate((*SETTLE_RETRY_S, None)):
            try:
                return await self.driver.run(
                    settle_leased(self.instance, spent, self.clock(), retry=attempt > 0)
                )
            except Exception as exc:
                if wait is None:
                    raise
                log.warning("settlements could not be written, trying again: %s", exc)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def release(self, hold: Hold, note: str) -> None:
        """Release the hold without charging."""
        await self.settle(hold, 0, note)

    async def return_unused(self, idle_s: float = 0.0) -> None:
        """Give back every lease with nothing in flight, unused for ``idle_s``."""
        today = day_of(self.clock())
        parts = self.escrow.idle(time.monotonic(), idle_s, today)
        for key in [k for k in self._locks if k not in self.escrow.pools]:
            if key not in self._lock_users:
                del self._locks[key]
        if parts:
            await self._give_back(parts, "returned: unused")

    async def _give_back(self, parts: list[tuple[PoolKey, int]], note: str) -> None:
        """Give ``parts`` back; the pools learn the outcome when the transaction ends,
        even if this caller is cancelled first."""

        def applied(done: asyncio.Future[list[bool]]) -> None:
            if done.cancelled() or done.exception() is not None:
                for key, amount in parts:
                    self.escrow.untake(key, amount)
                return
            for (key, amount), ok in zip(parts, done.result(), strict=True):
                if ok:
                    self.escrow.returned(key, amount)
                else:
                    self.escrow.lost(key)
                    self.escrow.untake(key, amount)

        task = asyncio.ensure_future(
            self.driver.run(return_leases(self.instance, parts, self.clock(), note))
        )
        task.add_done_callback(applied)
        await asyncio.shield(task)

    # Processes ------------------------------------------------------------------------

    async def register(self) -> None:
        """Announce this process, so others do not take its holds for orphans."""
        await self.driver.run(heartbeat(self.instance, self.hostname, self.pid, self.clock()))

    def _alive(self, listed: list[tuple[str, str, int, bool]]) -> set[str]:
        return {
            instance
            for instance, hostname, pid, stale in listed
            if instance == self.instance
            or (not stale and hostname != self.hostname)
            # on this host: a live process that is not this one (a dead process's
            # PID can come back as ours after a restart)
            or (not stale and pid != self.pid and _pid_alive(pid))
        }

    async def alive(self, instance: str) -> bool:
        """Whether the gateway process ``instance`` is still running."""
        if instance == self.instance:
            return True
        listed, _ = await self.driver.run(instances(self.clock() - STALE_AFTER))
        return instance in self._alive(listed)

    async def recover(self) -> int:
        """Release the holds of gateway processes that are gone; returns how many."""
        now = self.clock()
        listed, owners = await self.driver.run(instances(now - STALE_AFTER))
        alive = self._alive(listed)
        dead = (owners | {instance for instance, *_ in listed}) - alive
        released = 0
        for owner in sorted(dead):
            note = "released: the gateway process holding it stopped"
            released += await self.driver.run(release_owner(owner, now, note))
        if released:
            log.warning("released %d holds of stopped gateway processes", released)
        return released

    async def run(self) -> None:
        """Give back idle leases; renew this process's registration, recover others'
        leases and sweep old counters every :data:`HEARTBEAT_S`."""
        housekept = time.monotonic()
        tick = min(TICK_S, self.lease_idle_s / 2)
        while True:
            await asyncio.sleep(tick)
            self.seconds.expire(self._micros())
            try:
                await self.return_unused(self.lease_idle_s)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("unused leases could not be given back; will retry")
            try:
                if time.monotonic() - housekept < HEARTBEAT_S:
                    continue
                housekept = time.monotonic()
                await self.register()
                await self.recover()
                now = self.clock()
                oldest = day_of(now - timedelta(days=2))
                await self.driver.run(sweep(second_of(now), oldest, now - IDEMPOTENCY_TTL))
                await self.driver.maintain()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ledger housekeeping failed; will retry")

    async def close(self) -> None:
        """Write the settlements still queued, then give back this process's leases (no
        request is in flight after a clean drain). The driver belongs to whoever made
        it and is closed by them."""
        with contextlib.suppress(Exception):
            while self._writer is not None:
                await asyncio.shield(self._writer)
        if self._ahead:
            await asyncio.wait(self._ahead)
        with contextlib.suppress(Exception):
            parts = self.escrow.everything()
            if parts:
                await self._give_back(parts, "returned: gateway stopped")
        with contextlib.suppress(Exception):
            await self.driver.run(
                release_owner(self.instance, self.clock(), "released: gateway stopped")
            )
        if self.limiter is not None:
            await self.limiter.close()

    # Idempotency ----------------------------------------------------------------------

    async def claim(self, key_id: str, idem: str, body_hash: str, request_id: str) -> Replay | None:
        """Claim an ``Idempotency-Key`` (``None``: run the request), or the stored answer."""
        now = self.clock()

        async def give_up(replay: Replay | None) -> None:
            if replay is None:
                await self.forget(key_id, idem, request_id)

        return await self._committed(
            claim_idempotency(key_id, idem, body_hash, request_id, now, now - IDEMPOTENCY_TTL),
            give_up,
        )

    async def finish(
        self,
        key_id: str,
        idem: str,
        request_id: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        await self.driver.run(finish_idempotency(key_id, idem, request_id, status, headers, body))

    async def forget(self, key_id: str, idem: str, request_id: str) -> None:
        await self.driver.run(forget_idempotency(key_id, idem, request_id))
