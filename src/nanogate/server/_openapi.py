"""The OpenAPI 3.1 document, derived from the route table and the request schemas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nanogate._version import __version__
from nanogate.errors import catalogue
from nanogate.server._router import Route

_ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
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
                    "code": {"type": "string", "enum": sorted({c.code for c in catalogue()})},
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
                "required": ["type", "message"],
                "properties": {
                    "type": {"type": "string"},
                    "message": {"type": "string"},
                    "param": {"type": "string"},
                    "code": {"type": "string"},
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
            "code": {"type": "string"},
        },
    },
}

_ERROR_FOR_TAG = {"openai": "OpenAIError", "anthropic": "AnthropicError", "legacy": "LegacyError"}


def _operation(route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": route.endpoint.__name__,
        "responses": {"200": {"description": "Success."}},
    }
    parameters = [
        {
            "name": segment[1:-1].partition(":")[0],
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
        }
        for segment in route.path.split("/")
        if segment.startswith("{")
    ]
    if parameters:
        operation["parameters"] = parameters
    if route.request_model is not None:
        schema = route.request_model.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        schemas.update(schema.pop("$defs", {}))
        schemas[route.request_model.__name__] = schema
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{route.request_model.__name__}"}
                }
            },
        }
    error = _ERROR_FOR_TAG.get(route.tag)
    if error is not None:
        operation["responses"]["default"] = {
            "description": "An error, in this surface's envelope.",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{error}"}}},
        }
    return operation


def openapi_document(routes: Sequence[Route]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``."""
    schemas: dict[str, Any] = dict(_ERROR_SCHEMAS)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = route.path.replace(":path}", "}")
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nanogate",
            "version": __version__,
            "description": "NanoGPT-compatible LLM API gateway.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }
