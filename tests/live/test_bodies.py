"""Request bodies over real sockets: size and time limits, media types, and recovery.

Every refusal answers in the surface's envelope, and the gateway keeps serving
other requests (and the same connection, where the protocol allows) afterwards.
"""

from __future__ import annotations

import gzip

import httpx
import orjson
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import SURFACE_PATHS, assert_envelope, make_settings, raw_exchange, request_head

GOOD_CHAT = {"model": "local/chat", "messages": [{"role": "user", "content": "still there?"}]}


def still_serving(live: Live) -> None:
    with httpx.Client(base_url=live.url, timeout=10) as client:
        response = client.post(SURFACE_PATHS["openai"], json=GOOD_CHAT, headers=live.auth())
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "You said: still there?"


@pytest.mark.parametrize("surface", ["openai", "anthropic", "legacy"])
def test_a_40_mib_body_is_refused_with_413(live: Live, surface: str) -> None:
    """A 40 MiB body (over the default 32 MiB limit) gets 413 in the surface's envelope,
    the same keep-alive connection then serves the next request, and so does the server."""
    body = b'{"model": "local/chat", "pad": "' + b"x" * (40 * 1024 * 1024) + b'"}'
    with httpx.Client(base_url=live.url, timeout=60) as client:
        response = client.post(
            SURFACE_PATHS[surface],
            content=body,
            headers={**live.auth(), "content-type": "application/json"},
        )
        assert_envelope(response, surface, "request_too_large")
        again = client.post(SURFACE_PATHS["openai"], json=GOOD_CHAT, headers=live.auth())
        assert again.status_code == 200
    still_serving(live)


def test_a_declared_oversized_body_is_refused_before_it_is_sent(live: Live) -> None:
    """With Content-Length over the limit, the 413 arrives before any body byte is sent."""
    head = request_head(
        "POST",
        SURFACE_PATHS["openai"],
        {
            **live.auth(),
            "content-type": "application/json",
            "content-length": str(40 * 1024 * 1024),
        },
    )
    response, _ = raw_exchange(live.url, head)
    assert response.status == 413
    assert response.json()["error"]["code"] == "request_too_large"
    still_serving(live)


def test_a_chunked_body_is_refused_once_it_passes_the_limit(
    serve_gateway: LiveFactory, tmp_path
) -> None:
    """A chunked body with no Content-Length is refused as soon as the received bytes pass
    the limit, while the client still has more to send."""
    live = serve_gateway(make_settings(tmp_path, max_body_bytes=64 * 1024))
    head = request_head(
        "POST",
        SURFACE_PATHS["anthropic"],
        {"x-api-key": live.key, "content-type": "application/json", "transfer-encoding": "chunked"},
    )
    piece = b"a" * 16384
    chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
    response, _ = raw_exchange(live.url, head, [chunk] * 5)  # 80 KiB sent, never finished
    assert response.status == 413
    assert response.json()["error"]["type"] == "request_too_large"
    assert response.headers["request-id"] == response.headers["x-request-id"]
    still_serving(live)


@pytest.mark.parametrize("surface", ["openai", "anthropic", "legacy"])
def test_a_stalled_body_times_out_with_408(
    serve_gateway: LiveFactory, tmp_path, surface: str
) -> None:
    """A client that sends part of its body and stalls gets 408 request_timeout after the
    body timeout, the connection is closed, and the server keeps serving."""
    live = serve_gateway(make_settings(tmp_path, body_timeout_s=0.5))
    head = request_head(
        "POST",
        SURFACE_PATHS[surface],
        {**live.auth(), "content-type": "application/json", "content-length": "1000"},
    )
    response, waited = raw_exchange(live.url, head, [b'{"model": "local'], timeout=10)
    assert response.status == 408
    assert response.headers["connection"] == "close"
    body = response.json()
    if surface == "openai":
        assert body["error"]["code"] == "request_timeout"
    elif surface == "anthropic":
        assert body["error"]["type"] == "timeout_error"
    else:
        assert body["status"] == 408 and body["code"] == "request_timeout"
    assert waited < 5
    still_serving(live)


def test_a_gzip_body_is_accepted(live: Live) -> None:
    """A gzip-encoded JSON body is decoded and served."""
    with httpx.Client(base_url=live.url) as client:
        response = client.post(
            SURFACE_PATHS["openai"],
            content=gzip.compress(orjson.dumps(GOOD_CHAT)),
            headers={**live.auth(), "content-type": "application/json", "content-encoding": "gzip"},
        )
    assert response.status_code == 200


def test_a_gzip_bomb_is_refused_with_413(serve_gateway: LiveFactory, tmp_path) -> None:
    """A small gzip body that inflates past the limit is refused as too large."""
    live = serve_gateway(make_settings(tmp_path, max_body_bytes=1024 * 1024))
    bomb = gzip.compress(b'{"pad": "' + b"x" * (8 * 1024 * 1024) + b'"}')
    assert len(bomb) < 1024 * 1024
    with httpx.Client(base_url=live.url) as client:
        response = client.post(
            SURFACE_PATHS["openai"],
            content=bomb,
            headers={**live.auth(), "content-type": "application/json", "content-encoding": "gzip"},
        )
    assert_envelope(response, "openai", "request_too_large")


def test_a_body_without_content_type_is_parsed_as_json(live: Live) -> None:
    """Clients that omit Content-Type are served, as OpenAI-compatible servers do."""
    with httpx.Client(base_url=live.url) as client:
        response = client.post(
            SURFACE_PATHS["openai"], content=orjson.dumps(GOOD_CHAT), headers=live.auth()
        )
    assert response.status_code == 200


def test_the_server_survives_a_volley_of_bad_requests(live: Live) -> None:
    """Not-JSON, wrong type, unknown route and unknown model, back to back on one
    connection: each gets its error and the connection still serves a good request."""
    with httpx.Client(base_url=live.url, timeout=10) as client:
        headers = {**live.auth(), "content-type": "application/json"}
        assert (
            client.post(SURFACE_PATHS["openai"], content=b"{]", headers=headers).status_code == 400
        )
        assert (
            client.post(
                SURFACE_PATHS["openai"],
                content=b"x",
                headers={**headers, "content-type": "text/plain"},
            ).status_code
            == 415
        )
        assert client.get("/api/v1/nowhere", headers=headers).status_code == 404
        unknown = client.post(
            SURFACE_PATHS["openai"], json={**GOOD_CHAT, "model": "nope"}, headers=headers
        )
        assert unknown.status_code == 404
        assert (
            client.post(SURFACE_PATHS["openai"], json=GOOD_CHAT, headers=headers).status_code == 200
        )
