"""The console's pages: server-rendered HTML over the admin operations.

Every page but sign-in needs a session (:mod:`._session`); every form that changes
something carries the session's CSRF token and must come from the console's own origin.
Pages are never cached, and a strict Content-Security-Policy allows only the
console's own scripts and styles. Secrets are never rendered, but for a new key's,
once, in the answer to the form that created it.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from functools import lru_cache, wraps
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from nanogate.admin import WINDOWS, Admin, NotFoundError, Origin
from nanogate.errors import RouteNotFound
from nanogate.server._auth import is_admin_token
from nanogate.server._body import read_body
from nanogate.server._context import RequestContext, query_value
from nanogate.server.console._session import COOKIE, Session, Sessions
from nanogate.server.routes.admin import PAYMENT_STATES
from nanogate.server.schemas.admin import (
    MAX_COUNT,
    FilterError,
    dollars,
    moment,
    request_filters,
)
from nanogate.storage._requests import REQUEST_FILTERS

PAGE_SIZE = 50
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}


class FormError(ValueError):
    """A form field's value is refused; the page is shown again with the message."""


@lru_cache(maxsize=1)
def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nanogate.server.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["query"] = lambda values: urlencode({k: v for k, v in values.items() if v})
    return env


@lru_cache(maxsize=1)
def static_files() -> Mapping[str, tuple[bytes, str]]:
    """The console's assets by name, read once from the package."""
    root = files("nanogate.server.console") / "static"
    found: dict[str, tuple[bytes, str]] = {}
    for folder, prefix in ((root, ""), (root / "vendor", "vendor/")):
        for item in folder.iterdir():
            suffix = "." + item.name.rpartition(".")[2]
            if item.is_file() and suffix in STATIC_TYPES:
                found[prefix + item.name] = (item.read_bytes(), STATIC_TYPES[suffix])
    return found


# Plumbing ------------------------------------------------------------------------------


def _console(ctx: RequestContext) -> tuple[Admin, Sessions, str]:
    state = ctx.state
    if state.admin is None or state.admin_token is None or state.console is None:
        raise RouteNotFound(f"No route for {ctx.scope['path']}.")
    return state.admin, state.console, state.admin_token


def _cookie(ctx: RequestContext) -> str | None:
    for part in ctx.headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def _secure(ctx: RequestContext) -> bool:
    return bool(ctx.scope.get("scheme") == "https")


def _same_origin(ctx: RequestContext) -> bool:
    """A form's ``Origin`` (sent by every current browser with a POST) names this host."""
    origin = ctx.headers.get("origin")
    if origin is None:
        return True
    scheme = "https" if _secure(ctx) else "http"
    return origin == f"{scheme}://{ctx.headers.get('host', '')}"


def _html(ctx: RequestContext, template: str, status: int = 200, **values: Any) -> Response:
    values.setdefault("session", None)
    values.setdefault("error", None)
    values.setdefault("notice", None)
    body = templates().get_template(template).render(path=ctx.scope["path"], **values)
    return HTMLResponse(body, status, dict(SECURITY_HEADERS))


def _redirect(location: str, headers: Mapping[str, str] | None = None) -> Response:
    return RedirectResponse(location, 303, {**SECURITY_HEADERS, **(headers or {})})


def _signed_in(ctx: RequestContext) -> tuple[Admin, Session] | Response:
    admin, sessions, _ = _console(ctx)
    session = sessions.check(_cookie(ctx), int(time.time()))
    if session is None:
        return _redirect("/console/login")
    return admin, session


PageHandler = Callable[[RequestContext, Admin, Session], Awaitable[Response]]


def signed_in(page: PageHandler) -> Callable[[RequestContext], Awaitable[Response]]:
    """A page for the signed-in only: others are sent to the sign-in form."""

    @wraps(page)
    async def shown(ctx: RequestContext) -> Response:
        signed = _signed_in(ctx)
        if isinstance(signed, Response):
            return signed
        return await page(ctx, *signed)

    return shown


