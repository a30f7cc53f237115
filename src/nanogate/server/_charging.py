"""Charging a request: admit it before dispatch, settle it once after, show the price.

A :class:`Charge` is made when a request is admitted (its limits counted, its
maximum cost held) and is settled exactly once: with the upstream's reported
usage, with an honest estimate when there is none (marked in the request log),
with what was produced until a client disconnected, or released without charge
when the request fails. A settlement, once started, runs to its end even if
the request is cancelled (the drivers guarantee it), so a client that goes away
cannot leave a hold behind.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import orjson

from nanogate.billing import (
    Admission,
    Bill,
    Hold,
    Limits,
    add_on_refusal,
    bill,
    cost,
    output_allowance,
    usage_tokens,
    with_fee,
)
from nanogate.config import LimitSettings
from nanogate.core import count_tokens, format_usd, usd_to_nano
from nanogate.errors import InsufficientBalance, PaymentFailed, PaymentInvalid
from nanogate.routing import Model
from nanogate.server._context import RequestContext
from nanogate.server._payer import AccountPayer, X402Payer
from nanogate.server._tracing import span
from nanogate.server.x402 import PaidRun
from nanogate.storage import APIKey

log = logging.getLogger("nanogate.billing")


def default_limits(settings: LimitSettings) -> Limits:
    """The configured limits of keys that set none of their own."""
    return Limits(
        rps=settings.rps or None,
        daily_requests=settings.daily_requests or None,
        daily_usd_nusd=usd_to_nano(settings.daily_usd) or None,
    )


def limits_of(key: APIKey, defaults: Limits) -> Limits:
    """A key's limits: its own where it set them, the defaults elsewhere."""
    return Limits(
        rps=key.rps or defaults.rps,
        daily_requests=key.daily_requests or defaults.daily_requests,
        daily_usd_nusd=(
            key.daily_usd_nusd if key.daily_usd_nusd is not None else defaults.daily_usd_nusd
        ),
    )


def produced(payload: dict[str, Any], part: str) -> list[str]:
    """The text and tool calls in each choice's ``part`` of a chat payload: ``"message"``
    of a completion, ``"delta"`` of a stream chunk. What a request is charged for when
    its upstream reports no usage."""
    pieces: list[str] = []
    for choice in payload.get("choices") or ():
        if content := choice.get(part):
            add_produced(content, pieces)
    return pieces


def add_produced(content: dict[str, Any], pieces: list[str]) -> None:
    """Append the text and tool calls of one choice's message or delta to ``pieces``."""
    if text := content.get("content"):
        pieces.append(str(text))
    for call in content.get("tool_calls") or ():
        function = call.get("function") or {}
        pieces.append(str(function.get("name") or "") + str(function.get("arguments") or ""))


def _usd(nano: int) -> orjson.Fragment:
    return orjson.Fragment(format_usd(nano, 0).encode())


