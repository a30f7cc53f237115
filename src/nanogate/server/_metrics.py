"""Prometheus metrics, on a registry of the app's own (no process-wide globals).

With ``PROMETHEUS_MULTIPROC_DIR`` set (``nanogate serve`` sets it up for several
workers), ``/metrics`` reports every worker through prometheus-client's multiprocess
collector, whichever worker answers the scrape.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST as CONTENT_TYPE,
)
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["CONTENT_TYPE", "Metrics"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """The gateway's counters; labelled children are cached so a request costs two
    dictionary lookups, not a label resolution per metric."""

    def __init__(self, dropped_log_records: Callable[[], float] | None = None) -> None:
        self.multiprocess = "PROMETHEUS_MULTIPROC_DIR" in os.environ
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
        self.discrepancies = Counter(
            "nanogate_usage_discrepancies",
            "Settlements whose reported usage did not fit the request (kind: output beyond "
            "what it allowed, or cost beyond its hold); the excess is not billed.",
            ("model", "kind"),
            registry=self.registry,
        )
        self._dropped_now = dropped_log_records
        self._dropped: Gauge | None = None
        if dropped_log_records is not None:
            self._dropped = Gauge(
                "nanogate_request_log_dropped",
                "Request-log records dropped because the database was away too long.",
                registry=self.registry,
                multiprocess_mode="livesum",
            )
            if not self.multiprocess:
                self._dropped.set_function(dropped_log_records)
        self._counters: dict[tuple[str, str, int, str], Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        self._tokens: dict[tuple[str, str], Counter] = {}

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
        for direction, count in (("input", input_tokens), ("output", output_tokens)):
            if count:
                child = self._tokens.get((model, direction))
                if child is None:
                    child = self._tokens[model, direction] = self.upstream_tokens.labels(
                        model, direction
                    )
                child.inc(count)

    def discrepancy(self, model: str, kind: str) -> None:
        self.discrepancies.labels(model, kind).inc()

    def render(self) -> bytes:
        if self.multiprocess:
            # each worker's count sits in its own file, brought up to date as it scrapes
            if self._dropped is not None and self._dropped_now is not None:
                self._dropped.set(self._dropped_now())
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
