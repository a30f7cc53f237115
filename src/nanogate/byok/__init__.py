"""BYOK: API keys that carry their own provider credentials, sealed at rest."""

from nanogate.byok._options import ByokOptions, byok_options
from nanogate.byok._seal import MIN_SECRET_LENGTH, Sealer, SealError, sealer_for

__all__ = [
    "ByokOptions",
    "MIN_SECRET_LENGTH",
    "SealError",
    "Sealer",
    "byok_options",
    "sealer_for",
]
