"""One write per response: a response head held for its body.

uvicorn writes a response's head (status line and headers) and its body with two
``transport.write`` calls. On loopback and in virtual machines a write is a
system call that wakes the reader, which costs more than the rest of sending a
small answer. :class:`HeldHead` is the transport as one response cycle sees it:
the head of a response with a ``Content-Length`` is held until the body's first
write and leaves with it, so a whole JSON answer is one write and one TCP
segment.

Only a head with a ``Content-Length`` is held, because its body is already known
to the app (a ``Response`` sends both at once). A chunked head (a stream, whose
first event may be seconds away) and the head of a ``HEAD`` answer, which has no
body, are written at once. A held head is written before anything else reaches
the transport: a ``close()`` (an app that fails after starting its answer) writes
it first, as uvicorn did, unless the connection is closing already (the client is
gone, and a closed transport refuses writes). A body over :data:`COPY_LIMIT` is
written beside its head (``writelines``) rather than copied onto it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle


COPY_LIMIT = 64 * 1024
"""A body up to this size is joined to its head; a larger one is written beside it."""


class HeldHead:
    """``transport`` for ``cycle``: its first write after the response started (the
    head) is held when the head declares a ``Content-Length``; the next write or
    ``close()`` sends it first."""

    __slots__ = ("_cycle", "_head", "_started", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self._transport = transport
        self._cycle = cycle
        self._head: bytes | None = None
        self._started = False

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            if len(data) > COPY_LIMIT:
                self._transport.writelines((head, data))  # one write, no copy of the body
            else:
                self._transport.write(head + data)
            return
        if not self._started:
            cycle = self._cycle
            if cycle.response_started:  # this write is the head (else a 100 Continue)
                self._started = True
                if cycle.chunked_encoding is False and cycle.scope["method"] != "HEAD":
                    self._head = data
                    return
        self._transport.write(data)

    def close(self) -> None:
        head = self._head
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)
        self._head = None
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


__all__ = ["HeldHead"]
