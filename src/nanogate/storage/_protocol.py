"""The storage plug point: what the gateway and the CLI need from a database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from nanogate.storage._records import (
    Account,
    Changes,
    NewKey,
    RequestRecord,
    StoredResponse,
)


class Store(Protocol):
    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""

    async def count_accounts(self) -> int: ...

    async def create_account(self, balance_nusd: int = 0, name: str | None = None) -> Account: ...

    async def get_account(self, account_id: str) -> Account | None: ...

    async def topup(self, account_id: str, amount_nusd: int) -> Account | None: ...

    async def create_key(
        self,
        account_id: str,
        *,
        name: str | None = None,
        models: Sequence[str] | None = None,
        daily_requests: int | None = None,
        daily_usd_nusd: int | None = None,
        rps: int | None = None,
        expires_at: datetime | None = None,
    ) -> NewKey: ...

    async def revoke_key(self, key_id: str) -> bool:
        """Revoke a key; ``False`` if there is no such key."""

    async def changes_since(self, seq: int) -> Changes:
        """Keys changed after ``seq`` (every key for ``seq < 0``)."""

    async def insert_requests(self, records: Sequence[RequestRecord]) -> None: ...

    async def get_request(self, request_id: str) -> RequestRecord | None: ...

    async def save_response(
        self, response_id: str, key_id: str, body: dict[str, Any], context: list[dict[str, Any]]
    ) -> None: ...

    async def get_response(self, response_id: str, key_id: str) -> StoredResponse | None: ...

    async def delete_response(self, response_id: str, key_id: str) -> bool: ...
