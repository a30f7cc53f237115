"""Turning raw load-generator output into a summary, and the summary into markdown.

Both are pure functions over plain data: :func:`summarise` takes what the load
generator returned plus process facts, :func:`markdown` renders the result.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from bench._litellm import LITELLM
from bench._stats import summary_ms
from bench._targets import DIRECT, GATEWAY, PASSTHROUGH

LABELS = {
    DIRECT: "direct (fake upstream)",
    GATEWAY: "gateway (nanogate serve)",
    PASSTHROUGH: "bare pass-through",
    LITELLM: "LiteLLM proxy (one worker)",
}

BARS = {
    "added_p50_ms": 0.5,
    "added_p99_ms": 2.0,
    "throughput_vs_passthrough": 0.75,
    "first_byte_added_ms": 1.0,
    "rss_mib": 120.0,
    "startup_s": 1.5,
}


def _probe_ok(probe: dict[str, Any], stream: bool) -> bool:
    """Whether the probe request got a 200 with a completion (or an SSE stream) in it."""
    marker = "data:" if stream else '"choices"'
    return probe.get("status") == 200 and marker in probe.get("body", "")


def _latency(raw: dict[str, Any], stream: bool) -> dict[str, Any]:
    """Per target: latency and first-byte summaries, non-200 counts, the probe."""
    out: dict[str, Any] = {}
    for name, entry in raw.items():
        out[name] = {
            "latency_ms": summary_ms(entry["latency_ns"]),
            "first_byte_ms": summary_ms(entry["first_byte_ns"]),
            "errors": entry["errors"],
            "probe_ok": _probe_ok(entry["probe"], stream),
            "probe": entry["probe"],
        }
    return out


def _added(latency: dict[str, Any], key: str) -> dict[str, dict[str, float]]:
    """Per non-direct target: its percentiles of ``key`` minus direct's."""
    direct = latency[DIRECT][key]
    return {
        name: {q: latency[name][key][q] - direct[q] for q in ("p50", "p90", "p99")}
        for name in (GATEWAY, PASSTHROUGH)
        if name in latency
    }


def _throughput(raw: dict[str, Any]) -> dict[str, Any]:
    """Per target: req/s over all rounds and per round, errors, latency under load."""
    out: dict[str, Any] = {}
    for name, entry in raw.items():
        rounds = entry["rounds"]
        ok = sum(r["ok"] for r in rounds)
        seconds = sum(r["seconds"] for r in rounds)
        errors: dict[str, int] = {}
        for r in rounds:
            for status, count in r["errors"].items():
                errors[status] = errors.get(status, 0) + count
        samples = [s for r in rounds for s in r["latency_ns"]]
        out[name] = {
            "rps": ok / seconds if seconds else 0.0,
            "rps_rounds": [r["ok"] / r["seconds"] for r in rounds],
            "requests": ok + sum(errors.values()),
            "seconds": seconds,
            "errors": errors,
            "latency_ms": summary_ms(samples),
        }
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def _compiled(raw: dict[str, list[dict[str, Any]]] | None) -> dict[str, Any] | None:
    """Per target, from ``wrk``'s rounds: the median req/s and latency, and errors."""
    if raw is None:
        return None
    return {
        name: {
            "rps": statistics.median(r["rps"] for r in rounds),
            "rps_rounds": [r["rps"] for r in rounds],
            "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
            "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
            "errors": sum(r["errors"] for r in rounds),
        }
        for name, rounds in raw.items()
    }


def _ratios(rps: dict[str, float]) -> dict[str, float]:
    ratios = {
        "gateway/passthrough": _ratio(rps[GATEWAY], rps[PASSTHROUGH]),
        "gateway/direct": _ratio(rps[GATEWAY], rps[DIRECT]),
        "passthrough/direct": _ratio(rps[PASSTHROUGH], rps[DIRECT]),
    }
    if LITELLM in rps:
        ratios["gateway/litellm"] = _ratio(rps[GATEWAY], rps[LITELLM])
    return ratios


