"""Schemathesis hooks of the conformance run (loaded through ``SCHEMATHESIS_HOOKS``).

``validator_accepts_valid_bodies``: every request body the document calls valid
passes the validator of the route it was generated for, so the request schemas are
never looser than what the gateway enforces. (Schemathesis's own
``positive_data_acceptance`` asks for more: that such a request is not answered 400
at all, which the gateway's checks against the model catalogue and the configuration
do by design.)
"""

from __future__ import annotations

from typing import Any

import schemathesis

from nanogate.errors import GatewayError
from nanogate.server._context import surface_for
from nanogate.server._validation import validate
from nanogate.server.routes import all_routes

_MODELS = {
    (route.method, route.path.replace(":path}", "}")): route.request_model for route in all_routes()
}


@schemathesis.check
def validator_accepts_valid_bodies(ctx: Any, response: Any, case: Any) -> bool | None:
    model = _MODELS.get((case.method.upper(), case.path))
    meta = case.meta
    if model is None or meta is None or meta.generation.mode.is_negative:
        return None
    if not isinstance(case.body, dict):
        return None
    try:
        validate(model, case.body, surface_for(case.path))
    except GatewayError as err:
        raise AssertionError(
            f"The document calls this body valid, but the validator refuses it: {err.message}"
        ) from None
    return True
