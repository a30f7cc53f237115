"""The benchmark harness still runs end to end (a bounded run; no timing is asserted)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_bounded_benchmark_run_is_valid(tmp_path: Path) -> None:
    """`bench.run` with tiny settings starts every target, gets only 200s, and reports
    every quality bar, and the saturation measured with `wrk` where it is installed;
    performance is judged from full runs, never here."""
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
        "added_p50_ms",
        "added_p99_ms",
        "throughput_vs_passthrough",
        "first_byte_added_ms",
        "rss_mib",
        "startup_s",
    }
    if shutil.which("wrk") is None:
        assert summary["wrk"] is None
    else:
        assert set(summary["wrk"]) >= {"direct", "gateway", "passthrough"}
        assert all(entry["rps"] > 0 for entry in summary["wrk"].values())
