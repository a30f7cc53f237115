"""The ``[moderation]`` section: the default moderation model and the built-in rules.

The rules are what moderation models on a ``local`` provider apply: categories,
each with words (matched whole, case-insensitively) and regular expressions
(case-insensitive). Moderation models on an ``openai`` provider ignore them.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModerationCategory(_Section):
    """One category of the rule moderator, e.g. ``violence``."""

    name: str = Field(min_length=1)
    words: tuple[str, ...] = ()
    """Words or phrases matched whole (at word boundaries), ignoring case."""
    patterns: tuple[str, ...] = ()
    """Regular expressions (Python syntax), matched ignoring case."""
    score: float = Field(0.9, gt=0, le=1)
    """The category's score when one rule matches; each further match raises it
    towards 1 (``1 - (1 - score) ** matches``)."""

    @field_validator("words")
    @classmethod
    def _no_blank_words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not word.strip() for word in value):
            raise ValueError("words cannot be blank")
        return value

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern {pattern!r} is not a valid regular expression: {exc}"
                ) from exc
        return value

    @model_validator(mode="after")
    def _has_rules(self) -> ModerationCategory:
        if not self.words and not self.patterns:
            raise ValueError(f"category {self.name!r} needs at least one word or pattern")
        return self


class ModerationSettings(_Section):
    default_model: str = ""
    """The model ``moderation: true`` and a ``/moderations`` request without ``model``
    use; empty means the first moderation model in ``[[models]]``."""
    threshold: float = Field(0.5, gt=0, le=1)
    """The rule moderator flags a category whose score reaches this."""
    categories: tuple[ModerationCategory, ...] = ()

    @field_validator("categories")
    @classmethod
    def _unique_names(cls, value: tuple[ModerationCategory, ...]) -> tuple[ModerationCategory, ...]:
        names = [category.name for category in value]
        if len(set(names)) != len(names):
            raise ValueError("moderation category names must be unique")
        return value
