"""The local embedding model: hashed features, unit vectors, meaningful similarity."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

from nanogate.providers.local._embed import embed_text, embed_tokens


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two unit vectors."""
    return sum(x * y for x, y in zip(a, b, strict=True))


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


@pytest.mark.parametrize("dimensions", [1, 8, 256, 1536])
def test_text_vector_has_dimensions_and_unit_norm(dimensions: int) -> None:
    """A text embeds to a vector of the requested length with L2 norm 1."""
    vector = embed_text("Hello, world!", dimensions)
    assert len(vector) == dimensions
    assert norm(vector) == pytest.approx(1.0)


@pytest.mark.parametrize("text", ["", "   ", "?!.,"])
def test_text_without_words_is_zero(text: str) -> None:
    """Input with no words stays the all-zero vector instead of dividing by zero."""
    assert embed_text(text, 16) == [0.0] * 16


def test_similar_texts_score_higher() -> None:
    """Texts sharing words and word pieces are closer than unrelated texts."""
    base = embed_text("The cat sat on the mat.", 256)
    similar = embed_text("A cat was sitting on the mat", 256)
    unrelated = embed_text("Quarterly revenue exceeded analyst forecasts", 256)
    assert cosine(base, similar) > cosine(base, unrelated) + 0.2


def test_trigrams_relate_word_forms() -> None:
    """Inflected forms of a word share trigrams and so score above unrelated words."""
    run = embed_text("running", 512)
    assert cosine(run, embed_text("runner", 512)) > cosine(run, embed_text("telescope", 512))


def test_case_is_ignored() -> None:
    """Words are lowercased before hashing."""
    assert embed_text("Hello World", 64) == embed_text("hello world", 64)


def test_identical_texts_are_identical() -> None:
    """The same text always gives the same vector (cosine 1)."""
    first = embed_text("deterministic embeddings", 128)
    assert first == embed_text("deterministic embeddings", 128)
    assert cosine(first, first) == pytest.approx(1.0)


def test_deterministic_across_processes() -> None:
    """Hashing does not depend on the per-process hash seed."""
    script = (
        "from nanogate.providers.local._embed import embed_text, embed_tokens;"
        "print(repr(embed_text('seeded hashing check', 32) + embed_tokens([1, 2, 3], 8)))"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        outputs.add(result.stdout)
    expected = repr(embed_text("seeded hashing check", 32) + embed_tokens([1, 2, 3], 8))
    assert outputs == {expected + "\n"}


def test_token_vector_has_dimensions_and_unit_norm() -> None:
    """Token ids embed to a unit vector of the requested length."""
    vector = embed_tokens([101, 2023, 2003, 102], 64)
    assert len(vector) == 64
    assert norm(vector) == pytest.approx(1.0)


def test_token_vectors_are_deterministic_and_distinct() -> None:
    """Equal id lists agree; different ids give different vectors."""
    assert embed_tokens([1, 2, 3], 64) == embed_tokens([1, 2, 3], 64)
    assert embed_tokens([1, 2, 3], 64) != embed_tokens([4, 5, 6], 64)


def test_empty_tokens_are_zero() -> None:
    """No token ids embed to the all-zero vector."""
    assert embed_tokens([], 8) == [0.0] * 8


@pytest.mark.parametrize("dimensions", [0, -1])
def test_dimensions_must_be_positive(dimensions: int) -> None:
    """A vector needs at least one dimension."""
    with pytest.raises(ValueError):
        embed_text("x", dimensions)
