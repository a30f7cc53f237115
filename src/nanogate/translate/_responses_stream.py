"""Chat-completion chunks → OpenAI Responses stream events, as a sans-IO encoder.

The events follow the Responses API's order; each output item is closed
before the next one opens::

    response.created, response.in_progress,
    for text:       output_item.added, content_part.added, output_text.delta*,
                    output_text.done, content_part.done, output_item.done
    for each call:  output_item.added, function_call_arguments.delta*,
                    function_call_arguments.done, output_item.done
    response.completed | response.incomplete

The final response is built by :class:`~nanogate.translate._responses.ResponseShell`,
as on the non-streaming path. A failure ends the stream with
one ``response.failed`` carrying the output so far. Only choice 0 is read; a
fragment for a tool call already closed is dropped.
"""

from __future__ import annotations

from typing import Any

from nanogate.core._render import responses_stream_failed
from nanogate.errors import GatewayError
from nanogate.translate._chunks import ChunkEncoder, Event
from nanogate.translate._responses import (
    CallSegment,
    ResponseShell,
    Segment,
    TextSegment,
    response_usage,
    text_part,
)


class ResponsesStream(ChunkEncoder):
    """Encode one chat stream as one Responses API stream."""

    response: dict[str, Any] | None
    """The final response object, once :meth:`finish` has run."""

    def __init__(
        self, *, request: dict[str, Any], response_id: str, created_at: int, model: str
    ) -> None:
        super().__init__()
        self._shell = ResponseShell(request, response_id, created_at, model)
        self.response = None
        self._sequence = 0
        self._segments: list[Segment] = []
        """Items already closed, in output order."""
        self._call: tuple[str, str] = ("", "")
        """The open call's id and name."""
        self._buffer: list[str] = []
        """The open item's text or arguments so far."""
        self._here: dict[str, Any] = {}
        """The open item's ``item_id`` and ``output_index``, as its events carry them."""

    def start(self) -> list[Event]:
        """``response.created`` and ``response.in_progress``, both with empty output."""
        snapshot = self._shell.snapshot("in_progress", [])
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=snapshot),
        ]

    def finish(self, pricing: dict[str, Any] | None = None) -> list[Event]:
        """Close the open item, then ``response.completed`` (or ``.incomplete``),
        carrying ``x_nanogpt_pricing`` beside the response when given."""
        segments = list(self._segments)
        if self._open is not None:
            segments.append(self._segment())
        response = self._shell.final(segments, self.finish_reason, self.usage)
        events: list[Event] = []
        if self._open is not None:
            events = self._done(response["output"][-1], len(segments) - 1)
            self._open = None
        self.response = response
        name = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
        extra = {"x_nanogpt_pricing": pricing} if pricing is not None else {}
        events.append(self._event(name, response=response, **extra))
        return events

    def fail(self, err: GatewayError) -> list[Event]:
        """The terminal ``response.failed``, its response holding the output so far."""
        output = [
            self._shell.item(index, segment, "completed")
            for index, segment in enumerate(self._segments)
        ]
        if self._open is not None:
            output.append(self._open_item(content=True))
        snapshot = self._shell.snapshot("in_progress", output, response_usage(self.usage))
        data = responses_stream_failed(err, snapshot, self._sequence)
        self._sequence += 1
        return [("response.failed", data)]

    # Items -----------------------------------------------------------------------------

    def _start(self, item: str | int, call: dict[str, Any]) -> list[Event]:
        if item != "text":
            call_id = call.get("id") or f"call_{self._shell.response_id}_{item}"
            self._call = (call_id, (call.get("function") or {}).get("name") or "")
        return self._added()

    def _text_delta(self, text: str) -> list[Event]:
        self._buffer.append(text)
        return [
            self._event(
                "response.output_text.delta", **self._here, content_index=0, delta=text, logprobs=[]
            )
        ]

    def _arguments_delta(self, arguments: str) -> list[Event]:
        self._buffer.append(arguments)
        return [
            self._event("response.function_call_arguments.delta", **self._here, delta=arguments)
        ]

    def _added(self) -> list[Event]:
        index = len(self._segments)
        item = self._open_item(content=False)
        self._here = {"item_id": item["id"], "output_index": index}
        events = [self._event("response.output_item.added", output_index=index, item=item)]
        if self._open == "text":
            part = text_part("")
            events.append(
                self._event("response.content_part.added", **self._here, content_index=0, part=part)
            )
        return events

    def _close(self) -> list[Event]:
        """Close the open item as completed (it is not the last one of the response)."""
        if self._open is None:
            return []
        index = len(self._segments)
        segment = self._segment()
        self._segments.append(segment)
        self._open = None
        return self._done(self._shell.item(index, segment, "completed"), index)

    def _done(self, item: dict[str, Any], index: int) -> list[Event]:
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            part = item["content"][0]
            events = [
                self._event(
                    "response.output_text.done",
                    **where,
                    content_index=0,
                    text=part["text"],
                    logprobs=[],
                ),
                self._event("response.content_part.done", **where, content_index=0, part=part),
            ]
        else:
            events = [
                self._event(
                    "response.function_call_arguments.done", **where, arguments=item["arguments"]
                )
            ]
        self._buffer = []
        events.append(self._event("response.output_item.done", output_index=index, item=item))
        return events

    def _segment(self) -> Segment:
        if self._open == "text":
            return TextSegment("".join(self._buffer))
        return CallSegment(self._call[0], self._call[1], "".join(self._buffer))

    def _open_item(self, *, content: bool) -> dict[str, Any]:
        """The open item as in progress: with what it holds so far, or (when added) empty."""
        item = self._shell.item(len(self._segments), self._segment(), "in_progress")
        if not content:
            if item["type"] == "message":
                item["content"] = []
            else:
                item["arguments"] = ""
        return item

    def _event(self, name: str, **fields: Any) -> Event:
        data = {"type": name, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return (name, data)
