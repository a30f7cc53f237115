"""The request log writer: records are buffered and written in batches.

Writing one row per request would put a database round trip on every request;
instead finished requests queue here and a background task inserts them every
``request_log_flush_s`` seconds. Shutdown flushes what is left.

A failed request's record carries text from elsewhere (an upstream's error message, a
client's path or field): it is masked as it is queued, by the shape of credentials and
by the values the gateway knows (:class:`~nanogate.core.KnownSecrets`), so no credential
is stored. A successful request's record holds only the gateway's own values (catalogue
ids, route paths, deployment names) and costs nothing to check.
"""

from __future__ import annotations

import asyncio
import logging

from nanogate.core import KnownSecrets, Secrets, redact
from nanogate.storage import RequestRecord, Store

log = logging.getLogger("nanogate.requestlog")

MAX_PENDING = 100_000
BATCH = 16
"""Rows per transaction. On SQLite a batch is written on the event loop's thread, so it
is kept short (about 0.2 ms), with requests let in between batches."""


def mask_record(record: RequestRecord, secrets: Secrets) -> None:
    """Mask credentials in the fields of ``record`` that may hold foreign text."""
    record.path = redact(record.path, secrets)
    if record.model is not None:
        record.model = redact(record.model, secrets)
    if record.code is not None:
        record.code = redact(record.code, secrets)
    if record.message is not None:
        record.message = redact(record.message, secrets)
    for attempt in record.deployments:
        for name, value in attempt.items():
            if isinstance(value, str):
                attempt[name] = redact(value, secrets)


def _failed(record: RequestRecord) -> bool:
    """Whether the request, or one of its attempts, failed."""
    return (
        not 200 <= record.status < 400
        or record.code is not None
        or any("message" in attempt for attempt in record.deployments)
    )


class RequestLog:
    def __init__(self, store: Store, interval: float, secrets: KnownSecrets | None = None) -> None:
        self._store = store
        self._interval = interval
        self._secrets = secrets if secrets is not None else KnownSecrets()
        self._pending: list[RequestRecord] = []
        self._writing: list[RequestRecord] = []
        self._flushing: asyncio.Future[None] | None = None
        self.dropped = 0

    def add(self, record: RequestRecord) -> None:
        """Queue a finished request's record (dropped and counted past ``MAX_PENDING``),
        masked if the request failed."""
        if len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            return
        if _failed(record):
            mask_record(record, self._secrets.current)
        self._pending.append(record)

    def _requeue(self, records: list[RequestRecord]) -> None:
        """Put unwritten records back in front, keeping the buffer within its bound."""
        self._pending[:0] = records
        excess = len(self._pending) - MAX_PENDING
        if excess > 0:
            del self._pending[:excess]
            self.dropped += excess

    def pending(self, request_id: str) -> RequestRecord | None:
        """A record not yet written to the database, by request id."""
        for record in (*reversed(self._pending), *self._writing):
            if record.request_id == request_id:
                return record
        return None

    async def flush(self) -> None:
        """Write the records pending now, in batches; records that arrive meanwhile wait
        for the next flush, so a busy gateway writes once per interval, not continuously."""
        taken, self._pending = self._pending, []
        for start in range(0, len(taken), BATCH):
            self._writing = taken[start:]
            try:
                await self._store.insert_requests(taken[start : start + BATCH])
            except Exception:
                self._requeue(taken[start:])
                raise
            finally:
                self._writing = []
            await asyncio.sleep(0)

    async def run(self) -> None:
        """Flush every interval. A flush in progress is shielded from cancellation,
        so stopping the loop never abandons a batch half-written."""
        while True:
            await asyncio.sleep(self._interval)
            self._flushing = asyncio.ensure_future(self._flush_logged())
            await asyncio.shield(self._flushing)

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception:
            log.exception("cannot write the request log; will retry")

    async def close(self) -> None:
        """Wait for a flush in progress, then write everything still pending."""
        if self._flushing is not None:
            await self._flushing
        await self.flush()
