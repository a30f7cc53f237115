"""What options take: amounts of dollars, counts, moments, atomic units.

Each parser turns an option's text into the value the command stores, or raises
``typer.BadParameter``: the command line then prints the option's name and the reason
and exits with status 2 (a usage error) before the command opens the database, so a
refused value changes nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import typer

from nanogate.core import usd_to_nano

MAX_USD = Decimal(1_000_000_000)
"""The largest amount an option takes: a billion dollars, 1e18 nano-dollars, well inside
the 64-bit integers the database keeps amounts in (about 9.2e18), so a balance can take
several such top-ups."""

MAX_COUNT = 2**31 - 1
"""The largest count (requests per day or second, rows) an option takes: what the
database's 32-bit integer columns hold."""

MAX_ATOMIC_DIGITS = 80
"""Atomic units of an asset are kept as text of up to 80 digits."""

_PLAIN_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]*))?|\.([0-9]+)")


def usd(value: str) -> int:
    """An amount of dollars that may be zero, as nano-dollars."""
    return _nano_dollars(value)


def positive_usd(value: str) -> int:
    """An amount of dollars above zero, as nano-dollars."""
    nano = _nano_dollars(value)
    if nano == 0:
        raise typer.BadParameter("must be more than 0")
    return nano


def _nano_dollars(value: str) -> int:
    """A plain decimal (``5``, ``0.25``, ``.5``) from 0 to ``MAX_USD`` with at most nine
    decimals; no sign, exponent, ``NaN`` or ``Infinity``."""
    text = value.strip()
    match = _PLAIN_DECIMAL.fullmatch(text)
    if match is None:
        if text.startswith("-") and _PLAIN_DECIMAL.fullmatch(text[1:]):
            raise typer.BadParameter(f"cannot be negative, got {value!r}")
        raise typer.BadParameter(f"expected dollars like 5 or 0.25, got {value!r}")
    decimals = match.group(2) or match.group(3) or ""
    if len(decimals.rstrip("0")) > 9:
        raise typer.BadParameter(f"more than nine decimals, got {value!r}")
    if Decimal(text) > MAX_USD:
        raise typer.BadParameter(f"more than the maximum, {MAX_USD} USD")
    return usd_to_nano(text)


def moment(value: str) -> datetime:
    """An ISO 8601 date or time, as an aware UTC datetime (UTC if it names no offset)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter(
            f"expected ISO 8601 like 2027-01-31T00:00:00Z, got {value!r}"
        ) from None
    except OverflowError:
        raise typer.BadParameter(f"out of range in UTC, got {value!r}") from None


def atomic_units(value: str) -> int:
    """A whole number of an asset's atomic units, above zero."""
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        raise typer.BadParameter(f"expected a whole number, got {value!r}")
    if len(text.lstrip("0")) > MAX_ATOMIC_DIGITS:
        raise typer.BadParameter(f"more than {MAX_ATOMIC_DIGITS} digits")
    units = int(text)
    if units == 0:
        raise typer.BadParameter("must be more than 0")
    return units


__all__ = [
    "MAX_ATOMIC_DIGITS",
    "MAX_COUNT",
    "MAX_USD",
    "atomic_units",
    "moment",
    "positive_usd",
    "usd",
]
