"""Every upstream fault × every surface × both upstream dialects, over real sockets.

The gateway serves ``acme/gpt`` from an OpenAI-compatible upstream and
``acme/claude`` from an Anthropic one, both the fault-injecting fake. For each
fault the client must see exactly one outcome, and pay exactly what the rules say:

- a fault before the answer (or in a whole answer) is an enveloped HTTP error with
  its status, code, ``x-should-retry`` and ``Retry-After``;
- a fault after a stream's first chunk is the surface's terminal event (chat's error
  frame with ``finish_reason: "error"`` then ``[DONE]``; Messages' ``event: error``;
  Responses' ``response.failed``), never a clean end;
- nothing is charged for any failure; a slow drip is an ordinary, charged answer.

The cases share one gateway per module, whose circuit breaker is configured never to
open, so every case meets its upstream rather than a circuit opened by the case before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import Live
from tests.helpers import assert_envelope, make_settings, run_sync, seed, with_provider
from tests.live.test_balances import assert_books_balance
from tests.live.test_charging import balance, model

from nanogate.billing import cost
from nanogate.config import ProviderSettings, Settings
from nanogate.core import SSEDecoder
from nanogate.errors import error_for_code
from nanogate.server import create_app
from nanogate.testing import FakeUpstream, Fault, ServedASGI, refused_url

HI = [{"role": "user", "content": "hi"}]
TEXT = "Hello from the upstream."
MODELS = {"openai": "acme/gpt", "anthropic": "acme/claude"}
PATHS = {
    "chat": "/api/v1/chat/completions",
    "messages": "/api/v1/messages",
    "responses": "/api/v1/responses",
}
ENVELOPES = {"chat": "openai", "messages": "anthropic", "responses": "openai"}


def request_body(surface: str, dialect: str, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": MODELS[dialect]}
    if surface == "responses":
        body["input"] = "hi"
    else:
        body["messages"] = HI
    if surface == "messages":
        body["max_tokens"] = 50
    if stream:
        body["stream"] = True
    return body


# The gateway and its upstreams --------------------------------------------------------


def upstream_settings(tmp_path: Path, url: str) -> Settings:
    """Both upstreams at ``url``, with a circuit breaker that never opens: the cases of a
    module share a gateway, and each must meet its upstream, not an open circuit."""
    settings = make_settings(tmp_path)
    routing = settings.routing.model_copy(update={"breaker_failures": 1_000_000})
    settings = settings.model_copy(update={"routing": routing})
    for dialect in ("openai", "anthropic"):
        settings = with_provider(
            settings,
            ProviderSettings(
                name=f"fake-{dialect}",
                kind=dialect,
                base_url=url + "/v1",
                api_key=f"sk-{dialect}-operator",
                timeout_s=0.5,
            ),
            [
                {
                    "id": MODELS[dialect],
                    "provider": f"fake-{dialect}",
                    "upstream_model": f"{dialect}-upstream",
                    "capabilities": ["streaming"],
                    "context_window": 100000,
                    "max_output_tokens": 1000,
                    "input_usd_per_mtok": "2",
                    "output_usd_per_mtok": "8",
                }
            ],
        )
    return settings


@contextmanager
def served_gateway(settings: Settings) -> Iterator[Live]:
    """The gateway for ``settings`` on loopback, with a seeded account and key."""
    seeded = run_sync(seed(settings.database.url, "50"))
    app = create_app(settings)
    with ServedASGI(app, server=settings.server) as served:
        yield Live(served.url, seeded, settings, app)


@pytest.fixture(scope="module")
def faults_live(
    tmp_path_factory: pytest.TempPathFactory, served_fake: tuple[FakeUpstream, str]
) -> Iterator[Live]:
    settings = upstream_settings(tmp_path_factory.mktemp("faults"), served_fake[1])
    with served_gateway(settings) as live:
        yield live


@pytest.fixture(scope="module")
def refused_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with refused_url() as url:
        settings = upstream_settings(tmp_path_factory.mktemp("refused"), url)
        with served_gateway(settings) as live:
            yield live


# Exchanges ----------------------------------------------------------------------------


@dataclass
class Exchange:
    response: httpx.Response
    events: list[tuple[str, str]]
    before: int
    after: int


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def exchange(http: httpx.Client, live: Live, surface: str, dialect: str, stream: bool) -> Exchange:
    """One request, its response (and SSE events, if streamed), and the balance around it."""
    before = balance(live)
    with http.stream(
        "POST",
        live.url + PATHS[surface],
        json=request_body(surface, dialect, stream),
        headers=live.auth(),
    ) as response:
        raw = response.read()
    events: list[tuple[str, str]] = []
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        decoder = SSEDecoder()
        events = [(e.event, e.data) for e in (*decoder.feed(raw), *decoder.flush())]
    return Exchange(response, events, before, balance(live))


def assert_not_charged(live: Live, seen: Exchange) -> None:
    assert seen.after == seen.before
    assert_books_balance(live.settings.database.url, live.seeded.account_id)


def assert_http_error(seen: Exchange, surface: str, code: str, retry_after: str | None) -> None:
    """An enveloped error: status, code, type, x-should-retry, Retry-After."""
    assert seen.events == []
    assert_envelope(seen.response, ENVELOPES[surface], code)
    assert seen.response.headers.get("retry-after") == retry_after


def assert_terminal_event(seen: Exchange, surface: str, code: str) -> None:
    """A 200 stream ending in the surface's one terminal error event, never a clean end."""
    cls = error_for_code(code)
    assert cls is not None
    assert seen.response.status_code == 200
    names = [name for name, _ in seen.events]
    if surface == "chat":
        assert seen.events[-1] == ("", "[DONE]")
        frame = orjson.loads(seen.events[-2][1])
        assert frame["object"] == "chat.completion.chunk"
        assert frame["choices"] == [{"index": 0, "delta": {}, "finish_reason": "error"}]
        assert frame["error"]["code"] == code and frame["error"]["status"] == cls.status
        assert frame["error"]["message"]
        earlier = [orjson.loads(data) for _, data in seen.events[:-2]]
        assert not any(c["choices"][0].get("finish_reason") for c in earlier if c["choices"])
    elif surface == "messages":
        name, data = seen.events[-1]
        assert name == "error"
        error = orjson.loads(data)
        assert error["type"] == "error"
        assert error["error"]["type"] == cls.anthropic_type and error["error"]["code"] == code
        assert "message_stop" not in names and names[0] == "message_start"
    else:
        name, data = seen.events[-1]
        assert name == "response.failed"
        failed = orjson.loads(data)["response"]
        assert failed["status"] == "failed" and failed["error"]["code"] == code
        assert "response.completed" not in names and names[0] == "response.created"


