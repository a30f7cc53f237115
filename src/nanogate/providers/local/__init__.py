"""The built-in ``local`` provider: deterministic offline chat and embedding models."""

from nanogate.providers.local._provider import LocalProvider

__all__ = ["LocalProvider"]
