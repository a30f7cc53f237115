"""The ``[byok]`` section: keys that carry their own provider credentials."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ByokSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: SecretStr | None = None
    """The server secret that seals stored credentials (at least 32 characters). Prefer
    ``secret_env``. Without a secret, BYOK is off."""
    secret_env: str = "NANOGATE_BYOK_SECRET"
    """The environment variable holding the secret when ``secret`` is not set."""
    fee_percent: Decimal = Field(Decimal(5), ge=0, le=100)
    """What a BYOK request is charged, as a percentage of its price at the model's rates
    (the provider bills the caller for the rest)."""
