"""The rails a quote can be paid on: how each settles, on which network, in which asset.

Polling rails are paid by sending funds to the quote's ``payTo`` and are completed
through ``statusUrl`` and ``completeUrl``; exact rails are paid by replaying the
original request with an ``X-PAYMENT`` (the x402 ``exact`` scheme).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nanogate.x402._amounts import USD, USDC, XNO, Asset

USDC_BASE = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
"""USD Coin's contract on Base."""
USDC_SOLANA = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
"""USD Coin's mint on Solana."""


SIGNED = frozenset({"exact", "upto"})
"""Protocol schemes paid by replaying the request with a signed payment (x402)."""

UPTO_PROXY = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002"
"""x402's ``upto`` Permit2 proxy on EVM chains: the spender a payer's permit names."""


@dataclass(frozen=True, slots=True)
class Rail:
    """What is fixed about a rail; where the money goes is the operator's to configure."""

    name: str
    protocol_scheme: str
    network: str
    asset: Asset
    asset_address: str | None = None
    """The token's contract or mint, for token rails (the operator may change it)."""
    extra: Mapping[str, str] = field(default_factory=dict)
    """Fields every offer of the rail carries (an EIP-712 domain for USDC...)."""
    default_usd_per_unit: str | None = None

    @property
    def polling(self) -> bool:
        return self.protocol_scheme not in SIGNED

    @property
    def metered(self) -> bool:
        """Whether a payment authorises a maximum and the real cost is settled after the
        run (x402's ``upto`` scheme), rather than the quote before it."""
        return self.protocol_scheme == "upto"


RAILS: Mapping[str, Rail] = {
    "nano": Rail("nano", "nano", "nano-mainnet", XNO),
    "base-usdc": Rail("base-usdc", "base-usdc", "base", USDC, USDC_BASE, default_usd_per_unit="1"),
    "dev": Rail("dev", "dev", "dev", USD, default_usd_per_unit="1"),
    "nano-exact": Rail("nano-exact", "exact", "nano-mainnet", XNO),
    "x402-exact": Rail(
        "x402-exact",
        "exact",
        "base",
        USDC,
        USDC_BASE,
        {"name": "USD Coin", "version": "2"},
        default_usd_per_unit="1",
    ),
    "x402-solana-usdc": Rail(
        "x402-solana-usdc", "exact", "solana", USDC, USDC_SOLANA, default_usd_per_unit="1"
    ),
    "x402-upto": Rail(
        "x402-upto",
        "upto",
        "base",
        USDC,
        USDC_BASE,
        {"name": "USD Coin", "version": "2", "assetTransferMethod": "permit2"},
        default_usd_per_unit="1",
    ),
}
"""Every rail nanogate speaks, by name."""

DEV_PAY_TO = "dev:nanogate"
"""The dev rail's ``payTo``: nothing is sent there; the CLI marks payments paid."""
