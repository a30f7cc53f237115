"""Error answers to typed errors: every envelope, any shape, never a crash.

Pure functions over a status, headers and a body. Understood shapes:

- OpenAI: ``{"error": {"message", "type", "code", "param"}}`` plus top-level
  ``requiredBalance`` / ``status`` convenience fields;
- Anthropic: ``{"type": "error", "error": {"type", "message", ...}}``;
- legacy: ``{"error": "Insufficient balance", "requiredBalance": 0.0035, "status": 402}``;
- the x402 challenge: any of the above with a top-level ``payment`` object;
- a chat stream's error frame ``{"error": {"status", "message", "code"}}``;
- anything else: plain text, empty, or garbage, which keeps the status's class.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

from nanogate.client._codes import (
    NEVER_RETRIED,
    RETRYABLE_STATUSES,
    family_of,
    status_for,
)
from nanogate.client._errors import DAILY_LIMIT_CODES, APIStatusError, status_class

_MAX_TEXT_MESSAGE = 500


def parse_error(
    status: int, headers: Mapping[str, str], body: bytes | str | dict[str, Any] | None
) -> APIStatusError:
    """The typed error for an HTTP error answer, whatever its body."""
    lowered = lower_headers(headers)
    parsed = _decode(body)
    if isinstance(parsed, dict):
        return error_from_envelope(status, lowered, parsed)
    text = parsed.strip() if isinstance(parsed, str) else ""
    message = text[:_MAX_TEXT_MESSAGE] if text else _reason(status)
    return build_error(status, lowered, message=message, body=parsed)


def error_from_envelope(
    status: int | None, headers: Mapping[str, str], body: dict[str, Any]
) -> APIStatusError:
    """The error an envelope describes. ``status`` ``None`` takes the body's own
    ``status`` field, else the status the code or type stands for (stream frames).
    ``headers`` must have lower-case names."""
    error = body.get("error")
    fields: dict[str, Any] = error if isinstance(error, dict) else body
    message = _text(fields.get("message"))
    if isinstance(error, str):
        message = error
    if message is None:
        message = _text(body.get("message")) or _text(body.get("detail"))
    code = _text(fields.get("code")) or _text(body.get("code"))
    type_ = _text(fields.get("type"))
    if type_ is None and body.get("type") != "error":
        type_ = _text(body.get("type"))
    if status is None:
        status = _mirrored_status(fields.get("status", body.get("status")))
        if status is None:
            status = status_for(code, type_)
    payment = body.get("payment")
    return build_error(
        status,
        headers,
        message=message or _reason(status),
        code=code,
        type_=type_,
        param=_text(fields.get("param")),
        payment=payment if isinstance(payment, dict) else None,
        required_balance=_decimal(body.get("requiredBalance", fields.get("requiredBalance"))),
        body=body,
    )


def build_error(
    status: int,
    headers: Mapping[str, str],
    *,
    message: str,
    code: str | None = None,
    type_: str | None = None,
    param: str | None = None,
    payment: dict[str, Any] | None = None,
    required_balance: Decimal | None = None,
    body: object = None,
) -> APIStatusError:
    """The status class for ``status`` with every field filled in from the headers
    (lower-case names): request id, ``Retry-After`` and ``x-should-retry``."""
    return status_class(status, code)(
        message,
        status=status,
        code=code,
        type=type_,
        param=param,
        request_id=headers.get("x-request-id") or headers.get("request-id"),
        retry_after=retry_after_seconds(headers),
        retryable=_retryable(status, code, headers),
        family=family_of(code),
        payment=payment,
        required_balance=required_balance,
        body=body,
        headers=headers,
    )


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait per ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP
    date), never negative; ``None`` when absent or unreadable."""
    milliseconds = _float(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return max(milliseconds / 1000, 0.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _float(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with lower-case names."""
    return {name.lower(): value for name, value in headers.items()}


def _retryable(status: int, code: str | None, headers: Mapping[str, str]) -> bool:
    """The seed's guidance: never 400/401/402/403/404/409/413 nor a daily limit, whatever
    the server hints; otherwise ``x-should-retry`` when sent, else the retry list."""
    if status in NEVER_RETRIED or code in DAILY_LIMIT_CODES:
        return False
    hint = headers.get("x-should-retry", "").strip().lower()
    if hint in ("true", "false"):
        return hint == "true"
    return status in RETRYABLE_STATUSES


def _decode(body: bytes | str | dict[str, Any] | None) -> object:
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str) and body.strip()[:1] in ("{", "["):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def _mirrored_status(value: object) -> int | None:
    """A body's ``status`` field, when it is an error status."""
    if isinstance(value, int) and not isinstance(value, bool) and 400 <= value < 600:
        return value
    return None


def _reason(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value)
    return text or None


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
