"""The client against the real gateway on loopback: every status it produces, typed.

Each error is triggered for real (as in ``tests/live/test_error_contract.py`` and
``tests/live/test_upstream_faults.py``) and read through :class:`nanogate.client.Client`
(a few through :class:`~nanogate.client.AsyncClient`): the class, ``status``, ``code``,
``type``, ``param``, ``retry_after``, ``retryable``, and a ``request_id`` equal to the
answer's ``X-Request-ID``. Streams cut, truncated or failed by the fake upstream raise
:class:`~nanogate.client.StreamError` during iteration. Retries run in test mode: nothing
sleeps, and the delays are recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import make_settings, run_sync, seed, with_provider
from tests.live.test_error_contract import BrokenProvider
from tests.live.test_upstream_faults import served_gateway, upstream_settings

from nanogate.client import (
    APIError,
    APIStatusError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    DailyLimitError,
    GatewayTimeoutError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    ServiceUnavailableError,
    StreamError,
    UnsupportedMediaTypeError,
)
from nanogate.config import ProviderSettings
from nanogate.server import create_app
from nanogate.testing import FakeUpstream, Fault, ServedASGI

HI = [{"role": "user", "content": "hi"}]
UPSTREAM_TEXT = "Hello from the upstream."


def client_for(live: Live, api_key: str | None = "", **options: Any) -> Client:
    """A client of ``live`` with its key (unless given another), retrying nothing."""
    options.setdefault("retry", RetryPolicy.for_tests(0))
    return Client(
        base_url=live.url + "/api/v1",
        api_key=live.key if api_key == "" else api_key,
        max_retries=options["retry"].max_retries,
        **options,
    )


def async_client_for(live: Live, api_key: str | None = "", **options: Any) -> AsyncClient:
    options.setdefault("retry", RetryPolicy.for_tests(0))
    return AsyncClient(
        base_url=live.url + "/api/v1",
        api_key=live.key if api_key == "" else api_key,
        max_retries=options["retry"].max_retries,
        **options,
    )


def assert_answer_fields(
    error: APIError, cls: type[APIStatusError], status: int, code: str
) -> None:
    """The error's class, status and code, and a request id equal to the answer's header."""
    assert type(error) is cls, repr(error)
    assert (error.status, error.code) == (status, code), repr(error)
    assert error.message
    assert error.request_id is not None and error.request_id.startswith("req_")
    assert error.request_id == error.headers["x-request-id"]


def raised(action: Any) -> APIError:
    """The client error ``action()`` raises."""
    with pytest.raises(APIError) as caught:
        action()
    return caught.value


# One gateway for the request errors ------------------------------------------------------


@pytest.fixture(scope="module")
def contract_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A gateway whose key may use every model but ``local/embed``, with a ``test/broken``
    model whose provider raises (the trigger for a 500)."""
    settings = with_provider(
        make_settings(tmp_path_factory.mktemp("client-contract"), max_body_bytes=64 * 1024),
        ProviderSettings(name="broken", kind="local"),
        [{"id": "test/broken", "provider": "broken", "capabilities": ["streaming"]}],
    )
    allowed = [m.id for m in settings.models if m.id != "local/embed"]
    seeded = run_sync(seed(settings.database.url, models=allowed))
    app = create_app(settings, providers={"broken": BrokenProvider()})
    with ServedASGI(app, server=settings.server) as served:
        yield Live(served.url, seeded, settings, app)


def test_400_invalid_parameter_value_names_its_param(contract_live: Live) -> None:
    """A wrong-typed parameter is BadRequestError invalid_parameter_value, with its
    ``param`` and type, not retryable."""
    with client_for(contract_live) as client:
        error = raised(
            lambda: client.chat.completions.create(
                model="local/chat", messages=HI, temperature="hot"
            )
        )
    assert_answer_fields(error, BadRequestError, 400, "invalid_parameter_value")
    assert (error.type, error.param, error.retryable) == (
        "invalid_request_error",
        "temperature",
        False,
    )
    assert error.family == "validation"


def test_400_in_the_anthropic_envelope(contract_live: Live) -> None:
    """A Messages request without ``max_tokens`` is BadRequestError
    missing_required_parameter read from the Anthropic envelope, ``param`` max_tokens,
    and its request id matches both request-id headers."""
    with client_for(contract_live) as client:
        error = raised(lambda: client.messages.create(model="local/chat", messages=HI))
    assert_answer_fields(error, BadRequestError, 400, "missing_required_parameter")
    assert (error.type, error.param, error.retryable) == (
        "invalid_request_error",
        "max_tokens",
        False,
    )
    assert error.headers["request-id"] == error.request_id


