"""The compiled load generator: ``wrk`` (Debian's package), driven with a Lua script.

The project's own generator (``bench.load``) is Python; ``wrk`` is C, so a saturation
figure that holds under both is not the client's. The script posts the same body
with the same headers as the project's generator and prints one JSON line when done.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import orjson

SCRIPT = """
local file = io.open(%(body)s, "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def wrk_command() -> str | None:
    """The ``wrk`` on ``PATH``, if any."""
    return shutil.which("wrk")


def _lua_string(text: str) -> str:
    return orjson.dumps(text).decode()  # a JSON string is a valid Lua string literal here


def run_wrk(target: dict[str, Any], connections: int, seconds: float) -> dict[str, Any]:
    """One ``wrk -t1`` run against ``target`` (see ``bench._client.Target``): requests,
    errors and latency percentiles in milliseconds."""
    command = wrk_command()
    if command is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    with tempfile.TemporaryDirectory(prefix="nanogate-wrk-") as tmp:
        body = Path(tmp) / "body.json"
        body.write_bytes(orjson.dumps(target["body"]))
        headers = {"Content-Type": "application/json", **target["headers"]}
        lines = "\n".join(
            f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()
        )
        script = Path(tmp) / "post.lua"
        script.write_text(SCRIPT % {"body": _lua_string(str(body)), "headers": lines})
        url = f"http://{target['host']}:{target['port']}{target['path']}"
        argv = [command, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        done = subprocess.run(
            [*argv, "-s", str(script), url], capture_output=True, text=True, check=True
        )
    result = orjson.loads(done.stdout.strip().splitlines()[-1])
    seconds_run = result["duration_us"] / 1e6
    failed = result["status"] + result["connect"] + result["read"] + result["write"]
    failed += result["timeout"]
    ok = result["requests"] - result["status"]
    return {
        "rps": ok / seconds_run if seconds_run else 0.0,
        "requests": result["requests"],
        "errors": failed,
        "p50_ms": result["p50_us"] / 1000,
        "p90_ms": result["p90_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000,
    }


def run_wrk_rounds(
    targets: list[dict[str, Any]], connections: int, seconds: float, rounds: int
) -> dict[str, list[dict[str, Any]]]:
    """Interleaved rounds: each round runs every target once, in turn."""
    out: dict[str, list[dict[str, Any]]] = {t["name"]: [] for t in targets}
    for _ in range(rounds):
        for target in targets:
            out[target["name"]].append(run_wrk(target, connections, seconds))
    return out
