"""The plug point for paying x402 quotes: a wallet, sync or async.

The client never moves money itself. ``client.x402.pay`` asks a wallet which offer it
can pay (:meth:`Wallet.supports`), then has it pay (:meth:`Wallet.pay`): for an exact
offer the wallet signs a payment and returns the ``X-PAYMENT`` header value (see
:func:`nanogate.client.encode_payment`); for a polling offer it makes the transfer to
``offer.pay_to`` and returns ``None``, and the client waits for the payment to arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from nanogate.client._x402 import PaymentOffer, PaymentQuote


class Wallet(Protocol):
    """Pays x402 quotes for :class:`~nanogate.client.Client`."""

    def supports(self, offer: PaymentOffer) -> bool:
        """Whether this wallet can pay ``offer`` (its scheme, network and asset)."""
        ...

    def pay(
        self,
        quote: PaymentQuote,
        offer: PaymentOffer,
        requirements: Mapping[str, Any] | None,
    ) -> str | None:
        """Pay ``offer.amount`` of ``quote``. Exact offers: return the ``X-PAYMENT``
        value built for ``requirements`` (the offer's x402 v1 payment requirements).
        Polling offers: transfer to ``offer.pay_to`` and return ``None``."""
        ...


class AsyncWallet(Protocol):
    """Pays x402 quotes for :class:`~nanogate.client.AsyncClient`."""

    def supports(self, offer: PaymentOffer) -> bool:
        """Whether this wallet can pay ``offer`` (its scheme, network and asset)."""
        ...

    async def pay(
        self,
        quote: PaymentQuote,
        offer: PaymentOffer,
        requirements: Mapping[str, Any] | None,
    ) -> str | None:
        """:meth:`Wallet.pay`, awaited."""
        ...
