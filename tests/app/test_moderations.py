"""Moderation in process: ``POST /api/v1/moderations`` with the built-in rule moderator,
and inline moderation on every generation surface, each code by its real trigger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import InProcess
from tests.helpers import assert_envelope, make_settings

from nanogate.config import ModelSettings, Settings
from nanogate.core import SSEDecoder

MODERATIONS = "/api/v1/moderations"
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
AUDIO = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
THREAT = "I will kill you"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The embedded default plus a moderation model that takes one input per request."""
    data = make_settings(tmp_path).model_dump()
    single = ModelSettings(
        id="local/moderation-single", provider="local", type="moderation", context_window=16
    )
    data["models"] = [*data["models"], single.model_dump()]
    return Settings.model_validate(data)


def chat(content: Any) -> dict[str, Any]:
    return {"model": "local/chat", "messages": [{"role": "user", "content": content}]}


def message(content: Any) -> dict[str, Any]:
    if isinstance(content, list):
        content = [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
            }
            if p["type"] == "image_url"
            else p
            for p in content
        ]
    return {
        "model": "local/chat",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": content}],
    }


def response(content: Any) -> dict[str, Any]:
    if isinstance(content, list):
        parts = [
            {"type": "input_image", "image_url": p["image_url"]["url"]}
            if p["type"] == "image_url"
            else {"type": "input_text", "text": p["text"]}
            for p in content
        ]
        return {"model": "local/chat", "input": [{"role": "user", "content": parts}]}
    return {"model": "local/chat", "input": content}


def legacy(content: Any) -> dict[str, Any]:
    if isinstance(content, list):
        return chat(content)
    return {"model": "local/chat", "prompt": content}


SURFACES = {
    "chat": ("/api/v1/chat/completions", "openai", chat),
    "responses": ("/api/v1/responses", "openai", response),
    "messages": ("/api/v1/messages", "anthropic", message),
    "legacy": ("/api/talk-to-gpt", "legacy", legacy),
}


async def inline(
    gateway: InProcess,
    surface: str,
    content: Any,
    auth: bool = True,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    path, _, body = SURFACES[surface]
    sent = {**(gateway.auth() if auth else {}), "moderation": "true", **(headers or {})}
    return await gateway.client.post(path, json=body(content), headers=sent)


# POST /api/v1/moderations -----------------------------------------------------------------


async def test_moderations_answers_openai_shape(gateway: InProcess) -> None:
    """A string input gets OpenAI's shape: id, model, one result with flagged, categories
    and scores; plus usage and the price charged."""
    answer = await gateway.client.post(MODERATIONS, json={"input": THREAT}, headers=gateway.auth())
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"].startswith("modr_") and body["model"] == "local/moderation"
    (result,) = body["results"]
    assert result["flagged"] is True
    assert result["categories"]["violence"] is True and result["categories"]["harassment"] is False
    assert result["category_scores"]["violence"] == 0.9
    assert body["usage"] == {"prompt_tokens": 4, "completion_tokens": 0, "total_tokens": 4}
    assert body["x_nanogpt_pricing"]["inputTokens"] == 4


async def test_moderations_batch_and_parts(gateway: InProcess) -> None:
    """A list of strings gets one result each, in order; a list of text parts is one input."""
    batch = await gateway.client.post(
        MODERATIONS,
        json={"model": "local/moderation", "input": ["hello", THREAT, "nice day"]},
        headers=gateway.auth(),
    )
    assert [r["flagged"] for r in batch.json()["results"]] == [False, True, False]
    parts = await gateway.client.post(
        MODERATIONS,
        json={"input": [{"type": "text", "text": "hello"}, {"type": "text", "text": THREAT}]},
        headers=gateway.auth(),
    )
    assert [r["flagged"] for r in parts.json()["results"]] == [True]


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"input": ""}, "empty_moderation_input", "input"),
        ({"input": ["hello", "  "]}, "empty_moderation_input", "input"),
        ({"input": []}, "empty_moderation_input", "input"),
        ({"input": [IMAGE]}, "unsupported_moderation_input", "input"),
        (
            {"input": [{"type": "text", "text": "hi"}, AUDIO]},
            "unsupported_moderation_input",
            "input",
        ),
        (
            {"model": "local/moderation-single", "input": ["a", "b"]},
            "unsupported_batch_input",
            "input",
        ),
        (
            {"model": "local/moderation-single", "input": "word " * 40},
            "context_length_exceeded",
            "input",
        ),
        ({"model": "acme/nope", "input": "hi"}, "model_not_found", "model"),
        ({"model": "local/chat", "input": "hi"}, "invalid_parameter_value", "model"),
        ({"input": 42}, "invalid_parameter_value", "input"),
        ({"input": [{"type": "text"}]}, "invalid_parameter_value", "input"),
        ({"model": "local/moderation"}, "missing_required_parameter", "input"),
    ],
    ids=[
        "empty-string",
        "blank-item",
        "empty-list",
        "image-to-rules",
        "audio",
        "batch-to-single",
        "too-long",
        "unknown-model",
        "chat-model",
        "number",
        "text-part-without-text",
        "no-input",
    ],
)
async def test_moderations_refusals(
    gateway: InProcess, body: dict[str, Any], code: str, param: str
) -> None:
    """Each refusal of the endpoint, by its real trigger, with the field at fault."""
    answer = await gateway.client.post(MODERATIONS, json=body, headers=gateway.auth())
    error = assert_envelope(answer, "openai", code)["error"]
    assert error["param"] == param


