"""Every error code reachable in this version, over a real socket, in each surface's envelope.

Each case names a surface (``openai``, ``anthropic``, ``legacy``) and a request
that triggers the code for real. The gateway is served by uvicorn on loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import SURFACE_PATHS, assert_envelope, make_settings, with_provider

from nanogate.config import ProviderSettings
from nanogate.providers import ChatCall, EmbeddingCall, EmbeddingResult

LONG_PROMPT = "word " * 3000  # far past local/mini's 2048-token window

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
AUDIO = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
ANTHROPIC_TOOL = {"name": "get_weather", "input_schema": {"type": "object"}}


def chat(model: str = "local/chat", content: Any = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def message(model: str = "local/chat", content: Any = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }


def legacy(model: str = "local/chat", **extra: Any) -> dict[str, Any]:
    return {"model": model, "prompt": "hello", **extra}


BODIES: dict[str, Callable[..., dict[str, Any]]] = {
    "openai": chat,
    "anthropic": message,
    "legacy": legacy,
}


@dataclass
class Case:
    code: str
    surface: str
    body: dict[str, Any] | bytes | None = None
    path: str | None = None
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    auth: bool = True

    @property
    def id(self) -> str:
        return f"{self.code}-{self.surface}"


def _cases() -> list[Case]:
    cases: list[Case] = []
    for surface in ("openai", "anthropic", "legacy"):
        good = BODIES[surface]()
        cases += [
            Case("missing_api_key", surface, good, auth=False),
            Case(
                "invalid_api_key",
                surface,
                good,
                auth=False,
                headers={"authorization": "Bearer sk-nano-00000000-0000-4000-8000-000000000000"},
            ),
            Case("invalid_api_key", surface, good, auth=False, headers={"x-api-key": "not-a-key"}),
            Case(
                "conflicting_credentials",
                surface,
                good,
                headers={"x-api-key": "sk-nano-11111111-1111-4111-8111-111111111111"},
            ),
            Case("invalid_json", surface, b'{"model": '),
            Case("invalid_json", surface, b"[1, 2, 3]"),
            Case(
                "unsupported_media_type",
                surface,
                b"model=local/chat",
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
            Case("unsupported_media_type", surface, good, headers={"content-encoding": "br"}),
            Case("invalid_parameter_value", surface, {**good, "temperature": "hot"}),
            Case("model_not_found", surface, {**good, "model": "acme/nope"}),
            Case("model_not_allowed", surface, {**good, "model": "local/embed"}),
            Case(
                "context_length_exceeded",
                surface,
                {
                    **BODIES[surface]("local/mini"),
                    **(
                        {"prompt": LONG_PROMPT}
                        if surface == "legacy"
                        else {"messages": [{"role": "user", "content": LONG_PROMPT}]}
                    ),
                },
            ),
            Case("server_error", surface, BODIES[surface]("test/broken")),
            Case("not_found", surface, good, path=SURFACE_PATHS[surface] + "/nowhere"),
            Case("method_not_allowed", surface, None, method="GET"),
        ]
    cases += [
        Case(
            "missing_required_parameter", "openai", {"messages": [{"role": "user", "content": "x"}]}
        ),
        Case(
            "missing_required_parameter",
            "anthropic",
            {"model": "local/chat", "messages": [{"role": "user", "content": "x"}]},
        ),
        Case("missing_required_parameter", "legacy", {"prompt": "hello"}),
        Case("invalid_parameter_value", "openai", chat(max_tokens=-1)),
        Case("invalid_parameter_value", "openai", chat(max_tokens=100_000)),
        Case(
            "invalid_json_schema",
            "openai",
            chat(
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"type": "nope"}},
                }
            ),
        ),
        Case(
            "invalid_json_schema",
            "anthropic",
            message(
                tools=[
                    {
                        "name": "t",
                        "input_schema": {"type": "object", "properties": {"a": {"type": 7}}},
                    }
                ]
            ),
        ),
        Case(
            "invalid_json_schema",
            "openai",
            {
                "model": "local/chat",
                "input": "x",
                "text": {
                    "format": {"type": "json_schema", "name": "x", "schema": {"required": "a"}}
                },
            },
            path="/api/v1/responses",
        ),
        Case("tool_choice_unsupported", "openai", chat("local/mini", tools=[TOOL])),
        Case("tool_choice_unsupported", "anthropic", message("local/mini", tools=[ANTHROPIC_TOOL])),
        Case(
            "tool_choice_unsupported",
            "openai",
            {
                "model": "local/mini",
                "input": "x",
                "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
            },
            path="/api/v1/responses",
        ),
        Case("image_input_not_supported", "openai", chat("local/mini", [IMAGE])),
        Case(
            "image_input_not_supported",
            "anthropic",
            message(
                "local/mini",
                [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": "iVBORw0KGgo=",
                        },
                    }
                ],
            ),
        ),
        Case(
            "image_input_not_supported",
            "legacy",
            {"model": "local/mini", "messages": [{"role": "user", "content": [IMAGE]}]},
        ),
        Case("unsupported_input_modality", "openai", chat(content=[AUDIO])),
        Case(
            "unsupported_input_modality",
            "anthropic",
            message(
                content=[
                    {
                        "type": "document",
                        "source": {
                            "type": "base64",
                            "media_type": "application/pdf",
                            "data": "JVBERi0=",
                        },
                    }
                ]
            ),
        ),
        Case(
            "unsupported_input_modality",
            "legacy",
            {"model": "local/chat", "messages": [{"role": "user", "content": [AUDIO]}]},
        ),
        Case(
            "unsupported_batch_input",
            "openai",
            {"model": "local/embed-mini", "input": ["one", "two"]},
            path="/api/v1/embeddings",
        ),
        Case(
            "context_length_exceeded",
            "openai",
            {"model": "local/embed-mini", "input": LONG_PROMPT * 2},
            path="/api/v1/embeddings",
        ),
        Case(
            "model_not_found",
            "openai",
            {"input": "hello", "model": "acme/nope"},
            path="/api/v1/moderations",
        ),
        Case(
            "response_not_found",
            "openai",
            None,
            method="GET",
            path="/api/v1/responses/resp_000000000000000000000000",
        ),
        Case(
            "request_not_found",
            "openai",
            None,
            method="GET",
            path="/api/v1/usage/requests/req_000000000000000000000000",
        ),
        Case("not_found", "openai", None, method="GET", path="/nowhere"),
        Case("method_not_allowed", "openai", None, method="PUT", path="/api/v1/models"),
    ]
    return cases


CASES = _cases()


class BrokenProvider:
    """A provider that fails with an unexpected exception: the trigger for ``server_error``."""

    name = "broken"

    async def chat(self, call: ChatCall) -> dict[str, Any]:
        raise RuntimeError("simulated bug in a provider")

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[list[dict[str, Any]]]:
        raise RuntimeError("simulated bug in a provider")
        yield []  # pragma: no cover - makes this an async generator

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        raise RuntimeError("simulated bug in a provider")

    async def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def contract_gateway(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One gateway for the whole table: a key allowed every model but ``local/embed``,
    and a ``test/broken`` model whose provider raises."""
    from tests.helpers import run_sync, seed

    from nanogate.server import create_app
    from nanogate.testing import ServedASGI

    tmp = tmp_path_factory.mktemp("contract")
    settings = with_provider(
        make_settings(tmp),
        ProviderSettings(name="broken", kind="local"),
        [{"id": "test/broken", "provider": "broken", "capabilities": ["streaming"]}],
    )
    allowed = [m.id for m in settings.models if m.id != "local/embed"]
    seeded = run_sync(seed(settings.database.url, models=allowed))
    app = create_app(settings, providers={"broken": BrokenProvider()})
    with ServedASGI(app, server=settings.server) as served:
        yield Live(served.url, seeded, settings, app)


