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
from bench._targets import DIRECT, GATEWAY, PASSTHROUGH, RELAY_TOKENS

LABELS = {
    DIRECT: "direct (fake upstream)",
    GATEWAY: "gateway (nanogate serve)",
    PASSTHROUGH: "bare pass-through",
    LITELLM: "LiteLLM proxy (one worker)",
}

BARS = {
    "added_p50_vs_passthrough_ms": 0.25,
    "added_p99_ms": 2.0,
    "throughput_vs_passthrough": 0.75,
    "throughput_vs_litellm": 35.0,
    "first_byte_added_vs_passthrough_ms": 0.3,
    "relay_vs_passthrough": 0.8,
    "rss_mib": 120.0,
    "startup_s": 1.0,
    "help_s": 0.4,
    "read_s": 0.4,
}
"""The quality bars. ``throughput_vs_litellm`` applies only when LiteLLM's arm ran."""

HIGHER_IS_BETTER = frozenset(
    {"throughput_vs_passthrough", "throughput_vs_litellm", "relay_vs_passthrough"}
)


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


def _chunk_rates(entry: dict[str, Any]) -> list[float]:
    """Per stream: SSE events received per second, from writing the request to the
    stream's end. Timed from the first byte instead, a relay that holds the first chunk
    back and sends the rest in one burst would score best."""
    return [
        events / (ns / 1e9)
        for events, ns in zip(entry["events"], entry["latency_ns"], strict=True)
        if ns > 0
    ]


def _relay(raw: dict[str, Any]) -> dict[str, Any]:
    """Per target, from the long streams: the median chunks per second, events per
    stream, time from first byte to end, non-200 counts, the probe."""
    out: dict[str, Any] = {}
    for name, entry in raw.items():
        rates = _chunk_rates(entry)
        events = entry["events"]
        out[name] = {
            "chunks_per_s": statistics.median(rates) if rates else math.nan,
            "streams": len(events),
            "events_min": min(events, default=0),
            "events_median": statistics.median(events) if events else math.nan,
            "after_first_byte_ms": summary_ms(entry["after_first_byte_ns"]),
            "latency_ms": summary_ms(entry["latency_ns"]),
            "errors": entry["errors"],
            "probe_ok": _probe_ok(entry["probe"], stream=True),
            "probe": entry["probe"],
        }
    return out


def _relay_ratios(relay: dict[str, Any]) -> dict[str, float]:
    rate = {name: entry["chunks_per_s"] for name, entry in relay.items()}
    return {
        "gateway/passthrough": _ratio(rate[GATEWAY], rate[PASSTHROUGH]),
        "gateway/direct": _ratio(rate[GATEWAY], rate[DIRECT]),
        "passthrough/direct": _ratio(rate[PASSTHROUGH], rate[DIRECT]),
    }


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


def _saturation(
    settings: dict[str, Any], ratios: dict[str, float], wrk_ratios: dict[str, float] | None
) -> dict[str, Any]:
    """The saturation ratios the bars judge: wrk's when it ran, else the own generator's."""
    if wrk_ratios is not None:
        return {"tool": "wrk", "connections": settings["wrk_connections"], "ratios": wrk_ratios}
    return {"tool": "own generator", "connections": settings["connections"], "ratios": ratios}


def _measured(
    *,
    added: dict[str, dict[str, float]],
    first_byte_added: dict[str, dict[str, float]],
    saturation: dict[str, Any],
    relay_ratios: dict[str, float],
    gateway: dict[str, Any],
) -> dict[str, float]:
    """What each quality bar is judged on (no LiteLLM bar when its arm did not run)."""
    measured = {
        "added_p50_vs_passthrough_ms": added[GATEWAY]["p50"] - added[PASSTHROUGH]["p50"],
        "added_p99_ms": added[GATEWAY]["p99"],
        "throughput_vs_passthrough": saturation["ratios"]["gateway/passthrough"],
        "first_byte_added_vs_passthrough_ms": (
            first_byte_added[GATEWAY]["p50"] - first_byte_added[PASSTHROUGH]["p50"]
        ),
        "relay_vs_passthrough": relay_ratios["gateway/passthrough"],
        "rss_mib": gateway["rss_after_kib"]["VmRSS"] / 1024,
        "startup_s": gateway["startup_s"],
        "help_s": statistics.median(gateway["help_s"]),
    }
    if "read_s" in gateway:  # reports written before it was measured have none
        measured["read_s"] = statistics.median(gateway["read_s"])
    if "gateway/litellm" in saturation["ratios"]:
        measured["throughput_vs_litellm"] = saturation["ratios"]["gateway/litellm"]
    return measured


