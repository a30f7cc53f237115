"""Recorded error answers, parsed into the client's typed errors.

Each file of ``corpus/`` is one answer as a server sends it (status, headers, body; or
a stream's terminal event) and the fields the client must read from it:

- ``seed/``: every example body of NanoGPT's error documentation, verbatim;
- ``gateway/``: every catalogue error in the OpenAI, Anthropic and legacy envelopes, and
  some in the three streaming dialects, written by ``scripts/client_corpus.py`` from the
  gateway's own renderers (committed, so these tests do not need the gateway);
- ``shapes/``: unknown codes and statuses, HTML pages, empty and non-JSON bodies, JSON
  that is not an object, and header variants (``Retry-After``, ``x-should-retry``).

Only the keys present in a case's ``expect`` are checked.
"""

from __future__ import annotations

import email.utils
import importlib.util
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

import nanogate.client
from nanogate.client import APIStatusError, Client, RetryPolicy, StreamError, parse_error

CORPUS = Path(__file__).resolve().parent / "corpus"
ROOT = CORPUS.parent.parent.parent


def _cases(kind: str) -> list[Any]:
    """The corpus files of one kind (``body`` answers or ``stream`` events) as params."""
    return [
        pytest.param(path, id=str(path.relative_to(CORPUS).with_suffix("")))
        for path in sorted(CORPUS.rglob("*.json"))
        if kind in json.loads(path.read_text(encoding="utf-8"))
    ]


ANSWERS = _cases("body")
STREAMS = _cases("stream")


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def wire(body: Any) -> bytes:
    """The body's bytes on the wire: a string is raw text, anything else is JSON."""
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


def assert_expected(error: APIStatusError, expect: dict[str, Any]) -> None:
    """``error`` is of the expected class and has every expected field."""
    cls = getattr(nanogate.client, expect["class"])
    assert type(error) is cls, (type(error).__name__, expect["class"], error)
    assert isinstance(error.message, str) and error.message
    for name, wanted in expect.items():
        if name == "class":
            continue
        if name == "has_payment":
            assert (error.payment is not None) is wanted, error.payment
            if wanted:
                assert isinstance(error.payment, dict) and error.payment.get("paymentId")
        elif name == "required_balance":
            assert error.required_balance == (None if wanted is None else Decimal(wanted))
        elif name == "error_class":
            assert isinstance(error, StreamError)
            assert type(error.error).__name__ == wanted, error.error
        elif name == "error_status":
            assert isinstance(error, StreamError)
            assert error.error.status == wanted
        else:
            assert getattr(error, name) == wanted, (name, getattr(error, name), wanted)


# Whole answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ANSWERS)
def test_parse_error_reads_the_recorded_answer(path: Path) -> None:
    """parse_error turns the recorded status, headers and body bytes into the expected
    typed error, with every expected field."""
    case = load(path)
    error = parse_error(case["status"], case["headers"], wire(case["body"]))
    assert_expected(error, case["expect"])
    assert error.status == case["status"]


@pytest.mark.parametrize("path", ANSWERS)
def test_parse_error_reads_text_and_decoded_bodies_alike(path: Path) -> None:
    """The body may be given as bytes, as text, or already decoded (a JSON object):
    the error is the same."""
    case = load(path)
    from_bytes = parse_error(case["status"], case["headers"], wire(case["body"]))
    from_text = parse_error(case["status"], case["headers"], wire(case["body"]).decode())
    assert (type(from_text), from_text.message, from_text.code) == (
        type(from_bytes),
        from_bytes.message,
        from_bytes.code,
    )
    if isinstance(case["body"], dict):
        from_dict = parse_error(case["status"], case["headers"], case["body"])
        assert (type(from_dict), from_dict.code, from_dict.param, from_dict.retryable) == (
            type(from_bytes),
            from_bytes.code,
            from_bytes.param,
            from_bytes.retryable,
        )


def recording_client(handler: Any) -> Client:
    """A client whose server is ``handler`` (an httpx mock transport), retrying nothing."""
    return Client(
        base_url="http://corpus.test/api/v1",
        api_key="sk-nano-corpus",
        max_retries=0,
        retry=RetryPolicy.for_tests(0),
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


@pytest.mark.parametrize("path", ANSWERS)
def test_the_client_raises_the_recorded_answer(path: Path) -> None:
    """A client whose server answers a chat completion with the recorded answer raises
    the same typed error."""
    case = load(path)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(case["status"], headers=case["headers"], content=wire(case["body"]))

    with recording_client(answer) as client:
        with pytest.raises(APIStatusError) as raised:
            client.chat.completions.create(
                model="local/chat", messages=[{"role": "user", "content": "hi"}]
            )
    assert_expected(raised.value, case["expect"])


# Stream events ----------------------------------------------------------------------------


def _sse(event: str, data: Any) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode()


def stream_before_the_failure(dialect: str) -> list[bytes]:
    """The events of a stream's successful beginning, in ``dialect``."""
    if dialect == "chat":
        chunk = {
            "id": "chatcmpl_corpus",
            "object": "chat.completion.chunk",
            "model": "local/chat",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}],
        }
        return [_sse("", chunk)]
    if dialect == "messages":
        start = {
            "type": "message_start",
            "message": {
                "id": "msg_corpus",
                "type": "message",
                "role": "assistant",
                "model": "local/chat",
                "content": [],
                "usage": {"input_tokens": 1, "output_tokens": 0},
            },
        }
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Hel"},
        }
        return [
            _sse("message_start", start),
            _sse("content_block_start", block),
            _sse("content_block_delta", delta),
        ]
    created = {
        "type": "response.created",
        "sequence_number": 0,
        "response": {"id": "resp_corpus", "object": "response", "status": "in_progress"},
    }
    delta = {
        "type": "response.output_text.delta",
        "sequence_number": 1,
        "item_id": "msg_corpus",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hel",
    }
    return [_sse("response.created", created), _sse("response.output_text.delta", delta)]