@dataclass(slots=True)
class Charge:
    """One admitted request's hold, and its settlement."""

    ctx: RequestContext
    model: Model
    hold: Hold | None
    """The account's hold; ``None`` for a request paid by x402 (``run``)."""
    prompt_tokens: int
    settled: bool = False
    charged: int = 0
    produced: list[str] = field(default_factory=list)
    """Streamed output so far: the basis of the charge if the client disconnects."""
    fee_percent: Decimal | None = None
    """BYOK: the request pays this percentage of its price (its provider bills the rest)."""
    run: PaidRun | None = None
    """x402: the paid run this request is; the quote's amount was paid up front."""
    max_tokens: int | None = None
    """The request's output limit per choice (``None``: the model's output cap)."""
    choices: int = 1
    """How many choices the request asked for (``n``)."""
    add_ons: dict[str, int] = field(default_factory=dict)
    """The paid add-ons the request used (name → cost), charged with its inference."""

    async def settle(self, usage: dict[str, Any] | None, note: str | None = None) -> None:
        """Charge the reported usage, or an estimate from the prompt and what was produced.

        The charge never exceeds the hold: usage beyond what the request allowed, or
        costing more than was held, is recorded as a discrepancy and not billed. A
        charge settles once: a later call (a stream cancelled while its last events are
        sent) changes nothing."""
        if self.settled:
            return
        reported = usage_tokens(usage)
        record = self.ctx.record
        if reported is None:
            reported = (self.prompt_tokens, count_tokens("".join(self.produced)))
            record.usage_estimated = True
        record.input_tokens, record.output_tokens = reported
        amount = cost(self.model, *reported)
        if self.fee_percent is not None:
            amount = with_fee(amount, self.fee_percent)
        amount += sum(self.add_ons.values())
        allowed = output_allowance(self.model, self.max_tokens, self.choices)
        held = self.hold.amount_nusd if self.hold else None
        if self.run is not None and self.run.metered is not None:
            held = self.run.amount_nusd  # an upto payment settles at most its maximum
        billed = bill(amount, held, reported[1], allowed)
        if billed.discrepancy:
            self._discrepancy(billed, allowed)
        await self._finish(billed.charge, note, answered=True)

    async def settle_add_ons(self, input_tokens: int, output_tokens: int) -> None:
        """Charge the add-ons alone (a request that runs no inference of its own, such
        as ``POST /api/v1/memory``), never more than the hold; the record shows the
        tokens the add-ons read and wrote."""
        record = self.ctx.record
        record.input_tokens, record.output_tokens = input_tokens, output_tokens
        amount = sum(self.add_ons.values())
        held = self.hold.amount_nusd if self.hold else amount
        await self._finish(min(amount, held), None, answered=True)

    def _discrepancy(self, billed: Bill, allowed_output: int) -> None:
        """Record usage that does not fit the request: in its record, a metric, a warning."""
        record = self.ctx.record
        kind = "output" if billed.output_over else "cost"
        record.discrepancy = {
            "kind": kind,
            "reported_input_tokens": record.input_tokens,
            "reported_output_tokens": record.output_tokens,
            "allowed_output_tokens": allowed_output,
            "reported_cost_usd": format_usd(billed.cost, 0),
            "billed_usd": format_usd(billed.charge, 0),
        }
        self.ctx.state.metrics.discrepancy(self.model.id, kind)
        log.warning(
            "usage does not fit the request, request_id=%s model=%s: reported %s output "
            "tokens (allowed %d) costing %s USD; billed %s USD",
            self.ctx.request_id,
            self.model.id,
            record.output_tokens,
            allowed_output,
            format_usd(billed.cost, 0),
            format_usd(billed.charge, 0),
        )

    async def release(self, note: str) -> None:
        """Release the hold without charging (the request failed or produced nothing)."""
        await self._finish(0, note, answered=False)

    async def _finish(self, amount: int, note: str | None, *, answered: bool) -> None:
        if self.settled:
            return
        self.settled = True
        with span(self.ctx, "settlement", {"nanogate.answered": answered}) as current:
            await self._settle(amount, note, answered)
            if current is not None:
                current.set_attribute("nanogate.charged_usd", format_usd(self.charged or 0))

    async def _settle(self, amount: int, note: str | None, answered: bool) -> None:
        if self.run is not None and self.run.metered is not None and answered:
            await self._settle_metered(amount)
        elif self.run is not None:
            # paid up front: the quote's amount when answered, nothing when not (the
            # payment can then be completed again)
            cashier = self.ctx.state.cashier
            assert cashier is not None
            await cashier.finish(self.run, ok=answered, request_id=self.ctx.request_id, note=note)
            self.charged = self.run.amount_nusd if answered else 0
        else:
            assert self.hold is not None
            # a settlement, once started, runs to its end even if this request is cancelled
            self.charged = await self.ctx.state.ledger.settle(self.hold, amount, note)
        record = self.ctx.record
        record.cost_nusd = self.charged
        record.add_ons = dict(self.add_ons) if answered and self.charged else None

    async def _settle_metered(self, amount: int) -> None:
        """An ``upto`` payment: settle the request's real cost now that it is known, and
        say so in ``PAYMENT-RESPONSE`` (a stream's headers are sent already: its status
        shows the settlement). A settlement that fails withholds a whole answer."""
        cashier, run, ctx = self.ctx.state.cashier, self.run, self.ctx
        assert cashier is not None and run is not None
        settled = await cashier.settle_metered(run, amount, ctx.request_id)
        self.charged = settled or 0
        if settled is None:
            if not ctx.record.stream:
                raise PaymentFailed(
                    "The payment could not be settled, so the answer is withheld; the "
                    f"payment is held for the operator (paymentId {run.payment_id})."
                )
            return
        response = run.response_header(2)
        if response is not None:
            ctx.response_headers.append(response)

    def pricing(self) -> dict[str, Any]:
        """``x_nanogpt_pricing``: what the request was charged, and for how many tokens."""
        record = self.ctx.record
        charged = _usd(self.charged)
        return {
            "amount": charged,
            "currency": "USD",
            "cost": charged,
            "paymentSource": "balance" if self.run is None else "x402",
            "inputTokens": record.input_tokens or 0,
            "outputTokens": record.output_tokens or 0,
        }


