"""The JSON shape of each stored row, as the admin API, the console and the CLI show it.

Money is always an exact decimal string of dollars (:func:`~nanogate.core.format_usd`:
``"5.00"``, ``"0.000123"``); times are UTC ISO 8601 with a ``Z``. Nothing here shows a
secret: keys appear by id and prefix, payments without the request they carry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nanogate.core import format_usd

if TYPE_CHECKING:
    from nanogate.storage import (
        Account,
        APIKey,
        LedgerEntry,
        RequestRecord,
        StoredPayment,
        StoredReceipt,
    )


def iso(value: datetime | None) -> str | None:
    """A UTC time as ``2026-06-09T12:00:00Z`` (``None`` stays ``None``)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def usd(nano: int | None) -> str | None:
    """Nano-dollars as the one money format (``None`` stays ``None``)."""
    return format_usd(nano) if nano is not None else None


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "balance_usd": format_usd(account.balance_nusd),
        "reserved_usd": format_usd(account.reserved_nusd),
        "created_at": iso(account.created_at),
    }


def key_view(key: APIKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "account_id": key.account_id,
        "name": key.name,
        "prefix": key.key_prefix,
        "models": list(key.models) if key.models is not None else None,
        "daily_requests": key.daily_requests,
        "daily_usd": usd(key.daily_usd_nusd),
        "rps": key.rps,
        "expires_at": iso(key.expires_at),
        "revoked_at": iso(key.revoked_at),
        "created_at": iso(key.created_at),
    }


def ledger_view(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.created_at),
        "kind": entry.kind,
        "amount_usd": format_usd(entry.amount_nusd),
        "hold_usd": format_usd(entry.hold_nusd),
        "request_id": entry.request_id,
        "key_id": entry.key_id,
        "model": entry.model,
        "note": entry.note,
    }


def request_view(record: RequestRecord) -> dict[str, Any]:
    return {
        "request_id": record.request_id,
        "created_at": iso(record.created_at),
        "key_id": record.key_id,
        "account_id": record.account_id,
        "surface": record.surface,
        "method": record.method,
        "path": record.path,
        "model": record.model,
        "status": record.status,
        "code": record.code,
        "message": record.message,
        "stream": record.stream,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "cost_usd": format_usd(record.cost_nusd),
        "add_ons_usd": {
            name: format_usd(amount) for name, amount in (record.add_ons or {}).items()
        },
        "usage_estimated": record.usage_estimated,
        "deployments": record.deployments,
        "discrepancy": record.discrepancy,
        "duration_ms": record.duration_ms,
        "ttfb_ms": record.ttfb_ms,
        "client_ip": record.client_ip,
    }


def payment_view(payment: StoredPayment) -> dict[str, Any]:
    """A payment without the request it carries (its headers and body are the payer's)."""
    return {
        "id": payment.id,
        "created_at": iso(payment.created_at),
        "expires_at": iso(payment.expires_at),
        "updated_at": iso(payment.updated_at),
        "status": str(payment.status),
        "method": payment.method,
        "path": payment.path,
        "amount_usd": format_usd(payment.amount_nusd),
        "runs": payment.runs,
        "paid_rail": payment.paid_rail,
        "request_id": payment.request_id,
        "last_error": payment.last_error,
        "settlement": payment.settlement,
    }


def payment_detail(payment: StoredPayment, receipts: list[StoredReceipt]) -> dict[str, Any]:
    """A payment with its offers (what each rail asked and received) and its receipts."""
    return {
        **payment_view(payment),
        "offers": [
            {
                "rail": offer.rail,
                "pay_to": offer.pay_to,
                "amount": str(offer.amount),
                "received": str(offer.received),
                "late": str(offer.late),
            }
            for offer in payment.offers
        ],
        "receipts": [
            {
                "rail": r.rail,
                "receipt_id": r.receipt_id,
                "amount": str(r.amount),
                "arrived_at": iso(r.arrived_at),
                "observed_at": iso(r.observed_at),
            }
            for r in receipts
        ],
    }
