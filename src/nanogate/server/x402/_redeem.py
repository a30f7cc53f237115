"""What the gateway checks of a signed payment itself, sans-IO, before its facilitator is
asked: the payment's digest (which binds it to one quote), how a payment of each x402
version names an offer's network, and that the payment pays the quote's own amount, to
its own address, for its own request. :meth:`Cashier.redeem
<nanogate.server.x402.Cashier.redeem>` redeems a payment with them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from nanogate.errors import PaymentInvalid
from nanogate.storage import StoredPayment
from nanogate.x402 import Offer, caip2, canonical_body


def payment_digest(raw: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_body(raw)).hexdigest()


def network_of(offer: Offer, version: int) -> str | None:
    """How a payment of ``version`` names the offer's network."""
    return offer.network if version == 1 else caip2(offer.network)


ECHOED = ("scheme", "network", "amount", "asset", "payTo")
"""What a v2 payment's ``accepted`` must repeat of its requirements, as they are."""


def check_accepted(accepted: Mapping[str, Any], required: Mapping[str, Any]) -> None:
    """A v2 payment pays the requirements it echoes: they must be the quote's own (the
    addresses in any case), with the quote's payment id."""
    for name in ECHOED:
        sent, wanted = accepted.get(name), required.get(name)
        same = (
            isinstance(sent, str) and sent.lower() == str(wanted).lower()
            if name in ("asset", "payTo")
            else sent == wanted
        )
        if not same:
            raise PaymentInvalid(
                f"PAYMENT-SIGNATURE accepts other requirements than the quote's ({name})."
            )
    extra = accepted.get("extra")
    if not isinstance(extra, Mapping) or extra.get("paymentId") != required["extra"]["paymentId"]:
        raise PaymentInvalid("PAYMENT-SIGNATURE is for another quote (extra.paymentId).")


def check_binding(
    raw: Mapping[str, Any], payload: Mapping[str, Any], offer: Offer, payment: StoredPayment
) -> None:
    """What the gateway can check itself before asking the facilitator: the amount, the
    address, and the request hash or payment id where the payload carries them."""
    authorization = payload.get("authorization")
    if isinstance(authorization, Mapping):
        value = authorization.get("value")
        if value is not None and str(value) != str(offer.amount):
            raise PaymentInvalid(
                f"X-PAYMENT pays {value} atomic units; this quote asks {offer.amount}."
            )
        to = authorization.get("to")
        if isinstance(to, str) and to.lower() != offer.pay_to.lower():
            raise PaymentInvalid("X-PAYMENT pays another address than the quote's payTo.")
    permit = payload.get("permit2Authorization")
    if isinstance(permit, Mapping):
        permitted, witness = permit.get("permitted"), permit.get("witness")
        amount = permitted.get("amount") if isinstance(permitted, Mapping) else None
        if amount is not None and str(amount) != str(offer.amount):
            raise PaymentInvalid(
                f"The permit allows {amount} atomic units; this quote's most is {offer.amount}."
            )
        to = witness.get("to") if isinstance(witness, Mapping) else None
        if isinstance(to, str) and to.lower() != offer.pay_to.lower():
            raise PaymentInvalid("The permit pays another address than the quote's payTo.")
    bound = raw.get("requestHash") or payload.get("requestHash")
    if bound is not None and bound != payment.request_hash:
        raise PaymentInvalid("This payment was made for a different request.")