def test_400_context_length_is_a_content_error(contract_live: Live) -> None:
    """A prompt past the model's window is context_length_exceeded, family content."""
    long = [{"role": "user", "content": "word " * 3000}]
    with client_for(contract_live) as client:
        error = raised(lambda: client.chat.completions.create(model="local/mini", messages=long))
    assert_answer_fields(error, BadRequestError, 400, "context_length_exceeded")
    assert (error.family, error.retryable) == ("content", False)


def test_401_invalid_key(contract_live: Live) -> None:
    """An unknown key is AuthenticationError invalid_api_key, not retryable."""
    with client_for(contract_live, "sk-nano-00000000-0000-4000-8000-000000000000") as client:
        error = raised(lambda: client.chat.completions.create(model="local/chat", messages=HI))
    assert_answer_fields(error, AuthenticationError, 401, "invalid_api_key")
    assert (error.type, error.retryable) == ("authentication_error", False)


def test_401_missing_key(contract_live: Live) -> None:
    """No key at all is AuthenticationError missing_api_key."""
    with client_for(contract_live, None) as client:
        error = raised(lambda: client.chat.completions.create(model="local/chat", messages=HI))
    assert_answer_fields(error, AuthenticationError, 401, "missing_api_key")
    assert error.retryable is False


def test_403_model_not_allowed(contract_live: Live) -> None:
    """A model outside the key's allowlist is PermissionDeniedError model_not_allowed,
    family routing."""
    with client_for(contract_live) as client:
        error = raised(lambda: client.embeddings.create(model="local/embed", input="hi"))
    assert_answer_fields(error, PermissionDeniedError, 403, "model_not_allowed")
    assert (error.type, error.param, error.family, error.retryable) == (
        "permission_denied_error",
        "model",
        "routing",
        False,
    )


def test_404_model_not_found(contract_live: Live) -> None:
    """An unknown model is NotFoundError model_not_found."""
    with client_for(contract_live) as client:
        error = raised(lambda: client.chat.completions.create(model="acme/nope", messages=HI))
    assert_answer_fields(error, NotFoundError, 404, "model_not_found")
    assert (error.type, error.param, error.retryable) == ("not_found_error", "model", False)


def test_404_unknown_request_billing_carries_its_retry_after(contract_live: Live) -> None:
    """Request Billing for an unknown id is NotFoundError request_not_found with the
    gateway's ``Retry-After: 30`` (a request may not be recorded yet)."""
    with client_for(contract_live) as client:
        error = raised(lambda: client.request_billing("req_000000000000000000000000"))
    assert_answer_fields(error, NotFoundError, 404, "request_not_found")
    assert (error.retry_after, error.retryable) == (30.0, False)


def test_413_request_too_large(contract_live: Live) -> None:
    """A body over the gateway's limit is PayloadTooLargeError request_too_large."""
    big = [{"role": "user", "content": "x" * (128 * 1024)}]
    with client_for(contract_live) as client:
        error = raised(lambda: client.chat.completions.create(model="local/chat", messages=big))
    assert_answer_fields(error, PayloadTooLargeError, 413, "request_too_large")
    assert error.retryable is False


def test_415_unsupported_content_encoding(contract_live: Live) -> None:
    """A body declared in an encoding the gateway does not decode is
    UnsupportedMediaTypeError unsupported_media_type."""
    with client_for(contract_live, default_headers={"content-encoding": "br"}) as client:
        error = raised(lambda: client.chat.completions.create(model="local/chat", messages=HI))
    assert_answer_fields(error, UnsupportedMediaTypeError, 415, "unsupported_media_type")
    assert error.retryable is False


def test_409_idempotency_conflict(contract_live: Live) -> None:
    """A different body under a used Idempotency-Key is ConflictError idempotency_conflict,
    not retryable."""
    headers = {"idempotency-key": f"client-{time.monotonic_ns()}"}
    with client_for(contract_live, default_headers=headers) as client:
        client.chat.completions.create(model="local/chat", messages=HI)
        error = raised(
            lambda: client.chat.completions.create(
                model="local/chat", messages=[{"role": "user", "content": "bye"}]
            )
        )
    assert_answer_fields(error, ConflictError, 409, "idempotency_conflict")
    assert error.retryable is False


