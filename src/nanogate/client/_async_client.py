"""The asynchronous client: resources shaped like the OpenAI SDK, the retry loop."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

import httpx

from nanogate.client import _endpoints as endpoints
from nanogate.client._async_resources import (
    Chat,
    Embeddings,
    Messages,
    Models,
    Moderations,
    Responses,
)
from nanogate.client._async_x402_resources import AsyncX402
from nanogate.client._call import DEFAULT_BASE_URL, Call, Config, Response, Timeout
from nanogate.client._errors import APIError
from nanogate.client._log import log_failure
from nanogate.client._retry import RetryPolicy
from nanogate.client._stream import AsyncStream
from nanogate.client._transport import (
    aiter_items,
    is_event_stream,
    mapped_transport_errors,
    refuse_non_stream,
    result,
)


class AsyncClient:
    """A NanoGPT (or nanogate) API client for asyncio.

    ``base_url`` is the ``/api/v1`` root; the legacy ``/api/*`` routes are derived
    from it. Non-streaming methods return a :class:`Response` (a ``dict`` with a
    ``request_id``); failures raise the :class:`APIStatusError` class of the answer,
    after retries per ``retry`` (default: the seed's policy with ``max_retries``).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        max_retries: int = 3,
        timeout: Timeout = 60.0,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._config = Config.of(base_url, api_key, timeout, default_headers)
        self.retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        """The retry policy every request follows."""
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient()
        self.chat = Chat(self)
        self.responses = Responses(self)
        self.messages = Messages(self)
        self.embeddings = Embeddings(self)
        self.models = Models(self)
        self.moderations = Moderations(self)
        self.x402 = AsyncX402(self)
        """Accountless requests paid per call (x402): quote, pay, status, complete."""

    @property
    def base_url(self) -> str:
        """The ``/api/v1`` root, without a trailing slash."""
        return self._config.base_url

    async def balance(
        self, *, headers: Mapping[str, str] | None = None, timeout: Timeout | None = None
    ) -> Response:
        """The account's balance (``POST /api/check-balance``)."""
        return await self._request(endpoints.balance(self._config, headers, timeout))

    async def request_billing(
        self,
        request_id: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout | None = None,
    ) -> Response:
        """What one request cost (``GET /api/v1/usage/requests/{request_id}``)."""
        call = endpoints.request_billing(self._config, request_id, headers, timeout)
        return await self._request(call)

    async def _request(self, call: Call) -> Response:
        """Send ``call`` under the retry policy; the JSON answer, or raise."""
        attempt = 0
        while True:
            try:
                return await self._send(call)
            except APIError as error:
                attempt += 1
                await self._pause(call, error, attempt)

    async def _stream(self, call: Call) -> AsyncStream:
        """Open ``call`` as a stream under the retry policy, retried until its first
        event has arrived and never after."""
        assert call.dialect is not None, "a streaming call names its dialect"
        attempt = 0
        while True:
            response = None
            try:
                with mapped_transport_errors():
                    request = self._http.build_request(
                        call.method,
                        call.url,
                        json=call.json,
                        headers=call.headers,
                        timeout=call.timeout,
                    )
                    response = await self._http.send(request, stream=True)
                    if not response.is_success:
                        await response.aread()
                        result(response.status_code, response.headers, response.content)
                    if not is_event_stream(response):
                        await response.aread()
                        refuse_non_stream(response)
                items = aiter_items(response, call.dialect(response.headers))
                return AsyncStream(response, items, await anext(items, None))
            except APIError as error:
                if response is not None:
                    await response.aclose()
                attempt += 1
                await self._pause(call, error, attempt)

    async def _send(self, call: Call) -> Response:
        with mapped_transport_errors():
            response = await self._http.request(
                call.method, call.url, json=call.json, headers=call.headers, timeout=call.timeout
            )
        return result(response.status_code, response.headers, response.content)

    async def _pause(self, call: Call, error: APIError, attempt: int) -> None:
        """Log ``error``; sleep before the next attempt, or raise it."""
        delay = self.retry.delay_before_retry(attempt, error)
        log_failure(call.method, call.path, error, attempt, delay)
        if delay is None:
            raise error
        await self.retry.async_sleep(delay)

    async def close(self) -> None:
        """Close the connection pool (unless the caller passed ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
