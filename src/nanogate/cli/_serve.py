"""``nanogate serve`` and ``nanogate db upgrade``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
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
    for line in startup_lines(settings, config, demo.record.account_id if demo else None):
        err.print(line, highlight=False, soft_wrap=True)
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
    made = metrics_directory(server.workers)
    if uv_config.workers > 1:
        try:
            sock = uv_config.bind_socket()
            announce_listening(sock.getsockname(), uv_config.workers)
            Multiprocess(uv_config, sockets=[sock]).run()
        finally:
            if made is not None:
                shutil.rmtree(made, ignore_errors=True)
        return
    announced = announcing_server(uv_config)
    announced.run()
    if not announced.started:
        raise typer.Exit(3)


def _without_password(url: str) -> str:
    """``url`` with any password in it replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def startup_lines(settings: Settings, config: Path | None, demo_account: str | None) -> list[str]:
    """What ``nanogate serve`` says it uses before it starts: the configuration, the
    database and Redis (passwords masked), the models, the x402 rails (with a warning for
    the dev rail), the add-ons, whether the admin API and the console are served, and the
    demo account made on this start."""
    models = [m.id for m in settings.models]
    x402 = settings.x402
    lines = [
        f"config: {config.resolve() if config else 'the embedded default'}",
        f"database: {_without_password(settings.database.url)}",
        f"redis: {_without_password(settings.redis.url) if settings.redis.url else 'off'}",
        f"models ({len(models)}): {', '.join(models) or 'none'}",
        f"x402: {'rails ' + ', '.join(x402.rails) if x402.enabled else 'off'}",
        f"web search: {settings.web_search.provider if settings.web_search.enabled else 'off'}"
        f"; context memory: {'on' if settings.memory.enabled else 'off'}"
        f"; access log: {settings.server.access_log}",
    ]
    lines.append(f"admin API and console: {_admin_line(settings)}")
    if demo_account is not None:
        lines.append(f"demo account: {demo_account}")
    if x402.enabled and "dev" in x402.rails:
        lines.append(
            "warning: the x402 dev rail is on: its quotes are paid by `nanogate payments "
            "simulate`, without money; turn it off for real clients"
        )
    return lines


def _admin_line(settings: Settings) -> str:
    from nanogate.server._app import admin_token_of

    _, why_not = admin_token_of(settings, os.environ)
    if why_not is not None:
        return f"off ({why_not})"
    return f"/api/admin/v1 and /console, with the token in {settings.admin.token_env}"


METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def metrics_directory(workers: int) -> Path | None:
    """Where the workers' Prometheus metrics meet, so ``/metrics`` sums every worker:
    ``PROMETHEUS_MULTIPROC_DIR`` if set, emptied of a previous run's files (stale
    counts would be added in); else, with several workers, a directory made for this
    run (returned, to remove at the end) and named to the workers."""
    given = os.environ.get(METRICS_DIR)
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink(missing_ok=True)
        return None
    if workers <= 1:
        return None
    made = Path(tempfile.mkdtemp(prefix=f"nanogate-metrics-{os.getpid()}-"))
    os.environ[METRICS_DIR] = str(made)
    return made


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
