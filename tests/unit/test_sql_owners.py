"""Each table's SQL has one owner module: nothing else names the table in a statement
(raw SQL) or builds one on its SQLAlchemy ``Table`` object. The schema itself is the
migrations' and ``storage/_tables.py``'s."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nanogate.storage import _tables

SOURCE = Path(_tables.__file__).resolve().parents[1]

MONEY = "billing/_sql.py"
OWNERS = {
    "accounts": MONEY,
    "ledger": MONEY,
    "reservations": MONEY,
    "leases": MONEY,
    "usage_daily": MONEY,
    "rate_seq": MONEY,
    "rate_log": MONEY,
    "instances": MONEY,
    "idempotency": MONEY,
    "api_keys": "storage/_sql.py",
    "request_log": "storage/_requests.py",
    "stored_responses": "storage/_sql.py",
    "meta": "storage/_sql.py",
    "x402_payments": "storage/_payments.py",
    "x402_offers": "storage/_payments.py",
    "x402_receipts": "storage/_payments.py",
    "x402_leases": "storage/_payments.py",
    "memories": "storage/_memories.py",
    "admin_audit": "admin/_audit.py",
}


def _modules() -> list[Path]:
    return [
        path
        for path in sorted(SOURCE.rglob("*.py"))
        if "migrations" not in path.parts and path.name != "_tables.py"
    ]


def _uses(text: str, table: str) -> bool:
    """Whether ``text`` has a statement on ``table``: raw SQL naming it after a keyword
    that reads or writes rows, or SQLAlchemy built on its ``Table`` (imported from
    ``_tables``, then used as ``table.c.…`` or passed to ``insert``/``update``/...)."""
    raw = re.search(rf"\b(FROM|INTO|UPDATE|JOIN|TABLE)\s+{table}\b", text)
    core = re.search(
        rf"(\b{table}\.c\.|\b(insert|update|delete|select)\({table}\b|\b{table}\.delete\()",
        text,
    )
    return bool(raw or core)


def test_every_table_is_listed() -> None:
    """The ownership map covers every table of the schema."""
    assert set(OWNERS) == set(_tables.metadata.tables)


@pytest.mark.parametrize("table", sorted(OWNERS))
def test_one_module_has_the_tables_sql(table: str) -> None:
    """Only the table's owner module has SQL on it."""
    users = {str(path.relative_to(SOURCE)) for path in _modules() if _uses(path.read_text(), table)}
    assert users == {OWNERS[table]}
