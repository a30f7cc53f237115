"""Accountless x402: the endpoint matrix, a payment's status, and completing it.

``POST /api/x402/complete/{id}`` runs the payment's stored request in place of its
own: the request's route, envelope and answer (JSON or a stream) are the stored
request's, under the complete's request id.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nanogate.config._x402 import QUOTABLE_ENDPOINTS, RailSettings
from nanogate.errors import PaymentNotFound
from nanogate.server._context import SCOPE_KEY, RequestContext, query_value, surface_for
from nanogate.server._payer import X402Payer
from nanogate.server._responses import json_response
from nanogate.server.x402 import Cashier, PaidRun
from nanogate.storage import StoredPayment
from nanogate.x402 import RAILS, iso_millis, retry_after, usd_text


def _cashier(ctx: RequestContext) -> Cashier:
    cashier = ctx.state.cashier
    if cashier is None:
        raise PaymentNotFound("No payment with this id: x402 is not enabled on this gateway.")
    return cashier


async def endpoints(ctx: RequestContext) -> ASGIApp:
    """Which endpoints take accountless payments, and how; ``?supported=all`` lists the
    paid endpoints that do not as well."""
    include = query_value(ctx.scope, "supported").lower() == "all"
    return json_response(matrix(ctx.state.cashier, include))


async def payment_status(ctx: RequestContext) -> ASGIApp:
    """Where a payment stands; ``Retry-After`` while it is still moving."""
    cashier = _cashier(ctx)
    payment = await cashier.observe(await cashier.lookup(ctx.params["payment_id"]))
    wait = retry_after(payment.status)
    headers = {"retry-after": str(wait)} if wait is not None else None
    return json_response(status_body(cashier, payment, cashier.base_url(ctx.scope)), 200, headers)


async def complete_payment(ctx: RequestContext) -> ASGIApp:
    """Run a paid payment's stored request, once, and answer with its answer."""
    cashier = _cashier(ctx)
    payment, run = await cashier.claim(ctx.params["payment_id"])
    router = ctx.state.router
    assert router is not None, "the composition root sets the router"
    stored = _stored_request(ctx, payment, run)
    route, params = router.match(payment.method, payment.path)
    stored.route, stored.params = route.path, params
    try:
        app = await route.endpoint(stored)
    except BaseException as exc:
        await cashier.finish(run, ok=False, request_id=ctx.request_id, note=_note(exc))
        raise
    return _Finishing(app, cashier, run, ctx.request_id)


def status_body(cashier: Cashier, payment: StoredPayment, base: str) -> dict[str, Any]:
    """``GET /api/x402/status/{id}``: where the payment stands, per rail."""
    quote = cashier.quote_of(payment, base)
    rails = []
    for stored, offer in zip(cashier.ordered(payment), quote.offers, strict=True):
        received = stored.received
        if not offer.polling and payment.paid_rail == offer.scheme and payment.settlement:
            received = stored.amount
        rails.append(
            {
                "scheme": offer.scheme,
                "protocolScheme": offer.protocol_scheme,
                "network": offer.network,
                "payTo": offer.pay_to,
                "amount": str(offer.amount),
                "received": str(received),
                "late": str(stored.late),
            }
        )
    body: dict[str, Any] = {
        "paymentId": payment.id,
        "status": payment.status,
        "expiresAt": iso_millis(payment.expires_at),
        "amountUsd": usd_text(quote.amount_usd),
        "requestHash": payment.request_hash,
        "statusUrl": quote.status_url,
        "completeUrl": quote.complete_url,
        "rails": rails,
    }
    if payment.paid_rail:
        body["paidWith"] = payment.paid_rail
    if payment.request_id:
        body["requestId"] = payment.request_id
    return body


STREAMING_ENDPOINTS = frozenset({"POST /api/v1/chat/completions", "POST /api/v1/messages"})
"""Paid endpoints whose answer may be a stream (``stream: true``)."""

KEY_ONLY_ENDPOINTS = {
    "POST /api/v1/responses": "Keeps conversation state per API key; pay with a key.",
    "POST /api/v1/moderations": "Charged to an account; pay with a key.",
}
"""Paid endpoints that never quote, and why."""

QUOTE_NOTE = (
    "Quoted at the request's maximum cost: the most its prompt and output allowance can "
    "cost on any deployment it may use."
)


