"""The OpenAPI 3.1 document, derived from the route table, its schemas and the catalogue.

Each operation documents its successful answer (JSON, plain text or a stream of
server-sent events), and one response per error status its steps can answer with
(:attr:`Route.steps`, plus the errors of the HTTP edge that any request can meet),
each in the route's envelope with the exact ``code`` values of that status. Public
routes need no security; the others take the key as ``Authorization: Bearer`` or
``x-api-key``. Endpoints that quote requests without credentials (x402) say so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from nanogate._version import __version__
from nanogate.core import Surface
from nanogate.errors import (
    BothBalanceRequired,
    ContentPolicyViolation,
    GatewayError,
    InsufficientBalance,
    MalformedRequest,
    MemoryBalanceRequired,
    RequestHeaderFieldsTooLarge,
    RequestTimeout,
    ServerError,
    ServiceUnavailable,
    WebSearchBalanceRequired,
    catalogue,
)
from nanogate.server._context import surface_for
from nanogate.server._contract import Parameter
from nanogate.server._router import Route
from nanogate.server.routes._steps import ACCOUNTLESS
from nanogate.server.schemas.answers import PaymentChallengeBody

EDGE: tuple[type[GatewayError], ...] = (ServerError,)
"""Errors any request can meet, whatever its route: an unexpected exception."""
AT_THE_EDGE: tuple[type[GatewayError], ...] = (
    MalformedRequest,
    RequestTimeout,
    RequestHeaderFieldsTooLarge,
    ServiceUnavailable,
)
"""Answers of the HTTP edge (:mod:`nanogate.edge`) before any route runs: malformed HTTP,
a late or oversized head, a connection over the cap. They are in the OpenAI envelope
whatever the route, since the route is not known yet."""

_REQUIRED_BALANCE = {
    "requiredBalance": {
        "type": "number",
        "description": "The balance, in dollars, the request needs (its reserved maximum).",
    }
}
FIELDS: dict[type[GatewayError], dict[str, Any]] = {
    InsufficientBalance: _REQUIRED_BALANCE,
    MemoryBalanceRequired: _REQUIRED_BALANCE,
    WebSearchBalanceRequired: _REQUIRED_BALANCE,
    BothBalanceRequired: _REQUIRED_BALANCE,
    ContentPolicyViolation: {
        "moderation": {"type": "object", "description": "The moderation model's verdict."}
    },
}
"""The convenience fields an error's body carries beside the error itself."""

_REF = "#/components/schemas/{model}"
_ENVELOPES: dict[Surface, str] = {
    "openai": "OpenAIError",
    "anthropic": "AnthropicError",
    "legacy": "LegacyError",
}
_REQUEST_ID = {
    "description": "The request's id (quote it to support; it keys the billing lookup).",
    "required": True,
    "schema": {"type": "string", "pattern": "^req_[0-9a-f]+$"},
}


def _envelopes() -> dict[str, dict[str, Any]]:
    codes = sorted({cls.code for cls in catalogue()})
    return {
        "OpenAIError": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["message", "type", "code"],
                    "properties": {
                        "message": {"type": "string"},
                        "type": {"type": "string"},
                        "code": {"type": "string", "enum": codes},
                        "param": {"type": ["string", "null"]},
                    },
                }
            },
        },
        "AnthropicError": {
            "type": "object",
            "required": ["type", "error"],
            "properties": {
                "type": {"const": "error"},
                "error": {
                    "type": "object",
                    "required": ["type", "message", "code"],
                    "properties": {
                        "type": {"type": "string"},
                        "message": {"type": "string"},
                        "param": {"type": "string"},
                        "code": {"type": "string", "enum": codes},
                    },
                },
            },
        },
        "LegacyError": {
            "type": "object",
            "required": ["error", "status"],
            "properties": {
                "error": {"type": "string"},
                "status": {"type": "integer"},
                "code": {"type": "string", "enum": codes},
            },
        },
    }


