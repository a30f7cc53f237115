"""The fake upstream itself: it speaks each dialect well enough for the stock SDKs, and
each fault does what its name says on every route."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest

from nanogate.core import SSEDecoder
from nanogate.testing import FakeUpstream, Fault, ServedAioHTTP, refused_url
from nanogate.testing._faults import OVERSIZED_LINE, SSE_LINE_LIMIT

HI = [{"role": "user", "content": "hi"}]
ROUTES: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": ("/v1/chat/completions", {"model": "m", "messages": HI}),
    "messages": ("/v1/messages", {"model": "m", "max_tokens": 9, "messages": HI}),
    "embeddings": ("/v1/embeddings", {"model": "e", "input": ["a", "b"]}),
    "moderations": ("/v1/moderations", {"input": "hello"}),
}


@pytest.fixture
def fake() -> Iterator[tuple[FakeUpstream, str]]:
    upstream = FakeUpstream()
    with ServedAioHTTP(upstream.app()) as served:
        yield upstream, served.url


def post(url: str, route: str, stream: bool = False, **extra: Any) -> httpx.Response:
    path, body = ROUTES[route]
    body = {**body, **extra, **({"stream": True} if stream else {})}
    with httpx.Client(timeout=10) as client:
        return client.post(url + path, json=body)


def events(response: httpx.Response) -> list[tuple[str, str]]:
    return [(e.event, e.data) for e in SSEDecoder().feed(response.content)]


# The dialects, as the stock SDKs read them -------------------------------------------------


def test_the_openai_sdk_reads_chat_embeddings_and_moderations(
    fake: tuple[FakeUpstream, str],
) -> None:
    """Chat (plain, streamed, with a tool call), embeddings and moderations parse with the
    openai SDK."""
    upstream, url = fake
    client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
    with client:
        completion = client.chat.completions.create(model="m", messages=HI)
        assert completion.choices[0].message.content == upstream.reply
        stream = client.chat.completions.create(model="m", messages=HI, stream=True)
        assert (
            "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == upstream.reply
        )
        tools = [{"type": "function", "function": {"name": "weather", "parameters": {}}}]
        called = client.chat.completions.create(model="m", messages=HI, tools=tools)
        call = called.choices[0].message.tool_calls[0]
        assert (call.function.name, call.function.arguments) == ("weather", '{"city":"Paris"}')
        vectors = client.embeddings.create(model="e", input=["a", "b"], dimensions=3)
        assert [len(v.embedding) for v in vectors.data] == [3, 3]
        moderation = client.moderations.create(input=["fine", "this is forbidden"])
        assert [r.flagged for r in moderation.results] == [False, True]


def test_the_anthropic_sdk_reads_messages_plain_and_streamed(
    fake: tuple[FakeUpstream, str],
) -> None:
    """Messages (plain, streamed, with a tool call) parse with the anthropic SDK, whose
    stream accumulator rebuilds the same message as the plain answer."""
    upstream, url = fake
    client = anthropic.Anthropic(base_url=url, api_key="k", max_retries=0)
    tools = [{"name": "weather", "input_schema": {"type": "object"}}]
    with client:
        plain = client.messages.create(model="m", max_tokens=9, messages=HI, tools=tools)
        with client.messages.stream(model="m", max_tokens=9, messages=HI, tools=tools) as stream:
            streamed = stream.get_final_message()
    for message in (plain, streamed):
        assert message.content[0].type == "text" and message.content[0].text == upstream.reply
        assert message.content[1].type == "tool_use" and message.content[1].input == {
            "city": "Paris"
        }
        assert message.stop_reason == "tool_use"
        assert message.usage.cache_read_input_tokens == 3
        assert message.usage.output_tokens == 8


_CALL = {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}


@pytest.mark.parametrize("route", ["chat", "messages"])
def test_tool_calls_finish_as_told_and_stop_after_a_tool_result(
    fake: tuple[FakeUpstream, str], route: str
) -> None:
    """With ``tool_finish="stop"`` a tool call finishes with ``stop`` (``end_turn`` on
    Messages); once the last message is a tool's result, the answer is words only."""
    upstream, url = fake
    upstream.tool_finish = "stop"
    if route == "chat":
        tools: list[Any] = [{"type": "function", "function": {"name": "w", "parameters": {}}}]
        result: Any = [
            {"role": "assistant", "content": None, "tool_calls": [_CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]
    else:
        tools = [{"name": "w", "input_schema": {"type": "object"}}]
        use = {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {}}
        answer = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}
        result = [
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": [answer]},
        ]
    called = post(url, route, tools=tools).json()
    after = post(url, route, tools=tools, messages=[*HI, *result]).json()
    if route == "chat":
        assert called["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "w"
        assert called["choices"][0]["finish_reason"] == "stop"
        assert "tool_calls" not in after["choices"][0]["message"]
        assert after["choices"][0]["message"]["content"] == upstream.reply
    else:
        assert [b["type"] for b in called["content"]] == ["text", "tool_use"]
        assert called["stop_reason"] == "end_turn"
        assert [b["type"] for b in after["content"]] == ["text"]


def test_the_anthropic_stream_has_anthropics_event_order(fake: tuple[FakeUpstream, str]) -> None:
    """message_start, ping, one start/deltas/stop per block, message_delta, message_stop;
    each event's name is its data's type."""
    seen = events(post(fake[1], "messages", stream=True))
    names = [name for name, _ in seen]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert all(orjson.loads(data)["type"] == name for name, data in seen)


# Moderation ------------------------------------------------------------------------------


def test_moderation_flags_inputs_with_a_flag_word(fake: tuple[FakeUpstream, str]) -> None:
    """An input containing a flag word (any case, as a word) is flagged under harassment
    with score 0.9, every other category unflagged; other inputs are not flagged."""
    upstream, url = fake
    upstream.flag_words = ("forbidden", "banana")
    body = post(url, "moderations", input=["A FORBIDDEN thing", "bananas", "banana split"]).json()
    assert set(body) == {"id", "model", "results"}
    first, second, third = body["results"]
    assert first["flagged"] and third["flagged"] and not second["flagged"]
    assert (
        first["categories"]["harassment"] is True and first["category_scores"]["harassment"] == 0.9
    )
    assert sum(first["categories"].values()) == 1
    assert set(first["categories"]) == set(first["category_scores"])
    assert not any(second["categories"].values())


def test_moderation_reads_multimodal_inputs_as_one(fake: tuple[FakeUpstream, str]) -> None:
    """A list of content parts is one input: its text parts are read, images ignored."""
    parts = [
        {"type": "text", "text": "look:"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        {"type": "text", "text": "forbidden"},
    ]
    results = post(fake[1], "moderations", input=parts).json()["results"]
    assert [r["flagged"] for r in results] == [True]


# Faults on every route, in the route's dialect ------------------------------------------------


@pytest.mark.parametrize("route", list(ROUTES))
def test_status_errors_carry_retry_after_and_the_routes_error_shape(
    fake: tuple[FakeUpstream, str], route: str
) -> None:
    """A status fault answers its status and Retry-After, with an Anthropic error body on
    /v1/messages and an OpenAI one elsewhere."""
    upstream, url = fake
    upstream.inject(Fault.status_error(429, retry_after=4, message="slow down"))
    response = post(url, route)
    assert response.status_code == 429 and response.headers["retry-after"] == "4"
    if route == "messages":
        assert response.json() == {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": "slow down"},
        }
    else:
        assert response.json()["error"]["type"] == "rate_limit_error"
        assert response.json()["error"]["message"] == "slow down"


@pytest.mark.parametrize(
    ("fault", "openai_words", "anthropic_words"),
    [
        (Fault.context_length(), "maximum context length", "prompt is too long"),
        (Fault.content_filter(), "content management policy", "content filtering policy"),
    ],
)
def test_context_and_filter_errors_use_each_dialects_words(
    fake: tuple[FakeUpstream, str], fault: Fault, openai_words: str, anthropic_words: str
) -> None:
    """The 400s the gateway must recognise are worded as each provider words them: an
    OpenAI code on OpenAI routes, Anthropic's message (no code) on /v1/messages."""
    upstream, url = fake
    upstream.inject(fault, fault)
    chat = post(url, "chat").json()["error"]
    assert openai_words in chat["message"] and chat["code"] == fault.code
    message = post(url, "messages").json()["error"]
    assert anthropic_words in message["message"] and message["type"] == "invalid_request_error"


@pytest.mark.parametrize("route", ["chat", "messages"])
def test_truncate_drops_only_the_terminal_event(fake: tuple[FakeUpstream, str], route: str) -> None:
    """truncate() ends cleanly with every event but the last ([DONE], message_stop)."""
    upstream, url = fake

    def timeless(response: httpx.Response) -> list[tuple[str, Any]]:
        decoded = [
            (name, data if data == "[DONE]" else orjson.loads(data))
            for name, data in events(response)
        ]
        return [
            (name, data if isinstance(data, str) else {**data, "created": 0})
            for name, data in decoded
        ]

    whole = timeless(post(url, route, stream=True))
    upstream.inject(Fault.truncate())
    cut = timeless(post(url, route, stream=True))
    assert len(whole) > 3 and cut == whole[:-1]


@pytest.mark.parametrize("route", ["chat", "messages"])
def test_in_band_errors_follow_the_dialect(fake: tuple[FakeUpstream, str], route: str) -> None:
    """error_event() sends the given events, then an OpenAI error object or an Anthropic
    ``event: error``, then ends."""
    upstream, url = fake
    upstream.inject(Fault.error_event(after=2, status=529, message="Overloaded"))
    seen = events(post(url, route, stream=True))
    assert len(seen) == 3
    name, data = seen[-1]
    if route == "messages":
        assert name == "error"
        assert orjson.loads(data)["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    else:
        assert name == "" and orjson.loads(data)["error"]["message"] == "Overloaded"


@pytest.mark.parametrize("route", ["chat", "messages"])
def test_empty_and_refused_answers(fake: tuple[FakeUpstream, str], route: str) -> None:
    """empty() answers no content with a normal finish; refusal() no content with the
    dialect's content-filter finish."""
    upstream, url = fake
    upstream.inject(Fault.empty(), Fault.refusal())
    empty, refused = post(url, route).json(), post(url, route).json()
    if route == "messages":
        assert (empty["content"], empty["stop_reason"]) == ([], "end_turn")
        assert (refused["content"], refused["stop_reason"]) == ([], "refusal")
    else:
        assert empty["choices"][0]["message"]["content"] == ""
        assert refused["choices"][0]["finish_reason"] == "content_filter"
        assert refused["choices"][0]["message"]["content"] is None


@pytest.mark.parametrize("route", ["embeddings", "moderations"])
def test_empty_answers_of_embeddings_and_moderations(
    fake: tuple[FakeUpstream, str], route: str
) -> None:
    """On embeddings and moderations, empty() answers an empty list."""
    upstream, url = fake
    upstream.inject(Fault.empty())
    body = post(url, route).json()
    assert body["data" if route == "embeddings" else "results"] == []


@pytest.mark.parametrize("route", list(ROUTES))
def test_malformed_and_truncated_bodies_are_not_json(
    fake: tuple[FakeUpstream, str], route: str
) -> None:
    """malformed() and truncate() on a whole answer give a 200 whose body does not parse."""
    upstream, url = fake
    upstream.inject(Fault.malformed(), Fault.truncate())
    for _ in range(2):
        response = post(url, route)
        assert response.status_code == 200
        with pytest.raises(ValueError):
            orjson.loads(response.content)


@pytest.mark.parametrize("route", list(ROUTES))
def test_resets_and_cuts_break_the_connection(fake: tuple[FakeUpstream, str], route: str) -> None:
    """reset() aborts before the first byte; cut() after part of the answer."""
    upstream, url = fake
    upstream.inject(Fault.reset(), Fault.cut(after=2))
    with pytest.raises(httpx.TransportError):
        post(url, route)
    with pytest.raises(httpx.TransportError):
        post(url, route, stream=route in ("chat", "messages"))


def test_delay_and_drip_slow_the_answer(fake: tuple[FakeUpstream, str]) -> None:
    """delay() holds the first byte; drip() spaces every streamed event."""
    upstream, url = fake
    upstream.inject(Fault.delay(0.3))
    started = time.monotonic()
    assert post(url, "moderations").status_code == 200
    assert time.monotonic() - started >= 0.3
    upstream.inject(Fault.drip(0.1))
    arrivals: list[float] = []
    with httpx.Client(timeout=10) as client:
        body = {**ROUTES["messages"][1], "stream": True}
        with client.stream("POST", url + "/v1/messages", json=body) as response:
            for _ in response.iter_raw():
                arrivals.append(time.monotonic())
    assert len(arrivals) >= 5
    assert arrivals[-1] - arrivals[0] >= 0.1 * (len(arrivals) - 1) * 0.8


def feed_all(decoder: SSEDecoder, raw: bytes) -> list[str]:
    """Feed ``raw`` in 1 MiB reads, as a socket would deliver it; the events' data."""
    piece = 1024 * 1024
    return [
        e.data
        for start in range(0, len(raw), piece)
        for e in decoder.feed(raw[start : start + piece])
    ]


def test_an_oversized_line_exceeds_the_gateways_sse_limit(fake: tuple[FakeUpstream, str]) -> None:
    """The default oversized line trips the gateway's SSE decoder, whose limit is the
    one the fake assumes (a line just under it still decodes)."""
    upstream, url = fake
    upstream.inject(Fault.oversized(after=1))
    raw = post(url, "chat", stream=True).content
    assert len(raw) > OVERSIZED_LINE > SSE_LINE_LIMIT
    with pytest.raises(ValueError, match="size limit"):
        feed_all(SSEDecoder(), raw)
    near = b"data: " + b"x" * (SSE_LINE_LIMIT - 100) + b"\n\n"
    assert [len(data) for data in feed_all(SSEDecoder(), near)] == [SSE_LINE_LIMIT - 100]


def test_refused_url_refuses_connections() -> None:
    """Connecting to refused_url() fails at once with ConnectionRefusedError."""
    with refused_url() as url:
        host, port = url.removeprefix("http://").split(":")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=1)
