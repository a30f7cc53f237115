"""Providers: the built-in local models and real upstreams, behind one Protocol."""

from nanogate.providers._protocol import ChatCall, EmbeddingCall, EmbeddingResult, Provider

__all__ = ["ChatCall", "EmbeddingCall", "EmbeddingResult", "Provider"]
