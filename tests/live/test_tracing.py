"""OpenTelemetry tracing over OTLP/HTTP, received by a collector on loopback: a span per
request carrying its request id, with child spans for inline moderation, each upstream
attempt (a failed one marked as an error) and the settlement.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from tests.conftest import LiveFactory
from tests.helpers import wait_until
from tests.live.test_fallbacks import chain_settings

from nanogate.config import TracingSettings
from nanogate.testing import FakeUpstream, Fault, ServedAioHTTP

trace_service = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")


class Collector:
    """An OTLP/HTTP traces endpoint keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Any] = []

    async def traces(self, request: web.Request) -> web.Response:
        message = trace_service.ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        for resource in message.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend(scope.spans)
        return web.Response(body=b"", content_type="application/x-protobuf")

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_post("/v1/traces", self.traces)
        return application


@pytest.fixture
def collector() -> Iterator[tuple[Collector, str]]:
    received = Collector()
    with ServedAioHTTP(received.app()) as served:
        yield received, served.url


@pytest.fixture
def upstreams() -> Iterator[dict[str, tuple[FakeUpstream, str]]]:
    fakes = {name: FakeUpstream(reply=f"Hello from {name}.") for name in ("one", "two", "three")}
    served = {name: ServedAioHTTP(fake.app()).__enter__() for name, fake in fakes.items()}
    yield {name: (fakes[name], served[name].url) for name in fakes}
    for server in served.values():
        server.__exit__(None, None, None)


def attributes(span: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in span.attributes:
        value = item.value
        found[item.key] = getattr(value, value.WhichOneof("value"))
    return found


def test_a_request_s_span_has_children_for_moderation_attempts_and_settlement(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    upstreams: dict[str, tuple[FakeUpstream, str]],
    collector: tuple[Collector, str],
) -> None:
    """A moderated request whose first deployment fails: one server span named for its
    route with the request id, status, key, model and cost; under it a moderation span,
    two upstream attempts (the first an error with its code) and one settlement."""
    received, url = collector
    settings = chain_settings(tmp_path, upstreams).model_copy(
        update={"tracing": TracingSettings(otlp_endpoint=url + "/v1/traces", export_delay_ms=50)}
    )
    live = serve_gateway(settings)
    upstreams["one"][0].inject(Fault.status_error(503))
    body = {"model": "acme/chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
    response = httpx.post(
        live.url + "/api/v1/chat/completions",
        json=body,
        headers={**live.auth(), "moderation": "true"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    request_id = response.headers["x-request-id"]

    def exported() -> list[Any]:
        ours = [s for s in received.spans if attributes(s).get("nanogate.request_id") == request_id]
        return ours if len(ours) >= 4 else []

    spans = wait_until(exported, "the request's spans at the collector")
    (root,) = [s for s in spans if not s.parent_span_id]
    assert root.name == "POST /api/v1/chat/completions"
    facts = attributes(root)
    assert (
        facts["http.response.status_code"] == 200 and facts["nanogate.key_id"] == live.seeded.key_id
    )
    assert facts["gen_ai.request.model"] == "acme/chat" and facts["nanogate.cost_usd"] != "0.00"
    children = [s for s in spans if s.parent_span_id == root.span_id]
    names = sorted(s.name for s in children)
    assert names.count("upstream attempt") == 2 and "settlement" in names
    # inline moderation is a request of its own (its own id and record) inside this one
    inner = [s for s in received.spans if s.trace_id == root.trace_id and s not in spans]
    moderation = [s for s in inner if s.name == "moderation"]
    assert len(moderation) == 1
    assert attributes(moderation[0])["nanogate.moderation.flagged"] is False
    assert any(s.name == "settlement" for s in inner), "the moderation check is settled too"
    attempts = sorted(
        (s for s in children if s.name == "upstream attempt"),
        key=lambda s: attributes(s)["nanogate.attempt"],
    )
    first, second = (attributes(s) for s in attempts)
    assert first["nanogate.provider"] == "one" and first["nanogate.error.code"]
    assert attempts[0].status.code == 2  # STATUS_CODE_ERROR
    assert second["nanogate.provider"] == "two" and "nanogate.error.code" not in second


def test_without_an_endpoint_nothing_of_opentelemetry_runs(serve_gateway: LiveFactory) -> None:
    """Tracing is off by default: the gateway has no tracer."""
    live = serve_gateway()
    assert live.app.state.tracing is None
