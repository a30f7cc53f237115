"""Accountless x402 at the edge: quotes, the redemption of signed payments (``X-PAYMENT``,
``PAYMENT-SIGNATURE``), watching polling rails, and the run a paid request gets.

The :class:`Cashier` stores each quote with the request it prices. A payment then
moves through the statuses of :mod:`nanogate.x402._status`, each move one conditional
update in the database, so two completes (or two replays) of one payment never both
run it. A :class:`PaidRun` is the permission to run the stored request once; the
run's charge finishes it: completed when the request was answered, back to ``paid``
(to be completed again) when it failed, ``failed`` after ``max_runs`` failed runs. Only a
run that reached an upstream counts: one refused before any provider was asked (every
circuit open, the stored model gone) leaves the payment as it found it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn, Protocol

import orjson
from starlette.datastructures import Headers
from starlette.types import Scope

from nanogate.config import X402Settings
from nanogate.core import nano_to_usd, new_id, usd_to_nano
from nanogate.errors import (
    GatewayError,
    PaymentAlreadyCompleted,
    PaymentChallenge,
    PaymentExpired,
    PaymentFailed,
    PaymentInvalid,
    PaymentNotFound,
    PaymentPending,
    ServiceUnavailable,
)
from nanogate.rails import RailError, Receipt, SettleResult, VerifyResult
from nanogate.server.x402._redeem import (
    check_accepted,
    check_binding,
    network_of,
    payment_digest,
)
from nanogate.storage import NewPayment, PaymentStore, StoredOffer, StoredPayment
from nanogate.x402 import (
    DEV_PAY_TO,
    OPEN,
    RAILS,
    Offer,
    PaymentRefused,
    Quote,
    Status,
    canonical_body,
    challenge_body,
    completion_refusal,
    decode_payment,
    encode_header,
    observed_status,
    payment_required,
    request_hash,
    requirements,
    requirements_v2,
    settle_response,
)
from nanogate.x402._payload import HEADERS

log = logging.getLogger("nanogate.x402")

PRUNE_EVERY_S = 60.0

PAYMENT_ID = re.compile(r"pay_[0-9a-f]{24}")
"""What a payment id looks like; any other is unknown without asking the database."""

STORED_HEADERS = (
    "content-type",
    "accept",
    "anthropic-version",
    "anthropic-beta",
    "x-provider",
    "memory",
    "memory_expiration_days",
)
"""Headers kept with a quoted request to run it again; never credentials or payments."""


class Watcher(Protocol):
    """A polling rail's view of a chain: funds confirmed towards an address."""

    async def receipts(
        self, pay_to: str, since: datetime, known: Collection[str] = ()
    ) -> list[Receipt]: ...

    async def close(self) -> None: ...


class Verifier(Protocol):
    """An exact rail's x402 facilitator."""

    async def verify(
        self, payment: Mapping[str, Any], requirements: Mapping[str, Any]
    ) -> VerifyResult: ...

    async def settle(
        self, payment: Mapping[str, Any], requirements: Mapping[str, Any]
    ) -> SettleResult: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Metered:
    """An ``upto`` payment verified for its maximum, to settle for the real cost."""

    offer: Offer
    requirements: dict[str, Any]
    """The v2 requirements it was verified against (``amount``: the maximum)."""
    payload: dict[str, Any]
    payer: str | None


@dataclass(slots=True)
class PaidRun:
    """The permission to run a paid request once."""

    payment_id: str
    amount_nusd: int
    """What the quote priced the request at: paid up front, or (``metered``) the most
    the run may settle."""
    rail: str | None
    settlement: dict[str, Any] | None = None
    finished: bool = False
    reached_upstream: bool = False
    """Whether the run sent its request to a provider (dispatch says so before each
    attempt); only such runs count towards ``max_runs``."""
    metered: Metered | None = None
    """An ``upto`` payment, settled when the run ends."""

    def response_header(self, version: int = 1) -> tuple[bytes, bytes] | None:
        """The settlement of an exact-rail payment, base64 JSON, in the header of the
        version the payment came in: ``X-PAYMENT-RESPONSE`` (with ``paymentId``) or
        ``PAYMENT-RESPONSE`` (a v2 ``SettleResponse``)."""
        if self.settlement is None:
            return None
        if version == 2:
            return b"payment-response", encode_header(settle_response(self.settlement)).encode()
        value = base64.b64encode(orjson.dumps({**self.settlement, "paymentId": self.payment_id}))
        return b"x-payment-response", value