def open_stream(client: Client, dialect: str) -> Any:
    messages = [{"role": "user", "content": "hi"}]
    if dialect == "chat":
        return client.chat.completions.create(model="local/chat", messages=messages, stream=True)
    if dialect == "messages":
        return client.messages.create(
            model="local/chat", max_tokens=16, messages=messages, stream=True
        )
    return client.responses.create(model="local/chat", input="hi", stream=True)


@pytest.mark.parametrize("path", STREAMS)
def test_a_recorded_terminal_error_event_raises_stream_error(path: Path) -> None:
    """A stream that begins well and then carries the recorded error event raises
    StreamError during iteration, after the good chunks, with the event's fields and
    the status class of its error in ``.error``."""
    case = load(path)
    stream = case["stream"]
    body = b"".join(stream_before_the_failure(stream["dialect"]))
    body += _sse(stream["event"], stream["data"])
    if stream["dialect"] == "chat":
        body += b"data: [DONE]\n\n"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=case["headers"], content=body)

    received: list[Any] = []
    with recording_client(answer) as client:
        with pytest.raises(StreamError) as raised:
            for chunk in open_stream(client, stream["dialect"]):
                received.append(chunk)
    assert received, "the chunks before the failure reach the caller"
    assert_expected(raised.value, case["expect"])


def test_the_seed_stream_frame_parses_as_its_status() -> None:
    """The seed's mid-stream frame, given to parse_error with the status it carries, is
    the 503 it describes."""
    frame = load(CORPUS / "seed" / "chat-mid-stream-error-frame.json")["stream"]["data"]
    error = parse_error(frame["error"]["status"], {}, frame)
    assert type(error) is nanogate.client.ServiceUnavailableError
    assert (error.code, error.retryable) == ("service_unavailable", True)
    assert error.message == "Service temporarily unavailable. Please try again later."


# Headers ----------------------------------------------------------------------------------


def test_retry_after_as_an_http_date_counts_down_to_it() -> None:
    """``Retry-After`` given as an HTTP date is the seconds from now until that moment."""
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    error = parse_error(503, {"retry-after": when}, b"")
    assert error.retry_after is not None and 115 <= error.retry_after <= 120


def test_retry_after_in_the_past_is_no_wait() -> None:
    """A ``Retry-After`` date already past means no wait, never a negative one."""
    error = parse_error(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"")
    assert error.retry_after in (None, 0.0)


# The corpus itself ------------------------------------------------------------------------


def test_every_catalogue_code_has_a_recorded_answer_in_each_envelope() -> None:
    """Each code the gateway answers with has a recorded body in all three envelopes."""
    from nanogate.errors import catalogue

    names = {p.name for p in (CORPUS / "gateway").glob("*.json")}
    for cls in catalogue():
        for surface in ("openai", "anthropic", "legacy"):
            assert f"{surface}-{cls.code}.json" in names, (surface, cls.code)


def test_the_gateway_corpus_matches_the_gateway_renderers() -> None:
    """The committed gateway corpus is what ``scripts/client_corpus.py`` writes today."""
    spec = importlib.util.spec_from_file_location(
        "client_corpus", ROOT / "scripts" / "client_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    present = {p.name: p.read_text(encoding="utf-8") for p in (CORPUS / "gateway").glob("*.json")}
    assert present == module.render(), "run .venv/bin/python scripts/client_corpus.py"


def test_the_seed_examples_are_all_recorded() -> None:
    """The corpus holds each example body of the seed: the OpenAI and Anthropic
    envelopes, both legacy 402s, the x402 challenge and the mid-stream frame."""
    names = sorted(p.stem for p in (CORPUS / "seed").glob("*.json"))
    assert names == [
        "anthropic-max-tokens-required",
        "authenticated-balance-error",
        "chat-mid-stream-error-frame",
        "legacy-insufficient-balance",
        "openai-missing-required-parameter",
        "x402-payment-challenge",
    ]


def _all_cases() -> Iterator[dict[str, Any]]:
    for path in CORPUS.rglob("*.json"):
        yield load(path)


def test_every_case_says_what_to_expect() -> None:
    """Every recorded case names the class it must parse to."""
    for case in _all_cases():
        assert hasattr(nanogate.client, case["expect"]["class"]), case["expect"]["class"]
