"""Credentials an upstream echoes reach nothing the gateway writes, over real sockets.

The gateway sends ``acme/gpt`` (OpenAI dialect) and ``acme/claude`` (Anthropic dialect)
upstream with operator credentials read from ``api_key_env``, and ``acme/own`` with a
key's own stored credential when the request asks for BYOK. The fake upstream answers
with error text quoting the credential ("Invalid token opcred-..."), whole or cut
short, as a status error or as an in-band stream error. Neither the credential nor
its start may appear in the answer, in any log record at any level (the gateway's and
uvicorn's loggers), in the stored request record or in ``/metrics``. The credentials
have no shape that pattern redaction knows (no ``sk-``, no "Bearer", no "key:").
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from tests.conftest import Live, LiveFactory
from tests.helpers import logging_restored, make_settings, run_sync, seed, written_record
from typer.testing import CliRunner

from nanogate.cli._app import app as cli
from nanogate.config import Settings
from nanogate.server import create_app
from nanogate.server._logging import log_config
from nanogate.testing import FakeUpstream, Fault, ServedAioHTTP, ServedASGI

OPERATOR = "opcred-4f7c2a9e1b3d5f60a7c9"
CLAUDE_OPERATOR = "opcred-claude-88e1f0c2b4d6"
HOUSE = "housecred-0a1b2c3d4e5f6a7b"
BYOK = "usercred-9a8b7c6d5e4f3a2b1c0d"
CREDENTIALS = (OPERATOR, CLAUDE_OPERATOR, HOUSE, BYOK)
ENV = {"OPCRED_TEST_GPT": OPERATOR, "OPCRED_TEST_CLAUDE": CLAUDE_OPERATOR}
SECRET = "test-byok-secret-0123456789-abcdefghij"
MODELS = {"openai": ("acme/gpt", OPERATOR), "anthropic": ("acme/claude", CLAUDE_OPERATOR)}
HI = [{"role": "user", "content": "hi"}]


def assert_clean(*texts: str) -> None:
    """No credential, nor its first ten characters, appears in ``texts``."""
    for text in texts:
        for credential in CREDENTIALS:
            assert credential[:10] not in text, (credential, text)


def echoes(credential: str, whole: bool) -> str:
    """An upstream's error text quoting ``credential``, whole or cut short."""
    quoted = credential if whole else credential[:12] + "…"
    return f"Invalid token {quoted} for this endpoint"


# The gateway, its upstream, its logs ---------------------------------------------------


def masking_settings(tmp_path: Path, url: str) -> Settings:
    """Three providers on the fake at ``url``: two with operator credentials named by
    ``api_key_env``, one that takes a key's own credential (BYOK)."""
    base = make_settings(tmp_path).model_dump()
    providers = [
        {"name": "gpt", "kind": "openai", "api_key_env": "OPCRED_TEST_GPT"},
        {"name": "claude", "kind": "anthropic", "api_key_env": "OPCRED_TEST_CLAUDE"},
        {"name": "own", "kind": "openai", "api_key": HOUSE, "byok": True},
    ]
    model = {
        "capabilities": ["streaming"],
        "context_window": 100000,
        "max_output_tokens": 1000,
        "input_usd_per_mtok": "2",
        "output_usd_per_mtok": "8",
    }
    return Settings.model_validate(
        {
            **base,
            "routing": {**base["routing"], "breaker_failures": 1_000_000},
            "providers": [
                *base["providers"],
                *({**p, "base_url": url + "/v1", "timeout_s": 2} for p in providers),
            ],
            "models": [
                *base["models"],
                {**model, "id": "acme/gpt", "provider": "gpt"},
                {**model, "id": "acme/claude", "provider": "claude"},
                {**model, "id": "acme/own", "provider": "own"},
            ],
            "byok": {"secret": SECRET},
        }
    )


