"""The HTTP edge over raw sockets: head size and time limits, idle and surplus
connections, malformed HTTP, and the memory a hostile client can make the gateway hold.

Every answer is the OpenAI envelope with ``X-Request-ID`` and ``Connection: close``;
the timeouts are configured small so that each test waits a second or less.
"""

from __future__ import annotations

import inspect
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import RawResponse, make_settings, request_head
from tests.live.test_serve import serving
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from nanogate.edge import EdgeProtocol
from nanogate.testing import ServedASGI

LIMIT = 65_536
MIB = 1024 * 1024


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


@contextmanager
def connection(url: str, timeout: float = 10.0) -> Iterator[socket.socket]:
    with socket.create_connection(address(url), timeout=timeout) as sock:
        yield sock


def read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes (or resets) the connection."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionError:
        pass
    return data


def parse(data: bytes) -> RawResponse:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(lines[0].split(" ")[1]), headers, body)


def exchange(url: str, data: bytes) -> RawResponse:
    """Send ``data`` on a fresh connection and read the answer up to the close."""
    with connection(url) as sock:
        sock.sendall(data)
        return parse(read_all(sock))


def assert_edge_answer(response: RawResponse, status: int, code: str) -> dict[str, Any]:
    """The answer is ``code`` in the OpenAI envelope, with a request id, the retry hint and
    ``Connection: close``."""
    assert response.status == status, response
    body = orjson.loads(response.body)
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert "param" in body["error"]
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["request-id"] == response.headers["x-request-id"]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["connection"] == "close"
    assert response.headers["x-should-retry"] in ("true", "false")
    return body


def head_of_size(size: int, path: str = "/healthz", *, close: bool = False) -> bytes:
    """A complete GET head of exactly ``size`` bytes, padded with one header."""
    connection = "connection: close\r\n" if close else ""
    start = f"GET {path} HTTP/1.1\r\nhost: gateway\r\n{connection}x-pad: ".encode()
    end = b"\r\n\r\n"
    head = start + b"a" * (size - len(start) - len(end)) + end
    assert len(head) == size
    return head


def wait_for_close(sock: socket.socket, timeout: float = 10.0) -> tuple[bytes, float]:
    """What the server sends before it closes the connection, and how long that took."""
    start = time.monotonic()
    data = read_all(sock, timeout)
    return data, time.monotonic() - start


