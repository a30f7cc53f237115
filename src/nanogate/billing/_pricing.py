"""Prices: what a request may cost at most, and what it did cost. Pure arithmetic.

Amounts are integer nano-dollars, rounded up per direction (input, output).
"""

from __future__ import annotations

from collections.abc import Mapping
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


def maximum_cost(model: Model, prompt_tokens: int, max_tokens: int | None) -> int:
    """What a request may cost at most: its prompt estimate plus the whole output it may
    produce (``max_tokens``, or the model's output cap when the request sets none)."""
    return cost(model, prompt_tokens, model.max_output_tokens if max_tokens is None else max_tokens)


def usage_tokens(usage: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """``(input, output)`` tokens of an OpenAI or Anthropic usage object, if it has them."""
    if not usage:
        return None
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return prompt, completion