async def _paged(fetch: Callable[[str | None], Awaitable[Any]], cursor: str | None) -> Any:
    """A listing's page at ``cursor``; its first page for a cursor it did not make (a
    hand-edited address)."""
    try:
        return await fetch(cursor)
    except ValueError:
        return await fetch(None)


async def _form(ctx: RequestContext, session: Session | None) -> dict[str, str]:
    """A posted form's fields (the last of each), once its origin and CSRF token check."""
    server = ctx.state.settings.server
    raw = await read_body(ctx.headers, ctx.receive, server.max_body_bytes, server.body_timeout_s)
    fields = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    if not _same_origin(ctx):
        raise PermissionError("this form was sent from another site")
    if session is not None and not hmac.compare_digest(fields.get("csrf", ""), session.csrf):
        raise PermissionError("this form has expired; load the page again")
    return fields


def _refused(ctx: RequestContext, session: Session | None, reason: str) -> Response:
    return _html(ctx, "error.html", 403, session=session, title="Refused", message=reason)


def _missing(ctx: RequestContext, session: Session, exc: NotFoundError) -> Response:
    return _html(ctx, "error.html", 404, session=session, title="Not found", message=str(exc))


async def _detail(
    ctx: RequestContext, session: Session, lookup: Awaitable[Any], template: str, name: str
) -> Response:
    """A page showing one row (``lookup``), or the 404 page when there is none."""
    try:
        shown = await lookup
    except NotFoundError as exc:
        return _missing(ctx, session, exc)
    return _html(ctx, template, session=session, **{name: shown})


def _origin(ctx: RequestContext) -> Origin:
    return Origin("console", ctx.record.client_ip)


def _q(ctx: RequestContext, name: str) -> str | None:
    return query_value(ctx.scope, name).strip() or None


