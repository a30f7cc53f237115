"""The OpenAPI document, derived from the route table, its steps and the catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from nanogate.config._x402 import DEFAULT_ENDPOINTS
from nanogate.errors import GatewayError, catalogue, error_for_code
from nanogate.server._openapi import AT_THE_EDGE, EDGE, openapi_document
from nanogate.server.routes import all_routes
from nanogate.server.routes._steps import ACCOUNTLESS

DOCUMENT = openapi_document(all_routes())


def operation(method: str, path: str, document: dict[str, Any] = DOCUMENT) -> dict[str, Any]:
    return document["paths"][path][method]


def codes(response: dict[str, Any]) -> set[str]:
    """The error codes an error response's schema allows."""
    schema = response["content"]["application/json"]["schema"]
    options = schema.get("anyOf", [schema])
    found: set[str] = set()
    for option in options:
        if "$ref" in option:  # the x402 challenge, or an answer that is not an error
            if option["$ref"].endswith("/PaymentChallengeBody"):
                found.add("insufficient_quota")
            continue
        narrowing = option["allOf"][1]["properties"]
        error = narrowing.get("error", {}).get("properties", {})
        code = narrowing.get("code") or error.get("code", {})
        found.update(code.get("enum", ()))
    return found


def test_every_declared_error_is_a_catalogue_code() -> None:
    """Every error a step declares answers with a code of the catalogue."""
    for route in all_routes():
        for step in route.steps:
            for cls in step.errors:
                assert error_for_code(cls.code) is not None, (route.path, cls)


def api_routes() -> list[Any]:
    """The routes the document describes: all but the console's web pages."""
    return [route for route in all_routes() if route.documented]


@pytest.mark.parametrize("route", api_routes(), ids=lambda r: f"{r.method} {r.path}")
def test_every_operation_documents_each_status_its_steps_raise(route: Any) -> None:
    """Each error status of an operation lists exactly the codes of its steps (and of the
    HTTP edge), and no catch-all response hides the others."""
    responses = operation(route.method.lower(), route.path.replace(":path}", "}"))["responses"]
    assert "default" not in responses
    expected: dict[int, set[str]] = {}
    for cls in [*EDGE, *AT_THE_EDGE, *(c for s in route.steps for c in s.errors)]:
        expected.setdefault(cls.status, set()).add(cls.code)
    documented = {
        int(status): set(response["description"].split(", "))
        for status, response in responses.items()
        if int(status) >= 400 and not response["description"].startswith("Not an error")
    }
    assert documented == expected
    for status, response in documented.items():
        assert codes(responses[str(status)]) <= response
    assert "200" in responses and responses["200"]["content"]


@pytest.mark.parametrize("path", ["/api/v1/chat/completions", "/api/v1/messages", "/healthz"])
def test_the_edges_answers_are_documented_in_the_openai_envelope(path: str) -> None:
    """Every operation documents the HTTP edge's 431 and malformed-HTTP 400 in the OpenAI
    envelope, the one the edge answers in before any route (and surface) is known."""
    method = "get" if path == "/healthz" else "post"
    responses = operation(method, path)["responses"]
    assert "request_header_fields_too_large" in codes(responses["431"])
    assert "malformed_request" in codes(responses["400"])
    schema = responses["431"]["content"]["application/json"]["schema"]
    options = schema.get("anyOf", [schema])
    assert any("type" not in o["allOf"][1]["properties"] for o in options)  # OpenAI's


def test_conflicting_credentials_is_documented_where_a_key_is_read() -> None:
    """Sending both Authorization and x-api-key with different keys is a documented 400."""
    for path, method in (("/api/v1/chat/completions", "post"), ("/api/talk-to-gpt", "post")):
        assert "conflicting_credentials" in codes(operation(method, path)["responses"]["400"])


def test_public_routes_need_no_security_and_the_others_need_a_key() -> None:
    """Public routes say `security: []`; the admin API takes the admin token; the rest
    inherit bearer or x-api-key."""
    for route in api_routes():
        documented = operation(route.method.lower(), route.path.replace(":path}", "}"))
        if route.tag == "admin":
            assert documented["security"] == [{"adminToken": []}], route.path
        elif route.public:
            assert documented["security"] == [], route.path
        else:
            assert "security" not in documented, route.path
    assert DOCUMENT["security"] == [{"bearer": []}, {"apiKey": []}]
    for path in ("/api/v1/models", "/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"):
        assert operation("get", path)["security"] == []


