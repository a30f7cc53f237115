"""Serving an ASGI app or an aiohttp app on a free loopback port, in a background thread."""

from __future__ import annotations

import asyncio
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from aiohttp import web

from nanogate.config import ServerSettings
from nanogate.edge import uvicorn_options


class ServedASGI:
    """``with ServedASGI(app) as served:`` runs ``app`` under uvicorn at ``served.url``.

    It uses the same event loop, HTTP parser and HTTP edge as ``nanogate serve``
    (uvloop, httptools, the limits of ``server``), so tests see exactly what clients
    of a real gateway see.
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        server: ServerSettings | None = None,
        **options: Any,
    ) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=0,
            log_level="warning",
            access_log=False,
            lifespan="on",
            server_header=False,
            **{**uvicorn_options(server or ServerSettings()), **options},
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="served-asgi", daemon=True)
        self.host = host
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> ServedASGI:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.005)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.should_exit = True
        self._thread.join(15)


class ServedAioHTTP:
    """``with ServedAioHTTP(app) as served:`` runs an aiohttp application at ``served.url``."""

    def __init__(self, app: web.Application, *, host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="served-aiohttp", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> ServedAioHTTP:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(15)
        return self

    async def _start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1])

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(15)
        self._loop.close()