def _count(text: str, name: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_COUNT:
        raise FormError(f"{name}: expected a whole number from 1 to {MAX_COUNT}")
    return int(text)


# Sign-in -------------------------------------------------------------------------------


async def login_page(ctx: RequestContext) -> Response:
    _console(ctx)
    return _html(ctx, "login.html")


async def login(ctx: RequestContext) -> Response:
    _, sessions, token = _console(ctx)
    try:
        fields = await _form(ctx, None)
    except PermissionError as exc:
        return _refused(ctx, None, str(exc))
    if not is_admin_token(fields.get("token", ""), token):
        return _html(ctx, "login.html", 401, error="That is not the admin token.")
    _, cookie = sessions.issue(int(time.time()))
    return _redirect("/console", {"set-cookie": sessions.cookie_header(cookie, _secure(ctx))})


async def logout(ctx: RequestContext) -> Response:
    signed = _signed_in(ctx)
    if isinstance(signed, Response):
        return signed
    try:
        await _form(ctx, signed[1])
    except PermissionError as exc:
        return _refused(ctx, signed[1], str(exc))
    sessions = _console(ctx)[1]
    clear = sessions.cookie_header("", _secure(ctx), max_age=0)
    return _redirect("/console/login", {"set-cookie": clear})


# Overview ------------------------------------------------------------------------------


@signed_in
async def overview(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    window = _q(ctx, "window") or "24h"
    if window not in WINDOWS:
        window = "24h"
    figures = await admin.stats(window)
    buckets = figures["buckets"]
    errors: dict[str, int] = {}
    for bucket in buckets:
        for code, n in bucket["errors"].items():
            errors[code] = errors.get(code, 0) + n
    totals = {
        "requests": sum(b["requests"] for b in buckets),
        "errors": sum(errors.values()),
        "spend_usd": str(sum((Decimal(b["spend_usd"]) for b in buckets), Decimal(0))),
    }
    return _html(
        ctx,
        "overview.html",
        session=session,
        window=window,
        windows=list(WINDOWS),
        totals=totals,
        errors=sorted(errors.items(), key=lambda item: -item[1]),
    )


async def stats_json(ctx: RequestContext) -> Response:
    signed = _signed_in(ctx)
    if isinstance(signed, Response):
        return JSONResponse({"error": "sign in again"}, 401, dict(SECURITY_HEADERS))
    window = _q(ctx, "window") or "24h"
    if window not in WINDOWS:
        return JSONResponse({"error": f"unknown window {window!r}"}, 400, SECURITY_HEADERS)
    return JSONResponse(await signed[0].stats(window), headers=dict(SECURITY_HEADERS))


# Accounts ------------------------------------------------------------------------------


@signed_in
async def accounts(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    return await _accounts_page(ctx, admin, session)


async def _accounts_page(
    ctx: RequestContext, admin: Admin, session: Session, status: int = 200, **values: Any
) -> Response:
    q = _q(ctx, "q")
    page = await _paged(lambda cursor: admin.accounts(q, PAGE_SIZE, cursor), _q(ctx, "cursor"))
    return _html(ctx, "accounts.html", status, session=session, q=q or "", page=page, **values)


@signed_in
async def create_account(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    try:
        fields = await _form(ctx, session)
    except PermissionError as exc:
        return _refused(ctx, session, str(exc))
    try:
        balance = dollars(fields.get("balance_usd", "").strip() or "0")
    except ValueError as exc:
        return await _accounts_page(ctx, admin, session, 400, error=f"Balance: {exc}.")
    name = fields.get("name", "").strip()[:200] or None
    made = await admin.create_account(_origin(ctx), name, balance)
    return _redirect(f"/console/accounts/{made['id']}?done=created")


@signed_in
async def account(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    return await _account_page(ctx, admin, session)


async def _account_page(
    ctx: RequestContext, admin: Admin, session: Session, status: int = 200, **values: Any
) -> Response:
    account_id = ctx.params["account_id"]
    try:
        shown = await admin.account(account_id)
        ledger = await _paged(
            lambda cursor: admin.ledger(account_id, PAGE_SIZE, cursor), _q(ctx, "cursor")
        )
    except NotFoundError as exc:
        return _missing(ctx, session, exc)
    keys = await admin.keys(account_id, PAGE_SIZE, None)
    notice = {"created": "Account created.", "topup": "Top-up added."}.get(_q(ctx, "done") or "")
    return _html(
        ctx,
        "account.html",
        status,
        session=session,
        account=shown,
        ledger=ledger,
        keys=keys,
        notice=notice,
        **values,
    )


@signed_in
async def topup(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    try:
        fields = await _form(ctx, session)
    except PermissionError as exc:
        return _refused(ctx, session, str(exc))
    account_id = ctx.params["account_id"]
    try:
        amount = dollars(fields.get("amount_usd", "").strip())
        if amount == 0:
            raise ValueError("must be more than 0")
    except ValueError as exc:
        return await _account_page(ctx, admin, session, 400, error=f"Amount: {exc}.")
    try:
        await admin.topup(_origin(ctx), account_id, amount)
    except NotFoundError as exc:
        return _missing(ctx, session, exc)
    return _redirect(f"/console/accounts/{account_id}?done=topup")


# Keys ----------------------------------------------------------------------------------


@signed_in
async def keys(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    return await _keys_page(ctx, admin, session)


async def _keys_page(
    ctx: RequestContext, admin: Admin, session: Session, status: int = 200, **values: Any
) -> Response:
    account_id = _q(ctx, "account_id")
    page = await _paged(lambda cursor: admin.keys(account_id, PAGE_SIZE, cursor), _q(ctx, "cursor"))
    values.setdefault("form", {"account_id": account_id or ""})
    notice = {"revoked": "Key revoked."}.get(_q(ctx, "done") or "")
    return _html(
        ctx,
        "keys.html",
        status,
        session=session,
        page=page,
        account_id=account_id or "",
        notice=notice,
        **values,
    )


@signed_in
async def create_key(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    try:
        fields = await _form(ctx, session)
    except PermissionError as exc:
        return _refused(ctx, session, str(exc))
    try:
        models = [m.strip() for m in fields.get("models", "").split(",") if m.strip()]
        daily_usd = fields.get("daily_usd", "").strip()
        expires = fields.get("expires_at", "").strip()
        new = await admin.create_key(
            _origin(ctx),
            fields.get("account_id", "").strip(),
            name=fields.get("name", "").strip()[:200] or None,
            models=models or None,
            daily_requests=_count(fields.get("daily_requests", ""), "Requests per day"),
            daily_usd_nusd=_field(dollars, daily_usd, "Dollars per day") if daily_usd else None,
            rps=_count(fields.get("rps", ""), "Requests per second"),
            expires_at=_field(moment, expires, "Expires") if expires else None,
        )
    except (FormError, NotFoundError) as exc:
        return await _keys_page(ctx, admin, session, 400, error=str(exc), form=fields)
    ctx.hold_secrets([new.secret])
    return _html(ctx, "key_created.html", 201, session=session, key=new.view, secret=new.secret)


def _field(parse: Any, text: str, name: str) -> Any:
    try:
        return parse(text)
    except ValueError as exc:
        raise FormError(f"{name}: {exc}") from None


@signed_in
async def key(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    return await _detail(ctx, session, admin.key(ctx.params["key_id"]), "key.html", "key")


@signed_in
async def revoke_key(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    try:
        await _form(ctx, session)
        await admin.revoke_key(_origin(ctx), ctx.params["key_id"])
    except PermissionError as exc:
        return _refused(ctx, session, str(exc))
    except NotFoundError as exc:
        return _missing(ctx, session, exc)
    return _redirect(f"/console/keys/{ctx.params['key_id']}?done=revoked")


# The request log -----------------------------------------------------------------------


@signed_in
async def requests(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    given = {name: _q(ctx, name) or "" for name in REQUEST_FILTERS}
    error = None
    try:
        filters = request_filters(given)
    except FilterError as exc:
        error, filters = f"{exc.param.capitalize()}: {exc.expected}", {}
    page = await _paged(
        lambda cursor: admin.requests(filters, PAGE_SIZE, cursor), _q(ctx, "cursor")
    )
    return _html(
        ctx,
        "requests.html",
        400 if error else 200,
        session=session,
        page=page,
        filters=given,
        error=error,
    )


@signed_in
async def request(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    return await _detail(
        ctx, session, admin.request(ctx.params["request_id"]), "request.html", "record"
    )


# Payments, deployments, the audit trail ------------------------------------------------


@signed_in
async def payments(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    status = _q(ctx, "status")
    status = status if status in PAYMENT_STATES else None
    page = await _paged(lambda cursor: admin.payments(status, PAGE_SIZE, cursor), _q(ctx, "cursor"))
    return _html(
        ctx,
        "payments.html",
        session=session,
        page=page,
        chosen=status or "",
        states=PAYMENT_STATES,
    )


@signed_in
async def payment(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    return await _detail(
        ctx, session, admin.payment(ctx.params["payment_id"]), "payment.html", "payment"
    )


@signed_in
async def deployments(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    return _html(ctx, "deployments.html", session=session, shown=admin.deployments())


@signed_in
async def audit(ctx: RequestContext, admin: Admin, session: Session) -> Response:
    page = await _paged(lambda cursor: admin.audit(PAGE_SIZE, cursor), _q(ctx, "cursor"))
    return _html(ctx, "audit.html", session=session, page=page)


async def static(ctx: RequestContext) -> Response:
    _console(ctx)
    found = static_files().get(ctx.params["name"])
    if found is None:
        raise RouteNotFound(f"No route for {ctx.scope['path']}.")
    content, media = found
    headers = {"cache-control": "public, max-age=3600", "x-content-type-options": "nosniff"}
    return Response(content, 200, headers, media)
