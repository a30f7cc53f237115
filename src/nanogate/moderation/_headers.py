"""Inline moderation's HTTP headers, as NanoGPT names them. Pure functions.

Requests ask for it with ``moderation: true`` (the default moderation model) or
``moderation: <model id>``; ``moderation-model: <model id>`` picks the model
when ``moderation`` is also sent, and does nothing alone. Responses report the
preflight in ``X-NanoGPT-Inline-Moderation-Model``, ``-Flagged`` and ``-Cost-USD``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nanogate.core import format_usd
from nanogate.errors import ConflictingModerationModel

TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})

MODEL_HEADER = "x-nanogpt-inline-moderation-model"
FLAGGED_HEADER = "x-nanogpt-inline-moderation-flagged"
COST_HEADER = "x-nanogpt-inline-moderation-cost-usd"


@dataclass(frozen=True, slots=True)
class InlineModeration:
    """A request's ask for inline moderation; ``model`` ``None`` is the default model."""

    model: str | None


def asks(headers: Mapping[str, str]) -> bool:
    """Whether the request asks for inline moderation (``moderation-model`` alone does not)."""
    value = (headers.get("moderation") or "").strip()
    return bool(value) and value.lower() not in FALSE


def requested(headers: Mapping[str, str]) -> InlineModeration | None:
    """What the ``moderation`` and ``moderation-model`` headers ask for (``None``: no
    inline moderation); raises ``conflicting_moderation_model`` when both name models
    and they differ."""
    if not asks(headers):
        return None
    value = (headers.get("moderation") or "").strip()
    chosen = (headers.get("moderation-model") or "").strip() or None
    if value.lower() in TRUE:
        return InlineModeration(chosen)
    if chosen is not None and chosen != value:
        raise ConflictingModerationModel(
            f"The moderation header names the model '{value}' and the moderation-model "
            f"header names '{chosen}'; send one, or the same model in both."
        )
    return InlineModeration(value)


def verdict_headers(model: str, flagged: bool, cost_nusd: int) -> list[tuple[bytes, bytes]]:
    """The response headers reporting a preflight: its model, verdict and charge."""
    return [
        (MODEL_HEADER.encode(), model.encode()),
        (FLAGGED_HEADER.encode(), b"true" if flagged else b"false"),
        (COST_HEADER.encode(), format_usd(cost_nusd, 0).encode()),
    ]