def _send(live: Live, case: Case) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if case.auth:
        headers["authorization"] = f"Bearer {live.key}"
    headers.update(case.headers)
    path = case.path or SURFACE_PATHS[case.surface]
    content = case.body if isinstance(case.body, bytes) else None
    json = case.body if isinstance(case.body, dict) else None
    if json is not None:
        import orjson

        content = orjson.dumps(json)
    with httpx.Client(base_url=live.url, timeout=10) as client:
        return client.request(case.method, path, content=content, headers=headers)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error_code_over_the_wire(contract_gateway: Live, case: Case) -> None:
    """The request gets the code's status and body in its surface's envelope."""
    response = _send(contract_gateway, case)
    assert_envelope(response, case.surface, case.code)


def test_every_reachable_code_is_in_the_table() -> None:
    """The table covers every code whose trigger exists in this version, on each surface
    where the trigger applies."""
    covered = {(c.code, c.surface) for c in CASES}
    everywhere = [
        "missing_api_key",
        "invalid_api_key",
        "conflicting_credentials",
        "missing_required_parameter",
        "invalid_parameter_value",
        "invalid_json",
        "unsupported_media_type",
        "model_not_found",
        "model_not_allowed",
        "image_input_not_supported",
        "unsupported_input_modality",
        "context_length_exceeded",
        "server_error",
        "not_found",
        "method_not_allowed",
    ]
    for code in everywhere:
        for surface in ("openai", "anthropic", "legacy"):
            assert (code, surface) in covered, (code, surface)
    for code in ("invalid_json_schema", "tool_choice_unsupported"):
        assert {(code, "openai"), (code, "anthropic")} <= covered
    assert ("unsupported_batch_input", "openai") in covered


