"""Checked by mypy --strict in test_client_typing.py, never run: the public API's types."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, assert_type

import httpx

from nanogate.client import (
    APIError,
    APIStatusError,
    AsyncClient,
    AsyncStream,
    AsyncWallet,
    Client,
    DailyLimitError,
    PaidResponse,
    PaymentOffer,
    PaymentQuote,
    PaymentStatus,
    RateLimitError,
    Response,
    RetryPolicy,
    ServiceUnavailableError,
    Stream,
    StreamError,
    Wallet,
    classify_sdk_error,
    parse_error,
)

MESSAGES = [{"role": "user", "content": "hi"}]


def sync_api(client: Client) -> None:
    answer = client.chat.completions.create(model="m", messages=MESSAGES)
    assert_type(answer, Response)
    assert_type(answer.request_id, str | None)
    assert_type(answer["choices"], Any)
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert_type(stream, Stream)
    with stream as opened:
        assert_type(opened.request_id, str | None)
        for chunk in opened:
            assert_type(chunk, dict[str, Any])
    assert_type(client.messages.create(model="m", max_tokens=1, messages=MESSAGES), Response)
    assert_type(client.responses.create(model="m", input="x", stream=True), Stream)
    assert_type(client.responses.retrieve("resp_1"), Response)
    assert_type(client.responses.delete("resp_1", timeout=5.0), Response)
    counted = client.messages.count_tokens(
        model="m", messages=MESSAGES, system="s", tools=[{"name": "t", "input_schema": {}}]
    )
    assert_type(counted, Response)
    assert_type(counted["input_tokens"], Any)
    assert_type(client.embeddings.create(model="e", input="x"), Response)
    assert_type(client.moderations.create(input="x"), Response)
    assert_type(client.models.list(), Response)
    assert_type(client.balance(), Response)
    assert_type(client.request_billing("req_1"), Response)


async def async_api(client: AsyncClient) -> None:
    answer = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert_type(answer, Response)
    stream = await client.messages.create(model="m", max_tokens=1, messages=MESSAGES, stream=True)
    assert_type(stream, AsyncStream)
    async with stream:
        async for event in stream:
            assert_type(event, dict[str, Any])
    assert_type(await client.models.list(), Response)
    assert_type(await client.responses.retrieve("resp_1"), Response)
    assert_type(await client.responses.delete("resp_1", headers={"x": "y"}), Response)
    assert_type(await client.messages.count_tokens(model="m", messages=MESSAGES), Response)
    await client.close()


def errors(exc: BaseException) -> None:
    error = parse_error(429, {"retry-after": "1"}, b"{}")
    assert_type(error, APIStatusError)
    assert_type(error.status, int | None)
    assert_type(error.retry_after, float | None)
    assert_type(error.required_balance, Decimal | None)
    assert_type(error.retryable, bool)
    assert_type(classify_sdk_error(exc), APIError | None)
    if isinstance(error, StreamError):
        assert_type(error.error, APIStatusError)
    daily: RateLimitError = DailyLimitError("m", status=429)
    unavailable: APIStatusError = ServiceUnavailableError("m")
    del daily, unavailable


def construction() -> None:
    policy = RetryPolicy.for_tests(2)
    assert_type(policy.delays, list[float])
    assert_type(policy.delay_before_retry(1, APIError("m")), float | None)
    Client(
        base_url="http://127.0.0.1:8080/api/v1",
        api_key="sk",
        max_retries=2,
        timeout=httpx.Timeout(5.0),
        retry=policy,
        http_client=httpx.Client(),
        default_headers={"x": "y"},
    )
    AsyncClient(timeout=10.0, http_client=httpx.AsyncClient())


class _Wallet:
    def supports(self, offer: PaymentOffer) -> bool:
        return offer.exact

    def pay(
        self, quote: PaymentQuote, offer: PaymentOffer, requirements: Mapping[str, Any] | None
    ) -> str | None:
        return "x-payment"


class _AsyncWallet:
    def supports(self, offer: PaymentOffer) -> bool:
        return offer.exact

    async def pay(
        self, quote: PaymentQuote, offer: PaymentOffer, requirements: Mapping[str, Any] | None
    ) -> str | None:
        return None


def x402(client: Client) -> None:
    quote = client.x402.quote("/chat/completions", {"model": "m", "messages": MESSAGES})
    assert_type(quote, PaymentQuote)
    assert_type(quote.amount_usd, Decimal)
    assert_type(quote.offers[0].amount, int)
    assert_type(client.x402.status(quote), PaymentStatus)
    assert_type(client.x402.complete(quote.payment_id), Response)
    wallet: Wallet = _Wallet()
    paid = client.x402.pay("/chat/completions", {"model": "m"}, wallet, rails=["x402-exact"])
    assert_type(paid, PaidResponse)
    assert_type(paid.payment_response, dict[str, Any] | None)


async def async_x402(client: AsyncClient) -> None:
    wallet: AsyncWallet = _AsyncWallet()
    paid = await client.x402.pay("/chat/completions", {"model": "m"}, wallet)
    assert_type(paid.body, Response)
    assert_type(await client.x402.status("pay_1"), PaymentStatus)
