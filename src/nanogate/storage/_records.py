"""Value objects the store hands out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str | None
    balance_nusd: int
    created_at: datetime
    reserved_nusd: int = 0
    """The part of the balance leased to gateway processes, which hold requests in
    flight against it (an idle lease is given back within seconds)."""


@dataclass(frozen=True, slots=True)
class Audit:
    """An account's stored balance beside the balance its ledger adds up to."""

    balance_nusd: int
    reserved_nusd: int
    ledger_balance_nusd: int
    ledger_reserved_nusd: int
    open_holds: int
    """Leases of gateway processes on the account, and per-request holds."""

    @property
    def consistent(self) -> bool:
        return (self.balance_nusd, self.reserved_nusd) == (
            self.ledger_balance_nusd,
            self.ledger_reserved_nusd,
        )


@dataclass(frozen=True, slots=True)
class ProviderCredential:
    """A key's own credential for one provider (BYOK), sealed with the server's secret."""

    provider: str
    sealed: str
    suffix: str
    """The credential's last four characters: all that is ever shown of it."""
    updated_at: str


@dataclass(frozen=True, slots=True)
class APIKey:
    """A stored key: never the key itself, only its hash and displayable prefix."""

    id: str
    account_id: str
    name: str | None
    key_hash: str
    key_prefix: str
    models: tuple[str, ...] | None
    daily_requests: int | None
    daily_usd_nusd: int | None
    rps: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    seq: int = 0
    byok: tuple[ProviderCredential, ...] = ()

    def allows(self, model: str) -> bool:
        return self.models is None or model in self.models

    def credential(self, provider: str) -> ProviderCredential | None:
        """The key's own credential for ``provider``, if it stored one."""
        return next((c for c in self.byok if c.provider == provider), None)


@dataclass(frozen=True, slots=True)
class NewKey:
    """What creating a key returns: the record and, this once, the key in clear."""

    record: APIKey
    key: str


@dataclass(slots=True)
class RequestRecord:
    """One line of the request log."""

    request_id: str
    created_at: datetime
    surface: str
    method: str
    path: str
    status: int = 0
    key_id: str | None = None
    account_id: str | None = None
    model: str | None = None
    code: str | None = None
    message: str | None = None
    stream: bool = False
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_nusd: int = 0
    usage_estimated: bool = False
    deployments: list[dict[str, Any]] = field(default_factory=list)
    discrepancy: dict[str, Any] | None = None
    """Reported usage that did not fit the request (recorded, not billed), if any."""
    duration_ms: float | None = None
    ttfb_ms: float | None = None
    client_ip: str | None = None
    add_ons: dict[str, int] | None = None
    """The paid add-ons an answered request was charged for (name → nano-USD), if any."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    key_id: str
    created_at: datetime
    body: dict[str, Any]
    context: list[dict[str, Any]]
    """The conversation up to and including this response, for ``previous_response_id``."""


@dataclass(frozen=True, slots=True)
class Changes:
    """Keys changed since a sequence number, and the sequence number they are current to."""

    seq: int
    keys: tuple[APIKey, ...]


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One key's use of one model on one UTC day."""

    day: str
    model: str
    requests: int
    cost_nusd: int
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class Charged:
    """What the ledger holds for one request: whose it was, when, and what it cost."""

    request_id: str
    key_id: str | None
    created_at: datetime
    cost_nusd: int


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One movement of an account's money: ``amount_nusd`` changes the balance,
    ``hold_nusd`` the part held by requests in flight."""

    id: int
    kind: str
    amount_nusd: int
    hold_nusd: int
    request_id: str | None
    key_id: str | None
    model: str | None
    created_at: datetime
    note: str | None