@asynccontextmanager
async def charged(
    ctx: RequestContext,
    model: Model,
    prompt_tokens: int,
    reserve: int,
    *,
    max_tokens: int | None = None,
    choices: int = 1,
    per_second: bool = True,
    fee_percent: Decimal | None = None,
    quoted: Mapping[str, Any] | None = None,
    add_ons: Mapping[str, int] | None = None,
) -> AsyncIterator[Charge]:
    """The request admitted for the block: counted against its key's limits, ``reserve``
    held on its account (or, without a key, the x402 run its payment allows). A block
    that raises, or is cancelled, releases the hold unless the charge was settled in it;
    a block that ends normally leaves the charge as it is, settled, or handed on (a
    stream settles it when it ends).

    ``max_tokens`` and ``choices`` are the output the request allows (the hold's
    basis); reported usage beyond it is a discrepancy. ``per_second=False`` leaves
    the per-second limit out: an inline-moderation preflight is counted there by the
    request it gates. ``fee_percent`` (BYOK) makes the request pay that percentage of
    its price: of the hold, and of the settlement. ``quoted`` is the request's body as
    sent, which an x402 payment prices (an accountless request needs it). ``add_ons``
    are the paid add-ons the request asked for (name → maximum cost), held (and quoted)
    with it in full; a balance that covers the inference but not them is refused with
    the add-on's own 402 (:func:`~nanogate.billing.add_on_refusal`)."""
    payer = ctx.payer
    extra = sum(add_ons.values()) if add_ons else 0
    if not isinstance(payer, AccountPayer):
        charge = await _admit_paid(ctx, model, prompt_tokens, reserve + extra, quoted)
        charge.max_tokens, charge.choices = max_tokens, choices
    else:
        if fee_percent is not None:
            reserve = with_fee(reserve, fee_percent)
        key = payer.key
        state = ctx.state
        limits = limits_of(key, state.limits)
        try:
            hold = await state.ledger.admit(
                Admission(
                    request_id=ctx.request_id,
                    subject=f"key:{key.id}",
                    now=state.clock(),
                    limits=limits if per_second else replace(limits, rps=None),
                    account_id=key.account_id,
                    key_id=key.id,
                    reserve_nusd=reserve + extra,
                    model=model.id,
                )
            )
        except InsufficientBalance as refused:
            if not add_ons:
                raise
            raise add_on_refusal(refused, reserve, add_ons) from None
        charge = Charge(
            ctx,
            model,
            hold,
            prompt_tokens,
            fee_percent=fee_percent,
            max_tokens=max_tokens,
            choices=choices,
        )
    try:
        yield charge
    except BaseException:
        await charge.release("failed before an answer")
        raise


async def _admit_paid(
    ctx: RequestContext,
    model: Model,
    prompt_tokens: int,
    reserve: int,
    quoted: Mapping[str, Any] | None,
) -> Charge:
    """An accountless request (x402): the run its payment allows, after redeeming its
    ``X-PAYMENT`` if it carries one; without a payment, the 402 that quotes it."""
    cashier = ctx.state.cashier
    assert cashier is not None and quoted is not None, "accountless only where x402 quotes"
    run = ctx.paid
    version = 1
    if run is None:
        v1, v2 = ctx.headers.get("x-payment"), ctx.headers.get("payment-signature")
        if not v1 and not v2:
            await cashier.challenge(ctx.scope, quoted, reserve)
        if v1 and v2:
            raise PaymentInvalid(
                "Send one payment: PAYMENT-SIGNATURE (x402 version 2) or X-PAYMENT "
                "(version 1), not both."
            )
        version = 2 if v2 else 1
        run = await cashier.redeem(ctx.scope, quoted, str(v2 or v1), reserve, version)
        ctx.payer = X402Payer(run)
    response = run.response_header(version)
    if response is not None and run.metered is None:
        ctx.response_headers.append(response)
    return Charge(ctx, model, None, prompt_tokens, run=run)


async def admit_accountless(ctx: RequestContext) -> None:
    """Count a request without a valid key against its client address's limit."""
    state = ctx.state
    rps = state.settings.limits.accountless_rps
    if not rps:
        return
    client = ctx.scope.get("client")
    address = client[0] if client else "unknown"
    await state.ledger.admit(
        Admission(
            request_id=ctx.request_id,
            subject=f"ip:{address}",
            now=state.clock(),
            limits=Limits(rps=rps),
        )
    )
