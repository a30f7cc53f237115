"""Every endpoint the clients call, as a :class:`Call` builder shared by both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nanogate.client._call import ANTHROPIC_VERSION, Call, Config, Timeout, path_segment
from nanogate.client._dialects import ChatDialect, MessagesDialect, ResponsesDialect

Headers = Mapping[str, str] | None


def chat_completions(
    config: Config, params: dict[str, Any], stream: bool, headers: Headers, timeout: Timeout | None
) -> Call:
    """``POST /chat/completions``."""
    return config.call(
        "POST",
        "/chat/completions",
        json={**params, "stream": True} if stream else params,
        headers=headers,
        timeout=timeout,
        dialect=ChatDialect if stream else None,
    )


def responses(
    config: Config, params: dict[str, Any], stream: bool, headers: Headers, timeout: Timeout | None
) -> Call:
    """``POST /responses``."""
    return config.call(
        "POST",
        "/responses",
        json={**params, "stream": True} if stream else params,
        headers=headers,
        timeout=timeout,
        dialect=ResponsesDialect if stream else None,
    )


def retrieve_response(
    config: Config, response_id: str, headers: Headers, timeout: Timeout | None
) -> Call:
    """``GET /responses/{response_id}``: a stored response."""
    path = f"/responses/{_id_segment(response_id, 'response_id')}"
    return config.call("GET", path, headers=headers, timeout=timeout)


def delete_response(
    config: Config, response_id: str, headers: Headers, timeout: Timeout | None
) -> Call:
    """``DELETE /responses/{response_id}``: forget a stored response."""
    path = f"/responses/{_id_segment(response_id, 'response_id')}"
    return config.call("DELETE", path, headers=headers, timeout=timeout)


def messages(
    config: Config, params: dict[str, Any], stream: bool, headers: Headers, timeout: Timeout | None
) -> Call:
    """``POST /messages``, with ``anthropic-version`` unless the caller sets one."""
    return config.call(
        "POST",
        "/messages",
        json={**params, "stream": True} if stream else params,
        headers=_anthropic(headers),
        timeout=timeout,
        dialect=MessagesDialect if stream else None,
    )


def count_message_tokens(
    config: Config,
    body: dict[str, Any],
    system: Any,
    tools: Any,
    headers: Headers,
    timeout: Timeout | None,
) -> Call:
    """``POST /messages/count_tokens``, with ``anthropic-version`` like ``/messages``;
    ``system`` and ``tools`` are sent only when given."""
    optional = {"system": system, "tools": tools}
    params = {**body, **{k: v for k, v in optional.items() if v is not None}}
    return config.call(
        "POST", "/messages/count_tokens", json=params, headers=_anthropic(headers), timeout=timeout
    )


def embeddings(
    config: Config, params: dict[str, Any], headers: Headers, timeout: Timeout | None
) -> Call:
    """``POST /embeddings``."""
    return config.call("POST", "/embeddings", json=params, headers=headers, timeout=timeout)


def moderations(
    config: Config, params: dict[str, Any], headers: Headers, timeout: Timeout | None
) -> Call:
    """``POST /moderations``."""
    return config.call("POST", "/moderations", json=params, headers=headers, timeout=timeout)


def models(config: Config, detailed: bool, headers: Headers, timeout: Timeout | None) -> Call:
    """``GET /models`` (``?detailed=true`` for prices and capabilities)."""
    path = "/models?detailed=true" if detailed else "/models"
    return config.call("GET", path, headers=headers, timeout=timeout)


def balance(config: Config, headers: Headers, timeout: Timeout | None) -> Call:
    """``POST /api/check-balance`` (legacy)."""
    return config.call("POST", "/check-balance", headers=headers, timeout=timeout, legacy=True)


def request_billing(
    config: Config, request_id: str, headers: Headers, timeout: Timeout | None
) -> Call:
    """``GET /usage/requests/{request_id}``: what one request cost."""
    path = f"/usage/requests/{_id_segment(request_id, 'request_id')}"
    return config.call("GET", path, headers=headers, timeout=timeout)


def _anthropic(headers: Headers) -> dict[str, str]:
    """``headers`` with ``anthropic-version`` unless the caller set one (any case)."""
    return {"anthropic-version": ANTHROPIC_VERSION, **(headers or {})}


def _id_segment(value: str, name: str) -> str:
    """``value`` as one path segment; raises ``ValueError`` for an id that cannot be one
    (empty, ``.`` or ``..``, which URL normalisation would turn into another path)."""
    if value in ("", ".", ".."):
        raise ValueError(f"{name} {value!r} cannot be one URL path segment")
    return path_segment(value)