def one_response(sock: socket.socket) -> RawResponse:
    """Read one response with a Content-Length body, leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a response: {data!r}"
        data += chunk
    response = parse(data)
    length = int(response.headers["content-length"])
    body = response.body
    while len(body) < length:
        body += sock.recv(65536)
    return RawResponse(response.status, response.headers, body)


# Head size ---------------------------------------------------------------------------


def test_a_head_one_byte_over_the_limit_gets_431(live: Live) -> None:
    """A request head of 64 KiB + 1 byte gets 431 request_header_fields_too_large in the
    OpenAI envelope, with X-Request-ID, x-should-retry: false and Connection: close."""
    response = exchange(live.url, head_of_size(LIMIT + 1))
    body = assert_edge_answer(response, 431, "request_header_fields_too_large")
    assert body["error"]["type"] == "invalid_request_error"
    assert response.headers["x-should-retry"] == "false"
    assert "65536" in body["error"]["message"]


def test_a_head_at_the_limit_is_served(live: Live) -> None:
    """A head of exactly 64 KiB reaches the app and is answered normally."""
    with connection(live.url) as sock:
        sock.sendall(head_of_size(LIMIT, "/api/v1/models"))
        response = one_response(sock)
    assert response.status == 200
    assert orjson.loads(response.body)["object"] == "list"


def test_a_head_sent_in_small_pieces_is_counted_across_reads(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """The limit counts the whole head however it is split: 2 KiB over a 4 KiB limit, sent
    500 bytes at a time, gets 431, and a head under it in pieces is served."""
    live = serve_gateway(make_settings(tmp_path, max_header_bytes=4096))
    for size, status in ((6144, 431), (4096, 200)):
        head = head_of_size(size)
        with connection(live.url) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                for start in range(0, len(head), 500):
                    sock.sendall(head[start : start + 500])
                    time.sleep(0.002)
            except ConnectionError:
                pass
            response = one_response(sock)
        assert response.status == status


def test_the_header_limit_is_configurable(serve_gateway: LiveFactory, tmp_path: Path) -> None:
    """[server] max_header_bytes moves the limit both ways."""
    small = serve_gateway(make_settings(tmp_path, max_header_bytes=2048))
    assert exchange(small.url, head_of_size(2049)).status == 431
    assert exchange(small.url, head_of_size(2048, close=True)).status == 200
    large = serve_gateway(make_settings(tmp_path, max_header_bytes=256 * 1024))
    assert exchange(large.url, head_of_size(200 * 1024, close=True)).status == 200


# Memory ------------------------------------------------------------------------------


def flood(url: str, start: bytes, megabytes: int, end: bytes, out: list[bytes]) -> None:
    """Send ``start``, ``megabytes`` MiB of header value and ``end`` as fast as the server
    reads them, then read the answer, whatever happened to the sending."""
    piece = memoryview(b"a" * MIB)
    with connection(url, timeout=60) as sock:
        try:
            sock.sendall(start)
            for _ in range(megabytes):
                sock.sendall(piece)
            sock.sendall(end)
        except OSError:
            pass  # the server answered and closed while there was more to send
        out.append(read_all(sock, 60))


def rss_peak_since_reset(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def test_huge_heads_are_refused_and_memory_stays_bounded(tmp_path: Path) -> None:
    """A 64 MiB header and ten concurrent connections each sending a 48 MiB head, as fast
    as the gateway reads, all get 431, and the gateway process's peak RSS grows by less
    than 50 MB (it grew by hundreds of MB when heads were buffered whole)."""
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[server]\ncreate_demo_account = false\n\n[database]\nurl = "sqlite:///{tmp_path}/g.db"\n'
    )
    with serving(tmp_path, "--config", str(config)) as run:
        pid = run.process.pid
        assert httpx.get(run.url + "/api/v1/models").status_code == 200
        before, _ = rss_peak_since_reset(pid)
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # restart the peak (VmHWM) here
        start = b"GET /api/v1/models HTTP/1.1\r\nhost: gateway\r\nx-pad: "
        answers: list[bytes] = []
        threads = [threading.Thread(target=flood, args=(run.url, start, 64, b"\r\n\r\n", answers))]
        threads += [
            threading.Thread(target=flood, args=(run.url, start, 48, b"", answers))
            for _ in range(10)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        _, peak = rss_peak_since_reset(pid)
        assert len(answers) == 11
        for answer in answers:
            assert_edge_answer(parse(answer), 431, "request_header_fields_too_large")
        assert peak - before < 50 * 1000 * 1000, (before, peak)
        assert httpx.get(run.url + "/api/v1/models").status_code == 200


# Head deadline, idle connections -------------------------------------------------------


def test_a_slow_head_is_cut_off_with_408(serve_gateway: LiveFactory, tmp_path: Path) -> None:
    """A head sent one header line every 0.3 s gets 408 request_timeout once the header
    timeout (1 s here) has passed since the connection opened, and no sooner."""
    live = serve_gateway(make_settings(tmp_path, header_timeout_s=1.0))
    with connection(live.url) as sock:
        opened = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        sock.settimeout(0.3)
        data = b""
        for line in range(40):  # 12 s of lines at most
            try:
                data = sock.recv(65536)
                break
            except TimeoutError:
                sock.sendall(f"x-line-{line}: slow\r\n".encode())
        waited = time.monotonic() - opened
        data += read_all(sock)
    body = assert_edge_answer(parse(data), 408, "request_timeout")
    assert body["error"]["type"] == "timeout_error"
    assert 0.95 <= waited < 6, waited


def test_a_silent_connection_is_closed_at_the_header_deadline(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """A connection that sends nothing is closed, without an answer, when the header
    timeout passes."""
    live = serve_gateway(make_settings(tmp_path, header_timeout_s=0.5))
    with connection(live.url) as sock:
        data, waited = wait_for_close(sock)
    assert data == b""
    assert 0.45 <= waited < 5, waited


def test_many_silent_connections_are_all_closed(serve_gateway: LiveFactory, tmp_path: Path) -> None:
    """Two hundred connections that send nothing are all closed at the header deadline,
    and the gateway serves a request afterwards."""
    live = serve_gateway(make_settings(tmp_path, header_timeout_s=0.5))
    socks = [socket.create_connection(address(live.url), timeout=10) for _ in range(200)]
    try:
        for sock in socks:
            assert read_all(sock) == b""
    finally:
        for sock in socks:
            sock.close()
    assert httpx.get(live.url + "/healthz").status_code == 200


def test_an_idle_keepalive_connection_is_closed(serve_gateway: LiveFactory, tmp_path: Path) -> None:
    """After a response, a kept-alive connection serves the next request sent in time,
    and is closed (without an answer) once it has been idle for keepalive_timeout_s."""
    live = serve_gateway(make_settings(tmp_path, keepalive_timeout_s=0.5, header_timeout_s=5.0))
    with connection(live.url) as sock:
        sock.sendall(request_head("GET", "/healthz", {}))
        assert one_response(sock).status == 200
        sock.sendall(request_head("GET", "/healthz", {}))
        assert one_response(sock).status == 200
        data, waited = wait_for_close(sock)
    assert data == b""
    assert 0.45 <= waited < 4, waited


def partial_head_after_a_response(live: Live, idle_s: float, partial: bytes) -> tuple[bytes, float]:
    """On a kept-alive connection: one served request, ``idle_s`` of silence, then the
    start of a head that never ends; what the gateway sends, and how long after the
    partial head it closed."""
    with connection(live.url) as sock:
        sock.sendall(request_head("GET", "/healthz", {}))
        assert one_response(sock).status == 200
        time.sleep(idle_s)
        sock.sendall(partial)
        began = time.monotonic()
        data, _ = wait_for_close(sock)
        return data, time.monotonic() - began


def test_a_keepalive_longer_than_the_header_timeout_still_cuts_slow_heads(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """With keepalive_timeout_s above header_timeout_s, an idle connection stays open for
    the keep-alive time, and a head begun on it is still cut off at its own deadline."""
    live = serve_gateway(make_settings(tmp_path, keepalive_timeout_s=1.5, header_timeout_s=0.5))
    with connection(live.url) as sock:
        sock.sendall(request_head("GET", "/healthz", {}))
        assert one_response(sock).status == 200
        data, waited = wait_for_close(sock)
    assert data == b"" and 1.45 <= waited < 5, waited
    # idle past the header timeout, within the keep-alive
    data, waited = partial_head_after_a_response(live, 0.7, b"GET /healthz HTTP/1.1\r\n")
    assert_edge_answer(parse(data), 408, "request_timeout")
    assert 0.45 <= waited < 4, waited


def test_a_stalled_head_on_a_kept_alive_connection_gets_408(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """On a kept-alive connection the head deadline runs from the head's first byte: a
    partial head that stalls gets 408 at the header timeout, not a silent close at the
    keep-alive one."""
    live = serve_gateway(make_settings(tmp_path, keepalive_timeout_s=0.3, header_timeout_s=1.0))
    partial = b"GET /healthz HTTP/1.1\r\nhost: gateway\r\n"
    data, waited = partial_head_after_a_response(live, 0.1, partial)
    assert_edge_answer(parse(data), 408, "request_timeout")
    assert 0.95 <= waited < 5, waited


def test_a_body_dripped_after_an_early_answer_cannot_hold_the_connection(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """A request answered before its body was read (here a GET announcing a gigabyte)
    has the rest of its body dropped for the keep-alive time only: a byte every 0.1 s
    does not keep the connection open past it."""
    live = serve_gateway(make_settings(tmp_path, keepalive_timeout_s=0.5, header_timeout_s=2.0))
    with connection(live.url) as sock:
        sock.sendall(request_head("GET", "/healthz", {"content-length": str(10**9)}))
        assert one_response(sock).status == 200
        began = time.monotonic()
        closed = False
        while not closed and time.monotonic() - began < 5:
            try:
                sock.sendall(b"x")
                sock.settimeout(0.1)
                closed = sock.recv(65536) == b""
            except TimeoutError:
                pass
            except ConnectionError:
                closed = True
        waited = time.monotonic() - began
    assert closed and waited < 2.5, waited


def pipelined_stream(live: Live, after: bytes) -> bytes:
    """Send a streamed chat request that takes about a second to answer and, while it
    streams, ``after`` on the same connection; everything read up to the close."""
    body = orjson.dumps(
        {
            "model": "local/chat",
            "stream": True,
            "messages": [{"role": "user", "content": "one two three four five six"}],
        }
    )
    head = request_head(
        "POST",
        "/api/v1/chat/completions",
        {**live.auth(), "content-type": "application/json", "content-length": str(len(body))},
    )
    with connection(live.url) as sock:
        sock.sendall(head + body)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        sock.sendall(after)
        return first + read_all(sock)


@pytest.mark.parametrize(
    "after",
    [b"NOT HTTP AT ALL\r\n\r\n", head_of_size(LIMIT + 1)],
    ids=["malformed", "too-large"],
)
def test_a_bad_request_pipelined_behind_a_running_one_is_answered_after_it(
    serve_gateway: LiveFactory, tmp_path: Path, after: bytes
) -> None:
    """A bad request sent while the one before it on the connection is still streaming
    does not cut that stream: it is answered whole, then the bad one gets its error."""
    settings = make_settings(tmp_path)
    providers = tuple(p.model_copy(update={"stream_delay_ms": 100.0}) for p in settings.providers)
    live = serve_gateway(settings.model_copy(update={"providers": providers}))
    data = pipelined_stream(live, after)
    done = data.find(b"data: [DONE]")
    answer = data.find(b"HTTP/1.1 4", done)
    assert done > 0 and answer > done, data[-600:]
    status, code = (
        (400, "malformed_request")
        if after.startswith(b"NOT")
        else (431, "request_header_fields_too_large")
    )
    assert_edge_answer(parse(data[answer:]), status, code)


def test_slow_bodies_and_long_streams_are_not_cut_by_the_head_deadline(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """The header deadline covers the head only: a body sent over a second and a stream
    that lasts a second, both past a 0.3 s header timeout, are served whole."""
    settings = make_settings(tmp_path, header_timeout_s=0.3, keepalive_timeout_s=0.3)
    providers = tuple(p.model_copy(update={"stream_delay_ms": 100.0}) for p in settings.providers)
    live = serve_gateway(settings.model_copy(update={"providers": providers}))
    body = orjson.dumps(
        {"model": "local/chat", "messages": [{"role": "user", "content": "one two three"}]}
    )
    head = request_head(
        "POST",
        "/api/v1/chat/completions",
        {**live.auth(), "content-type": "application/json", "content-length": str(len(body))},
    )
    with connection(live.url) as sock:
        sock.sendall(head)
        for start in range(0, len(body), len(body) // 4 + 1):
            time.sleep(0.25)
            sock.sendall(body[start : start + len(body) // 4 + 1])
        response = one_response(sock)
    assert response.status == 200, response
    assert "one two three" in orjson.loads(response.body)["choices"][0]["message"]["content"]
    began = time.monotonic()
    with httpx.Client(base_url=live.url, headers=live.auth(), timeout=30) as client:
        with client.stream(
            "POST",
            "/api/v1/chat/completions",
            json={**orjson.loads(body), "stream": True},
        ) as stream:
            assert stream.status_code == 200
            text = "".join(stream.iter_text())
    assert time.monotonic() - began > 0.6
    assert text.rstrip().endswith("data: [DONE]")


# Connection cap ----------------------------------------------------------------------


def test_connections_over_the_cap_get_503_and_never_reach_the_app(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """With max_connections = 2 and two connections open, a third one's request gets 503
    service_unavailable with Retry-After and Connection: close; once one of the two has
    closed, a new connection is served."""
    live = serve_gateway(make_settings(tmp_path, max_connections=2, keepalive_timeout_s=5.0))
    holders = [socket.create_connection(address(live.url), timeout=10) for _ in range(2)]
    try:
        for sock in holders:
            sock.sendall(request_head("GET", "/healthz", {}))
            assert one_response(sock).status == 200
        response = exchange(live.url, request_head("GET", "/api/v1/models", live.auth()))
        body = assert_edge_answer(response, 503, "service_unavailable")
        assert "connections" in body["error"]["message"]
        assert response.headers["retry-after"] == "1"
        assert response.headers["x-should-retry"] == "true"
    finally:
        holders[0].close()
    deadline = time.monotonic() + 10
    while (
        exchange(live.url, request_head("GET", "/healthz", {"connection": "close"})).status != 200
    ):
        assert time.monotonic() < deadline, "a freed connection slot was never reused"
        time.sleep(0.05)
    holders[1].close()


# Malformed HTTP ----------------------------------------------------------------------


MALFORMED = {
    "bad-request-line": b"GARBAGE\r\n\r\n",
    "bad-http-version": b"GET /healthz HTTP/9.9\r\nhost: gateway\r\n\r\n",
    "negative-content-length": (
        b"POST /api/v1/chat/completions HTTP/1.1\r\nhost: gateway\r\ncontent-length: -1\r\n\r\n"
    ),
    "content-length-and-chunked": (
        b"POST /api/v1/chat/completions HTTP/1.1\r\nhost: gateway\r\ncontent-length: 3\r\n"
        b"transfer-encoding: chunked\r\n\r\nabc"
    ),
    "duplicate-content-length": (
        b"POST /api/v1/chat/completions HTTP/1.1\r\nhost: gateway\r\ncontent-length: 1\r\n"
        b"content-length: 2\r\n\r\nab"
    ),
    "space-in-header-name": b"GET /healthz HTTP/1.1\r\nbad header: x\r\n\r\n",
    "control-char-in-header-value": b"GET /healthz HTTP/1.1\r\nx-bad: a\x01b\r\n\r\n",
    "control-char-in-path": b"GET /health\x01z HTTP/1.1\r\nhost: gateway\r\n\r\n",
    "bad-chunk-size": (
        b"POST /api/v1/chat/completions HTTP/1.1\r\nhost: gateway\r\n"
        b"transfer-encoding: chunked\r\n\r\nzz\r\n"
    ),
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_http_gets_400_in_the_envelope(live: Live, data: bytes) -> None:
    """Bytes that are not HTTP/1.1 get 400 malformed_request in the OpenAI envelope with
    X-Request-ID and Connection: close, not uvicorn's plain text."""
    body = assert_edge_answer(exchange(live.url, data), 400, "malformed_request")
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("The request is not valid HTTP/1.1")


