"""The access log over real sockets: a line per request, in text or JSON, never a secret."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import orjson
import pytest
from tests.conftest import LiveFactory
from tests.helpers import make_settings

from nanogate.config import load_settings
from nanogate.server._logging import log_config

CHAT = "/api/v1/chat/completions"
BODY = {"model": "local/chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "nanogate.access"]


def test_json_lines_hold_the_request_and_no_secret(
    serve_gateway: LiveFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With ``access_log = "json"`` each request is one JSON line: its id (the
    ``X-Request-ID``), the key id, method, path, status, code, model as sent, duration and
    exact cost; a failed request has its code; the API key appears nowhere."""
    caplog.set_level(logging.INFO, logger="nanogate.access")
    live = serve_gateway(make_settings(tmp_path, access_log="json"))
    answered = httpx.post(live.url + CHAT, json=BODY, headers=live.auth(), timeout=10)
    refused = httpx.post(
        live.url + CHAT, json={**BODY, "model": "nope/x"}, headers=live.auth(), timeout=10
    )
    written = [orjson.loads(line) for line in lines(caplog)]
    by_id = {entry["request_id"]: entry for entry in written}
    ok = by_id[answered.headers["x-request-id"]]
    assert ok["key_id"] == live.seeded.key_id
    assert (ok["method"], ok["path"], ok["status"], ok["code"]) == ("POST", CHAT, 200, None)
    assert ok["model"] == "local/chat" and ok["duration_ms"] > 0
    cost = answered.json()["x_nanogpt_pricing"]["cost"]
    assert float(ok["cost_usd"]) == pytest.approx(cost) and float(ok["cost_usd"]) > 0
    bad = by_id[refused.headers["x-request-id"]]
    assert (bad["status"], bad["code"], bad["cost_usd"]) == (404, "model_not_found", "0")
    assert all(live.key not in line for line in lines(caplog))


def test_text_lines_and_off(
    serve_gateway: LiveFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``text`` writes ``request_id key_id METHOD path status code model duration $cost``;
    ``off`` writes nothing."""
    caplog.set_level(logging.INFO, logger="nanogate.access")
    (tmp_path / "text").mkdir()
    (tmp_path / "off").mkdir()
    text = serve_gateway(make_settings(tmp_path / "text", access_log="text"))
    answered = httpx.post(text.url + CHAT, json=BODY, headers=text.auth(), timeout=10)
    (line,) = [x for x in lines(caplog) if x.startswith(answered.headers["x-request-id"])]
    fields = line.split(" ")
    assert fields[1:7] == [text.seeded.key_id, "POST", CHAT, "200", "-", "local/chat"]
    assert fields[7].endswith("ms") and fields[8].startswith("$0.")
    caplog.clear()
    off = serve_gateway(make_settings(tmp_path / "off"))
    httpx.post(off.url + CHAT, json=BODY, headers=off.auth(), timeout=10)
    assert lines(caplog) == []


def test_the_access_log_writes_at_any_log_level() -> None:
    """The logging configuration gives ``nanogate.access`` its own handler at INFO, so a
    gateway logging only warnings still writes its access lines; redacted like the rest;
    the embedded default turns it on as text."""
    config = log_config("warning")
    access = config["loggers"]["nanogate.access"]
    assert access["level"] == "INFO" and access["propagate"] is False
    assert config["handlers"][access["handlers"][0]]["filters"] == ["redact"]
    assert load_settings().server.access_log == "text"
