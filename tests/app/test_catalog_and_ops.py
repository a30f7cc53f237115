"""Models, the legacy endpoints, the ops endpoints and the OpenAPI document, in process."""

from __future__ import annotations

from decimal import Decimal

import orjson
from tests.conftest import InProcess

from nanogate.errors import catalogue


async def test_models_list_is_public_and_a_valid_key_filters_it(gateway: InProcess) -> None:
    """Without a key, or with a bad one, every model is listed; a key with an allowlist
    sees only its models."""
    anonymous = (await gateway.client.get("/api/v1/models")).json()
    assert anonymous["object"] == "list"
    ids = [m["id"] for m in anonymous["data"]]
    assert ids == [
        "local/chat",
        "local/mini",
        "local/embed",
        "local/embed-mini",
        "local/moderation",
    ]
    assert set(anonymous["data"][0]) == {"id", "object", "created", "owned_by"}
    bad = await gateway.client.get("/api/v1/models", headers={"authorization": "Bearer nope"})
    assert [m["id"] for m in bad.json()["data"]] == ids


async def test_models_detailed_has_pricing_and_capabilities(gateway: InProcess) -> None:
    """?detailed=true adds NanoGPT's fields: context length, capabilities and exact prices."""
    response = await gateway.client.get("/api/v1/models?detailed=true")
    chat = response.json()["data"][0]
    assert chat["context_length"] == 32768 and chat["max_output_tokens"] == 4096
    assert chat["capabilities"]["tool_calling"] is True
    assert chat["capabilities"]["vision"] is True
    assert chat["capabilities"]["pdf_upload"] is False
    assert chat["pricing"] == {
        "prompt": 0.10,
        "completion": 0.40,
        "currency": "USD",
        "unit": "per_million_tokens",
    }
    raw = orjson.loads(response.content)["data"][0]["pricing"]
    assert Decimal(str(raw["prompt"])) == Decimal("0.10")
    embed = response.json()["data"][2]
    assert embed["type"] == "embedding" and embed["dimensions"] == 256


async def test_retrieve_a_model_with_a_slash_in_its_id(gateway: InProcess) -> None:
    """GET /api/v1/models/local/chat returns the model; an unknown id is model_not_found."""
    found = await gateway.client.get("/api/v1/models/local/chat")
    assert found.json()["id"] == "local/chat"
    missing = await gateway.client.get("/api/v1/models/acme/none")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


async def test_legacy_talk_to_gpt_answers_text_with_a_usage_trailer(gateway: InProcess) -> None:
    """talk-to-gpt answers plain text, then <NanoGPT>{cost, inputTokens, outputTokens}</NanoGPT>
    with the cost exact from the model's prices."""
    response = await gateway.client.post(
        "/api/talk-to-gpt",
        json={"model": "local/chat", "prompt": "Hi there"},
        headers={"x-api-key": gateway.key},
    )
    assert response.headers["content-type"].startswith("text/plain")
    text, _, trailer = response.text.partition("<NanoGPT>")
    assert text == "You said: Hi there"
    usage = orjson.loads(trailer.removesuffix("</NanoGPT>"))
    assert set(usage) == {"cost", "inputTokens", "outputTokens"}
    expected = (
        Decimal(usage["inputTokens"]) * Decimal("0.10")
        + Decimal(usage["outputTokens"]) * Decimal("0.40")
    ) / 1_000_000
    assert Decimal(trailer.split('"cost":')[1].split(",")[0]) == expected


async def test_legacy_check_balance_and_models(gateway: InProcess) -> None:
    """check-balance returns the balance and the part held by requests in flight as
    strings; /api/models lists ids."""
    balance = await gateway.client.post("/api/check-balance", headers={"x-api-key": gateway.key})
    assert balance.json() == {"usd_balance": "5.00", "usd_reserved": "0.00", "nano_balance": "0"}
    models = await gateway.client.get("/api/models")
    assert models.json() == {
        "models": [
            "local/chat",
            "local/mini",
            "local/embed",
            "local/embed-mini",
            "local/moderation",
        ]
    }
    unauthenticated = await gateway.client.post("/api/check-balance")
    assert unauthenticated.json() == {
        "error": unauthenticated.json()["error"],
        "status": 401,
        "code": "missing_api_key",
    }


async def test_health_readiness_and_metrics(gateway: InProcess) -> None:
    """/healthz is up, /readyz is ready, /metrics counts requests by route and code."""
    assert (await gateway.client.get("/healthz")).json() == {"status": "ok"}
    assert (await gateway.client.get("/readyz")).json() == {"status": "ready"}
    await gateway.client.get("/api/v1/models/acme/none")
    metrics = (await gateway.client.get("/metrics")).text
    route = "/api/v1/models/{model_id:path}"
    sample = f'code="model_not_found",method="GET",route="{route}",status="404"'
    assert f"nanogate_requests_total{{{sample}}} 1.0" in metrics
    assert "nanogate_request_duration_seconds_bucket" in metrics


async def test_readiness_fails_when_draining(gateway: InProcess) -> None:
    """A draining gateway reports 503 on /readyz so load balancers stop sending to it."""
    gateway.app.state.draining = True
    response = await gateway.client.get("/readyz")
    assert response.status_code == 503 and response.json()["reason"] == "draining"
    gateway.app.state.draining = False


async def test_openapi_document_lists_every_route_and_error_code(gateway: InProcess) -> None:
    """/api/v1/openapi.json is OpenAPI 3.1 with every route, request schemas and every code."""
    document = (await gateway.client.get("/api/v1/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    for route in gateway.app.router.routes:
        if not route.documented:
            assert not any(p.startswith("/console") for p in document["paths"])
            continue  # web pages, not API
        path = route.path.replace(":path}", "}")
        assert route.method.lower() in document["paths"][path], route.path
    chat = document["paths"]["/api/v1/chat/completions"]["post"]
    assert chat["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ChatCompletionRequest"
    )
    codes = document["components"]["schemas"]["OpenAIError"]["properties"]["error"]["properties"][
        "code"
    ]["enum"]
    assert set(codes) == {cls.code for cls in catalogue()}


async def test_every_response_carries_a_fresh_request_id(gateway: InProcess) -> None:
    """X-Request-ID is on successes and errors alike, unique per request; the Anthropic
    surface also sends request-id."""
    ids = set()
    for path in ("/healthz", "/api/v1/models", "/nowhere", "/api/models"):
        response = await gateway.client.get(path)
        ids.add(response.headers["x-request-id"])
        assert "request-id" not in response.headers
    messages = await gateway.client.post("/api/v1/messages", json={})
    assert messages.headers["request-id"] == messages.headers["x-request-id"]
    ids.add(messages.headers["x-request-id"])
    assert len(ids) == 5
