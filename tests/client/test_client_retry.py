"""The seed's retry policy, in test mode: what is retried, after how long, how often."""

from __future__ import annotations

import httpx
import pytest
from tests.client.fake_api import BASE_URL, FakeAPI, error, ok, sse

from nanogate.client import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    Client,
    DailyLimitError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
    StreamError,
    parse_error,
)

HI = [{"role": "user", "content": "hi"}]
UNAVAILABLE = {"error": {"message": "down", "type": "service_unavailable", "code": "x"}}


def within_jitter(delays: list[float], expected: list[float], jitter: float = 0.25) -> bool:
    return len(delays) == len(expected) and all(
        e * (1 - jitter) <= d <= e * (1 + jitter) for d, e in zip(delays, expected, strict=True)
    )


# The policy alone ----------------------------------------------------------------------


def test_backoff_doubles_from_one_second_within_jitter() -> None:
    """Retries 1, 2, 3 wait about 1 s, 2 s, 4 s, each within ±jitter; the 4th gives up."""
    policy = RetryPolicy()
    failure = parse_error(503, {}, None)
    for _ in range(200):
        delays = [policy.delay_before_retry(n, failure) for n in (1, 2, 3)]
        assert within_jitter([d for d in delays if d is not None], [1, 2, 4])
    assert policy.delay_before_retry(4, failure) is None


def test_jitter_extremes_are_the_bounds() -> None:
    """The random factor maps [0, 1) onto [1 - jitter, 1 + jitter)."""
    failure = parse_error(500, {}, None)
    assert RetryPolicy(random=lambda: 0.0).delay_before_retry(2, failure) == 1.5
    assert RetryPolicy(random=lambda: 0.5).delay_before_retry(2, failure) == 2.0
    assert RetryPolicy(jitter=0).delay_before_retry(3, failure) == 4.0


def test_backoff_is_capped_by_max_delay() -> None:
    """No computed wait exceeds max_delay."""
    policy = RetryPolicy(max_retries=10, max_delay=5, random=lambda: 0.99)
    assert policy.delay_before_retry(8, parse_error(500, {}, None)) == 5


def test_retry_after_wins_and_is_capped() -> None:
    """A Retry-After replaces the backoff exactly; one longer than retry_after_cap means
    "not soon", so the client gives up rather than block or retry too early."""
    policy = RetryPolicy(retry_after_cap=60)
    assert policy.delay_before_retry(1, parse_error(429, {"retry-after": "7"}, None)) == 7
    assert policy.delay_before_retry(1, parse_error(503, {"retry-after": "60"}, None)) == 60
    assert policy.delay_before_retry(1, parse_error(503, {"retry-after": "600"}, None)) is None


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 413])
def test_never_retried_statuses(status: int) -> None:
    """The seed's do-not-retry statuses give up at once."""
    assert RetryPolicy().delay_before_retry(1, parse_error(status, {}, None)) is None


def test_daily_limit_is_never_retried_even_if_the_server_says_so() -> None:
    """A daily limit is not retried, whatever x-should-retry says."""
    body = {"error": {"message": "m", "code": "daily_rpd_limit_exceeded"}}
    failure = parse_error(429, {"x-should-retry": "true", "retry-after": "5"}, body)
    assert isinstance(failure, DailyLimitError)
    assert RetryPolicy().delay_before_retry(1, failure) is None


def test_x_should_retry_false_stops_a_503() -> None:
    """x-should-retry: false stops a retry the status would allow."""
    failure = parse_error(503, {"x-should-retry": "false"}, None)
    assert RetryPolicy().delay_before_retry(1, failure) is None


def test_connection_errors_are_retried() -> None:
    """Connection errors and timeouts are retryable."""
    assert RetryPolicy(jitter=0).delay_before_retry(1, APIConnectionError()) == 1.0
    assert RetryPolicy(jitter=0).delay_before_retry(1, APITimeoutError()) == 1.0


