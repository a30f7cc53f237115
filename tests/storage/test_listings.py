"""Listings on SQLite and PostgreSQL alike: pages newest first, searches, cursors."""

from __future__ import annotations

import secrets

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
