"""The asynchronous client's resources: ``client.chat.completions``, ``client.messages``...

Each method builds a :class:`~nanogate.client._call.Call` (see ``_endpoints``) and
hands it to the client. Free-form ``**params`` go into the JSON body as given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from nanogate.client import _endpoints as endpoints
from nanogate.client._call import Call, Config, Response, Timeout
from nanogate.client._stream import AsyncStream

if TYPE_CHECKING:
    from nanogate.client._async_client import AsyncClient

Headers = Mapping[str, str] | None
Endpoint = Callable[[Config, dict[str, Any], bool, Headers, Timeout | None], Call]


class _Resource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class Completions(_Resource):
    """``client.chat.completions``."""

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[False] = False,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True],
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> AsyncStream: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response | AsyncStream: ...

    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool = False,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response | AsyncStream:
        """A chat completion; with ``stream=True`` an :class:`AsyncStream` of chunk dicts."""
        body = {"model": model, "messages": messages, **params}
        call = endpoints.chat_completions(self._client._config, body, stream, headers, timeout)
        if stream:
            return await self._client._stream(call)
        return await self._client._request(call)


class Chat(_Resource):
    """``client.chat``."""

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client)
        self.completions = Completions(client)


class _EventStreams(_Resource):
    """A resource whose streams are ``{"event", "data"}`` items: Responses and Messages."""

    def __init__(self, client: AsyncClient, endpoint: Endpoint) -> None:
        super().__init__(client)
        self._endpoint = endpoint

    @overload
    async def create(
        self,
        *,
        stream: Literal[False] = False,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response: ...

    @overload
    async def create(
        self,
        *,
        stream: Literal[True],
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> AsyncStream: ...

    @overload
    async def create(
        self,
        *,
        stream: bool,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response | AsyncStream: ...

    async def create(
        self,
        *,
        stream: bool = False,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response | AsyncStream:
        """A response; with ``stream=True`` an :class:`AsyncStream` of ``{"event", "data"}``."""
        call = self._endpoint(self._client._config, params, stream, headers, timeout)
        if stream:
            return await self._client._stream(call)
        return await self._client._request(call)


class Responses(_EventStreams):
    """``client.responses``: the Responses API."""

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client, endpoints.responses)

    async def retrieve(
        self, response_id: str, *, headers: Headers = None, timeout: Timeout | None = None
    ) -> Response:
        """The stored response ``response_id`` (404 ``response_not_found`` if it is not
        stored, or belongs to another key)."""
        call = endpoints.retrieve_response(self._client._config, response_id, headers, timeout)
        return await self._client._request(call)

    async def delete(
        self, response_id: str, *, headers: Headers = None, timeout: Timeout | None = None
    ) -> Response:
        """Delete the stored response ``response_id``: ``{"id", "object", "deleted": true}``."""
        call = endpoints.delete_response(self._client._config, response_id, headers, timeout)
        return await self._client._request(call)


class Messages(_EventStreams):
    """``client.messages``: the Anthropic Messages API."""

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client, endpoints.messages)

    async def count_tokens(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        system: str | Sequence[Mapping[str, Any]] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response:
        """The prompt's ``{"input_tokens": N}``, without running the model; ``system``
        and ``tools`` are sent only when given."""
        body = {"model": model, "messages": messages, **params}
        call = endpoints.count_message_tokens(
            self._client._config, body, system, tools, headers, timeout
        )
        return await self._client._request(call)


class Embeddings(_Resource):
    """``client.embeddings``."""

    async def create(
        self, *, headers: Headers = None, timeout: Timeout | None = None, **params: Any
    ) -> Response:
        """Embeddings of ``input`` by ``model``."""
        call = endpoints.embeddings(self._client._config, params, headers, timeout)
        return await self._client._request(call)


class Moderations(_Resource):
    """``client.moderations``."""

    async def create(
        self, *, headers: Headers = None, timeout: Timeout | None = None, **params: Any
    ) -> Response:
        """A moderation verdict on ``input``."""
        call = endpoints.moderations(self._client._config, params, headers, timeout)
        return await self._client._request(call)


class Models(_Resource):
    """``client.models``."""

    async def list(
        self, *, detailed: bool = False, headers: Headers = None, timeout: Timeout | None = None
    ) -> Response:
        """The models the key may use (``detailed=True`` adds prices and capabilities)."""
        call = endpoints.models(self._client._config, detailed, headers, timeout)
        return await self._client._request(call)