def test_invalid_settings_are_refused() -> None:
    """Negative counts or delays and jitter outside [0, 1) are refused."""
    for bad in ({"max_retries": -1}, {"jitter": 1.0}, {"base_delay": -1.0}):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)  # type: ignore[arg-type]


# Driving the client ---------------------------------------------------------------------


def test_client_schedule_follows_one_two_four_seconds() -> None:
    """Three 503s then a success: four attempts, waits of ~1, 2, 4 s, nothing slept."""
    api = FakeAPI(error(503, UNAVAILABLE), error(503), error(503), ok())
    policy = RetryPolicy.for_tests()
    with api.client(retry=policy) as client:
        assert client.chat.completions.create(model="m", messages=HI) == {"ok": True}
    assert len(api.requests) == 4
    assert within_jitter(policy.delays, [1, 2, 4])


def test_client_gives_up_after_max_retries() -> None:
    """With max_retries=3, four 503s raise the last one after three waits."""
    api = FakeAPI(*[error(503, UNAVAILABLE, x_request_id=f"req_{n}") for n in range(4)])
    policy = RetryPolicy.for_tests(3)
    with api.client(retry=policy) as client, pytest.raises(ServiceUnavailableError) as caught:
        client.embeddings.create(model="m", input="x")
    assert len(api.requests) == 4 and len(policy.delays) == 3
    assert caught.value.request_id == "req_3"


def test_client_retry_after_wins() -> None:
    """A 429 with Retry-After: 3 waits exactly 3 s before the retry."""
    api = FakeAPI(error(429, None, retry_after="3"), ok())
    policy = RetryPolicy.for_tests()
    with api.client(retry=policy) as client:
        client.models.list()
    assert policy.delays == [3.0]


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 413])
def test_client_tries_non_retryable_statuses_once(status: int) -> None:
    """A non-retryable status is tried exactly once."""
    api = FakeAPI(error(status, {"error": {"message": "no"}}))
    policy = RetryPolicy.for_tests()
    with api.client(retry=policy) as client, pytest.raises(type(parse_error(status, {}, None))):
        client.chat.completions.create(model="m", messages=HI)
    assert len(api.requests) == 1 and policy.delays == []


def test_client_tries_a_daily_limit_once() -> None:
    """A daily-limit 429 is tried once, though its Retry-After is short."""
    body = {"error": {"message": "m", "code": "daily_usd_limit_exceeded"}}
    api = FakeAPI(error(429, body, retry_after="1"))
    policy = RetryPolicy.for_tests()
    with api.client(retry=policy) as client, pytest.raises(DailyLimitError):
        client.chat.completions.create(model="m", messages=HI)
    assert len(api.requests) == 1


def test_client_retries_connection_errors() -> None:
    """A refused connection and a timeout are retried, then the answer comes back."""
    request = httpx.Request("POST", "http://api.test")
    api = FakeAPI(httpx.ConnectError("refused"), httpx.ReadTimeout("slow", request=request), ok())
    policy = RetryPolicy.for_tests()
    with api.client(retry=policy) as client:
        assert client.moderations.create(input="x").request_id == "req_ok"
    assert len(api.requests) == 3 and within_jitter(policy.delays, [1, 2])


def test_client_raises_typed_connection_errors() -> None:
    """When retries run out, a timeout is an APITimeoutError, a refusal an
    APIConnectionError, each chained to the httpx exception."""
    api = FakeAPI(httpx.ConnectTimeout("slow"))
    with api.client(max_retries=0, retry=RetryPolicy.for_tests(0)) as client:
        with pytest.raises(APITimeoutError) as caught:
            client.models.list()
    assert isinstance(caught.value.__cause__, httpx.ConnectTimeout)
    assert caught.value.status is None and caught.value.retryable
    api = FakeAPI(httpx.ConnectError("refused"))
    with api.client(retry=RetryPolicy.for_tests(0)) as client:
        with pytest.raises(APIConnectionError) as refused:
            client.models.list()
    assert type(refused.value) is APIConnectionError


