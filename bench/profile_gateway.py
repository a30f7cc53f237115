"""Profile the gateway under saturation load with py-spy.

``python -m bench.profile_gateway --out-dir DIR [--seconds 10] [--connections 64]`` starts
the fake upstream and the gateway, keeps ``connections`` requests in flight, and
meanwhile samples the gateway worker with ``py-spy`` twice: a flame graph
(``gateway-profile.svg``) and raw collapsed stacks (``gateway-profile.txt``), which
are then summarised (``gateway-profile-summary.md``): where the samples end (by
package and function, the cyclic garbage collector counted apart), and which of the
gateway's own functions they pass through. Samples are taken with ``--gil`` (only
while a thread holds the GIL, so idle waits do not count) and ``--native`` (so
garbage collection, which runs in C, is visible).

py-spy is not a dependency; install it with ``pip install py-spy``. Sampling costs
the gateway some throughput, so run this apart from ``bench.run``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from bench._procs import Processes
from bench._targets import start_gateway, start_passthrough, start_upstream
from bench.load import run_phase

CATEGORIES = (
    ("nanogate", "nanogate/"),
    ("starlette", "starlette/"),
    ("uvicorn", "uvicorn/"),
    ("aiohttp", "aiohttp/"),
    ("sqlalchemy", "sqlalchemy/"),
    ("aiosqlite", "aiosqlite/"),
    ("pydantic", "pydantic"),
    ("uvloop (C event loop)", "asyncio/runners.py"),
    ("asyncio", "/asyncio/"),
)


GC = "cyclic garbage collector"


def frame_file(frame: str) -> str:
    """The file part of a py-spy frame, ``function (path/file.py:12)``."""
    _, _, where = frame.rpartition(" (")
    return where.rstrip(")").rpartition(":")[0]


def function_of(frame: str) -> str:
    """A frame without its line number, cut to the package: ``f (aiohttp/client.py)``."""
    function, _, _ = frame.rpartition(" (")
    where = frame_file(frame)
    for marker in ("site-packages/", "/src/"):
        _, found, tail = where.partition(marker)
        if found:
            return f"{function} ({tail})"
    _, found, tail = where.partition("/lib/python3")
    if found:
        return f"{function} (stdlib/{tail.partition('/')[2]})"
    return f"{function} ({where})"


def category(frame: str) -> str:
    """Which package a frame belongs to."""
    where = frame_file(frame)
    for name, marker in CATEGORIES:
        if marker in where:
            return name
    return "other (stdlib, C extensions)"


def summarise(collapsed: str, top: int = 15) -> str:
    """A markdown summary of py-spy's raw output (``frame;frame;... count`` per line).

    Native frames (``--native``) are used only to spot the cyclic garbage
    collector; everything else is attributed to the innermost Python frame.
    """
    by_package: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    deepest_own: Counter[str] = Counter()
    gc_trigger: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = stack.split(";")
        python_frames = [f for f in frames if ".py:" in f]
        if not python_frames:
            continue
        count = int(count_text)
        total += count
        own = [f for f in python_frames if category(f) == "nanogate" and "/cli/" not in f]
        for function in {function_of(f) for f in own}:
            inside[function] += count
        if any("gc_collect" in f for f in frames):
            by_package[GC] += count
            leaf[GC] += count
            gc_trigger[function_of(python_frames[-1])] += count
            continue
        by_package[category(python_frames[-1])] += count
        leaf[function_of(python_frames[-1])] += count
        if own:
            deepest_own[function_of(own[-1])] += count

    def table(title: str, counts: Counter[str], header: str) -> list[str]:
        rows = [f"### {title}", "", f"| {header} | samples | share |", "|---|---:|---:|"]
        rows += [f"| `{k}` | {v} | {v / total:.1%} |" for k, v in counts.most_common(top)]
        return [*rows, ""]

    lines = [f"{total} samples of the gateway worker, taken while a thread held the GIL.", ""]
    lines += table("Where the time goes, by package (innermost frame)", by_package, "package")
    lines += table("Hottest functions (self time)", leaf, "function (file)")
    lines += table("Gateway code: samples under each function (inclusive)", inside, "function")
    lines += table(
        "Gateway code: innermost gateway function (its own cost plus the libraries it calls,"
        " garbage collection excluded)",
        deepest_own,
        "function",
    )
    lines += table("Where garbage collections were triggered", gc_trigger, "function")
    return "\n".join(lines)


def py_spy() -> str:
    """The py-spy executable next to the interpreter, else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    return found


def record(pid: int, output: Path, fmt: str, seconds: float) -> None:
    """Sample ``pid`` for ``seconds`` into ``output`` in py-spy format ``fmt``."""
    subprocess.run(
        [py_spy(), "record", "--pid", str(pid), "--duration", str(int(seconds))]
        + [
            "--rate",
            "200",
            "--gil",
            "--native",
            "--full-filenames",
            "--format",
            fmt,
            "--output",
            str(output),
        ],
        check=True,
        capture_output=True,
    )


def main() -> None:
    """Start the servers, load the gateway, profile it, write the artefacts."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=10.0, help="per recording")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--target",
        choices=("gateway", "passthrough"),
        default="gateway",
        help="what to profile: the gateway, or the bare pass-through it is measured against",
    )
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    svg = args.out_dir / "gateway-profile.svg"
    raw = args.out_dir / "gateway-profile.txt"
    speedscope = args.out_dir / "gateway-profile.speedscope.json"
    with tempfile.TemporaryDirectory(prefix="nanogate-profile-") as tmp, Processes(Path(tmp)) as p:
        upstream = start_upstream(p)
        if args.target == "gateway":
            gateway = start_gateway(p, Path(tmp), upstream).server
        else:
            gateway = start_passthrough(p, upstream)
        spec = {
            "phase": "throughput",
            "targets": [gateway.target()],
            "connections": args.connections,
            "seconds": 3 * args.seconds + 3,
            "rounds": 1,
            "warmup_seconds": 1.0,
            "client": "raw",
        }
        result: dict[str, Any] = {}
        loader = threading.Thread(target=lambda: result.update(run_phase(spec)))
        loader.start()
        try:
            for output, fmt in ((svg, "flamegraph"), (raw, "raw"), (speedscope, "speedscope")):
                record(gateway.child.pid, output, fmt, args.seconds)
        finally:
            loader.join()
    summary = summarise(raw.read_text())
    rounds = next(iter(result.values()))["rounds"]
    rps = sum(r["ok"] for r in rounds) / sum(r["seconds"] for r in rounds)
    text = f"{args.target} under {args.connections} connections: {rps:.0f} req/s while sampled.\n\n"
    (args.out_dir / "gateway-profile-summary.md").write_text(text + summary + "\n")
    print(text + summary)


if __name__ == "__main__":
    main()
