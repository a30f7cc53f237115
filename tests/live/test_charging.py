"""What is charged and what is not, over real sockets; each test reads the balance
before and after.

Not charged (the seed's rules): an empty response, an error before generation, a
stream that ends in an error frame. Charged: delivered generation, and what was
produced before a client disconnected.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import (
    SURFACE_PATHS,
    assert_envelope,
    make_settings,
    requests_written,
    run_sync,
    wait_until,
    with_provider,
    written_record,
)
from tests.live.test_balances import assert_books_balance

from nanogate.billing import Book, cost
from nanogate.config import ProviderSettings
from nanogate.core import SSEDecoder, count_chat_tokens, count_tokens
from nanogate.errors import ServiceUnavailable
from nanogate.providers import ChatCall, EmbeddingCall, EmbeddingResult
from nanogate.routing import Model
from nanogate.storage import SQLStore

HI = [{"role": "user", "content": "hi"}]


def balance(live: Live) -> int:
    async def read() -> int:
        store = SQLStore(live.settings.database.url)
        try:
            account = await Book(store.fast).get_account(live.seeded.account_id)
            assert account is not None
            return account.balance_nusd
        finally:
            await store.close()

    return run_sync(read())


def model(live: Live, model_id: str) -> Model:
    return Model.from_settings(next(m for m in live.settings.models if m.id == model_id))


def events(live: Live, path: str, body: dict[str, Any], **headers: str) -> list[tuple[str, str]]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        with client.stream("POST", path, json=body, headers={**live.auth(), **headers}) as response:
            raw = b"".join(response.iter_raw())
    return [(e.event, e.data) for e in SSEDecoder().feed(raw)]


class Unsteady:
    """A provider that fails before answering, or after two pieces, or stalls after two."""

    name = "unsteady"

    def __init__(self) -> None:
        self.mode = "fail-before"

    async def chat(self, call: ChatCall) -> dict[str, Any]:
        raise ServiceUnavailable()

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[list[dict[str, Any]]]:
        if self.mode == "fail-before":
            raise ServiceUnavailable()

        def chunk(delta: dict[str, Any]) -> dict[str, Any]:
            return {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "u",
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }

        yield [chunk({"role": "assistant", "content": ""})]
        yield [chunk({"content": "Hello"}), chunk({"content": " there"})]
        if self.mode == "fail-after":
            raise ServiceUnavailable()
        await asyncio.sleep(60)

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        raise ServiceUnavailable()

    async def close(self) -> None:
        pass


@pytest.fixture
def unsteady() -> Unsteady:
    return Unsteady()


@pytest.fixture
def charged_live(serve_gateway: LiveFactory, tmp_path: Path, unsteady: Unsteady) -> Live:
    settings = with_provider(
        make_settings(tmp_path),
        ProviderSettings(name="unsteady", kind="local"),
        [
            {
                "id": "test/unsteady",
                "provider": "unsteady",
                "capabilities": ["streaming"],
                "input_usd_per_mtok": "1",
                "output_usd_per_mtok": "2",
            }
        ],
    )
    return serve_gateway(settings, providers={"unsteady": unsteady})


# Not charged ---------------------------------------------------------------------------


def test_an_empty_response_is_not_charged(charged_live: Live) -> None:
    """An answer with no content (the stop sequence cuts it all) is 400 empty_response,
    streamed or not, and the balance does not move."""
    before = balance(charged_live)
    body = {"model": "local/chat", "messages": HI, "stop": ["You"]}
    with httpx.Client(base_url=charged_live.url) as client:
        plain = client.post(SURFACE_PATHS["openai"], json=body, headers=charged_live.auth())
    assert_envelope(plain, "openai", "empty_response")
    streamed = events(charged_live, SURFACE_PATHS["openai"], {**body, "stream": True})
    assert orjson.loads(streamed[-2][1])["error"]["code"] == "empty_response"
    assert balance(charged_live) == before
    assert_books_balance(charged_live.settings.database.url, charged_live.seeded.account_id)


def test_an_error_before_generation_is_not_charged(charged_live: Live, unsteady: Unsteady) -> None:
    """A provider that fails before producing anything (streamed or not) costs nothing."""
    before = balance(charged_live)
    body = {"model": "test/unsteady", "messages": HI}
    with httpx.Client(base_url=charged_live.url) as client:
        plain = client.post(SURFACE_PATHS["openai"], json=body, headers=charged_live.auth())
        streamed = client.post(
            SURFACE_PATHS["openai"], json={**body, "stream": True}, headers=charged_live.auth()
        )
    assert_envelope(plain, "openai", "service_unavailable")
    assert_envelope(streamed, "openai", "service_unavailable")
    assert balance(charged_live) == before
    assert_books_balance(charged_live.settings.database.url, charged_live.seeded.account_id)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (SURFACE_PATHS["openai"], {}),
        (SURFACE_PATHS["anthropic"], {"max_tokens": 50}),
        ("/api/v1/responses", {"input": "hi"}),
    ],
)
def test_a_stream_that_ends_in_an_error_frame_is_not_charged(
    charged_live: Live, unsteady: Unsteady, path: str, body: dict[str, Any]
) -> None:
    """Output was streamed, then the provider failed: the stream ends in the dialect's
    error event, and nothing is charged."""
    unsteady.mode = "fail-after"
    before = balance(charged_live)
    request = {"model": "test/unsteady", "stream": True, **body}
    if "input" not in body:
        request["messages"] = HI
    streamed = events(charged_live, path, request)
    assert streamed[-1][0] in ("", "error", "response.failed")
    assert balance(charged_live) == before
    assert_books_balance(charged_live.settings.database.url, charged_live.seeded.account_id)


# Charged ------------------------------------------------------------------------------


def test_a_disconnect_is_charged_for_what_was_produced(
    charged_live: Live, unsteady: Unsteady
) -> None:
    """A client that goes away mid-stream pays for the prompt and the output produced until
    then (an estimate, marked as such), not for the whole answer it might have had."""
    unsteady.mode = "stall"
    before = balance(charged_live)
    body = {"model": "test/unsteady", "stream": True, "messages": HI}
    with httpx.Client(base_url=charged_live.url, timeout=30) as client:
        with client.stream(
            "POST", SURFACE_PATHS["openai"], json=body, headers=charged_live.auth()
        ) as response:
            seen = b""
            for piece in response.iter_raw():
                seen += piece
                if b" there" in seen:
                    break
            request_id = response.headers["x-request-id"]
    expected = cost(
        model(charged_live, "test/unsteady"), count_chat_tokens(HI), count_tokens("Hello there")
    )
    deadline = time.monotonic() + 5
    while balance(charged_live) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert before - balance(charged_live) == expected
    assert_books_balance(charged_live.settings.database.url, charged_live.seeded.account_id)

    logged = written_record(charged_live.settings.database.url, request_id)
    assert logged.usage_estimated and logged.code == "client_disconnected"
    assert logged.cost_nusd == expected


def test_every_answer_carries_its_price(charged_live: Live) -> None:
    """x_nanogpt_pricing is on non-streamed answers of every surface, and on the final
    event of every stream (the usage chunk, or the finish chunk without include_usage;
    Messages' message_delta; Responses' response.completed), equal to what was charged."""
    live = charged_live
    before = balance(live)
    prices: list[Decimal] = []

    def price(data: dict[str, Any]) -> None:
        pricing = data["x_nanogpt_pricing"]
        assert pricing["paymentSource"] == "balance" and pricing["currency"] == "USD"
        prices.append(Decimal(str(pricing["cost"])))

    with httpx.Client(base_url=live.url) as client:
        for path, body in (
            (SURFACE_PATHS["openai"], {"messages": HI}),
            (SURFACE_PATHS["anthropic"], {"messages": HI, "max_tokens": 20}),
            ("/api/v1/responses", {"input": "hi"}),
            ("/api/v1/embeddings", {"model": "local/embed", "input": "hi"}),
        ):
            answer = client.post(path, json={"model": "local/chat", **body}, headers=live.auth())
            price(answer.json())
    with_usage = events(
        live,
        SURFACE_PATHS["openai"],
        {
            "model": "local/chat",
            "messages": HI,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    last = orjson.loads(with_usage[-2][1])
    assert last["choices"] == [] and last["usage"]
    price(last)
    without = events(
        live, SURFACE_PATHS["openai"], {"model": "local/chat", "messages": HI, "stream": True}
    )
    last = orjson.loads(without[-2][1])
    assert last["choices"][0]["finish_reason"] == "stop"
    price(last)
    messages = events(
        live,
        SURFACE_PATHS["anthropic"],
        {"model": "local/chat", "messages": HI, "max_tokens": 20, "stream": True},
    )
    price(orjson.loads(next(d for e, d in messages if e == "message_delta")))
    responses = events(
        live, "/api/v1/responses", {"model": "local/chat", "input": "hi", "stream": True}
    )
    price(orjson.loads(next(d for e, d in responses if e == "response.completed")))
    assert all(p > 0 for p in prices)
    assert Decimal(before - balance(live)) / 10**9 == sum(prices)


# Idempotency ---------------------------------------------------------------------------


def test_a_repeated_idempotent_request_is_replayed_and_charged_once(charged_live: Live) -> None:
    """The same Idempotency-Key and body gets the stored answer with the original request
    id, charged once; streamed answers are replayed whole."""
    live = charged_live
    before = balance(live)
    body = {"model": "local/chat", "messages": HI}
    with httpx.Client(base_url=live.url) as client:
        headers = {**live.auth(), "idempotency-key": "order-42"}
        first = client.post(SURFACE_PATHS["openai"], json=body, headers=headers)
        again = client.post(SURFACE_PATHS["openai"], json=body, headers=headers)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["x-request-id"] == first.headers["x-request-id"]
    charged_once = before - balance(live)
    assert charged_once == int(Decimal(str(first.json()["x_nanogpt_pricing"]["cost"])) * 10**9)
    stream = {**body, "stream": True}
    one = events(live, SURFACE_PATHS["openai"], stream, **{"idempotency-key": "stream-1"})
    two = events(live, SURFACE_PATHS["openai"], stream, **{"idempotency-key": "stream-1"})
    assert one == two
    assert_books_balance(live.settings.database.url, live.seeded.account_id)


def test_idempotency_conflicts(charged_live: Live, unsteady: Unsteady) -> None:
    """A different body under a used key, or a repeat while the first request still runs,
    is 409 idempotency_conflict (not retried by SDKs); a failed request gives its key up."""
    live = charged_live
    with httpx.Client(base_url=live.url, timeout=30) as client:
        headers = {**live.auth(), "idempotency-key": "k1"}
        client.post(
            SURFACE_PATHS["openai"], json={"model": "local/chat", "messages": HI}, headers=headers
        )
        other = client.post(
            SURFACE_PATHS["openai"],
            json={"model": "local/chat", "messages": [{"role": "user", "content": "bye"}]},
            headers=headers,
        )
        assert_envelope(other, "openai", "idempotency_conflict")
        unsteady.mode = "stall"
        running = {**live.auth(), "idempotency-key": "k2"}
        body = {"model": "test/unsteady", "messages": HI, "stream": True}
        with client.stream("POST", SURFACE_PATHS["openai"], json=body, headers=running) as first:
            chunks = first.iter_raw()  # held: a dropped iterator closes the stream
            next(chunks)
            with httpx.Client(base_url=live.url) as second:
                conflict = second.post(SURFACE_PATHS["openai"], json=body, headers=running)
            assert_envelope(conflict, "openai", "idempotency_conflict")
        unsteady.mode = "fail-before"
        failing = {**live.auth(), "idempotency-key": "k3"}
        body = {"model": "test/unsteady", "messages": HI}
        for _ in range(2):  # the failure is not stored: the retry runs again
            retry = client.post(SURFACE_PATHS["openai"], json=body, headers=failing)
            assert_envelope(retry, "openai", "service_unavailable")


# Reporting -----------------------------------------------------------------------------


def test_usage_report_by_day_and_model(charged_live: Live) -> None:
    """GET /api/v1/usage totals the key's successful requests, spend and tokens by UTC day
    and model, in NanoGPT's shape; bad ranges are invalid_parameter_value."""
    live = charged_live
    before = balance(live)
    with httpx.Client(base_url=live.url) as client:
        done = []
        for model_id in ("local/chat", "local/chat", "local/mini"):
            response = client.post(
                SURFACE_PATHS["openai"],
                json={"model": model_id, "messages": HI},
                headers=live.auth(),
            )
            done.append(response.headers["x-request-id"])
        spent = Decimal(before - balance(live)) / 10**9
        url = live.settings.database.url
        wait_until(lambda: requests_written(url, *done), "the request log to write the requests")
        report = client.get("/api/v1/usage", headers=live.auth()).json()
        assert report["object"] == "usage" and report["groupBy"] == "day,model"
        assert report["totals"]["requests"] == 3
        assert Decimal(str(report["totals"]["costUsd"])) == spent
        assert {m["model"]: m["requests"] for m in report["byModel"]} == {
            "local/chat": 2,
            "local/mini": 1,
        }
        assert len(report["byDay"]) == 1 and len(report["byDayModel"]) == 2
        by_model = client.get("/api/v1/usage?group_by=model", headers=live.auth()).json()
        assert "byDay" not in by_model and "byModel" in by_model
        for query, param in (
            ("from=2026-01-01", "to"),
            ("from=x&to=2026-01-02", "from"),
            ("from=2026-02-01&to=2026-01-01", "to"),
            ("group_by=week", "group_by"),
        ):
            bad = client.get(f"/api/v1/usage?{query}", headers=live.auth())
            assert_envelope(bad, "openai", "invalid_parameter_value")
            assert bad.json()["error"]["param"] == param