# The matrix -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    fault: Fault
    code: str
    retry_after: str | None = None


BEFORE_FIRST_BYTE = {
    "500": Case(Fault.status_error(500), "service_unavailable"),
    "503-retry-after": Case(Fault.status_error(503, retry_after=3), "service_unavailable", "3"),
    "529-overloaded": Case(Fault.status_error(529), "service_unavailable"),
    "429-retry-after": Case(Fault.status_error(429, retry_after=7), "rate_limit_exceeded", "7"),
    "401-operator-key": Case(Fault.status_error(401), "service_unavailable"),
    "slow-first-byte": Case(Fault.delay(1.0), "upstream_timeout"),
    "reset-before-first-byte": Case(Fault.reset(), "service_unavailable"),
    "malformed-json": Case(Fault.malformed(), "service_unavailable"),
    "context-length": Case(Fault.context_length(), "context_length_exceeded"),
    "content-filter": Case(Fault.content_filter(), "content_policy_violation"),
}
"""Faults that strike before the upstream's first event: an HTTP error, streamed or not."""

MID_STREAM = {
    "reset-after-chunks": Case(Fault.cut(after=3), "service_unavailable"),
    "no-terminal-event": Case(Fault.truncate(), "service_unavailable"),
    "in-band-error": Case(Fault.error_event(after=3), "service_unavailable"),
    "in-band-rate-limit": Case(Fault.error_event(after=3, status=429), "rate_limit_exceeded"),
    "oversized-line": Case(Fault.oversized(after=3), "service_unavailable"),
    "empty-content": Case(Fault.empty(), "empty_response"),
    "refusal-before-output": Case(Fault.refusal(), "content_policy_violation"),
}
"""Faults that strike after the first event of a stream: the terminal event."""

WHOLE_ANSWER = {name: case for name, case in MID_STREAM.items() if name != "oversized-line"} | {
    "in-band-rate-limit": Case(Fault.error_event(status=429), "rate_limit_exceeded", "1")
}
"""The same faults in a non-streamed answer: an HTTP error (a long line is no fault
outside a stream, and an in-band error there is the error status itself)."""

SURFACES = pytest.mark.parametrize("surface", list(PATHS))
DIALECTS = pytest.mark.parametrize("dialect", list(MODELS))


@DIALECTS
@SURFACES
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("case", list(BEFORE_FIRST_BYTE.values()), ids=list(BEFORE_FIRST_BYTE))
def test_a_fault_before_the_first_byte_is_an_http_error(
    http: httpx.Client,
    faults_live: Live,
    fake: FakeUpstream,
    case: Case,
    stream: bool,
    surface: str,
    dialect: str,
) -> None:
    """Before the first byte, streamed or not, the fault is the enveloped HTTP error of its
    catalogue code, with its retry headers, and nothing is charged."""
    fake.inject(case.fault)
    seen = exchange(http, faults_live, surface, dialect, stream)
    assert_http_error(seen, surface, case.code, case.retry_after)
    assert_not_charged(faults_live, seen)


@DIALECTS
@SURFACES
@pytest.mark.parametrize("case", list(MID_STREAM.values()), ids=list(MID_STREAM))
def test_a_fault_after_the_first_chunk_ends_the_stream_with_its_error_event(
    http: httpx.Client,
    faults_live: Live,
    fake: FakeUpstream,
    case: Case,
    surface: str,
    dialect: str,
) -> None:
    """After the first chunk, the fault is the surface's terminal error event with its
    code, and nothing is charged."""
    fake.inject(case.fault)
    seen = exchange(http, faults_live, surface, dialect, stream=True)
    assert_terminal_event(seen, surface, case.code)
    assert_not_charged(faults_live, seen)


