"""``POST /api/v1/moderations``: what the gateway must understand of a request."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

from nanogate.server.schemas._common import Schema, invalid, require_text

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


ModerationInput = Annotated[Any, AfterValidator(_check_input)]


class ModerationRequest(Schema):
    input: ModerationInput
    model: str | None = None
