"""Reading an OpenAI-dialect ``/embeddings`` answer, and refusing one that does not fit
the request.

An answer fits when it has exactly one vector per input, each a list of finite
numbers, all of one length, that length being ``dimensions`` when the request set
it. Items are put in input order by their ``index`` when the upstream gives one on
every item (the indexes must then be ``0`` to ``n - 1``, each once, as OpenAI sends
them); when no item has one, the order of the list is the input order. An answer
that does not fit is the upstream's failure, not the client's: a 503
``service_unavailable`` whose message says what was wrong (never the upstream's
body), so the request falls back to the next deployment, the breaker counts it,
and nothing is charged.

Without a ``dimensions`` in the request any common length is accepted: a model's
configured ``dimensions`` is only its ceiling, and operators often leave the default.
A usage without a whole, non-negative ``prompt_tokens`` reports no count, so the
gateway charges its own count of the inputs rather than nothing.
"""

from __future__ import annotations

import logging
import math
from typing import Any, TypeGuard

from nanogate.errors import ServiceUnavailable
from nanogate.providers._protocol import EmbeddingCall, EmbeddingResult

log = logging.getLogger("nanogate.upstream")

_NUMBERS = frozenset({float, int})


def read_embeddings(data: dict[str, Any], call: EmbeddingCall) -> EmbeddingResult:
    """The vectors of ``data`` in input order, and the input tokens it reports
    (``None`` unless it reports a count); raises :class:`ServiceUnavailable` when
    the answer does not fit ``call``."""
    items = data.get("data")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _unfit("the answer has no list of embedding objects")
    expected = len(call.inputs)
    if len(items) != expected:
        raise _unfit(f"it answered {len(items)} embeddings for {expected} inputs")
    vectors: list[list[float]] = []
    for position, item in enumerate(_in_order(items)):
        vector = item.get("embedding")
        if not _is_vector(vector):
            raise _unfit(f"embedding {position} is not a list of finite numbers")
        vectors.append(vector)
    lengths = sorted({len(vector) for vector in vectors})
    if len(lengths) > 1:
        raise _unfit(f"its embeddings have different lengths ({lengths[0]} to {lengths[-1]})")
    if call.dimensions is not None and lengths[0] != call.dimensions:
        raise _unfit(
            f"its embeddings have {lengths[0]} dimensions, not the {call.dimensions} asked"
        )
    usage = data.get("usage")
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    reported = tokens if type(tokens) is int and tokens >= 0 else None
    return EmbeddingResult(vectors=vectors, prompt_tokens=reported)


def _in_order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` by their ``index``, when every one has one; as listed when none has."""
    indexes = [item.get("index") for item in items]
    if all(index is None for index in indexes):
        return items
    if sorted(i if type(i) is int else -1 for i in indexes) != list(range(len(items))):
        raise _unfit(f"its embedding indexes are not 0 to {len(items) - 1}, each once")
    by_index: dict[int, dict[str, Any]] = {item["index"]: item for item in items}
    return [by_index[index] for index in range(len(items))]


def _is_vector(value: object) -> TypeGuard[list[float]]:
    """A non-empty list of finite JSON numbers (``true`` and ``false`` are not numbers)."""
    if not isinstance(value, list) or not value:
        return False
    return set(map(type, value)) <= _NUMBERS and all(map(math.isfinite, value))


def _unfit(what: str) -> ServiceUnavailable:
    message = f"The model provider's embeddings answer does not fit the request: {what}."
    log.info("%s", message)
    return ServiceUnavailable(message)
