"""The ledger: admission, settlement and recovery of the money path, in one place.

Every priced or limited request is *admitted* before it is dispatched (counted
against its limits, its maximum cost held on the account) and *settled* after
(charged what it cost, the hold released), in a transaction each. Daily
counters and holds are rows in the database; with Redis, only the per-second
windows live there. Holds are owned by this process; if the process dies, the
next recovery (at start, and every few seconds in the others) releases them and
corrects the daily spending counters as a settlement would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from nanogate.billing._calendar import day_of, second_of
from nanogate.billing._model import Admission, Hold, Replay
from nanogate.billing._scripts import (
    admit,
    claim_idempotency,
    finish_idempotency,
    forget_idempotency,
    heartbeat,
    instances,
    release_owner,
    settle,
    sweep,
)
from nanogate.core import new_id
from nanogate.storage import Driver, Script

if TYPE_CHECKING:
    from nanogate.billing._redis import RedisLimiter, Slot

log = logging.getLogger("nanogate.ledger")

T = TypeVar("T")

HEARTBEAT_S = 5.0
STALE_AFTER = timedelta(seconds=60)
"""A process on another host that has not renewed its registration for this long is
taken for dead and its holds are released."""
IDEMPOTENCY_TTL = timedelta(hours=24)


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
    ) -> None:
        self.driver = driver
        self.limiter = limiter
        self.clock = clock
        self.instance = new_id("gw")
        self.hostname = socket.gethostname()
        self.pid = os.getpid()

    async def _committed(
        self, script: Script[T], undo: Callable[[T], Awaitable[None]] | None = None
    ) -> T:
        """Run ``script``; if the caller is cancelled after it committed, ``undo`` reverses
        it (a hold with no request left to settle it is released at once, not at the
        next restart)."""
        return await self.driver.run(script, undo=undo)

    # Requests -------------------------------------------------------------------------

    async def admit(self, admission: Admission) -> Hold:
        """Count the request and hold its maximum cost, or raise the 429/402 refusing it.

        With Redis, the per-second window is counted there first; everything else
        (daily counters, the hold) is one database transaction. A request refused
        or cancelled after it took its per-second slot gives the slot back, so a
        refused request consumes nothing."""
        limits = admission.limits
        slot: Slot | None = None
        if self.limiter is not None and limits.rps is not None:
            slot = await self.limiter.take(admission)
            admission = replace(admission, limits=replace(limits, rps=None))
        needs_database = admission.reserve_nusd > 0 and admission.account_id is not None
        if not (needs_database or admission.limits.any):
            return Hold(
                request_id=admission.request_id,
                subject=admission.subject,
                day=day_of(admission.now),
                account_id=admission.account_id,
                key_id=admission.key_id,
                amount_nusd=0,
                model=admission.model,
            )
        try:
            return await self._committed(
                admit(admission, self.instance),
                lambda admitted: self.release(admitted, "released: its request was cancelled"),
            )
        except BaseException:
            if slot is not None and self.limiter is not None:
                await self.limiter.give_back(slot)
            raise

    async def settle(self, hold: Hold, cost: int, note: str | None = None) -> int:
        """Charge ``cost`` (0 releases the hold); returns what was charged."""
        if not hold.holds_money and cost == 0:
            return 0
        return await self.driver.run(settle(hold, cost, self.clock(), note))

    async def release(self, hold: Hold, note: str) -> None:
        """Release the hold without charging."""
        await self.settle(hold, 0, note)

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
        """Renew this process's registration, recover others' holds, sweep old counters."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
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
        """Release this process's own holds (none remain after a clean drain). The driver
        belongs to whoever made it and is closed by them."""
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
