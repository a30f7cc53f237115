"""The clients' resources: the request each method sends and the answer it returns."""

from __future__ import annotations

import logging

import httpx
import pytest
from tests.client.fake_api import BASE_URL, FakeAPI, error, ok

from nanogate.client import (
    APIResponseValidationError,
    AsyncClient,
    Client,
    PaymentRequiredError,
    Response,
    RetryPolicy,
)

HI = [{"role": "user", "content": "hi"}]


def test_chat_completion_request_and_answer() -> None:
    """chat.completions.create POSTs the body with Bearer auth and returns a Response
    dict carrying the request id."""
    api = FakeAPI(ok({"id": "chatcmpl_1"}, request_id="req_chat"))
    with api.client() as client:
        answer = client.chat.completions.create(model="m", messages=HI, temperature=0.2)
    request = api.requests[0]
    assert (request.method, str(request.url)) == ("POST", f"{BASE_URL}/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-nano-secret"
    assert "x-api-key" not in request.headers
    assert api.json() == {"model": "m", "messages": HI, "temperature": 0.2}
    assert isinstance(answer, Response) and answer == {"id": "chatcmpl_1"}
    assert (answer.request_id, answer.status) == ("req_chat", 200)


@pytest.mark.parametrize(
    ("call", "method", "url"),
    [
        (lambda c: c.embeddings.create(model="e", input="x"), "POST", f"{BASE_URL}/embeddings"),
        (lambda c: c.moderations.create(input="x"), "POST", f"{BASE_URL}/moderations"),
        (lambda c: c.models.list(), "GET", f"{BASE_URL}/models"),
        (lambda c: c.models.list(detailed=True), "GET", f"{BASE_URL}/models?detailed=true"),
        (lambda c: c.responses.create(model="m", input="x"), "POST", f"{BASE_URL}/responses"),
        (
            lambda c: c.messages.create(model="m", max_tokens=5, messages=HI),
            "POST",
            f"{BASE_URL}/messages",
        ),
        (lambda c: c.balance(), "POST", "http://api.test/api/check-balance"),
        (
            lambda c: c.request_billing("req_1/x"),
            "GET",
            f"{BASE_URL}/usage/requests/req_1%2Fx",
        ),
    ],
    ids=[
        "embeddings",
        "moderations",
        "models",
        "models-detailed",
        "responses",
        "messages",
        "balance",
        "request-billing",
    ],
)
def test_each_method_calls_its_endpoint(call, method: str, url: str) -> None:  # type: ignore[no-untyped-def]
    """Each method sends its method to its URL; legacy routes hang from /api."""
    api = FakeAPI(ok())
    with api.client() as client:
        assert call(client).request_id == "req_ok"
    assert (api.requests[0].method, str(api.requests[0].url)) == (method, url)


def test_legacy_routes_also_send_x_api_key() -> None:
    """check-balance carries the key as x-api-key too, as NanoGPT's legacy routes read it."""
    api = FakeAPI(ok({"usd_balance": "5.00"}))
    with api.client() as client:
        assert client.balance()["usd_balance"] == "5.00"
    assert api.requests[0].headers["x-api-key"] == "sk-nano-secret"


def test_messages_anthropic_version_can_be_overridden() -> None:
    """A caller's anthropic-version header replaces the default."""
    api = FakeAPI(ok())
    with api.client() as client:
        client.messages.create(
            model="m", max_tokens=5, messages=HI, headers={"Anthropic-Version": "2099-01-01"}
        )
    assert api.requests[0].headers["anthropic-version"] == "2099-01-01"


def test_default_and_per_call_headers_and_timeout() -> None:
    """default_headers go on every request, per-call headers win, per-call timeout is used."""
    api = FakeAPI(ok())
    with api.client(default_headers={"X-Team": "a", "X-Env": "prod"}) as client:
        client.models.list(headers={"X-Env": "test"}, timeout=3.0)
    request = api.requests[0]
    assert (request.headers["x-team"], request.headers["x-env"]) == ("a", "test")
    assert request.extensions["timeout"]["read"] == 3.0


def test_no_api_key_sends_no_authorization() -> None:
    """Without a key (accountless x402 calls) no credentials are sent."""
    api = FakeAPI(ok())
    with api.client(api_key=None) as client:
        client.models.list()
    assert "authorization" not in api.requests[0].headers


def test_base_url_trailing_slash_is_ignored() -> None:
    """A trailing slash on base_url changes nothing."""
    api = FakeAPI(ok())
    client = Client(BASE_URL + "/", http_client=httpx.Client(transport=httpx.MockTransport(api)))
    with client:
        client.models.list()
    assert str(api.requests[0].url) == f"{BASE_URL}/models"
    assert client.base_url == BASE_URL


def test_non_json_success_is_a_validation_error() -> None:
    """A 2xx answer that is not a JSON object raises APIResponseValidationError."""
    api = FakeAPI(httpx.Response(200, text="<html>", headers={"x-request-id": "req_html"}))
    with api.client() as client, pytest.raises(APIResponseValidationError) as caught:
        client.models.list()
    assert caught.value.request_id == "req_html" and caught.value.status == 200


def test_failures_are_logged_with_request_id_never_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failed request logs one WARNING with its request id; the API key never appears."""
    body = {"error": "Insufficient balance", "requiredBalance": 0.01, "status": 402}
    api = FakeAPI(error(402, body, x_request_id="req_poor"))
    with caplog.at_level(logging.WARNING, logger="nanogate.client"):
        with api.client() as client, pytest.raises(PaymentRequiredError):
            client.chat.completions.create(model="m", messages=HI)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "req_poor" in caplog.text and "giving up" in caplog.text
    assert "sk-nano-secret" not in caplog.text


def test_client_closes_only_its_own_http_client() -> None:
    """close() closes a pool the client made, never one the caller passed in."""
    mine = httpx.Client()
    Client(http_client=mine).close()
    assert not mine.is_closed
    mine.close()
    owned = Client()
    owned.close()
    assert owned._http.is_closed


async def test_async_methods_mirror_the_sync_ones() -> None:
    """The async client sends the same requests and returns Response dicts."""
    api = FakeAPI(ok(), ok({"usd_balance": "1"}), ok({"cost": 0.1}))
    async with api.async_client() as client:
        await client.embeddings.create(model="e", input="x")
        assert (await client.balance())["usd_balance"] == "1"
        assert (await client.request_billing("req_9")).request_id == "req_ok"
    assert [str(r.url) for r in api.requests] == [
        f"{BASE_URL}/embeddings",
        "http://api.test/api/check-balance",
        f"{BASE_URL}/usage/requests/req_9",
    ]


async def test_async_client_closes_its_own_pool() -> None:
    """AsyncClient.close() closes the pool it made."""
    client = AsyncClient(retry=RetryPolicy.never())
    await client.close()
    assert client._http.is_closed
