"""Accountless x402 without I/O: the 402 challenge, its offers, payment status, headers.

A request sent without credentials to an x402-enabled endpoint is answered with a 402
whose top-level ``payment`` object is a :class:`PaymentQuote`: a price, valid until
``expires_at``, offered on one or more rails (:class:`PaymentOffer`). Polling rails
(``nano``, ``base-usdc``, ``dev``) are paid to ``payTo``, then completed through
``statusUrl`` / ``completeUrl``; exact rails (``protocolScheme == "exact"``) replay the
request with an ``X-PAYMENT`` header, built from the legacy ``accepts[]`` entry that
:func:`requirements_for` finds. Amounts are ``int`` (atomic units) or ``Decimal``
(dollars), never ``float``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from nanogate.client._call import Response
from nanogate.client._errors import APIError
from nanogate.x402 import caip2, decode_header

WAITING: Final = frozenset({"pending", "underpaid", "processing"})
"""Statuses that change on their own: poll again after ``Retry-After``."""

_OFFER_FIELDS: Final = frozenset(
    {"scheme", "protocolScheme", "network", "amount", "amountFormatted", "amountUsd", "payTo"}
)


@dataclass(frozen=True, slots=True)
class PaymentOffer:
    """One rail a quote may be paid on (an entry of ``payment.accepted[]``)."""

    scheme: str
    """The rail: ``nano``, ``base-usdc``, ``dev``, ``nano-exact``, ``x402-exact``..."""
    protocol_scheme: str
    """How it settles: ``exact`` (an ``X-PAYMENT`` replay) or the rail's polling scheme."""
    network: str
    amount: int
    """What to pay, in the asset's smallest unit."""
    amount_formatted: str
    amount_usd: Decimal
    pay_to: str
    asset: str | None = None
    """The token contract or mint, for token rails."""
    extra: dict[str, Any] = field(default_factory=dict)
    """The entry's other fields as sent (``paymentId``, ``feePayer``, ``statusUrl``...)."""

    @property
    def exact(self) -> bool:
        """Whether the offer is paid by replaying the request with ``X-PAYMENT``."""
        return self.protocol_scheme == "exact"


@dataclass(frozen=True, slots=True)
class PaymentQuote:
    """The price of one request, stored by the server until ``expires_at``."""

    payment_id: str
    request_hash: str
    expires_at: datetime
    amount_usd: Decimal
    status_url: str
    complete_url: str
    offers: tuple[PaymentOffer, ...]
    """The offers this client can read, in the server's order."""
    requirements: tuple[dict[str, Any], ...] = ()
    """The legacy ``accepts[]``: x402 v1 payment requirements, one per exact offer."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    """The whole 402 body."""
    requirements_v2: tuple[dict[str, Any], ...] = ()
    """The x402 v2 payment requirements of the ``PAYMENT-REQUIRED`` header (CAIP-2
    networks), when the server sent a v2 one."""
    payment_required: dict[str, Any] | None = field(default=None, repr=False)
    """The decoded ``PAYMENT-REQUIRED`` header, if any."""


@dataclass(frozen=True, slots=True)
class PaymentStatus:
    """An answer of ``GET statusUrl``."""

    payment_id: str
    status: str
    """``pending``, ``underpaid``, ``paid``, ``processing``, ``completed``, ``failed``
    or ``expired``."""
    retry_after: float | None
    """The answer's ``Retry-After`` in seconds (sent while the status is waiting)."""
    rails: tuple[dict[str, Any], ...] = ()
    """Per rail: ``scheme``, ``network``, ``amount``, ``received``, ``payTo``."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def waiting(self) -> bool:
        """Whether the status may still change by itself (pending, underpaid, processing)."""
        return self.status in WAITING


@dataclass(frozen=True, slots=True)
class PaidResponse:
    """What a paid request answered, and how it was paid."""

    body: Response
    """The endpoint's JSON answer."""
    quote: PaymentQuote
    offer: PaymentOffer
    payment_response: dict[str, Any] | None = None
    """The decoded ``X-PAYMENT-RESPONSE`` of an exact rail (``None`` for polling rails,
    or when the header is missing or unreadable)."""


