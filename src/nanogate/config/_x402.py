"""The ``[x402]`` section: accountless pay-per-request access and its payment rails.

Each rail has its own table (``[x402.nano]``, ``[x402."x402-exact"]``...); only the
rails listed in ``rails`` are offered. Polling rails (``nano``, ``base-usdc``) watch a
node for funds sent to a pool of addresses, one address per open payment; exact rails
(``nano-exact``, ``x402-exact``, ``x402-solana-usdc``) verify and settle an
``X-PAYMENT`` through an x402 facilitator; ``dev`` is marked paid from the CLI.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

POLLING_RAILS = ("nano", "base-usdc", "dev")
EXACT_RAILS = ("nano-exact", "x402-exact", "x402-solana-usdc", "x402-upto")
"""Rails paid by replaying the request with a signed payment (``exact``, and ``upto``)."""
X402_RAILS = frozenset(POLLING_RAILS + EXACT_RAILS)

_EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

DEFAULT_ENDPOINTS = (
    "POST /api/v1/chat/completions",
    "POST /api/v1/messages",
    "POST /api/v1/embeddings",
    "POST /api/talk-to-gpt",
)
"""Endpoints that quote accountless requests unless ``endpoints`` says otherwise."""

QUOTABLE_ENDPOINTS = frozenset(DEFAULT_ENDPOINTS)
"""Every endpoint that can be paid for per request (the priced inference routes that
need no stored state of an account)."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class RailSettings(_Section):
    """One rail's peer, where the money goes, and the asset's price."""

    pay_to: tuple[str, ...] = ()
    """Polling rails: the pool of receiving addresses, one per open payment. Exact rails:
    one address (the treasury)."""
    usd_per_unit: Decimal | None = Field(None, gt=0)
    """The price source: dollars per whole unit of the rail's asset (``1`` for USDC and
    the dev rail by default; required for Nano)."""
    node_url: str = ""
    """Polling rails: the Nano node's RPC or the EVM JSON-RPC endpoint."""
    facilitator_url: str = ""
    """Exact rails: the x402 facilitator (``POST /verify``, ``POST /settle``)."""
    network: str = ""
    """The network named in quotes; each rail has a default."""
    asset: str = ""
    """The token contract (EVM) or mint (Solana); each token rail has a default."""
    confirmations: int = Field(2, ge=1)
    """EVM: blocks (counting the one holding the transfer) before a transfer counts."""
    lookback_blocks: int = Field(3600, ge=1)
    """EVM: how far back from the chain's head transfers are looked for."""
    fee_payer: str = ""
    """``x402-solana-usdc``: the facilitator's fee payer, shown as ``feePayer``."""
    facilitator_address: str = ""
    """``x402-upto``: the facilitator's address, which a payer's permit names as the one
    allowed to settle it (``extra.facilitatorAddress``)."""
    extra: dict[str, str] = Field(default_factory=dict)
    """Exact rails: more fields for the requirements' ``extra`` (an EIP-712 domain's
    ``name`` and ``version``...)."""
    timeout_s: float = Field(10.0, gt=0)

    @field_validator("pay_to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


class X402Settings(_Section):
    enabled: bool = False
    rails: tuple[str, ...] = ()
    """The rails offered, in the order quotes list them."""
    endpoints: tuple[str, ...] = DEFAULT_ENDPOINTS
    """``"METHOD /path"`` of each endpoint that quotes accountless requests."""
    require_opt_in: bool = False
    """Accountless requests must send ``x-x402: true``; without it they get 401
    ``missing_api_key``, as if x402 were off."""
    quote_ttl_s: int = Field(900, ge=10, le=86400)
    """How long a quote can be paid."""
    public_url: str = ""
    """The gateway's public base URL for ``statusUrl``, ``completeUrl`` and ``resource``
    (``https://gateway.example``); by default, the scheme and ``Host`` of the request."""
    min_usd: Decimal = Field(Decimal("0.0001"), ge=0)
    """The smallest amount quoted, whatever the request's price."""
    address_quarantine_s: int = Field(3600, ge=0)
    """Polling rails: how long after a payment's expiry its address stays out of the
    pool, so a late payment is never credited to the next payer."""
    max_runs: int = Field(3, ge=1)
    """A paid request whose run fails may be completed again, up to this many runs in
    all; then the payment is ``failed`` (the operator refunds by hand)."""
    nano: RailSettings = RailSettings()
    nano_exact: RailSettings = Field(RailSettings(), alias="nano-exact")
    base_usdc: RailSettings = Field(RailSettings(), alias="base-usdc")
    x402_exact: RailSettings = Field(RailSettings(), alias="x402-exact")
    x402_solana_usdc: RailSettings = Field(RailSettings(), alias="x402-solana-usdc")
    x402_upto: RailSettings = Field(RailSettings(), alias="x402-upto")
    dev: RailSettings = RailSettings()

    @field_validator("rails")
    @classmethod
    def _known_rails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - X402_RAILS)
        if unknown:
            raise ValueError(f"unknown x402 rails {unknown}; known: {sorted(X402_RAILS)}")
        if len(set(value)) != len(value):
            raise ValueError("x402 rails must not repeat")
        return value

    @field_validator("min_usd")
    @classmethod
    def _whole_nano_dollars(cls, value: Decimal) -> Decimal:
        if value != value.quantize(Decimal("0.000000001")):
            raise ValueError("min_usd has more than nine decimals (nano-dollars)")
        return value

    @field_validator("endpoints")
    @classmethod
    def _quotable(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - QUOTABLE_ENDPOINTS)
        if unknown:
            raise ValueError(f"x402 cannot quote {unknown}; quotable: {sorted(QUOTABLE_ENDPOINTS)}")
        return value

    def rail(self, name: str) -> RailSettings:
        """The settings of rail ``name``."""
        settings: RailSettings = getattr(self, name.replace("-", "_"))
        return settings

    @model_validator(mode="after")
    def _rails_configured(self) -> X402Settings:
        if not self.enabled:
            return self
        if not self.rails:
            raise ValueError("x402 is enabled but lists no rails")
        for name in self.rails:
            rail = self.rail(name)
            where = f'[x402."{name}"]'
            if name != "dev" and not rail.pay_to:
                raise ValueError(f"{where} needs pay_to")
            if name in ("nano", "nano-exact") and rail.usd_per_unit is None:
                raise ValueError(f"{where} needs usd_per_unit (dollars per XNO)")
            if name in ("nano", "base-usdc") and not rail.node_url:
                raise ValueError(f"{where} needs node_url")
            if len(set(rail.pay_to)) != len(rail.pay_to):
                raise ValueError(f"{where}: pay_to lists an address twice")
            if name == "base-usdc":
                for address in (*rail.pay_to, *([rail.asset] if rail.asset else [])):
                    if not _EVM_ADDRESS.fullmatch(address):
                        raise ValueError(
                            f"{where}: {address!r} is not an EVM address (0x + 40 hex)"
                        )
            if name == "x402-upto" and not _EVM_ADDRESS.fullmatch(rail.facilitator_address):
                raise ValueError(f"{where} needs facilitator_address (an EVM address)")
            if name in EXACT_RAILS:
                if not rail.facilitator_url:
                    raise ValueError(f"{where} needs facilitator_url")
                if len(rail.pay_to) != 1:
                    raise ValueError(f"{where}: an exact rail pays one address (pay_to)")
        return self