_REFUSALS: dict[str, type[GatewayError]] = {
    "already_completed": PaymentAlreadyCompleted,
    "expired": PaymentExpired,
    "unpaid": PaymentPending,
    "failed": PaymentFailed,
}


def refuse(payment: StoredPayment, status: Status) -> NoReturn:
    refusal = completion_refusal(status)
    if refusal == "in_progress":
        raise PaymentAlreadyCompleted("This payment is being completed by another request.")
    if refusal == "unpaid":
        raise PaymentPending(_shortfall(payment))
    if refusal is None:  # paid: another payment already paid it
        raise PaymentAlreadyCompleted("This quote is already paid; POST its completeUrl.")
    if refusal == "failed" and (payment.last_error or "").startswith("settlement outcome"):
        raise PaymentFailed(
            "The payment's settlement could not be confirmed, so the request did not run; "
            "the payment is held for the operator."
        )
    if refusal == "expired" and any(o.received or o.late for o in payment.offers):
        raise PaymentExpired(_kept(payment))
    raise _REFUSALS[refusal]()


def _kept(payment: StoredPayment) -> str:
    funded = [o for o in payment.offers if o.received or o.late]
    parts = [
        f"{o.received} before and {o.late} after expiresAt, of {o.amount} atomic units on {o.rail}"
        for o in funded
    ]
    return (
        f"This payment quote expired before it was paid in full ({'; '.join(parts)}). "
        "What it received is recorded on it: ask the operator for a refund with its "
        "paymentId, and request a new quote."
    )


def _shortfall(payment: StoredPayment) -> str:
    polling = [o for o in payment.offers if RAILS[o.rail].polling]
    parts = [f"{o.received} of {o.amount} atomic units on {o.rail}" for o in polling]
    received = "; ".join(parts) if parts else "nothing"
    return f"This payment has not been received in full yet ({received}); poll its statusUrl."


