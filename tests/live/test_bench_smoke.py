"""The benchmark harness still runs end to end (a bounded run; no timing is asserted)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_bounded_benchmark_run_is_valid(tmp_path: Path) -> None:
    """`bench.run` with tiny settings starts every target, gets only 200s, relays long
    streams through gateway and pass-through, and reports every quality bar, and the
    saturation measured with `wrk` where it is installed; performance is judged from
    full runs, never here."""
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--quick",
            "--requests",
            "60",
            "--seconds",
            "0.5",
            "--connections",
            "8",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(out.read_text())["summary"]
    assert summary["valid"] is True and summary["problems"] == []
    assert set(summary["bars"]) == {
        "added_p50_vs_passthrough_ms",
        "added_p99_ms",
        "throughput_vs_passthrough",
        "first_byte_added_vs_passthrough_ms",
        "relay_vs_passthrough",
        "rss_mib",
        "startup_s",
        "help_s",
        "read_s",
    }  # no LiteLLM arm, so no gateway / LiteLLM bar
    unsigned = {name: bar for name, bar in summary["bars"].items() if not name.endswith("_ms")}
    assert all(bar["measured"] > 0 for bar in unsigned.values())  # ratios, MiB, seconds
    for name in ("gateway", "passthrough"):
        relay = summary["relay"][name]
        assert relay["chunks_per_s"] > 0
        assert relay["streams"] >= 6 and relay["events_min"] >= 1000
    assert summary["relay_ratios"]["gateway/passthrough"] > 0
    assert summary["settings"]["database"] == "sqlite" and summary["settings"]["workers"] == 1
    if shutil.which("wrk") is None:
        assert summary["wrk"] is None
    else:
        assert set(summary["wrk"]) >= {"direct", "gateway", "passthrough"}
        assert all(entry["rps"] > 0 for entry in summary["wrk"].values())