@DIALECTS
@SURFACES
@pytest.mark.parametrize("case", list(WHOLE_ANSWER.values()), ids=list(WHOLE_ANSWER))
def test_a_fault_in_a_whole_answer_is_an_http_error(
    http: httpx.Client,
    faults_live: Live,
    fake: FakeUpstream,
    case: Case,
    surface: str,
    dialect: str,
) -> None:
    """In a non-streamed answer, stream faults (a cut or truncated body, an in-band error,
    an empty or refused answer) are HTTP errors, and nothing is charged."""
    fake.inject(case.fault)
    seen = exchange(http, faults_live, surface, dialect, stream=False)
    assert_http_error(seen, surface, case.code, case.retry_after)
    assert_not_charged(faults_live, seen)


def text_of(surface: str, seen: Exchange) -> str:
    """The answer's text, from a whole body or a stream's events."""
    if not seen.events:
        body = seen.response.json()
        if surface == "chat":
            return str(body["choices"][0]["message"]["content"])
        if surface == "messages":
            return "".join(block["text"] for block in body["content"])
        return "".join(p["text"] for item in body["output"] for p in item["content"])
    datas = [orjson.loads(data) for _, data in seen.events if data != "[DONE]"]
    if surface == "chat":
        return "".join(d["choices"][0]["delta"].get("content") or "" for d in datas if d["choices"])
    if surface == "messages":
        return "".join(
            d["delta"].get("text", "") for d in datas if d["type"] == "content_block_delta"
        )
    return "".join(d["delta"] for d in datas if d["type"] == "response.output_text.delta")


@DIALECTS
@SURFACES
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_slow_drip_is_an_ordinary_charged_answer(
    http: httpx.Client,
    faults_live: Live,
    fake: FakeUpstream,
    stream: bool,
    surface: str,
    dialect: str,
) -> None:
    """An upstream that pauses between chunks (within its timeout) is a normal answer,
    complete, ending cleanly, and charged the upstream's usage."""
    fake.inject(Fault.drip(0.05))
    seen = exchange(http, faults_live, surface, dialect, stream)
    assert seen.response.status_code == 200
    assert text_of(surface, seen) == TEXT
    if stream:
        last = {"chat": "", "messages": "message_stop", "responses": "response.completed"}
        assert seen.events[-1][0] == last[surface]
    assert seen.before - seen.after == cost(model(faults_live, MODELS[dialect]), 10, 4)
    assert_books_balance(faults_live.settings.database.url, faults_live.seeded.account_id)


@DIALECTS
@SURFACES
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_refused_connection_is_service_unavailable(
    http: httpx.Client, refused_live: Live, stream: bool, surface: str, dialect: str
) -> None:
    """An upstream that refuses connections is 503 service_unavailable before the first
    byte, retryable, naming no address, and nothing is charged."""
    seen = exchange(http, refused_live, surface, dialect, stream)
    assert_http_error(seen, surface, "service_unavailable", None)
    assert "127.0.0.1" not in seen.response.text
    assert_not_charged(refused_live, seen)


SDK_FAULTS = {
    "reset-after-text": Case(Fault.cut(after=5), "service_unavailable"),
    "no-terminal-event": Case(Fault.truncate(), "service_unavailable"),
    "in-band-error-after-text": Case(Fault.error_event(after=5), "service_unavailable"),
}
"""Mid-stream faults that strike after some text reached the client, in both dialects."""


@DIALECTS
@pytest.mark.parametrize("case", list(SDK_FAULTS.values()), ids=list(SDK_FAULTS))
def test_stock_sdks_never_see_a_clean_end_after_an_upstream_failure(
    faults_live: Live, fake: FakeUpstream, case: Case, dialect: str
) -> None:
    """A real upstream that fails mid-stream makes the stock openai SDK raise during
    iteration, after the first text arrived, and the stock anthropic SDK raise on the
    ``event: error``: neither ever sees a clean end."""
    import anthropic
    import openai

    fake.inject(case.fault)
    received: list[str] = []
    with openai.OpenAI(
        base_url=faults_live.url + "/api/v1", api_key=faults_live.key, max_retries=0
    ) as client:
        stream = client.chat.completions.create(
            model=MODELS[dialect],
            messages=HI,
            stream=True,  # type: ignore[arg-type]
        )
        with pytest.raises(openai.APIError) as caught:
            for chunk in stream:
                received.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(received) and caught.value.code == case.code

    fake.inject(case.fault)
    text: list[str] = []
    with anthropic.Anthropic(
        base_url=faults_live.url + "/api", api_key=faults_live.key, max_retries=0
    ) as client:
        with pytest.raises(anthropic.APIStatusError) as raised:
            with client.messages.stream(
                model=MODELS[dialect],
                max_tokens=50,
                messages=HI,  # type: ignore[arg-type]
            ) as events:
                text.extend(events.text_stream)
    assert "".join(text) and raised.value.body["error"]["code"] == case.code  # type: ignore[index]
