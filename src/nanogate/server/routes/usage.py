"""``GET /api/v1/usage/requests/{request_id}``: the billing of one recent request.

Only the key that made the request can read it, for 24 hours; any other key
gets the same 404 as an unknown id, so request ids reveal nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.responses import Response

from nanogate.core import nano_to_usd
from nanogate.errors import RequestNotFound
from nanogate.server._context import RequestContext
from nanogate.server._responses import json_response
from nanogate.server.routes._inference import require_key
from nanogate.storage import RequestRecord

RETENTION = timedelta(hours=24)


NOT_YET_RETRY_S = 30
"""NanoGPT answers an unknown id with ``Retry-After: 30``: the record may not be written yet."""
NO_STORE = {"cache-control": "private, no-store, max-age=0", "vary": "Authorization, x-api-key"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def billing_view(record: RequestRecord, now: datetime) -> dict[str, object]:
    """NanoGPT's Request Billing object."""
    return {
        "object": "request_billing",
        "request_id": record.request_id,
        "created_at": _iso(record.created_at),
        "expires_at": _iso(record.created_at + RETENTION),
        "as_of": _iso(now),
        "cost": format(nano_to_usd(record.cost_nusd), "f"),
        "currency": "USD",
        "cost_scope": "primary_charge",
        "usage": {
            "input_tokens": record.input_tokens,
            "output_tokens": record.output_tokens,
            "reasoning_tokens": None,
        },
    }


async def request_billing(ctx: RequestContext) -> Response:
    key = require_key(ctx)
    request_id = ctx.params["request_id"]
    record = ctx.state.request_log.pending(request_id) or await ctx.state.store.get_request(
        request_id
    )
    now = ctx.state.clock()
    if record is None or record.key_id != key.id or now - record.created_at > RETENTION:
        raise RequestNotFound(
            f"No request '{request_id}' by this API key is visible in the last 24 hours.",
            retry_after=NOT_YET_RETRY_S,
            headers=NO_STORE,
        )
    return json_response(billing_view(record, now), headers=NO_STORE)
