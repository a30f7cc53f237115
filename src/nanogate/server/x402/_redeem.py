"""Signed rails: a replay of a quoted request with its payment (``X-PAYMENT``, x402 v1;
``PAYMENT-SIGNATURE``, v2), verified through the rail's x402 facilitator, and for
``exact`` settled before the request runs (``upto``: after it, for the real cost).

The payment must be of a scheme and on a network the quote offers, for the quoted
request (same request hash), the quoted amount and the quoted address; the gateway
checks what it can itself before asking the facilitator. Each payment binds one quote
(by the digest of its decoded payload), so a reused one is refused; one whose run
failed may run its own request again. :meth:`Cashier.redeem
<nanogate.server.x402.Cashier.redeem>` is the entry point.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from starlette.types import Scope

from nanogate.errors import (
    PaymentAlreadyCompleted,
    PaymentExpired,
    PaymentFailed,
    PaymentInvalid,
    ServiceUnavailable,
)
from nanogate.rails import RailError, VerifyResult
from nanogate.server.x402._cashier import Cashier, Metered, PaidRun, refuse
from nanogate.storage import StoredPayment
from nanogate.x402 import (
    OPEN,
    Offer,
    PaymentRefused,
    caip2,
    canonical_body,
    decode_payment,
    request_hash,
    requirements,
    requirements_v2,
)
from nanogate.x402._payload import HEADERS

log = logging.getLogger("nanogate.x402")


def _digest(raw: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_body(raw)).hexdigest()


async def redeem(
    cashier: Cashier,
    scope: Scope,
    body: Mapping[str, Any],
    header: str,
    reserve: int,
    version: int = 1,
) -> PaidRun:
    """Verify and settle an ``X-PAYMENT`` (x402 ``version`` 1) or ``PAYMENT-SIGNATURE``
    (2) replay of a quoted request, whose maximum cost is now ``reserve``; the run it
    returns may execute the request. Every refusal runs and settles nothing."""
    try:
        decoded = decode_payment(header, version)
    except PaymentRefused as exc:
        raise PaymentInvalid(str(exc)) from None
    digest = _digest(decoded.raw)
    this_hash = request_hash(scope["method"], scope["path"], body)
    used = await cashier.payments.find_by_digest(digest)
    if used is not None:
        return await _replay(cashier, used, this_hash)
    schemes = ("exact",) if version == 1 else ("exact", "upto")
    if decoded.scheme not in schemes:
        raise PaymentInvalid(
            f"{HEADERS[version]} must use the {' or '.join(schemes)} scheme, "
            f"not {decoded.scheme!r}."
        )
    payment = await _quoted(cashier, decoded.raw, this_hash)
    if reserve > payment.amount_nusd:
        raise PaymentInvalid(
            "This request now costs more than its quote (a header such as memory changed "
            "what it runs); send it without X-PAYMENT for a new quote."
        )
    now = cashier.clock()
    quote = cashier.quote_of(payment, cashier.base_url(scope))
    offer = next(
        (
            o
            for o in quote.offers
            if o.protocol_scheme == decoded.scheme and _network(o, version) == decoded.network
        ),
        None,
    )
    if offer is None:
        raise PaymentInvalid(
            f"This quote takes no {decoded.scheme} payment on the network {decoded.network!r}."
        )
    if offer.scheme not in cashier.verifiers:
        raise PaymentInvalid(
            f"The {offer.scheme} rail is no longer accepted here; request a new quote."
        )
    required = (
        requirements(quote, offer, now)
        if version == 1
        else requirements_v2(quote, offer, now) or {}
    )
    _check_binding(decoded.raw, decoded.payload, offer, payment)
    if decoded.accepted is not None:
        _check_accepted(decoded.accepted, required)
    claimed = await cashier.payments.transition(
        payment.id,
        [*OPEN],
        "processing",
        now,
        payment_digest=digest,
        paid_rail=offer.scheme,
        count_run=True,
        owner=cashier.owner,
    )
    if not claimed:
        again = await cashier.payments.get(payment.id)
        assert again is not None
        if again.status in OPEN:
            raise PaymentAlreadyCompleted("This X-PAYMENT has already been used.")
        refuse(again, again.status)
    # verify and settle run to their end even if the request is cancelled meanwhile:
    # a payment is never left half-settled by a client going away
    if offer.protocol_scheme == "upto":
        verifying = _authorised(cashier, payment, offer, required, decoded.raw)
        return await asyncio.shield(verifying)
    settling = _settle(cashier, payment, offer, required, decoded.raw)
    return await asyncio.shield(settling)


def _network(offer: Offer, version: int) -> str | None:
    """How a payment of ``version`` names the offer's network."""
    return offer.network if version == 1 else caip2(offer.network)


ECHOED = ("scheme", "network", "amount", "asset", "payTo")
"""What a v2 payment's ``accepted`` must repeat of its requirements, as they are."""


def _check_accepted(accepted: Mapping[str, Any], required: Mapping[str, Any]) -> None:
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


