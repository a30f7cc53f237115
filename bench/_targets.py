"""The three targets: starting each server in its own process, and what it is sent."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _gateway
from bench._procs import (
    HOST,
    Child,
    Processes,
    child_env,
    free_port,
    python,
    wait_for_http,
    wait_for_port,
    wait_for_workers,
)

DIRECT, GATEWAY, PASSTHROUGH = "direct", "gateway", "passthrough"
CHAT_PATH = "/v1/chat/completions"
PROMPT = "Say hello in one short sentence."
MAX_TOKENS = 64
RELAY_TOKENS = 1000
"""``max_tokens`` of the relay phase's requests; the upstream answers a request asking
for at least this many with exactly ``max_tokens`` words, one per streamed chunk."""


@dataclass(frozen=True, slots=True)
class Server:
    """A running target: its process, port and how to address it."""

    name: str
    child: Child
    port: int
    path: str
    model: str
    api_key: str | None = None

    def target(self, max_tokens: int = MAX_TOKENS) -> dict[str, Any]:
        """The load generator's description of this target (see ``bench._client.Target``)."""
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": max_tokens,
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        address = {"name": self.name, "host": HOST, "port": self.port, "path": self.path}
        return {**address, "body": body, "headers": headers}


@dataclass(frozen=True, slots=True)
class GatewayServer:
    """The gateway target with what was measured while starting it."""

    server: Server
    startup_s: float
    setup: _gateway.GatewaySetup


def start_upstream(procs: Processes) -> Server:
    """The fake upstream, listening."""
    port = free_port()
    child = procs.start(
        "upstream", [python(), "-m", "bench.upstream", "--port", str(port)], child_env()
    )
    wait_for_port(child, port)
    return Server(DIRECT, child, port, CHAT_PATH, "fake-chat")


def start_gateway(
    procs: Processes, workdir: Path, upstream: Server, mode: _gateway.Mode | None = None
) -> GatewayServer:
    """``nanogate serve`` in front of ``upstream``, answering ``/healthz``, every worker
    started."""
    mode = mode or _gateway.Mode()
    setup = _gateway.prepare(workdir, free_port(), upstream.port, mode)
    child = procs.start("gateway", setup.serve_argv(), child_env())
    startup_s = wait_for_http(child, setup.port, "/healthz")
    if mode.workers > 1:
        wait_for_workers(child, mode.workers)
    time.sleep(0.5)  # let start-up work finish before anything is measured
    server = Server(GATEWAY, child, setup.port, "/api" + CHAT_PATH, _gateway.MODEL, setup.api_key)
    return GatewayServer(server, startup_s, setup)


def start_passthrough(procs: Processes, upstream: Server) -> Server:
    """The bare pass-through in front of ``upstream``, listening."""
    port = free_port()
    url = f"http://{HOST}:{upstream.port}{CHAT_PATH}"
    argv = [python(), "-m", "bench.passthrough", "--port", str(port), "--upstream", url]
    child = procs.start("passthrough", argv, child_env())
    wait_for_port(child, port)
    return Server(PASSTHROUGH, child, port, CHAT_PATH, "fake-chat")
