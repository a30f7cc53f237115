"""Run the benchmark: added latency, saturation throughput, streaming first byte and
relayed chunks per second.

``python -m bench.run [--quick] [--out FILE] [--json FILE]`` starts, each in its own
process on 127.0.0.1:

- **direct**: the fake upstream (``bench.upstream``);
- **gateway**: ``nanogate serve`` in front of that upstream, with a real account and
  API key: SQLite and one worker by default; ``--database postgres`` gives it a fresh
  PostgreSQL database on 127.0.0.1:5432, ``--redis`` a Redis key prefix of its own on
  127.0.0.1:6379 (both removed at the end), ``--workers N`` N worker processes;
- **passthrough**: a bare Starlette + aiohttp pass-through to the same upstream
  (``bench.passthrough``);

then drives all three from a load-generator process (``bench.load``), interleaving
the targets in rounds so that drift on a noisy machine hits each alike. The relay
phase streams long answers (one word per chunk) and counts the chunks relayed per
second. Saturation is measured again with ``wrk``, a compiled load generator (when
installed), so the client is never the bottleneck; LiteLLM's proxy joins both
saturation phases when ``--litellm`` (or ``NANOGATE_BENCH_LITELLM``) names its
command (see ``bench._litellm``). Only ratios and differences measured in the same
run are meaningful.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from bench._gateway import Mode, help_seconds, read_seconds
from bench._litellm import litellm_command, start_litellm
from bench._machine import describe
from bench._procs import Processes, rss_kib, workers_rss_kib
from bench._report import markdown, summarise
from bench._services import REDIS_URL, postgres_database, redis_prefix
from bench._targets import RELAY_TOKENS, start_gateway, start_passthrough, start_upstream
from bench._wrk import run_wrk_rounds, wrk_command
from bench.load import run_phase


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to measure."""

    requests: int = 2000
    warmup: int = 200
    segment_warmup: int = 20
    latency_rounds: int = 4
    stream_requests: int = 500
    relay_requests: int = 30
    relay_rounds: int = 3
    relay_warmup: int = 3
    seconds: float = 10.0
    connections: int = 64
    throughput_rounds: int = 4
    warmup_seconds: float = 0.5
    client: str = "raw"
    wrk_connections: int = 32
    wrk_seconds: float = 5.0
    wrk_rounds: int = 3
    help_runs: int = 5
    database: str = "sqlite"
    redis: bool = False
    workers: int = 1
    limits: bool = True


QUICK = Plan(
    requests=300,
    warmup=50,
    segment_warmup=10,
    latency_rounds=2,
    stream_requests=100,
    relay_requests=6,
    relay_rounds=2,
    relay_warmup=1,
    seconds=2.0,
    connections=16,
    throughput_rounds=2,
    warmup_seconds=0.25,
    wrk_connections=16,
    wrk_seconds=1.0,
    wrk_rounds=1,
)


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit, so that every ``with`` block stops its servers."""
    raise SystemExit(128 + signum)


@contextmanager
def gateway_mode(plan: Plan, log: Callable[[str], None]) -> Iterator[Mode]:
    """The gateway's mode for ``plan``, with the database and Redis prefix it names
    created for the run and removed when it ends."""
    with ExitStack() as stack:
        database_url = None
        if plan.database == "postgres":
            log("creating a PostgreSQL database for the run")
            database_url = stack.enter_context(postgres_database())
        if not plan.redis:
            yield Mode(database_url=database_url, workers=plan.workers, limits=plan.limits)
            return
        prefix = stack.enter_context(redis_prefix())
        yield Mode(database_url, REDIS_URL, prefix, plan.workers, plan.limits)


def largest_rss(workers: list[dict[str, int]]) -> dict[str, int]:
    """The largest ``VmRSS`` and ``VmHWM`` among the gateway's workers."""
    if not workers:
        raise RuntimeError("no gateway worker process was found")
    return {key: max(w[key] for w in workers) for key in ("VmRSS", "VmHWM")}