def summarise(
    *,
    machine: dict[str, Any],
    settings: dict[str, Any],
    latency: dict[str, Any],
    stream: dict[str, Any],
    throughput: dict[str, Any],
    wrk: dict[str, Any] | None,
    gateway: dict[str, Any],
    started_at: str,
    wall_seconds: float,
) -> dict[str, Any]:
    """The numbers a report shows, derived from raw measurements."""
    lat = _latency(latency, stream=False)
    streaming = _latency(stream, stream=True)
    thr = _throughput(throughput)
    ratios = _ratios({name: entry["rps"] for name, entry in thr.items()})
    compiled = _compiled(wrk)
    problems = [
        f"wrk {name}: {entry['errors']} failed requests"
        for name, entry in (compiled or {}).items()
        if entry["errors"]
    ]
    problems += [
        f"{phase} {name}: non-200 answers {entry['errors']}"
        for phase, table in (("latency", lat), ("streaming", streaming), ("throughput", thr))
        for name, entry in table.items()
        if entry["errors"]
    ]
    problems += [
        f"{phase} {name}: the probe request did not get a proper answer"
        for phase, table in (("latency", lat), ("streaming", streaming))
        for name, entry in table.items()
        if not entry["probe_ok"]
    ]
    added = _added(lat, "latency_ms")
    first_byte_added = _added(streaming, "first_byte_ms")
    rss_mib = gateway["rss_after_kib"]["VmRSS"] / 1024
    measured = {
        "added_p50_ms": added[GATEWAY]["p50"],
        "added_p99_ms": added[GATEWAY]["p99"],
        "throughput_vs_passthrough": ratios["gateway/passthrough"],
        "first_byte_added_ms": first_byte_added[GATEWAY]["p50"],
        "rss_mib": rss_mib,
        "startup_s": gateway["startup_s"],
    }
    higher_is_better = {"throughput_vs_passthrough"}
    bars = {
        name: {
            "bar": bar,
            "measured": measured[name],
            "met": measured[name] >= bar if name in higher_is_better else measured[name] <= bar,
        }
        for name, bar in BARS.items()
    }
    return {
        "started_at": started_at,
        "wall_seconds": wall_seconds,
        "machine": machine,
        "settings": settings,
        "valid": not problems,
        "problems": problems,
        "latency": lat,
        "added_latency_ms": added,
        "throughput": thr,
        "throughput_ratios": ratios,
        "wrk": compiled,
        "wrk_ratios": _ratios({n: e["rps"] for n, e in compiled.items()}) if compiled else None,
        "streaming": streaming,
        "first_byte_added_ms": first_byte_added,
        "gateway": gateway,
        "bars": bars,
    }


