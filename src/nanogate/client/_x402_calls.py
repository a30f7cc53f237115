"""What both x402 resources share, without I/O: their calls, answers and polling clock.

Every x402 call is accountless: it carries ``x-x402: true`` and never a credential,
whatever the client's ``api_key`` or default headers, since status and complete URLs
come from the server's answer and a paid request must not be billed to an account.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Final

from nanogate.client._call import Call, Config, Response, path_segment
from nanogate.client._errors import APIResponseValidationError, APIStatusError
from nanogate.client._parse import retry_after_seconds
from nanogate.client._x402 import (
    PaymentOffer,
    PaymentQuote,
    PaymentStatus,
    parse_status,
    payment_header,
    quote_from_error,
    readable_header,
)

CREDENTIAL_HEADERS: Final = frozenset({"authorization", "x-api-key"})
DEFAULT_POLL_INTERVAL: Final = 2.0
"""Seconds between status polls when the server sends no ``Retry-After``."""
MIN_POLL_INTERVAL: Final = 0.5
"""The shortest wait between polls, whatever ``Retry-After`` says."""

Headers = Mapping[str, str] | None


def refuse_stream(body: Mapping[str, Any]) -> None:
    """Streaming paid requests are out of the helpers' scope."""
    if body.get("stream") is True:
        raise ValueError("The x402 helpers do not stream; send the request without stream=True.")


def accountless(
    config: Config,
    method: str,
    target: str,
    *,
    json: dict[str, Any] | None = None,
    headers: Headers = None,
) -> Call:
    """A call to ``target`` (a path under the base URL, or an absolute URL) with
    ``x-x402: true`` and no credentials."""
    absolute = target.startswith(("http://", "https://"))
    call = config.call(
        method, "" if absolute else target, json=json, headers={**(headers or {}), "x-x402": "true"}
    )
    kept = {name: value for name, value in call.headers.items() if name not in CREDENTIAL_HEADERS}
    return replace(call, url=target if absolute else call.url, headers=kept)


def request(
    config: Config, method: str, path: str, body: Mapping[str, Any], headers: Headers
) -> Call:
    """The request to quote (and, for polling rails, to store)."""
    refuse_stream(body)
    return accountless(config, method, path, json=dict(body), headers=headers)


def replay(
    config: Config,
    method: str,
    path: str,
    body: Mapping[str, Any],
    headers: Headers,
    payment: str | None,
    offer: PaymentOffer,
) -> Call:
    """The request again, paid with the payment the wallet made for ``offer``: in
    ``PAYMENT-SIGNATURE`` when it is an x402 v2 payload, else in ``X-PAYMENT``."""
    if not payment:
        raise ValueError(
            f"The wallet returned no X-PAYMENT (or PAYMENT-SIGNATURE) for the exact offer "
            f"{offer.scheme}."
        )
    sent = {**(headers or {}), payment_header(payment): payment}
    return accountless(config, method, path, json=dict(body), headers=sent)


def status(config: Config, payment: PaymentQuote | str) -> Call:
    """``GET statusUrl`` (for a bare payment id: ``/api/x402/status/{id}``)."""
    if isinstance(payment, PaymentQuote):
        return accountless(config, "GET", payment.status_url)
    return accountless(config, "GET", f"{config.legacy_url}/x402/status/{path_segment(payment)}")


def complete(config: Config, payment: PaymentQuote | str) -> Call:
    """``POST completeUrl`` (for a bare payment id: ``/api/x402/complete/{id}``)."""
    if isinstance(payment, PaymentQuote):
        return accountless(config, "POST", payment.complete_url)
    url = f"{config.legacy_url}/x402/complete/{path_segment(payment)}"
    return accountless(config, "POST", url)


def challenge_quote(error: APIStatusError) -> PaymentQuote:
    """The quote of the error a quote request raised; the error itself if it is no
    challenge, a validation error if the challenge is malformed."""
    try:
        quote = quote_from_error(error)
    except ValueError as exc:
        raise _invalid(f"The x402 challenge is malformed: {exc}", error) from exc
    if quote is None:
        raise error
    return quote


def not_a_challenge(answer: Response) -> APIResponseValidationError:
    """The error for a request sent to be quoted that was answered without a challenge."""
    return APIResponseValidationError(
        f"Expected an x402 challenge (402), got a {answer.status} answer.",
        status=answer.status,
        request_id=answer.request_id,
        body=dict(answer),
        headers=answer.headers,
    )


def read_status(answer: Response) -> PaymentStatus:
    """The :class:`PaymentStatus` of a status answer, with its ``Retry-After``."""
    try:
        return parse_status(answer, retry_after_seconds(answer.headers))
    except ValueError as exc:
        raise APIResponseValidationError(
            f"The payment status is malformed: {exc}",
            status=answer.status,
            request_id=answer.request_id,
            body=dict(answer),
            headers=answer.headers,
        ) from exc


def payment_response(answer: Response) -> dict[str, Any] | None:
    """The decoded ``PAYMENT-RESPONSE`` (x402 v2) or ``X-PAYMENT-RESPONSE`` of a paid
    answer; ``None`` if absent or unreadable (the answer is what was paid for, so it is
    kept either way)."""
    headers = answer.headers
    return readable_header(headers.get("payment-response") or headers.get("x-payment-response"))


class Deadline:
    """How long to wait before polling a payment's status again, within a budget of
    ``timeout`` seconds. Time passes by the clock or by the waits handed out, whichever
    says more, so a test-mode :class:`RetryPolicy` that never sleeps still runs out."""

    def __init__(self, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        if timeout < 0:
            raise ValueError("timeout must not be negative")
        self.timeout = timeout
        self._clock = clock
        self._start = clock()
        self._waited = 0.0

    def next_wait(self, status: PaymentStatus) -> float | None:
        """Seconds to wait before the next poll; ``None``: stop polling and complete (a
        payment that is not ``paid`` is then refused by the server with its own error)."""
        if not status.waiting:
            return None
        remaining = self.timeout - max(self._clock() - self._start, self._waited)
        if remaining <= 0:
            return None
        hinted = status.retry_after if status.retry_after is not None else DEFAULT_POLL_INTERVAL
        wait = min(max(hinted, MIN_POLL_INTERVAL), remaining)
        self._waited += wait
        return wait


def _invalid(message: str, error: APIStatusError) -> APIResponseValidationError:
    return APIResponseValidationError(
        message,
        status=error.status,
        request_id=error.request_id,
        body=error.body,
        headers=error.headers,
    )
