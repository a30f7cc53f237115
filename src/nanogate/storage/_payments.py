"""Stored x402 payments: quotes with their requests, offers, receipts and address leases.

Every change of a payment's status is one conditional ``UPDATE`` (``WHERE status IN
...``), so of two concurrent completes exactly one takes a payment from ``paid`` to
``processing``; an ``X-PAYMENT`` is bound to one payment by a unique digest.

Reads are scripts for the fast driver (:mod:`nanogate.storage._fast`), so that
``nanogate payments show`` needs neither SQLAlchemy nor Alembic; writes go through
SQLAlchemy, which each writing method imports on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from nanogate.storage._fast import Driver, Query, Script, stored_time
from nanogate.storage._pages import Page, after_clause, decode_cursor, page_of
from nanogate.x402 import Status, arrived_in_time, status_of

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@dataclass(frozen=True, slots=True)
class StoredOffer:
    """One rail a payment can be paid on, and what it has received there."""

    rail: str
    pay_to: str
    amount: int
    received: int = 0
    """What arrived before the payment's ``expires_at``: what pays it."""
    late: int = 0
    """What arrived at or after ``expires_at``: recorded, never counted (the operator's
    to refund)."""


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    """Funds recorded towards a payment: a Nano block, a token transfer, a dev credit."""

    rail: str
    receipt_id: str
    """The block hash or ``txhash:logindex`` a refund needs."""
    amount: int
    arrived_at: datetime
    """When the funds arrived by the chain's clock (when first seen, if unknown)."""
    observed_at: datetime
    """When the gateway first saw them."""


@dataclass(frozen=True, slots=True)
class StoredPayment:
    """A quote and the request it prices."""

    id: str
    created_at: datetime
    expires_at: datetime
    request_hash: str
    method: str
    path: str
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    amount_nusd: int
    status: Status
    runs: int = 0
    paid_rail: str | None = None
    settlement: dict[str, Any] | None = None
    request_id: str | None = None
    last_error: str | None = None
    offers: tuple[StoredOffer, ...] = ()
    updated_at: datetime | None = None
    """When the status last changed."""
    owner: str | None = None
    """The gateway process that took it to ``processing``."""

    def offer(self, rail: str) -> StoredOffer | None:
        return next((o for o in self.offers if o.rail == rail), None)


@dataclass(frozen=True, slots=True)
class NewPayment:
    """What a quote stores: the request, its price, and each rail's amount (``pay_to``
    of a polling rail is leased from ``pools`` when the payment is made)."""

    id: str
    created_at: datetime
    expires_at: datetime
    request_hash: str
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    amount_nusd: int
    offers: Sequence[StoredOffer]


_PAYMENT_COLUMNS = (
    "id",
    "created_at",
    "expires_at",
    "request_hash",
    "method",
    "path",
    "headers",
    "body",
    "amount_nusd",
    "status",
    "runs",
    "paid_rail",
    "settlement",
    "request_id",
    "last_error",
    "updated_at",
    "owner",
)
_PAYMENT = f"SELECT {', '.join(_PAYMENT_COLUMNS)} FROM x402_payments WHERE id = :payment"
_OFFERS = "SELECT rail, pay_to, amount FROM x402_offers WHERE payment_id = :payment"
_RECEIPTS = """
SELECT rail, receipt_id, amount, arrived_at, observed_at FROM x402_receipts
WHERE payment_id = :payment ORDER BY observed_at, receipt_id"""
_QUOTED_FOR = """
SELECT id FROM x402_payments WHERE request_hash = :hash
ORDER BY created_at DESC, id DESC LIMIT :limit"""
_BY_DIGEST = "SELECT id FROM x402_payments WHERE payment_digest = :digest"


def payment(payment_id: str) -> Script[StoredPayment | None]:
    """The payment, with what each of its offers has received: in time (funds that
    arrived before its ``expires_at``) and late (at or after it), whenever either
    was seen."""
    rows = (yield Query(_PAYMENT, {"payment": payment_id})).rows
    if not rows:
        return None
    row = dict(zip(_PAYMENT_COLUMNS, rows[0], strict=True))
    offers = (yield Query(_OFFERS, {"payment": payment_id})).rows
    expires_at = stored_time(row["expires_at"])
    in_time: dict[str, int] = {}
    late: dict[str, int] = {}
    for receipt in (yield from receipts(payment_id)):
        sums = in_time if arrived_in_time(receipt.arrived_at, expires_at) else late
        sums[receipt.rail] = sums.get(receipt.rail, 0) + receipt.amount
    return _payment(
        row,
        tuple(
            StoredOffer(rail, pay_to, int(amount), in_time.get(rail, 0), late.get(rail, 0))
            for rail, pay_to, amount in offers
        ),
    )


