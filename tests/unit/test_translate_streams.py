"""Chat chunk streams → Anthropic Messages and OpenAI Responses stream events."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from openai import omit
from openai._models import construct_type
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseFailedEvent, ResponseStreamEvent
from pydantic import TypeAdapter

from nanogate.core._render import anthropic_body
from nanogate.errors import ServerError, UpstreamTimeout
from nanogate.translate import (
    Event,
    MessagesStream,
    ResponsesStream,
    chat_to_message,
    chat_to_response,
)

ANTHROPIC_EVENT: TypeAdapter[Any] = TypeAdapter(anthropic.types.RawMessageStreamEvent)
OPENAI_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
REQUEST = {"model": "gpt-x", "input": "Hi", "instructions": "Be brief."}


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "upstream-x",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def usage_chunk() -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "upstream-x",
        "choices": [],
        "usage": USAGE,
    }


def tool_delta(index: int, arguments: str, call_id: str = "", name: str = "") -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        call |= {"id": call_id, "type": "function"}
        call["function"]["name"] = name
    return {"tool_calls": [call]}


TEXT_CHUNKS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo."}),
    chunk({}, "stop"),
    usage_chunk(),
]
TEXT_COMPLETION = {
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hello."}, "finish_reason": "stop"}
    ],
    "usage": USAGE,
}
TOOL_CHUNKS = [
    chunk({"role": "assistant", "content": "Checking."}),
    chunk(tool_delta(0, "", "call_1", "weather")),
    chunk(tool_delta(0, '{"city":')),
    chunk(tool_delta(0, '"Paris"}')),
    chunk(tool_delta(1, '{"tz":"CET"}', "call_2", "clock")),
    chunk({}, "tool_calls"),
    usage_chunk(),
]
TOOL_COMPLETION = {
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "clock", "arguments": '{"tz":"CET"}'},
                    },
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": USAGE,
}


def run(stream: MessagesStream | ResponsesStream, chunks: list[dict[str, Any]]) -> list[Event]:
    events = stream.start()
    for item in chunks:
        events.extend(stream.feed(item))
    return events + stream.finish()


def names(events: list[Event]) -> list[str]:
    return [name for name, _ in events]


# Anthropic Messages --------------------------------------------------------------------


def messages_stream() -> MessagesStream:
    return MessagesStream(model="claude-x", message_id="msg_1", input_tokens=9)


def test_messages_text_event_order() -> None:
    """A text reply streams in Anthropic's order, one text block from start to stop."""
    events = run(messages_stream(), TEXT_CHUNKS)
    assert events == [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-x",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 9, "output_tokens": 0},
                },
            },
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hel"},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "lo."},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"input_tokens": 11, "output_tokens": 7},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def test_messages_tool_call_event_order() -> None:
    """Text then two tool calls: each block closes before the next opens, JSON streams as deltas."""
    events = run(messages_stream(), TOOL_CHUNKS)
    assert names(events) == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    starts = [data for name, data in events if name == "content_block_start"]
    assert [s["index"] for s in starts] == [0, 1, 2]
    assert starts[1]["content_block"] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "weather",
        "input": {},
    }
    assert events[6][1]["delta"] == {"type": "input_json_delta", "partial_json": '{"city":'}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    ("chunks", "completion"), [(TEXT_CHUNKS, TEXT_COMPLETION), (TOOL_CHUNKS, TOOL_COMPLETION)]
)
def test_messages_stream_events_validate_and_accumulate_to_the_message(
    chunks: list[dict[str, Any]], completion: dict[str, Any]
) -> None:
    """Every event parses as the SDK's union and the SDK's accumulation equals the whole reply."""
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for name, data in run(messages_stream(), chunks):
        assert data["type"] == name
        if name == "ping":
            continue
        event = ANTHROPIC_EVENT.validate_python(data)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    expected = chat_to_message(completion, model="claude-x", message_id="msg_1")
    assert snapshot is not None
    whole = anthropic.types.Message.model_validate(expected)
    assert snapshot.model_dump(exclude_none=True) == whole.model_dump(exclude_none=True)


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [("stop", "tool_use"), (None, "tool_use"), ("length", "max_tokens")],
)
def test_messages_stream_with_tool_calls_stops_for_tool_use(
    finish_reason: str | None, stop_reason: str
) -> None:
    """A streamed turn that made tool calls ends in tool_use even when the upstream's
    finish says ``stop`` (or nothing); one cut short stays max_tokens."""
    chunks = [*TOOL_CHUNKS[:-2], chunk({}, finish_reason), usage_chunk()]
    events = run(messages_stream(), chunks)
    assert events[-2][1]["delta"]["stop_reason"] == stop_reason


def test_messages_stream_without_tool_calls_ends_the_turn() -> None:
    """A streamed turn without tool calls ends in end_turn, even when the upstream's
    finish says ``tool_calls``."""
    events = run(messages_stream(), [*TEXT_CHUNKS[:-2], chunk({}, "tool_calls"), usage_chunk()])
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_messages_stream_records_usage_and_finish_reason() -> None:
    """The encoder exposes the chat usage and finish_reason it saw."""
    stream = messages_stream()
    run(stream, TEXT_CHUNKS)
    assert stream.usage == USAGE
    assert stream.finish_reason == "stop"


def test_messages_stream_without_usage_reports_zero_output() -> None:
    """With no usage chunk the final delta carries output_tokens 0 and no input_tokens."""
    events = run(messages_stream(), [chunk({"content": "Hi"}, "length")])
    assert events[-2][1]["usage"] == {"output_tokens": 0}
    assert events[-2][1]["delta"]["stop_reason"] == "max_tokens"


