"""Exceptions of the ``openai`` and ``anthropic`` SDKs, classified into this tree.

By duck typing, never by importing the SDKs: a status error is anything with an int
``status_code`` and a ``response``; connection failures and timeouts are known by
their class names. Mid-stream failures become :class:`StreamError`: the OpenAI SDK
raises a bare ``APIError`` whose ``body`` is the frame's ``error`` object, the
Anthropic SDK a status error carrying the (successful) stream response.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nanogate.client._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    StreamError,
)
from nanogate.client._parse import error_from_envelope, lower_headers, parse_error

_BY_NAME: tuple[tuple[str, type[APIError]], ...] = (
    ("APITimeoutError", APITimeoutError),
    ("APIConnectionError", APIConnectionError),
    ("APIResponseValidationError", APIResponseValidationError),
)


def classify_sdk_error(exc: BaseException) -> APIError | None:
    """The error of this tree that an SDK exception stands for, or ``None`` when it is
    not an API failure (a bug, a ``KeyboardInterrupt``...). Errors of this tree are
    returned as they are."""
    if isinstance(exc, APIError):
        return exc
    names = {cls.__name__ for cls in type(exc).__mro__}
    response = getattr(exc, "response", None)
    headers = _headers(response)
    message = str(getattr(exc, "message", None) or exc)
    for name, target in _BY_NAME:
        if name in names:
            return target(message, request_id=_request_id(headers), headers=headers)
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    if isinstance(status, int) and not isinstance(status, bool) and status >= 400:
        return parse_error(status, headers, _full_body(response, body))
    if "APIError" in names and (isinstance(status, int) or isinstance(body, dict)):
        return StreamError(error_from_envelope(None, headers, _envelope(body, message)))
    return None


def _headers(response: object) -> dict[str, str]:
    headers = getattr(response, "headers", None)
    items = getattr(headers, "items", None)
    if not callable(items):
        return {}
    return lower_headers({str(name): str(value) for name, value in items()})


def _request_id(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-request-id") or headers.get("request-id")


def _full_body(response: object, body: object) -> bytes | str | dict[str, Any] | None:
    """The answer's own bytes when the SDK read them, else the SDK's ``body``
    (the OpenAI SDK keeps only the ``error`` object there)."""
    try:
        content = getattr(response, "content", None)
    except Exception:  # an unread streaming answer refuses .content
        content = None
    if isinstance(content, bytes) and content.strip():
        return content
    if isinstance(body, dict):
        return _envelope(body, None)
    if isinstance(body, (str, bytes)):
        return body
    return None


def _envelope(body: object, message: str | None) -> dict[str, Any]:
    """``body`` as an envelope: an SDK's bare ``error`` object is wrapped."""
    if isinstance(body, dict):
        if "error" in body or body.get("type") == "error":
            return body
        return {"error": body}
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return _envelope(parsed, message)
    return {"error": {"message": message}}