class _Components:
    """The document's named schemas, added as operations use them."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = _envelopes()

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(by_alias=True, ref_template=_REF)
        for name, definition in {**schema.pop("$defs", {}), model.__name__: schema}.items():
            known = self.schemas.setdefault(name, definition)
            if known != definition:
                raise ValueError(f"two schemas are named {name}")
        return {"$ref": _REF.format(model=model.__name__)}


def _fields(classes: Iterable[type[GatewayError]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for cls in classes:
        fields.update(FIELDS.get(cls, {}))
    return fields


def _narrowed(surface: Surface, status: int, classes: Sequence[type[GatewayError]]) -> Any:
    """``surface``'s envelope, narrowed to ``classes`` (all of HTTP ``status``)."""
    codes = sorted({cls.code for cls in classes})
    properties: dict[str, Any] = _fields(classes)
    required: list[str] = []
    if surface == "openai":
        error: dict[str, Any] = {
            "properties": {
                "type": {"enum": sorted({cls.openai_type for cls in classes})},
                "code": {"enum": codes},
            },
            "required": ["param"] if all(cls.openai_param_key for cls in classes) else [],
        }
        if any(cls.body_status == "error" for cls in classes):
            error["properties"]["status"] = {"const": status}
            if all(cls.body_status == "error" for cls in classes):
                error["required"].append("status")
        properties["error"] = error
        if any(cls.body_status == "top" for cls in classes):
            properties["status"] = {"const": status}
            if all(cls.body_status == "top" for cls in classes):
                required.append("status")
    elif surface == "anthropic":
        properties["error"] = {
            "properties": {
                "type": {"enum": sorted({cls.anthropic_type for cls in classes})},
                "code": {"enum": codes},
            }
        }
    else:
        properties["status"] = {"const": status}
        if legacy := sorted({cls.code for cls in classes if cls.legacy_code}):
            properties["code"] = {"enum": legacy}
        if all(cls.legacy_code for cls in classes):
            required.append("code")
    narrowing: dict[str, Any] = {"properties": properties}
    if required:
        narrowing["required"] = required
    return {"allOf": [{"$ref": _REF.format(model=_ENVELOPES[surface])}, narrowing]}


def _error_schema(
    surface: Surface, status: int, classes: Sequence[type[GatewayError]], components: _Components
) -> Any:
    schemas = []
    if challenge := [cls for cls in classes if cls.one_envelope]:
        assert status == 402 and len(challenge) == 1, "only the x402 challenge has one envelope"
        schemas.append(components.ref(PaymentChallengeBody))
    if enveloped := [cls for cls in classes if not cls.one_envelope]:
        schemas.append(_narrowed(surface, status, enveloped))
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}


