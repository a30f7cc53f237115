"""Usage reporting: one request's billing, and a key's totals by day and model.

``GET /api/v1/usage/requests/{request_id}`` answers only the key that made the
request, for 24 hours; any other key gets the same 404 as an unknown id, so
request ids reveal nothing. The charge comes from the ledger, which is written
in the settlement's own transaction.

``GET /api/v1/usage`` answers NanoGPT's Usage shape for the calling key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.responses import Response

from nanogate.core import format_usd, nano_to_usd
from nanogate.errors import InvalidParameterValue, RequestNotFound
from nanogate.server._context import RequestContext
from nanogate.server._responses import json_response
from nanogate.server.routes._inference import require_key
from nanogate.storage import UsageRow

RETENTION = timedelta(hours=24)
NOT_YET_RETRY_S = 30
"""NanoGPT answers an unknown id with ``Retry-After: 30``: the record may not be written yet."""
NO_STORE = {"cache-control": "private, no-store, max-age=0", "vary": "Authorization, x-api-key"}
DEFAULT_DAYS = 30
MAX_DAYS = 366
GROUPINGS = {"day": ("day",), "model": ("model",), "day,model": ("day", "model")}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def request_billing(ctx: RequestContext) -> Response:
    key = await require_key(ctx)
    request_id = ctx.params["request_id"]
    state = ctx.state
    record = state.request_log.pending(request_id) or await state.store.get_request(request_id)
    charged = await state.book.charged(request_id)
    owner = record.key_id if record else charged.key_id if charged else None
    created = record.created_at if record else charged.created_at if charged else None
    now = state.clock()
    if owner != key.id or created is None or now - created > RETENTION:
        raise RequestNotFound(
            f"No request '{request_id}' by this API key is visible in the last 24 hours.",
            retry_after=NOT_YET_RETRY_S,
            headers=NO_STORE,
        )
    cost = charged.cost_nusd if charged else record.cost_nusd if record else 0
    return json_response(
        {
            "object": "request_billing",
            "request_id": request_id,
            "created_at": _iso(created),
            "expires_at": _iso(created + RETENTION),
            "as_of": _iso(now),
            "cost": format(nano_to_usd(cost), "f"),
            "currency": "USD",
            "cost_scope": "primary_charge",
            "add_ons": {
                name: format(nano_to_usd(amount), "f")
                for name, amount in ((record.add_ons or {}) if record else {}).items()
            },
            "usage": {
                "input_tokens": record.input_tokens if record else None,
                "output_tokens": record.output_tokens if record else None,
                "reasoning_tokens": None,
            },
        },
        headers=NO_STORE,
    )


def _day(value: str, param: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidParameterValue(
            f"'{param}' must be a date, YYYY-MM-DD (got {value!r}).", param=param
        ) from None


def _range(query: dict[str, list[str]], today: date) -> tuple[date, date]:
    first, last = query.get("from", [None])[-1], query.get("to", [None])[-1]
    if (first is None) != (last is None):
        raise InvalidParameterValue(
            "'from' and 'to' must be given together.", param="to" if last is None else "from"
        )
    if first is None or last is None:
        return today - timedelta(days=DEFAULT_DAYS - 1), today
    start, end = _day(first, "from"), _day(last, "to")
    if end < start:
        raise InvalidParameterValue("'to' must be on or after 'from'.", param="to")
    if end > today:
        raise InvalidParameterValue("'to' cannot be in the future.", param="to")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidParameterValue(f"A range covers at most {MAX_DAYS} days.", param="from")
    return start, end


def _totals(rows: Iterable[UsageRow], **labels: str) -> dict[str, Any]:
    rows = list(rows)
    cost = sum(r.cost_nusd for r in rows)
    inputs = sum(r.input_tokens for r in rows)
    outputs = sum(r.output_tokens for r in rows)
    usd = orjson.Fragment(format_usd(cost, 0).encode())
    return {
        **labels,
        "requests": sum(r.requests for r in rows),
        "costUsd": usd,
        "refundedUsd": 0,
        "netCostUsd": usd,
        "inputTokens": inputs,
        "outputTokens": outputs,
        "reasoningTokens": 0,
        "totalTokens": inputs + outputs,
    }


def _grouped(rows: list[UsageRow], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, ...], list[UsageRow]] = defaultdict(list)
    for row in rows:
        groups[tuple(row.day if f == "day" else row.model for f in fields)].append(row)
    labels = {"day": "date", "model": "model"}
    return [
        _totals(group, **{labels[f]: value for f, value in zip(fields, values, strict=True)})
        for values, group in sorted(groups.items())
    ]


async def usage_report(ctx: RequestContext) -> Response:
    """A key's requests, spend and tokens over a UTC date range, by day and model."""
    key = await require_key(ctx)
    now = ctx.state.clock()
    # blank values are kept: `?to=` is a 'to' that is not a date, not a missing 'to'
    query = parse_qs(ctx.scope.get("query_string", b"").decode(), keep_blank_values=True)
    grouping = query.get("group_by", ["day,model"])[-1].replace(" ", "")
    grouping = "day,model" if grouping == "model,day" else grouping
    if grouping not in GROUPINGS:
        raise InvalidParameterValue(
            "group_by must be one of day, model, day,model.", param="group_by"
        )
    start, end = _range(query, now.astimezone(UTC).date())
    rows = await ctx.state.store.usage(key.id, start.isoformat(), end.isoformat())
    report: dict[str, Any] = {
        "object": "usage",
        "scope": "current_key",
        "apiKey": {"id": key.id},
        "from": start.isoformat(),
        "to": end.isoformat(),
        "timezone": "UTC",
        "groupBy": grouping,
        "asOf": _iso(now),
        "totals": _totals(rows),
    }
    fields = GROUPINGS[grouping]
    if "day" in fields:
        report["byDay"] = _grouped(rows, ("day",))
    if "model" in fields:
        report["byModel"] = _grouped(rows, ("model",))
    if fields == ("day", "model"):
        report["byDayModel"] = _grouped(rows, ("day", "model"))
    return json_response(report, headers=NO_STORE)
