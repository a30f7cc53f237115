"""The legacy ``/api/*`` endpoints' request bodies."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from nanogate.server.schemas._common import PositiveInteger, Schema
from nanogate.server.schemas.chat import ChatMessage


class TalkToGPTRequest(Schema):
    """``POST /api/talk-to-gpt``: a ``prompt``, optionally after earlier ``messages``.

    One of the two must be present; the route says so with the catalogue's
    ``missing_required_parameter``.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["prompt"],
                    "properties": {"prompt": {"type": "string", "minLength": 1}},
                },
                {
                    "required": ["messages"],
                    "properties": {"messages": {"type": "array", "minItems": 1}},
                },
            ]
        }
    )

    model: str
    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    max_tokens: PositiveInteger | None = None
    temperature: float | None = Field(None, ge=0, le=2)
