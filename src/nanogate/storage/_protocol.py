"""The storage plug point: what the gateway and the CLI need from a database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from nanogate.storage._fast import Driver
from nanogate.storage._pages import Page
from nanogate.storage._records import (
    APIKey,
    Changes,
    NewKey,
    ProviderCredential,
    RequestRecord,
    StoredResponse,
    UsageRow,
)

if TYPE_CHECKING:
    from nanogate.storage._payments import PaymentStore


class Store(Protocol):
    """What the gateway and the command line need from a database.

    Money is in integer nano-dollars; timestamps are aware UTC datetimes.
    """

    fast: Driver
    """The fast path to the same database, for the money path and the request log."""
    payments: PaymentStore
    """Accountless x402 payments."""

    async def close(self) -> None:
        """Release every connection."""

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""

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
    ) -> NewKey:
        """A new key for ``account_id``: the record, and the key in clear this once."""

    async def revoke_key(self, key_id: str) -> bool:
        """Revoke a key; ``False`` if there is no such key."""

    async def get_key(self, key_id: str) -> APIKey | None:
        """A key by id (revoked and expired keys included)."""

    async def list_keys(
        self, account_id: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[APIKey]:
        """A page of keys newest first (of ``account_id`` if given)."""

    async def set_provider_credential(
        self, key_id: str, credential: ProviderCredential | None, provider: str
    ) -> bool:
        """Store the key's own credential for ``provider``, or remove it (``None``);
        ``False`` if there is no such key. Running gateways see it within a refresh."""

    async def changes_since(self, seq: int) -> Changes:
        """Keys changed after ``seq`` (every key for ``seq < 0``)."""

    async def insert_requests(self, records: Sequence[RequestRecord]) -> None:
        """Write request-log records; raise only when the database cannot be reached."""

    async def usage(self, key_id: str, first_day: str, last_day: str) -> list[UsageRow]:
        """A key's successful requests per UTC day and model, both days included."""

    async def get_request(self, request_id: str) -> RequestRecord | None:
        """A request-log record by request id, or ``None``."""

    async def list_requests(
        self, filters: dict[str, object], limit: int = 50, cursor: str | None = None
    ) -> Page[RequestRecord]:
        """A page of the request log newest first, matching ``filters``."""

    async def save_response(
        self, response_id: str, key_id: str, body: dict[str, Any], context: list[dict[str, Any]]
    ) -> None:
        """Store a Responses API response and the conversation that led to it."""

    async def get_response(self, response_id: str, key_id: str) -> StoredResponse | None:
        """A stored response of ``key_id``, or ``None``."""

    async def delete_response(self, response_id: str, key_id: str) -> bool:
        """Delete a stored response of ``key_id``; ``False`` if there was none."""
