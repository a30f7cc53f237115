"""The request log writer: batched, bounded, and never losing a record on a failed write."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from nanogate.core import KnownSecrets, Secrets
from nanogate.server._requestlog import BATCH, MAX_PENDING, RequestLog
from nanogate.storage import RequestRecord


def record(n: int) -> RequestRecord:
    return RequestRecord(f"req_{n}", datetime.now(UTC), "openai", "POST", "/api/v1/x")


class SlowStore:
    """Takes a while to insert; fails when told to."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.fail = False

    async def insert_requests(self, records: Sequence[RequestRecord]) -> None:
        await asyncio.sleep(0.01)
        if self.fail:
            raise OSError("disk full")
        self.batches.append([r.request_id for r in records])


async def test_records_added_during_a_flush_wait_for_the_next_one() -> None:
    """A flush writes what was pending when it began, in one batch; requests that
    finish meanwhile do not turn it into a write per request."""
    store = SlowStore()
    log = RequestLog(store, 60)  # type: ignore[arg-type]
    for n in range(3):
        log.add(record(n))

    async def keep_adding() -> None:
        for n in range(3, 30):
            log.add(record(n))
            await asyncio.sleep(0.001)

    await asyncio.gather(log.flush(), keep_adding())
    assert store.batches == [["req_0", "req_1", "req_2"]]
    await log.flush()
    later = store.batches[1:]
    assert [rid for batch in later for rid in batch] == [f"req_{n}" for n in range(3, 30)]
    assert all(len(batch) <= BATCH for batch in later)


async def test_a_long_flush_is_written_in_short_transactions() -> None:
    """A large backlog is split into batches of at most BATCH rows, and every record
    stays findable by request id until its batch is written."""
    store = SlowStore()
    log = RequestLog(store, 60)  # type: ignore[arg-type]
    total = BATCH * 2 + 3
    for n in range(total):
        log.add(record(n))
    flushing = asyncio.ensure_future(log.flush())
    await asyncio.sleep(0.005)
    assert all(log.pending(f"req_{n}") is not None for n in range(total))
    await flushing
    assert [len(batch) for batch in store.batches] == [BATCH, BATCH, 3]


async def test_a_failed_write_keeps_the_records_for_the_next_flush() -> None:
    """When the database refuses a batch, its records stay pending, in order."""
    store = SlowStore()
    log = RequestLog(store, 60)  # type: ignore[arg-type]
    log.add(record(1))
    store.fail = True
    with pytest.raises(OSError):
        await log.flush()
    log.add(record(2))
    store.fail = False
    await log.flush()
    assert store.batches == [["req_1", "req_2"]]


async def test_pending_records_are_found_before_they_are_written() -> None:
    """A record can be looked up by request id while it waits to be written."""
    log = RequestLog(SlowStore(), 60)  # type: ignore[arg-type]
    log.add(record(7))
    found = log.pending("req_7")
    assert found is not None and found.request_id == "req_7"
    assert log.pending("req_8") is None


def test_the_buffer_is_bounded() -> None:
    """Past MAX_PENDING records the log drops new ones and counts them, rather than
    growing without bound while the database is away."""
    log = RequestLog(SlowStore(), 60)  # type: ignore[arg-type]
    for n in range(MAX_PENDING + 5):
        log.add(record(n))
    assert log.dropped == 5


CREDENTIAL = "opcred-4f7c2a9e1b3d5f60a7c9"


def test_a_failed_requests_record_is_queued_without_credentials() -> None:
    """The record of a failed request is masked as it is queued: the credentials the
    gateway knows (fixed, or held by a request in flight) and key-shaped strings, in its
    path, message and attempts; a successful record is queued as it is."""
    held = Secrets(["usercred-9a8b7c6d5e4f"])
    known = KnownSecrets(Secrets([CREDENTIAL]))
    known.hold(held)
    log = RequestLog(SlowStore(), 60, known)  # type: ignore[arg-type]
    key = "sk-nano-3f0c1a2b-1111-4222-8333-444455556666"
    failed = record(1)
    failed.status, failed.code, failed.path = 400, "invalid_parameter_value", f"/api/v1/{key}"
    failed.message = f"rejected: Invalid token {CREDENTIAL} (usercred-9a8b7c6d5e4f)"
    failed.deployments = [{"provider": "up", "outcome": "failed", "message": failed.message}]
    ok = record(2)
    ok.status, ok.message = 200, f"unusual {CREDENTIAL}"
    log.add(failed)
    log.add(ok)
    assert failed.message == "rejected: Invalid token [redacted] ([redacted])"
    assert failed.deployments[0]["message"] == failed.message
    assert failed.path == "/api/v1/[redacted]"
    assert ok.message == f"unusual {CREDENTIAL}", "nothing to check on success"
