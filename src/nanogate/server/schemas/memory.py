"""``POST /api/v1/memory``'s request body: a conversation to compress."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from nanogate.server.schemas._common import Schema, whole
from nanogate.server.schemas.chat import ChatMessage

Days = Annotated[int, Field(ge=1, le=365), BeforeValidator(whole)]
ContextLimit = Annotated[int, Field(ge=256), BeforeValidator(whole)]


class MemoryRequest(Schema):
    """A conversation, how long to keep its summary, and the context to fit it in."""

    messages: list[ChatMessage] = Field(min_length=1)
    expiration_days: Days | None = Field(
        None, description="Days to keep the summary (1..365; default 30)."
    )
    model_context_limit: ContextLimit | None = Field(
        None, description="The context the result must fit (default 128,000 tokens)."
    )
