"""The legacy ``/api/*`` endpoints' request bodies."""

from __future__ import annotations

from pydantic import Field

from nanogate.server.schemas._common import Schema
from nanogate.server.schemas.chat import ChatMessage


class TalkToGPTRequest(Schema):
    """``POST /api/talk-to-gpt``: a ``prompt``, optionally after earlier ``messages``.

    One of the two must be present; the route says so with the catalogue's
    ``missing_required_parameter``.
    """

    model: str
    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
