"""Exact money: nano-dollar integers, plain dollar strings, and costs rounded up."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from nanogate.core._money import (
    NANO_PER_USD,
    format_usd,
    nano_to_usd,
    token_cost_nano,
    usd_to_nano,
)


@pytest.mark.parametrize(
    ("usd", "nano"),
    [
        ("1", 1_000_000_000),
        ("5.00", 5_000_000_000),
        ("0.000000001", 1),
        ("1e-9", 1),
        ("0.0035", 3_500_000),
        ("-2.5", -2_500_000_000),
        (" 3 ", 3_000_000_000),
        ("123456789.123456789", 123_456_789_123_456_789),
        (7, 7_000_000_000),
        (0, 0),
        (Decimal("0.1"), 100_000_000),
        (Decimal("0.15"), 150_000_000),
    ],
)
def test_usd_to_nano_is_exact(usd: Any, nano: int) -> None:
    """Dollar amounts with up to nine decimals convert exactly."""
    result = usd_to_nano(usd)
    assert result == nano
    assert type(result) is int


def test_nano_per_usd() -> None:
    """A nano-dollar is 1e-9 dollars."""
    assert NANO_PER_USD == 10**9


@pytest.mark.parametrize("usd", ["0.0000000001", "1.0000000005", Decimal("1e-10")])
def test_usd_to_nano_refuses_sub_nano_amounts(usd: Any) -> None:
    """An amount finer than a nano-dollar is refused, never rounded."""
    with pytest.raises(ValueError, match="nano-dollars"):
        usd_to_nano(usd)


@pytest.mark.parametrize("usd", ["abc", "", "1,5", "$5", "sNaN", "NaN", "Infinity", "-inf"])
def test_usd_to_nano_refuses_non_numbers(usd: str) -> None:
    """Text that is not a finite number of dollars is a ValueError."""
    with pytest.raises(ValueError):
        usd_to_nano(usd)


def test_usd_to_nano_refuses_none() -> None:
    """None is not an amount."""
    with pytest.raises(TypeError):
        usd_to_nano(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("usd", [True, 0.5], ids=["bool", "float"])
def test_usd_to_nano_refuses_booleans_and_floats(usd: Any) -> None:
    """Booleans and floats are refused: amounts are exact, never floats."""
    with pytest.raises((TypeError, ValueError)):
        usd_to_nano(usd)


def test_nano_to_usd_is_exact() -> None:
    """Nano-dollars convert back to an exact Decimal."""
    assert nano_to_usd(3_500_000) == Decimal("0.0035")
    assert nano_to_usd(1) == Decimal("0.000000001")
    assert usd_to_nano(nano_to_usd(123_456_789_123)) == 123_456_789_123


@pytest.mark.parametrize(
    ("nano", "places", "text"),
    [
        (5_000_000_000, 2, "5.00"),
        (0, 2, "0.00"),
        (1, 2, "0.000000001"),
        (1_234_000_000, 2, "1.234"),
        (1_500_000_000, 2, "1.50"),
        (-1_500_000_000, 2, "-1.50"),
        (123_456_789, 4, "0.123456789"),
        (100_000_000, 4, "0.1000"),
        (5_000_000_000, 0, "5"),
        (150_000, 0, "0.00015"),
        (0, 0, "0"),
        (10**18, 2, "1000000000.00"),
    ],
)
def test_format_usd(nano: int, places: int, text: str) -> None:
    """Dollars print as plain decimals (never exponents) with at least `places` decimals."""
    assert format_usd(nano, places) == text


def test_format_usd_defaults_to_cents() -> None:
    """Without places, at least two decimals are shown."""
    assert format_usd(5_000_000_000) == "5.00"


@pytest.mark.parametrize(
    ("tokens", "price", "nano"),
    [
        (1_000_000, "0.15", 150_000_000),
        (1000, "0.15", 150_000),
        (1, "0.15", 150),
        (1, "0.0001", 1),
        (3, "0.3333", 1000),
        (7, "0.001", 7),
        (1, "0.0005", 1),
        (0, "5", 0),
        (10, "0", 0),
    ],
)
def test_token_cost_nano(tokens: int, price: str, nano: int) -> None:
    """Cost is tokens x dollars per million tokens, in nano-dollars, rounded up."""
    assert token_cost_nano(tokens, Decimal(price)) == nano


def test_token_cost_never_rounds_down() -> None:
    """Any non-zero fraction of a nano-dollar costs a whole one."""
    assert token_cost_nano(1, Decimal("0.000001")) == 1
    assert token_cost_nano(1001, Decimal("0.001")) == 1001
