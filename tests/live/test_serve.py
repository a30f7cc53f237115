"""``nanogate serve`` as a real process on the embedded default configuration."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

KEY = re.compile(r"sk-nano-[0-9a-f-]{36}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Run:
    url: str
    process: subprocess.Popen[str]
    output: str = ""
    """Everything the process printed, once it has stopped."""


@contextmanager
def serving(cwd: Path, *args: str, start_timeout: float = 60) -> Iterator[Run]:
    """Run ``nanogate serve`` in ``cwd`` until it answers /healthz; stop it with SIGTERM."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NANOGATE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "nanogate", "serve", "--port", str(port), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    run = Run(url, process)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            assert process.poll() is None, "the gateway exited during start-up"
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.05)
        yield run
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(20)
        assert process.stdout is not None
        run.output = process.stdout.read()
        process.stdout.close()


def test_first_start_prints_a_demo_key_once_and_it_works(tmp_path: Path) -> None:
    """On an empty database the gateway creates a demo account and prints its key; the
    key answers the README's request; a second start prints no key."""
    with serving(tmp_path) as first:
        url = first.url
        response = httpx.post(
            url + "/api/v1/chat/completions",
            headers={"authorization": "Bearer PLACEHOLDER"},
            json={"model": "local/chat", "messages": [{"role": "user", "content": "Hello!"}]},
        )
        assert response.status_code == 401
        assert httpx.get(url + "/readyz").json() == {"status": "ready"}
    keys = KEY.findall(first.output)
    assert len(keys) == 1, first.output
    with serving(tmp_path) as second:
        response = httpx.post(
            second.url + "/api/v1/chat/completions",
            headers={"authorization": f"Bearer {keys[0]}"},
            json={"model": "local/chat", "messages": [{"role": "user", "content": "Hello!"}]},
        )
        assert response.json()["choices"][0]["message"]["content"] == "You said: Hello!"
        request_id = response.headers["x-request-id"]
    assert not KEY.findall(second.output)
    database = sqlite3.connect(tmp_path / "nanogate.db")
    logged = database.execute(
        "select status, model from request_log where request_id = ?", (request_id,)
    ).fetchall()
    database.close()
    assert logged == [(200, "local/chat")], "SIGTERM flushes the request log"


def test_several_workers_serve_the_same_gateway(tmp_path: Path) -> None:
    """--workers 2 starts two worker processes that answer alike, each behind the HTTP
    edge (an oversized head gets the edge's 431, whichever worker takes it)."""
    with serving(tmp_path, "--workers", "2") as run:
        pid = run.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert len(children) >= 2
        with httpx.Client(base_url=run.url) as client:
            statuses = {client.get("/api/v1/models").status_code for _ in range(20)}
            oversized = {"x-pad": "a" * 70_000}
            refused = {
                client.get("/api/v1/models", headers=oversized).status_code for _ in range(6)
            }
        assert statuses == {200}
        assert refused == {431}


def test_a_bad_configuration_file_is_refused_with_its_reason(tmp_path: Path) -> None:
    """A configuration that does not validate stops `serve` with exit code 1 and says why."""
    config = tmp_path / "bad.toml"
    config.write_text('[[models]]\nid = "x"\nprovider = "missing"\n')
    result = subprocess.run(
        [sys.executable, "-m", "nanogate", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "unknown provider 'missing'" in result.stderr


def test_listening_is_printed_once_the_gateway_answers(tmp_path: Path) -> None:
    """``--port 0`` binds a free port; the "listening" line names it, and appears only
    once the port is bound and the gateway has started: the first request after it is
    answered. With two workers it is printed once, by the supervisor, after binding."""
    for workers in ("1", "2"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("NANOGATE_")}
        process = subprocess.Popen(
            [sys.executable, "-m", "nanogate", "serve", "--port", "0", "--workers", workers],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert process.stdout is not None
            seen: list[str] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                line = process.stdout.readline()
                assert line, "the gateway exited before listening: " + "".join(seen)
                seen.append(line)
                found = re.search(r"nanogate listening on (http://[\d.]+:(\d+))", line)
                if found:
                    break
            assert found is not None and found.group(2) != "0"
            if workers == "1":
                assert httpx.get(found.group(1) + "/healthz", timeout=10).status_code == 200
            else:
                assert "2 workers" in line
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            if process.stdout is not None:
                rest = process.stdout.read()
                process.stdout.close()
        assert "".join(seen + [rest]).count("nanogate listening") == 1


def requests_counted(metrics: str, route: str) -> float:
    """The sum of ``nanogate_requests_total`` over every label set of ``route``."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("nanogate_requests_total{") and f'route="{route}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_sum_every_worker_on_every_scrape(tmp_path: Path) -> None:
    """With ``--workers 2`` the gateway sets up Prometheus' multiprocess directory itself:
    after 100 requests, every scrape (whichever worker answers it) counts 100, and the
    directory is gone once the gateway stops."""
    with serving(tmp_path, "--workers", "2") as run:
        made = f"nanogate-metrics-{run.process.pid}-*"
        assert len(list(Path(tempfile.gettempdir()).glob(made))) == 1
        with httpx.Client(base_url=run.url, timeout=10) as client:
            for _ in range(100):
                assert client.get("/api/v1/models").status_code == 200
        scrapes = []
        for _ in range(8):
            # a new connection each time, so scrapes land on either worker
            scrapes.append(httpx.get(run.url + "/metrics", timeout=10).text)
    counts = [requests_counted(text, "/api/v1/models") for text in scrapes]
    assert counts == [100.0] * 8
    assert not list(Path(tempfile.gettempdir()).glob(made))
