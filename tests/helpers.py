"""Helpers shared by the tests: settings, seeding, envelopes and a raw HTTP client."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson

from nanogate.billing import Book
from nanogate.config import ProviderSettings, Settings, load_settings
from nanogate.core._money import usd_to_nano
from nanogate.errors import error_for_code
from nanogate.storage import RequestRecord, SQLStore

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh loop in a thread of its own.

    Safe to call from sync tests and from inside a running event loop alike.
    """
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def make_settings(tmp_path: Path, **server: Any) -> Settings:
    """The embedded default configuration, on a SQLite file in ``tmp_path``, tuned for tests:
    no pause between streamed tokens, fast key refresh and request-log flushes, no access
    log, and no per-address limit on requests without a key (tests of those set their
    own)."""
    base = load_settings()
    providers = tuple(
        p.model_copy(update={"stream_delay_ms": 0.0}) if p.kind == "local" else p
        for p in base.providers
    )
    server_settings = base.server.model_copy(
        update={
            "create_demo_account": False,
            "key_refresh_s": 0.05,
            "request_log_flush_s": 0.05,
            "lease_idle_s": 0.05,
            "body_timeout_s": 2.0,
            "access_log": "off",
            **server,
        }
    )
    database = base.database.model_copy(update={"url": f"sqlite:///{tmp_path / 'nanogate.db'}"})
    limits = base.limits.model_copy(update={"accountless_rps": 0})
    return base.model_copy(
        update={
            "server": server_settings,
            "database": database,
            "providers": providers,
            "limits": limits,
        }
    )


def with_provider(
    settings: Settings, provider: ProviderSettings, models: list[dict[str, Any]]
) -> Settings:
    """``settings`` plus one provider and the models it serves."""
    from nanogate.config import ModelSettings

    return Settings.model_validate(
        {
            **settings.model_dump(),
            "providers": [*settings.model_dump()["providers"], provider.model_dump()],
            "models": [
                *settings.model_dump()["models"],
                *(ModelSettings.model_validate(m).model_dump() for m in models),
            ],
        }
    )


@dataclass
class Seeded:
    account_id: str
    key_id: str
    key: str


async def seed(url: str, balance: str = "5", **key_options: Any) -> Seeded:
    """Migrate the database at ``url`` and create an account and a key."""
    store = SQLStore(url)
    try:
        await store.upgrade()
        account = await Book(store.fast).create_account(usd_to_nano(balance))
        new = await store.create_key(account.id, **key_options)
        return Seeded(account.id, new.record.id, new.key)
    finally:
        await store.close()


SURFACE_PATHS = {
    "openai": "/api/v1/chat/completions",
    "anthropic": "/api/v1/messages",
    "legacy": "/api/talk-to-gpt",
}


def assert_envelope(response: httpx.Response, surface: str, code: str) -> dict[str, Any]:
    """The response is the catalogue error ``code``, rendered in ``surface``'s envelope,
    with the request-id and retry headers every error carries."""
    cls = error_for_code(code)
    assert cls is not None, code
    body = response.json()
    assert response.status_code == cls.status, (response.status_code, body)
    request_id = response.headers["x-request-id"]
    assert request_id.startswith("req_")
    assert response.headers["x-should-retry"] == ("true" if cls.retryable else "false")
    if surface == "openai":
        error = body["error"]
        assert error["code"] == code, body
        assert error["type"] == cls.openai_type
        assert isinstance(error["message"], str) and error["message"]
        assert "param" in error
    elif surface == "anthropic":
        assert response.headers["request-id"] == request_id
        assert body["type"] == "error", body
        assert body["error"]["type"] == cls.anthropic_type
        assert body["error"]["code"] == code, body
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    else:
        assert isinstance(body["error"], str) and body["error"], body
        assert body["status"] == cls.status
        assert body.get("code") == (code if cls.legacy_code else None), body
    assert "Traceback" not in response.text
    return body


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def _read_response(sock: socket.socket, timeout: float) -> RawResponse:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response head: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return RawResponse(status, headers, rest[:length])


def raw_exchange(
    url: str,
    head: bytes,
    parts: list[bytes] = [],  # noqa: B006 - never mutated
    *,
    pause_after: float = 0.0,
    timeout: float = 10.0,
) -> tuple[RawResponse, float]:
    """Send ``head`` and ``parts`` over a fresh connection, optionally stall, and read
    one response. Returns it with the seconds it took to arrive after the last send."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head)
        for part in parts:
            sock.sendall(part)
        if pause_after:
            time.sleep(pause_after)
        sent = time.monotonic()
        response = _read_response(sock, timeout)
        return response, time.monotonic() - sent


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "host: gateway",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def wait_until(condition: Callable[[], T], what: str, timeout: float = 10.0) -> T:
    """Poll ``condition`` until it returns something true, and return that; past
    ``timeout`` seconds fail saying ``what`` was awaited. For background work (request-log
    flushes, key refreshes, recovery) that a busy machine may take a while to do."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; last saw {value!r}")
        time.sleep(0.02)


async def wait_until_async(
    condition: Callable[[], Awaitable[T]], what: str, timeout: float = 10.0
) -> T:
    """:func:`wait_until` for a coroutine function, polled without blocking the loop."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; last saw {value!r}")
        await asyncio.sleep(0.02)


def requests_written(url: str, *request_ids: str) -> bool:
    """Whether the request log has written every one of ``request_ids`` to the database."""

    async def read() -> bool:
        store = SQLStore(url)
        try:
            return all([await store.get_request(r) is not None for r in request_ids])
        finally:
            await store.close()

    return run_sync(read())


def written_record(url: str, request_id: str, timeout: float = 10.0) -> RequestRecord:
    """The record of ``request_id``, once the request log has written it."""

    async def read() -> RequestRecord | None:
        store = SQLStore(url)
        try:
            return await store.get_request(request_id)
        finally:
            await store.close()

    found: RequestRecord = wait_until(
        lambda: run_sync(read()), f"the record of {request_id}", timeout
    )
    return found


@contextmanager
def logging_restored(
    names: tuple[str, ...] = ("nanogate", "uvicorn", "uvicorn.error", "uvicorn.access"),
) -> Iterator[None]:
    """Put the handlers, level and propagation of the loggers ``names`` back as they
    were, after a block that installs another configuration (``nanogate serve``'s)."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [(list(lg.handlers), lg.level, lg.propagate, lg.disabled) for lg in loggers]
    try:
        yield
    finally:
        for logger, (handlers, level, propagate, disabled) in zip(loggers, saved, strict=True):
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled
