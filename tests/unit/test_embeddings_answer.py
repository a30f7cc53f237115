"""Reading an upstream's embeddings answer: vectors in input order, or a 503 when the
answer does not fit the request."""

from __future__ import annotations

import math
from typing import Any

import pytest

from nanogate.config import ModelSettings
from nanogate.errors import ServiceUnavailable
from nanogate.providers import EmbeddingCall
from nanogate.providers._embeddings import read_embeddings
from nanogate.routing import Model

MODEL = Model.from_settings(
    ModelSettings.model_validate(
        {"id": "acme/embed", "provider": "p", "type": "embedding", "dimensions": 8}
    )
)


def call(count: int = 3, dimensions: int | None = None) -> EmbeddingCall:
    inputs = [f"text {n}" for n in range(count)]
    return EmbeddingCall(
        inputs=inputs,
        input_tokens=[2] * count,
        dimensions=dimensions,
        model=MODEL,
        request_id="req_1",
        body={"model": "up", "input": inputs},
    )


def answer(*vectors: Any, indexes: list[Any] | None = None, usage: Any = None) -> dict[str, Any]:
    items = [{"object": "embedding", "embedding": vector} for vector in vectors]
    for item, index in zip(items, indexes or range(len(items)), strict=True):
        if index is not ...:
            item["index"] = index
    data: dict[str, Any] = {"object": "list", "data": items, "model": "up"}
    data["usage"] = usage if usage is not None else {"prompt_tokens": 6, "total_tokens": 6}
    return data


def test_a_fitting_answer_gives_its_vectors_and_tokens() -> None:
    """One vector per input, in order, with the upstream's prompt token count."""
    result = read_embeddings(answer([0.5, 1], [0.25, 2], [0.0, -1]), call())
    assert result.vectors == [[0.5, 1], [0.25, 2], [0.0, -1]]
    assert result.prompt_tokens == 6


def test_items_are_put_in_order_by_index() -> None:
    """Items listed out of order are put in input order by their index."""
    result = read_embeddings(answer([2.0], [0.0], [1.0], indexes=[2, 0, 1]), call())
    assert result.vectors == [[0.0], [1.0], [2.0]]


def test_items_without_indexes_keep_the_listed_order() -> None:
    """When no item has an index, the list's order is the input order."""
    result = read_embeddings(answer([2.0], [0.0], [1.0], indexes=[..., ..., ...]), call())
    assert result.vectors == [[2.0], [0.0], [1.0]]


def test_the_requested_dimensions_are_met() -> None:
    """Vectors of the requested length fit."""
    result = read_embeddings(answer([0.1] * 4, [0.2] * 4), call(2, dimensions=4))
    assert [len(v) for v in result.vectors] == [4, 4]


@pytest.mark.parametrize("usage", [{}, {"prompt_tokens": "6"}, {"prompt_tokens": -1}, [6]])
def test_a_missing_or_odd_token_count_is_not_reported(usage: Any) -> None:
    """Without a count of non-negative whole tokens the result reports none, so the
    gateway charges its own count instead of nothing."""
    assert read_embeddings(answer([1.0], usage=usage), call(1)).prompt_tokens is None


ONE = [0.5, 0.5]


@pytest.mark.parametrize(
    ("data", "dimensions", "what"),
    [
        (answer(ONE), None, "1 embeddings for 3 inputs"),
        (answer(ONE, ONE, ONE, ONE), None, "4 embeddings for 3 inputs"),
        (answer(), None, "0 embeddings for 3 inputs"),
        ({"object": "list", "model": "up"}, None, "no list of embedding objects"),
        ({"data": {"0": ONE}}, None, "no list of embedding objects"),
        ({"data": [ONE, ONE, ONE]}, None, "no list of embedding objects"),
        (answer(ONE, "AAAAPwAAAD8=", ONE), None, "embedding 1 is not a list"),
        (answer(ONE, ONE, None), None, "embedding 2 is not a list"),
        (answer(ONE, [], ONE), None, "embedding 1 is not a list"),
        (answer(ONE, [0.5, "0.5"], ONE), None, "embedding 1 is not a list"),
        (answer(ONE, [0.5, True], ONE), None, "embedding 1 is not a list"),
        (answer(ONE, [0.5, math.nan], ONE), None, "embedding 1 is not a list"),
        (answer([math.inf, 0.5], ONE, ONE), None, "embedding 0 is not a list"),
        (answer(ONE, [0.5], ONE), None, "different lengths (1 to 2)"),
        (answer(ONE, ONE, ONE), 3, "2 dimensions, not the 3 asked"),
        (answer(ONE, ONE, ONE, indexes=[0, 0, 2]), None, "indexes are not 0 to 2"),
        (answer(ONE, ONE, ONE, indexes=[1, 2, 3]), None, "indexes are not 0 to 2"),
        (answer(ONE, ONE, ONE, indexes=[0, ..., 2]), None, "indexes are not 0 to 2"),
        (answer(ONE, ONE, ONE, indexes=[0, "1", 2]), None, "indexes are not 0 to 2"),
        (answer(ONE, ONE, ONE, indexes=[0, True, 2]), None, "indexes are not 0 to 2"),
    ],
    ids=[
        "one-for-three",
        "four-for-three",
        "none",
        "no-data",
        "data-not-a-list",
        "items-not-objects",
        "base64-string",
        "null-vector",
        "empty-vector",
        "string-number",
        "boolean",
        "nan",
        "infinity",
        "mixed-lengths",
        "wrong-dimensions",
        "duplicate-index",
        "index-out-of-range",
        "index-missing-on-one",
        "string-index",
        "boolean-index",
    ],
)
def test_an_answer_that_does_not_fit_is_a_503(
    data: dict[str, Any], dimensions: int | None, what: str
) -> None:
    """Wrong count, no data, non-lists, non-numbers, mixed lengths, wrong dimensions and
    bad indexes are the upstream's 503 service_unavailable, saying what was wrong."""
    with pytest.raises(ServiceUnavailable) as caught:
        read_embeddings(data, call(3, dimensions=dimensions))
    assert caught.value.code == "service_unavailable" and caught.value.retryable
    assert caught.value.message.startswith("The model provider's embeddings answer does not fit")
    assert what in caught.value.message


def test_the_message_never_carries_the_upstream_body() -> None:
    """What the upstream put in its vectors (here a secret-looking string) stays out of
    the client's message."""
    with pytest.raises(ServiceUnavailable) as caught:
        read_embeddings(answer(ONE, ["sk-upstream-secret http://10.0.0.1"], ONE), call())
    assert "sk-upstream" not in caught.value.message and "10.0.0.1" not in caught.value.message
