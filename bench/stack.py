"""Compare the HTTP servers and the validation libraries the gateway could run on.

``python -m bench.stack [--seconds 5] [--rounds 3]`` measures, side by side in one run:

- **servers**: the bare pass-through (``bench.passthrough``) in front of the fake
  upstream, and an app answering a fixed JSON body by itself (``hello``), each served by
  uvicorn (httptools, uvloop: how ``nanogate serve`` runs) and by granian (its ASGI
  interface, uvloop), one worker, driven by ``wrk`` at 32 connections in interleaved
  rounds;
- **validation**: the benchmark's chat body, and one of 50 messages, validated by the
  gateway's own schema (``ChatCompletionRequest``, pydantic) and by an msgspec ``Struct``
  with the same fields and bounds, in microseconds per body.

granian and msgspec are not dependencies of the gateway; ``scripts/bootstrap stack``
installs them into ``.venv`` (the ``stack`` extra). Only ratios measured in the same run
are meaningful.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench._procs import Processes, child_env, free_port, python, wait_for_port
from bench._targets import PROMPT, start_upstream
from bench._wrk import run_wrk_rounds, wrk_command

HOST = "127.0.0.1"
CHAT_PATH = "/v1/chat/completions"


# Servers -----------------------------------------------------------------------------


def _granian() -> str | None:
    found = shutil.which("granian") or str(Path(sys.executable).parent / "granian")
    return found if Path(found).exists() else None


def _serve(procs: Processes, name: str, server: str, app: str, upstream_url: str) -> int:
    """Start ``app`` (``passthrough`` or ``hello``, see ``bench._stack_apps``) under
    ``server``; its port once it listens."""
    port = free_port()
    env = {**child_env(), "BENCH_UPSTREAM": upstream_url}
    if server == "uvicorn":
        argv = [
            python(),
            "-c",
            "import uvicorn; uvicorn.run("
            f"'bench._stack_apps:{app}', host={HOST!r}, port={port}, loop='uvloop', "
            "http='httptools', log_level='warning', access_log=False, server_header=False)",
        ]
    else:
        granian = _granian()
        assert granian is not None
        argv = [
            granian,
            "--interface",
            "asgi",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "1",
            "--loop",
            "uvloop",
            "--log-level",
            "warning",
            "--no-ws",
            f"bench._stack_apps:{app}",
        ]
    child = procs.start(name, argv, env)
    wait_for_port(child, port)
    return port


def servers(seconds: float, rounds: int) -> dict[str, Any]:
    """requests/s of each (server, app) pair, medians of ``rounds`` interleaved rounds."""
    if wrk_command() is None or _granian() is None:
        return {
            "skipped": "needs wrk (apt-get install -y wrk) and granian (scripts/bootstrap stack)"
        }
    body = {"model": "fake-chat", "messages": [{"role": "user", "content": PROMPT}]}
    with (
        tempfile.TemporaryDirectory(prefix="nanogate-stack-") as tmp,
        Processes(Path(tmp)) as procs,
    ):
        upstream = start_upstream(procs)
        url = f"http://{HOST}:{upstream.port}{CHAT_PATH}"
        targets = []
        for server in ("uvicorn", "granian"):
            for app in ("hello", "passthrough"):
                name = f"{app} on {server}"
                port = _serve(procs, name, server, app, url)
                address = {"name": name, "host": HOST, "port": port, "path": CHAT_PATH}
                targets.append({**address, "body": body, "headers": {}})
        time.sleep(0.5)
        runs = run_wrk_rounds(targets, 32, seconds, rounds)
    return {
        name: {
            "rps": statistics.median(r["rps"] for r in results),
            "p50_ms": statistics.median(r["p50_ms"] for r in results),
            "errors": sum(r["errors"] for r in results),
        }
        for name, results in runs.items()
    }


# Validation --------------------------------------------------------------------------


def _msgspec_schema() -> Callable[[dict[str, Any]], Any]:
    """An msgspec conversion with the fields and bounds of ``ChatCompletionRequest``
    (content parts and tool choices checked like the pydantic schema's validators)."""
    import msgspec

    from bench._stack_schema import Request
    from nanogate.server.schemas.chat import _check_content, _check_tool_choice

    def convert(data: dict[str, Any]) -> Any:
        request = msgspec.convert(data, Request, strict=True)
        for message in request.messages:
            _check_content(message.content)
        _check_tool_choice(request.tool_choice)
        return request

    return convert


def _per_call_us(call: Callable[[], Any], seconds: float = 0.5) -> float:
    """Median microseconds per call over five timed batches."""
    batch = 200
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(samples) < 5 or time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(batch):
            call()
        samples.append((time.perf_counter() - start) / batch * 1e6)
    return statistics.median(samples)


def validation() -> dict[str, Any]:
    """Microseconds per validated body, per library and body."""
    try:
        convert = _msgspec_schema()
    except ImportError:
        return {"skipped": "needs msgspec (scripts/bootstrap stack)"}
    from nanogate.server.schemas.chat import ChatCompletionRequest

    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"{PROMPT} {i}"}
        for i in range(50)
    ]
    bodies = {
        "benchmark body": {
            "model": "bench/chat",
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": 16,
        },
        "50 messages": {"model": "bench/chat", "messages": turns, "temperature": 0.7},
    }
    out: dict[str, Any] = {}
    for name, body in bodies.items():
        raw = orjson.dumps(body)

        def with_pydantic(raw: bytes = raw) -> Any:
            return ChatCompletionRequest.model_validate(orjson.loads(raw))

        def with_msgspec(raw: bytes = raw) -> Any:
            return convert(orjson.loads(raw))

        out[name] = {
            "pydantic_us": _per_call_us(with_pydantic),
            "msgspec_us": _per_call_us(with_msgspec),
        }
    return out


def main() -> None:
    """Parse the command line, measure, print the results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    results = {"validation": validation(), "servers": servers(args.seconds, args.rounds)}
    sys.stdout.write(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    main()