def payments_page(
    status: str | None, limit: int, after: tuple[datetime, str] | None
) -> Script[list[StoredPayment]]:
    """Up to ``limit`` payments newest first, after ``after``'s position, of ``status``
    if given; without their offers (:func:`payment` gives one whole)."""
    where = ["1 = 1"]
    params: dict[str, object] = {"limit": limit}
    if status is not None:
        where.append("status = :status")
        params["status"] = status
    if after is not None:
        where.append(after_clause("created_at", "id"))
        params.update(at=after[0], after=after[1])
    query = (
        f"SELECT {', '.join(_PAYMENT_COLUMNS)} FROM x402_payments "
        f"WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT :limit"
    )
    rows = (yield Query(query, params)).rows
    return [_payment(dict(zip(_PAYMENT_COLUMNS, row, strict=True)), ()) for row in rows]


def receipts(payment_id: str) -> Script[list[StoredReceipt]]:
    """What was received towards the payment, oldest first (the block hashes and
    transactions a refund needs)."""
    rows = (yield Query(_RECEIPTS, {"payment": payment_id})).rows
    return [
        StoredReceipt(
            rail,
            receipt_id,
            int(amount),
            stored_time(arrived_at or observed_at),
            stored_time(observed_at),
        )
        for rail, receipt_id, amount, arrived_at, observed_at in rows
    ]


def quoted_for(request_hash: str, limit: int) -> Script[list[StoredPayment]]:
    """The payments quoted for ``request_hash``, newest first."""
    ids = (yield Query(_QUOTED_FOR, {"hash": request_hash, "limit": limit})).rows
    found = []
    for (payment_id,) in ids:
        stored = yield from payment(payment_id)
        if stored is not None:
            found.append(stored)
    return found


def by_digest(digest: str) -> Script[StoredPayment | None]:
    """The payment an ``X-PAYMENT`` with this digest was used for."""
    rows = (yield Query(_BY_DIGEST, {"digest": digest})).rows
    if not rows:
        return None
    return (yield from payment(rows[0][0]))


