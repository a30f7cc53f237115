"""``POST /api/v1/embeddings``: what the gateway must understand of a request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, WithJsonSchema

from nanogate.server.schemas._common import PositiveInteger, Schema, invalid, is_integer, whole

MAX_INPUTS = 2048


def _check_input(value: Any) -> Any:
    if isinstance(value, str):
        if not value:
            raise invalid("input cannot be an empty string")
        return value
    if not isinstance(value, list) or not value:
        raise invalid("expected a string, an array of strings, or an array of token arrays")
    if len(value) > MAX_INPUTS:
        raise invalid(f"expected at most {MAX_INPUTS} inputs")
    if all(isinstance(v, str) for v in value):
        if not all(value):
            raise invalid("input cannot contain empty strings")
        return value
    if all(is_integer(v) for v in value):
        return [whole(v) for v in value]
    if all(isinstance(v, list) and v and all(is_integer(t) for t in v) for v in value):
        return [[whole(t) for t in v] for v in value]
    raise invalid("expected a string, an array of strings, or an array of token arrays")


def _items(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items, "minItems": 1, "maxItems": MAX_INPUTS}


_TOKENS = {"type": "array", "items": {"type": "integer"}, "minItems": 1}

EmbeddingInput = Annotated[
    Any,
    AfterValidator(_check_input),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1},
                _items({"type": "string", "minLength": 1}),
                _items({"type": "integer"}),
                _items(_TOKENS),
            ]
        }
    ),
]


class EmbeddingsRequest(Schema):
    model: str
    input: EmbeddingInput
    encoding_format: Literal["float", "base64"] | None = "float"
    dimensions: PositiveInteger | None = None
    user: str | None = None

    def inputs(self) -> list[str] | list[list[int]]:
        """The input as a list of items: strings, or token arrays."""
        value = self.input
        if isinstance(value, str):
            return [value]
        if value and isinstance(value[0], int):
            return [list(value)]
        return list(value)
