"""The admin API under ``/api/admin/v1``: accounts, keys, the request log, payments,
figures and deployments, for the operator holding the admin token.

Served only when ``[admin] token_env`` names a variable holding a token of at least
32 characters (otherwise every path here is 404). The token is compared in constant
time; anything else is 401 ``invalid_api_key``. Every change is written to the audit
trail (``GET /audit``). Errors are in the OpenAI envelope; nothing is cached.
"""

from __future__ import annotations

from typing import Any, TypeVar, get_args

from pydantic import BaseModel
from starlette.responses import Response

from nanogate.admin import WINDOWS, Admin, NotFoundError, Origin
from nanogate.errors import InvalidAPIKey, InvalidParameterValue, NotFound, RouteNotFound
from nanogate.server._auth import is_admin_token
from nanogate.server._body import read_json
from nanogate.server._context import RequestContext, query_value
from nanogate.server._responses import json_response
from nanogate.server._validation import validate
from nanogate.server.schemas.admin import (
    CreateAccountRequest,
    CreateKeyRequest,
    FilterError,
    TopupRequest,
    request_filters,
)
from nanogate.storage._pages import MAX_LIMIT, Page
from nanogate.storage._requests import REQUEST_FILTERS
from nanogate.x402 import Status

T = TypeVar("T", bound=BaseModel)

NO_STORE = {"cache-control": "no-store"}
PAYMENT_STATES: tuple[str, ...] = get_args(Status)


def admin_of(ctx: RequestContext) -> Admin:
    """The admin operations, once the request has shown the admin token."""
    state = ctx.state
    expected = state.admin_token
    if expected is None or state.admin is None:
        raise RouteNotFound(f"No route for {ctx.scope['path']}.")
    authorization = ctx.headers.get("authorization", "")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not is_admin_token(token, expected):
        raise InvalidAPIKey("The admin API needs Authorization: Bearer <admin token>.")
    return state.admin


def _origin(ctx: RequestContext) -> Origin:
    return Origin("api", ctx.record.client_ip)


def _answer(data: Any, status: int = 200) -> Response:
    return json_response(data, status, NO_STORE)


def _page(page: Page[Any]) -> Response:
    return _answer({"data": page.items, "next_cursor": page.next_cursor})


def _limit(ctx: RequestContext) -> int:
    text = query_value(ctx.scope, "limit")
    if not text:
        return 50
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidParameterValue(
            f"Invalid value for 'limit': expected an integer from 1 to {MAX_LIMIT}, "
            f"but got {text[:40]!r} instead.",
            param="limit",
        )
    return int(text)


def _optional(ctx: RequestContext, name: str) -> str | None:
    return query_value(ctx.scope, name) or None


def _one_of(
    ctx: RequestContext, name: str, allowed: tuple[str, ...], default: str | None
) -> str | None:
    """A query parameter that takes one of ``allowed`` (``default`` when absent)."""
    value = _optional(ctx, name)
    if value is None:
        return default
    if value not in allowed:
        raise InvalidParameterValue(
            f"Invalid value for '{name}': expected one of {', '.join(allowed)}, "
            f"but got {value[:40]!r} instead.",
            param=name,
        )
    return value


async def _listing(page: Any) -> Response:
    try:
        return _page(await page)
    except ValueError:
        raise InvalidParameterValue(
            "Invalid value for 'cursor': it is not a cursor of this listing.", param="cursor"
        ) from None


async def _found(lookup: Any) -> Any:
    try:
        return await lookup
    except NotFoundError as exc:
        raise NotFound(str(exc)) from None


async def _body(ctx: RequestContext, schema: type[T]) -> T:
    server = ctx.state.settings.server
    body = await read_json(ctx.headers, ctx.receive, server.max_body_bytes, server.body_timeout_s)
    return validate(schema, body, ctx.surface)


# Accounts ------------------------------------------------------------------------------


async def list_accounts(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    q, limit, cursor = _optional(ctx, "q"), _limit(ctx), _optional(ctx, "cursor")
    return await _listing(admin.accounts(q, limit, cursor))


async def create_account(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    body = await _body(ctx, CreateAccountRequest)
    return _answer(await admin.create_account(_origin(ctx), body.name, body.balance_usd), 201)


async def get_account(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    return _answer(await _found(admin.account(ctx.params["account_id"])))


async def topup_account(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    body = await _body(ctx, TopupRequest)
    account_id = ctx.params["account_id"]
    return _answer(await _found(admin.topup(_origin(ctx), account_id, body.amount_usd)))


async def account_ledger(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    account_id = ctx.params["account_id"]
    limit, cursor = _limit(ctx), _optional(ctx, "cursor")
    return await _listing(_found(admin.ledger(account_id, limit, cursor)))


# Keys ----------------------------------------------------------------------------------


async def list_keys(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    account_id, limit = _optional(ctx, "account_id"), _limit(ctx)
    return await _listing(admin.keys(account_id, limit, _optional(ctx, "cursor")))


async def create_key(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    body = await _body(ctx, CreateKeyRequest)
    new = await _found(
        admin.create_key(
            _origin(ctx),
            body.account_id,
            name=body.name,
            models=body.models,
            daily_requests=body.daily_requests,
            daily_usd_nusd=body.daily_usd,
            rps=body.rps,
            expires_at=body.expires_at,
        )
    )
    ctx.hold_secrets([new.secret])
    return _answer({"id": new.view["id"], "key": new.secret, **new.view}, 201)


async def revoke_key(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    return _answer(await _found(admin.revoke_key(_origin(ctx), ctx.params["key_id"])))


# The request log -----------------------------------------------------------------------


async def list_requests(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    try:
        filters = request_filters({name: query_value(ctx.scope, name) for name in REQUEST_FILTERS})
    except FilterError as exc:
        raise InvalidParameterValue(
            f"Invalid value for '{exc.param}': {exc.expected}, but got {exc.text[:40]!r} instead.",
            param=exc.param,
        ) from None
    return await _listing(admin.requests(filters, _limit(ctx), _optional(ctx, "cursor")))


async def get_request(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    return _answer(await _found(admin.request(ctx.params["request_id"])))


# Payments ------------------------------------------------------------------------------


async def list_payments(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    status = _one_of(ctx, "status", PAYMENT_STATES, None)
    return await _listing(admin.payments(status, _limit(ctx), _optional(ctx, "cursor")))


async def get_payment(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    return _answer(await _found(admin.payment(ctx.params["payment_id"])))


# Figures, deployments and the audit trail ----------------------------------------------


async def stats(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    window = _one_of(ctx, "window", tuple(WINDOWS), "24h")
    assert window is not None
    return _answer(await admin.stats(window))


async def deployments(ctx: RequestContext) -> Response:
    return _answer(admin_of(ctx).deployments())


async def audit(ctx: RequestContext) -> Response:
    admin = admin_of(ctx)
    return await _listing(admin.audit(_limit(ctx), _optional(ctx, "cursor")))
