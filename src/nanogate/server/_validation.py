"""Request validation: pydantic's structured errors become the catalogue's 400s.

Schemas are strict (no coercion: ``"hot"`` is not a temperature and ``"5"`` is
not a token count). The first problem found is reported, with ``param`` naming
the field by its path (``messages[0].content``) and a message in the style of
the surface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from nanogate.core import Surface, redact
from nanogate.errors import GatewayError, InvalidParameterValue, MissingRequiredParameter

T = TypeVar("T", bound=BaseModel)

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "a boolean",
    "list_type": "an array",
    "tuple_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}

_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def validate(schema: type[T], data: dict[str, Any], surface: Surface) -> T:
    """``data`` as ``schema``, or the 400 describing its first problem."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, surface) from None


def param_path(loc: Sequence[int | str]) -> str:
    """``("messages", 0, "content")`` → ``"messages[0].content"``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def validation_error(exc: ValidationError, surface: Surface) -> GatewayError:
    error = exc.errors(include_url=False)[0]
    param = param_path(error["loc"])
    if error["type"] == "missing":
        message = (
            f"{param} is required"
            if surface == "anthropic"
            else f"Missing required parameter: '{param}'."
        )
        return MissingRequiredParameter(message, param=param)
    return InvalidParameterValue(_describe(error, param), param=param)


def _describe(error: ErrorDetails, param: str) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind in _EXPECTED:
        return (
            f"Invalid type for '{param}': expected {_EXPECTED[kind]}, "
            f"but got {json_kind(value)} instead."
        )
    if kind in _BOUNDS:
        symbol, bound = _BOUNDS[kind]
        return (
            f"Invalid value for '{param}': expected a value {symbol} {ctx[bound]}, "
            f"but got {_show(value)} instead."
        )
    if kind == "too_short":
        return f"Invalid value for '{param}': expected at least {ctx['min_length']} item(s)."
    if kind == "too_long":
        return f"Invalid value for '{param}': expected at most {ctx['max_length']} item(s)."
    if kind == "string_too_short":
        return f"Invalid value for '{param}': expected at least {ctx['min_length']} character(s)."
    if kind == "string_too_long":
        return f"Invalid value for '{param}': expected at most {ctx['max_length']} character(s)."
    if kind == "literal_error":
        return (
            f"Invalid value for '{param}': expected {ctx['expected']}, "
            f"but got {_show(value)} instead."
        )
    if kind == "string_pattern_mismatch":
        return f"Invalid value for '{param}': must match the pattern {ctx['pattern']}."
    if kind == "extra_forbidden":
        return f"Unrecognized parameter: '{param}'."
    return f"Invalid value for '{param}': {error['msg'].rstrip('.')}."


def _show(value: Any) -> str:
    """A client's value, repeated in a message: short, and never a credential."""
    text = redact(repr(value)) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
