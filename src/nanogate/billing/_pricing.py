"""Prices: what a request may cost at most, and what it did cost. Pure arithmetic.

Amounts are integer nano-dollars, rounded up per direction (input, output).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nanogate.core import token_cost_nano
from nanogate.routing import Model


def cost(model: Model, input_tokens: int, output_tokens: int) -> int:
    """The price of ``input_tokens`` and ``output_tokens`` at ``model``'s rates."""
    return token_cost_nano(input_tokens, model.input_usd_per_mtok) + token_cost_nano(
        output_tokens, model.output_usd_per_mtok
    )


def with_fee(amount: int, percent: Decimal) -> int:
    """``percent`` of ``amount`` nano-dollars, rounded up: what a BYOK request pays."""
    numerator, denominator = (percent / 100).as_integer_ratio()
    return -(-amount * numerator // denominator)


def output_allowance(model: Model, max_tokens: int | None, choices: int = 1) -> int:
    """The most output a request allows: ``choices`` times its ``max_tokens``, or times
    the model's output cap when the request sets none."""
    return choices * (model.max_output_tokens if max_tokens is None else max_tokens)


def maximum_cost(model: Model, prompt_tokens: int, max_tokens: int | None, choices: int = 1) -> int:
    """What a request may cost at most: its prompt estimate plus the whole output it may
    produce, in every one of its ``choices`` (``n``)."""
    return cost(model, prompt_tokens, output_allowance(model, max_tokens, choices))


@dataclass(frozen=True, slots=True)
class Bill:
    """What a settled request is charged, beside what its reported usage would cost."""

    charge: int
    """The amount billed: the reported cost, never more than the hold."""
    cost: int
    """What the reported usage costs at the model's prices."""
    output_over: bool
    """The upstream reported more output than the request allowed."""

    @property
    def discrepancy(self) -> bool:
        """Whether the reported usage does not fit the request: more output than it
        allowed, or a cost beyond what was held for it."""
        return self.output_over or self.charge < self.cost


def bill(amount: int, hold: int | None, output_tokens: int, allowed_output: int) -> Bill:
    """The charge for a reported ``amount``, capped at ``hold`` (``None``: no cap, the
    request was paid up front), and whether the usage exceeded what was allowed."""
    charge = amount if hold is None else min(amount, hold)
    return Bill(charge=charge, cost=amount, output_over=output_tokens > allowed_output)


def usage_tokens(usage: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """``(input, output)`` tokens of an OpenAI or Anthropic usage object, if it has them."""
    if not usage:
        return None
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return prompt, completion