def test_500_server_error_quotes_its_request_id(contract_live: Live) -> None:
    """A provider bug is InternalServerError server_error, retryable, whose message quotes
    the same request id the error carries."""
    with client_for(contract_live) as client:
        error = raised(lambda: client.chat.completions.create(model="test/broken", messages=HI))
    assert_answer_fields(error, InternalServerError, 500, "server_error")
    assert error.retryable is True
    assert error.request_id is not None and error.request_id in error.message


async def test_async_client_reads_the_same_errors(contract_live: Live) -> None:
    """The async client raises the same typed errors with the same fields."""
    async with async_client_for(
        contract_live, "sk-nano-00000000-0000-4000-8000-000000000000"
    ) as bad:
        with pytest.raises(AuthenticationError) as caught:
            await bad.chat.completions.create(model="local/chat", messages=HI)
    assert_answer_fields(caught.value, AuthenticationError, 401, "invalid_api_key")
    async with async_client_for(contract_live) as client:
        with pytest.raises(NotFoundError) as missing:
            await client.messages.create(model="acme/nope", max_tokens=16, messages=HI)
    assert_answer_fields(missing.value, NotFoundError, 404, "model_not_found")
    assert missing.value.type == "not_found_error"


# Stored responses and token counts -------------------------------------------------------

TOOL = {
    "name": "lookup",
    "description": "Look a word up.",
    "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}},
}


def test_a_stored_response_is_retrieved_then_deleted(contract_live: Live) -> None:
    """A response created with ``store: true`` is retrieved as created (less the pricing),
    deleted, and then both retrieve and delete raise NotFoundError response_not_found."""
    with client_for(contract_live) as client:
        created = client.responses.create(model="local/chat", input="hi", store=True)
        retrieved = client.responses.retrieve(created["id"])
        deleted = client.responses.delete(created["id"])
        gone = raised(lambda: client.responses.retrieve(created["id"]))
        gone_again = raised(lambda: client.responses.delete(created["id"]))
    assert created["id"].startswith("resp_")
    assert retrieved == {k: v for k, v in created.items() if k != "x_nanogpt_pricing"}
    assert retrieved.request_id is not None and retrieved.request_id != created.request_id
    assert deleted == {"id": created["id"], "object": "response", "deleted": True}
    for error in (gone, gone_again):
        assert_answer_fields(error, NotFoundError, 404, "response_not_found")
        assert (error.type, error.retryable) == ("not_found_error", False)
        assert created["id"] in error.message


def test_a_response_id_with_reserved_characters_stays_one_path_segment(
    contract_live: Live,
) -> None:
    """An id holding ``?``, ``#``, ``&``, a space and ``..`` reaches the gateway as that
    one id (NotFoundError response_not_found quoting it); one holding ``/`` is a 404 too,
    never the answer of the route its dot segments would normalise to."""
    odd = "resp_x ..?detailed=true&y=1#z"
    with client_for(contract_live) as client:
        error = raised(lambda: client.responses.retrieve(odd))
        slashed = raised(lambda: client.responses.retrieve("../../models"))
    assert_answer_fields(error, NotFoundError, 404, "response_not_found")
    assert f"'{odd}'" in error.message
    assert (type(slashed), slashed.status) == (NotFoundError, 404)


@pytest.mark.parametrize(
    "extra",
    [{}, {"system": "Be brief."}, {"system": "Be brief.", "tools": [TOOL]}],
    ids=["messages", "system", "system-tools"],
)
def test_count_tokens_equals_the_messages_input_tokens(
    contract_live: Live, extra: dict[str, Any]
) -> None:
    """messages.count_tokens answers a positive int ``input_tokens`` equal to what the
    Messages endpoint reports as input tokens for the same prompt."""
    with client_for(contract_live) as client:
        counted = client.messages.count_tokens(model="local/chat", messages=HI, **extra)
        message = client.messages.create(model="local/chat", max_tokens=16, messages=HI, **extra)
    assert list(counted) == ["input_tokens"]
    assert type(counted["input_tokens"]) is int and counted["input_tokens"] > 0
    assert counted["input_tokens"] == message["usage"]["input_tokens"]
    assert counted.request_id is not None and counted.request_id.startswith("req_")


def test_count_tokens_for_an_unknown_model_is_model_not_found(contract_live: Live) -> None:
    """count_tokens resolves the model like create: an unknown one is NotFoundError
    model_not_found from the Anthropic envelope."""
    with client_for(contract_live) as client:
        error = raised(lambda: client.messages.count_tokens(model="acme/nope", messages=HI))
    assert_answer_fields(error, NotFoundError, 404, "model_not_found")
    assert error.param == "model"