async def test_moderations_need_a_key(gateway: InProcess) -> None:
    """The endpoint is paid: without a key it is 401 missing_api_key."""
    answer = await gateway.client.post(MODERATIONS, json={"input": "hi"})
    assert_envelope(answer, "openai", "missing_api_key")


# Inline moderation -----------------------------------------------------------------------


@pytest.mark.parametrize("surface", sorted(SURFACES))
async def test_flagged_prompt_is_a_content_policy_violation(
    gateway: InProcess, surface: str
) -> None:
    """A flagged prompt is 400 content_policy_violation in the surface's envelope, with the
    verdict as a ``moderation`` object and the inline-moderation headers."""
    answer = await inline(gateway, surface, THREAT)
    body = assert_envelope(answer, SURFACES[surface][1], "content_policy_violation")
    moderation = body["moderation"]
    assert moderation["model"] == "local/moderation" and moderation["flagged"] is True
    assert moderation["categories"]["violence"] is True
    assert moderation["category_scores"]["violence"] == 0.9
    assert answer.headers["x-nanogpt-inline-moderation-model"] == "local/moderation"
    assert answer.headers["x-nanogpt-inline-moderation-flagged"] == "true"
    assert answer.headers["x-nanogpt-inline-moderation-cost-usd"] == "0.00000004"


@pytest.mark.parametrize("surface", sorted(SURFACES))
async def test_clean_prompt_runs_and_reports_the_check(gateway: InProcess, surface: str) -> None:
    """A clean prompt is answered as usual, with headers saying it passed and what the
    check cost."""
    answer = await inline(gateway, surface, "Hello there")
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-nanogpt-inline-moderation-flagged"] == "false"
    assert answer.headers["x-nanogpt-inline-moderation-cost-usd"] == "0.00000002"


@pytest.mark.parametrize("surface", sorted(SURFACES))
async def test_conflicting_moderation_headers(gateway: InProcess, surface: str) -> None:
    """``moderation: <a>`` and ``moderation-model: <b>`` is 400 conflicting_moderation_model."""
    answer = await inline(
        gateway,
        surface,
        "hi",
        headers={"moderation": "local/moderation", "moderation-model": "local/moderation-single"},
    )
    body = assert_envelope(answer, SURFACES[surface][1], "conflicting_moderation_model")
    if surface != "legacy":
        assert body["error"]["param"] == "moderation"


@pytest.mark.parametrize("surface", sorted(SURFACES))
async def test_inline_moderation_without_credentials(gateway: InProcess, surface: str) -> None:
    """Asked on a request without any credentials, inline moderation is 400
    inline_moderation_requires_api_key (param ``moderation``), not the 401."""
    answer = await inline(gateway, surface, "hi", auth=False)
    body = assert_envelope(answer, SURFACES[surface][1], "inline_moderation_requires_api_key")
    if surface != "legacy":
        assert body["error"]["param"] == "moderation"


async def test_a_bad_key_with_moderation_is_still_401(gateway: InProcess) -> None:
    """Only a request with no credentials gets the moderation 400; a wrong key is 401,
    and ``moderation: false`` without a key is the plain 401."""
    wrong = await gateway.client.post(
        "/api/v1/chat/completions",
        json=chat("hi"),
        headers={"authorization": "Bearer nope", "moderation": "true"},
    )
    assert_envelope(wrong, "openai", "invalid_api_key")
    off = await gateway.client.post(
        "/api/v1/chat/completions", json=chat("hi"), headers={"moderation": "false"}
    )
    assert_envelope(off, "openai", "missing_api_key")


async def test_moderation_header_elsewhere_is_ignored(gateway: InProcess) -> None:
    """Routes without inline moderation ignore the header: embeddings without a key is
    still the 401, and with a key it runs unmoderated."""
    unauth = await gateway.client.post(
        "/api/v1/embeddings",
        json={"model": "local/embed", "input": "x"},
        headers={"moderation": "true"},
    )
    assert_envelope(unauth, "openai", "missing_api_key")
    done = await gateway.client.post(
        "/api/v1/embeddings",
        json={"model": "local/embed", "input": THREAT},
        headers={**gateway.auth(), "moderation": "true"},
    )
    assert done.status_code == 200
    assert "x-nanogpt-inline-moderation-model" not in done.headers