def test_malformed_http_after_a_good_request_is_answered_on_the_same_connection(
    live: Live,
) -> None:
    """A kept-alive connection that sends garbage after a served request gets the 400
    envelope, and the gateway goes on serving."""
    with connection(live.url) as sock:
        sock.sendall(request_head("GET", "/healthz", {}))
        assert one_response(sock).status == 200
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert_edge_answer(parse(read_all(sock)), 400, "malformed_request")
    assert httpx.get(live.url + "/healthz").status_code == 200


# uvicorn compatibility ---------------------------------------------------------------


RELIED_ON = (
    "connection_made",
    "data_received",
    "on_headers_complete",
    "on_message_complete",
    "on_response_complete",
    "timeout_keep_alive_handler",
    "_unset_keepalive_if_required",
    "_should_upgrade",
    "handle_websocket_upgrade",
    "_unsupported_upgrade_warning",
)


def test_the_installed_uvicorn_has_what_the_edge_builds_on() -> None:
    """uvicorn's httptools protocol still takes (config, server_state, app_state, _loop)
    and has every method the edge overrides or calls."""
    parameters = list(inspect.signature(HttpToolsProtocol.__init__).parameters)
    assert parameters == ["self", "config", "server_state", "app_state", "_loop"]
    for name in RELIED_ON:
        assert callable(getattr(HttpToolsProtocol, name, None)), name