async def test_async_stored_responses_and_count_tokens(contract_live: Live) -> None:
    """The async client retrieves, deletes and counts against the gateway as the sync
    one does, and a deleted response is NotFoundError response_not_found."""
    async with async_client_for(contract_live) as client:
        created = await client.responses.create(model="local/chat", input="hi", store=True)
        retrieved = await client.responses.retrieve(created["id"])
        deleted = await client.responses.delete(created["id"])
        with pytest.raises(NotFoundError) as caught:
            await client.responses.retrieve(created["id"])
        counted = await client.messages.count_tokens(model="local/chat", messages=HI)
        message = await client.messages.create(model="local/chat", max_tokens=16, messages=HI)
    assert retrieved["id"] == created["id"] and deleted["deleted"] is True
    assert_answer_fields(caught.value, NotFoundError, 404, "response_not_found")
    assert counted["input_tokens"] == message["usage"]["input_tokens"] > 0


# Money and limits ------------------------------------------------------------------------


def test_402_insufficient_balance_carries_the_required_balance(
    serve_gateway: LiveFactory,
) -> None:
    """An empty account is PaymentRequiredError insufficient_balance with a positive
    ``required_balance``, family payment, no x402 payment object, not retryable."""
    live = serve_gateway(balance="0")
    with client_for(live) as client:
        error = raised(lambda: client.chat.completions.create(model="local/chat", messages=HI))
    assert_answer_fields(error, PaymentRequiredError, 402, "insufficient_balance")
    assert error.required_balance is not None and error.required_balance > 0
    assert (error.type, error.family, error.payment, error.retryable) == (
        "insufficient_quota",
        "payment",
        None,
        False,
    )


def test_429_per_second_limit_is_retryable_after_its_delay(serve_gateway: LiveFactory) -> None:
    """Past the key's requests per second, RateLimitError rate_limit_exceeded with a
    ``Retry-After`` and retryable; with retries on, test mode records that delay."""
    live = serve_gateway(rps=1)

    def burst(client: Client) -> None:
        for _ in range(5):
            client.chat.completions.create(model="local/chat", messages=HI)

    with client_for(live) as client:
        error = raised(lambda: burst(client))
    assert_answer_fields(error, RateLimitError, 429, "rate_limit_exceeded")
    assert (error.type, error.family, error.retryable) == ("rate_limit_error", "rate_limit", True)
    assert error.retry_after is not None and error.retry_after >= 1


async def test_429_daily_limit_is_never_retried(serve_gateway: LiveFactory) -> None:
    """Past the key's requests per day, DailyLimitError daily_rpd_limit_exceeded with the
    seconds to midnight UTC, not retryable, and tried exactly once even with retries on."""
    live = serve_gateway(daily_requests=1)
    policy = RetryPolicy.for_tests(3)
    async with async_client_for(live, retry=policy) as client:
        await client.chat.completions.create(model="local/chat", messages=HI)
        with pytest.raises(DailyLimitError) as caught:
            await client.chat.completions.create(model="local/chat", messages=HI)
    error = caught.value
    assert_answer_fields(error, DailyLimitError, 429, "daily_rpd_limit_exceeded")
    assert isinstance(error, RateLimitError)
    assert (error.family, error.retryable) == ("daily_limit", False)
    assert error.retry_after is not None and 0 < error.retry_after <= 86400
    assert policy.delays == []


# Upstream faults: 503, 504, and streams --------------------------------------------------


@pytest.fixture(scope="module")
def faults_live(
    tmp_path_factory: pytest.TempPathFactory, served_fake: tuple[FakeUpstream, str]
) -> Iterator[Live]:
    """A gateway serving ``acme/gpt`` (OpenAI dialect) and ``acme/claude`` (Anthropic
    dialect) from the fake upstream, with a 0.5 s upstream timeout."""
    settings = upstream_settings(tmp_path_factory.mktemp("client-faults"), served_fake[1])
    with served_gateway(settings) as live:
        yield live


def test_503_upstream_failure_carries_retry_after(faults_live: Live, fake: FakeUpstream) -> None:
    """An upstream 503 with Retry-After is ServiceUnavailableError service_unavailable,
    retryable, with that Retry-After."""
    fake.inject(Fault.status_error(503, retry_after=3))
    with client_for(faults_live) as client:
        error = raised(lambda: client.chat.completions.create(model="acme/gpt", messages=HI))
    assert_answer_fields(error, ServiceUnavailableError, 503, "service_unavailable")
    assert (error.type, error.retryable, error.retry_after) == ("service_unavailable", True, 3.0)


