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
    NotFoundError,
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
        (
            lambda c: c.responses.retrieve("resp_1/x"),
            "GET",
            f"{BASE_URL}/responses/resp_1%2Fx",
        ),
        (
            lambda c: c.responses.delete("resp_1?x#y"),
            "DELETE",
            f"{BASE_URL}/responses/resp_1%3Fx%23y",
        ),
        (
            lambda c: c.messages.count_tokens(model="m", messages=HI),
            "POST",
            f"{BASE_URL}/messages/count_tokens",
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
        "responses-retrieve",
        "responses-delete",
        "messages-count-tokens",
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


def test_count_tokens_sends_anthropic_body_and_version() -> None:
    """messages.count_tokens POSTs model, messages, system and tools (plus free-form
    params) with the default anthropic-version, and returns ``{"input_tokens": N}``."""
    tools = [{"name": "t", "input_schema": {"type": "object"}}]
    api = FakeAPI(ok({"input_tokens": 12}))
    with api.client() as client:
        answer = client.messages.count_tokens(
            model="m", messages=HI, system="Be brief.", tools=tools, tool_choice={"type": "auto"}
        )
    assert answer == {"input_tokens": 12} and answer.request_id == "req_ok"
    assert api.json() == {
        "model": "m",
        "messages": HI,
        "system": "Be brief.",
        "tools": tools,
        "tool_choice": {"type": "auto"},
    }
    assert api.requests[0].headers["anthropic-version"] == "2023-06-01"


def test_count_tokens_leaves_out_what_was_not_given() -> None:
    """Without system or tools, count_tokens sends only model and messages, and a
    caller's anthropic-version replaces the default."""
    api = FakeAPI(ok({"input_tokens": 3}))
    with api.client() as client:
        client.messages.count_tokens(
            model="m", messages=HI, headers={"Anthropic-Version": "2099-01-01"}
        )
    assert api.json() == {"model": "m", "messages": HI}
    assert api.requests[0].headers["anthropic-version"] == "2099-01-01"


def test_stored_response_methods_send_no_body() -> None:
    """responses.retrieve and responses.delete send no body and return the answer."""
    deleted = {"id": "resp_1", "object": "response", "deleted": True}
    api = FakeAPI(ok({"id": "resp_1", "object": "response"}), ok(deleted))
    with api.client() as client:
        assert client.responses.retrieve("resp_1")["id"] == "resp_1"
        assert client.responses.delete("resp_1") == deleted
    assert [(r.method, r.content) for r in api.requests] == [("GET", b""), ("DELETE", b"")]


@pytest.mark.parametrize("response_id", ["", ".", ".."])
@pytest.mark.parametrize("method", ["retrieve", "delete"])
def test_an_id_that_is_no_path_segment_is_refused_before_sending(
    method: str, response_id: str
) -> None:
    """An empty, ``.`` or ``..`` response id raises ValueError and sends nothing (the URL
    would otherwise be normalised into another route, such as ``/api/v1``)."""
    api = FakeAPI()
    with api.client() as client, pytest.raises(ValueError, match="response_id"):
        getattr(client.responses, method)(response_id)
    assert api.requests == []


@pytest.mark.parametrize("request_id", ["", ".", ".."])
def test_a_request_id_that_is_no_path_segment_is_refused_before_sending(request_id: str) -> None:
    """Request Billing refuses an empty, ``.`` or ``..`` request id the same way."""
    api = FakeAPI()
    with api.client() as client, pytest.raises(ValueError, match="request_id"):
        client.request_billing(request_id)
    assert api.requests == []


def test_stored_response_methods_follow_the_retry_policy() -> None:
    """A 503 on retrieve is retried after its Retry-After; a 404 response_not_found on
    delete is raised at once as NotFoundError with its code."""
    missing = {
        "error": {
            "message": "Response with id 'resp_1' not found.",
            "type": "not_found_error",
            "code": "response_not_found",
            "param": None,
        }
    }
    api = FakeAPI(
        error(503, {"error": {"message": "busy"}}, retry_after="2"),
        ok({"id": "resp_1"}),
        error(404, missing, x_request_id="req_gone"),
    )
    policy = RetryPolicy.for_tests(3)
    with api.client(retry=policy) as client:
        assert client.responses.retrieve("resp_1")["id"] == "resp_1"
        with pytest.raises(NotFoundError) as caught:
            client.responses.delete("resp_1")
    assert policy.delays == [2.0]
    assert [r.method for r in api.requests] == ["GET", "GET", "DELETE"]
    assert (caught.value.code, caught.value.request_id) == ("response_not_found", "req_gone")


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


async def test_async_stored_responses_and_count_tokens_mirror_the_sync_ones() -> None:
    """The async retrieve, delete and count_tokens send the sync methods' requests, with
    the id escaped, anthropic-version on count_tokens, and the same id checks."""
    api = FakeAPI(ok({"id": "r"}), ok({"deleted": True}), ok({"input_tokens": 7}))
    async with api.async_client() as client:
        assert (await client.responses.retrieve("r/1"))["id"] == "r"
        assert (await client.responses.delete("r/1"))["deleted"] is True
        counted = await client.messages.count_tokens(model="m", messages=HI, system="s")
        with pytest.raises(ValueError):
            await client.responses.retrieve("..")
    assert counted == {"input_tokens": 7}
    assert [(r.method, str(r.url)) for r in api.requests] == [
        ("GET", f"{BASE_URL}/responses/r%2F1"),
        ("DELETE", f"{BASE_URL}/responses/r%2F1"),
        ("POST", f"{BASE_URL}/messages/count_tokens"),
    ]
    assert api.json() == {"model": "m", "messages": HI, "system": "s"}
    assert api.requests[-1].headers["anthropic-version"] == "2023-06-01"


async def test_async_client_closes_its_own_pool() -> None:
    """AsyncClient.close() closes the pool it made."""
    client = AsyncClient(retry=RetryPolicy.never())
    await client.close()
    assert client._http.is_closed