def _error_headers(surface: Surface, classes: Sequence[type[GatewayError]]) -> dict[str, Any]:
    headers = _headers(surface)
    headers["x-should-retry"] = {
        "description": "Whether a client may retry this request as it is.",
        "required": True,
        "schema": {"enum": sorted({str(cls.retryable).lower() for cls in classes})},
    }
    headers["Retry-After"] = {
        "description": "Seconds to wait before retrying.",
        "required": all(cls.default_retry_after is not None for cls in classes),
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
    return headers


def _headers(surface: Surface) -> dict[str, Any]:
    headers = {"X-Request-ID": dict(_REQUEST_ID)}
    if surface == "anthropic":
        headers["request-id"] = dict(_REQUEST_ID)
    return headers


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def _event_stream(
    model: type[BaseModel], end: str | None, components: _Components
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": components.ref(model),
    }
    if end is not None:
        data = {"anyOf": [{"const": end}, data]}
    return {
        "schema": {
            "description": "One server-sent event; its data is a JSON object"
            + (f", or {end} last." if end else "."),
            "type": "object",
            "required": ["data"],
            "properties": {"event": {"type": "string"}, "data": data},
        }
    }


def _answer_content(route: Route, components: _Components) -> dict[str, Any]:
    answer = route.answer
    content: dict[str, Any] = {}
    if answer.model is not None:
        content[answer.media] = {"schema": components.ref(answer.model)}
    else:
        content[answer.media] = {"schema": {"type": "string"}}
    if answer.stream is not None:
        content["text/event-stream"] = _event_stream(answer.stream, answer.stream_end, components)
    return content


def _merge_content(contents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Media type → the schema of any of ``contents``."""
    schemas: dict[str, list[Any]] = defaultdict(list)
    for content in contents:
        for media, entry in content.items():
            if entry["schema"] not in schemas[media]:
                schemas[media].append(entry["schema"])
    return {
        media: {"schema": options[0] if len(options) == 1 else {"anyOf": options}}
        for media, options in schemas.items()
    }


class _Builder:
    def __init__(self, routes: Sequence[Route], quoting: Collection[str]) -> None:
        self.routes = routes
        self.quoting = frozenset(quoting)
        self.components = _Components()

    def quoted(self, route: Route) -> bool:
        return f"{route.method} {route.path}" in self.quoting

    def errors(self, route: Route) -> list[type[GatewayError]]:
        steps = (*route.steps, *((ACCOUNTLESS,) if self.quoted(route) else ()))
        return _unique([*EDGE, *(cls for s in steps for cls in s.errors)])

    def stored(self, route: Route) -> list[Route]:
        """The routes whose stored requests ``route`` runs (an x402 complete)."""
        return [r for r in self.routes if self.quoted(r)] if route.replays else []

    def responses(self, route: Route) -> dict[str, Any]:
        surface = surface_for(route.path)
        stored = self.stored(route)
        content = _merge_content([_answer_content(r, self.components) for r in (stored or [route])])
        responses: dict[str, Any] = {
            "200": {"description": "Success.", "headers": _headers(surface), "content": content}
        }
        for status, model in route.answer.others.items():
            responses[str(status)] = {
                "description": "Not an error: the answer in this state.",
                "headers": _headers(surface),
                "content": {"application/json": {"schema": self.components.ref(model)}},
            }
        by_status: dict[int, dict[Surface, list[type[GatewayError]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for owner in (route, *stored):
            owner_surface = surface_for(owner.path)
            for cls in self.errors(owner):
                if cls not in by_status[cls.status][owner_surface]:
                    by_status[cls.status][owner_surface].append(cls)
        for cls in AT_THE_EDGE:
            if cls not in by_status[cls.status]["openai"]:
                by_status[cls.status]["openai"].append(cls)
        for status in sorted(by_status):
            envelopes = by_status[status]
            schemas = [
                _error_schema(s, status, classes, self.components)
                for s, classes in envelopes.items()
            ]
            every = [cls for classes in envelopes.values() for cls in classes]
            answer = responses.get(str(status))
            if answer is not None:  # an answer in this state too (/readyz's 503)
                schemas.insert(0, answer["content"]["application/json"]["schema"])
            responses[str(status)] = {
                "description": ", ".join(_unique(cls.code for cls in every)),
                "headers": _error_headers(surface, every),
                "content": {
                    "application/json": {
                        "schema": schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
                    }
                },
            }
        return responses

    def parameters(self, route: Route) -> list[dict[str, Any]]:
        path = [
            {
                "name": segment[1:-1].partition(":")[0],
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1},
            }
            for segment in route.path.split("/")
            if segment.startswith("{")
        ]
        steps = (*route.steps, *((ACCOUNTLESS,) if self.quoted(route) else ()))
        declared: dict[tuple[str, str], Parameter] = {}
        for s in steps:
            for parameter in s.parameters:
                declared.setdefault((parameter.location, parameter.name.lower()), parameter)
        return path + [parameter.as_openapi() for parameter in declared.values()]

    def operation(self, route: Route) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": route.endpoint.__name__,
        }
        if parameters := self.parameters(route):
            operation["parameters"] = parameters
        if route.request_model is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": self.components.ref(route.request_model)}
                },
            }
        operation["responses"] = self.responses(route)
        if route.tag == "admin":
            operation["security"] = [{"adminToken": []}]
        elif route.public:
            operation["security"] = []
        elif self.quoted(route):
            operation["security"] = [{"bearer": []}, {"apiKey": []}, {}]
        return operation


def openapi_document(routes: Sequence[Route], quoting: Collection[str] = ()) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``; ``quoting`` holds the ``"METHOD /path"``
    of the endpoints that quote requests without credentials (x402)."""
    builder = _Builder(routes, quoting)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not route.documented:
            continue
        path = route.path.replace(":path}", "}")
        paths.setdefault(path, {})[route.method.lower()] = builder.operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nanogate",
            "version": __version__,
            "description": "NanoGPT-compatible LLM API gateway.",
        },
        "paths": paths,
        "components": {
            "schemas": builder.components.schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Your API key. With x-api-key too, both must be the same "
                    "key (else 400 conflicting_credentials).",
                },
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The admin token, from the variable `[admin] token_env` "
                    "names (at least 32 characters). Served only when it is set.",
                },
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "Your API key. With Authorization too, both must be the "
                    "same key (else 400 conflicting_credentials).",
                },
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }
