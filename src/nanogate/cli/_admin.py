"""``nanogate accounts|keys|requests``: administration through the database.

Changes made here reach running gateways within a second (they poll for them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from nanogate.cli._common import (
    ConfigOption,
    JsonOption,
    fail,
    iso,
    out,
    parse_usd,
    print_json,
    show,
    with_store,
)
from nanogate.core import format_usd, nano_to_usd
from nanogate.storage import Account, APIKey, RequestRecord

accounts = typer.Typer(help="Prepaid accounts.", no_args_is_help=True)
keys = typer.Typer(help="API keys.", no_args_is_help=True)
requests = typer.Typer(help="The request log.", no_args_is_help=True)


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "balance_usd": format_usd(account.balance_nusd),
        "reserved_usd": format_usd(account.reserved_nusd),
        "created_at": iso(account.created_at),
    }


def key_view(key: APIKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "account_id": key.account_id,
        "name": key.name,
        "prefix": key.key_prefix,
        "models": list(key.models) if key.models is not None else None,
        "daily_requests": key.daily_requests,
        "daily_usd": format_usd(key.daily_usd_nusd) if key.daily_usd_nusd is not None else None,
        "rps": key.rps,
        "expires_at": iso(key.expires_at),
        "revoked_at": iso(key.revoked_at),
        "created_at": iso(key.created_at),
    }


def request_view(record: RequestRecord) -> dict[str, Any]:
    return {
        "request_id": record.request_id,
        "created_at": iso(record.created_at),
        "key_id": record.key_id,
        "account_id": record.account_id,
        "surface": record.surface,
        "method": record.method,
        "path": record.path,
        "model": record.model,
        "status": record.status,
        "code": record.code,
        "message": record.message,
        "stream": record.stream,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "cost_usd": format(nano_to_usd(record.cost_nusd), "f"),
        "usage_estimated": record.usage_estimated,
        "deployments": record.deployments,
        "discrepancy": record.discrepancy,
        "duration_ms": record.duration_ms,
        "ttfb_ms": record.ttfb_ms,
        "client_ip": record.client_ip,
    }


@accounts.command("create")
def accounts_create(
    balance: Annotated[str, typer.Option("--balance", help="Starting balance in USD.")] = "0",
    name: Annotated[str | None, typer.Option("--name", help="A label for the account.")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an account with a starting balance."""
    amount = parse_usd(balance, "--balance")
    account = with_store(config, lambda store: store.create_account(amount, name))
    show(account_view(account), as_json, "account created")


@accounts.command("topup")
def accounts_topup(
    account_id: Annotated[str, typer.Argument(help="The account to credit.")],
    usd: Annotated[str, typer.Argument(help="Amount in USD to add.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add funds to an account."""
    amount = parse_usd(usd, "the amount")
    account = with_store(config, lambda store: store.topup(account_id, amount))
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
    account = with_store(config, lambda store: store.get_account(account_id))
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
    audit = with_store(config, lambda store: store.audit(account_id))
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
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most recent entries.")] = 50,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an account's most recent money movements, oldest first."""
    entries = with_store(config, lambda store: store.ledger(account_id, limit))
    rows = [
        {
            "id": e.id,
            "at": iso(e.created_at),
            "kind": e.kind,
            "amount_usd": format(nano_to_usd(e.amount_nusd), "f"),
            "hold_usd": format(nano_to_usd(e.hold_nusd), "f"),
            "request_id": e.request_id,
            "model": e.model,
            "note": e.note,
        }
        for e in entries
    ]
    if as_json:
        print_json({"account_id": account_id, "entries": rows})
        return
    table = Table(title=f"ledger of {account_id}", title_justify="left")
    for column in ("at", "kind", "amount_usd", "hold_usd", "request_id", "note"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                str(row[c] or "")
                for c in ("at", "kind", "amount_usd", "hold_usd", "request_id", "note")
            )
        )
    out.print(table)


def _expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(
            f"--expires must be an ISO 8601 date or time, like 2027-01-31T00:00:00Z (got {value!r})"
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@keys.command("create")
def keys_create(
    account: Annotated[str, typer.Option("--account", help="The account the key spends from.")],
    name: Annotated[str | None, typer.Option("--name", help="A label for the key.")] = None,
    models: Annotated[
        str | None, typer.Option("--models", help="Comma-separated model ids the key may use.")
    ] = None,
    daily_requests: Annotated[
        int | None, typer.Option("--daily-requests", min=1, help="Requests per UTC day.")
    ] = None,
    daily_usd: Annotated[
        str | None, typer.Option("--daily-usd", help="Spending per UTC day, in USD.")
    ] = None,
    rps: Annotated[int | None, typer.Option("--rps", min=1, help="Requests per second.")] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="Expiry, ISO 8601 (UTC if no offset).")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key; the key itself is shown this once and never stored."""
    model_list = [m.strip() for m in models.split(",") if m.strip()] if models else None
    daily = parse_usd(daily_usd, "--daily-usd") if daily_usd is not None else None
    expires_at = _expiry(expires)

    async def create(store: Any) -> Any:
        if await store.get_account(account) is None:
            return None
        return await store.create_key(
            account,
            name=name,
            models=model_list,
            daily_requests=daily_requests,
            daily_usd_nusd=daily,
            rps=rps,
            expires_at=expires_at,
        )

    new = with_store(config, create)
    if new is None:
        fail(f"no account {account!r}")
    data = {"id": new.record.id, "key": new.key, **key_view(new.record)}
    show(data, as_json, "API key created (the key is shown only now)")


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
    record = with_store(config, lambda store: store.get_request(request_id))
    if record is None:
        fail(f"no request {request_id!r} in the request log")
    show(request_view(record), as_json, "request")


__all__ = ["accounts", "keys", "requests"]
