"""What every command shares: finding the configuration, opening the store, output."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console

from nanogate.config import ConfigError, Settings, load_settings
from nanogate.core import usd_to_nano
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


def with_store(config: Path | None, action: Callable[[SQLStore], Awaitable[T]]) -> T:
    """Run ``action`` against the configured database, migrated to the latest schema."""
    settings = settings_from(config)

    async def run() -> T:
        store = SQLStore(settings.database.url)
        try:
            await store.upgrade()
            return await action(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except OSError as exc:
        fail(f"cannot open the database: {exc}")


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
