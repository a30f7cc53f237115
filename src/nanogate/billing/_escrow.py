"""Escrow: the slices of balances and daily allowances this process holds, in memory.

A gateway process *leases* a slice of an account's balance, or of a key's daily
request or spending allowance, in one database transaction (the demarcation
technique). It then admits requests against the slice here, without the
database, and writes what they consumed in group-committed settlements. The sum
of all processes' leases never exceeds what the database allows (the balance,
the daily limit), so no lease can let an account go below zero or a key past
its limits; a slice that is too small for a request is extended, and near the
end of an allowance slices shrink to exactly what each request needs.

Everything here is synchronous bookkeeping: :class:`Escrow` never does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

BALANCE, REQUESTS, USD = "balance", "requests", "usd"

PoolKey = tuple[str, str, str]
"""``(kind, subject, day)``: ``("balance", account id, "")``, ``("requests", subject,
day)`` or ``("usd", subject, day)``."""

_KIND_ORDER = {REQUESTS: 0, USD: 1, BALANCE: 2}


def lock_order(key: PoolKey) -> tuple[int, str, str]:
    """The order every transaction takes pools in: daily request allowances, daily
    spending allowances, balances; then by subject and day. Scripts lock the rows behind
    them in this order, so two transactions on PostgreSQL never wait for each other in
    a cycle (daily counters before accounts, accounts in one order)."""
    return _KIND_ORDER[key[0]], key[1], key[2]


LEASE_HOLDS = 32
"""A lease is extended by up to this many of the requesting hold's size at once."""
LEASE_SHARE = 8
"""...but never by more than this fraction of what is left free in the database, so
other processes find money and allowance left to lease; near the end of a balance
or a daily limit, leases shrink to exactly what each request needs."""


@dataclass(slots=True)
class Pool:
    """One lease: ``lease`` as the database has it, ``taken`` by requests in flight or
    consumed by settlements not yet written."""

    lease: int = 0
    taken: int = 0
    used_at: float = 0.0

    @property
    def free(self) -> int:
        return self.lease - self.taken


@dataclass(frozen=True, slots=True)
class Claim:
    """What a request needs from one pool. ``limit`` is the daily limit of a ``requests``
    or ``usd`` pool (``None`` for a balance)."""

    key: PoolKey
    amount: int
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A claim the pool could not cover: ``taking`` of it is still to take, ``short``
    must be leased for that (it includes any deficit of a pool whose lease was lost),
    and ``want`` more may be."""

    claim: Claim
    short: int
    want: int
    taking: int


class Escrow:
    """This process's pools, keyed by :data:`PoolKey`."""

    def __init__(self) -> None:
        self.pools: dict[PoolKey, Pool] = {}

    def pool(self, key: PoolKey) -> Pool:
        found = self.pools.get(key)
        if found is None:
            found = self.pools[key] = Pool()
        return found

    def take(self, claims: list[Claim], now: float) -> list[Shortfall]:
        """Take what each pool has free towards its claim; what remains short of each is
        returned (nothing, when the request is admitted here and now). What was taken
        stays taken until :meth:`covered` or :meth:`untake`."""
        short: list[Shortfall] = []
        for claim in claims:
            pool = self.pool(claim.key)
            pool.used_at = now
            free = pool.free
            got = max(0, min(free, claim.amount))
            pool.taken += got
            missing = claim.amount - got
            if missing:
                deficit = max(0, -free)
                want = claim.amount * LEASE_HOLDS
                short.append(Shortfall(claim, missing + deficit, want, missing))
        return short

    def retake(self, shortfall: Shortfall) -> Shortfall | None:
        """Take what another request's lease freed meanwhile; what is still short."""
        pool = self.pool(shortfall.claim.key)
        got = max(0, min(pool.free, shortfall.taking))
        pool.taken += got
        taking = shortfall.taking - got
        if not taking:
            return None
        return Shortfall(shortfall.claim, taking + max(0, -pool.free), shortfall.want, taking)

    def covered(self, shortfall: Shortfall, granted: int) -> None:
        """A lease of ``granted`` (at least the shortfall) was written: the claim is whole."""
        pool = self.pool(shortfall.claim.key)
        pool.lease += granted
        pool.taken += shortfall.taking

    def untake(self, key: PoolKey, amount: int) -> None:
        """Give back what a refused, released or partly spent request had taken."""
        pool = self.pools.get(key)
        if pool is not None:
            pool.taken -= amount

    def consumed(self, key: PoolKey, amount: int) -> None:
        """A settlement written: ``amount`` left the lease, and is no longer taken."""
        pool = self.pool(key)
        pool.lease -= amount
        pool.taken -= amount

    def lost(self, key: PoolKey) -> None:
        """The database no longer has this lease (a process took this one for dead and
        released it): what is taken is now a deficit the next lease must cover."""
        self.pool(key).lease = 0

    def idle(self, now: float, idle_s: float, today: str) -> list[tuple[PoolKey, int]]:
        """Leases to give back: nothing in flight, and unused for ``idle_s`` or of a past
        day, in :func:`lock_order`. Their free part is taken until :meth:`returned` (or
        :meth:`untake`). Pools left with nothing are forgotten."""
        out: list[tuple[PoolKey, int]] = []
        for key in [k for k, p in self.pools.items() if p.lease <= 0 and p.taken <= 0]:
            del self.pools[key]
        for key, pool in sorted(self.pools.items(), key=lambda item: lock_order(item[0])):
            if pool.taken or pool.lease <= 0:
                continue
            if now - pool.used_at >= idle_s or (key[0] != BALANCE and key[2] != today):
                pool.taken += pool.lease
                out.append((key, pool.lease))
        return out

    def everything(self) -> list[tuple[PoolKey, int]]:
        """Every lease's free part, taken for giving back (the process stops)."""
        out: list[tuple[PoolKey, int]] = []
        for key, pool in sorted(self.pools.items(), key=lambda item: lock_order(item[0])):
            if pool.free > 0:
                amount = pool.free
                pool.taken += amount
                out.append((key, amount))
        return out

    def returned(self, key: PoolKey, amount: int) -> None:
        """A lease's part given back in the database."""
        self.consumed(key, amount)
        pool = self.pools[key]
        if pool.lease <= 0 and pool.taken <= 0:
            del self.pools[key]