def test_max_retries_zero_tries_once() -> None:
    """Client(max_retries=0) builds a policy that never retries."""
    api = FakeAPI(error(503))
    http = httpx.Client(transport=httpx.MockTransport(api))
    with Client(BASE_URL, max_retries=0, http_client=http) as client:
        assert client.retry.max_retries == 0
        with pytest.raises(ServiceUnavailableError):
            client.models.list()
    assert len(api.requests) == 1


def test_stream_is_retried_before_its_first_event() -> None:
    """A stream refused with 503, then one whose first frame is an error, are both
    retried; the third attempt streams."""
    frame = '{"choices":[{"index":0,"delta":{},"finish_reason":"error"}],"error":{"status":503,"message":"m","code":"service_unavailable"}}'  # noqa: E501
    api = FakeAPI(
        error(503),
        sse(frame, "[DONE]"),
        sse('{"choices":[{"delta":{"content":"hi"}}]}', "[DONE]"),
    )
    policy = RetryPolicy.for_tests()
    with api.client(retry=policy) as client:
        with client.chat.completions.create(model="m", messages=HI, stream=True) as stream:
            chunks = list(stream)
    assert len(api.requests) == 3 and len(policy.delays) == 2
    assert chunks == [{"choices": [{"delta": {"content": "hi"}}]}]


def test_stream_is_not_retried_after_its_first_event() -> None:
    """An error frame after the first chunk raises StreamError; no second request."""
    frame = '{"choices":[],"error":{"status":503,"message":"m","code":"service_unavailable"}}'
    api = FakeAPI(sse('{"choices":[{"delta":{"content":"a"}}]}', frame, "[DONE]"))
    policy = RetryPolicy.for_tests()
    with api.client(retry=policy) as client:
        stream = client.chat.completions.create(model="m", messages=HI, stream=True)
        assert next(stream)["choices"][0]["delta"]["content"] == "a"
        with pytest.raises(StreamError) as caught:
            next(stream)
    assert caught.value.retryable and len(api.requests) == 1 and policy.delays == []


async def test_async_client_follows_the_same_schedule() -> None:
    """The async client retries the same way, through async_sleep."""
    api = FakeAPI(error(500), error(429, None, retry_after="2"), ok())
    policy = RetryPolicy.for_tests()
    async with api.async_client(retry=policy) as client:
        answer = await client.chat.completions.create(model="m", messages=HI)
    assert answer.request_id == "req_ok"
    assert len(policy.delays) == 2 and within_jitter(policy.delays[:1], [1])
    assert policy.delays[1] == 2.0


async def test_async_client_tries_a_daily_limit_once() -> None:
    """The async client never retries a daily limit either."""
    body = {"error": {"message": "m", "code": "daily_rpd_limit_exceeded"}}
    api = FakeAPI(error(429, body, retry_after="1"))
    async with api.async_client() as client:
        with pytest.raises(RateLimitError):
            await client.messages.create(model="m", max_tokens=5, messages=HI)
    assert len(api.requests) == 1


def test_real_sleep_is_called_outside_test_mode() -> None:
    """Outside test mode the policy sleeps through the given sleep function."""
    slept: list[float] = []
    api = FakeAPI(error(503, None, retry_after="0.5"), ok())
    with api.client(retry=RetryPolicy(sleep=slept.append)) as client:
        client.models.list()
    assert slept == [0.5]


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.DecodingError("corrupt gzip"), "APIResponseValidationError"),
        (httpx.UnsupportedProtocol("no scheme"), "APIConnectionError"),
    ],
)
def test_request_failures_that_retrying_cannot_fix_are_tried_once(
    failure: Exception, expected: str
) -> None:
    """A corrupt body or a base URL without a scheme is a typed error, raised after one
    attempt: no retry can fix it."""
    api = FakeAPI(failure, failure)
    with api.client() as client:
        with pytest.raises(APIError) as caught:
            client.models.list()
    assert type(caught.value).__name__ == expected and not caught.value.retryable
    assert len(api.requests) == 1