def test_parameters_the_routes_read_are_declared() -> None:
    """DELETE /api/user/provider-keys requires ?provider=, models take ?detailed=, and
    inference routes declare Idempotency-Key and the moderation headers."""
    delete = operation("delete", "/api/user/provider-keys")["parameters"]
    provider = next(p for p in delete if p["name"] == "provider")
    assert (provider["in"], provider["required"]) == ("query", True)
    for path in ("/api/v1/models", "/api/v1/models/{model_id}"):
        assert [p["name"] for p in operation("get", path)["parameters"] if p["in"] == "query"] == [
            "detailed"
        ]
    chat = {p["name"] for p in operation("post", "/api/v1/chat/completions")["parameters"]}
    assert {"Idempotency-Key", "moderation", "moderation-model", "X-Provider"} <= chat


def test_required_fields_are_what_the_validator_requires() -> None:
    """talk-to-gpt needs a non-empty prompt or messages; a Responses request needs input."""
    schemas = DOCUMENT["components"]["schemas"]
    talk = schemas["TalkToGPTRequest"]
    assert talk["required"] == ["model"]
    assert [option["required"] for option in talk["anyOf"]] == [["prompt"], ["messages"]]
    assert schemas["ResponsesRequest"]["required"] == ["model", "input"]


def test_answers_declare_their_media_types() -> None:
    """JSON answers reference their schema; streams add text/event-stream; talk-to-gpt and
    /metrics answer text/plain."""
    chat = operation("post", "/api/v1/chat/completions")["responses"]["200"]["content"]
    assert chat["application/json"]["schema"] == {"$ref": "#/components/schemas/ChatCompletion"}
    data = chat["text/event-stream"]["schema"]["properties"]["data"]
    assert data["anyOf"][0] == {"const": "[DONE]"}
    assert data["anyOf"][1]["contentSchema"] == {"$ref": "#/components/schemas/ChatCompletionChunk"}
    messages = operation("post", "/api/v1/messages")["responses"]["200"]["content"]
    assert "contentSchema" in messages["text/event-stream"]["schema"]["properties"]["data"]
    assert set(operation("post", "/api/talk-to-gpt")["responses"]["200"]["content"]) == {
        "text/plain"
    }
    assert set(operation("get", "/metrics")["responses"]["200"]["content"]) == {"text/plain"}
    assert "503" in operation("get", "/readyz")["responses"]


def test_error_statuses_carry_their_envelope_and_headers() -> None:
    """402s add requiredBalance and status; 429s require Retry-After; every answer has
    X-Request-ID, and Anthropic-surface answers also request-id."""
    chat = operation("post", "/api/v1/chat/completions")["responses"]
    narrowing = chat["402"]["content"]["application/json"]["schema"]["allOf"][1]
    assert {"requiredBalance", "status", "error"} <= set(narrowing["properties"])
    assert chat["429"]["headers"]["Retry-After"]["required"] is True
    assert chat["400"]["headers"]["Retry-After"]["required"] is False
    assert all(r["headers"]["X-Request-ID"]["required"] for r in chat.values())
    messages = operation("post", "/api/v1/messages")["responses"]
    assert all("request-id" in r["headers"] for r in messages.values())
    legacy = operation("post", "/api/talk-to-gpt")["responses"]["400"]
    own, edge = legacy["content"]["application/json"]["schema"]["anyOf"]
    assert own["allOf"][0] == {"$ref": "#/components/schemas/LegacyError"}
    assert edge["allOf"][0] == {"$ref": "#/components/schemas/OpenAIError"}


def test_x402_quoting_endpoints_take_no_credentials_and_document_the_challenge() -> None:
    """With x402 on, a quoting endpoint accepts a request without credentials and may answer
    the seed's 402 challenge; complete answers as the stored requests would."""
    document = openapi_document(all_routes(), DEFAULT_ENDPOINTS)
    chat = operation("post", "/api/v1/chat/completions", document)
    assert chat["security"] == [{"bearer": []}, {"apiKey": []}, {}]
    assert "insufficient_quota" in codes(chat["responses"]["402"])
    assert {"X-PAYMENT"} <= {p["name"] for p in chat["parameters"]}
    complete = operation("post", "/api/x402/complete/{payment_id}", document)["responses"]
    assert {"application/json", "text/event-stream", "text/plain"} <= set(
        complete["200"]["content"]
    )
    assert "payment_not_found" in codes(complete["404"])
    assert "model_not_found" in codes(complete["404"])
    challenge: type[GatewayError] = next(c for c in ACCOUNTLESS.errors if c.one_envelope)
    assert challenge in catalogue()
