"""``nanogate accounts|keys|requests``: administration through the database.

Changes made here reach running gateways within a second (they poll for them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from nanogate.admin import account_view, key_view, ledger_view, request_view
from nanogate.cli._common import (
    ConfigOption,
    JsonOption,
    err,
    fail,
    print_json,
    show,
    show_rows,
    show_secret,
    tsv_line,
    with_book,
    with_driver,
    with_store,
)
from nanogate.cli._values import MAX_COUNT, moment, positive_usd, usd
from nanogate.core import format_usd

if TYPE_CHECKING:
    pass

accounts = typer.Typer(help="Prepaid accounts.", no_args_is_help=True)
keys = typer.Typer(help="API keys.", no_args_is_help=True)
requests = typer.Typer(help="The request log.", no_args_is_help=True)


@accounts.command("create")
def accounts_create(
    balance: Annotated[
        int | None,
        typer.Option(
            "--balance", parser=usd, metavar="USD", show_default="0", help="Starting balance."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="A label for the account.")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an account with a starting balance."""
    account = with_book(config, lambda book: book.create_account(balance or 0, name))
    show(account_view(account), as_json, "account created")


# Unknown options are left to the amount, so that "-1" is refused as a negative amount.
@accounts.command("topup", context_settings={"ignore_unknown_options": True})
def accounts_topup(
    account_id: Annotated[str, typer.Argument(help="The account to credit.")],
    amount: Annotated[
        int,
        typer.Argument(parser=positive_usd, metavar="USD", help="Dollars to add, like 5 or 0.25."),
    ],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add funds to an account."""
    account = with_book(config, lambda book: book.topup(account_id, amount))
    if account is None:
        fail(f"no account {account_id!r}")
    show(account_view(account), as_json, "account topped up")


@accounts.command("show")
def accountsshow(
    account_id: Annotated[str, typer.Argument(help="The account to show.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an account and its balance."""
    account = with_book(config, lambda book: book.get_account(account_id), read_only=True)
    if account is None:
        fail(f"no account {account_id!r}")
    show(account_view(account), as_json, "account")


@accounts.command("audit")
def accounts_audit(
    account_id: Annotated[str, typer.Argument(help="The account to audit.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the balance from the ledger and compare it with the stored one.

    Exits 1 if they differ.
    """
    audit = with_book(config, lambda book: book.audit(account_id), read_only=True)
    if audit is None:
        fail(f"no account {account_id!r}")
    show(
        {
            "id": account_id,
            "balance_usd": format_usd(audit.balance_nusd),
            "reserved_usd": format_usd(audit.reserved_nusd),
            "ledger_balance_usd": format_usd(audit.ledger_balance_nusd),
            "ledger_reserved_usd": format_usd(audit.ledger_reserved_nusd),
            "open_holds": audit.open_holds,
            "consistent": audit.consistent,
        },
        as_json,
        "account audit",
    )
    if not audit.consistent:
        raise typer.Exit(1)


@accounts.command("ledger")
def accounts_ledger(
    account_id: Annotated[str, typer.Argument(help="The account whose ledger to show.")],
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MAX_COUNT, help="Most recent entries.")
    ] = 50,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an account's most recent money movements, oldest first."""
    entries = with_book(config, lambda book: book.ledger(account_id, limit), read_only=True)
    rows = [ledger_view(e) for e in entries]
    if as_json:
        print_json({"account_id": account_id, "entries": rows})
        return
    columns = ("at", "kind", "amount_usd", "hold_usd", "request_id", "note")
    show_rows(rows, columns, f"ledger of {account_id}")


@keys.command("create")
def keys_create(
    account: Annotated[str, typer.Option("--account", help="The account the key spends from.")],
    name: Annotated[str | None, typer.Option("--name", help="A label for the key.")] = None,
    models: Annotated[
        str | None, typer.Option("--models", help="Comma-separated model ids the key may use.")
    ] = None,
    daily_requests: Annotated[
        int | None,
        typer.Option("--daily-requests", min=1, max=MAX_COUNT, help="Requests per UTC day."),
    ] = None,
    daily_usd: Annotated[
        int | None,
        typer.Option("--daily-usd", parser=usd, metavar="USD", help="Spending per UTC day."),
    ] = None,
    rps: Annotated[
        int | None, typer.Option("--rps", min=1, max=MAX_COUNT, help="Requests per second.")
    ] = None,
    expires_at: Annotated[
        datetime | None,
        typer.Option(
            "--expires",
            parser=moment,
            metavar="ISO8601",
            help="Expiry, ISO 8601 (UTC if no offset).",
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key; the key itself is shown this once and never stored."""
    model_list = [m.strip() for m in models.split(",") if m.strip()] if models else None

    async def create(store: Any) -> Any:
        from nanogate.billing import Book

        if await Book(store.fast).get_account(account) is None:
            return None
        return await store.create_key(
            account,
            name=name,
            models=model_list,
            daily_requests=daily_requests,
            daily_usd_nusd=daily_usd,
            rps=rps,
            expires_at=expires_at,
        )

    new = with_store(config, create)
    if new is None:
        fail(f"no account {account!r}")
    if as_json:
        print_json({"id": new.record.id, "key": new.key, **key_view(new.record)})
        return
    show_secret(new.key, "API key created; the key is shown only now, keep it somewhere safe:")
    show(key_view(new.record), False, "the key's settings")


@keys.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (key_...), not the key itself.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke an API key; running gateways refuse it within a second."""
    if not with_store(config, lambda store: store.revoke_key(key_id)):
        fail(f"no key {key_id!r}")
    show({"id": key_id, "revoked": True}, as_json, "API key revoked")


@requests.command("show")
def requestsshow(
    request_id: Annotated[str, typer.Argument(help="The X-Request-ID of the request.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the full record of a request."""
    from nanogate.storage._requests import get_request

    record = with_driver(
        config, lambda driver: driver.read(get_request(request_id)), read_only=True
    )
    if record is None:
        fail(f"no request {request_id!r} in the request log")
    show(request_view(record), as_json, "request")


# Listings -------------------------------------------------------------------------------

REQUEST_COLUMNS = (
    "request_id",
    "created_at",
    "key_id",
    "path",
    "model",
    "status",
    "code",
    "cost_usd",
)
"""The columns of a request in ``requests list`` and ``requests tail``."""

LimitOption = Annotated[
    int, typer.Option("--limit", min=1, max=1000, help="Rows per page (1..1000).")
]
CursorOption = Annotated[
    str | None,
    typer.Option("--cursor", help="Continue a listing: the next_cursor its last page gave."),
]


def _checked_cursor(cursor: str | None) -> str | None:
    from nanogate.storage._pages import checked_cursor

    try:
        return checked_cursor(cursor)
    except ValueError:
        fail(f"--cursor {cursor!r} is not a cursor of this listing")


def _show_page(
    rows: list[dict[str, Any]],
    next_cursor: str | None,
    as_json: bool,
    columns: tuple[str, ...],
    title: str,
) -> None:
    """A page as ``{"data": [...], "next_cursor": ...}`` with ``--json``, else a table
    and, when there is more, the option that continues it."""
    if as_json:
        print_json({"data": rows, "next_cursor": next_cursor})
        return
    show_rows(rows, columns, title)
    if next_cursor:
        err.print(f"more: --cursor {next_cursor}", highlight=False, soft_wrap=True)


@accounts.command("list")
def accounts_list(
    q: Annotated[
        str | None, typer.Option("--q", help="An account id, or part of a name (any case).")
    ] = None,
    limit: LimitOption = 50,
    cursor: CursorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List accounts, newest first."""
    cursor = _checked_cursor(cursor)
    page = with_book(config, lambda book: book.list_accounts(q, limit, cursor), read_only=True)
    rows = [account_view(a) for a in page.items]
    columns = ("id", "name", "balance_usd", "reserved_usd", "created_at")
    _show_page(rows, page.next_cursor, as_json, columns, "accounts")


@keys.command("list")
def keys_list(
    account: Annotated[
        str | None, typer.Option("--account", help="Only the keys of this account.")
    ] = None,
    limit: LimitOption = 50,
    cursor: CursorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List API keys, newest first (their ids and prefixes; never a key)."""
    cursor = _checked_cursor(cursor)
    page = with_store(config, lambda store: store.list_keys(account, limit, cursor), read_only=True)
    rows = [key_view(k) for k in page.items]
    columns = ("id", "account_id", "name", "prefix", "rps", "daily_usd", "revoked_at")
    _show_page(rows, page.next_cursor, as_json, columns, "API keys")


@requests.command("list")
def requests_list(
    key: Annotated[str | None, typer.Option("--key", help="Only this key's requests.")] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Only this account's requests.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model (as sent).")] = None,
    status: Annotated[int | None, typer.Option("--status", help="Only this HTTP status.")] = None,
    code: Annotated[str | None, typer.Option("--code", help="Only this error code.")] = None,
    since: Annotated[
        datetime | None,
        typer.Option("--since", parser=moment, metavar="TIME", help="From this time (ISO 8601)."),
    ] = None,
    limit: LimitOption = 50,
    cursor: CursorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the request log, newest first."""
    cursor = _checked_cursor(cursor)
    filters: dict[str, object] = {
        "key_id": key,
        "account_id": account,
        "model": model,
        "status": status,
        "code": code,
        "since": since,
    }
    page = with_store(
        config, lambda store: store.list_requests(filters, limit, cursor), read_only=True
    )
    rows = [request_view(r) for r in page.items]
    _show_page(rows, page.next_cursor, as_json, REQUEST_COLUMNS, "requests")


__all__ = ["accounts", "keys", "requests"]


TAIL_LOOKBACK = timedelta(seconds=10)
"""How far before the newest request shown each poll looks again: records are written in
batches, so one that started earlier can arrive later; ids already shown are skipped."""


@requests.command("tail")
def requests_tail(
    key: Annotated[str | None, typer.Option("--key", help="Only this key's requests.")] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Only this account's requests.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model (as sent).")] = None,
    code: Annotated[str | None, typer.Option("--code", help="Only this error code.")] = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.05, max=60.0, help="Seconds between polls.")
    ] = 1.0,
    config: ConfigOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per request (JSON lines).")
    ] = False,
) -> None:
    """Follow the request log: print each request as it is written, until interrupted."""
    import asyncio

    from nanogate.admin import iso
    from nanogate.cli._common import open_store, require_database, run_database_work, settings_from

    settings = settings_from(config)
    require_database(settings)
    filters: dict[str, object] = {
        "key_id": key,
        "account_id": account,
        "model": model,
        "code": code,
    }

    async def follow() -> None:
        seen: dict[str, datetime] = {}
        since = datetime.now(UTC)
        if not as_json:
            print("\t".join(REQUEST_COLUMNS), flush=True)
        async with open_store(settings) as store:
            err.print(
                f"following the request log from {iso(since)}; Ctrl-C stops",
                highlight=False,
                soft_wrap=True,
            )
            while True:
                page = await store.list_requests({**filters, "since": since}, 1000)
                for record in reversed(page.items):
                    if record.request_id in seen:
                        continue
                    seen[record.request_id] = record.created_at
                    view = request_view(record)
                    line = tsv_line(view[column] for column in REQUEST_COLUMNS)
                    print(orjson.dumps(view).decode() if as_json else line, flush=True)
                if seen:
                    since = max(since, max(seen.values()) - TAIL_LOOKBACK)
                    seen = {rid: at for rid, at in seen.items() if at >= since}
                await asyncio.sleep(interval)

    try:
        run_database_work(settings, follow())
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