def _bars(measured: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Each bar that was measured: its target, the measurement, whether it is met."""
    return {
        name: {
            "bar": bar,
            "measured": measured[name],
            "met": measured[name] >= bar if name in HIGHER_IS_BETTER else measured[name] <= bar,
        }
        for name, bar in BARS.items()
        if name in measured
    }


def summarise(
    *,
    machine: dict[str, Any],
    settings: dict[str, Any],
    latency: dict[str, Any],
    stream: dict[str, Any],
    relay: dict[str, Any],
    throughput: dict[str, Any],
    wrk: dict[str, Any] | None,
    gateway: dict[str, Any],
    started_at: str,
    wall_seconds: float,
) -> dict[str, Any]:
    """The numbers a report shows, derived from raw measurements."""
    lat = _latency(latency, stream=False)
    streaming = _latency(stream, stream=True)
    relayed = _relay(relay)
    thr = _throughput(throughput)
    ratios = _ratios({name: entry["rps"] for name, entry in thr.items()})
    compiled = _compiled(wrk)
    wrk_ratios = _ratios({n: e["rps"] for n, e in compiled.items()}) if compiled else None
    problems = [
        f"wrk {name}: {entry['errors']} failed requests"
        for name, entry in (compiled or {}).items()
        if entry["errors"]
    ]
    phases = (("latency", lat), ("streaming", streaming), ("relay", relayed))
    problems += [
        f"{phase} {name}: non-200 answers {entry['errors']}"
        for phase, table in (*phases, ("throughput", thr))
        for name, entry in table.items()
        if entry["errors"]
    ]
    problems += [
        f"{phase} {name}: the probe request did not get a proper answer"
        for phase, table in phases
        for name, entry in table.items()
        if not entry["probe_ok"]
    ]
    problems += [
        f"relay {name}: a stream carried {entry['events_min']} events, "
        f"fewer than the {RELAY_TOKENS} chunks asked for"
        for name, entry in relayed.items()
        if entry["events_min"] < RELAY_TOKENS
    ]
    added = _added(lat, "latency_ms")
    first_byte_added = _added(streaming, "first_byte_ms")
    relay_ratios = _relay_ratios(relayed)
    saturation = _saturation(settings, ratios, wrk_ratios)
    measured = _measured(
        added=added,
        first_byte_added=first_byte_added,
        saturation=saturation,
        relay_ratios=relay_ratios,
        gateway=gateway,
    )
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
        "wrk_ratios": wrk_ratios,
        "streaming": streaming,
        "first_byte_added_ms": first_byte_added,
        "relay": relayed,
        "relay_ratios": relay_ratios,
        "saturation_judged": {k: v for k, v in saturation.items() if k != "ratios"},
        "gateway": gateway,
        "bars": _bars(measured),
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


DATABASES = {"sqlite": "SQLite (a file)", "postgres": "PostgreSQL (a fresh database)"}


def _settings_lines(s: dict[str, Any]) -> list[str]:
    workers = f"{s['workers']} worker" + ("s" if s["workers"] != 1 else "")
    return [
        f"- one client: {s['requests']} timed requests per target in {s['latency_rounds']} "
        f"interleaved rounds, after {s['warmup']} warm-up requests; streaming: "
        f"{s['stream_requests']} per target; relay: {s['relay_requests']} streams of "
        f"{RELAY_TOKENS} chunks per target in {s['relay_rounds']} rounds; saturation: "
        f"{s['connections']} connections, {s['seconds']:g} s per target in "
        f"{s['throughput_rounds']} rounds (+{s['warmup_seconds']:g} s uncounted warm-up "
        f"each); client: {s['client']}",
        f"- gateway mode: database {DATABASES.get(s['database'], s['database'])}; "
        f"Redis {'on' if s['redis'] else 'off'}; {workers}; key limits "
        f"{'on (per second, per day, spending per day)' if s.get('limits', True) else 'off'}",
    ]


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


def _relay_lines(summary: dict[str, Any]) -> list[str]:
    lines = [
        f"### Relayed chunks, one client: streams of {RELAY_TOKENS} chunks",
        "",
        "| target | chunks/s (median) | events per stream (median) "
        "| first byte to end p50 ms | request to end p50 ms | non-200 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, entry in summary["relay"].items():
        lines.append(
            f"| {LABELS[name]} | {_f(entry['chunks_per_s'], 0)} "
            f"| {_f(entry['events_median'], 0)} | {_f(entry['after_first_byte_ms']['p50'], 2)} "
            f"| {_f(entry['latency_ms']['p50'], 2)} | {_errors(entry['errors'])} |"
        )
    ratios = summary["relay_ratios"]
    lines += [
        "",
        "Chunks/s: a stream's SSE events over the time from its request to its end.",
        "",
        "Ratios: " + "; ".join(f"{k} = {_f(v, 3)}" for k, v in ratios.items()),
        "",
    ]
    return lines


def _bar_labels(summary: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each bar's label and comparison."""
    judged = summary["saturation_judged"]
    source = f"{judged['tool']}, {judged['connections']} connections"
    workers = summary["gateway"]["workers"]
    largest = f", largest of {workers} workers" if workers > 1 else ""
    help_runs = len(summary["gateway"]["help_s"])
    return {
        "added_p50_vs_passthrough_ms": (
            "added latency p50, gateway − pass-through (ms, one client)",
            "≤",
        ),
        "added_p99_ms": ("added latency p99, gateway over direct (ms, one client)", "≤"),
        "throughput_vs_passthrough": (f"throughput gateway / pass-through ({source})", "≥"),
        "throughput_vs_litellm": (f"throughput gateway / LiteLLM ({source})", "≥"),
        "first_byte_added_vs_passthrough_ms": (
            "streaming first byte, added p50 gateway − pass-through (ms)",
            "≤",
        ),
        "relay_vs_passthrough": ("relayed chunks/s, gateway / pass-through", "≥"),
        "rss_mib": (f"worker RSS after the run (MiB{largest})", "≤"),
        "startup_s": ("start-up to /healthz 200 (s)", "≤"),
        "help_s": (f"`nanogate --help` wall time (s, median of {help_runs})", "≤"),
        "read_s": (
            f"read-only command `nanogate accounts show` wall time (s, median of {help_runs})",
            "≤",
        ),
    }


def _context_line(summary: dict[str, Any]) -> str:
    """The tail latencies shown beside the bars, without a bar of their own."""
    one = summary["latency"]
    parts = [
        f"one-client p99: gateway {_f(one[GATEWAY]['latency_ms']['p99'])} ms, "
        f"pass-through {_f(one[PASSTHROUGH]['latency_ms']['p99'])} ms"
    ]
    compiled = summary["wrk"]
    if compiled is not None:
        connections = summary["settings"]["wrk_connections"]
        parts.append(
            f"p99 at {connections} connections (wrk): gateway "
            f"{_f(compiled[GATEWAY]['p99_ms'], 2)} ms, pass-through "
            f"{_f(compiled[PASSTHROUGH]['p99_ms'], 2)} ms"
        )
    return "Beside the bars: " + "; ".join(parts) + "."


def _bars_lines(summary: dict[str, Any]) -> list[str]:
    labels = _bar_labels(summary)
    lines = ["### Against the quality bars", "", "| bar | target | measured | met |"]
    lines.append("|---|---:|---:|:---:|")
    for key, bar in summary["bars"].items():
        label, op = labels[key]
        verdict = "yes" if bar["met"] else "**no**"
        lines.append(f"| {label} | {op} {bar['bar']:g} | {_f(bar['measured'], 3)} | {verdict} |")
    return [*lines, "", _context_line(summary), ""]


def _mib(kib: dict[str, int], key: str = "VmRSS") -> str:
    return f"{kib[key] / 1024:.1f}"


def _gateway_lines(gateway: dict[str, Any]) -> list[str]:
    workers = gateway["workers"]
    whose = "" if workers == 1 else f" (the largest of its {workers} workers)"
    helps = " / ".join(f"{s:.3f}" for s in gateway["help_s"])
    lines = [
        "### Gateway process",
        "",
        f"- start-up (process start to `/healthz` 200): {gateway['startup_s']:.2f} s",
        f"- RSS{whose} idle after start-up: {_mib(gateway['rss_idle_kib'])} MiB; "
        f"after the run: {_mib(gateway['rss_after_kib'])} MiB; "
        f"peak: {_mib(gateway['rss_after_kib'], 'VmHWM')} MiB",
    ]
    if workers > 1:
        each = " / ".join(_mib(w) for w in gateway["worker_rss_after_kib"])
        lines.append(
            f"- each worker's RSS after the run: {each} MiB; the supervising process: "
            f"{_mib(gateway['supervisor_rss_kib'])} MiB"
        )
    passthrough_mib = gateway["passthrough_rss_kib"]["VmRSS"] / 1024
    return [
        *lines,
        f"- `nanogate --help` wall time: median {statistics.median(gateway['help_s']):.3f} s "
        f"({helps} s)",
        *(
            [
                "- `nanogate accounts show` wall time: median "
                f"{statistics.median(gateway['read_s']):.3f} s "
                f"({' / '.join(f'{s:.3f}' for s in gateway['read_s'])} s)"
            ]
            if "read_s" in gateway
            else []
        ),
        f"- bare pass-through RSS after the run: {passthrough_mib:.1f} MiB",
        "",
    ]


def markdown(summary: dict[str, Any]) -> str:
    """The report as markdown."""
    lines = [
        f"## nanogate benchmark, {summary['started_at']}",
        "",
        *_machine_lines(summary["machine"]),
        *_settings_lines(summary["settings"]),
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
    lines += _relay_lines(summary)
    lines += _gateway_lines(summary["gateway"])
    lines += _bars_lines(summary)
    return "\n".join(lines)
