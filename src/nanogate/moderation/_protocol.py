"""The moderator plug point: something that classifies inputs for safety.

A moderation request is one or more *inputs*; each input is a sequence of
:class:`Part` (text, an image, or a kind no moderator reads, such as audio) and
gets one :class:`Verdict`, in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from nanogate.routing import Model


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of an input: ``kind`` is ``"text"``, ``"image"`` or another kind
    (``"audio"``, ``"file"``, ``"video"``...) that moderators may not read."""

    kind: str
    text: str = ""
    url: str = ""
    """An image's URL (``https:`` or ``data:``)."""
    tokens: int = 0
    """The part's size by the gateway's tokenizer."""


Input = tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class ModerationCall:
    """One moderation request bound for a moderator."""

    inputs: tuple[Input, ...]
    model: Model
    request_id: str
    """The gateway's request id, sent upstream for correlating logs."""

    @property
    def tokens(self) -> int:
        return sum(part.tokens for parts in self.inputs for part in parts)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One input's classification, in OpenAI's moderation shape."""

    flagged: bool
    categories: Mapping[str, bool]
    category_scores: Mapping[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "categories": dict(self.categories),
            "category_scores": dict(self.category_scores),
        }


@dataclass(frozen=True, slots=True)
class ModerationResult:
    """A verdict per input, in order, and the usage to bill (``None``: the
    moderator reported none, so the gateway's estimate is billed)."""

    verdicts: tuple[Verdict, ...]
    usage: Mapping[str, Any] | None = None


class Moderator(Protocol):
    """Something that classifies inputs. Failures are raised as catalogue errors
    (:mod:`nanogate.errors`), never as transport exceptions."""

    name: str
    kinds: frozenset[str]
    """The part kinds it can read; any other kind is ``unsupported_moderation_input``."""

    async def moderate(self, call: ModerationCall) -> ModerationResult:
        """One verdict per input, in order."""

    async def close(self) -> None:
        """Release connections; called once at shutdown."""