def parse_quote(body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> PaymentQuote:
    """The quote in a 402 body (and its ``PAYMENT-REQUIRED`` header, from ``headers``);
    raises ``ValueError`` when the body holds none.

    An offer missing a field the client needs, or whose ``amount`` is not a whole
    number, is left out of :attr:`PaymentQuote.offers` (it stays in ``raw``): no wallet
    could pay it, and it should not make the other rails unusable.
    """
    payment = body.get("payment")
    if not isinstance(payment, Mapping):
        raise ValueError("The answer has no x402 payment object.")
    accepted = payment.get("accepted")
    accepts = body.get("accepts")
    required = _payment_required(headers or {})
    v2 = required.get("accepts") if required and required.get("x402Version") == 2 else None
    return PaymentQuote(
        payment_id=_text(payment, "paymentId"),
        request_hash=_text(payment, "requestHash"),
        expires_at=_moment(payment, "expiresAt"),
        amount_usd=_usd(payment, "amountUsd"),
        status_url=_text(payment, "statusUrl"),
        complete_url=_text(payment, "completeUrl"),
        offers=tuple(
            offer
            for entry in (accepted if isinstance(accepted, list) else [])
            if (offer := _offer(entry)) is not None
        ),
        requirements=tuple(
            dict(entry)
            for entry in (accepts if isinstance(accepts, list) else [])
            if isinstance(entry, Mapping)
        ),
        raw=dict(body),
        requirements_v2=tuple(
            dict(entry)
            for entry in (v2 if isinstance(v2, list) else [])
            if isinstance(entry, Mapping)
        ),
        payment_required=required,
    )


def readable_header(header: str | None) -> dict[str, Any] | None:
    """The JSON object an x402 header carries; ``None`` if absent or unreadable."""
    if header is None:
        return None
    try:
        return decode_payment_response(header)
    except ValueError:
        return None


def _payment_required(headers: Mapping[str, str]) -> dict[str, Any] | None:
    """The decoded ``PAYMENT-REQUIRED`` header; ``None`` if absent or unreadable."""
    return readable_header(
        next((v for k, v in headers.items() if k.lower() == "payment-required"), None)
    )


def quote_from_error(error: APIError) -> PaymentQuote | None:
    """The quote of an x402 challenge the client raised (a :class:`PaymentRequiredError`
    with ``payment``), or ``None`` for any other error. Raises ``ValueError`` when the
    challenge is malformed."""
    if error.payment is None:
        return None
    body = error.body if isinstance(error.body, Mapping) else {"payment": error.payment}
    return parse_quote(body, error.headers)


def parse_status(body: Mapping[str, Any], retry_after: float | None) -> PaymentStatus:
    """The :class:`PaymentStatus` of a status answer; raises ``ValueError`` if unreadable."""
    rails = body.get("rails")
    return PaymentStatus(
        payment_id=_text(body, "paymentId"),
        status=_text(body, "status"),
        retry_after=retry_after,
        rails=tuple(
            dict(rail)
            for rail in (rails if isinstance(rails, list) else [])
            if isinstance(rail, Mapping)
        ),
        raw=dict(body),
    )


def requirements_for(quote: PaymentQuote, offer: PaymentOffer) -> dict[str, Any] | None:
    """The x402 v1 payment requirements (an ``accepts[]`` entry) of an exact offer: the one
    on the offer's network, paid to its ``payTo``. ``None`` for polling offers, or when
    the server sent none."""
    if not offer.exact:
        return None
    for entry in quote.requirements:
        if (
            entry.get("network") == offer.network
            and entry.get("payTo", offer.pay_to) == offer.pay_to
        ):
            return entry
    return None


def requirements_v2_for(quote: PaymentQuote, offer: PaymentOffer) -> dict[str, Any] | None:
    """The x402 v2 payment requirements of an exact offer (from ``PAYMENT-REQUIRED``): the
    ones on the offer's network (by CAIP-2) with its ``payTo`` and payment id. A wallet
    that pays v2 signs them and returns a v2 payload, which the client sends as
    ``PAYMENT-SIGNATURE``. ``None`` for polling offers, or when the server sent none."""
    if not offer.exact:
        return None
    network = caip2(offer.network)
    for entry in quote.requirements_v2:
        found = entry.get("extra")
        extra: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        if (
            entry.get("network") == network
            and entry.get("payTo", offer.pay_to) == offer.pay_to
            and extra.get("paymentId", quote.payment_id) == quote.payment_id
        ):
            return entry
    return None


def payment_header(payment: str) -> str:
    """The header a wallet's payment goes in: ``payment-signature`` for an x402 v2
    payload, ``x-payment`` for a v1 one (or one this client cannot read)."""
    data = readable_header(payment) or {}
    return "payment-signature" if data.get("x402Version") == 2 else "x-payment"


def choose_offer(
    quote: PaymentQuote, supports: Callable[[PaymentOffer], bool], rails: Sequence[str] | None
) -> PaymentOffer:
    """The first offer ``supports`` accepts: in the server's order, or only the ``rails``
    named, in that order. Raises ``ValueError`` naming the rails offered."""
    if rails is None:
        candidates = list(quote.offers)
    else:
        candidates = [offer for rail in rails for offer in quote.offers if offer.scheme == rail]
    for offer in candidates:
        if supports(offer):
            return offer
    offered = ", ".join(offer.scheme for offer in quote.offers) or "none"
    wanted = f" among the rails {', '.join(rails)}" if rails is not None else ""
    raise ValueError(
        f"The wallet supports none of the offers{wanted} for payment {quote.payment_id} "
        f"(offered: {offered})."
    )


def decode_payment_response(header: str) -> dict[str, Any]:
    """The JSON object an x402 header carries (``X-PAYMENT-RESPONSE``, ``PAYMENT-RESPONSE``,
    ``PAYMENT-REQUIRED``, ``X-PAYMENT``...): base64, standard or URL-safe, padding
    optional. Raises ``ValueError`` otherwise."""
    return decode_header(header)


def _offer(entry: object) -> PaymentOffer | None:
    """One ``accepted[]`` entry, or ``None`` when it lacks what paying needs."""
    if not isinstance(entry, Mapping):
        return None
    try:
        scheme = _text(entry, "scheme")
        asset = entry.get("asset")
        return PaymentOffer(
            scheme=scheme,
            protocol_scheme=_text(entry, "protocolScheme"),
            network=_text(entry, "network"),
            amount=_atomic(entry, "amount"),
            amount_formatted=str(entry.get("amountFormatted", "")),
            amount_usd=_usd(entry, "amountUsd"),
            pay_to=_text(entry, "payTo"),
            asset=asset if isinstance(asset, str) and asset else None,
            extra={k: v for k, v in entry.items() if k not in _OFFER_FIELDS and k != "asset"},
        )
    except ValueError:
        return None


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is missing or not a string.")
    return value


def _moment(data: Mapping[str, Any], name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(_text(data, name))
    except ValueError:
        raise ValueError(f"{name} is not an ISO 8601 time.") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _usd(data: Mapping[str, Any], name: str) -> Decimal:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{name} is missing or not a number.")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} is not a number.") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{name} is not an amount.")
    return amount


def _atomic(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ValueError(f"{name} is not a whole number of atomic units.")
