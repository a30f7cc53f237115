"""One write per response: uvicorn's own response cycle, writing through a held head."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from nanogate.edge._oneshot import HeldHead


class Wire:
    """A transport that keeps each write apart."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.gathered = 0
        """Writes made with ``writelines`` (pieces sent together, not joined first)."""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def writelines(self, pieces: Any) -> None:
        self.writes.append(b"".join(pieces))
        self.gathered += 1

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def cycle_on(wire: Wire, method: str = "POST", expect_100: bool = False) -> RequestResponseCycle:
    """A response cycle for one request, its transport the held head over ``wire``."""
    log = logging.getLogger("test")
    cycle = RequestResponseCycle(
        scope={"type": "http", "method": method, "path": "/"},
        transport=wire,  # type: ignore[arg-type]
        flow=FlowControl(wire),  # type: ignore[arg-type]
        logger=log,
        access_logger=log,
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=expect_100,
        keep_alive=True,
        on_response=lambda: None,
    )
    cycle.transport = HeldHead(wire, cycle)  # type: ignore[arg-type,assignment]
    return cycle


def start(length: int | None) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http.response.start", "status": 200, "headers": headers}


async def test_a_response_with_a_length_leaves_in_one_write() -> None:
    """Head and body of a ``Content-Length`` answer are one write, byte for byte what
    uvicorn's two writes would have been."""
    wire = Wire()
    cycle = cycle_on(wire)
    await cycle.send(start(2))
    assert wire.writes == []
    await cycle.send({"type": "http.response.body", "body": b"{}"})
    assert len(wire.writes) == 1
    assert wire.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert wire.writes[0].endswith(b"content-length: 2\r\n\r\n{}")
    assert cycle.response_complete


async def test_a_stream_head_leaves_at_once() -> None:
    """A chunked answer's head is written when the response starts: its first event may
    be far off, and the client waits on the status."""
    wire = Wire()
    cycle = cycle_on(wire)
    await cycle.send(start(None))
    assert len(wire.writes) == 1 and wire.writes[0].endswith(b"transfer-encoding: chunked\r\n\r\n")
    await cycle.send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
    await cycle.send({"type": "http.response.body", "body": b""})
    assert wire.writes[1:] == [b"9\r\ndata: 1\n\n\r\n", b"0\r\n\r\n"]


async def test_a_head_request_is_answered_at_once() -> None:
    """The answer to ``HEAD`` has a length but no body write: its head is not held."""
    wire = Wire()
    cycle = cycle_on(wire, method="HEAD")
    await cycle.send(start(2))
    assert len(wire.writes) == 1
    await cycle.send({"type": "http.response.body", "body": b""})
    assert len(wire.writes) == 1 and cycle.response_complete


async def test_a_100_continue_is_not_taken_for_the_head() -> None:
    """``100 Continue``, written before the response starts, goes out at once, and the
    head after it is still held for the body."""
    wire = Wire()
    cycle = cycle_on(wire, expect_100=True)
    cycle.more_body = False
    cycle.message_event.set()  # the body has arrived
    await cycle.receive()
    assert wire.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    await cycle.send(start(2))
    assert len(wire.writes) == 1
    await cycle.send({"type": "http.response.body", "body": b"ok"})
    assert len(wire.writes) == 2 and wire.writes[1].endswith(b"\r\n\r\nok")


HEAD_9 = b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n"


def holding_a_head(wire: Wire) -> Any:
    """The held head over ``wire`` of a response that has written its head, not its body."""
    cycle = cycle_on(wire)
    cycle.response_started = True
    cycle.chunked_encoding = False
    held = cycle.transport
    held.write(HEAD_9)
    return held


def test_closing_writes_a_held_head_first() -> None:
    """An app that fails after starting its answer: uvicorn closes the connection, and
    the head it had written still reaches the client before the close."""
    wire = Wire()
    held = holding_a_head(wire)
    assert wire.writes == []
    held.close()
    assert wire.writes == [HEAD_9] and wire.closed
    assert held.get_extra_info("peername") == ("127.0.0.1", 1)


async def test_a_large_body_leaves_with_its_head_without_a_copy() -> None:
    """A body over 64 KiB goes with its head in one ``writelines`` call."""
    wire = Wire()
    cycle = cycle_on(wire)
    body = b"x" * (200 * 1024)
    await cycle.send(start(len(body)))
    await cycle.send({"type": "http.response.body", "body": body})
    assert len(wire.writes) == 1 and wire.writes[0].endswith(b"\r\n\r\n" + body)
    assert wire.gathered == 1


def test_a_held_head_is_dropped_when_the_connection_is_gone() -> None:
    """Closing a connection that is closing already (the client went away) writes
    nothing: uvloop refuses writes to a closed handle."""
    wire = Wire()
    held = holding_a_head(wire)
    wire.closed = True
    held.close()
    assert wire.writes == []