def _f(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _signed(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.{digits}f}"


def _errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{k}×{v}" for k, v in sorted(errors.items())) or "0"


def _machine_lines(machine: dict[str, Any]) -> list[str]:
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
    return [
        f"- CPUs (nproc): {machine['nproc']}; CPU: {machine['cpu_model']}",
        f"- memory: {machine['memory_gib']} GiB; kernel {machine['kernel']}; "
        f"{machine['python_implementation']} {machine['python']}",
        f"- packages: {packages}",
        f"- load average at start: {machine['load_average_at_start']}",
    ]


def _settings_line(s: dict[str, Any]) -> str:
    return (
        f"- one client: {s['requests']} timed requests per target in {s['latency_rounds']} "
        f"interleaved rounds, after {s['warmup']} warm-up requests; streaming: "
        f"{s['stream_requests']} per target; saturation: {s['connections']} connections, "
        f"{s['seconds']:g} s per target in {s['throughput_rounds']} rounds "
        f"(+{s['warmup_seconds']:g} s uncounted warm-up each); client: {s['client']}"
    )


def _latency_table(title: str, table: dict[str, Any], key: str) -> list[str]:
    lines = [
        f"### {title}",
        "",
        "| target | p50 ms | p90 ms | p99 ms | mean ms | max ms | non-200 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in table.items():
        s = entry[key]
        lines.append(
            f"| {LABELS[name]} | {_f(s['p50'])} | {_f(s['p90'])} | {_f(s['p99'])} "
            f"| {_f(s['mean'])} | {_f(s['max'])} | {_errors(entry['errors'])} |"
        )
    return [*lines, ""]


def _added_table(title: str, added: dict[str, Any]) -> list[str]:
    lines = [f"### {title}", "", "| over direct | p50 ms | p90 ms | p99 ms |"]
    lines.append("|---|---:|---:|---:|")
    for name, d in added.items():
        lines.append(
            f"| {LABELS[name]} | {_signed(d['p50'])} | {_signed(d['p90'])} | {_signed(d['p99'])} |"
        )
    return [*lines, ""]


def _throughput_lines(summary: dict[str, Any]) -> list[str]:
    lines = [
        "### Saturation throughput",
        "",
        "| target | req/s | req/s per round | p50 ms under load | p99 ms under load | non-200 |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for name, entry in summary["throughput"].items():
        per_round = " / ".join(f"{r:.0f}" for r in entry["rps_rounds"])
        lat = entry["latency_ms"]
        lines.append(
            f"| {LABELS[name]} | {entry['rps']:.0f} | {per_round} | {_f(lat['p50'], 2)} "
            f"| {_f(lat['p99'], 2)} | {_errors(entry['errors'])} |"
        )
    ratios = summary["throughput_ratios"]
    lines += ["", "Ratios: " + "; ".join(f"{k} = {_f(v, 3)}" for k, v in ratios.items()), ""]
    if LITELLM not in summary["throughput"]:
        lines += ["LiteLLM's proxy was not measured (no `--litellm`).", ""]
    return lines


def _wrk_lines(summary: dict[str, Any]) -> list[str]:
    compiled = summary["wrk"]
    if compiled is None:
        return ["### Saturation with wrk", "", "Not measured: `wrk` is not installed.", ""]
    s = summary["settings"]
    lines = [
        f"### Saturation with wrk ({s['wrk_connections']} connections, `wrk -t1`, "
        f"{s['wrk_seconds']:g} s × {s['wrk_rounds']} rounds, medians)",
        "",
        "| target | req/s | req/s per round | p50 ms | p99 ms | failed |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for name, entry in compiled.items():
        per_round = " / ".join(f"{r:.0f}" for r in entry["rps_rounds"])
        lines.append(
            f"| {LABELS[name]} | {entry['rps']:.0f} | {per_round} | {_f(entry['p50_ms'], 2)} "
            f"| {_f(entry['p99_ms'], 2)} | {entry['errors']} |"
        )
    ratios = summary["wrk_ratios"]
    lines += ["", "Ratios: " + "; ".join(f"{k} = {_f(v, 3)}" for k, v in ratios.items()), ""]
    return lines


def _bars_lines(summary: dict[str, Any]) -> list[str]:
    names = {
        "added_p50_ms": ("added latency p50 (ms)", "≤"),
        "added_p99_ms": ("added latency p99 (ms)", "≤"),
        "throughput_vs_passthrough": ("throughput / bare pass-through", "≥"),
        "first_byte_added_ms": ("streaming first byte, added p50 (ms)", "≤"),
        "rss_mib": ("worker RSS after the run (MiB)", "≤"),
        "startup_s": ("start-up to /healthz 200 (s)", "≤"),
    }
    lines = ["### Against the quality bars", "", "| bar | target | measured | met |"]
    lines.append("|---|---:|---:|:---:|")
    for key, (label, op) in names.items():
        bar = summary["bars"][key]
        verdict = "yes" if bar["met"] else "**no**"
        lines.append(f"| {label} | {op} {bar['bar']:g} | {_f(bar['measured'], 3)} | {verdict} |")
    return [*lines, ""]


def markdown(summary: dict[str, Any]) -> str:
    """The report as markdown."""
    gateway = summary["gateway"]
    passthrough_mib = gateway["passthrough_rss_kib"]["VmRSS"] / 1024
    lines = [
        f"## nanogate benchmark, {summary['started_at']}",
        "",
        *_machine_lines(summary["machine"]),
        _settings_line(summary["settings"]),
        f"- wall time: {summary['wall_seconds']:.0f} s",
        "",
    ]
    if summary["valid"]:
        lines += ["Run valid: every request answered 200.", ""]
    else:
        lines += ["**Run NOT valid:**", "", *(f"- {p}" for p in summary["problems"]), ""]
    lines += _latency_table("Latency, one client, non-streaming", summary["latency"], "latency_ms")
    lines += _added_table("Added latency, one client", summary["added_latency_ms"])
    lines += _throughput_lines(summary)
    lines += _wrk_lines(summary)
    lines += _latency_table(
        "Streaming, one client: time to first body byte", summary["streaming"], "first_byte_ms"
    )
    lines += _added_table("Streaming first byte, added", summary["first_byte_added_ms"])
    lines += [
        "### Gateway process",
        "",
        f"- start-up (process start to `/healthz` 200): {gateway['startup_s']:.2f} s",
        f"- RSS idle after start-up: {gateway['rss_idle_kib']['VmRSS'] / 1024:.1f} MiB; "
        f"after the run: {gateway['rss_after_kib']['VmRSS'] / 1024:.1f} MiB; "
        f"peak: {gateway['rss_after_kib']['VmHWM'] / 1024:.1f} MiB",
        f"- bare pass-through RSS after the run: {passthrough_mib:.1f} MiB",
        "",
    ]
    lines += _bars_lines(summary)
    return "\n".join(lines)