def test_server_error_hides_the_exception_and_logs_the_request_id(
    contract_gateway: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected exception is a 500 with a generic message naming the request id;
    the traceback goes to the log with that id, never to the client."""
    case = Case("server_error", "openai", chat("test/broken"))
    with caplog.at_level("ERROR", logger="nanogate.errors"):
        response = _send(contract_gateway, case)
    body = assert_envelope(response, "openai", "server_error")
    request_id = response.headers["x-request-id"]
    assert request_id in body["error"]["message"]
    assert "simulated bug" not in response.text
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_revoked_and_expired_keys_are_invalid(serve_gateway: LiveFactory) -> None:
    """A revoked key and an expired key both get 401 invalid_api_key with a reason."""
    from datetime import UTC, datetime, timedelta

    from tests.helpers import run_sync, wait_until

    from nanogate.core import hash_api_key
    from nanogate.storage import SQLStore

    live = serve_gateway(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with httpx.Client(base_url=live.url) as client:
        expired = client.post(SURFACE_PATHS["openai"], json=chat(), headers=live.auth())
    body = assert_envelope(expired, "openai", "invalid_api_key")
    assert "expired" in body["error"]["message"]

    async def new_key_then_revoke() -> str:
        store = SQLStore(live.settings.database.url)
        try:
            new = await store.create_key(live.seeded.account_id)
            await store.revoke_key(new.record.id)
            return new.key
        finally:
            await store.close()

    revoked_key = run_sync(new_key_then_revoke())

    def refreshed() -> bool:
        known = live.app.state.keys.get(hash_api_key(revoked_key))
        return known is not None and known.revoked_at is not None

    wait_until(refreshed, "the key cache to pick up the revoked key")
    with httpx.Client(base_url=live.url) as client:
        revoked = client.post(
            SURFACE_PATHS["anthropic"], json=message(), headers={"x-api-key": revoked_key}
        )
    body = assert_envelope(revoked, "anthropic", "invalid_api_key")
    assert "revoked" in body["error"]["message"]


def test_settings_helper_builds_a_fresh_database(tmp_path: Any) -> None:
    """Each test's settings point at a SQLite file of its own."""
    assert str(tmp_path) in make_settings(tmp_path).database.url
