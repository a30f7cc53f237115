"""The money path's transactions, as sans-IO scripts.

Each script is a generator: it yields :class:`Query` objects and receives each
one's :class:`Result`; it returns its outcome, or raises a catalogue error,
which rolls the whole transaction back. A driver (SQLite, PostgreSQL) runs a
script inside one transaction; the logic lives here once, in SQL both databases
understand.

Lock order is the same in every script (rate window, lease, daily usage,
account), so concurrent transactions on PostgreSQL never deadlock; SQLite
serialises writers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import orjson

from nanogate.billing import _sql as sql
from nanogate.billing._calendar import micros, seconds_until_midnight
from nanogate.billing._escrow import (
    BALANCE,
    LEASE_SHARE,
    REQUESTS,
    USD,
    PoolKey,
    Shortfall,
    lock_order,
)
from nanogate.billing._model import Admission, Hold, Replay, Spent
from nanogate.core import format_usd
from nanogate.errors import (
    DailyRequestLimitExceeded,
    DailyUSDLimitExceeded,
    IdempotencyConflict,
    InsufficientBalance,
    RateLimitExceeded,
)
from nanogate.storage import Query, Script

T = TypeVar("T")

UNLIMITED = 2**62


def _required(amount: int) -> Any:
    """``requiredBalance``: the reserved maximum, as an exact JSON number of dollars."""
    return orjson.Fragment(format_usd(amount, 0).encode())


def settle(
    hold: Hold, cost: int, now: datetime, note: str | None = None, kind: str | None = None
) -> Script[int]:
    """Charge ``cost`` and release the hold; returns what was charged.

    The charge is the cost, but never more than the hold (what the request was
    allowed to spend) nor than the account can pay without touching other
    requests' holds, so a balance never goes below zero. With a
    cost of 0 this is a release. A request settles once: settling it again
    charges nothing. A hold released by recovery (its process was taken for
    dead) is still charged when its request does settle, from what is free.
    """
    if hold.account_id is None:
        return 0
    held_rows = (yield Query(sql.UNRESERVE, {"request": hold.request_id})).rows
    held = int(held_rows[0][0]) if held_rows else 0
    if not held_rows and (yield Query(sql.SETTLED, {"request": hold.request_id})).rows:
        return 0
    daily = {"subject": hold.subject, "day": hold.day}
    if hold.counted:
        yield Query(sql.DAILY_ROW, daily, lock=True)
    account = (yield Query(sql.ACCOUNT, {"account": hold.account_id}, lock=True)).rows
    if not account:
        return 0
    balance, reserved = int(account[0][0]), int(account[0][1])
    available = balance - (reserved - held)
    charge = max(0, min(cost, hold.amount_nusd, available))
    if charge == 0 and held == 0:
        return 0
    yield Query(sql.DEBIT, {"charge": charge, "held": held, "account": hold.account_id})
    yield Query(
        sql.LEDGER,
        {
            "account": hold.account_id,
            "kind": kind or ("settlement" if charge else "release"),
            "amount": -charge,
            "hold": -held,
            "request": hold.request_id,
            "key": hold.key_id,
            "model": hold.model,
            "now": now,
            "note": note,
        },
    )
    if hold.counted and charge != held:
        yield Query(sql.ADJUST_DAILY, {**daily, "delta": charge - held})
    return charge


# Leases -------------------------------------------------------------------------------


def _pool_params(owner: str, key: PoolKey, amount: int) -> dict[str, Any]:
    kind, subject, day = key
    return {"owner": owner, "kind": kind, "subject": subject, "day": day, "amount": amount}


def _refusal(kind: str, need: int, now: datetime, available: int) -> Exception:
    """The refusal of a claim of ``need`` on a pool of ``kind`` that has ``available``
    towards it (free in the database, and what this process's lease gave)."""
    if kind == REQUESTS:
        return DailyRequestLimitExceeded(retry_after=seconds_until_midnight(now))
    if kind == BALANCE:
        refused = InsufficientBalance(fields={"requiredBalance": _required(need)})
        refused.available_nusd = max(0, available)
        return refused
    return DailyUSDLimitExceeded(retry_after=seconds_until_midnight(now))


def lease_seconds(
    subject: str, now: datetime, limit: int, want: int = 1, valid_us: int = 0
) -> Script[int]:
    """Count up to ``want`` admissions in the subject's last second, at least one or a
    refusal: at most ``limit`` in any second (a sliding second, not fixed windows that
    let twice the limit through across a boundary). Returns how many were counted.

    The subject's admissions are a ring of ``limit`` slots: each admission takes the
    slot of the one ``limit`` before it, which must be more than a second old. One
    admission (``want`` 1) is the request itself, stamped ``now``. More are a lease for
    this process to admit from until ``valid_us`` after ``now``, and are stamped with
    that end, so two admissions of one slot are always more than a second apart however
    late in its lease one came. One row lock and one read, whatever the limit. A
    refusal rolls the count back with the transaction."""
    at = micros(now)
    want = min(want, limit)
    stamp = at if want == 1 else at + valid_us
    end = int((yield Query(sql.SEQ_ADD, {"subject": subject, "n": want})).rows[0][0])
    first = (end - want) % limit
    span = {
        "subject": subject,
        "lo": first,
        "hi": min(first + want, limit) - 1,
        "wrap_lo": 0,
        "wrap_hi": first + want - limit - 1,  # below 0 when the span does not wrap
    }
    stamps = {int(slot): int(at_us) for slot, at_us in (yield Query(sql.SLOTS_READ, span)).rows}
    got = 0
    while got < want and stamps.get((first + got) % limit, 0) <= at - 1_000_000:
        got += 1
    if got == 0:
        raise RateLimitExceeded(retry_after=1)
    if got < want:
        yield Query(sql.SEQ_ADD, {"subject": subject, "n": got - want})
    slots = [{"subject": subject, "slot": (first + i) % limit, "now": stamp} for i in range(got)]
    yield Query(sql.SLOT_WRITE, many=slots)
    return got


def extend(
    owner: str,
    shortfalls: list[Shortfall],
    now: datetime,
    request: Admission,
    per_second: tuple[int, int, int] | None = None,
) -> Script[tuple[list[int], int]]:
    """Lease at least each shortfall (and up to what it wants, within a share of what is
    left) to ``owner``, and count ``per_second`` if given: up to ``want`` admissions of a
    per-second ``(limit, want, valid_us)`` (see :func:`lease_seconds`). Returns each grant, in the
    order of ``shortfalls``, and the per-second admissions counted (0 if none). Leases
    are taken in :func:`lock_order`. Refusals, first match: the per-second window,
    ``daily_rpd_limit_exceeded``, ``daily_usd_limit_exceeded``,
    ``insufficient_balance``; a refusal rolls back every lease this request asked for."""
    seconds = 0
    if per_second is not None:
        limit, want, valid_us = per_second
        seconds = yield from lease_seconds(request.subject, now, limit, want, valid_us)
    grants = [0] * len(shortfalls)
    for index in sorted(range(len(shortfalls)), key=lambda i: lock_order(shortfalls[i].claim.key)):
        shortfall = shortfalls[index]
        claim = shortfall.claim
        kind, subject, day = claim.key
        yield Query(sql.LEASE_LOCK, _pool_params(owner, claim.key, 0), lock=True)
        if kind == BALANCE:
            rows = (yield Query(sql.ACCOUNT, {"account": subject}, lock=True)).rows
            free = int(rows[0][0]) - int(rows[0][1]) if rows else -1
        else:
            daily = {"subject": subject, "day": day}
            yield Query(sql.DAILY_START, daily)
            rows = (yield Query(sql.DAILY_COUNTS, daily, lock=True)).rows
            used = int(rows[0][0] if kind == REQUESTS else rows[0][1])
            free = (UNLIMITED if claim.limit is None else claim.limit) - used
        if free < shortfall.short:
            raise _refusal(kind, claim.amount, now, free + claim.amount - shortfall.short)
        # whole holds of this size: requests of one size leave no stranded fragments
        share = (free - shortfall.short) // LEASE_SHARE // claim.amount * claim.amount
        grant = shortfall.short + min(shortfall.want, share)
        if kind == BALANCE:
            yield Query(sql.RESERVE_MORE, {"account": subject, "amount": grant})
            yield Query(
                sql.LEDGER,
                {
                    "account": subject,
                    "kind": "lease",
                    "amount": 0,
                    "hold": grant,
                    "request": request.request_id,
                    "key": request.key_id,
                    "model": request.model,
                    "now": now,
                    "note": f"leased to gateway process {owner}",
                },
            )
        else:
            yield Query(sql.DAILY_ADD[kind], {"subject": subject, "day": day, "amount": grant})
        yield Query(sql.LEASE_GROW, _pool_params(owner, claim.key, grant))
        grants[index] = grant
    return grants, seconds


def consumption(spent: list[Spent]) -> dict[PoolKey, int]:
    """What settling ``spent`` takes out of each lease: one request from a daily request
    allowance, the charge from a daily spending allowance and from the balance; in
    :func:`lock_order`."""
    out: dict[PoolKey, int] = {}
    for item in spent:
        hold = item.hold
        if hold.counts_requests:
            key = (REQUESTS, hold.subject, hold.day)
            out[key] = out.get(key, 0) + 1
        if item.charge:
            if hold.counts_usd:
                key = (USD, hold.subject, hold.day)
                out[key] = out.get(key, 0) + item.charge
            if hold.holds_money:
                assert hold.account_id is not None
                key = (BALANCE, hold.account_id, "")
                out[key] = out.get(key, 0) + item.charge
    return dict(sorted(out.items(), key=lambda item: lock_order(item[0])))


def settled_before(spent: list[Spent]) -> Script[list[int] | None]:
    """The charges of a batch written already (its transaction committed, though its
    writer heard of a failure), or ``None`` if it was not: told by the settlement row of
    its first charged request. A batch without charges cannot be told, and is written
    again (its requests then count twice in the day's counters, never less)."""
    first = next((item for item in spent if item.charge and item.hold.holds_money), None)
    if first is None:
        return None
    params = {"request": first.hold.request_id}
    if not (yield Query(sql.SETTLED_CHARGE, params)).rows:
        return None
    charges: list[int] = []
    for item in spent:
        rows = (yield Query(sql.SETTLED_CHARGE, {"request": item.hold.request_id})).rows
        charges.append(int(rows[0][0]) if rows else 0)
    return charges


def settle_leased(
    owner: str, spent: list[Spent], now: datetime, retry: bool = False
) -> Script[tuple[list[int], set[PoolKey]]]:
    """Write what a batch of requests spent from ``owner``'s leases, in one transaction;
    returns each request's charge and the leases the database no longer had.

    A request's charge moves from its process's lease to the account's spending: the
    balance and the reserved part both fall by it. A lease released meanwhile by
    another process (which took this one for dead) is gone: its requests are then
    charged from what the account has free, never more, and counted in the daily
    counters directly. A ``retry`` of a batch whose first attempt did commit changes
    nothing and returns its charges."""
    if retry:
        charged = yield from settled_before(spent)
        if charged is not None:
            return charged, set()
    lost: set[PoolKey] = set()
    for key, amount in consumption(spent).items():
        if not (yield Query(sql.LEASE_SHRINK, _pool_params(owner, key, amount), count=True)).count:
            lost.add(key)
            if key[0] != BALANCE:
                daily = {"subject": key[1], "day": key[2]}
                yield Query(sql.DAILY_START, daily)
                yield Query(sql.DAILY_ADD[key[0]], {**daily, "amount": amount})
    charges = [item.charge for item in spent]
    by_account: dict[str, list[int]] = {}
    for index, item in enumerate(spent):
        if item.charge and item.hold.holds_money:
            by_account.setdefault(str(item.hold.account_id), []).append(index)
    entries: list[dict[str, Any]] = []
    for account, indexes in sorted(by_account.items()):
        leased = (BALANCE, account, "") not in lost
        if not leased:
            rows = (yield Query(sql.ACCOUNT, {"account": account}, lock=True)).rows
            free = int(rows[0][0]) - int(rows[0][1]) if rows else 0
            for index in indexes:
                charges[index] = max(0, min(charges[index], free))
                free -= charges[index]
        total = sum(charges[index] for index in indexes)
        yield Query(sql.PAY, {"account": account, "charge": total, "lease": total if leased else 0})
        for index in indexes:
            hold = spent[index].hold
            entries.append(
                {
                    "account": account,
                    "kind": "settlement",
                    "amount": -charges[index],
                    "hold": -charges[index] if leased else 0,
                    "request": hold.request_id,
                    "key": hold.key_id,
                    "model": hold.model,
                    "now": now,
                    "note": spent[index].note,
                }
            )
    if entries:
        yield Query(sql.LEDGER, many=entries)
    return charges, lost


def _give_back(
    owner: str, key: PoolKey, amount: int, now: datetime, kind: str, note: str
) -> Script[bool]:
    """Return ``amount`` of a lease to the account or the daily allowance it came from;
    ``False`` if the lease no longer holds it."""
    if not (yield Query(sql.LEASE_SHRINK, _pool_params(owner, key, amount), count=True)).count:
        return False
    pool, subject, day = key
    if pool == BALANCE:
        yield Query(sql.RESERVE_MORE, {"account": subject, "amount": -amount})
        yield Query(
            sql.LEDGER,
            {
                "account": subject,
                "kind": kind,
                "amount": 0,
                "hold": -amount,
                "request": None,
                "key": None,
                "model": None,
                "now": now,
                "note": note,
            },
        )
    else:
        yield Query(sql.DAILY_ADD[pool], {"subject": subject, "day": day, "amount": -amount})
    return True


def return_leases(
    owner: str, parts: list[tuple[PoolKey, int]], now: datetime, note: str
) -> Script[list[bool]]:
    """Give back the free parts of ``owner``'s leases; for each, whether it was there."""
    done: list[bool] = []
    for key, amount in parts:  # in lock order: see Escrow.idle
        done.append((yield from _give_back(owner, key, amount, now, "release", note)))
    yield Query(sql.LEASES_EMPTY, {"owner": owner})
    return done


# Recovery after a crash ---------------------------------------------------------------


def instances(stale_before: datetime) -> Script[tuple[list[tuple[str, str, int, bool]], set[str]]]:
    """Every registered gateway process ``(id, hostname, pid, stale)``, and every owner
    of a reservation."""
    rows = (yield Query(sql.INSTANCES, {"stale": stale_before})).rows
    owners = (yield Query(sql.OWNERS, {})).rows
    listed = [(str(r[0]), str(r[1]), int(r[2]), bool(r[3])) for r in rows]
    return listed, {str(r[0]) for r in owners}


def heartbeat(instance: str, hostname: str, pid: int, now: datetime) -> Script[None]:
    """Register this process, or renew its registration."""
    yield Query(sql.HEARTBEAT, {"id": instance, "hostname": hostname, "pid": pid, "now": now})


def release_owner(owner: str, now: datetime, note: str) -> Script[int]:
    """Release every lease and hold of a gateway process that is gone; returns how many."""
    leased = (yield Query(sql.LEASES_OF, {"owner": owner}, lock=True)).rows
    for kind, subject, day, amount in sorted(leased, key=lambda r: lock_order(r[:3])):
        if int(amount) > 0:
            yield from _give_back(owner, (kind, subject, day), int(amount), now, "recovery", note)
    yield Query(sql.LEASES_FORGET, {"owner": owner})
    rows = (yield Query(sql.RESERVATIONS_OF, {"owner": owner})).rows
    for request, account, key, subject, counted, model, amount, day in rows:
        hold = Hold(
            request_id=request,
            subject=subject,
            day=day,
            account_id=account,
            key_id=key,
            amount_nusd=int(amount),
            model=model,
            counted=bool(counted),
        )
        yield from settle(hold, 0, now, note, kind="recovery")
    yield Query(sql.FORGET_INSTANCE, {"id": owner})
    return len(rows) + sum(1 for *_, amount in leased if int(amount) > 0)


def sweep(now_second: int, oldest_day: str, expired: datetime) -> Script[None]:
    """Delete counters and idempotency records nothing will read again."""
    params = {"before_us": (now_second - 2) * 1_000_000, "day": oldest_day, "expired": expired}
    for statement in sql.SWEEP:
        yield Query(statement, params)


# Idempotency --------------------------------------------------------------------------


def claim_idempotency(
    key: str, idem: str, body_hash: str, request: str, now: datetime, expired: datetime
) -> Script[Replay | None]:
    """Claim an ``Idempotency-Key`` for this request (``None``: run it), or return the
    stored answer of an earlier identical request; a different body, or an earlier
    request still running, is ``idempotency_conflict``."""
    params = {"key": key, "idem": idem, "hash": body_hash, "request": request, "now": now}
    if (yield Query(sql.IDEM_CLAIM, params)).rows:
        return None
    rows = (yield Query(sql.IDEM_READ, {**params, "expired": expired}, lock=True)).rows
    if not rows or bool(rows[0][6]):
        yield Query(sql.IDEM_RECLAIM, params)
        return None
    stored_hash, stored_request, state, status, headers, body, _ = rows[0]
    if stored_hash != body_hash:
        raise IdempotencyConflict(
            "This Idempotency-Key was used with a different request body; use a new key."
        )
    if state != "done":
        raise IdempotencyConflict(
            "A request with this Idempotency-Key is still in progress; retry when it finishes."
        )
    return Replay(
        request_id=stored_request,
        status=int(status),
        headers=[(str(k), str(v)) for k, v in orjson.loads(headers)],
        body=bytes(body),
    )


def finish_idempotency(
    key: str, idem: str, request: str, status: int, headers: list[tuple[str, str]], body: bytes
) -> Script[None]:
    """Store the answer of the request that holds the ``Idempotency-Key``."""
    yield Query(
        sql.IDEM_DONE,
        {
            "key": key,
            "idem": idem,
            "request": request,
            "status": status,
            "headers": orjson.dumps(headers).decode(),
            "body": body,
        },
    )


def forget_idempotency(key: str, idem: str, request: str) -> Script[None]:
    """Give the ``Idempotency-Key`` up (the request failed), so a retry can run."""
    yield Query(sql.IDEM_FORGET, {"key": key, "idem": idem, "request": request})
