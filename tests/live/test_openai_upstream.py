"""The gateway in front of an OpenAI-compatible upstream (the fake, on loopback).

Requests pass through with only the model renamed; the upstream's failures
arrive as catalogue errors in each surface's envelope.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import SURFACE_PATHS, assert_envelope, make_settings, with_provider

from nanogate.config import ProviderSettings
from nanogate.testing import FakeUpstream, Fault, ServedAioHTTP


@pytest.fixture
def fake() -> Iterator[tuple[FakeUpstream, str]]:
    upstream = FakeUpstream()
    with ServedAioHTTP(upstream.app()) as served:
        yield upstream, served.url


@pytest.fixture
def upstream_live(
    serve_gateway: LiveFactory, tmp_path: Path, fake: tuple[FakeUpstream, str]
) -> Live:
    _, url = fake
    settings = with_provider(
        make_settings(tmp_path),
        ProviderSettings(
            name="fake",
            kind="openai",
            base_url=url + "/v1",
            timeout_s=0.5,
            api_key="sk-upstream-secret",
        ),
        [
            {
                "id": "acme/chat",
                "provider": "fake",
                "upstream_model": "fake-chat-v2",
                "capabilities": ["streaming", "tools"],
                "context_window": 128000,
            },
            {
                "id": "acme/embed",
                "provider": "fake",
                "type": "embedding",
                "capabilities": ["batch"],
                "dimensions": 8,
            },
        ],
    )
    return serve_gateway(settings)


def post_path(live: Live, path: str, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(base_url=live.url, timeout=10) as client:
        return client.post(path, json=body, headers=live.auth())


def post(live: Live, surface: str, body: dict[str, Any]) -> httpx.Response:
    return post_path(live, SURFACE_PATHS[surface], body)


CHAT = {"model": "acme/chat", "messages": [{"role": "user", "content": "hi"}]}


def streamed(live: Live) -> str:
    """The raw SSE text of a streamed chat completion through the gateway."""
    with httpx.Client(base_url=live.url) as client:
        with client.stream(
            "POST", SURFACE_PATHS["openai"], json={**CHAT, "stream": True}, headers=live.auth()
        ) as response:
            return b"".join(response.iter_raw()).decode()


def test_requests_pass_through_with_the_upstream_model_name(
    upstream_live: Live, fake: tuple[FakeUpstream, str]
) -> None:
    """Fields the gateway does not interpret reach the upstream untouched; the model is
    renamed to the deployment's, the operator's key and the request id are sent, and the
    answer names the public model."""
    upstream, _ = fake
    response = post(upstream_live, "openai", {**CHAT, "logit_bias": {"42": -1}, "vendor_x": [1]})
    assert response.status_code == 200
    assert response.json()["model"] == "acme/chat"
    assert response.json()["choices"][0]["message"]["content"] == "Hello from the upstream."
    sent = upstream.requests[-1]
    assert sent["body"]["model"] == "fake-chat-v2"
    assert sent["body"]["logit_bias"] == {"42": -1} and sent["body"]["vendor_x"] == [1]
    assert sent["headers"]["Authorization"] == "Bearer sk-upstream-secret"
    assert sent["headers"]["X-Request-ID"] == response.headers["x-request-id"]


def test_streams_and_embeddings_pass_through(upstream_live: Live) -> None:
    """A streamed completion relays the upstream's chunks under the public model name;
    embeddings come back in order."""
    body = streamed(upstream_live)
    assert '"model":"acme/chat"' in body and "fake-chat-v2" not in body
    assert body.endswith("data: [DONE]\n\n")
    embeddings = post_path(
        upstream_live, "/api/v1/embeddings", {"model": "acme/embed", "input": ["a", "b", "c"]}
    ).json()
    assert [item["index"] for item in embeddings["data"]] == [0, 1, 2]


@pytest.mark.parametrize("surface", ["openai", "anthropic", "legacy"])
@pytest.mark.parametrize(
    ("fault", "code", "retry_after"),
    [
        (Fault.status_error(503), "service_unavailable", None),
        (Fault.status_error(429, retry_after=7), "rate_limit_exceeded", "7"),
        (Fault.status_error(401), "service_unavailable", None),
        (
            Fault.status_error(404, message="no model fake-chat-v2 at http://10.1.2.3:9/v1"),
            "model_not_available",
            None,
        ),
        (
            Fault.status_error(400, message="temperature too high", code="bad"),
            "invalid_parameter_value",
            None,
        ),
        (
            Fault.status_error(
                400, message="maximum context length", code="context_length_exceeded"
            ),
            "context_length_exceeded",
            None,
        ),
        (Fault.reset(), "service_unavailable", None),
        (Fault.malformed(), "service_unavailable", None),
        (Fault.delay(1.0), "upstream_timeout", None),
    ],
)
def test_upstream_failures_become_catalogue_errors(
    upstream_live: Live,
    fake: tuple[FakeUpstream, str],
    surface: str,
    fault: Fault,
    code: str,
    retry_after: str | None,
) -> None:
    """Each upstream failure maps to its catalogue code in the caller's envelope; an
    upstream 429's Retry-After is forwarded; nothing names the upstream's address or key."""
    upstream, url = fake
    upstream.inject(fault)
    body = {**CHAT, "max_tokens": 20} if surface == "anthropic" else CHAT
    if surface == "legacy":
        body = {"model": "acme/chat", "prompt": "hi"}
    response = post(upstream_live, surface, body)
    assert_envelope(response, surface, code)
    assert response.headers.get("retry-after") == retry_after
    assert url.split("//")[1] not in response.text
    assert "sk-upstream-secret" not in response.text


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault.event(after=2, data=b'{"error": "boom"}'), "service_unavailable"),
        (
            Fault.event(after=2, data=b'{"error": {"message": "slow", "status": 429}}'),
            "rate_limit_exceeded",
        ),
        (Fault.event(after=2, data=b"[1, 2]"), "service_unavailable"),
        (Fault.event(after=2, data=b"{broken"), "service_unavailable"),
        (Fault.truncate(after=3), "service_unavailable"),
    ],
)
def test_bad_upstream_streams_end_in_the_mapped_error_frame(
    upstream_live: Live, fake: tuple[FakeUpstream, str], fault: Fault, code: str
) -> None:
    """An error frame (object or string), a frame that is not an object, broken JSON and a
    stream that just stops all end the client's stream with the mapped error frame."""
    upstream, _ = fake
    upstream.inject(fault)
    body = streamed(upstream_live)
    assert f'"code":"{code}"' in body and '"finish_reason":"error"' in body
    assert body.endswith("data: [DONE]\n\n")


def test_a_cut_upstream_stream_ends_in_an_error_frame(
    upstream_live: Live, fake: tuple[FakeUpstream, str]
) -> None:
    """An upstream connection that dies mid-stream ends the client's stream with the
    error frame and [DONE], never a clean end."""
    upstream, _ = fake
    upstream.inject(Fault.cut(after=3))
    body = streamed(upstream_live)
    assert '"finish_reason":"error"' in body
    assert '"code":"service_unavailable"' in body
    assert body.endswith("data: [DONE]\n\n")
    assert '"finish_reason":"stop"' not in body
