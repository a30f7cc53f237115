"""``client.x402`` of the async client: quote, pay with an async wallet, poll, complete.

The twin of ``_x402_resources``: the same calls (``_x402_calls``), the same rules, with
an :class:`AsyncWallet` and waits through :meth:`RetryPolicy.async_sleep`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nanogate.client import _x402_calls as calls
from nanogate.client._call import Response
from nanogate.client._errors import PaymentRequiredError
from nanogate.client._wallet import AsyncWallet
from nanogate.client._x402 import (
    PaidResponse,
    PaymentQuote,
    PaymentStatus,
    choose_offer,
    requirements_for,
)

if TYPE_CHECKING:
    from nanogate.client._async_client import AsyncClient


class AsyncX402:
    """``client.x402`` of :class:`AsyncClient`: :class:`X402`'s methods, awaited."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def quote(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
    ) -> PaymentQuote:
        """The price of a request: ``path`` (under the base URL, or an absolute URL) with
        the JSON ``body``, sent without credentials. Raises the answer's error if it is
        not an x402 challenge."""
        call = calls.request(self._client._config, method, path, body, headers)
        try:
            answer = await self._client._request(call)
        except PaymentRequiredError as error:
            return calls.challenge_quote(error)
        raise calls.not_a_challenge(answer)

    async def status(self, payment: PaymentQuote | str) -> PaymentStatus:
        """Where a payment stands (``GET statusUrl``); ``payment`` is a quote or its id."""
        answer = await self._client._request(calls.status(self._client._config, payment))
        return calls.read_status(answer)

    async def complete(self, payment: PaymentQuote | str, *, timeout: float = 600.0) -> Response:
        """The answer of a paid polling-rail request.

        Polls the status, waiting each ``Retry-After`` (through the client's
        :class:`RetryPolicy`, so a test-mode policy records the waits instead), until it
        stops being pending, underpaid or processing or ``timeout`` seconds have passed;
        then ``POST completeUrl``. A payment that is not paid is refused with the server's
        error: 402 ``payment_pending``, 409 ``payment_already_completed`` or
        ``payment_failed``, 410 ``payment_expired``, 404 ``payment_not_found``.
        """
        deadline = calls.Deadline(timeout)
        while (wait := deadline.next_wait(await self.status(payment))) is not None:
            await self._client.retry.async_sleep(wait)
        return await self._client._send(calls.complete(self._client._config, payment))

    async def pay(
        self,
        path: str,
        body: Mapping[str, Any],
        wallet: AsyncWallet,
        *,
        rails: Sequence[str] | None = None,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
        timeout: float = 600.0,
    ) -> PaidResponse:
        """Quote a request, pay it with ``wallet``, and return its answer.

        The offer paid is the first the wallet supports: in the server's order, or
        among ``rails`` (scheme names such as ``"x402-exact"``, ``"nano"``) in that
        order; ``ValueError`` if there is none. An exact offer replays the request with
        the wallet's ``X-PAYMENT``; a polling offer is paid by the wallet, then finished
        by :meth:`complete` within ``timeout`` seconds. Not for streaming requests.
        """
        quote = await self.quote(path, body, method=method, headers=headers)
        offer = choose_offer(quote, wallet.supports, rails)
        payment = await wallet.pay(quote, offer, requirements_for(quote, offer))
        if not offer.exact:
            return PaidResponse(await self.complete(quote, timeout=timeout), quote, offer)
        call = calls.replay(self._client._config, method, path, body, headers, payment, offer)
        answer = await self._client._send(call)
        return PaidResponse(answer, quote, offer, calls.payment_response(answer))