class Cashier:
    """Quotes, redeems and completes accountless payments over the configured rails."""

    def __init__(
        self,
        settings: X402Settings,
        payments: PaymentStore,
        clock: Any,
        watchers: Mapping[str, Watcher],
        verifiers: Mapping[str, Verifier],
        *,
        owner: str = "",
        alive: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self.owner = owner
        """This gateway process, recorded on the payments it runs."""
        self.alive = alive
        """Whether a gateway process still runs (a payment it left ``processing`` is
        recovered once it does not)."""
        self.settings = settings
        self.payments = payments
        self.clock = clock
        self.watchers = dict(watchers)
        self.verifiers = dict(verifiers)
        self.endpoints = frozenset(settings.endpoints) if settings.enabled else frozenset()

    # Who is asked to pay ---------------------------------------------------------------

    def quotes(self, method: str, path: str) -> bool:
        """Whether a request without credentials to ``method path`` is quoted."""
        return f"{method} {path}" in self.endpoints

    def opted_in(self, headers: Headers) -> bool:
        """Whether an accountless request may be quoted: always, unless the opt-in
        header is required (an ``X-PAYMENT`` counts as opting in)."""
        if not self.settings.require_opt_in or "x-payment" in headers:
            return True
        return headers.get("x-x402", "").strip().lower() == "true"

    def base_url(self, scope: Scope) -> str:
        """The public base URL: configured, or the request's own scheme and host."""
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        host = Headers(scope=scope).get("host")
        if not host:
            server = scope.get("server") or ("localhost", None)
            host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
        return f"{scope.get('scheme', 'http')}://{host}"

    # Quotes ----------------------------------------------------------------------------

    def _offer(self, stored: StoredOffer) -> Offer:
        rail = RAILS[stored.rail]
        settings = self.settings.rail(stored.rail)
        extra: dict[str, Any] = {**rail.extra, **settings.extra}
        if settings.fee_payer:
            extra["feePayer"] = settings.fee_payer
        if settings.facilitator_address:
            extra["facilitatorAddress"] = settings.facilitator_address
        return Offer(
            scheme=rail.name,
            protocol_scheme=rail.protocol_scheme,
            network=settings.network or rail.network,
            asset=rail.asset,
            amount=stored.amount,
            pay_to=stored.pay_to,
            asset_address=settings.asset or rail.asset_address,
            extra=extra,
        )

    def quote_of(self, payment: StoredPayment, base: str) -> Quote:
        """The quote a stored payment was offered as."""
        return Quote(
            payment_id=payment.id,
            request_hash=payment.request_hash,
            expires_at=payment.expires_at,
            amount_usd=nano_to_usd(payment.amount_nusd),
            status_url=f"{base}/api/x402/status/{payment.id}",
            complete_url=f"{base}/api/x402/complete/{payment.id}",
            resource=f"{base}{payment.path}",
            description=f"One request to {payment.path}",
            offers=tuple(self._offer(o) for o in self.ordered(payment)),
        )

    def ordered(self, payment: StoredPayment) -> tuple[StoredOffer, ...]:
        """The payment's offers in the order the rails are configured."""
        rank = {name: n for n, name in enumerate(self.settings.rails)}
        return tuple(sorted(payment.offers, key=lambda o: rank.get(o.rail, len(rank))))

    def _leased_until(self, expires_at: datetime) -> datetime:
        """Until when a quote expiring at ``expires_at`` holds its addresses."""
        return expires_at + timedelta(seconds=self.settings.address_quarantine_s)

    def _amount(self, name: str, usd: Decimal) -> int:
        rail = RAILS[name]
        price = self.settings.rail(name).usd_per_unit or Decimal(rail.default_usd_per_unit or 0)
        return rail.asset.atomic(usd, price)

    async def challenge(self, scope: Scope, body: Mapping[str, Any], reserve_nusd: int) -> NoReturn:
        """Store the request with a price of ``reserve_nusd`` (at least ``min_usd``)
        and raise the 402 that offers it on every rail with an address free."""
        now = self.clock()
        amount_nusd = max(reserve_nusd, usd_to_nano(self.settings.min_usd))
        usd = nano_to_usd(amount_nusd)
        headers = Headers(scope=scope)
        offers = []
        pools: dict[str, tuple[str, ...]] = {}
        for name in self.settings.rails:
            rail = RAILS[name]
            pay_to = self.settings.rail(name).pay_to
            if name == "dev":
                pay_to = (DEV_PAY_TO,)
            elif rail.polling:
                pools[name] = pay_to
            offers.append(StoredOffer(name, pay_to[0], self._amount(name, usd)))
        expires = now + timedelta(seconds=self.settings.quote_ttl_s)
        payment = await self.payments.create(
            NewPayment(
                id=new_id("pay"),
                created_at=now,
                expires_at=expires,
                request_hash=request_hash(scope["method"], scope["path"], body),
                method=scope["method"],
                path=scope["path"],
                headers={h: headers[h] for h in STORED_HEADERS if h in headers},
                body=canonical_body(body),
                amount_nusd=amount_nusd,
                offers=offers,
            ),
            pools,
            self._leased_until(expires),
        )
        if payment is None:
            raise ServiceUnavailable(
                "Every payment address is in use; try again shortly.", retry_after=30
            )
        quote = self.quote_of(payment, self.base_url(scope))
        v2 = payment_required(quote, now)
        raise PaymentChallenge(
            fields=_fields(challenge_body(quote, now)),
            headers={"payment-required": encode_header(v2)} if v2 is not None else None,
        )

    # Polling rails ---------------------------------------------------------------------

    async def observe(self, payment: StoredPayment) -> StoredPayment:
        """Ask each polling rail's watcher what ``payment`` received, record it, and
        move the payment to the status that follows (paid, underpaid, expired).

        Funds count by when they arrived, not when they are seen: what arrived before
        ``expiresAt`` pays the quote, even if first seen after it; what arrived later is
        recorded as late and never pays it. The payment's addresses are its own until
        ``expiresAt`` plus the quarantine, and what arrives by then is recorded on it
        (late funds, a second transfer to a finished payment) for the operator; later
        funds may be the next payer's and are not looked at."""
        now = self.clock()
        if payment.status == "processing":
            payment = await self._abandoned(payment, now)
        leased_until = self._leased_until(payment.expires_at)
        if now < leased_until and any(o.rail in self.watchers for o in payment.offers):
            recorded = await self.payments.receipts(payment.id)
            for offer in payment.offers:
                watcher = self.watchers.get(offer.rail)
                if watcher is None:
                    continue
                known = {r.receipt_id for r in recorded if r.rail == offer.rail}
                try:
                    found = await watcher.receipts(offer.pay_to, payment.created_at, known)
                except RailError as exc:
                    raise ServiceUnavailable(
                        f"The {offer.rail} rail cannot be checked right now; try again.",
                        retry_after=5,
                    ) from exc
                arrived = [
                    (r.receipt_id, r.amount, r.confirmed_at or now)
                    for r in found
                    if r.confirmed_at is None or r.confirmed_at <= leased_until
                ]
                if arrived:
                    await self.payments.add_receipts(payment.id, offer.rail, arrived, now)
            fresh = await self.payments.get(payment.id)
            assert fresh is not None
            payment = fresh
        if payment.status not in (*OPEN, "expired"):
            return payment
        status, rail = _observed(payment, now)
        if status != payment.status:
            extra: dict[str, Any] = {"paid_rail": rail} if status == "paid" else {}
            await self.payments.transition(payment.id, [payment.status], status, now, **extra)
            fresh = await self.payments.get(payment.id)
            assert fresh is not None
            payment = fresh
        return payment

    async def _abandoned(self, payment: StoredPayment, now: datetime) -> StoredPayment:
        """A run ``processing`` whose gateway process stopped was cut short: its payment
        is paid again, or failed when its settlement is not known to have completed (it
        never runs unpaid)."""
        if self.alive is None or payment.owner is None or await self.alive(payment.owner):
            return payment
        exact = payment.paid_rail is not None and not RAILS[payment.paid_rail].polling
        status: Status = "paid"
        note = "run abandoned: the gateway stopped while running it"
        if exact and payment.settlement is None:
            status, note = "failed", "settlement outcome unknown: the gateway stopped"
        await self.payments.transition(payment.id, ["processing"], status, now, last_error=note)
        fresh = await self.payments.get(payment.id)
        assert fresh is not None
        return fresh

    # Completion -------------------------------------------------------------------------

    async def lookup(self, payment_id: str) -> StoredPayment:
        """The payment, or 404 ``payment_not_found``."""
        payment = await self.payments.get(payment_id) if PAYMENT_ID.fullmatch(payment_id) else None
        if payment is None:
            raise PaymentNotFound()
        return payment

    async def claim(self, payment_id: str) -> tuple[StoredPayment, PaidRun]:
        """Take a paid payment to ``processing`` for one run of its request, or raise
        why it cannot be completed (402, 404, 409, 410)."""
        payment = await self.lookup(payment_id)
        payment = await self.observe(payment)
        if payment.status != "paid":
            refuse(payment, payment.status)
        return payment, await self.claim_paid(payment)

    async def claim_paid(self, payment: StoredPayment) -> PaidRun:
        claimed = await self.payments.transition(
            payment.id, ["paid"], "processing", self.clock(), count_run=True, owner=self.owner
        )
        if not claimed:
            again = await self.payments.get(payment.id)
            assert again is not None
            refuse(again, again.status)
        return PaidRun(payment.id, payment.amount_nusd, payment.paid_rail, payment.settlement)

    async def finish(self, run: PaidRun, *, ok: bool, request_id: str, note: str | None) -> None:
        """End a run: the payment is completed, or paid again (to be completed once
        more), or ``failed`` after ``max_runs`` runs that reached an upstream. A run
        refused before any upstream was asked is not counted. Runs to its end even if
        the request is cancelled."""
        if run.finished:
            return
        run.finished = True
        await asyncio.shield(self._finish(run, ok, request_id, note))

    # Redemption -----------------------------------------------------------------------

    async def redeem(
        self,
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
        digest = payment_digest(decoded.raw)
        this_hash = request_hash(scope["method"], scope["path"], body)
        used = await self.payments.find_by_digest(digest)
        if used is not None:
            return await self._replay(used, this_hash)
        schemes = ("exact",) if version == 1 else ("exact", "upto")
        if decoded.scheme not in schemes:
            raise PaymentInvalid(
                f"{HEADERS[version]} must use the {' or '.join(schemes)} scheme, "
                f"not {decoded.scheme!r}."
            )
        payment = await self._quoted(decoded.raw, this_hash)
        if reserve > payment.amount_nusd:
            raise PaymentInvalid(
                "This request now costs more than its quote (a header such as memory changed "
                "what it runs); send it without X-PAYMENT for a new quote."
            )
        now = self.clock()
        quote = self.quote_of(payment, self.base_url(scope))
        offer = next(
            (
                o
                for o in quote.offers
                if o.protocol_scheme == decoded.scheme and network_of(o, version) == decoded.network
            ),
            None,
        )
        if offer is None:
            raise PaymentInvalid(
                f"This quote takes no {decoded.scheme} payment on the network {decoded.network!r}."
            )
        if offer.scheme not in self.verifiers:
            raise PaymentInvalid(
                f"The {offer.scheme} rail is no longer accepted here; request a new quote."
            )
        required = (
            requirements(quote, offer, now)
            if version == 1
            else requirements_v2(quote, offer, now) or {}
        )
        check_binding(decoded.raw, decoded.payload, offer, payment)
        if decoded.accepted is not None:
            check_accepted(decoded.accepted, required)
        claimed = await self.payments.transition(
            payment.id,
            [*OPEN],
            "processing",
            now,
            payment_digest=digest,
            paid_rail=offer.scheme,
            count_run=True,
            owner=self.owner,
        )
        if not claimed:
            again = await self.payments.get(payment.id)
            assert again is not None
            if again.status in OPEN:
                raise PaymentAlreadyCompleted("This X-PAYMENT has already been used.")
            refuse(again, again.status)
        # verify and settle run to their end even if the request is cancelled meanwhile:
        # a payment is never left half-settled by a client going away
        if offer.protocol_scheme == "upto":
            verifying = self._authorised(payment, offer, required, decoded.raw)
            return await asyncio.shield(verifying)
        settling = self._settle(payment, offer, required, decoded.raw)
        return await asyncio.shield(settling)

    async def _quoted(self, raw: Mapping[str, Any], this_hash: str) -> StoredPayment:
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
            candidates = [await self.lookup(named)]
            if candidates[0].request_hash != this_hash:
                raise PaymentInvalid("This payment was quoted for a different request.")
        else:
            candidates = await self.payments.quoted_for(this_hash)
            if not candidates:
                raise PaymentInvalid(
                    "No quote matches this request: replay it exactly as it was quoted, "
                    "or send it without X-PAYMENT for a new quote."
                )
        now = self.clock()
        for candidate in candidates:
            if candidate.status in OPEN and now < candidate.expires_at:
                observed = await self.observe(candidate)
                if observed.status in OPEN:
                    return observed
        newest = await self.payments.get(candidates[0].id)
        assert newest is not None
        if newest.status in OPEN:
            await self.payments.transition(newest.id, [newest.status], "expired", now)
            raise PaymentExpired()
        refuse(newest, newest.status)

    async def _replay(self, payment: StoredPayment, this_hash: str) -> PaidRun:
        """An X-PAYMENT seen before: it may run its own request again only if the
        last run failed (the payment is still ``paid``); otherwise it is reused."""
        if payment.request_hash != this_hash:
            raise PaymentAlreadyCompleted("This X-PAYMENT has already been used.")
        if payment.status != "paid":
            refuse(payment, payment.status)
        return await self.claim_paid(payment)

    async def _back(self, payment: StoredPayment, reason: str) -> None:
        """Give a claimed payment back as it was: nothing was settled, and the same payment
        (or another for the quote) may be sent again."""
        await self.payments.transition(
            payment.id,
            ["processing"],
            payment.status,
            self.clock(),
            payment_digest=None,
            paid_rail=None,
            runs=payment.runs,
            last_error=reason,
        )

    async def _verified(
        self,
        payment: StoredPayment,
        offer: Offer,
        required: dict[str, Any],
        raw: Mapping[str, Any],
    ) -> VerifyResult:
        """The facilitator's word that ``raw`` pays ``required``; a refusal gives the
        payment back and raises."""
        verifier = self.verifiers[offer.scheme]
        try:
            verdict = await verifier.verify(raw, required)
        except RailError as exc:
            await self._back(payment, f"verify: {exc}")
            raise ServiceUnavailable(
                "The payment verifier cannot be reached; try again.", retry_after=5
            ) from None
        if not verdict.valid:
            await self._back(payment, f"verify: {verdict.reason}")
            raise PaymentInvalid(f"The payment was refused: {verdict.reason or 'invalid'}.")
        return verdict

    async def _authorised(
        self,
        payment: StoredPayment,
        offer: Offer,
        required: dict[str, Any],
        raw: Mapping[str, Any],
    ) -> PaidRun:
        """An ``upto`` payment: verified for its maximum now, settled for the request's real
        cost when the run ends (:meth:`~nanogate.server.x402.Cashier.settle_metered`)."""
        verdict = await self._verified(payment, offer, required, raw)
        log.info("x402 payment %s authorised on %s", payment.id, offer.scheme)
        metered = Metered(offer, dict(required), dict(raw), verdict.payer)
        return PaidRun(payment.id, payment.amount_nusd, offer.scheme, None, metered=metered)

    async def _settle(
        self,
        payment: StoredPayment,
        offer: Offer,
        required: dict[str, Any],
        raw: Mapping[str, Any],
    ) -> PaidRun:
        verifier = self.verifiers[offer.scheme]
        verdict = await self._verified(payment, offer, required, raw)
        try:
            settled = await verifier.settle(raw, required)
        except RailError as exc:
            note = f"settlement outcome unknown (payer {verdict.payer or 'unknown'}): {exc}"
            await self.payments.transition(
                payment.id,
                ["processing"],
                "failed",
                self.clock(),
                runs=payment.runs,
                last_error=note,
            )
            log.error("x402 payment %s: %s", payment.id, note)
            raise PaymentFailed(
                "The payment's settlement could not be confirmed, so the request did not run; "
                f"the payment is held for the operator (paymentId {payment.id})."
            ) from None
        if not settled.success:
            await self._back(payment, f"settle: {settled.reason}")
            raise PaymentInvalid(
                f"The payment could not be settled: {settled.reason or 'refused'}."
            )
        settlement = {
            "success": True,
            "transaction": settled.transaction,
            "network": offer.network,
            "payer": settled.payer or verdict.payer,
        }
        await self.payments.transition(
            payment.id, ["processing"], "processing", self.clock(), settlement=settlement
        )
        log.info("x402 payment %s settled on %s", payment.id, offer.scheme)
        return PaidRun(payment.id, payment.amount_nusd, offer.scheme, settlement)

    async def settle_metered(self, run: PaidRun, charge_nusd: int, request_id: str) -> int | None:
        """Settle an ``upto`` run for ``charge_nusd`` (what the request cost, at most the
        authorised maximum), converted to the asset's units and rounded up; nothing moves
        for a zero charge. The payment is completed with the settlement, or ``failed``
        when the facilitator refuses or cannot say (logged for the operator). Returns the
        nano-dollars settled, or ``None`` when settling failed. Runs to its end even if
        the request is cancelled."""
        if run.finished:
            return None
        run.finished = True
        return await asyncio.shield(self._settle_metered(run, charge_nusd, request_id))

    async def _settle_metered(self, run: PaidRun, charge_nusd: int, request_id: str) -> int | None:
        metered = run.metered
        assert metered is not None and run.rail is not None
        charge_nusd = max(0, min(charge_nusd, run.amount_nusd))
        atomic = min(self._amount(run.rail, nano_to_usd(charge_nusd)), metered.offer.amount)
        required = {**metered.requirements, "amount": str(atomic)}
        verifier = self.verifiers[run.rail]
        now = self.clock()
        try:
            settled = await verifier.settle(metered.payload, required)
            failure = None if settled.success else f"refused: {settled.reason or 'refused'}"
        except RailError as exc:
            failure = f"outcome unknown (payer {metered.payer}): {exc}"
        if failure is not None:
            note = f"settlement of {atomic} {failure}"
            await self.payments.transition(
                run.payment_id, ["processing"], "failed", now, last_error=note
            )
            log.error("x402 payment %s: %s", run.payment_id, note)
            return None
        run.settlement = {
            "success": True,
            "transaction": settled.transaction or "",
            "network": metered.offer.network,
            "payer": settled.payer or metered.payer,
            "amount": str(atomic),
        }
        await self.payments.transition(
            run.payment_id,
            ["processing"],
            "completed",
            now,
            request_id=request_id,
            settlement=run.settlement,
        )
        log.info("x402 payment %s settled %s on %s", run.payment_id, atomic, run.rail)
        return charge_nusd

    async def _finish(self, run: PaidRun, ok: bool, request_id: str, note: str | None) -> None:
        now = self.clock()
        store = self.payments
        if run.metered is not None:
            # nothing was settled: the payment is as it was before, to send again
            await store.transition(
                run.payment_id,
                ["processing"],
                "pending",
                now,
                payment_digest=None,
                paid_rail=None,
                last_error=f"run {request_id}: {note or 'failed'}; nothing was settled",
            )
            return
        if ok:
            await store.transition(
                run.payment_id, ["processing"], "completed", now, request_id=request_id
            )
            return
        payment = await store.get(run.payment_id)
        if payment is None or payment.status != "processing":
            return
        last = f"run {request_id}: {note or 'failed'}"
        if not run.reached_upstream:
            # refused before dispatch: the claim counted a run that never happened
            last += " (no upstream was asked; not counted)"
            await store.transition(
                run.payment_id, ["processing"], "paid", now, runs=payment.runs - 1, last_error=last
            )
        elif payment.runs >= self.settings.max_runs:
            await store.transition(run.payment_id, ["processing"], "failed", now, last_error=last)
            log.error("x402 payment %s failed on every run; last: %s", run.payment_id, last)
        else:
            await store.transition(run.payment_id, ["processing"], "paid", now, last_error=last)

    async def run(self) -> None:
        """Housekeeping: every minute, delete the quotes nobody paid whose addresses
        are free again."""
        while True:
            await asyncio.sleep(PRUNE_EVERY_S)
            try:
                quarantine = timedelta(seconds=self.settings.address_quarantine_s)
                pruned = await self.payments.prune(self.clock() - quarantine)
                if pruned:
                    log.debug("pruned %d unpaid x402 quotes", pruned)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pruning unpaid x402 quotes failed; will retry")

    async def close(self) -> None:
        closers = [w.close for w in self.watchers.values()]
        closers += [v.close for v in self.verifiers.values()]
        for close in closers:
            try:
                await close()
            except Exception:
                log.exception("could not close a payment rail's connection")


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    """The challenge body less its ``error`` object (the error renderer makes that)."""
    return {k: v for k, v in body.items() if k != "error"}


def _observed(payment: StoredPayment, now: datetime) -> tuple[Status, str | None]:
    """The status ``payment``'s polling offers' receipts make, and the rail that paid."""
    polling = [o for o in payment.offers if RAILS[o.rail].polling]
    paid = next((o for o in polling if o.received >= o.amount), None)
    partial = next((o for o in polling if o.received > 0), None)
    if paid is not None:
        received, amount = paid.amount, paid.amount
    elif partial is not None:
        received, amount = partial.received, partial.amount
    else:
        received, amount = 0, 1
    status = observed_status(payment.status, received, amount, now, payment.expires_at)
    return status, paid.rail if paid is not None else None
