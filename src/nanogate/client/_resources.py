"""The synchronous client's resources: ``client.chat.completions``, ``client.messages``...

Each method builds a :class:`~nanogate.client._call.Call` (see ``_endpoints``) and
hands it to the client. Free-form ``**params`` go into the JSON body as given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from nanogate.client import _endpoints as endpoints
from nanogate.client._call import Response, Timeout
from nanogate.client._stream import Stream

if TYPE_CHECKING:
    from nanogate.client._client import Client

Headers = Mapping[str, str] | None


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class Completions(_Resource):
    """``client.chat.completions``."""

    @overload
    def create(
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
    def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True],
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Stream: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response | Stream: ...

    def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool = False,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response | Stream:
        """A chat completion; with ``stream=True`` a :class:`Stream` of chunk dicts."""
        body = {"model": model, "messages": messages, **params}
        call = endpoints.chat_completions(self._client._config, body, stream, headers, timeout)
        return self._client._stream(call) if stream else self._client._request(call)


class Chat(_Resource):
    """``client.chat``."""

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.completions = Completions(client)


class Responses(_Resource):
    """``client.responses``: the Responses API."""

    @overload
    def create(
        self,
        *,
        stream: Literal[False] = False,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response: ...

    @overload
    def create(
        self,
        *,
        stream: Literal[True],
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Stream: ...

    @overload
    def create(
        self,
        *,
        stream: bool,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response | Stream: ...

    def create(
        self,
        *,
        stream: bool = False,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response | Stream:
        """A response; with ``stream=True`` a :class:`Stream` of ``{"event", "data"}``."""
        call = endpoints.responses(self._client._config, params, stream, headers, timeout)
        return self._client._stream(call) if stream else self._client._request(call)


class Messages(_Resource):
    """``client.messages``: the Anthropic Messages API."""

    @overload
    def create(
        self,
        *,
        stream: Literal[False] = False,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response: ...

    @overload
    def create(
        self,
        *,
        stream: Literal[True],
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Stream: ...

    @overload
    def create(
        self,
        *,
        stream: bool,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response | Stream: ...

    def create(
        self,
        *,
        stream: bool = False,
        headers: Headers = None,
        timeout: Timeout | None = None,
        **params: Any,
    ) -> Response | Stream:
        """A message; with ``stream=True`` a :class:`Stream` of ``{"event", "data"}``."""
        call = endpoints.messages(self._client._config, params, stream, headers, timeout)
        return self._client._stream(call) if stream else self._client._request(call)


class Embeddings(_Resource):
    """``client.embeddings``."""

    def create(
        self, *, headers: Headers = None, timeout: Timeout | None = None, **params: Any
    ) -> Response:
        """Embeddings of ``input`` by ``model``."""
        call = endpoints.embeddings(self._client._config, params, headers, timeout)
        return self._client._request(call)


class Moderations(_Resource):
    """``client.moderations``."""

    def create(
        self, *, headers: Headers = None, timeout: Timeout | None = None, **params: Any
    ) -> Response:
        """A moderation verdict on ``input``."""
        call = endpoints.moderations(self._client._config, params, headers, timeout)
        return self._client._request(call)


class Models(_Resource):
    """``client.models``."""

    def list(
        self, *, detailed: bool = False, headers: Headers = None, timeout: Timeout | None = None
    ) -> Response:
        """The models the key may use (``detailed=True`` adds prices and capabilities)."""
        call = endpoints.models(self._client._config, detailed, headers, timeout)
        return self._client._request(call)