@pytest.mark.parametrize("surface", sorted(SURFACES))
async def test_nothing_to_moderate_inline(gateway: InProcess, surface: str) -> None:
    """A prompt of only blank text is 400 empty_moderation_input."""
    answer = await inline(gateway, surface, [{"type": "text", "text": "  "}])
    assert_envelope(answer, SURFACES[surface][1], "empty_moderation_input")
    assert "x-nanogpt-inline-moderation-model" not in answer.headers


@pytest.mark.parametrize("surface", sorted(SURFACES))
async def test_image_prompt_with_the_rule_moderator(gateway: InProcess, surface: str) -> None:
    """An image in the prompt is 400 unsupported_moderation_input for the rule moderator,
    which reads text only (the vision chat model would have taken it)."""
    answer = await inline(gateway, surface, [{"type": "text", "text": "what is this?"}, IMAGE])
    body = assert_envelope(answer, SURFACES[surface][1], "unsupported_moderation_input")
    message = body["error"] if surface == "legacy" else body["error"]["message"]
    assert "image" in message


async def test_unknown_moderation_model_is_model_not_found(gateway: InProcess) -> None:
    """An unknown moderation model named in the header is 404 model_not_found, param
    ``moderation``; a chat model named there is invalid_parameter_value."""
    unknown = await inline(gateway, "chat", "hi", headers={"moderation": "acme/nope"})
    assert assert_envelope(unknown, "openai", "model_not_found")["error"]["param"] == "moderation"
    wrong = await inline(gateway, "chat", "hi", headers={"moderation": "local/mini"})
    assert assert_envelope(wrong, "openai", "invalid_parameter_value")["error"]["param"] == (
        "moderation"
    )


async def test_moderation_model_header_picks_the_model(gateway: InProcess) -> None:
    """``moderation: true`` with ``moderation-model`` uses that model; ``moderation-model``
    alone runs no moderation at all."""
    picked = await inline(
        gateway, "chat", "hi", headers={"moderation-model": "local/moderation-single"}
    )
    assert picked.headers["x-nanogpt-inline-moderation-model"] == "local/moderation-single"
    alone = await gateway.client.post(
        "/api/v1/chat/completions",
        json=chat(THREAT),
        headers={**gateway.auth(), "moderation-model": "local/moderation"},
    )
    assert alone.status_code == 200
    assert "x-nanogpt-inline-moderation-model" not in alone.headers


async def test_streams_are_moderated_before_they_start(gateway: InProcess) -> None:
    """A flagged streaming request is an ordinary JSON 400; a clean one streams, with the
    inline-moderation headers on the stream's response."""
    body = {**chat(THREAT), "stream": True}
    headers = {**gateway.auth(), "moderation": "true"}
    flagged = await gateway.client.post("/api/v1/chat/completions", json=body, headers=headers)
    assert_envelope(flagged, "openai", "content_policy_violation")
    clean = {**chat("Hello"), "stream": True}
    async with gateway.client.stream(
        "POST", "/api/v1/chat/completions", json=clean, headers=headers
    ) as streamed:
        raw = b"".join([chunk async for chunk in streamed.aiter_raw()])
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert streamed.headers["x-nanogpt-inline-moderation-flagged"] == "false"
    assert [e.data for e in SSEDecoder().feed(raw)][-1] == "[DONE]"


async def test_the_preflight_is_a_request_of_its_own(gateway: InProcess) -> None:
    """The preflight has its own request-log record, on the moderations path, naming the
    request it gated; a flagged request's own record is the 400."""
    answer = await inline(gateway, "chat", THREAT)
    parent = answer.headers["x-request-id"]
    state = gateway.app.state
    await state.request_log.flush()
    charged = [
        e for e in await state.book.ledger(gateway.seeded.account_id) if e.kind == "settlement"
    ]
    (settlement,) = charged
    assert settlement.model == "local/moderation" and settlement.request_id != parent
    preflight = await state.store.get_request(settlement.request_id or "")
    assert preflight is not None
    assert preflight.path == MODERATIONS and preflight.status == 200
    assert preflight.message is not None and parent in preflight.message
    assert preflight.cost_nusd == -settlement.amount_nusd
    record = await state.store.get_request(parent)
    assert record is not None and record.code == "content_policy_violation"
    assert record.cost_nusd == 0


async def test_a_key_not_allowed_the_moderation_model(gateway: InProcess) -> None:
    """A key whose allowlist excludes the moderation model gets 403 model_not_allowed."""
    from nanogate.storage import SQLStore

    store = SQLStore(gateway.settings.database.url)
    try:
        key = (await store.create_key(gateway.seeded.account_id, models=["local/chat"])).key
    finally:
        await store.close()
    await gateway.app.state.keys.refresh()
    answer = await gateway.client.post(
        "/api/v1/chat/completions",
        json=chat("hi"),
        headers={"authorization": f"Bearer {key}", "moderation": "true"},
    )
    assert assert_envelope(answer, "openai", "model_not_allowed")["error"]["param"] == "moderation"
