"""The fake upstream's moderation answers, in OpenAI's ``/v1/moderations`` shape.

An input is flagged when one of its words is a flag word; a flagged input scores
0.9 for ``harassment`` and is flagged under it, every other score is tiny.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

_WORD = re.compile(r"\w+")


def texts_of(value: Any) -> list[str]:
    """One text per result: each string of a list, or the text parts of a multimodal
    list together (images are never flagged)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    if isinstance(value, list):
        parts = (
            p.get("text") or "" for p in value if isinstance(p, dict) and p.get("type") == "text"
        )
        return [" ".join(parts)]
    return [""]


def _result(text: str, flag_words: frozenset[str]) -> dict[str, Any]:
    flagged = bool(flag_words.intersection(w.lower() for w in _WORD.findall(text)))
    categories = {name: flagged and name == "harassment" for name in CATEGORIES}
    scores = {name: 0.9 if categories[name] else 0.0001 for name in CATEGORIES}
    return {"flagged": flagged, "categories": categories, "category_scores": scores}


def moderation(model: str, texts: Iterable[str], flag_words: Iterable[str], empty: bool) -> bytes:
    """``{"id", "model", "results"}``; ``empty`` answers no results at all."""
    words = frozenset(word.lower() for word in flag_words)
    results = [] if empty else [_result(text, words) for text in texts]
    return orjson.dumps({"id": "modr-fake", "model": model, "results": results})
