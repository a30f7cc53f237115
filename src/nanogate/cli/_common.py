"""What every command shares: finding the configuration, opening the store, output."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from nanogate.config import ConfigError, Settings, load_settings
from nanogate.core import redact, usd_to_nano
from nanogate.storage import SQLStore

T = TypeVar("T")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="NANOGATE_CONFIG",
        help="Configuration file (TOML). Defaults to the embedded configuration.",
        dir_okay=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]

out = Console()
err = Console(stderr=True)


def fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


def settings_from(config: Path | None) -> Settings:
    try:
        return load_settings(config, os.environ)
    except ConfigError as exc:
        fail(str(exc))


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[SQLStore]:
    """The configured database, migrated to the latest schema, closed on exit."""
    store = SQLStore(settings.database.url)
    try:
        await store.upgrade()
        yield store
    finally:
        await store.close()


def run_with_store(settings: Settings, action: Callable[[SQLStore], Awaitable[T]]) -> T:
    """Run ``action`` against the configured database; an unreachable one is a clean failure."""

    async def run() -> T:
        async with open_store(settings) as store:
            return await action(store)

    try:
        return asyncio.run(run())
    except (OSError, SQLAlchemyError) as exc:
        fail(f"cannot use the database {redact(settings.database.url)}: {exc}")


def with_store(config: Path | None, action: Callable[[SQLStore], Awaitable[T]]) -> T:
    """Run ``action`` against the database of the configuration ``config``."""
    return run_with_store(settings_from(config), action)


def print_json(data: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(data).decode() + "\n")
    sys.stdout.flush()


def parse_usd(value: str, what: str) -> int:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        fail(f"{what} must be an amount of US dollars, like 5 or 0.25 (got {value!r})")
    if amount < 0:
        fail(f"{what} cannot be negative")
    try:
        return usd_to_nano(amount)
    except ValueError:
        fail(f"{what} has more than nine decimals")


def show(data: dict[str, Any], as_json: bool, title: str) -> None:
    """Print ``data``: one JSON object with ``--json``, else a two-column table."""
    if as_json:
        print_json(data)
        return
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for field, value in data.items():
        table.add_row(field, "" if value is None else str(value))
    out.print(table)


def iso(value: datetime | None) -> str | None:
    """A UTC time as ``2026-06-09T12:00:00Z`` (``None`` stays ``None``)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None
