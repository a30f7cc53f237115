"""What an operator can do: the admin API's and the console's one implementation.

Every change writes an audit row (:mod:`nanogate.admin._audit`); every listing is a
keyset page (:mod:`nanogate.storage._pages`) read through an index.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nanogate.admin._audit import AuditEntry, Origin, audit_page, record
from nanogate.admin._stats import WINDOWS, bucketize, first_bucket
from nanogate.admin._views import (
    account_view,
    iso,
    key_view,
    ledger_view,
    payment_detail,
    payment_view,
    request_view,
)
from nanogate.billing import Book
from nanogate.billing._book import create_account, topup
from nanogate.core import format_usd, new_id
from nanogate.routing import Breakers, Catalog
from nanogate.routing._plan import deployment_name
from nanogate.routing._speeds import Speeds
from nanogate.storage import Account, Script, Store
from nanogate.storage._pages import Page, decode_cursor, page_of
from nanogate.storage._requests import figures_since


class NotFoundError(LookupError):
    """The row an operation names does not exist (``kind`` says which table)."""

    def __init__(self, kind: str, row_id: str) -> None:
        super().__init__(f"No {kind} '{row_id}'.")
        self.kind = kind
        self.row_id = row_id


@dataclass(frozen=True, slots=True)
class NewKeyShown:
    """A created key: its settings and, this once, the secret."""

    view: dict[str, Any]
    secret: str


class Admin:
    """Operations on accounts, keys, the request log, payments and deployments."""

    def __init__(
        self,
        store: Store,
        book: Book,
        catalog: Catalog,
        breakers: Breakers,
        speeds: Speeds,
        clock: Callable[[], datetime],
        pending: Callable[[str], Any] = lambda request_id: None,
        keys_changed: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.book = book
        self.catalog = catalog
        self.breakers = breakers
        self.speeds = speeds
        self.clock = clock
        self._pending = pending
        """A request's record not yet written to the database, if any."""
        self._keys_changed = keys_changed
        """Tells this process's key cache at once (other processes poll for changes)."""

    async def _tell_keys(self) -> None:
        if self._keys_changed is not None:
            await self._keys_changed()

    # Accounts ----------------------------------------------------------------------

    async def accounts(self, q: str | None, limit: int, cursor: str | None) -> Page[Any]:
        page = await self.book.list_accounts(q or None, limit, cursor)
        return Page([account_view(a) for a in page.items], page.next_cursor)

    async def account(self, account_id: str) -> dict[str, Any]:
        account = await self.book.get_account(account_id)
        if account is None:
            raise NotFoundError("account", account_id)
        return account_view(account)

    async def create_account(
        self, origin: Origin, name: str | None, balance_nusd: int
    ) -> dict[str, Any]:
        now = self.clock()
        account = Account(new_id("acct"), name, balance_nusd, now)

        def script() -> Script[Account]:
            made = yield from create_account(account)
            detail = {"name": name, "balance_usd": format_usd(balance_nusd)}
            yield from record(origin, "account.create", account.id, detail, now)
            return made

        return account_view(await self.book.driver.run(script()))

    async def topup(self, origin: Origin, account_id: str, amount_nusd: int) -> dict[str, Any]:
        now = self.clock()

        def script() -> Script[Account | None]:
            account = yield from topup(account_id, amount_nusd, now)
            if account is not None:
                detail = {"amount_usd": format_usd(amount_nusd)}
                yield from record(origin, "account.topup", account_id, detail, now)
            return account

        account = await self.book.driver.run(script())
        if account is None:
            raise NotFoundError("account", account_id)
        return account_view(account)

    async def ledger(self, account_id: str, limit: int, cursor: str | None) -> Page[Any]:
        await self.account(account_id)
        page = await self.book.ledger_page(account_id, limit, cursor)
        return Page([ledger_view(e) for e in page.items], page.next_cursor)

    # Keys --------------------------------------------------------------------------

    async def keys(self, account_id: str | None, limit: int, cursor: str | None) -> Page[Any]:
        page = await self.store.list_keys(account_id or None, limit, cursor)
        return Page([key_view(k) for k in page.items], page.next_cursor)

    async def key(self, key_id: str, days: int = 30) -> dict[str, Any]:
        """A key's settings and its successful requests per UTC day over ``days`` days."""
        key = await self.store.get_key(key_id)
        if key is None:
            raise NotFoundError("key", key_id)
        today = self.clock().date()
        first = today - timedelta(days=days - 1)
        rows = await self.store.usage(key_id, first.isoformat(), today.isoformat())
        usage = [
            {
                "day": r.day,
                "model": r.model,
                "requests": r.requests,
                "spend_usd": format_usd(r.cost_nusd),
                "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens,
            }
            for r in rows
        ]
        return {**key_view(key), "usage": usage}

    async def create_key(
        self,
        origin: Origin,
        account_id: str,
        *,
        name: str | None = None,
        models: Sequence[str] | None = None,
        daily_requests: int | None = None,
        daily_usd_nusd: int | None = None,
        rps: int | None = None,
        expires_at: datetime | None = None,
    ) -> NewKeyShown:
        await self.account(account_id)
        new = await self.store.create_key(
            account_id,
            name=name,
            models=models,
            daily_requests=daily_requests,
            daily_usd_nusd=daily_usd_nusd,
            rps=rps,
            expires_at=expires_at,
        )
        view = key_view(new.record)
        detail = {k: v for k, v in view.items() if k not in ("id", "created_at", "revoked_at")}
        await self.book.driver.run(
            record(origin, "key.create", new.record.id, detail, self.clock())
        )
        await self._tell_keys()
        return NewKeyShown(view, new.key)

    async def revoke_key(self, origin: Origin, key_id: str) -> dict[str, Any]:
        key = await self.store.get_key(key_id)
        if key is None:
            raise NotFoundError("key", key_id)
        if key.revoked_at is None:
            await self.store.revoke_key(key_id)
            detail = {"account_id": key.account_id}
            await self.book.driver.run(record(origin, "key.revoke", key_id, detail, self.clock()))
            await self._tell_keys()
            key = await self.store.get_key(key_id)
            assert key is not None, "keys are revoked, never deleted"
        return key_view(key)

    # The request log ------------------------------------------------------------------

    async def requests(
        self, filters: dict[str, object], limit: int, cursor: str | None
    ) -> Page[Any]:
        page = await self.store.list_requests(filters, limit, cursor)
        return Page([request_view(r) for r in page.items], page.next_cursor)

    async def request(self, request_id: str) -> dict[str, Any]:
        found = self._pending(request_id) or await self.store.get_request(request_id)
        if found is None:
            raise NotFoundError("request", request_id)
        view = request_view(found)
        charged = await self.book.charged(request_id)
        view["charged_usd"] = format_usd(charged.cost_nusd) if charged else None
        return view

    # Payments ----------------------------------------------------------------------

    async def payments(self, status: str | None, limit: int, cursor: str | None) -> Page[Any]:
        page = await self.store.payments.page(status or None, limit, cursor)
        return Page([payment_view(p) for p in page.items], page.next_cursor)

    async def payment(self, payment_id: str) -> dict[str, Any]:
        payment = await self.store.payments.get(payment_id)
        if payment is None:
            raise NotFoundError("payment", payment_id)
        return payment_detail(payment, await self.store.payments.receipts(payment_id))

    # Figures -----------------------------------------------------------------------

    async def stats(self, window_name: str) -> dict[str, Any]:
        window = WINDOWS[window_name]
        start = first_bucket(self.clock(), window)
        rows = await self.book.driver.read(figures_since(start))
        return {
            "window": window_name,
            "bucket_seconds": int(window.bucket.total_seconds()),
            "buckets": bucketize(rows, start, window),
        }

    def deployments(self) -> dict[str, Any]:
        """Each deployment's circuit and recent speed, as this worker process sees them."""
        data = []
        for model in self.catalog:
            for placement in model.deployments:
                name = deployment_name(placement.provider, placement.upstream_model)
                state, failures, wait = self.breakers.state(name)
                speed = self.speeds.get(name)
                data.append(
                    {
                        "name": name,
                        "model": model.id,
                        "provider": placement.provider,
                        "upstream_model": placement.upstream_model,
                        "breaker": state,
                        "consecutive_failures": failures,
                        "retry_in_s": round(wait, 3),
                        "latency_ms": round(speed.latency_s * 1000, 3)
                        if speed.latency_s is not None
                        else None,
                        "tokens_per_s": round(speed.tokens_per_s, 3)
                        if speed.tokens_per_s is not None
                        else None,
                    }
                )
        return {"data": data, "worker_pid": os.getpid()}

    # The audit trail ---------------------------------------------------------------

    async def audit(self, limit: int, cursor: str | None) -> Page[Any]:
        after = decode_cursor(cursor) if cursor else None
        rows: list[AuditEntry] = await self.book.driver.read(audit_page(limit + 1, after))
        page = page_of(rows, limit, lambda e: (e.created_at, e.id))
        return Page([_audit_view(e) for e in page.items], page.next_cursor)


def _audit_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.created_at),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
        "client_ip": entry.client_ip,
    }
