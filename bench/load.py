"""The load generator, run in its own process: ``python -m bench.load < spec.json``.

It reads one JSON spec on stdin and writes one JSON result on stdout. Phases:

- ``latency``: one client, sequential requests over one keep-alive connection per
  target segment; targets are interleaved in rounds, alternating their order.
  Returns every sample (nanoseconds), so percentiles can be computed by the caller.
- ``throughput``: ``connections`` clients per target, each sending back to back for
  ``seconds`` per round after an uncounted warm-up; returns completed requests,
  measured seconds, non-200 counts and every latency sample per round.

``"stream": true`` in a latency spec sends streaming requests and records the time
to the first body byte as well. Every latency sample also comes with the SSE events
its answer carried and the time from its first body byte to its end, so a latency
spec whose targets ask for a long streamed reply measures relayed chunks per second.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from time import perf_counter_ns
from typing import Any

import aiohttp
import httptools
import orjson
import uvloop

from bench._client import Reply, Target, connect
from bench._procs import child_env, die_with_parent, python


def rounds_order(targets: list[Target], rounds: int) -> Iterator[tuple[int, Target]]:
    """Every target once per round, the order reversed on odd rounds."""
    for index in range(rounds):
        for target in targets if index % 2 == 0 else list(reversed(targets)):
            yield index, target


async def sequential(target: Target, count: int, stream: bool, client: str) -> list[Reply]:
    """``count`` requests one after another over one fresh keep-alive connection."""
    connection = await connect(target, client)
    try:
        return [await connection.send(stream) for _ in range(count)]
    finally:
        await connection.close()


async def probe(target: Target, stream: bool, client: str) -> dict[str, Any]:
    """One request with its body kept: proof that the target answers correctly."""
    connection = await connect(target, client)
    try:
        reply = await connection.send(stream, keep_body=True)
    finally:
        await connection.close()
    return {"status": reply.status, "body": reply.body[:600].decode(errors="replace")}


async def latency(spec: dict[str, Any]) -> dict[str, Any]:
    """Sequential one-client latency (and first byte when streaming), interleaved."""
    targets = [Target.from_dict(t) for t in spec["targets"]]
    stream = bool(spec.get("stream", False))
    client = spec.get("client", "raw")
    rounds = int(spec["rounds"])
    per_round = max(1, -(-int(spec["requests"]) // rounds))
    result: dict[str, Any] = {
        t.name: {
            "probe": await probe(t, stream, client),
            "latency_ns": [],
            "first_byte_ns": [],
            "after_first_byte_ns": [],
            "events": [],
            "errors": {},
        }
        for t in targets
    }
    for target in targets:
        await sequential(target, int(spec["warmup"]), stream, client)
    for _, target in rounds_order(targets, rounds):
        await sequential(target, int(spec["segment_warmup"]), stream, client)
        gc.collect()
        gc.disable()
        try:
            replies = await sequential(target, per_round, stream, client)
        finally:
            gc.enable()
        entry = result[target.name]
        entry["latency_ns"] += [r.latency_ns for r in replies]
        entry["first_byte_ns"] += [r.first_byte_after_ns for r in replies]
        entry["after_first_byte_ns"] += [r.after_first_byte_ns for r in replies]
        entry["events"] += [r.events for r in replies]
        errors = Counter(str(r.status) for r in replies if r.status != 200)
        entry["errors"] = dict(Counter(entry["errors"]) + errors)
    return result


async def saturate(
    target: Target, connections: int, seconds: float, warmup: float, client: str
) -> dict[str, Any]:
    """Keep ``connections`` requests in flight; count what completes in the window."""
    opened = [await connect(target, client) for _ in range(connections)]
    counting = False
    stopping = False
    latencies: list[int] = []
    statuses: Counter[str] = Counter()

    async def worker(index: int) -> None:
        """Send back to back on one connection; reconnect if the server drops it."""
        connection = opened[index]
        while not stopping:
            try:
                reply = await connection.send(False)
            except (OSError, aiohttp.ClientError, httptools.HttpParserError) as exc:
                if counting:
                    statuses[type(exc).__name__] += 1
                await connection.close()
                connection = opened[index] = await connect(target, client)
                continue
            if counting:
                latencies.append(reply.latency_ns)
                statuses[str(reply.status)] += 1

    tasks = [asyncio.create_task(worker(i)) for i in range(connections)]
    await asyncio.sleep(warmup)
    counting = True
    start = perf_counter_ns()
    await asyncio.sleep(seconds)
    counting = False
    elapsed = (perf_counter_ns() - start) / 1e9
    stopping = True
    await asyncio.gather(*tasks)
    for connection in opened:
        await connection.close()
    ok = statuses.pop("200", 0)
    return {
        "requests": ok + sum(statuses.values()),
        "ok": ok,
        "seconds": elapsed,
        "errors": dict(statuses),
        "latency_ns": latencies,
    }


async def throughput(spec: dict[str, Any]) -> dict[str, Any]:
    """Saturation throughput per target, interleaved in rounds."""
    targets = [Target.from_dict(t) for t in spec["targets"]]
    rounds = int(spec["rounds"])
    seconds = float(spec["seconds"]) / rounds
    result: dict[str, Any] = {t.name: {"rounds": []} for t in targets}
    for _, target in rounds_order(targets, rounds):
        gc.collect()
        measured = await saturate(
            target,
            int(spec["connections"]),
            seconds,
            float(spec["warmup_seconds"]),
            spec.get("client", "raw"),
        )
        result[target.name]["rounds"].append(measured)
    return result


PHASES = {"latency": latency, "throughput": throughput}


def run_phase(spec: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    """From the parent: run one phase in a fresh load-generator process, return its result.

    The result (a megabyte or more of samples) comes back in a file, not on a pipe."""
    with tempfile.TemporaryDirectory(prefix="nanogate-load-") as tmp:
        out = Path(tmp) / "result.json"
        done = subprocess.run(
            [python(), "-m", "bench.load", str(out)],
            input=orjson.dumps(spec),
            capture_output=True,
            env=child_env(),
            preexec_fn=die_with_parent,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0 or not out.exists():
            failure = done.stderr.decode(errors="replace")
            raise RuntimeError(f"the load generator failed ({done.returncode}):\n{failure}")
        result: dict[str, Any] = orjson.loads(out.read_bytes())
    return result


async def run_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the phase the spec names."""
    return await PHASES[spec["phase"]](spec)


def main() -> None:
    """Read the spec from stdin, run it on uvloop, write the result to the file named by
    the first argument (standard output without one)."""
    spec = orjson.loads(sys.stdin.buffer.read())
    result = orjson.dumps(uvloop.run(run_spec(spec)))
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_bytes(result)
    else:
        os.set_blocking(sys.stdout.fileno(), True)
        sys.stdout.buffer.write(result)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
