"""What every command shares: finding the configuration, opening the store, output.

The configuration, the store and SQLAlchemy are imported by the commands that use
them, so ``nanogate --help`` and a command's own ``--help`` load none of them."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import orjson
import typer
from rich.table import Table

from nanogate.admin._views import iso
from nanogate.cli._console import err, out, plain, styled

if TYPE_CHECKING:
    from nanogate.billing import Book
    from nanogate.config import Settings
    from nanogate.storage import Driver, SQLStore

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


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr (``message`` as it is, never markup); exit 1."""
    err.print(styled(("error:", "bold red"), " ", message))
    raise typer.Exit(1)


def settings_from(config: Path | None) -> Settings:
    from nanogate.config import ConfigError, load_settings

    try:
        return load_settings(config, os.environ)
    except ConfigError as exc:
        fail(str(exc))


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[SQLStore]:
    """The configured database, migrated to the latest schema, closed on exit."""
    from nanogate.storage import SQLStore

    store = SQLStore(settings.database.url)
    try:
        await store.upgrade()
        yield store
    finally:
        await store.close()


def _failures(settings: Settings) -> tuple[type[Exception], ...]:
    """What an unreachable or broken database raises, on its drivers."""
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    failures: tuple[type[Exception], ...] = (OSError, SQLAlchemyError, sqlite3.Error)
    if not settings.database.url.startswith("sqlite"):
        import asyncpg

        failures += (asyncpg.PostgresError,)
    return failures


def run_database_work(settings: Settings, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; a database failure is a clean failure of the command."""
    from nanogate.core import redact

    try:
        return asyncio.run(work)
    except _failures(settings) as exc:
        fail(f"cannot use the database {redact(settings.database.url)}: {exc}")


def run_with_store(settings: Settings, action: Callable[[SQLStore], Awaitable[T]]) -> T:
    """Run ``action`` against the configured database; an unreachable one is a clean failure."""

    async def run() -> T:
        async with open_store(settings) as store:
            return await action(store)

    return run_database_work(settings, run())


def require_database(settings: Settings) -> None:
    """Refuse to go on when the configured SQLite file does not exist: a command that
    only reads would otherwise create an empty database wherever it was run."""
    scheme, _, rest = settings.database.url.partition("://")
    if not scheme.startswith("sqlite"):
        return
    path = rest.removeprefix("/")
    if path and path != ":memory:" and not Path(path).exists():
        fail(
            f"no database at {Path(path).resolve()}: start the gateway or run "
            "`nanogate db upgrade` with this configuration to create it, or name the right "
            "one with --config (or NANOGATE_DATABASE_URL)"
        )


def with_store(
    config: Path | None,
    action: Callable[[SQLStore], Awaitable[T]],
    *,
    read_only: bool = False,
) -> T:
    """Run ``action`` against the database of the configuration ``config``; a command
    that only reads (``read_only``) refuses a database that does not exist."""
    settings = settings_from(config)
    if read_only:
        require_database(settings)
    return run_with_store(settings, action)


def with_driver(
    config: Path | None,
    action: Callable[[Driver], Awaitable[T]],
    *,
    read_only: bool = False,
) -> T:
    """Run ``action`` on the fast driver of the database of ``config``: alone when the
    schema is current, so the command loads neither SQLAlchemy nor Alembic; after
    migrating the database otherwise. ``read_only``: as :func:`with_store`."""
    from nanogate.storage import driver_for
    from nanogate.storage._schema import at_head

    settings = settings_from(config)
    if read_only:
        require_database(settings)

    async def run() -> T:
        driver = driver_for(settings.database.url)
        try:
            try:
                current = await driver.read(at_head())
            except Exception:  # a new database, or one the full path reports on
                current = False
            if not current:
                async with open_store(settings):
                    pass
            return await action(driver)
        finally:
            await driver.close()

    return run_database_work(settings, run())


def with_book(
    config: Path | None, action: Callable[[Book], Awaitable[T]], *, read_only: bool = False
) -> T:
    """Run ``action`` against the account book in the database of ``config`` (see
    :func:`with_driver`)."""
    from nanogate.billing import Book

    return with_driver(config, lambda driver: action(Book(driver)), read_only=read_only)


def print_json(data: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(data).decode() + "\n")
    sys.stdout.flush()


def show_secret(secret: str, notice: str) -> None:
    """Print ``notice`` and, alone on the next line, a secret the operator sees only now.

    Written as plain lines before anything else about it is printed, so nothing that
    follows (a table of user text) can keep the operator from seeing it.
    """
    sys.stdout.write(f"{notice}\n{secret}\n\n")
    sys.stdout.flush()


def cell(value: Any) -> str:
    """A value as a person reads it in a table: nothing for ``None``, ``yes``/``no`` for
    booleans, lists comma-separated, mappings as ``name=value`` pairs, other structures
    as JSON; never a Python repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        if all(isinstance(item, str | int) and not isinstance(item, bool) for item in value):
            return ", ".join(str(item) for item in value)
        return orjson.dumps(value).decode()
    if isinstance(value, dict):
        if all(not isinstance(v, dict | list) for v in value.values()):
            return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
        return orjson.dumps(value).decode()
    return str(value)


def _tsv(value: Any) -> str:
    """A cell for a tab-separated line: tabs and newlines escaped, so a row stays one line."""
    text = plain(cell(value)).plain
    return text.replace("\t", "\\t").replace("\n", "\\n")


def tsv_line(values: Iterable[Any]) -> str:
    """One row of plain output: its cells, tab-separated."""
    return "\t".join(_tsv(value) for value in values)


def show(data: dict[str, Any], as_json: bool, title: str) -> None:
    """Print ``data``: one JSON object with ``--json``; on a terminal, a two-column table;
    in a pipe or a file, one ``field<TAB>value`` line per field, never cut or wrapped."""
    if as_json:
        print_json(data)
        return
    if not out.is_terminal:
        sys.stdout.write("".join(f"{field}\t{_tsv(value)}\n" for field, value in data.items()))
        sys.stdout.flush()
        return
    table = Table(title=plain(title), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for field, value in data.items():
        table.add_row(plain(field), plain(cell(value)))
    out.print(table)


def show_rows(rows: list[dict[str, Any]], columns: tuple[str, ...], title: str) -> None:
    """Print ``columns`` of ``rows``: on a terminal a table; in a pipe or a file a header
    line and one tab-separated line per row, never cut or wrapped."""
    if not out.is_terminal:
        lines = ["\t".join(columns)]
        lines += [tsv_line(row[column] for column in columns) for row in rows]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        return
    table = Table(title=plain(title), title_justify="left")
    for column in columns:
        table.add_column(plain(column), overflow="fold")
    for row in rows:
        table.add_row(*(plain(cell(row[column])) for column in columns))
    out.print(table)


__all__ = [
    "cell",
    "tsv_line",
    "ConfigOption",
    "JsonOption",
    "err",
    "fail",
    "iso",
    "open_store",
    "out",
    "plain",
    "print_json",
    "run_with_store",
    "settings_from",
    "show",
    "show_rows",
    "show_secret",
    "styled",
    "with_book",
    "with_driver",
    "with_store",
]