async def _quoted(cashier: Cashier, raw: Mapping[str, Any], this_hash: str) -> StoredPayment:
    """The open quote an X-PAYMENT pays: the one it names, or else the newest quote of
    this very request that is still unpaid (observed first, so a quote its polling
    rail already paid is never paid twice). Refuses when there is none."""
    payload = raw.get("payload")
    accepted = raw.get("accepted")
    extra = accepted.get("extra") if isinstance(accepted, Mapping) else None
    named = (
        raw.get("paymentId")
        or (payload.get("paymentId") if isinstance(payload, Mapping) else None)
        or (extra.get("paymentId") if isinstance(extra, Mapping) else None)
    )
    if isinstance(named, str):
        candidates = [await cashier.lookup(named)]
        if candidates[0].request_hash != this_hash:
            raise PaymentInvalid("This payment was quoted for a different request.")
    else:
        candidates = await cashier.payments.quoted_for(this_hash)
        if not candidates:
            raise PaymentInvalid(
                "No quote matches this request: replay it exactly as it was quoted, "
                "or send it without X-PAYMENT for a new quote."
            )
    now = cashier.clock()
    for candidate in candidates:
        if candidate.status in OPEN and now < candidate.expires_at:
            observed = await cashier.observe(candidate)
            if observed.status in OPEN:
                return observed
    newest = await cashier.payments.get(candidates[0].id)
    assert newest is not None
    if newest.status in OPEN:
        await cashier.payments.transition(newest.id, [newest.status], "expired", now)
        raise PaymentExpired()
    refuse(newest, newest.status)


async def _replay(cashier: Cashier, payment: StoredPayment, this_hash: str) -> PaidRun:
    """An X-PAYMENT seen before: it may run its own request again only if the
    last run failed (the payment is still ``paid``); otherwise it is reused."""
    if payment.request_hash != this_hash:
        raise PaymentAlreadyCompleted("This X-PAYMENT has already been used.")
    if payment.status != "paid":
        refuse(payment, payment.status)
    return await cashier.claim_paid(payment)


async def _back(cashier: Cashier, payment: StoredPayment, reason: str) -> None:
    """Give a claimed payment back as it was: nothing was settled, and the same payment
    (or another for the quote) may be sent again."""
    await cashier.payments.transition(
        payment.id,
        ["processing"],
        payment.status,
        cashier.clock(),
        payment_digest=None,
        paid_rail=None,
        runs=payment.runs,
        last_error=reason,
    )


async def _verified(
    cashier: Cashier,
    payment: StoredPayment,
    offer: Offer,
    required: dict[str, Any],
    raw: Mapping[str, Any],
) -> VerifyResult:
    """The facilitator's word that ``raw`` pays ``required``; a refusal gives the
    payment back and raises."""
    verifier = cashier.verifiers[offer.scheme]
    try:
        verdict = await verifier.verify(raw, required)
    except RailError as exc:
        await _back(cashier, payment, f"verify: {exc}")
        raise ServiceUnavailable(
            "The payment verifier cannot be reached; try again.", retry_after=5
        ) from None
    if not verdict.valid:
        await _back(cashier, payment, f"verify: {verdict.reason}")
        raise PaymentInvalid(f"The payment was refused: {verdict.reason or 'invalid'}.")
    return verdict


async def _authorised(
    cashier: Cashier,
    payment: StoredPayment,
    offer: Offer,
    required: dict[str, Any],
    raw: Mapping[str, Any],
) -> PaidRun:
    """An ``upto`` payment: verified for its maximum now, settled for the request's real
    cost when the run ends (:meth:`~nanogate.server.x402.Cashier.settle_metered`)."""
    verdict = await _verified(cashier, payment, offer, required, raw)
    log.info("x402 payment %s authorised on %s", payment.id, offer.scheme)
    metered = Metered(offer, dict(required), dict(raw), verdict.payer)
    return PaidRun(payment.id, payment.amount_nusd, offer.scheme, None, metered=metered)


async def _settle(
    cashier: Cashier,
    payment: StoredPayment,
    offer: Offer,
    required: dict[str, Any],
    raw: Mapping[str, Any],
) -> PaidRun:
    verifier = cashier.verifiers[offer.scheme]
    verdict = await _verified(cashier, payment, offer, required, raw)
    try:
        settled = await verifier.settle(raw, required)
    except RailError as exc:
        note = f"settlement outcome unknown (payer {verdict.payer or 'unknown'}): {exc}"
        await cashier.payments.transition(
            payment.id,
            ["processing"],
            "failed",
            cashier.clock(),
            runs=payment.runs,
            last_error=note,
        )
        log.error("x402 payment %s: %s", payment.id, note)
        raise PaymentFailed(
            "The payment's settlement could not be confirmed, so the request did not run; "
            f"the payment is held for the operator (paymentId {payment.id})."
        ) from None
    if not settled.success:
        await _back(cashier, payment, f"settle: {settled.reason}")
        raise PaymentInvalid(f"The payment could not be settled: {settled.reason or 'refused'}.")
    settlement = {
        "success": True,
        "transaction": settled.transaction,
        "network": offer.network,
        "payer": settled.payer or verdict.payer,
    }
    await cashier.payments.transition(
        payment.id, ["processing"], "processing", cashier.clock(), settlement=settlement
    )
    log.info("x402 payment %s settled on %s", payment.id, offer.scheme)
    return PaidRun(payment.id, payment.amount_nusd, offer.scheme, settlement)


def _check_binding(
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