def test_504_upstream_timeout(faults_live: Live, fake: FakeUpstream) -> None:
    """An upstream slower than its timeout is GatewayTimeoutError upstream_timeout,
    retryable."""
    fake.inject(Fault.delay(1.0))
    with client_for(faults_live) as client:
        error = raised(
            lambda: client.messages.create(model="acme/claude", max_tokens=16, messages=HI)
        )
    assert_answer_fields(error, GatewayTimeoutError, 504, "upstream_timeout")
    assert (error.type, error.retryable) == ("timeout_error", True)


def test_a_503_then_success_is_retried_after_its_retry_after(
    faults_live: Live, fake: FakeUpstream
) -> None:
    """A 503 with ``Retry-After: 1`` then a good answer succeeds on the second attempt;
    test mode recorded one delay, equal to the Retry-After, and slept none."""
    fake.inject(Fault.status_error(503, retry_after=1))
    policy = RetryPolicy.for_tests(3)
    started = time.monotonic()
    with client_for(faults_live, retry=policy) as client:
        answer = client.chat.completions.create(model="acme/gpt", messages=HI)
    assert answer["choices"][0]["message"]["content"] == UPSTREAM_TEXT
    assert policy.delays == [1.0]
    assert time.monotonic() - started < 1.0


def test_a_streamed_503_then_success_is_retried_before_the_first_event(
    faults_live: Live, fake: FakeUpstream
) -> None:
    """A stream refused with 503 before its first event is retried like any request."""
    fake.inject(Fault.status_error(503, retry_after=1))
    policy = RetryPolicy.for_tests(3)
    with client_for(faults_live, retry=policy) as client:
        with client.chat.completions.create(model="acme/gpt", messages=HI, stream=True) as stream:
            text = "".join(chunk_text(chunk) for chunk in stream)
    assert text == UPSTREAM_TEXT and policy.delays == [1.0]


def chunk_text(chunk: dict[str, Any]) -> str:
    return "".join((c.get("delta") or {}).get("content") or "" for c in chunk.get("choices") or ())


def test_a_streamed_success_exposes_its_request_id_before_the_first_chunk(
    faults_live: Live, fake: FakeUpstream
) -> None:
    """A good stream yields chunks adding up to the upstream's text, and its request id
    (the gateway's) is known before the first chunk is read."""
    with client_for(faults_live) as client:
        with client.chat.completions.create(model="acme/gpt", messages=HI, stream=True) as stream:
            request_id = stream.request_id
            assert request_id is not None and request_id.startswith("req_")
            chunks = list(stream)
    assert "".join(chunk_text(c) for c in chunks) == UPSTREAM_TEXT
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)


@pytest.mark.parametrize(
    "fault",
    [Fault.cut(after=5), Fault.truncate(), Fault.error_event(after=5)],
    ids=["cut", "no-terminal-event", "in-band-error"],
)
@pytest.mark.parametrize("model", ["acme/gpt", "acme/claude"])
def test_a_chat_stream_failing_upstream_raises_stream_error(
    faults_live: Live, fake: FakeUpstream, fault: Fault, model: str
) -> None:
    """An upstream that fails after the first chunks makes the chat stream raise
    StreamError during iteration, after some text, with code service_unavailable, the
    503 class in ``.error``, and the stream's request id."""
    fake.inject(fault)
    text: list[str] = []
    with client_for(faults_live) as client:
        stream = client.chat.completions.create(model=model, messages=HI, stream=True)
        with pytest.raises(StreamError) as caught:
            with stream:
                text.extend(chunk_text(chunk) for chunk in stream)
    error = caught.value
    assert "".join(text), "text arrived before the failure"
    assert (error.code, error.status, error.retryable) == ("service_unavailable", 503, True)
    assert type(error.error) is ServiceUnavailableError
    assert error.request_id == stream.request_id


def test_a_messages_stream_raises_on_its_error_event(faults_live: Live, fake: FakeUpstream) -> None:
    """A Messages stream cut by the upstream ends in ``event: error``; the client raises
    StreamError with the code from that event and the 503 class."""
    fake.inject(Fault.cut(after=5))
    events: list[dict[str, Any]] = []
    with client_for(faults_live) as client:
        stream = client.messages.create(
            model="acme/claude", max_tokens=50, messages=HI, stream=True
        )
        with pytest.raises(StreamError) as caught:
            with stream:
                events.extend(stream)
    error = caught.value
    assert events, "the events before the failure reach the caller"
    assert (error.code, error.type, error.retryable) == ("service_unavailable", "api_error", True)
    assert type(error.error) is ServiceUnavailableError
    assert error.request_id == stream.request_id