def test_messages_stream_empty_reply() -> None:
    """A reply with no content opens no block."""
    events = run(messages_stream(), [chunk({"role": "assistant"}, "stop"), usage_chunk()])
    assert names(events) == ["message_start", "ping", "message_delta", "message_stop"]


def test_messages_fail_after_partial_output() -> None:
    """fail() ends the stream with one error event, closing nothing."""
    stream = messages_stream()
    events = stream.start() + stream.feed(chunk({"content": "Hel"}))
    err = UpstreamTimeout()
    assert stream.fail(err) == [("error", anthropic_body(err))]
    assert names(events)[-1] == "content_block_delta"


# OpenAI Responses ----------------------------------------------------------------------


def responses_stream(request: dict[str, Any] = REQUEST) -> ResponsesStream:
    return ResponsesStream(
        request=request, response_id="resp_abc", created_at=1700000001, model="gpt-x"
    )


def test_responses_text_event_order() -> None:
    """A text reply streams in the Responses API's order with consecutive sequence numbers."""
    events = run(responses_stream(), TEXT_CHUNKS)
    assert names(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert events[0][1]["response"]["status"] == "in_progress"
    assert events[2][1]["item"] == {
        "type": "message",
        "id": "msg_abc_0",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    assert events[4][1] == {
        "type": "response.output_text.delta",
        "sequence_number": 4,
        "item_id": "msg_abc_0",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hel",
        "logprobs": [],
    }
    assert events[6][1]["text"] == "Hello."


def test_responses_tool_call_event_order() -> None:
    """Text then two calls: each item is done before the next is added."""
    events = run(responses_stream(), TOOL_CHUNKS)
    assert names(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[8][1]["item"] == {
        "type": "function_call",
        "id": "fc_abc_1",
        "call_id": "call_1",
        "name": "weather",
        "arguments": "",
        "status": "in_progress",
    }
    assert events[11][1]["arguments"] == '{"city":"Paris"}'
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))


@pytest.mark.parametrize(
    ("chunks", "completion"), [(TEXT_CHUNKS, TEXT_COMPLETION), (TOOL_CHUNKS, TOOL_COMPLETION)]
)
def test_responses_stream_matches_the_whole_response(
    chunks: list[dict[str, Any]], completion: dict[str, Any]
) -> None:
    """Events parse as the SDK union and accumulate; the final object equals chat_to_response."""
    stream = responses_stream()
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    events = run(stream, chunks)
    for name, data in events:
        assert data["type"] == name
        state.handle_event(OPENAI_EVENT.validate_python(data))
    expected = chat_to_response(
        completion, request=REQUEST, response_id="resp_abc", created_at=1700000001, model="gpt-x"
    )
    assert stream.response == expected
    assert events[-1][1]["response"] == expected
    assert stream.usage == USAGE
    done = [data["item"] for name, data in events if name == "response.output_item.done"]
    assert done == expected["output"]
    assert (
        Response.model_validate(expected).output_text
        == completion["choices"][0]["message"]["content"]
    )


def test_responses_stream_incomplete_on_length() -> None:
    """finish_reason length ends with response.incomplete; the last item is incomplete too."""
    events = run(responses_stream(), [chunk({"content": "Hel"}, "length"), usage_chunk()])
    name, data = events[-1]
    assert name == "response.incomplete"
    assert data["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert events[-2][1]["item"]["status"] == "incomplete"
    OPENAI_EVENT.validate_python(data)


def test_responses_fail_after_partial_output() -> None:
    """fail() ends with response.failed holding the output so far and the next sequence number."""
    stream = responses_stream()
    events = stream.start()
    for item in TOOL_CHUNKS[:3]:
        events.extend(stream.feed(item))
    # ServerError's code is one the SDK's ResponseError Literal knows, so strict validation passes.
    [(name, data)] = stream.fail(ServerError())
    assert name == "response.failed"
    assert data["sequence_number"] == len(events)
    response = data["response"]
    assert response["status"] == "failed"
    assert response["error"] == {"code": "server_error", "message": ServerError.default_message}
    assert [(item["type"], item["status"]) for item in response["output"]] == [
        ("message", "completed"),
        ("function_call", "in_progress"),
    ]
    assert response["output"][1]["arguments"] == '{"city":'
    OPENAI_EVENT.validate_python(data)


def test_responses_failure_with_a_gateway_code_parses_leniently() -> None:
    """The SDK's default (non-strict) parsing accepts gateway codes outside its code Literal."""
    stream = responses_stream()
    stream.start()
    [(_, data)] = stream.fail(UpstreamTimeout())
    event = construct_type(type_=ResponseStreamEvent, value=data)
    assert isinstance(event, ResponseFailedEvent)
    assert event.response.error is not None
    assert str(event.response.error.code) == "upstream_timeout"


def test_responses_fail_before_output() -> None:
    """fail() right after start() carries an empty output."""
    stream = responses_stream()
    stream.start()
    [(_, data)] = stream.fail(UpstreamTimeout())
    assert data["sequence_number"] == 2
    assert data["response"]["output"] == []


def test_out_of_order_fragment_is_dropped() -> None:
    """A fragment for a tool call already closed produces no events in either dialect."""
    late = chunk(tool_delta(0, "x"))
    for stream in (messages_stream(), responses_stream()):
        stream.start()
        stream.feed(chunk(tool_delta(0, "{}", "c0", "a")))
        stream.feed(chunk(tool_delta(1, "{}", "c1", "b")))
        assert stream.feed(late) == []
