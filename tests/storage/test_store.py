"""The SQL store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from nanogate.billing import Book
from nanogate.core._ids import hash_api_key
from nanogate.storage import RequestRecord, SQLStore


async def test_upgrade_is_idempotent(store: SQLStore) -> None:
    """Applying migrations to an up-to-date database changes nothing."""
    await store.upgrade()
    await store.ping()


def test_the_schema_head_is_alembics_head() -> None:
    """The revision a database must be at to skip migrating is the newest migration's."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from nanogate.storage._sql import _MIGRATIONS, SCHEMA_HEAD

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


async def test_accounts_hold_exact_balances(store: SQLStore) -> None:
    """Balances are integers of nano-dollars; top-ups add exactly; unknown ids are None."""
    account = await Book(store.fast).create_account(5_000_000_000, name="demo")
    topped = await Book(store.fast).topup(account.id, 1)
    assert topped is not None and topped.balance_nusd == 5_000_000_001
    fetched = await Book(store.fast).get_account(account.id)
    assert fetched is not None and fetched.name == "demo" and fetched.balance_nusd == 5_000_000_001
    assert await Book(store.fast).topup("acct_missing", 1) is None
    assert await Book(store.fast).get_account("acct_missing") is None


async def test_concurrent_topups_all_land(store: SQLStore) -> None:
    """Fifty concurrent top-ups add up exactly: no lost update."""
    account = await Book(store.fast).create_account(0)
    await asyncio.gather(*(Book(store.fast).topup(account.id, 7) for _ in range(50)))
    fetched = await Book(store.fast).get_account(account.id)
    assert fetched is not None and fetched.balance_nusd == 350


async def test_keys_are_stored_as_hashes_with_their_settings(store: SQLStore) -> None:
    """A new key comes back once in clear; the record keeps its hash, prefix and limits."""
    account = await Book(store.fast).create_account(0)
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    new = await store.create_key(
        account.id,
        name="ci",
        models=["a", "b"],
        daily_requests=10,
        daily_usd_nusd=5,
        rps=2,
        expires_at=expires,
    )
    assert new.record.key_hash == hash_api_key(new.key)
    assert new.key.startswith(new.record.key_prefix)
    changes = await store.changes_since(-1)
    (stored,) = [k for k in changes.keys if k.id == new.record.id]
    assert stored.models == ("a", "b") and stored.allows("a") and not stored.allows("c")
    assert (stored.daily_requests, stored.daily_usd_nusd, stored.rps) == (10, 5, 2)
    assert stored.expires_at == expires and stored.revoked_at is None


async def test_changes_since_returns_only_what_changed(store: SQLStore) -> None:
    """The change feed returns keys created or revoked after a sequence number, and
    nothing when nothing changed."""
    account = await Book(store.fast).create_account(0)
    first = await store.create_key(account.id)
    seen = await store.changes_since(-1)
    assert (await store.changes_since(seen.seq)).keys == ()
    second = await store.create_key(account.id)
    assert await store.revoke_key(first.record.id)
    changes = await store.changes_since(seen.seq)
    assert {k.id for k in changes.keys} == {first.record.id, second.record.id}
    revoked = next(k for k in changes.keys if k.id == first.record.id)
    assert revoked.revoked_at is not None
    assert await store.revoke_key(first.record.id)  # revoking twice is fine
    assert not await store.revoke_key("key_missing")


async def test_concurrent_key_changes_are_never_missed(store: SQLStore) -> None:
    """Keys created concurrently all appear in the feed, whatever order they commit in."""
    account = await Book(store.fast).create_account(0)
    start = (await store.changes_since(-1)).seq
    seq, found = start, set()
    creations = asyncio.gather(*(store.create_key(account.id) for _ in range(20)))
    while not creations.done():
        changes = await store.changes_since(seq)
        seq = changes.seq
        found |= {k.id for k in changes.keys}
        await asyncio.sleep(0)
    created = {n.record.id for n in await creations}
    found |= {k.id for k in (await store.changes_since(seq)).keys}
    assert created <= found


