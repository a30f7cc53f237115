"""Prices and time windows of the money path: pure arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from nanogate.billing import (
    bill,
    cost,
    day_of,
    maximum_cost,
    output_allowance,
    second_of,
    seconds_until_midnight,
    usage_tokens,
)
from nanogate.billing._calendar import micros
from nanogate.routing import Model
from nanogate.storage._fast import _positional


def model(input_price: str = "0.15", output_price: str = "0.60", cap: int = 100) -> Model:
    return Model(
        id="m",
        type="chat",
        provider="p",
        upstream_model="m",
        name="m",
        description="",
        owned_by="",
        input_usd_per_mtok=Decimal(input_price),
        output_usd_per_mtok=Decimal(output_price),
        context_window=1000,
        max_output_tokens=cap,
        dimensions=8,
        capabilities=frozenset(),
        fallbacks=(),
    )


def test_cost_is_exact_and_rounds_up_per_direction() -> None:
    """$0.15 and $0.60 per million tokens: 7 in, 3 out cost 1,050 + 1,800 nano-dollars;
    sub-nano fractions round up."""
    assert cost(model(), 7, 3) == 7 * 150 + 3 * 600
    assert cost(model("0.0001", "0"), 1, 0) == 1  # 0.1 nano-dollar rounds up to 1
    assert cost(model("0", "0"), 10**6, 10**6) == 0


def test_maximum_cost_uses_max_tokens_or_the_models_cap() -> None:
    """The most a request may cost: its prompt, plus max_tokens, or the model's cap."""
    assert maximum_cost(model(), 10, 5) == cost(model(), 10, 5)
    assert maximum_cost(model(cap=100), 10, None) == cost(model(), 10, 100)


def test_maximum_cost_counts_every_choice() -> None:
    """n choices may each produce max_tokens (or the model's cap): the output part of
    the maximum cost is n times as large, the prompt part is counted once."""
    assert output_allowance(model(cap=100), 5, 3) == 15
    assert output_allowance(model(cap=100), None, 4) == 400
    assert maximum_cost(model(), 10, 5, 100) == cost(model(), 10, 500)
    assert maximum_cost(model(cap=100), 10, None, 2) == cost(model(), 10, 200)


def test_a_bill_never_exceeds_the_hold() -> None:
    """The charge is the reported cost capped at the hold; a cost beyond the hold or
    output beyond the allowance is a discrepancy; a paid-up-front run has no cap."""
    fits = bill(700, 1000, 40, 50)
    assert (fits.charge, fits.discrepancy) == (700, False)
    over_cost = bill(1200, 1000, 40, 50)
    assert (over_cost.charge, over_cost.cost, over_cost.output_over) == (1000, 1200, False)
    assert over_cost.discrepancy
    over_output = bill(900, 1000, 5000, 50)
    assert (over_output.charge, over_output.output_over, over_output.discrepancy) == (
        900,
        True,
        True,
    )
    assert bill(5000, None, 10, 50).charge == 5000


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"prompt_tokens": 3, "completion_tokens": 4}, (3, 4)),
        ({"input_tokens": 5, "output_tokens": 6}, (5, 6)),
        ({"prompt_tokens": 3}, None),
        ({"prompt_tokens": "3", "completion_tokens": 4}, None),
        (None, None),
        ({}, None),
    ],
)
def test_usage_tokens(usage, expected) -> None:
    """Token counts from OpenAI- and Anthropic-style usage, or None when incomplete."""
    assert usage_tokens(usage) == expected


def test_daily_windows_are_utc_days() -> None:
    """The day of a moment is its UTC date, whatever its offset."""
    late = datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert day_of(late) == "2026-03-02"
    assert second_of(datetime(1970, 1, 1, 0, 0, 5, 900_000, tzinfo=UTC)) == 5


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
        (datetime(1970, 1, 1, 0, 0, 1, 1, tzinfo=UTC), 1_000_001),
        (datetime(2026, 3, 1, 12, 0, 0, 999_999, tzinfo=UTC), 1_772_366_400_999_999),
        (
            datetime(2026, 3, 1, 7, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=-5))),
            1_772_366_400_999_999,
        ),
        (datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), -1_000_000),
    ],
)
def test_the_per_second_log_counts_exact_microseconds_since_the_epoch(
    moment: datetime, expected: int
) -> None:
    """The per-second log's time: whole microseconds since 1970 UTC, exact at any offset."""
    assert micros(moment) == expected


@pytest.mark.parametrize(
    ("moment", "seconds"),
    [
        (datetime(2026, 3, 1, 23, 59, 0, tzinfo=UTC), 60),
        (datetime(2026, 3, 1, 23, 59, 59, 500_000, tzinfo=UTC), 1),
        (datetime(2026, 3, 1, 23, 59, 59, 999_999, tzinfo=UTC), 1),
        (datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC), 86400),
        (datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC), 86399),
        (datetime(2026, 3, 1, 12, 0, 0, 1, tzinfo=UTC), 43200),
    ],
)
def test_seconds_until_midnight(moment: datetime, seconds: int) -> None:
    """Retry-After of a daily limit: whole seconds to the next 00:00 UTC, rounded up, at least 1."""
    assert seconds_until_midnight(moment) == seconds


def test_named_parameters_become_positional_for_postgresql() -> None:
    """``:name`` parameters turn into ``$n`` in order of first use; repeats share a number,
    and ``::`` casts are left alone."""
    sql, names = _positional("select :a, :b, :a::text where x = 'y:z'")
    assert sql == "select $1, $2, $1::text where x = 'y:z'"
    assert names == ("a", "b")
