"""The upstream HTTP client over real sockets: bodies however they are framed, encoded
answers, keep-alive reuse, and the malformed or hostile answers it refuses."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ssl
import subprocess
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from nanogate.providers._wire import MAX_HEAD_BYTES, Pool, UpstreamConnectionError

Answer = Callable[[bytes], bytes]


async def serve(answer: Answer, close: bool = False) -> tuple[asyncio.Server, list[int]]:
    """A server answering each request (head and body read) with ``answer(request)``, and
    closing the connection after it when ``close``; the list counts the connections it
    accepted."""
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                writer.write(answer(head + body))
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, accepted


@pytest.fixture
async def pool_for() -> AsyncIterator[Callable[[Answer], asyncio.Future[Pool]]]:
    servers: list[asyncio.Server] = []
    pools: list[Pool] = []

    async def make(answer: Answer, close: bool = False) -> Pool:
        server, _ = await serve(answer, close)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        pool = Pool(f"http://127.0.0.1:{port}/v1", limit=4, connect_timeout_s=2)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.close()
    for server in servers:
        server.close()


def whole(body: bytes, *headers: str) -> bytes:
    head = "\r\n".join(["HTTP/1.1 200 OK", f"content-length: {len(body)}", *headers])
    return head.encode() + b"\r\n\r\n" + body


async def test_a_request_is_framed_and_its_answer_read_whole(pool_for: Callable) -> None:
    """The request carries the base URL's path, host, length and headers; the answer's
    status, headers and body come back, and the connection is reused for the next one."""
    seen: list[bytes] = []

    def answer(request: bytes) -> bytes:
        seen.append(request)
        return whole(b'{"ok": true}', "content-type: application/json", "x-thing: 1")

    pool = await pool_for(answer)
    for _ in range(2):
        response = await pool.post("/chat", {"authorization": "Bearer k"}, b'{"a":1}')
        assert (response.status, response.headers["X-Thing"]) == (200, "1")
        assert await response.read() == b'{"ok": true}'
    assert pool.opened == 1
    head = seen[0].split(b"\r\n")
    assert head[0] == b"POST /v1/chat HTTP/1.1"
    assert b"content-length: 7" in head and b"authorization: Bearer k" in head
    assert seen[0].endswith(b'{"a":1}')


async def test_chunked_and_gzip_bodies_are_decoded(pool_for: Callable) -> None:
    """A chunked body is decoded, the pieces that arrived together read in one step; a
    gzip-encoded one is decoded."""
    packed = gzip.compress(b"hello, upstream")

    def answer(request: bytes) -> bytes:
        if b"/chunked" in request:
            head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            return head + b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        return whole(packed, "content-encoding: gzip")

    pool = await pool_for(answer)
    streamed = await pool.post("/chunked", {}, b"{}")
    assert [piece async for piece in streamed.iter_chunks()] == [b"abcde"]
    encoded = await pool.post("/gzip", {}, b"{}")
    assert await encoded.read() == b"hello, upstream"


@pytest.mark.parametrize(
    "reply",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * (MAX_HEAD_BYTES + 1) + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-encoding: br\r\ncontent-length: 2\r\n\r\nzz",
    ],
    ids=["not-http", "cut-body", "huge-head", "unknown-encoding"],
)
async def test_malformed_answers_are_connection_errors(
    pool_for: Callable,
    reply: bytes,
) -> None:
    """A malformed, truncated (the upstream closes before its length), oversized or
    undecodable answer is an ``UpstreamConnectionError`` (a 503 for the client), never a
    hang or a crash."""

    def answer(request: bytes) -> bytes:
        return reply

    pool = await pool_for(answer, True)

    async def exchange() -> bytes:
        response = await pool.post("/x", {}, b"{}")
        try:
            return await response.read()
        finally:
            response.release()

    with pytest.raises(UpstreamConnectionError):
        async with asyncio.timeout(5):
            await exchange()


async def test_a_header_with_a_line_break_is_never_sent(pool_for: Callable) -> None:
    """A header value with CR or LF (a credential that would inject headers) is refused
    before anything is written."""
    pool = await pool_for(lambda request: whole(b"{}"))
    with pytest.raises(UpstreamConnectionError, match="line break"):
        await pool.post("/x", {"authorization": "Bearer k\r\nx-evil: 1"}, b"{}")
    assert pool.opened == 0


async def test_a_refused_connection_is_a_connection_error() -> None:
    """Nothing listening: an ``UpstreamConnectionError`` caused by the refusal."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    pool = Pool(f"http://127.0.0.1:{port}", limit=1, connect_timeout_s=2)
    with pytest.raises(UpstreamConnectionError) as caught:
        await pool.post("/x", {}, b"{}")
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


async def test_a_connection_the_upstream_closed_is_not_reused(pool_for: Callable) -> None:
    """An upstream that closes each connection after answering (without saying so): the
    next request opens a new connection instead of failing on the closed one."""
    pool = await pool_for(lambda request: whole(b"{}"), True)
    first = await pool.post("/x", {}, b"{}")
    assert await first.read() == b"{}"
    async with asyncio.timeout(5):
        while not all(connection.closed for connection in pool._idle):
            await asyncio.sleep(0.01)
    second = await pool.post("/x", {}, b"{}")
    assert await second.read() == b"{}"
    assert pool.opened == 2


async def test_an_https_upstream_is_verified_and_spoken_to_over_tls(tmp_path: Path) -> None:
    """An https base URL: the certificate is checked (a client that does not trust it is
    refused), and the exchange runs over TLS."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(cert, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(int(head.split(b"content-length: ")[1].split(b"\r\n")[0]))
            writer.write(whole(b'{"tls": true}'))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=served)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    trusting = ssl.create_default_context(cafile=str(cert))
    try:
        pool = Pool(url, limit=1, connect_timeout_s=5, tls=trusting)
        response = await pool.post("/x", {}, b"{}")
        assert await response.read() == b'{"tls": true}'
        await pool.close()
        with pytest.raises(UpstreamConnectionError) as caught:
            await Pool(url, limit=1, connect_timeout_s=5).post("/x", {}, b"{}")
        assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
    finally:
        server.close()


async def test_a_body_that_ends_with_the_connection_is_read_whole() -> None:
    """An answer with neither a length nor chunks (HTTP/1.0 style) ends when the upstream
    closes the connection: its body is read whole, and the connection is not reused."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + b'{"whole": true}')
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    pool = Pool(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", 1, 2)
    try:
        async with asyncio.timeout(5):
            response = await pool.post("/x", {}, b"")
            assert await response.read() == b'{"whole": true}'
        assert pool._idle == deque()
    finally:
        await pool.close()
        server.close()


async def test_a_connection_closed_before_the_request_fails_at_once() -> None:
    """An upstream that accepts and closes at once: the request fails with a connection
    error right away, not after a timeout."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    pool = Pool(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", 1, 2)
    try:
        with pytest.raises(UpstreamConnectionError):
            async with asyncio.timeout(5):
                response = await pool.post("/x", {}, b"{}")
                await response.read()
    finally:
        await pool.close()
        server.close()
