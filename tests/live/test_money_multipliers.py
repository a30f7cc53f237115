"""The maximum cost counts every multiplier, and the charge never exceeds the hold.

A request with ``n`` choices may produce ``n`` times ``max_tokens``: that is what it
holds, what a daily spending limit counts, and what an x402 quote asks for. An
upstream that reports more usage than the request allowed is recorded as a
discrepancy (request record, metric, warning) and billed no more than the hold.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import (
    SURFACE_PATHS,
    assert_envelope,
    make_settings,
    with_provider,
    written_record,
)
from tests.live.test_balances import assert_books_balance
from tests.live.test_charging import balance
from tests.x402_helpers import BODY, Peers, price_of, quote, serve_peers, x402_settings

from nanogate.billing import cost, maximum_cost
from nanogate.config import ProviderSettings, Settings
from nanogate.core import count_chat_tokens, format_usd
from nanogate.routing import Model
from nanogate.testing import FakeUpstream, ServedAioHTTP

HI = [{"role": "user", "content": "hi"}]
CHOICES = {"model": "local/chat", "messages": HI, "max_tokens": 50, "n": 100}


def model_of(settings: Settings, model_id: str) -> Model:
    return Model.from_settings(next(m for m in settings.models if m.id == model_id))


def post(live: Live, body: dict[str, Any], path: str = SURFACE_PATHS["openai"]) -> httpx.Response:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        return client.post(path, json=body, headers=live.auth())


def test_every_choice_is_held(serve_gateway: LiveFactory, tmp_path: Path) -> None:
    """With n=100 the hold is the prompt plus 100 times max_tokens: a balance that covers
    one choice but not a hundred is refused with 402 and the exact requiredBalance, and
    nothing is charged."""
    settings = make_settings(tmp_path)
    chat = model_of(settings, "local/chat")
    prompt = count_chat_tokens(HI)
    one, hundred = (maximum_cost(chat, prompt, 50, n) for n in (1, 100))
    assert hundred > 90 * one
    live = serve_gateway(settings, balance=format_usd(hundred - 1, 0))
    assert post(live, {**CHOICES, "n": 1}).status_code == 200
    before = balance(live)
    refused = post(live, CHOICES)
    body = assert_envelope(refused, "openai", "insufficient_balance")
    assert Decimal(str(body["requiredBalance"])) == Decimal(format_usd(hundred, 0))
    assert balance(live) == before
    assert_books_balance(settings.database.url, live.seeded.account_id)


def test_a_request_with_many_choices_is_charged_what_they_produced(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """A funded request with n=5 gets five choices and pays for all of them, never more
    than its hold."""
    live = serve_gateway(make_settings(tmp_path))
    before = balance(live)
    response = post(live, {**CHOICES, "n": 5})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert len(answer["choices"]) == 5
    usage = answer["usage"]
    chat = model_of(live.settings, "local/chat")
    charged = before - balance(live)
    assert charged == cost(chat, usage["prompt_tokens"], usage["completion_tokens"])
    assert usage["completion_tokens"] > 1
    assert charged <= maximum_cost(chat, count_chat_tokens(HI), 50, 5)


def test_a_daily_spending_limit_counts_every_choice(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """A key whose daily USD limit covers a request's hold with one choice is refused a
    hundred choices (429 daily_usd_limit_exceeded) and is never charged past its limit."""
    settings = make_settings(tmp_path)
    chat = model_of(settings, "local/chat")
    one = maximum_cost(chat, count_chat_tokens(HI), 50, 1)
    limit = format_usd(10 * one, 0)
    live = serve_gateway(settings, daily_usd_nusd=10 * one)
    before = balance(live)
    refused = post(live, CHOICES)
    assert_envelope(refused, "openai", "daily_usd_limit_exceeded")
    assert balance(live) == before
    assert post(live, {**CHOICES, "n": 1}).status_code == 200
    assert before - balance(live) <= 10 * one, limit


@pytest.fixture
def peers() -> Iterator[Peers]:
    yield from serve_peers()


def test_an_x402_quote_prices_every_choice(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """An accountless request with n=3 is quoted its prompt plus three times max_tokens."""
    live = serve_gateway(x402_settings(tmp_path, peers))
    one = Decimal(quote(live.url)["amountUsd"])
    three = Decimal(quote(live.url, {**BODY, "n": 3})["amountUsd"])
    prompt = count_chat_tokens(BODY["messages"])
    assert one == price_of(prompt, BODY["max_tokens"])
    assert three == price_of(prompt, 3 * BODY["max_tokens"])


@pytest.fixture
def greedy() -> Iterator[tuple[FakeUpstream, str]]:
    """An upstream that reports 5,000 output tokens whatever max_tokens says."""
    upstream = FakeUpstream(report_output_tokens=5000)
    with ServedAioHTTP(upstream.app()) as served:
        yield upstream, served.url


def greedy_live(serve_gateway: LiveFactory, tmp_path: Path, url: str) -> Live:
    settings = with_provider(
        make_settings(tmp_path),
        ProviderSettings(name="fake", kind="openai", base_url=url + "/v1", timeout_s=5),
        [
            {
                "id": "acme/chat",
                "provider": "fake",
                "upstream_model": "fake-chat",
                "input_usd_per_mtok": "3",
                "output_usd_per_mtok": "15",
                "capabilities": ["streaming"],
            }
        ],
    )
    return serve_gateway(settings)


def metric_value(live: Live, kind: str) -> float:
    text = httpx.get(live.url + "/metrics").text
    for line in text.splitlines():
        if line.startswith("nanogate_usage_discrepancies_total{") and f'kind="{kind}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_usage_beyond_what_the_request_allowed_is_recorded_and_not_billed(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    greedy: tuple[FakeUpstream, str],
    caplog: pytest.LogCaptureFixture,
    stream: bool,
) -> None:
    """An upstream reporting 5,000 output tokens for max_tokens 50 is billed the hold and
    no more; the request record carries the discrepancy, the metric counts it, and a
    warning names the request."""
    live = greedy_live(serve_gateway, tmp_path, greedy[1])
    body = {"model": "acme/chat", "messages": HI, "max_tokens": 50}
    chat = model_of(live.settings, "acme/chat")
    hold = maximum_cost(chat, count_chat_tokens(HI), 50)
    before = balance(live)
    caplog.set_level(logging.WARNING, logger="nanogate.billing")
    if stream:
        with httpx.Client(base_url=live.url, timeout=30) as client:
            with client.stream(
                "POST", SURFACE_PATHS["openai"], json={**body, "stream": True}, headers=live.auth()
            ) as response:
                raw = b"".join(response.iter_raw())
        assert b"[DONE]" in raw
    else:
        response = post(live, body)
        assert response.status_code == 200, response.text
        assert response.json()["usage"]["completion_tokens"] == 5000
    request_id = response.headers["x-request-id"]
    assert before - balance(live) == hold
    record = written_record(live.settings.database.url, request_id)
    assert record.cost_nusd == hold
    assert record.output_tokens == 5000
    assert record.discrepancy is not None
    assert record.discrepancy["kind"] == "output"
    assert record.discrepancy["allowed_output_tokens"] == 50
    assert record.discrepancy["reported_output_tokens"] == 5000
    assert Decimal(record.discrepancy["billed_usd"]) == Decimal(format_usd(hold, 0))
    assert Decimal(record.discrepancy["reported_cost_usd"]) > Decimal(format_usd(hold, 0))
    assert metric_value(live, "output") == 1.0
    warnings = [r for r in caplog.records if r.name == "nanogate.billing"]
    assert any(request_id in r.getMessage() for r in warnings)
    assert_books_balance(live.settings.database.url, live.seeded.account_id)


def test_usage_within_what_was_allowed_is_no_discrepancy(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """An ordinary request records no discrepancy and moves no counter."""
    live = serve_gateway(make_settings(tmp_path))
    response = post(live, {**CHOICES, "n": 2})
    assert response.status_code == 200
    assert (
        written_record(live.settings.database.url, response.headers["x-request-id"]).discrepancy
        is None
    )
    assert metric_value(live, "output") == 0.0
    assert metric_value(live, "cost") == 0.0


def test_whole_numbers_written_with_a_point_count_as_integers(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    greedy: tuple[FakeUpstream, str],
) -> None:
    """``n: 2.0`` and ``max_tokens: 50.0`` are the integers 2 and 50: they are held as
    such, reach the upstream as integers, and the discrepancy record counts in
    integers."""
    live = greedy_live(serve_gateway, tmp_path, greedy[1])
    chat = model_of(live.settings, "acme/chat")
    hold = maximum_cost(chat, count_chat_tokens(HI), 50, 2)
    before = balance(live)
    body = {"model": "acme/chat", "messages": HI, "max_tokens": 50.0, "n": 2.0}
    response = post(live, body)
    assert response.status_code == 200, response.text
    sent = greedy[0].requests[-1]["body"]
    assert (sent["n"], sent["max_tokens"]) == (2, 50)
    assert type(sent["n"]) is int and type(sent["max_tokens"]) is int
    assert before - balance(live) == hold
    record = written_record(live.settings.database.url, response.headers["x-request-id"])
    assert record.discrepancy is not None
    assert record.discrepancy["allowed_output_tokens"] == 100
    assert type(record.discrepancy["allowed_output_tokens"]) is int
