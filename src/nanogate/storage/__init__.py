"""Storage: accounts, API keys, the request log and stored responses."""

from nanogate.storage._fast import (
    Driver,
    PostgresDriver,
    Query,
    Result,
    Script,
    SQLiteDriver,
    driver_for,
)
from nanogate.storage._payments import (
    NewPayment,
    PaymentStore,
    StoredOffer,
    StoredPayment,
    StoredReceipt,
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
from nanogate.storage._sql import SQLStore, async_url

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
