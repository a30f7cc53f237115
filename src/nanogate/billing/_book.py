"""The account book: accounts, their top-ups, and what the ledger says of them.

What an operator does to money (create an account, top it up, audit it, list its
ledger) and what a route reads of it, on the same driver and the same statements
(:mod:`nanogate.billing._sql`) as the money path, so the money tables have one
writer. Reads run through :meth:`~nanogate.storage.Driver.read`, off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nanogate.billing import _sql as sql
from nanogate.core import new_id
from nanogate.storage import Account, Audit, Charged, Driver, LedgerEntry, Query, Script
from nanogate.storage._fast import stored_time as moment
from nanogate.storage._pages import Page, after_clause, decode_cursor, like_pattern, page_of


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _account(row: tuple[Any, ...]) -> Account:
    id_, name, balance, created, reserved = row
    return Account(str(id_), name, int(balance), moment(created), int(reserved))


def _topup_entry(account_id: str, amount: int, now: datetime, note: str | None) -> Query:
    params = {
        "account": account_id,
        "kind": "topup",
        "amount": amount,
        "hold": 0,
        "request": None,
        "key": None,
        "model": None,
        "now": now,
        "note": note,
    }
    return Query(sql.LEDGER, params)


def count_accounts() -> Script[int]:
    return int((yield Query(sql.ACCOUNTS_COUNT)).rows[0][0])


def create_account(account: Account) -> Script[Account]:
    """Insert ``account``, its balance written in the ledger as the opening top-up."""
    params = {
        "id": account.id,
        "name": account.name,
        "balance": account.balance_nusd,
        "now": account.created_at,
    }
    yield Query(sql.ACCOUNT_CREATE, params)
    if account.balance_nusd:
        yield _topup_entry(account.id, account.balance_nusd, account.created_at, "opening balance")
    return account


def get_account(account_id: str) -> Script[Account | None]:
    rows = (yield Query(sql.ACCOUNT_GET, {"account": account_id})).rows
    return _account(rows[0]) if rows else None


def accounts_page(
    q: str | None, limit: int, after: tuple[datetime, str] | None
) -> Script[list[Account]]:
    """Up to ``limit`` accounts newest first, after ``after``'s position, whose id is
    ``q`` or whose name contains it (any case)."""
    where: list[str] = ["1 = 1"]
    params: dict[str, object] = {"limit": limit}
    if q:
        where.append(sql.ACCOUNT_MATCHES)
        params.update(q=q, like=like_pattern(q))
    if after is not None:
        where.append(after_clause("created_at", "id"))
        params.update(at=after[0], after=after[1])
    query = sql.ACCOUNTS_PAGE.format(where=" AND ".join(where))
    return [_account(row) for row in (yield Query(query, params)).rows]


def topup(account_id: str, amount_nusd: int, now: datetime) -> Script[Account | None]:
    rows = (yield Query(sql.TOPUP, {"account": account_id, "amount": amount_nusd})).rows
    if not rows:
        return None
    yield _topup_entry(account_id, amount_nusd, now, None)
    return _account(rows[0])


def audit(account_id: str) -> Script[Audit | None]:
    """One statement, so it sees one snapshot even while gateways write."""
    rows = (yield Query(sql.AUDIT, {"account": account_id})).rows
    if not rows:
        return None
    balance, reserved, ledger_balance, ledger_reserved, holds, leased = rows[0]
    return Audit(
        int(balance),
        int(reserved),
        int(ledger_balance),
        int(ledger_reserved),
        int(holds) + int(leased),
    )


def ledger_of(account_id: str, limit: int) -> Script[list[LedgerEntry]]:
    rows = (yield Query(sql.LEDGER_OF, {"account": account_id, "limit": limit})).rows
    return list(reversed(_entries(rows)))


def ledger_page(account_id: str, limit: int, before: int) -> Script[list[LedgerEntry]]:
    """Up to ``limit`` of an account's entries, newest first, with ids below ``before``."""
    params = {"account": account_id, "limit": limit, "before": before}
    return _entries((yield Query(sql.LEDGER_PAGE, params)).rows)


def _entries(rows: list[tuple[Any, ...]]) -> list[LedgerEntry]:
    return [
        LedgerEntry(
            id=int(id_),
            kind=kind,
            amount_nusd=int(amount),
            hold_nusd=int(hold),
            request_id=request,
            key_id=key,
            model=model,
            created_at=moment(created),
            note=note,
        )
        for id_, kind, amount, hold, request, key, model, created, note in rows
    ]


def charged(request_id: str) -> Script[Charged | None]:
    rows = (yield Query(sql.CHARGED, {"request": request_id})).rows
    if not rows:
        return None
    key_id, created, cost = rows[0]
    return Charged(request_id, key_id, moment(created), int(cost))


class Book:
    """Accounts and their money, read and written through ``driver``."""

    def __init__(self, driver: Driver, clock: Callable[[], datetime] = _utc_now) -> None:
        self.driver = driver
        self.clock = clock

    async def count_accounts(self) -> int:
        """How many accounts exist (the demo account is made only when none do)."""
        return await self.driver.read(count_accounts())

    async def create_account(self, balance_nusd: int = 0, name: str | None = None) -> Account:
        """A new account holding ``balance_nusd``."""
        account = Account(new_id("acct"), name, balance_nusd, self.clock())
        return await self.driver.run(create_account(account))

    async def get_account(self, account_id: str) -> Account | None:
        """The account, or ``None``."""
        return await self.driver.read(get_account(account_id))

    async def list_accounts(
        self, q: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[Account]:
        """A page of accounts, newest first (``q``: an id, or part of a name); raises
        ``ValueError`` for a cursor this listing did not make."""
        after = decode_cursor(cursor) if cursor else None
        rows = await self.driver.read(accounts_page(q, limit + 1, after))
        return page_of(rows, limit, lambda a: (a.created_at, a.id))

    async def topup(self, account_id: str, amount_nusd: int) -> Account | None:
        """Add ``amount_nusd`` atomically; the updated account, or ``None`` if unknown."""
        return await self.driver.run(topup(account_id, amount_nusd, self.clock()))

    async def audit(self, account_id: str) -> Audit | None:
        """The account's stored balance beside what its ledger adds up to; ``None`` for
        an unknown account."""
        return await self.driver.read(audit(account_id))

    async def ledger(self, account_id: str, limit: int = 1000) -> list[LedgerEntry]:
        """An account's most recent ledger entries, oldest first."""
        return await self.driver.read(ledger_of(account_id, limit))

    async def ledger_page(
        self, account_id: str, limit: int = 50, cursor: str | None = None
    ) -> Page[LedgerEntry]:
        """A page of an account's ledger, newest first; ``ValueError`` for a cursor this
        listing did not make."""
        before = 2**63 - 1
        if cursor:
            _, last = decode_cursor(cursor)
            if not last.isdigit():
                raise ValueError(f"not a cursor of this listing: {cursor!r}")
            before = int(last)
        rows = await self.driver.read(ledger_page(account_id, limit + 1, before))
        return page_of(rows, limit, lambda e: (e.created_at, str(e.id)))

    async def charged(self, request_id: str) -> Charged | None:
        """The ledger's record of a request's charge, or ``None`` if it has none."""
        return await self.driver.read(charged(request_id))