def measure(plan: Plan, log: Callable[[str], None], litellm: str | None) -> dict[str, Any]:
    """Start the servers, run every phase, stop the servers; the raw results."""
    log(f"timing `nanogate --help`, {plan.help_runs} runs")
    help_s = help_seconds(plan.help_runs)
    with (
        tempfile.TemporaryDirectory(prefix="nanogate-bench-") as tmp,
        gateway_mode(plan, log) as mode,
        Processes(Path(tmp)) as procs,
    ):
        log("starting the fake upstream")
        upstream = start_upstream(procs)
        log("creating an account and an API key, starting the gateway")
        started = start_gateway(procs, Path(tmp), upstream, mode)
        gateway = started.server
        log(f"timing `nanogate accounts show`, {plan.help_runs} runs")
        read_s = read_seconds(started.setup, plan.help_runs)
        rss_idle = largest_rss(workers_rss_kib(gateway.child.pid, plan.workers))
        log("starting the bare pass-through")
        passthrough = start_passthrough(procs, upstream)
        servers = [upstream, gateway, passthrough]
        if litellm is not None:
            log("starting LiteLLM's proxy")
            servers.append(start_litellm(procs, Path(tmp), upstream, litellm))
        targets = [server.target() for server in servers[:3]]
        relay_targets = [server.target(RELAY_TOKENS) for server in servers[:3]]
        saturated = [server.target() for server in servers]
        common = {"targets": targets, "client": plan.client}
        log(f"latency, one client: {plan.requests} requests per target")
        latency = run_phase(
            {
                **common,
                "phase": "latency",
                "requests": plan.requests,
                "warmup": plan.warmup,
                "segment_warmup": plan.segment_warmup,
                "rounds": plan.latency_rounds,
            }
        )
        log(f"saturation: {plan.connections} connections, {plan.seconds:g} s per target")
        throughput = run_phase(
            {
                **common,
                "targets": saturated,
                "phase": "throughput",
                "connections": plan.connections,
                "seconds": plan.seconds,
                "rounds": plan.throughput_rounds,
                "warmup_seconds": plan.warmup_seconds,
            }
        )
        log(f"streaming first byte: {plan.stream_requests} requests per target")
        stream = run_phase(
            {
                **common,
                "phase": "latency",
                "stream": True,
                "requests": plan.stream_requests,
                "warmup": plan.warmup // 4,
                "segment_warmup": plan.segment_warmup,
                "rounds": plan.latency_rounds,
            }
        )
        log(f"relayed chunks: {plan.relay_requests} streams of {RELAY_TOKENS} chunks per target")
        relay = run_phase(
            {
                **common,
                "targets": relay_targets,
                "phase": "latency",
                "stream": True,
                "requests": plan.relay_requests,
                "warmup": plan.relay_warmup,
                "segment_warmup": 1,
                "rounds": plan.relay_rounds,
            }
        )
        compiled: dict[str, Any] | None = None
        if wrk_command() is not None:
            log(f"saturation with wrk: {plan.wrk_connections} connections")
            compiled = run_wrk_rounds(
                saturated, plan.wrk_connections, plan.wrk_seconds, plan.wrk_rounds
            )
        for server in servers:
            server.child.check_alive()
        workers_after = workers_rss_kib(gateway.child.pid, plan.workers)
        return {
            "wrk": compiled,
            "latency": latency,
            "throughput": throughput,
            "stream": stream,
            "relay": relay,
            "gateway": {
                "pid": gateway.child.pid,
                "workers": plan.workers,
                "startup_s": started.startup_s,
                "rss_idle_kib": rss_idle,
                "rss_after_kib": largest_rss(workers_after),
                "worker_rss_after_kib": workers_after,
                "supervisor_rss_kib": rss_kib(gateway.child.pid),
                "passthrough_rss_kib": rss_kib(passthrough.child.pid),
                "help_s": help_s,
                "read_s": read_s,
            },
        }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short CI-size run (< 1 min)")
    parser.add_argument("--out", type=Path, help="write the markdown report to this file")
    parser.add_argument("--json", type=Path, help="write the raw numbers to this JSON file")
    parser.add_argument("--requests", type=int, help="timed one-client requests per target")
    parser.add_argument("--seconds", type=float, help="saturation seconds per target")
    parser.add_argument("--connections", type=int, help="concurrent saturation connections")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        help="the gateway's database (default sqlite: a file; postgres: a fresh database "
        "on postgresql://postgres@127.0.0.1:5432, dropped at the end)",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        default=None,
        help="give the gateway Redis at redis://127.0.0.1:6379/0, under a key prefix of "
        "the run's own (its keys deleted at the end)",
    )
    parser.add_argument(
        "--workers", type=_positive, help="the gateway's worker processes (default 1)"
    )
    parser.add_argument(
        "--no-limits",
        dest="limits",
        action="store_false",
        default=None,
        help="give the benchmark key no limits (by default it has a per-second, a daily "
        "request and a daily spending limit, none of them reached)",
    )
    parser.add_argument(
        "--litellm",
        help="LiteLLM's `litellm` command, from a throwaway virtualenv "
        "(default: $NANOGATE_BENCH_LITELLM; none: the LiteLLM arm is skipped)",
    )
    parser.add_argument(
        "--client",
        choices=("raw", "aiohttp"),
        help="load-generator client (default raw: asyncio protocol + httptools)",
    )
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    """An integer of at least 1, for argparse."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def plan_from(args: argparse.Namespace) -> Plan:
    """The plan the flags ask for."""
    plan = QUICK if args.quick else Plan()
    flags = (
        "requests",
        "seconds",
        "connections",
        "client",
        "database",
        "redis",
        "workers",
        "limits",
    )
    overrides = {name: getattr(args, name) for name in flags if getattr(args, name) is not None}
    return replace(plan, **overrides)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and report; 1 if the run was not valid."""
    args = parse_args(argv)
    plan = plan_from(args)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)

    def log(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = describe()
    clock = time.perf_counter()
    litellm = litellm_command(args.litellm)
    if litellm is None:
        log("LiteLLM's proxy is not configured (--litellm): its arm is skipped")
    raw = measure(plan, log, litellm)
    summary = summarise(
        machine=machine,
        settings=asdict(plan),
        latency=raw["latency"],
        stream=raw["stream"],
        relay=raw["relay"],
        throughput=raw["throughput"],
        wrk=raw["wrk"],
        gateway=raw["gateway"],
        started_at=started_at,
        wall_seconds=time.perf_counter() - clock,
    )
    report = markdown(summary)
    if args.json:
        raw_latency = {
            name: {"latency_ns": entry["latency_ns"]} for name, entry in raw["latency"].items()
        }
        args.json.write_bytes(
            orjson.dumps(
                {"summary": summary, "latency_samples": raw_latency},
                option=orjson.OPT_INDENT_2,
            )
        )
    if args.out:
        args.out.write_text(report + "\n")
        log(f"report written to {args.out}")
    else:
        print(report)
    return 0 if summary["valid"] else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
