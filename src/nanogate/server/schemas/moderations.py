"""``POST /api/v1/moderations``: what the gateway must understand of a request."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

from nanogate.server.schemas._common import STRING, Schema, invalid, obj, require_text, typed

MAX_INPUTS = 2048


def _check_part(part: Any) -> None:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise invalid("each content part must be an object with a string 'type'")
    if part["type"] == "text":
        require_text(part, "text", "a text part")
    elif part["type"] == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str) or not url:
            raise invalid("an image_url part needs 'image_url.url'")


def _check_input(value: Any) -> Any:
    """A string, an array of strings (one input each), or an array of content parts
    (one input). Emptiness is not judged here: it is ``empty_moderation_input``."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise invalid("expected a string, an array of strings, or an array of content parts")
    if len(value) > MAX_INPUTS:
        raise invalid(f"expected at most {MAX_INPUTS} inputs")
    if all(isinstance(item, str) for item in value):
        return value
    for part in value:
        _check_part(part)
    return value


_URL = {"type": "string", "minLength": 1}
_PART = {
    "anyOf": [
        typed("text", text=STRING),
        typed("image_url", image_url={"anyOf": [_URL, obj({"url": _URL})]}),
        obj({"type": {"type": "string", "not": {"enum": ["text", "image_url"]}}}),
    ]
}
"""What :func:`_check_part` accepts."""

ModerationInput = Annotated[
    Any,
    AfterValidator(_check_input),
    WithJsonSchema(
        {
            "anyOf": [
                STRING,
                {"type": "array", "items": STRING, "maxItems": MAX_INPUTS},
                {"type": "array", "items": _PART, "maxItems": MAX_INPUTS},
            ]
        }
    ),
]


class ModerationRequest(Schema):
    input: ModerationInput
    model: str | None = None
