"""``nanogate payments``: accountless x402 payments, for operators.

``simulate`` credits a payment on the ``dev`` rail, so the whole flow can be tried
locally without money; it refuses unless the configuration enables that rail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nanogate.cli._common import (
    ConfigOption,
    JsonOption,
    fail,
    iso,
    run_with_store,
    settings_from,
    show,
    with_driver,
)
from nanogate.cli._values import atomic_units
from nanogate.core import nano_to_usd, new_id
from nanogate.x402 import OPEN, arrived_in_time, observed_status, usd_text

if TYPE_CHECKING:
    from nanogate.storage import Script, SQLStore, StoredPayment, StoredReceipt

payments = typer.Typer(help="Accountless x402 payments.", no_args_is_help=True)


Receipts = list["StoredReceipt"]


def payment_view(payment: StoredPayment, receipts: Receipts) -> dict[str, Any]:
    return {
        "paymentId": payment.id,
        "status": payment.status,
        "amountUsd": usd_text(nano_to_usd(payment.amount_nusd)),
        "createdAt": iso(payment.created_at),
        "expiresAt": iso(payment.expires_at),
        "request": f"{payment.method} {payment.path}",
        "requestHash": payment.request_hash,
        "runs": payment.runs,
        "paidWith": payment.paid_rail,
        "requestId": payment.request_id,
        "settlement": payment.settlement,
        "lastError": payment.last_error,
        "rails": [
            {
                "scheme": o.rail,
                "payTo": o.pay_to,
                "amount": str(o.amount),
                "received": str(o.received),
                "late": str(o.late),
            }
            for o in payment.offers
        ],
        "receipts": [
            {
                "scheme": r.rail,
                "id": r.receipt_id,
                "amount": str(r.amount),
                "arrivedAt": iso(r.arrived_at),
                "observedAt": iso(r.observed_at),
                "late": not arrived_in_time(r.arrived_at, payment.expires_at),
            }
            for r in receipts
        ],
    }


@payments.command("show")
def paymentsshow(
    payment_id: Annotated[str, typer.Argument(help="The paymentId of the quote.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a payment: its status, what each rail received, its runs and settlement."""

    from nanogate.storage._payments import payment, receipts

    def get() -> Script[tuple[StoredPayment, Receipts] | None]:
        stored = yield from payment(payment_id)
        if stored is None:
            return None
        return stored, (yield from receipts(payment_id))

    found = with_driver(config, lambda driver: driver.read(get()), read_only=True)
    if found is None:
        fail(f"no payment {payment_id!r}")
    show(payment_view(*found), as_json, "payment")


@payments.command("simulate")
def payments_simulate(
    payment_id: Annotated[str, typer.Argument(help="The paymentId of the quote.")],
    amount: Annotated[
        int | None,
        typer.Option(
            "--amount",
            parser=atomic_units,
            metavar="N",
            help="Atomic units to credit (default: what the quote's dev rail still lacks).",
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Dev rail only: credit a payment as if it had been paid, then POST its completeUrl."""
    settings = settings_from(config)
    if not settings.x402.enabled or "dev" not in settings.x402.rails:
        fail('the dev rail is off: set [x402] enabled = true and rails = ["dev"] to use it')

    async def simulate(store: SQLStore) -> tuple[StoredPayment, Receipts] | str:
        payment = await store.payments.get(payment_id)
        if payment is None:
            return f"no payment {payment_id!r}"
        offer = payment.offer("dev")
        if offer is None:
            return f"payment {payment_id!r} was not offered on the dev rail"
        if payment.status not in (*OPEN, "expired"):
            return f"payment {payment_id!r} is {payment.status}; only unpaid payments take funds"
        credit = amount if amount is not None else offer.amount - offer.received
        now = datetime.now(UTC)
        await store.payments.add_receipts(payment_id, "dev", [(new_id("dev"), credit, now)], now)
        credited = await store.payments.get(payment_id)
        dev = credited.offer("dev") if credited is not None else None
        assert dev is not None
        status = observed_status(
            payment.status,
            dev.received,  # funds credited at or after expiresAt are late and do not pay
            offer.amount,
            now,
            payment.expires_at,
        )
        extra = {"paid_rail": "dev"} if status == "paid" else {}
        await store.payments.transition(payment_id, [payment.status], status, now, **extra)
        updated = await store.payments.get(payment_id)
        assert updated is not None
        return updated, await store.payments.receipts(payment_id)

    result = run_with_store(settings, simulate)
    if isinstance(result, str):
        fail(result)
    show(payment_view(*result), as_json, "payment credited (dev rail)")


__all__ = ["payments"]