@pytest.fixture
def live(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    served_fake: tuple[FakeUpstream, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Live:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return serve_gateway(masking_settings(tmp_path, served_fake[1]), balance="50")


class Capture(logging.Handler):
    """Every record, formatted with its traceback; but those of the test's own HTTP
    client, which logs the requests it sends."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("httpx", "httpcore")):
            self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def logs(live: Live) -> Iterator[Capture]:
    """Every log record at DEBUG and up, from the root logger (the gateway's loggers,
    aiohttp's...) and from uvicorn's, which do not propagate; taken once the gateway is
    served, since serving reconfigures uvicorn's loggers. (uvicorn's access log is off in
    ``nanogate serve``; a handler on it would turn it on.)"""
    capture = Capture()
    names = ["", "nanogate", "uvicorn", "uvicorn.error"]
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    for name in ("", "uvicorn"):
        logging.getLogger(name).addHandler(capture)
    yield capture
    for name in ("", "uvicorn"):
        logging.getLogger(name).removeHandler(capture)
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def stored(live: Live, request_id: str) -> str:
    """The request's record as stored (once the request log has written it), as JSON."""
    record = written_record(live.settings.database.url, request_id)
    return orjson.dumps(dataclasses.asdict(record), default=str).decode()


def metrics(live: Live) -> str:
    return httpx.get(live.url + "/metrics").text


def store_byok(live: Live) -> None:
    stored = httpx.post(
        live.url + "/api/user/provider-keys",
        json={"provider": "own", "key": BYOK},
        headers=live.auth(),
    )
    assert stored.status_code == 200, stored.text


# Operator credentials --------------------------------------------------------------------


@pytest.mark.parametrize("whole", [True, False], ids=["whole", "cut-short"])
@pytest.mark.parametrize("status", [401, 400, 500])
@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_an_echoed_operator_credential_is_masked_everywhere(
    live: Live, fake: FakeUpstream, logs: Capture, dialect: str, status: int, whole: bool
) -> None:
    """An upstream's error quoting the operator's credential (from ``api_key_env``),
    whole or cut short, leaves no trace of it in the answer, the logs, the stored
    record or the metrics; what the upstream said is still logged, masked."""
    model, credential = MODELS[dialect]
    fake.inject(Fault.status_error(status, message=echoes(credential, whole)))
    response = httpx.post(
        live.url + "/api/v1/chat/completions",
        json={"model": model, "messages": HI},
        headers=live.auth(),
    )
    assert response.status_code == (400 if status == 400 else 503), response.text
    assert any(
        f"upstream answered {status}: Invalid token [redacted]" in line for line in logs.lines
    )
    if status == 400:
        assert "Invalid token [redacted]" in response.json()["error"]["message"]
    record = stored(live, response.headers["x-request-id"])
    assert_clean(response.text, logs.text, record, metrics(live))


@pytest.mark.parametrize("status", [400, 500])
@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_an_echoed_credential_in_a_stream_error_frame_is_masked(
    live: Live, fake: FakeUpstream, logs: Capture, dialect: str, status: int
) -> None:
    """An in-band error after the first chunk, quoting the operator's credential, ends
    the stream with an error frame that does not repeat it, nor do the logs, the record
    or the metrics."""
    model, credential = MODELS[dialect]
    fake.inject(Fault.error_event(after=2, status=status, message=echoes(credential, True)))
    with httpx.stream(
        "POST",
        live.url + "/api/v1/chat/completions",
        json={"model": model, "messages": HI, "stream": True},
        headers=live.auth(),
    ) as response:
        text = response.read().decode()
    frame = next(line for line in text.splitlines() if '"finish_reason":"error"' in line)
    error = orjson.loads(frame.removeprefix("data: "))["error"]
    if status == 400:
        assert "Invalid token [redacted]" in error["message"]
    record = stored(live, response.headers["x-request-id"])
    assert_clean(text, logs.text, record, metrics(live))


# A key's own credential (BYOK) -----------------------------------------------------------


@pytest.mark.parametrize("status", [401, 400])
@pytest.mark.parametrize("asked", ["header", "body"])
def test_an_echoed_byok_credential_is_masked_everywhere(
    live: Live, fake: FakeUpstream, logs: Capture, asked: str, status: int
) -> None:
    """A stored BYOK credential used on a request (asked by ``x-use-byok`` or the
    ``byok`` body field) that the upstream quotes back is masked in the answer, the logs,
    the record and the metrics; once the request is over the gateway forgets it."""
    store_byok(live)
    fake.inject(Fault.status_error(status, message=echoes(BYOK, True)))
    body: dict[str, Any] = {"model": "acme/own", "messages": HI}
    headers = live.auth()
    if asked == "header":
        headers["x-use-byok"] = "true"
    else:
        body["byok"] = {"enabled": True}
    response = httpx.post(live.url + "/api/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == (400 if status == 400 else 401), response.text
    record = stored(live, response.headers["x-request-id"])
    assert_clean(response.text, logs.text, record, metrics(live))
    assert live.app.state.secrets.current.mask(BYOK) == BYOK, "released with the request"


def test_an_echoed_byok_credential_in_a_stream_error_frame_is_masked(
    live: Live, fake: FakeUpstream, logs: Capture
) -> None:
    """A BYOK stream whose upstream fails mid-way, quoting the caller's credential, ends
    in an error frame that does not repeat it, nor do the logs or the record."""
    store_byok(live)
    fake.inject(Fault.error_event(after=2, status=400, message=echoes(BYOK, False)))
    with httpx.stream(
        "POST",
        live.url + "/api/v1/chat/completions",
        json={"model": "acme/own", "messages": HI, "stream": True},
        headers={**live.auth(), "x-use-byok": "true"},
    ) as response:
        text = response.read().decode()
    assert '"finish_reason":"error"' in text and "Invalid token [redacted]" in text
    record = stored(live, response.headers["x-request-id"])
    assert_clean(text, logs.text, record, metrics(live))


def test_a_byok_credential_is_masked_while_its_request_runs(
    serve_gateway: LiveFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the moment a BYOK request opens the caller's credential until it has ended,
    everything the gateway writes masks that credential; then it is forgotten."""
    release = threading.Event()

    async def held_answer(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.to_thread(release.wait, 30)
        return web.json_response({"error": {"message": "no"}}, status=500)

    upstream = web.Application()
    upstream.router.add_post("/v1/chat/completions", held_answer)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with ServedAioHTTP(upstream) as served:
        live = serve_gateway(masking_settings(tmp_path, served.url))
        store_byok(live)
        known = live.app.state.secrets
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(
                httpx.post,
                live.url + "/api/v1/chat/completions",
                json={"model": "acme/own", "messages": HI},
                headers={**live.auth(), "x-use-byok": "true"},
                timeout=30,
            )
            try:
                until(lambda: known.current.mask(BYOK) != BYOK, "the request holds it")
            finally:
                release.set()
            assert answer.result().status_code == 503
        until(lambda: known.current.mask(BYOK) == BYOK, "the request released it")


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for ``condition``, polling, for at most 20 s."""
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


# A key in the wrong field ------------------------------------------------------------------


def test_a_key_sent_as_the_model_is_not_repeated_or_stored(live: Live, logs: Capture) -> None:
    """A client that sends its API key as ``model`` gets ``model_not_found`` without its
    key in the answer; the stored record, the logs and the metrics do not hold it either,
    and an unknown model adds no metrics label."""
    key = live.key
    response = httpx.post(
        live.url + "/api/v1/chat/completions",
        json={"model": key, "messages": HI},
        headers=live.auth(),
    )
    assert response.json()["error"]["code"] == "model_not_found"
    assert "'[redacted]'" in response.json()["error"]["message"]
    retrieved = httpx.get(live.url + "/api/v1/models/" + key)
    assert retrieved.status_code == 404
    records = [stored(live, r.headers["x-request-id"]) for r in (response, retrieved)]
    scraped = metrics(live)
    for text in (response.text, retrieved.text, logs.text, *records, scraped):
        assert key[:16] not in text and key[8:] not in text
    assert 'model="' not in scraped, "no request reached a model"


def test_a_known_credential_sent_as_the_model_is_not_stored(live: Live, logs: Capture) -> None:
    """A request naming the operator's credential as its model is refused, and neither
    the record nor the logs keep that value."""
    response = httpx.post(
        live.url + "/api/v1/chat/completions",
        json={"model": OPERATOR, "messages": HI},
        headers=live.auth(),
    )
    assert response.json()["error"]["code"] == "model_not_found"
    record = stored(live, response.headers["x-request-id"])
    assert_clean(record, logs.text, metrics(live))


# The logging of `nanogate serve` --------------------------------------------------------------


def test_the_served_logging_writes_no_echoed_credential(
    tmp_path: Path,
    served_fake: tuple[FakeUpstream, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Served as ``nanogate serve`` serves it (uvicorn installs :func:`log_config`, then
    the factory builds the gateway, as each of ``--workers N`` does), with the credential
    in ``api_key_env``: upstream errors quoting it are written at info through those
    handlers and formatters with it masked, as is any other line that carries it, and
    ``nanogate requests show --json`` does not show it either."""
    fake, url = served_fake
    fake.faults.clear()
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    settings = masking_settings(tmp_path, url)
    seeded = run_sync(seed(settings.database.url, "50"))
    statuses = [400, 401, 500, 400]
    fake.inject(
        *(
            Fault.status_error(s, message=echoes(OPERATOR, n % 2 == 0))
            for n, s in enumerate(statuses)
        )
    )
    ids = []
    with (
        logging_restored(),
        ServedASGI(
            lambda: create_app(settings), factory=True, log_config=log_config("info")
        ) as served,
    ):
        for _ in statuses:
            response = httpx.post(
                served.url + "/api/v1/chat/completions",
                json={"model": "acme/gpt", "messages": HI},
                headers={"authorization": f"Bearer {seeded.key}"},
            )
            assert response.status_code in (400, 503), response.text
            assert_clean(response.text)
            ids.append(response.headers["x-request-id"])
        for name in ("nanogate.elsewhere", "uvicorn.error"):  # lines nothing masked before
            logging.getLogger(name).warning("a stray %s", OPERATOR)
    written = capsys.readouterr()
    output = written.err + written.out
    assert output.count("nanogate.upstream: upstream answered") == len(statuses), output
    assert output.count("Invalid token [redacted]") == len(statuses), output
    assert output.count("a stray [redacted]") == 2, output
    assert_clean(output)
    config = tmp_path / "admin.toml"
    config.write_text(f'[database]\nurl = "{settings.database.url}"\n')
    shown = CliRunner().invoke(cli, ["requests", "show", ids[0], "--json", "--config", str(config)])
    assert shown.exit_code == 0, shown.output
    assert orjson.loads(shown.stdout)["code"] == "invalid_parameter_value"
    assert "Invalid token [redacted]" in shown.stdout
    assert_clean(shown.stdout)