class Recording(EdgeProtocol):
    """The edge protocol, noting which of its hooks uvicorn calls."""

    calls: set[str] = set()

    def connection_made(self, transport: Any) -> None:
        self.calls.add("connection_made")
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.calls.add("data_received")
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self.calls.add("on_headers_complete")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.calls.add("on_message_complete")
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self.calls.add("on_response_complete")
        super().on_response_complete()

    def timeout_keep_alive_handler(self) -> None:
        self.calls.add("timeout_keep_alive_handler")
        super().timeout_keep_alive_handler()


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


def test_uvicorn_calls_every_hook_of_the_edge() -> None:
    """Served by this uvicorn, a kept-alive request and its idle close go through each hook
    the edge overrides (a uvicorn that stopped calling one would lose a bound)."""
    from functools import partial

    from nanogate.edge import EdgeLimits

    Recording.calls = set()
    limits = EdgeLimits(keepalive_timeout_s=0.2)
    with ServedASGI(hello, http=partial(Recording, limits=limits)) as served:
        with connection(served.url) as sock:
            sock.sendall(request_head("GET", "/", {}))
            assert one_response(sock).body == b"ok"
            assert wait_for_close(sock)[0] == b""
    assert Recording.calls == {
        "connection_made",
        "data_received",
        "on_headers_complete",
        "on_message_complete",
        "on_response_complete",
        "timeout_keep_alive_handler",
    }


class CountedWrites(EdgeProtocol):
    """The edge protocol over a transport that notes each write."""

    writes: list[bytes] = []

    def connection_made(self, transport: Any) -> None:
        writes = self.writes

        class Counted:
            def write(self, data: bytes) -> None:
                writes.append(bytes(data))
                transport.write(data)

            def __getattr__(self, name: str) -> Any:
                return getattr(transport, name)

        super().connection_made(Counted())


def test_an_answer_with_a_length_is_one_write() -> None:
    """Served by the edge, each answer with a ``Content-Length`` leaves in one write
    (head and body together), request after request on a kept-alive connection."""
    from functools import partial

    from nanogate.edge import EdgeLimits

    CountedWrites.writes = []
    with ServedASGI(hello, http=partial(CountedWrites, limits=EdgeLimits())) as served:
        with connection(served.url) as sock:
            for _ in range(3):
                sock.sendall(request_head("GET", "/", {}))
                assert one_response(sock).body == b"ok"
    assert len(CountedWrites.writes) == 3
    for write in CountedWrites.writes:
        assert write.startswith(b"HTTP/1.1 200 OK\r\n") and write.endswith(b"\r\n\r\nok")
