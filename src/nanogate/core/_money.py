"""Exact money: amounts are integers of nano-dollars (1e-9 USD), never floats.

A price per million tokens in dollars is a price per token in thousandths of a
nano-dollar, so any price with up to three decimals per million tokens gives
an exact per-token integer. Costs are rounded up to the next nano-dollar.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

NANO_PER_USD = 1_000_000_000


def usd_to_nano(usd: Decimal | str | int) -> int:
    """``usd`` dollars as nano-dollars; raises ``ValueError`` if not exact to 1e-9.

    Floats and booleans are refused: a float is already inexact, a boolean is no amount.
    """
    if isinstance(usd, bool | float):
        raise ValueError(f"amounts must be Decimal, str or int, not {type(usd).__name__}")
    try:
        amount = Decimal(usd) * NANO_PER_USD
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of dollars: {usd!r}") from exc
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise ValueError(f"amount {usd!r} is not a whole number of nano-dollars")
    return int(amount)


def nano_to_usd(nano: int) -> Decimal:
    """Nano-dollars as an exact ``Decimal`` of dollars."""
    return Decimal(nano).scaleb(-9)


def format_usd(nano: int, places: int = 2) -> str:
    """Dollars as a plain decimal string with at least ``places`` decimals, e.g. ``"5.00"``."""
    whole, part = divmod(abs(nano), NANO_PER_USD)
    frac = f"{part:09d}".rstrip("0").ljust(places, "0") if part else "0" * places
    sign = "-" if nano < 0 else ""
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


@lru_cache(maxsize=1024)
def _nano_per_token(usd_per_mtok: Decimal) -> tuple[int, int]:
    """A price per million tokens as an exact fraction of nano-dollars per token."""
    numerator, denominator = usd_per_mtok.as_integer_ratio()
    return numerator * 1000, denominator


def token_cost_nano(tokens: int, usd_per_mtok: Decimal) -> int:
    """The cost of ``tokens`` at ``usd_per_mtok`` dollars per million, rounded up."""
    numerator, denominator = _nano_per_token(usd_per_mtok)
    return -(-tokens * numerator // denominator)
