"""The gateway's backing services for one run: a fresh PostgreSQL database, a Redis
key prefix of its own; each removed when the run ends, however it ends.

Both servers are the local ones the storage tests use (``scripts/services`` starts
them): PostgreSQL on 127.0.0.1:5432 with trust authentication for ``postgres``, and
Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import redis

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"
HINT = "(scripts/services starts the local PostgreSQL and Redis)"


def _warn(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def _admin(statement: str) -> None:
    """Run one statement on the server's ``postgres`` database."""
    connection = await asyncpg.connect(f"{POSTGRES}/postgres", timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database for the run; its URL. Dropped on exit, with any
    connection still open to it."""
    name = f"nanogate_bench_{secrets.token_hex(6)}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(f"cannot create a database on {POSTGRES} {HINT}: {exc}") from exc
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        try:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except (OSError, asyncpg.PostgresError) as exc:
            _warn(f"could not drop the database {name}: {exc}")


def _delete_prefixed(client: redis.Redis, prefix: str) -> int:
    """Delete every key under ``prefix``; how many there were."""
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=prefix + "*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += int(client.delete(*batch))
            batch = []
    if batch:
        deleted += int(client.delete(*batch))
    return deleted


@contextmanager
def redis_prefix() -> Iterator[str]:
    """A key prefix of the run's own on the local Redis; its keys deleted on exit."""
    prefix = f"nanogate-bench-{secrets.token_hex(6)}:"
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        raise RuntimeError(f"cannot reach Redis at {REDIS_URL} {HINT}: {exc}") from exc
    try:
        yield prefix
    finally:
        try:
            _delete_prefixed(client, prefix)
        except redis.RedisError as exc:
            _warn(f"could not delete the Redis keys under {prefix}: {exc}")
        finally:
            client.close()
