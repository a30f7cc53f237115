"""Listings on SQLite and PostgreSQL alike: pages newest first, searches, cursors."""

from __future__ import annotations

import re
import secrets
import sqlite3
from pathlib import Path

from tests.helpers import run_sync

from nanogate.billing import Book
from nanogate.storage import SQLStore


async def test_accounts_keys_and_requests_page_on_each_database(store: SQLStore) -> None:
    """A name search (with its wildcards escaped) finds this test's accounts, pages of
    one follow each other by cursor, a key listing narrows to an account, and the
    request log listing filters by key."""
    run = secrets.token_hex(4)
    book = Book(store.fast)
    made = [await book.create_account(name=f"{run}-{n}%") for n in range(3)]
    found = await book.list_accounts(f"{run}-", limit=1)
    ids = [a.id for a in found.items]
    cursor = found.next_cursor
    while cursor is not None:
        page = await book.list_accounts(f"{run}-", limit=1, cursor=cursor)
        ids += [a.id for a in page.items]
        cursor = page.next_cursor
    assert ids == [a.id for a in reversed(made)]
    assert [a.id for a in (await book.list_accounts(f"{run}-1%")).items] == [made[1].id]
    assert (await book.list_accounts(f"{run}-1_")).items == []
    key = await store.create_key(made[0].id)
    keys = await store.list_keys(made[0].id)
    assert [k.id for k in keys.items] == [key.record.id] and keys.next_cursor is None
    requests = await store.list_requests({"key_id": key.record.id})
    assert requests.items == [] and requests.next_cursor is None


async def test_ledgers_payments_and_the_audit_trail_page(store: SQLStore) -> None:
    """A ledger pages newest first by cursor; the payment listing and the audit trail
    answer pages (empty here for an unknown status) on each database."""
    from nanogate.admin._audit import Origin, audit_page, record

    book = Book(store.fast)
    account = await book.create_account(1)
    for amount in (2, 3, 4):
        await book.topup(account.id, amount)
    first = await book.ledger_page(account.id, limit=2)
    assert [e.amount_nusd for e in first.items] == [4, 3]
    rest = await book.ledger_page(account.id, limit=2, cursor=first.next_cursor)
    assert [e.amount_nusd for e in rest.items] == [2, 1] and rest.next_cursor is None
    assert (await store.payments.page("no-such-status")).items == []
    now = account.created_at
    await store.fast.run(record(Origin("api", None), "account.topup", account.id, {}, now))
    (entry, *_) = await store.fast.read(audit_page(1, None))
    assert entry.action == "account.topup" and entry.target == account.id


def test_every_admin_listing_reads_an_index(tmp_path: Path) -> None:
    """SQLite's plan for each listing and filter the console and admin API use searches
    an index instead of scanning the table, so they stay quick with a large log."""
    from nanogate.storage._requests import _FIGURES, FIELDS, REQUEST_FILTERS

    url = f"sqlite:///{tmp_path / 'plan.db'}"
    run_sync(_upgrade(url))
    connection = sqlite3.connect(tmp_path / "plan.db")
    columns = ", ".join(FIELDS)
    order = "ORDER BY created_at DESC, request_id DESC LIMIT 50"
    queries = [f"SELECT {columns} FROM request_log WHERE 1 = 1 {order}"]
    queries += [
        f"SELECT {columns} FROM request_log WHERE {c} {order}" for c in REQUEST_FILTERS.values()
    ]
    queries += [
        _FIGURES,
        "SELECT * FROM accounts ORDER BY created_at DESC, id DESC LIMIT 50",
        "SELECT * FROM api_keys WHERE account_id = :a ORDER BY created_at DESC, id DESC LIMIT 50",
        "SELECT * FROM api_keys ORDER BY created_at DESC, id DESC LIMIT 50",
        "SELECT * FROM x402_payments ORDER BY created_at DESC, id DESC LIMIT 50",
        "SELECT * FROM x402_payments WHERE status = :s ORDER BY created_at DESC, id DESC LIMIT 50",
        "SELECT * FROM admin_audit ORDER BY created_at DESC, id DESC LIMIT 50",
    ]
    for query in queries:
        names = {name: None for name in re.findall(r":(\w+)", query)}
        plan = " | ".join(
            row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + query, names)
        )
        assert "INDEX" in plan or "PRIMARY KEY" in plan, (query, plan)
    connection.close()


async def _upgrade(url: str) -> None:
    store = SQLStore(url)
    try:
        await store.upgrade()
    finally:
        await store.close()
