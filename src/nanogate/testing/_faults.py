"""The faults a :class:`~nanogate.testing.FakeUpstream` can inject, as one value object.

A fault says *what* goes wrong; the fake renders it in the dialect of the route
it hits (OpenAI error bodies on OpenAI routes, Anthropic ones on ``/v1/messages``).
Every fault is usable on every route. Faults that act on a stream (``cut``,
``truncate``, ``event``, ``error_event``, ``oversized``) count SSE events with
``after``; a negative ``after`` counts from the end, so ``truncate(after=-1)``
is the whole stream but its terminal event. On a non-streamed answer they act on
the body instead:

==============  ======================================  ====================================
fault           streamed answer                         whole answer
==============  ======================================  ====================================
status_error    the HTTP error, before any event        the HTTP error
delay           first byte late, then the answer        the same
reset           connection aborted before a byte        the same
cut             ``after`` events, then aborted          half the body, then aborted
truncate        ``after`` events, then a clean end      half the body (malformed JSON)
malformed       the first event is not JSON             a body that is not JSON
event           ``after`` events, a raw ``data:`` line  the raw data as the body
error_event     ``after`` events, an in-band error      the HTTP error of its status
oversized       ``after`` events, an over-long line     a body padded past the line limit
empty           an answer with no content               the same
refusal         no content, content-filter finish       the same
context_length  400 in the dialect's words              the same
content_filter  400 content filter, dialect's words     the same
drip            every event ``pause`` s apart           the body in pieces, ``pause`` apart
==============  ======================================  ====================================
"""

from __future__ import annotations

from dataclasses import dataclass

SSE_LINE_LIMIT = 16 * 1024 * 1024
"""The gateway's SSE line limit (:class:`~nanogate.core.SSEDecoder`'s default)."""

OVERSIZED_LINE = SSE_LINE_LIMIT + 1024 * 1024
"""An oversized line's default length: past the limit by more than any read, so the
limit trips before the line's end arrives."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected failure; build it with a class method."""

    kind: str
    status: int = 0
    seconds: float = 0.0
    after: int = 0
    retry_after: int | None = None
    message: str = "upstream failure"
    code: str | None = None
    data: bytes = b""
    size: int = 0

    @classmethod
    def status_error(
        cls,
        status: int,
        *,
        retry_after: int | None = None,
        message: str = "upstream failure",
        code: str | None = None,
    ) -> Fault:
        """An HTTP error (500, 503, 429 with ``Retry-After``...) with the dialect's body."""
        return cls("status", status=status, retry_after=retry_after, message=message, code=code)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """A slow first byte: wait ``seconds``, then answer normally."""
        return cls("delay", seconds=seconds)

    @classmethod
    def reset(cls) -> Fault:
        """Abort the connection before the first byte."""
        return cls("reset")

    @classmethod
    def cut(cls, after: int) -> Fault:
        """Send ``after`` events, then abort the connection."""
        return cls("cut", after=after)

    @classmethod
    def truncate(cls, after: int = -1) -> Fault:
        """Send ``after`` events, then end cleanly without the terminal event."""
        return cls("truncate", after=after)

    @classmethod
    def malformed(cls) -> Fault:
        """A 200 whose body (or first event) is not JSON."""
        return cls("malformed")

    @classmethod
    def event(cls, after: int, data: bytes) -> Fault:
        """Send ``after`` events, then one raw ``data:`` line carrying ``data``, then end."""
        return cls("event", after=after, data=data)

    @classmethod
    def error_event(
        cls, after: int = 2, *, status: int = 503, message: str = "upstream failure"
    ) -> Fault:
        """Send ``after`` events, then the dialect's in-band error event, then end."""
        return cls("error_event", after=after, status=status, message=message)

    @classmethod
    def oversized(cls, after: int = 2, size: int = OVERSIZED_LINE) -> Fault:
        """Send ``after`` events, then a ``data:`` line of ``size`` bytes, then the rest."""
        return cls("oversized", after=after, size=size)

    @classmethod
    def empty(cls) -> Fault:
        """A 200 with empty content (an empty list of results, vectors...)."""
        return cls("empty")

    @classmethod
    def refusal(cls) -> Fault:
        """A 200 with no content whose finish is the content filter (OpenAI
        ``finish_reason: content_filter``; Anthropic ``stop_reason: refusal``)."""
        return cls("refusal")

    @classmethod
    def context_length(cls) -> Fault:
        """A 400 saying the prompt is over the context window, in the dialect's words."""
        return cls("status", status=400, code="context_length_exceeded")

    @classmethod
    def content_filter(cls) -> Fault:
        """A 400 saying the content filter blocked the request, in the dialect's words."""
        return cls("status", status=400, code="content_filter")

    @classmethod
    def drip(cls, pause: float) -> Fault:
        """A slow stream: ``pause`` seconds before each event after the first."""
        return cls("drip", seconds=pause)
