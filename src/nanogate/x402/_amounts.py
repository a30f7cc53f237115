"""Amounts in each payment asset's atomic unit, from US dollars, without floats.

A quote's price is exact (``Decimal`` dollars); each rail asks for an integer number of
its asset's smallest unit (raw for Nano: 10^30 per XNO; micro-USDC: 10^6 per USDC),
converted at a configured price and rounded up, so a payment of the quoted amount never
falls short of the price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext


@dataclass(frozen=True, slots=True)
class Asset:
    """A payment asset: its symbol, its decimals, and how many decimals people read."""

    symbol: str
    decimals: int
    shown_decimals: int

    def atomic(self, usd: Decimal, usd_per_unit: Decimal) -> int:
        """``usd`` dollars in atomic units at ``usd_per_unit`` dollars per whole unit,
        rounded up."""
        if usd < 0 or usd_per_unit <= 0:
            raise ValueError("amounts are non-negative and prices positive")
        with localcontext() as ctx:
            ctx.prec = 80  # 10^30 raw per XNO needs more than the default 28 digits
            scaled = usd / usd_per_unit * (Decimal(10) ** self.decimals)
            return int(scaled.to_integral_value(rounding=ROUND_CEILING))

    def formatted(self, atomic: int) -> str:
        """``atomic`` units for people: ``"0.17067988 XNO"``, ``"0.0015 USDC"`` (rounded
        up to ``shown_decimals``, trailing zeros dropped)."""
        with localcontext() as ctx:
            ctx.prec = 80
            whole = Decimal(atomic) / (Decimal(10) ** self.decimals)
            shown = whole.quantize(Decimal(1).scaleb(-self.shown_decimals), ROUND_CEILING)
        text = f"{shown:f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return f"{text} {self.symbol}"


XNO = Asset("XNO", 30, 8)
"""Nano: 1 XNO is 10^30 raw."""
USDC = Asset("USDC", 6, 6)
"""USD Coin on Base and Solana: 1 USDC is 10^6 atomic units."""
USD = Asset("USD", 6, 6)
"""The dev rail's pretend dollars: 1 USD is 10^6 atomic units."""
