"""``nanogate serve`` and ``nanogate db upgrade``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel

from nanogate.cli._common import (
    ConfigOption,
    err,
    out,
    run_with_store,
    settings_from,
    styled,
    with_store,
)
from nanogate.core import format_usd, usd_to_nano

if TYPE_CHECKING:
    import socket

    import uvicorn

    from nanogate.config import Settings
    from nanogate.storage import NewKey, Store

db = typer.Typer(help="The database schema.", no_args_is_help=True)


async def create_demo_key(settings: Settings, store: Store) -> NewKey | None:
    """On an empty database, the demo account and its key (if the settings ask for one)."""
    from nanogate.billing import Book

    book = Book(store.fast)
    if not settings.server.create_demo_account or await book.count_accounts():
        return None
    account = await book.create_account(usd_to_nano(settings.server.demo_balance_usd), name="demo")
    return await store.create_key(account.id, name="demo")


def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option("--host", help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on.")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Worker processes.")
    ] = None,
) -> None:
    """Run the gateway."""
    overrides = {
        "NANOGATE_SERVER_HOST": host,
        "NANOGATE_SERVER_PORT": None if port is None else str(port),
        "NANOGATE_SERVER_WORKERS": None if workers is None else str(workers),
    }
    for name, value in overrides.items():
        if value is not None:
            os.environ[name] = value
    if config is not None:
        os.environ["NANOGATE_CONFIG"] = str(config.resolve())
    settings = settings_from(config)
    demo = run_with_store(settings, lambda store: create_demo_key(settings, store))
    server = settings.server
    if demo is not None:
        out.print(
            Panel.fit(
                styled(
                    (demo.key, "bold"),
                    "\n\nA demo account with "
                    f"${format_usd(usd_to_nano(server.demo_balance_usd))} "
                    "was created because the database was empty.\nThis key is shown only once; "
                    "keep it somewhere safe.",
                ),
                title="demo API key",
            ),
            highlight=False,
        )
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from nanogate.edge import uvicorn_options
    from nanogate.server._logging import log_config

    uv_config = uvicorn.Config(
        "nanogate.server._factory:app_from_environment",
        factory=True,
        host=server.host,
        port=server.port,
        workers=server.workers,
        log_level=server.log_level,
        log_config=log_config(server.log_level),
        access_log=False,
        server_header=False,
        **uvicorn_options(server),
    )
    if uv_config.workers > 1:
        sock = uv_config.bind_socket()
        announce_listening(sock.getsockname(), uv_config.workers)
        Multiprocess(uv_config, sockets=[sock]).run()
        return
    announced = announcing_server(uv_config)
    announced.run()
    if not announced.started:
        raise typer.Exit(3)


def announce_listening(address: tuple[str, int], workers: int = 1) -> None:
    """Say where the gateway answers, once its port is bound (and, with one worker, once
    it has started)."""
    host, port = address[0], address[1]
    url = f"http://{host}:{port}"
    suffix = f", {workers} workers" if workers > 1 else ""
    err.print(
        f"nanogate listening on {url}  (OpenAI base URL: {url}/api/v1){suffix}",
        highlight=False,
        soft_wrap=True,
    )


def announcing_server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server, saying where it listens once its socket is bound and the gateway
    has started (not before, as a line printed ahead of ``run`` would). uvicorn is loaded
    on first use, not when the CLI starts."""
    import uvicorn

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and self.servers and self.servers[0].sockets:
                announce_listening(self.servers[0].sockets[0].getsockname())

    return Announcing(config)


@db.command("upgrade")
def upgrade(config: ConfigOption = None) -> None:
    """Apply pending database migrations."""

    async def nothing_more(store: Store) -> None:
        return None

    with err.status("applying migrations..."):
        with_store(config, nothing_more)
    err.print("database schema is up to date")


__all__ = ["db", "serve"]
