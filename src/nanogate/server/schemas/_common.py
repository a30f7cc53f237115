"""Shared schema pieces: the strict base model and validators for union-typed fields.

Fields that accept several JSON shapes (``content``, ``stop``, ``tool_choice``...)
are checked by small validator functions that raise one clear message, rather
than by pydantic unions whose errors list every alternative.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

JsonSchema = dict[str, Any]
NULL: JsonSchema = {"type": "null"}
STRING: JsonSchema = {"type": "string"}
OBJECT: JsonSchema = {"type": "object"}


class Schema(BaseModel):
    """Strict, frozen, and tolerant of fields it does not know (they pass through)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", populate_by_name=True)


def whole(value: Any) -> Any:
    """A number with no fractional part as the integer it is (JSON Schema's reading:
    ``2.0`` is the integer ``2``); anything else as it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def is_integer(value: Any) -> bool:
    """Whether ``value`` is a JSON integer: ``2`` or ``2.0``, never ``true``."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )


Integer = Annotated[int, BeforeValidator(whole)]
"""An integer field: strict, except that ``2.0`` is ``2``. (Bounds go inside the
``Annotated``, before the validator, or the JSON Schema loses them.)"""
PositiveInteger = Annotated[int, Field(ge=1), BeforeValidator(whole)]


def invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_value", message)


def _string_or_strings(max_items: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            if len(value) > max_items:
                raise invalid(f"expected at most {max_items} strings")
            return value
        raise invalid("expected a string or an array of strings")

    return check


def strings_schema(max_items: int) -> JsonSchema:
    """What :func:`_string_or_strings` accepts."""
    return {
        "anyOf": [STRING, {"type": "array", "items": STRING, "maxItems": max_items}, NULL],
    }


def obj(required: dict[str, JsonSchema], **optional: JsonSchema) -> JsonSchema:
    """An object with these required properties (and any others)."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **optional},
    }


def typed(kind: str, **required: JsonSchema) -> JsonSchema:
    """A content part or block of ``type: kind`` with these required properties."""
    return obj({"type": {"const": kind}, **required})


Stop = Annotated[Any, AfterValidator(_string_or_strings(4)), WithJsonSchema(strings_schema(4))]
StopSequences = Annotated[
    Any, AfterValidator(_string_or_strings(64)), WithJsonSchema(strings_schema(64))
]


def require_object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid(f"expected {what} to be an object")
    return value


def require_text(part: Mapping[str, Any], field: str, what: str) -> None:
    if not isinstance(part.get(field), str):
        raise invalid(f"{what} needs a string '{field}'")


def part_type(part: Any, allowed: frozenset[str], what: str) -> str:
    """The ``type`` of a content part, which must be one of ``allowed``."""
    if not isinstance(part, Mapping):
        raise invalid(f"each {what} must be an object")
    kind = part.get("type")
    if not isinstance(kind, str):
        raise invalid(f"each {what} needs a string 'type'")
    if kind not in allowed:
        raise invalid(
            f"unsupported {what} type '{kind}'; expected one of {', '.join(sorted(allowed))}"
        )
    return kind
