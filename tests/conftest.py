"""Shared fixtures for every test level.

Three harness levels: pure unit tests, the app in process (httpx's
``ASGITransport``), and the gateway served by uvicorn on a loopback port
(``live``). Each test gets its own SQLite file.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.helpers import Seeded, make_settings, run_sync, seed

from nanogate.config import Settings
from nanogate.providers import Provider
from nanogate.server import Gateway, create_app
from nanogate.server._state import utc_now
from nanogate.testing import FakeUpstream, ServedAioHTTP, ServedASGI

POSTGRES = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database created for this test run and dropped after it."""
    name = f"nanogate_test_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(f"{POSTGRES}/postgres")
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    run_sync(admin(f'CREATE DATABASE "{name}"'))
    yield f"{POSTGRES}/{name}"
    run_sync(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class InProcess:
    """The gateway in process: ``client`` talks to it through ``ASGITransport``."""

    app: Gateway
    client: httpx.AsyncClient
    seeded: Seeded
    settings: Settings

    @property
    def key(self) -> str:
        return self.seeded.key

    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.seeded.key}"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[InProcess]:
    seeded = await seed(settings.database.url)
    app = create_app(settings)
    await app.state.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield InProcess(app, client, seeded, settings)
    await app.state.stop()


@dataclass
class Live:
    """The gateway served by uvicorn on loopback."""

    url: str
    seeded: Seeded
    settings: Settings
    app: Gateway

    @property
    def key(self) -> str:
        return self.seeded.key

    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.seeded.key}"}


LiveFactory = Callable[..., Live]


@pytest.fixture
def serve_gateway(tmp_path: Path) -> Iterator[LiveFactory]:
    """A factory: ``serve_gateway(settings, providers, clock, balance, **key_options)``
    → :class:`Live` (a served gateway and a seeded account and key)."""
    stack: list[ServedASGI] = []

    def start(
        settings: Settings | None = None,
        providers: dict[str, Provider] | None = None,
        clock: Callable[[], datetime] | None = None,
        balance: str = "5",
        **key_options: Any,
    ) -> Live:
        settings = settings or make_settings(tmp_path)
        seeded = run_sync(seed(settings.database.url, balance, **key_options))
        app = create_app(settings, providers=providers, clock=clock or utc_now)
        served = ServedASGI(app, server=settings.server).__enter__()
        stack.append(served)
        return Live(served.url, seeded, settings, app)

    yield start
    for served in reversed(stack):
        served.__exit__(None, None, None)


@pytest.fixture
def live(serve_gateway: LiveFactory) -> Live:
    return serve_gateway()


@pytest.fixture(scope="module")
def served_fake() -> Iterator[tuple[FakeUpstream, str]]:
    """One fake upstream served on loopback for a whole module: (the fake, its URL)."""
    upstream = FakeUpstream(record=False)
    with ServedAioHTTP(upstream.app()) as served:
        yield upstream, served.url


@pytest.fixture
def fake(served_fake: tuple[FakeUpstream, str]) -> Iterator[FakeUpstream]:
    """The module's fake upstream with no faults queued and no requests recorded; a test
    that queues a fault must use it."""
    upstream = served_fake[0]
    upstream.faults.clear()
    upstream.requests.clear()
    yield upstream
    assert not upstream.faults, "the injected fault was not used"
