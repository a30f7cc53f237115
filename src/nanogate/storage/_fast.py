"""The fast path to the database: transaction scripts and the drivers that run them.

A *script* is a generator that yields :class:`Query` objects and receives each
one's :class:`Result`, and returns its outcome (or raises, which rolls it back).
Scripts are sans-IO: one piece of SQL logic that a driver runs inside a
transaction, on SQLite or PostgreSQL alike.

The money path and the request log use this path rather than SQLAlchemy's async
layer: a reservation through SQLAlchemy and aiosqlite cost about 1.1 ms, through
one sqlite3 connection on a thread of its own about 50 µs. The schema is still
SQLAlchemy's, created by the migrations.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import asyncpg


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Query:
    """One SQL statement of a script, with ``:named`` parameters.

    ``lock`` asks for the selected rows to be locked until the transaction ends
    (``FOR UPDATE`` where the database needs it; SQLite's writer lock already does).
    ``many`` runs the statement once per parameter set (and returns no rows).
    ``count`` asks only how many rows the statement changed (:attr:`Result.count`):
    on SQLite a ``RETURNING`` clause costs several times the update itself.
    """

    sql: str
    params: dict[str, Any] = field(default_factory=dict)
    lock: bool = False
    many: Sequence[dict[str, Any]] = ()
    count: bool = False


@dataclass(frozen=True, slots=True)
class Result:
    rows: list[tuple[Any, ...]]
    count: int = 0
    """Rows changed, for a :attr:`Query.count` statement."""


Script = Generator[Query, Result, T]
"""A transaction script returning ``T``."""

_NO_ROWS = Result([])


Undo = Callable[[Any], Awaitable[None]]
"""Reverses a committed script whose caller was cancelled before hearing of it."""


class Driver(Protocol):
    async def run(self, script: Script[T], *, undo: Undo | None = None) -> T:
        """Run ``script`` in a transaction: commit on return, roll back on raise.

        A script runs to its end once :meth:`run` is called, even if the caller is
        cancelled meanwhile; if it committed for a caller that is gone, ``undo`` is
        called (in a task of its own) with its outcome.
        """

    async def read(self, script: Script[T]) -> T:
        """Run a script that only reads, in a snapshot of its own, off the event loop's
        thread where the database allows it (a long listing never holds the loop or
        the write lock)."""

    async def maintain(self) -> None:
        """Periodic upkeep (SQLite: fold the write-ahead log back into the database)."""

    async def close(self) -> None: ...


def stored_time(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime: PostgreSQL hands back one, SQLite
    the naive UTC text it was written as."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime), "timestamps are NOT NULL"
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _sqlite_timestamp(value: datetime) -> str:
    """Timestamps as SQLAlchemy stores them in SQLite: naive UTC text, microseconds always."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


# Parameters are converted in C by sqlite3 itself. The adapter is process-wide; the
# format is SQLAlchemy's, so it also suits anything else passing timestamps to sqlite3.
sqlite3.register_adapter(datetime, _sqlite_timestamp)


CHECKPOINT_EVERY = 50
"""Commits between two checkpoints of the write-ahead log. Measured under saturation, a
short log (about 1.5 MB with the money path's transactions) gave 5-10 % more requests per
second than 500 commits' worth, at the same tail latency."""
CHECKPOINT_GAP_S = 0.25
"""...and at least this long between two checkpoints: each ends in a short pause of the
writers, which a key's per-second count (a commit per request) would otherwise meet every
50 requests, in the one-client p99."""
RETRY_S = (0.0005, 0.001, 0.002, 0.005, 0.01)
"""Waits before trying again for a write lock another process holds (the last repeats)."""


class _Busy(Exception):
    """Another connection holds the write lock."""


_Waiting = tuple[Script[Any], asyncio.Future[Any], Undo | None]


class SQLiteDriver:
    """Runs every script on the event loop's thread, on one connection of its own.

    A script takes tens of microseconds of CPU, never waits on the disk
    (``synchronous=NORMAL`` in write-ahead-log mode does not sync on commit) and
    never waits on a lock: if the write lock is free, the script runs at once,
    inside :meth:`run`. Otherwise (another process writes, or a checkpoint is
    finishing) it queues, and the queue runs later as one transaction, each script
    in a savepoint of its own, so one script's refusal rolls back only itself.
    The loop is never blocked, and no thread holds the write lock while it waits
    for the interpreter lock.

    The one thing that does wait on the disk, folding the log back into the
    database, runs on a thread of its own (see :meth:`_checkpoint_soon`).
    No script's result is reported before its commit.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._waiting: list[_Waiting] = []
        self._retry: asyncio.TimerHandle | None = None
        self._retries = 0
        self._commits = 0
        self._checkpointed = 0.0
        self._backfilling = False
        self._pausing = False
        """A checkpoint's last pass runs: scripts queue instead of writing to the log."""
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="nanogate-sqlite")
        self._checkpointer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        """Reads run on the driver's thread, on a connection of their own."""
        self._undoing: set[asyncio.Future[None]] = set()

    def _open(self, busy_ms: int) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(f"PRAGMA busy_timeout={busy_ms}")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        return connection

    def _begin(self) -> sqlite3.Connection:
        """The loop's connection in a write transaction, or :class:`_Busy` untouched."""
        if self._connection is None:
            self._connection = self._open(busy_ms=0)
        connection = self._connection
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise _Busy from exc
            raise
        return connection

    def _committed(self, connection: sqlite3.Connection) -> None:
        connection.execute("COMMIT")
        self._commits += 1
        if (
            self._commits >= CHECKPOINT_EVERY
            and time.monotonic() - self._checkpointed >= CHECKPOINT_GAP_S
        ):
            self._checkpoint_soon(asyncio.get_running_loop())

    async def run(self, script: Script[T], *, undo: Undo | None = None) -> T:
        if not self._waiting and not self._pausing:
            try:
                connection = self._begin()
            except _Busy:
                pass
            else:  # nothing is awaited from here on: the script cannot be cancelled
                try:
                    outcome = self._step(connection, script)
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                self._committed(connection)
                return outcome
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append((script, future, undo))
        if not self._pausing and self._retry is None:
            self._retry = loop.call_later(RETRY_S[0], self._run_waiting, loop)
        return await future

    @staticmethod
    def _step(connection: sqlite3.Connection, script: Script[T]) -> T:
        try:
            query = next(script)
            while True:
                if query.many:
                    connection.executemany(query.sql, query.many)
                    result = _NO_ROWS
                elif query.count:
                    result = Result([], connection.execute(query.sql, query.params).rowcount)
                else:
                    result = Result(connection.execute(query.sql, query.params).fetchall())
                query = script.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _run_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run the queue as one transaction, or try again later if the lock is taken.

        Every queued script runs, even one whose caller has gone: a settlement must
        not be lost with its request. A script that committed for a caller that is
        gone is reversed by its ``undo``.
        """
        self._retry = None
        if self._pausing or not self._waiting:
            return
        try:
            connection = self._begin()
        except _Busy:
            self._retries += 1
            delay = RETRY_S[min(self._retries, len(RETRY_S) - 1)]
            self._retry = loop.call_later(delay, self._run_waiting, loop)
            return
        except Exception as exc:
            self._report([(False, exc)] * len(self._waiting))
            return
        self._retries = 0
        outcomes: list[tuple[bool, Any]] = []
        try:
            for script, _, _ in self._waiting:
                connection.execute("SAVEPOINT script")
                try:
                    outcomes.append((True, self._step(connection, script)))
                except Exception as exc:  # the script's refusal or failure: its own
                    connection.execute("ROLLBACK TO script")
                    outcomes.append((False, exc))
                connection.execute("RELEASE script")
            self._committed(connection)
        except Exception as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            outcomes = [(False, exc)] * len(self._waiting)
        self._report(outcomes)

    def _report(self, outcomes: list[tuple[bool, Any]]) -> None:
        batch, self._waiting = self._waiting, []
        for (_, future, undo), (ok, value) in zip(batch, outcomes, strict=True):
            if future.cancelled():
                if ok and undo is not None:
                    task: asyncio.Future[None] = asyncio.ensure_future(undo(value))
                    self._undoing.add(task)
                    task.add_done_callback(self._undoing.discard)
            elif ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    # Checkpoints ----------------------------------------------------------------------

    def _checkpoint_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fold the write-ahead log back into the database, on the driver's thread.

        A checkpoint that races with writers leaves their newest pages in the log,
        which then cannot restart from its beginning and would grow without bound,
        slowing every transaction. So a checkpoint has two passes: the bulk of the
        log is copied while scripts go on writing, then what they added meanwhile is
        copied in a short pause during which scripts queue. The next write after it
        restarts the log.
        """
        if self._backfilling or self._pausing:
            return
        self._commits = 0
        self._checkpointed = time.monotonic()
        self._backfilling = True
        done = self._thread.submit(self._checkpoint)
        done.add_done_callback(lambda _: loop.call_soon_threadsafe(self._pause, loop))

    def _pause(self, loop: asyncio.AbstractEventLoop) -> None:
        self._backfilling = False
        self._pausing = True
        done = self._thread.submit(self._checkpoint)
        done.add_done_callback(lambda _: loop.call_soon_threadsafe(self._unpause, loop))

    def _unpause(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pausing = False
        if self._waiting and self._retry is None:
            self._run_waiting(loop)

    def _checkpoint(self) -> None:
        if self._checkpointer is None:
            self._checkpointer = self._open(busy_ms=30_000)
        try:
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # retried after the next commits; the log only grows meanwhile

    async def maintain(self) -> None:
        """Fold the write-ahead log back into the database now, as after commits."""
        self._checkpoint_soon(asyncio.get_running_loop())

    async def read(self, script: Script[T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._read, script)

    def _read(self, script: Script[T]) -> T:
        if self._reader is None:
            self._reader = self._open(busy_ms=30_000)
        connection = self._reader
        connection.execute("BEGIN")  # deferred: a snapshot, and no write lock
        try:
            return self._step(connection, script)
        finally:
            connection.execute("ROLLBACK")

    def _close_thread_connections(self) -> None:
        for connection in (self._checkpointer, self._reader):
            if connection is not None:
                connection.close()
        self._checkpointer = self._reader = None

    async def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._waiting:
            self._report(
                [(False, RuntimeError("the database driver was closed"))] * len(self._waiting)
            )
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        await asyncio.get_running_loop().run_in_executor(
            self._thread, self._close_thread_connections
        )
        self._thread.shutdown(wait=True)


_PARAM = re.compile(r"(?<![:\w]):([a-z_]+)")


@lru_cache(maxsize=256)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` parameters as asyncpg's ``$n``, and the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(number, sql), tuple(names)


class PostgresDriver:
    """A pool of asyncpg connections; one transaction per script."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        self._undoing: set[asyncio.Future[None]] = set()

    async def _acquire_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    import asyncpg  # only a PostgreSQL database needs it

                    self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=16)
        return self._pool

    async def run(self, script: Script[T], *, undo: Undo | None = None) -> T:
        """The script runs in a task of its own, so a cancelled caller never rolls it
        back halfway; if it commits after its caller is gone, ``undo`` reverses it."""
        running = asyncio.ensure_future(self._execute(script))
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            if undo is not None:
                running.add_done_callback(lambda done: self._undo(done, undo))
            raise

    def _undo(self, done: asyncio.Future[Any], undo: Undo) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        task: asyncio.Future[None] = asyncio.ensure_future(undo(done.result()))
        self._undoing.add(task)
        task.add_done_callback(self._undoing.discard)

    async def read(self, script: Script[T]) -> T:
        return await self._execute(script, readonly=True)

    async def _execute(self, script: Script[T], readonly: bool = False) -> T:
        pool = await self._acquire_pool()
        async with pool.acquire() as connection, connection.transaction(readonly=readonly):
            try:
                query = next(script)
                while True:
                    sql, names = _positional(query.sql + (" FOR UPDATE" if query.lock else ""))
                    if query.many:
                        await connection.executemany(
                            sql, [tuple(p[n] for n in names) for p in query.many]
                        )
                        result = _NO_ROWS
                    elif query.count:
                        status = await connection.execute(sql, *(query.params[n] for n in names))
                        result = Result([], int(status.rpartition(" ")[2]))  # "UPDATE 1"
                    else:
                        rows = await connection.fetch(sql, *(query.params[n] for n in names))
                        result = Result([tuple(row) for row in rows])
                    query = script.send(result)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

    async def maintain(self) -> None:
        """Nothing to do: PostgreSQL keeps itself."""

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


def driver_for(url: str) -> Driver:
    """The driver for a ``sqlite:///path`` or ``postgresql://`` database URL."""
    scheme, _, rest = url.partition("://")
    scheme = scheme.partition("+")[0]
    if scheme == "sqlite":
        return SQLiteDriver(rest.removeprefix("/"))
    return PostgresDriver(f"postgresql://{rest}")
