"""Prometheus metrics, on a registry of the app's own (no process-wide globals).

With ``PROMETHEUS_MULTIPROC_DIR`` set (several workers), ``/metrics`` reports
every worker through prometheus-client's multiprocess collector.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST as CONTENT_TYPE,
)
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["CONTENT_TYPE", "Metrics"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "nanogate_requests",
            "Requests answered, by route, method, status and error code.",
            ("route", "method", "status", "code"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "nanogate_request_duration_seconds",
            "Time from request start to the end of the response.",
            ("route",),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.upstream_tokens = Counter(
            "nanogate_tokens",
            "Tokens processed, by model and direction (input or output).",
            ("model", "direction"),
            registry=self.registry,
        )
        self._counters: dict[tuple[str, str, int, str], Counter] = {}
        self._histograms: dict[str, Histogram] = {}

    def observe(
        self, route: str, method: str, status: int, code: str | None, seconds: float
    ) -> None:
        key = (route, method, status, code or "")
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(route, method, str(status), key[3])
        counter.inc()
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = self.duration.labels(route)
        histogram.observe(seconds)

    def tokens(self, model: str, input_tokens: int | None, output_tokens: int | None) -> None:
        if input_tokens:
            self.upstream_tokens.labels(model, "input").inc(input_tokens)
        if output_tokens:
            self.upstream_tokens.labels(model, "output").inc(output_tokens)

    def render(self) -> bytes:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
