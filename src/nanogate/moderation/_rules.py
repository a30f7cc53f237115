"""The built-in rule moderator: categories of words and patterns, scored offline.

A category's score is ``1 - (1 - score) ** matches``: its configured score for
one match, rising towards 1 with each further match, and 0 with none. A category
is flagged when its score reaches the threshold; an input is flagged when any of
its categories is. Matching ignores case; words match whole. The scoring is a
pure function; :class:`RuleModerator` is its async shell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nanogate.config import ModerationSettings
from nanogate.moderation._protocol import Input, ModerationCall, ModerationResult, Verdict

if TYPE_CHECKING:
    from nanogate.moderation._protocol import Moderator


@dataclass(frozen=True, slots=True)
class Rule:
    """A category's compiled rules."""

    category: str
    patterns: tuple[re.Pattern[str], ...]
    score: float

    def matches(self, texts: Iterable[str]) -> int:
        return sum(len(p.findall(text)) for text in texts for p in self.patterns)


def compile_rules(settings: ModerationSettings) -> tuple[Rule, ...]:
    """Each configured category's words and patterns, compiled once."""
    rules = []
    for category in settings.categories:
        patterns = [re.compile(p, re.IGNORECASE) for p in category.patterns]
        if category.words:
            words = "|".join(re.escape(w.strip()) for w in category.words)
            patterns.append(re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE))
        rules.append(Rule(category.name, tuple(patterns), category.score))
    return tuple(rules)


def judge(rules: tuple[Rule, ...], threshold: float, parts: Input) -> Verdict:
    """One input's verdict under ``rules``."""
    texts = [part.text for part in parts if part.kind == "text"]
    scores = {}
    for rule in rules:
        matches = rule.matches(texts)
        scores[rule.category] = round(1 - (1 - rule.score) ** matches, 6) if matches else 0.0
    categories = {name: score >= threshold for name, score in scores.items()}
    return Verdict(any(categories.values()), categories, scores)


class RuleModerator:
    """A :class:`~nanogate.moderation.Moderator` that reads text only, offline."""

    kinds = frozenset({"text"})

    def __init__(self, name: str, settings: ModerationSettings) -> None:
        self.name = name
        self._rules = compile_rules(settings)
        self._threshold = settings.threshold

    async def moderate(self, call: ModerationCall) -> ModerationResult:
        """A verdict per input; usage is exact (the gateway's tokenizer is the local one)."""
        verdicts = tuple(judge(self._rules, self._threshold, parts) for parts in call.inputs)
        return ModerationResult(verdicts, {"prompt_tokens": call.tokens, "completion_tokens": 0})

    async def close(self) -> None:
        """Nothing to release."""


if TYPE_CHECKING:  # mypy proves RuleModerator satisfies the Protocol
    _conforms: type[Moderator] = RuleModerator
