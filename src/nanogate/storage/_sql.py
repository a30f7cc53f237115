"""The SQL store: SQLAlchemy Core over SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import String, and_, event, insert, inspect, or_, select, text, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from nanogate.core import hash_api_key, key_prefix, new_api_key, new_id
from nanogate.storage import _requests as requests
from nanogate.storage._fast import Driver, Query, Script, driver_for, stored_time
from nanogate.storage._pages import Page, decode_cursor, page_of
from nanogate.storage._payments import PaymentStore
from nanogate.storage._records import (
    APIKey,
    Changes,
    NewKey,
    ProviderCredential,
    RequestRecord,
    StoredResponse,
    UsageRow,
)
from nanogate.storage._schema import SCHEMA_HEAD, VERSION
from nanogate.storage._tables import (
    api_keys,
    meta,
    request_log,
    stored_responses,
)

_MIGRATIONS = Path(__file__).with_name("migrations")

log = logging.getLogger("nanogate.storage")


def async_url(url: str) -> str:
    """The SQLAlchemy URL with this store's async driver for ``url``'s database."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    if scheme == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    return url


def _utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class SQLStore:
    """The :class:`~nanogate.storage.Store` on a relational database.

    SQLite gets two engines: readers use ordinary deferred transactions, and
    writers take the write lock up front (``BEGIN IMMEDIATE``), so that
    concurrent writers from several processes queue on ``busy_timeout``
    instead of failing with "database is locked" on lock upgrade.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.fast: Driver = driver_for(url)
        """The fast path: the money path and the request log write through it."""
        full = async_url(url)
        self.dialect = full.partition("+")[0]
        if self.dialect == "sqlite":
            self._reader = self._sqlite_engine(full, immediate=False)
            self._writer = self._sqlite_engine(full, immediate=True)
        else:
            self._reader = self._writer = create_async_engine(
                full, pool_size=10, max_overflow=20, pool_pre_ping=True
            )
        self.payments = PaymentStore(self._writer, self.dialect, self.fast)
        """Accountless x402 payments."""

    @staticmethod
    def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
        engine = create_async_engine(url)

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    async def close(self) -> None:
        await self.fast.close()
        await self._reader.dispose()
        if self._writer is not self._reader:
            await self._writer.dispose()

    # Schema ----------------------------------------------------------------------------

    async def upgrade(self) -> None:
        """Apply every pending migration."""
        async with self._writer.begin() as conn:
            await conn.run_sync(_run_migrations)

    async def ping(self) -> None:
        async with self._reader.connect() as conn:
            await conn.execute(select(1))

    # Keys ------------------------------------------------------------------------------

    async def create_key(
        self,
        account_id: str,
        *,
        name: str | None = None,
        models: Sequence[str] | None = None,
        daily_requests: int | None = None,
        daily_usd_nusd: int | None = None,
        rps: int | None = None,
        expires_at: datetime | None = None,
    ) -> NewKey:
        key = new_api_key()
        async with self._writer.begin() as conn:
            seq = await _bump_seq(conn)
            record = APIKey(
                id=new_id("key"),
                account_id=account_id,
                name=name,
                key_hash=hash_api_key(key),
                key_prefix=key_prefix(key),
                models=tuple(models) if models is not None else None,
                daily_requests=daily_requests,
                daily_usd_nusd=daily_usd_nusd,
                rps=rps,
                expires_at=expires_at,
                revoked_at=None,
                created_at=_now(),
                seq=seq,
            )
            await conn.execute(
                insert(api_keys).values(
                    id=record.id,
                    account_id=account_id,
                    name=name,
                    key_hash=record.key_hash,
                    key_prefix=record.key_prefix,
                    models=orjson.dumps(list(models)).decode() if models is not None else None,
                    daily_requests=daily_requests,
                    daily_usd_nusd=daily_usd_nusd,
                    rps=rps,
                    expires_at=expires_at,
                    revoked_at=None,
                    created_at=record.created_at,
                    seq=seq,
                )
            )
        return NewKey(record, key)

    async def revoke_key(self, key_id: str) -> bool:
        async with self._writer.begin() as conn:
            seq = await _bump_seq(conn)
            result = await conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=_now(), seq=seq)
            )
            if result.rowcount:
                return True
            exists = await conn.execute(select(api_keys.c.id).where(api_keys.c.id == key_id))
            return exists.first() is not None

    async def get_key(self, key_id: str) -> APIKey | None:
        async with self._reader.begin() as conn:
            row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
        return _key(row) if row is not None else None

    async def list_keys(
        self, account_id: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[APIKey]:
        """A page of keys newest first, of ``account_id`` if given (never a secret: keys
        are stored as hashes); ``ValueError`` for a cursor this listing did not make."""
        query = select(api_keys)
        if account_id is not None:
            query = query.where(api_keys.c.account_id == account_id)
        if cursor:
            at, after = decode_cursor(cursor)
            created = api_keys.c.created_at
            query = query.where(or_(created < at, and_(created == at, api_keys.c.id < after)))
        query = query.order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
        async with self._reader.begin() as conn:
            rows = (await conn.execute(query.limit(limit + 1))).all()
        return page_of([_key(row) for row in rows], limit, lambda k: (k.created_at, k.id))

    async def set_provider_credential(
        self, key_id: str, credential: ProviderCredential | None, provider: str
    ) -> bool:
        async with self._writer.begin() as conn:
            row = (
                await conn.execute(select(api_keys.c.byok).where(api_keys.c.id == key_id))
            ).first()
            if row is None:
                return False
            stored = {c.provider: c for c in _credentials(row.byok)}
            stored.pop(provider, None)
            if credential is not None:
                stored[provider] = credential
            value = orjson.dumps([asdict(c) for c in stored.values()]).decode() if stored else None
            seq = await _bump_seq(conn)
            await conn.execute(
                update(api_keys).where(api_keys.c.id == key_id).values(byok=value, seq=seq)
            )
        return True

    async def changes_since(self, seq: int) -> Changes:
        # polled several times a second: the common answer, nothing changed, is one
        # statement on the fast driver, not a SQLAlchemy connection and transaction
        if await self.fast.read(_admin_seq()) == seq:
            return Changes(seq, ())
        async with self._reader.begin() as conn:
            current = (
                await conn.execute(select(meta.c.value).where(meta.c.name == "admin_seq"))
            ).scalar_one()
            if current == seq:
                return Changes(seq, ())
            rows = await conn.execute(select(api_keys).where(api_keys.c.seq > seq))
            return Changes(int(current), tuple(_key(row) for row in rows))

    # Request log -----------------------------------------------------------------------

    async def insert_requests(self, records: Sequence[RequestRecord]) -> None:
        """Write records in one statement on the fast path (the process's single writer
        on SQLite); a record already written (a retried flush) is skipped."""
        if records:
            await self.fast.run(requests.insert_rows([request_row(r) for r in records]))

    async def usage(self, key_id: str, first_day: str, last_day: str) -> list[UsageRow]:
        """A key's successful requests per UTC day and model, ``first_day`` to ``last_day``
        inclusive, from the request log."""
        return await self.fast.read(requests.usage(self.dialect, key_id, first_day, last_day))

    async def get_request(self, request_id: str) -> RequestRecord | None:
        return await self.fast.read(requests.get_request(request_id))

    async def list_requests(
        self, filters: dict[str, object], limit: int = 50, cursor: str | None = None
    ) -> Page[RequestRecord]:
        """A page of the request log, newest first, matching ``filters`` (see
        :data:`~nanogate.storage._requests.REQUEST_FILTERS`); ``ValueError`` for a cursor
        this listing did not make."""
        after = decode_cursor(cursor) if cursor else None
        rows = await self.fast.read(requests.requests_page(filters, limit + 1, after))
        return page_of(rows, limit, lambda r: (r.created_at, r.request_id))

    # Stored responses ------------------------------------------------------------------

    async def save_response(
        self, response_id: str, key_id: str, body: dict[str, Any], context: list[dict[str, Any]]
    ) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(
                insert(stored_responses).values(
                    id=response_id,
                    key_id=key_id,
                    created_at=_now(),
                    body=orjson.dumps(body).decode(),
                    context=orjson.dumps(context).decode(),
                )
            )

    async def get_response(self, response_id: str, key_id: str) -> StoredResponse | None:
        async with self._reader.connect() as conn:
            row = (
                await conn.execute(
                    select(stored_responses).where(
                        stored_responses.c.id == response_id, stored_responses.c.key_id == key_id
                    )
                )
            ).first()
        if row is None:
            return None
        m = row._mapping
        return StoredResponse(
            m["id"],
            m["key_id"],
            stored_time(m["created_at"]),
            orjson.loads(m["body"]),
            orjson.loads(m["context"]),
        )

    async def delete_response(self, response_id: str, key_id: str) -> bool:
        async with self._writer.begin() as conn:
            result = await conn.execute(
                stored_responses.delete().where(
                    stored_responses.c.id == response_id, stored_responses.c.key_id == key_id
                )
            )
            return bool(result.rowcount)


def _admin_seq() -> Script[int]:
    """The counter every change to a key takes its ``seq`` from."""
    result = yield Query("SELECT value FROM meta WHERE name = 'admin_seq'")
    return int(result.rows[0][0])


async def _bump_seq(conn: AsyncConnection) -> int:
    result = await conn.execute(
        update(meta)
        .where(meta.c.name == "admin_seq")
        .values(value=meta.c.value + 1)
        .returning(meta.c.value)
    )
    return int(result.scalar_one())


_LENGTHS = {
    column.name: column.type.length
    for column in request_log.columns
    if isinstance(column.type, String) and column.type.length
}


def request_row(record: RequestRecord) -> dict[str, Any]:
    """A request_log row: strings cut to their column's length, deployments as JSON."""
    row = {name: getattr(record, name) for name in requests.FIELDS}
    for name, length in _LENGTHS.items():
        value = row[name]
        if isinstance(value, str) and len(value) > length:
            row[name] = value[:length]
    row["deployments"] = orjson.dumps(record.deployments).decode() if record.deployments else None
    row["discrepancy"] = orjson.dumps(record.discrepancy).decode() if record.discrepancy else None
    row["add_ons"] = orjson.dumps(record.add_ons).decode() if record.add_ons else None
    return row


def _key(row: Row[Any]) -> APIKey:
    m = row._mapping
    return APIKey(
        id=m["id"],
        account_id=m["account_id"],
        name=m["name"],
        key_hash=m["key_hash"],
        key_prefix=m["key_prefix"],
        models=tuple(orjson.loads(m["models"])) if m["models"] is not None else None,
        daily_requests=m["daily_requests"],
        daily_usd_nusd=m["daily_usd_nusd"],
        rps=m["rps"],
        expires_at=_utc(m["expires_at"]),
        revoked_at=_utc(m["revoked_at"]),
        created_at=stored_time(m["created_at"]),
        seq=int(m["seq"]),
        byok=_credentials(m["byok"]),
    )


def _credentials(value: str | None) -> tuple[ProviderCredential, ...]:
    return tuple(ProviderCredential(**c) for c in orjson.loads(value)) if value else ()


def _at_head(connection: Connection) -> bool:
    """Whether the database's schema is at :data:`SCHEMA_HEAD` already."""
    if not inspect(connection).has_table("alembic_version"):
        return False
    versions = connection.execute(text(VERSION)).scalars()
    return list(versions) == [SCHEMA_HEAD]


def _run_migrations(connection: Connection) -> None:
    if _at_head(connection):
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
