"""The local embedding model: feature hashing, deterministic across processes.

Each lowercased word adds weight 1, and each of its character trigrams weight
0.5, to one of ``dimensions`` buckets chosen by a BLAKE2b hash, with a sign
taken from another bit of the same hash; the vector is then L2-normalised.
Texts sharing words and word pieces land near each other under cosine
similarity. Token-id input hashes each id as a feature. Python's ``hash()`` is
never used: it is salted per process.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable

_WORD = re.compile(r"\w+")
_WORD_WEIGHT = 1.0
_TRIGRAM_WEIGHT = 0.5


def embed_text(text: str, dimensions: int) -> list[float]:
    """The unit vector of ``text`` (all zeros when it has no words)."""
    features: list[tuple[bytes, float]] = []
    for word in _WORD.findall(text.lower()):
        features.append((b"w:" + word.encode(), _WORD_WEIGHT))
        padded = f"<{word}>"
        features.extend(
            (b"t:" + padded[i : i + 3].encode(), _TRIGRAM_WEIGHT) for i in range(len(padded) - 2)
        )
    return _hashed(features, dimensions)


def embed_tokens(tokens: list[int], dimensions: int) -> list[float]:
    """The unit vector of a token-id sequence (all zeros when it is empty)."""
    return _hashed(((b"i:%d" % token, _WORD_WEIGHT) for token in tokens), dimensions)


def _hashed(features: Iterable[tuple[bytes, float]], dimensions: int) -> list[float]:
    if dimensions < 1:
        raise ValueError(f"dimensions must be at least 1, not {dimensions}")
    vector = [0.0] * dimensions
    for feature, weight in features:
        value = int.from_bytes(hashlib.blake2b(feature, digest_size=8).digest(), "little")
        sign = 1.0 if value & 1 else -1.0
        vector[(value >> 1) % dimensions] += sign * weight
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:
        return vector
    return [x / norm for x in vector]
