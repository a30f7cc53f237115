"""The HTTP edge without a server: its answers' bytes, its limits and their settings."""

from __future__ import annotations

import functools
import pickle
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from nanogate.config import ConfigError, ServerSettings, load_settings
from nanogate.core import render_error
from nanogate.edge import EdgeLimits, EdgeProtocol, edge_response, uvicorn_options
from nanogate.errors import (
    MalformedRequest,
    RequestHeaderFieldsTooLarge,
    RequestTimeout,
    ServiceUnavailable,
)


def split(raw: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = [(name, value) for name, _, value in (line.partition(": ") for line in lines)]
    return status, headers, body


def test_an_edge_answer_is_the_openai_envelope_with_its_headers() -> None:
    """The 431 answer: its status line, the OpenAI envelope as body with a matching
    Content-Length, the request id under both SDKs' names, the retry hint and
    Connection: close."""
    err = RequestHeaderFieldsTooLarge()
    status, headers, body = split(edge_response(err, "req_1"))
    assert status == "HTTP/1.1 431 Request Header Fields Too Large"
    assert orjson.loads(body) == render_error(err, "openai")
    assert headers == [
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("x-request-id", "req_1"),
        ("request-id", "req_1"),
        ("x-should-retry", "false"),
        ("connection", "close"),
    ]


def test_an_edge_answer_carries_the_servers_headers_and_retry_after() -> None:
    """uvicorn's default headers (Date) come first, and a 503 with a wait sends Retry-After."""
    err = ServiceUnavailable("busy", retry_after=1)
    date = (b"date", b"Wed, 02 Dec 2026 10:00:00 GMT")
    status, headers, body = split(edge_response(err, "req_2", [date]))
    assert status == "HTTP/1.1 503 Service Unavailable"
    assert headers[0] == ("date", "Wed, 02 Dec 2026 10:00:00 GMT")
    assert ("retry-after", "1") in headers and ("x-should-retry", "true") in headers
    assert orjson.loads(body)["error"] == {
        "message": "busy",
        "type": "service_unavailable",
        "code": "service_unavailable",
        "param": None,
    }


@pytest.mark.parametrize(
    ("err", "line"),
    [
        (MalformedRequest(), "HTTP/1.1 400 Bad Request"),
        (RequestTimeout(), "HTTP/1.1 408 Request Timeout"),
    ],
    ids=["400", "408"],
)
def test_every_edge_status_has_its_reason_phrase(err: MalformedRequest, line: str) -> None:
    """The other edge answers have their standard status lines."""
    assert split(edge_response(err, "req_3"))[0] == line


def test_the_limits_follow_the_server_settings() -> None:
    """EdgeLimits takes each bound from the [server] key of the same name."""
    server = ServerSettings(
        max_header_bytes=4096, header_timeout_s=2.5, keepalive_timeout_s=1, max_connections=0
    )
    assert EdgeLimits.from_settings(server) == EdgeLimits(4096, 2.5, 1.0, 0)
    assert EdgeLimits.from_settings(ServerSettings()) == EdgeLimits()


def test_the_uvicorn_options_survive_pickling_into_workers() -> None:
    """The protocol factory is a partial of module-level names, so `serve --workers N`
    can pickle it into each worker process, limits included."""
    options = uvicorn_options(ServerSettings(max_header_bytes=2048))
    factory = pickle.loads(pickle.dumps(options["http"]))
    assert isinstance(factory, functools.partial)
    assert factory.func is EdgeProtocol
    assert factory.keywords == {"limits": EdgeLimits(max_header_bytes=2048)}
    assert options["loop"] == "uvloop" and options["ws"] == "none"


def test_the_edge_loads_without_the_gateway() -> None:
    """Importing nanogate.edge loads neither the gateway nor its settings: a worker of
    `serve --workers N` imports it to unpickle its configuration before it can answer the
    supervisor's health checks, which kill a worker that is silent for 5 s."""
    probe = (
        "import json, sys, nanogate.edge; "
        "print(json.dumps([m for m in sys.modules if m.startswith(('nanogate.', 'pydantic'))]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded = {
        name.split(".")[1] if name.startswith("nanogate.") else name for name in orjson.loads(out)
    }
    assert loaded <= {"_version", "core", "edge", "errors"}, loaded


# Settings ----------------------------------------------------------------------------


def test_the_edge_defaults() -> None:
    """64 KiB heads, 10 s for a head, 5 s of keep-alive, 2048 connections per worker."""
    server = load_settings(env={}).server
    assert (
        server.max_header_bytes,
        server.header_timeout_s,
        server.keepalive_timeout_s,
        server.max_connections,
    ) == (65_536, 10.0, 5.0, 2048)


def test_the_edge_settings_have_env_overrides() -> None:
    """NANOGATE_SERVER_* overrides each edge key, parsed to its type."""
    env = {
        "NANOGATE_SERVER_MAX_HEADER_BYTES": "131072",
        "NANOGATE_SERVER_HEADER_TIMEOUT_S": "2.5",
        "NANOGATE_SERVER_KEEPALIVE_TIMEOUT_S": "75",
        "NANOGATE_SERVER_MAX_CONNECTIONS": "0",
    }
    server = load_settings(env=env).server
    assert server.max_header_bytes == 131_072
    assert server.header_timeout_s == 2.5
    assert server.keepalive_timeout_s == 75.0
    assert server.max_connections == 0


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("max_header_bytes = 100", "server.max_header_bytes"),
        ("header_timeout_s = 0", "server.header_timeout_s"),
        ("keepalive_timeout_s = -1", "server.keepalive_timeout_s"),
        ("max_connections = -1", "server.max_connections"),
        ('max_connections = "many"', "server.max_connections"),
    ],
    ids=["tiny-head-limit", "zero-header-timeout", "negative-keepalive", "negative-cap", "text"],
)
def test_out_of_range_edge_settings_are_refused(tmp_path: Path, text: str, field: str) -> None:
    """A head limit under 1 KiB, a non-positive timeout or a negative cap is a
    configuration error naming the key."""
    path = tmp_path / "gateway.toml"
    path.write_text(f"[server]\n{text}\n")
    with pytest.raises(ConfigError, match=field):
        load_settings(path, env={})
