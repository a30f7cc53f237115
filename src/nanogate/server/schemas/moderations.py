"""``POST /api/v1/moderations``: what the gateway must understand of a request."""

from __future__ import annotations

from typing import Any

from nanogate.server.schemas._common import Schema


class ModerationRequest(Schema):
    input: Any
    model: str | None = None