class PaymentStore:
    """x402 payments in the gateway's database: reads on the fast driver, writes
    through SQLAlchemy."""

    def __init__(self, writer: AsyncEngine, dialect: str, fast: Driver) -> None:
        self._writer = writer
        self._dialect = dialect
        self._fast = fast

    def _upsert(self) -> Any:
        """The dialect's ``insert`` (with ``on_conflict_do_nothing``), imported on use."""
        if self._dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert

            return postgresql_insert
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert

    async def create(
        self,
        payment: NewPayment,
        pools: Mapping[str, Sequence[str]],
        lease_until: datetime,
    ) -> StoredPayment | None:
        """Store ``payment``; each rail in ``pools`` gets an address of its pool that no
        other payment holds, until ``lease_until``. A rail whose pool is exhausted is
        left out of the stored offers; with no offer left, nothing is stored (``None``)."""
        from sqlalchemy import insert

        from nanogate.storage._tables import x402_offers, x402_payments

        offers: list[StoredOffer] = []
        async with self._writer.connect() as conn, conn.begin() as transaction:
            await conn.execute(
                insert(x402_payments).values(
                    id=payment.id,
                    created_at=payment.created_at,
                    expires_at=payment.expires_at,
                    request_hash=payment.request_hash,
                    method=payment.method,
                    path=payment.path,
                    headers=orjson.dumps(dict(payment.headers)).decode(),
                    body=payment.body,
                    amount_nusd=payment.amount_nusd,
                    status="pending",
                    runs=0,
                    updated_at=payment.created_at,
                )
            )
            for offer in payment.offers:
                pool = pools.get(offer.rail)
                pay_to = offer.pay_to
                if pool is not None:
                    leased = await self._lease(
                        conn, offer.rail, pool, payment.id, payment.created_at, lease_until
                    )
                    if leased is None:
                        continue
                    pay_to = leased
                offers.append(StoredOffer(offer.rail, pay_to, offer.amount))
                await conn.execute(
                    insert(x402_offers).values(
                        payment_id=payment.id,
                        rail=offer.rail,
                        pay_to=pay_to,
                        amount=str(offer.amount),
                    )
                )
            if not offers:
                await transaction.rollback()
                return None
        return StoredPayment(
            payment.id,
            payment.created_at,
            payment.expires_at,
            payment.request_hash,
            payment.method,
            payment.path,
            dict(payment.headers),
            payment.body,
            payment.amount_nusd,
            "pending",
            offers=tuple(offers),
            updated_at=payment.created_at,
        )

    async def _lease(
        self,
        conn: AsyncConnection,
        rail: str,
        pool: Sequence[str],
        payment_id: str,
        now: datetime,
        until: datetime,
    ) -> str | None:
        from sqlalchemy import select

        from nanogate.storage._tables import x402_leases

        held = set(
            (
                await conn.execute(
                    select(x402_leases.c.pay_to).where(
                        x402_leases.c.rail == rail, x402_leases.c.until > now
                    )
                )
            ).scalars()
        )
        make = self._upsert()
        for address in pool:
            if address in held:
                continue
            upsert = make(x402_leases).values(
                rail=rail, pay_to=address, payment_id=payment_id, until=until
            )
            statement = upsert.on_conflict_do_update(
                index_elements=["rail", "pay_to"],
                set_={"payment_id": payment_id, "until": until},
                where=x402_leases.c.until <= now,
            ).returning(x402_leases.c.pay_to)
            if (await conn.execute(statement)).first() is not None:
                return address
        return None

    async def get(self, payment_id: str) -> StoredPayment | None:
        """See :func:`payment`."""
        return await self._fast.read(payment(payment_id))

    async def page(
        self, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[StoredPayment]:
        """A page of payments newest first (see :func:`payments_page`); ``ValueError``
        for a cursor this listing did not make."""
        after = decode_cursor(cursor) if cursor else None
        rows = await self._fast.read(payments_page(status, limit + 1, after))
        return page_of(rows, limit, lambda p: (p.created_at, p.id))

    async def receipts(self, payment_id: str) -> list[StoredReceipt]:
        """See :func:`receipts`."""
        return await self._fast.read(receipts(payment_id))

    async def quoted_for(self, request_hash: str, limit: int = 10) -> list[StoredPayment]:
        """See :func:`quoted_for`."""
        return await self._fast.read(quoted_for(request_hash, limit))

    async def find_by_digest(self, digest: str) -> StoredPayment | None:
        """See :func:`by_digest`."""
        return await self._fast.read(by_digest(digest))

    async def add_receipts(
        self,
        payment_id: str,
        rail: str,
        receipts: Iterable[tuple[str, int, datetime]],
        now: datetime,
    ) -> int:
        """Record funds received towards ``payment_id`` on ``rail``, seen ``now``:
        ``(receipt id, amount, when it arrived)``; a receipt already recorded, for any
        payment, is not counted again. Returns how many were new."""
        from nanogate.storage._tables import x402_receipts

        added = 0
        make = self._upsert()
        async with self._writer.begin() as conn:
            for receipt_id, amount, arrived_at in receipts:
                statement = (
                    make(x402_receipts)
                    .values(
                        rail=rail,
                        receipt_id=receipt_id,
                        payment_id=payment_id,
                        amount=str(amount),
                        observed_at=now,
                        arrived_at=arrived_at,
                    )
                    .on_conflict_do_nothing(index_elements=["rail", "receipt_id"])
                )
                added += (await conn.execute(statement)).rowcount or 0
        return added

    async def transition(
        self,
        payment_id: str,
        from_statuses: Iterable[Status],
        to_status: Status,
        now: datetime,
        **values: Any,
    ) -> bool:
        """Move the payment to ``to_status`` if it is in one of ``from_statuses``, with
        ``values`` (``runs``, ``settlement``...) set in the same statement. ``False``
        when its status was another (someone else moved it first), or when
        ``payment_digest`` is already bound to another payment."""
        from sqlalchemy import update
        from sqlalchemy.exc import IntegrityError

        from nanogate.storage._tables import x402_payments

        if "settlement" in values and values["settlement"] is not None:
            values["settlement"] = orjson.dumps(values["settlement"]).decode()
        if values.pop("count_run", False):
            values["runs"] = x402_payments.c.runs + 1
        statement = (
            update(x402_payments)
            .where(x402_payments.c.id == payment_id, x402_payments.c.status.in_(from_statuses))
            .values(status=to_status, updated_at=now, **values)
        )
        try:
            async with self._writer.begin() as conn:
                return bool((await conn.execute(statement)).rowcount)
        except IntegrityError:
            return False

    async def prune(self, before: datetime) -> int:
        """Delete the payments that expired before ``before`` having received nothing
        (quotes nobody paid), with their offers; returns how many."""
        from sqlalchemy import select

        from nanogate.storage._tables import x402_offers, x402_payments, x402_receipts

        unpaid = (
            select(x402_payments.c.id)
            .where(
                x402_payments.c.status.in_(("pending", "expired")),
                x402_payments.c.expires_at < before,
                ~select(x402_receipts.c.payment_id)
                .where(x402_receipts.c.payment_id == x402_payments.c.id)
                .exists(),
            )
            .limit(1000)
        )
        async with self._writer.begin() as conn:
            ids = list((await conn.execute(unpaid)).scalars())
            if not ids:
                return 0
            await conn.execute(x402_offers.delete().where(x402_offers.c.payment_id.in_(ids)))
            await conn.execute(x402_payments.delete().where(x402_payments.c.id.in_(ids)))
        return len(ids)


def _payment(row: dict[str, Any], offers: tuple[StoredOffer, ...]) -> StoredPayment:
    settlement = row["settlement"]
    return StoredPayment(
        id=row["id"],
        created_at=stored_time(row["created_at"]),
        expires_at=stored_time(row["expires_at"]),
        request_hash=row["request_hash"],
        method=row["method"],
        path=row["path"],
        headers=orjson.loads(row["headers"]),
        body=bytes(row["body"]),
        amount_nusd=int(row["amount_nusd"]),
        status=status_of(row["status"]),
        runs=int(row["runs"]),
        paid_rail=row["paid_rail"],
        settlement=orjson.loads(settlement) if settlement else None,
        request_id=row["request_id"],
        last_error=row["last_error"],
        offers=offers,
        updated_at=stored_time(row["updated_at"]),
        owner=row["owner"],
    )
