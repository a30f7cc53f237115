"""``POST /api/user/provider-keys``: a key's own credential for one provider."""

from __future__ import annotations

from pydantic import Field

from nanogate.server.schemas._common import Schema


class ProviderKeyRequest(Schema):
    provider: str = Field(min_length=1, max_length=100)
    key: str = Field(min_length=8, max_length=8192)