async def test_a_responses_stream_raises_on_response_failed(
    faults_live: Live, fake: FakeUpstream
) -> None:
    """A Responses stream whose upstream fails in-band ends in ``response.failed``; the
    async client raises StreamError with its code while iterating."""
    fake.inject(Fault.error_event(after=3, status=429))
    events: list[dict[str, Any]] = []
    async with async_client_for(faults_live) as client:
        stream = await client.responses.create(model="acme/gpt", input="hi", stream=True)
        with pytest.raises(StreamError) as caught:
            async with stream:
                async for event in stream:
                    events.append(event)
    error = caught.value
    assert events
    assert (error.code, error.family) == ("rate_limit_exceeded", "rate_limit")
    assert type(error.error) is RateLimitError
    assert error.request_id == stream.request_id


# The client straight against a failing upstream (no gateway in between) -----------------


@pytest.fixture
def upstream_client(served_fake: tuple[FakeUpstream, str]) -> Iterator[Client]:
    """A client of the fake upstream itself, as if it were a NanoGPT-compatible endpoint."""
    with Client(
        base_url=served_fake[1] + "/v1",
        api_key="sk-upstream",
        max_retries=0,
        retry=RetryPolicy.for_tests(0),
    ) as client:
        yield client


def test_a_stream_without_its_terminal_event_raises_stream_truncated(
    fake: FakeUpstream, upstream_client: Client
) -> None:
    """A server that ends a chat stream cleanly but without ``[DONE]`` makes the client
    raise StreamError ``stream_truncated`` after the chunks it did send."""
    fake.inject(Fault.truncate())
    text: list[str] = []
    with pytest.raises(StreamError) as caught:
        with upstream_client.chat.completions.create(
            model="any", messages=HI, stream=True
        ) as stream:
            text.extend(chunk_text(chunk) for chunk in stream)
    assert "".join(text) == UPSTREAM_TEXT
    assert caught.value.code == "stream_truncated" and caught.value.retryable is True


def test_a_connection_reset_mid_stream_raises_stream_error(
    fake: FakeUpstream, upstream_client: Client
) -> None:
    """A server that drops the connection mid-stream makes the client raise StreamError
    during iteration, never a clean end."""
    fake.inject(Fault.cut(after=3))
    with pytest.raises(StreamError):
        with upstream_client.chat.completions.create(
            model="any", messages=HI, stream=True
        ) as stream:
            for _ in stream:
                pass


def test_a_messages_stream_without_message_stop_raises(
    fake: FakeUpstream, upstream_client: Client
) -> None:
    """A Messages stream that ends without ``message_stop`` raises stream_truncated."""
    fake.inject(Fault.truncate())
    with pytest.raises(StreamError) as caught:
        with upstream_client.messages.create(
            model="any", max_tokens=16, messages=HI, stream=True
        ) as stream:
            for _ in stream:
                pass
    assert caught.value.code == "stream_truncated"


class StallingTransport(httpx.BaseTransport):
    """Sends a request's first bytes, then stalls past the gateway's body timeout."""

    def __init__(self, stall_s: float) -> None:
        self._inner = httpx.HTTPTransport()
        self._stall_s = stall_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        def slowly() -> Iterator[bytes]:
            yield body[:5]
            time.sleep(self._stall_s)
            yield body[5:]

        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        stalled = httpx.Request(request.method, request.url, headers=headers, content=slowly())
        return self._inner.handle_request(stalled)

    def close(self) -> None:
        self._inner.close()


def test_a_stalled_body_is_a_request_timeout(serve_gateway: LiveFactory, tmp_path: Any) -> None:
    """A request body that stops arriving gets the gateway's 408 ``request_timeout``:
    RequestTimeoutError, retryable, with the response's request id."""
    live = serve_gateway(make_settings(tmp_path, body_timeout_s=0.3))
    with httpx.Client(transport=StallingTransport(1.0), timeout=10) as http:
        with client_for(live, http_client=http) as client:
            with pytest.raises(RequestTimeoutError) as caught:
                client.chat.completions.create(model="local/chat", messages=HI)
    error = caught.value
    assert (error.status, error.code, error.retryable) == (408, "request_timeout", True)
    assert error.request_id is not None and error.request_id.startswith("req_")
