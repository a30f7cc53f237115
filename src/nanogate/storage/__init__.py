"""Storage: accounts, API keys, the request log and stored responses.

The SQLAlchemy store (``SQLStore``, ``async_url``) and the x402 payment store
(``PaymentStore`` and its records) load SQLAlchemy when first used, so what needs
only the fast driver and the records (the money path, the account book, a read-only
command) never imports it."""

from typing import TYPE_CHECKING

from nanogate._lazy import lazy_exports as _lazy_exports
from nanogate.storage._fast import (
    Driver,
    PostgresDriver,
    Query,
    Result,
    Script,
    SQLiteDriver,
    driver_for,
)
from nanogate.storage._protocol import Store
from nanogate.storage._records import (
    Account,
    APIKey,
    Audit,
    Changes,
    Charged,
    LedgerEntry,
    NewKey,
    ProviderCredential,
    RequestRecord,
    StoredResponse,
    UsageRow,
)

if TYPE_CHECKING:
    from nanogate.storage._payments import (
        NewPayment,
        PaymentStore,
        StoredOffer,
        StoredPayment,
        StoredReceipt,
    )
    from nanogate.storage._sql import SQLStore, async_url

_LAZY = {
    "NewPayment": ("_payments", "NewPayment"),
    "PaymentStore": ("_payments", "PaymentStore"),
    "StoredOffer": ("_payments", "StoredOffer"),
    "StoredPayment": ("_payments", "StoredPayment"),
    "StoredReceipt": ("_payments", "StoredReceipt"),
    "SQLStore": ("_sql", "SQLStore"),
    "async_url": ("_sql", "async_url"),
}

__getattr__ = _lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "APIKey",
    "Account",
    "Audit",
    "Changes",
    "Charged",
    "Driver",
    "LedgerEntry",
    "NewKey",
    "NewPayment",
    "PaymentStore",
    "PostgresDriver",
    "ProviderCredential",
    "Query",
    "RequestRecord",
    "Result",
    "SQLStore",
    "SQLiteDriver",
    "Script",
    "Store",
    "StoredOffer",
    "StoredPayment",
    "StoredReceipt",
    "StoredResponse",
    "UsageRow",
    "async_url",
    "driver_for",
]
