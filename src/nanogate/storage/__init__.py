"""Storage: accounts, API keys, the request log and stored responses."""

from nanogate.storage._protocol import Store
from nanogate.storage._records import (
    Account,
    APIKey,
    Changes,
    NewKey,
    RequestRecord,
    StoredResponse,
)
from nanogate.storage._sql import SQLStore, async_url

__all__ = [
    "APIKey",
    "Account",
    "Changes",
    "NewKey",
    "RequestRecord",
    "SQLStore",
    "Store",
    "StoredResponse",
    "async_url",
]
