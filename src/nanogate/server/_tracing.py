"""Optional OpenTelemetry tracing: a span per request, with child spans for moderation,
each upstream attempt and the settlement, exported over OTLP/HTTP.

Off unless ``[tracing] otlp_endpoint`` is set; then the ``tracing`` extra
(``opentelemetry-sdk`` and its OTLP exporter) must be installed. When off, nothing of
OpenTelemetry is imported and :func:`span` costs a ``nullcontext``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from nanogate.config import ConfigError
from nanogate.core import format_usd

if TYPE_CHECKING:
    from nanogate.config import TracingSettings
    from nanogate.server._context import RequestContext
    from nanogate.storage import RequestRecord

Attributes = Mapping[str, str | int | float | bool]


class Tracing:
    """A tracer exporting in batches to an OTLP/HTTP collector."""

    def __init__(self, settings: TracingSettings) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
        except ImportError as exc:
            raise ConfigError(
                "[tracing] otlp_endpoint is set, but OpenTelemetry is not installed: "
                "install the tracing extra (pip install 'nanogate[server,tracing]')"
            ) from exc
        from nanogate._version import __version__

        resource = Resource.create(
            {"service.name": settings.service_name, "service.version": __version__}
        )
        self._provider = TracerProvider(
            resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio))
        )
        exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint, timeout=10)
        self._provider.add_span_processor(
            BatchSpanProcessor(exporter, schedule_delay_millis=settings.export_delay_ms)
        )
        self.tracer = self._provider.get_tracer("nanogate")

    @contextlib.contextmanager
    def span(self, name: str, attributes: Attributes) -> Iterator[Any]:
        with self.tracer.start_as_current_span(name, attributes=dict(attributes)) as current:
            yield current

    def start_request(self, method: str, path: str, request_id: str) -> tuple[Any, object]:
        """The request's span, made current so the spans of its work are its children."""
        from opentelemetry import context, trace

        current = self.tracer.start_span(
            f"{method} {path}",
            kind=trace.SpanKind.SERVER,
            attributes={
                "nanogate.request_id": request_id,
                "http.request.method": method,
                "url.path": path,
            },
        )
        return current, context.attach(trace.set_span_in_context(current))

    def end_request(self, started: tuple[Any, object], record: RequestRecord, route: str) -> None:
        """End the request's span with what the request's record says of it."""
        from opentelemetry import context

        current, token = started
        current.update_name(f"{record.method} {route}")
        current.set_attribute("http.route", route)
        current.set_attribute("http.response.status_code", record.status)
        for name, value in (
            ("nanogate.key_id", record.key_id),
            ("nanogate.account_id", record.account_id),
            ("gen_ai.request.model", record.model),
            ("nanogate.error.code", record.code),
        ):
            if value is not None:
                current.set_attribute(name, value)
        current.set_attribute("nanogate.cost_usd", format_usd(record.cost_nusd))
        if record.input_tokens is not None:
            current.set_attribute("gen_ai.usage.input_tokens", record.input_tokens)
        if record.output_tokens is not None:
            current.set_attribute("gen_ai.usage.output_tokens", record.output_tokens)
        if record.status >= 500:
            mark_error(current, record.code or "server_error", record.status)
        current.end()
        context.detach(token)  # type: ignore[arg-type]

    def shutdown(self) -> None:
        """Export what is left and stop (a blocking call: the gateway is stopping)."""
        self._provider.shutdown()


def tracing_for(settings: TracingSettings) -> Tracing | None:
    return Tracing(settings) if settings.otlp_endpoint else None


def span(
    ctx: RequestContext, name: str, attributes: Attributes
) -> contextlib.AbstractContextManager[Any]:
    """A child span of ``ctx``'s request span (carrying its request id), or nothing when
    tracing is off."""
    tracing = ctx.state.tracing
    if tracing is None:
        return contextlib.nullcontext()
    return tracing.span(name, {"nanogate.request_id": ctx.request_id, **attributes})


def mark_error(current: Any, code: str, status: int) -> None:
    """Mark a span failed with the catalogue's code (``current`` may be ``None``: off)."""
    if current is None:
        return
    from opentelemetry.trace import Status, StatusCode

    current.set_attribute("nanogate.error.code", code)
    current.set_attribute("http.response.status_code", status)
    current.set_status(Status(StatusCode.ERROR, code))