async def test_request_log_round_trip(store: SQLStore) -> None:
    """Request records are written in batches and read back whole."""
    now = datetime.now(UTC).replace(microsecond=0)
    records = [
        RequestRecord(
            request_id=f"req_{i:024d}",
            created_at=now - timedelta(seconds=i),
            surface="openai",
            method="POST",
            path="/api/v1/chat/completions",
            status=200,
            key_id="key_1",
            model="local/chat",
            input_tokens=5,
            output_tokens=i,
            cost_nusd=123,
            deployments=[{"provider": "local", "ok": True}],
            duration_ms=1.5,
        )
        for i in range(3)
    ]
    await store.insert_requests(records)
    fetched = await store.get_request("req_" + "1".zfill(24))
    assert fetched is not None
    assert fetched.output_tokens == 1 and fetched.cost_nusd == 123
    assert fetched.deployments == [{"provider": "local", "ok": True}]
    assert fetched.created_at == now - timedelta(seconds=1)
    assert await store.get_request("req_missing") is None


async def test_usage_sums_a_keys_successful_requests_per_utc_day_and_model(
    store: SQLStore,
) -> None:
    """``usage`` groups a key's requests by UTC day and model within the days asked for,
    leaving out failed requests, requests without a model and other keys' requests."""
    day = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)

    def record(n: int, at: datetime, **fields: Any) -> RequestRecord:
        values: dict[str, Any] = {
            "request_id": f"req_u{n:023d}",
            "created_at": at,
            "surface": "openai",
            "method": "POST",
            "path": "/api/v1/chat/completions",
            "status": 200,
            "key_id": "key_u",
            "model": "m/a",
            "input_tokens": 10,
            "output_tokens": 2,
            "cost_nusd": 100,
        }
        return RequestRecord(**{**values, **fields})

    await store.insert_requests(
        [
            record(1, day),
            record(2, day + timedelta(minutes=10)),  # 23:40 UTC, still the 4th
            record(3, day + timedelta(hours=1)),  # 00:30 UTC on the 5th
            record(4, day, model="m/b", cost_nusd=7),
            record(5, day, status=429),
            record(6, day, model=None),
            record(7, day, key_id="key_other"),
            record(8, day - timedelta(days=2)),  # before the range
        ]
    )
    rows = await store.usage("key_u", "2026-03-03", "2026-03-05")
    assert [(r.day, r.model, r.requests, r.cost_nusd) for r in rows] == [
        ("2026-03-04", "m/a", 2, 200),
        ("2026-03-04", "m/b", 1, 7),
        ("2026-03-05", "m/a", 1, 100),
    ]
    assert rows[0].input_tokens == 20 and rows[0].output_tokens == 4


async def test_stored_responses_belong_to_a_key(store: SQLStore) -> None:
    """A stored response is readable and deletable only with its key id."""
    await store.save_response(
        "resp_1", "key_a", {"id": "resp_1"}, [{"role": "user", "content": "x"}]
    )
    assert await store.get_response("resp_1", "key_b") is None
    stored = await store.get_response("resp_1", "key_a")
    assert stored is not None and stored.context == [{"role": "user", "content": "x"}]
    assert not await store.delete_response("resp_1", "key_b")
    assert await store.delete_response("resp_1", "key_a")
    assert await store.get_response("resp_1", "key_a") is None


async def test_overlong_fields_are_cut_to_their_columns(store: SQLStore) -> None:
    """Strings longer than their column (an exotic HTTP method, a huge path) are cut to fit,
    on PostgreSQL too, so one odd request never breaks the request log."""
    record = RequestRecord(
        request_id="req_long",
        created_at=datetime.now(UTC),
        surface="openai",
        method="PROPPATCHING",
        path="/api/" + "x" * 500,
        model="m" * 300,
        status=405,
        code="c" * 100,
        client_ip="9" * 80,
    )
    await store.insert_requests([record])
    fetched = await store.get_request("req_long")
    assert fetched is not None
    assert (fetched.method, len(fetched.path), len(fetched.model or "")) == ("PROPPATC", 200, 200)
    assert len(fetched.code or "") == 64 and len(fetched.client_ip or "") == 64


async def test_a_refused_record_does_not_block_the_batch(store: SQLStore) -> None:
    """A record the database refuses (here a duplicate id) is dropped; the others in its
    batch are written."""
    now = datetime.now(UTC)

    def record(request_id: str) -> RequestRecord:
        return RequestRecord(request_id, now, "openai", "POST", "/api/v1/chat/completions")

    await store.insert_requests([record("req_dup")])
    await store.insert_requests([record("req_a"), record("req_dup"), record("req_b")])
    assert await store.get_request("req_a") is not None
    assert await store.get_request("req_b") is not None