PAID_ENDPOINTS = tuple(sorted(QUOTABLE_ENDPOINTS | set(KEY_ONLY_ENDPOINTS)))
"""Every endpoint that charges per request, as the matrix lists them."""


def _rail_entry(name: str, settings: RailSettings) -> dict[str, Any]:
    """One configured rail, as ``meta.rails`` lists it."""
    rail = RAILS[name]
    entry: dict[str, Any] = {
        "scheme": name,
        "protocolScheme": rail.protocol_scheme,
        "network": settings.network or rail.network,
        "asset": rail.asset.symbol,
    }
    address = settings.asset or rail.asset_address
    if address:
        entry["assetAddress"] = address
    return entry


def matrix(cashier: Cashier | None, include_unsupported: bool) -> dict[str, Any]:
    """``GET /api/v1/x402/endpoints`` in NanoGPT's schema: which endpoints take an
    accountless payment, by which schemes, streamed or not, answered at once or after
    the payment is seen; ``meta`` adds the rails, as quotes list them."""
    settings = cashier.settings if cashier is not None and cashier.settings.enabled else None
    names = settings.rails if settings is not None else ()
    schemes = list(dict.fromkeys(RAILS[name].protocol_scheme for name in names))
    polling = any(RAILS[name].polling for name in names)
    quoting = cashier.endpoints if settings is not None and cashier is not None else frozenset()
    data = []
    for endpoint in PAID_ENDPOINTS:
        supported = endpoint in quoting
        if not supported and not include_unsupported:
            continue
        if supported:
            note = QUOTE_NOTE
        elif endpoint in KEY_ONLY_ENDPOINTS:
            note = KEY_ONLY_ENDPOINTS[endpoint]
        elif settings is None:
            note = "x402 is not enabled on this gateway."
        else:
            note = "Not offered for accountless payment on this gateway."
        method, path = endpoint.split(" ", 1)
        data.append(
            {
                "endpoint": path,
                "method": method,
                "supported": supported,
                "schemes": schemes if supported else [],
                "streaming": supported and endpoint in STREAMING_ENDPOINTS,
                "async": supported and polling,
                "quoteType": "max_cost" if supported else None,
                "notes": note,
            }
        )
    meta: dict[str, Any] = {
        "count": len(data),
        "totalCount": len(PAID_ENDPOINTS),
        "unsupportedIncluded": include_unsupported,
        "enabled": settings is not None,
        "x402Version": 1,
        "rails": [_rail_entry(name, settings.rail(name)) for name in names]
        if settings is not None
        else [],
    }
    if settings is not None:
        meta["requiresOptIn"] = settings.require_opt_in
        meta["quoteTtlSeconds"] = settings.quote_ttl_s
    return {"object": "x402.endpoint_support.list", "version": 1, "data": data, "meta": meta}


def _note(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return str(code) if code else type(exc).__name__


def _stored_request(ctx: RequestContext, payment: StoredPayment, run: PaidRun) -> RequestContext:
    """The payment's stored request as a context of its own: its method, path, headers
    and body, paid for by ``run``, under the complete's request id, request-log record
    and response headers. It is the request in effect from here on: the layers around
    the route (the request log, error envelopes) answer for it."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in payment.headers.items()]
    headers.append((b"content-length", str(len(payment.body)).encode()))
    scope: Scope = {
        **ctx.scope,
        "method": payment.method,
        "path": payment.path,
        "raw_path": payment.path.encode(),
        "query_string": b"",
        "headers": headers,
    }
    outer = ctx.receive
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": payment.body, "more_body": False}
        return await outer()  # the client's disconnect

    surface = surface_for(payment.path)
    record = ctx.record  # the request's one line in the log
    record.method, record.path, record.surface = payment.method, payment.path, surface
    stored = replace(
        ctx, scope=scope, receive=receive, surface=surface, payer=X402Payer(run), _headers=None
    )
    scope[SCOPE_KEY] = ctx.scope[SCOPE_KEY] = stored
    return stored


class _Finishing:
    """Sends the stored request's answer; a run its charge did not finish (it failed
    before it was admitted) is finished as failed."""

    def __init__(self, app: ASGIApp, cashier: Cashier, run: PaidRun, request_id: str) -> None:
        self.app, self.cashier, self.run, self.request_id = app, cashier, run, request_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            await self.cashier.finish(
                self.run, ok=False, request_id=self.request_id, note="no answer"
            )
