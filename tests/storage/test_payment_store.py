"""Stored x402 payments, on SQLite and PostgreSQL alike: quotes, address leases,
receipts, and status changes that exactly one of many concurrent callers wins."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from nanogate.core import new_id
from nanogate.storage import NewPayment, SQLStore, StoredOffer, StoredReceipt

NOW = datetime(2026, 6, 9, 12, 0, tzinfo=UTC)
POOL = ("nano_shared_1", "nano_shared_2", "nano_shared_3")
"""PostgreSQL keeps one database for the whole run: tests that count leases use their
own pool (:func:`_pool`)."""
RAW = 10**35 + 7
"""More raw than 64 bits hold, as real Nano amounts are."""


def _new(request_hash: str = "sha256:abc", created: datetime = NOW) -> NewPayment:
    return NewPayment(
        id=new_id("pay"),
        created_at=created,
        expires_at=created + timedelta(minutes=15),
        request_hash=request_hash,
        method="POST",
        path="/api/v1/chat/completions",
        headers={"content-type": "application/json"},
        body=b'{"model":"m"}',
        amount_nusd=71_400_000,
        offers=[StoredOffer("nano", POOL[0], RAW), StoredOffer("x402-exact", "0xT", 1500)],
    )


async def _create(
    store: SQLStore,
    created: datetime = NOW,
    hash_: str = "sha256:abc",
    pool: tuple[str, ...] = POOL,
) -> str:
    payment = await store.payments.create(
        _new(hash_, created), {"nano": pool}, created + timedelta(hours=1)
    )
    assert payment is not None
    return payment.id


def _pool() -> tuple[str, ...]:
    """Three addresses no other test uses."""
    run = new_id("pool")
    return tuple(f"nano_{run}_{n}" for n in range(3))


async def test_a_quote_is_stored_with_its_request_and_exact_amounts(store: SQLStore) -> None:
    """A stored quote comes back with its request, its price and each rail's amount,
    integers beyond 64 bits exact."""
    payment_id = await _create(store, pool=_pool())
    payment = await store.payments.get(payment_id)
    assert payment is not None
    assert (payment.status, payment.method, payment.body) == ("pending", "POST", b'{"model":"m"}')
    assert payment.headers == {"content-type": "application/json"}
    assert payment.created_at == NOW and payment.amount_nusd == 71_400_000
    nano = payment.offer("nano")
    assert nano is not None and nano.amount == RAW and nano.received == 0
    assert payment.offer("x402-exact") == StoredOffer("x402-exact", "0xT", 1500)
    assert await store.payments.get("pay_missing") is None


async def test_each_open_payment_leases_its_own_address(store: SQLStore) -> None:
    """Concurrent quotes on a polling rail get distinct addresses from its pool; once the
    pool is exhausted the rail is left out of the next quotes (the others stay)."""
    pool = _pool()
    ids = await asyncio.gather(*(_create(store, pool=pool) for _ in range(5)))
    addresses = []
    for payment_id in ids:
        payment = await store.payments.get(payment_id)
        assert payment is not None
        nano = payment.offer("nano")
        if nano is not None:
            addresses.append(nano.pay_to)
        assert payment.offer("x402-exact") is not None
    assert sorted(addresses) == sorted(pool)


async def test_an_address_returns_to_the_pool_after_its_lease(store: SQLStore) -> None:
    """An address is leased again only once its lease has ended."""
    pool = _pool()
    for _ in pool:
        await _create(store, pool=pool)
    blocked = await store.payments.get(await _create(store, pool=pool))
    assert blocked is not None and blocked.offer("nano") is None
    later = NOW + timedelta(hours=2)
    fresh = await store.payments.get(await _create(store, created=later, pool=pool))
    assert fresh is not None and fresh.offer("nano") is not None


async def test_receipts_count_once_whoever_reports_them(store: SQLStore) -> None:
    """A receipt recorded twice, or for two payments, counts once, for the first."""
    first, second = await _create(store, pool=_pool()), await _create(store, pool=_pool())
    h1, h2 = new_id("block"), new_id("block")
    added = await store.payments.add_receipts(first, "nano", [(h1, 5, NOW), (h2, RAW, NOW)], NOW)
    assert added == 2
    assert await store.payments.add_receipts(first, "nano", [(h1, 5, NOW)], NOW) == 0
    assert await store.payments.add_receipts(second, "nano", [(h2, RAW, NOW)], NOW) == 0
    payment = await store.payments.get(first)
    assert payment is not None
    nano = payment.offer("nano")
    assert nano is not None and nano.received == RAW + 5


async def test_of_concurrent_status_changes_exactly_one_wins(store: SQLStore) -> None:
    """Twenty concurrent claims of a paid payment: exactly one takes it to processing,
    and its run is counted once."""
    payment_id = await _create(store)
    assert await store.payments.transition(payment_id, ["pending"], "paid", NOW)
    results = await asyncio.gather(
        *(
            store.payments.transition(payment_id, ["paid"], "processing", NOW, count_run=True)
            for _ in range(20)
        )
    )
    assert results.count(True) == 1
    payment = await store.payments.get(payment_id)
    assert payment is not None and payment.status == "processing" and payment.runs == 1


async def test_a_payment_digest_binds_one_payment(store: SQLStore) -> None:
    """An X-PAYMENT digest bound to one payment cannot be bound to another; the payment
    it paid is found by it, with its settlement."""
    first, second = await _create(store), await _create(store)
    digest = new_id("sha256")
    settlement = {"success": True, "transaction": "0xabc", "network": "base", "payer": "0x1"}
    assert await store.payments.transition(
        first, ["pending"], "processing", NOW, payment_digest=digest, settlement=settlement
    )
    assert not await store.payments.transition(
        second, ["pending"], "processing", NOW, payment_digest=digest
    )
    found = await store.payments.find_by_digest(digest)
    assert found is not None and found.id == first and found.settlement == settlement
    other = await store.payments.get(second)
    assert other is not None and other.status == "pending"


async def test_the_quotes_of_a_request_are_found_newest_first(store: SQLStore) -> None:
    """``quoted_for`` returns the payments quoted for a request hash, newest first."""
    same, other = new_id("sha256"), new_id("sha256")
    oldest = await _create(store, NOW, same)
    newest = await _create(store, NOW + timedelta(seconds=5), same)
    await _create(store, NOW + timedelta(seconds=9), other)
    assert [p.id for p in await store.payments.quoted_for(same)] == [newest, oldest]
    assert await store.payments.quoted_for(new_id("sha256")) == []


async def test_unpaid_quotes_are_pruned_and_paid_ones_kept(store: SQLStore) -> None:
    """``prune`` deletes payments that expired before the cut having received nothing,
    and keeps those that received funds or are still open."""
    unpaid = await _create(store, NOW, pool=_pool())
    funded = await _create(store, NOW, pool=_pool())
    await store.payments.add_receipts(funded, "nano", [(new_id("block"), 1, NOW)], NOW)
    open_one = await _create(store, NOW + timedelta(hours=5), pool=_pool())
    cut = NOW + timedelta(hours=1)
    assert await store.payments.prune(cut) >= 1
    assert await store.payments.get(unpaid) is None
    assert await store.payments.get(funded) is not None
    assert await store.payments.get(open_one) is not None


async def test_a_quote_no_rail_can_take_is_not_stored(store: SQLStore) -> None:
    """When every offered rail's pool is exhausted, nothing is stored and ``create``
    returns None."""
    pool = (f"nano_{new_id('only')}",)
    await _create(store, pool=pool)
    lonely = replace(_new(), offers=[StoredOffer("nano", pool[0], 5)])
    assert await store.payments.create(lonely, {"nano": pool}, NOW + timedelta(hours=1)) is None
    assert await store.payments.get(lonely.id) is None


async def test_receipts_list_what_a_refund_needs(store: SQLStore) -> None:
    """A payment's receipts come back with their rail, id, exact amount, when they
    arrived and when they were seen."""
    payment_id = await _create(store, pool=_pool())
    block = new_id("block")
    arrived = NOW - timedelta(seconds=30)
    await store.payments.add_receipts(payment_id, "nano", [(block, RAW, arrived)], NOW)
    assert await store.payments.receipts(payment_id) == [
        StoredReceipt("nano", block, RAW, arrived, NOW)
    ]


async def test_funds_count_by_when_they_arrived_not_when_they_were_seen(
    store: SQLStore,
) -> None:
    """Funds that arrived before the payment's expiry are ``received`` even when seen
    after it; funds that arrived at or after it are ``late``, whenever seen."""
    payment_id = await _create(store, pool=_pool())
    payment = await store.payments.get(payment_id)
    assert payment is not None
    expires, seen_late = payment.expires_at, payment.expires_at + timedelta(minutes=5)
    in_time = [(new_id("block"), 3, expires - timedelta(seconds=1))]
    late = [(new_id("block"), 4, expires), (new_id("block"), 5, expires + timedelta(minutes=1))]
    await store.payments.add_receipts(payment_id, "nano", in_time, seen_late)
    await store.payments.add_receipts(payment_id, "nano", late, NOW)
    payment = await store.payments.get(payment_id)
    assert payment is not None
    nano = payment.offer("nano")
    assert nano is not None and (nano.received, nano.late) == (3, 9)
