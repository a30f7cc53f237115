"""Providers: the built-in local models and real upstreams, behind one Protocol."""

from nanogate.providers._protocol import ChatCall, EmbeddingCall, EmbeddingResult, Provider
from nanogate.providers._upstream_errors import stream_ended_early

__all__ = ["ChatCall", "EmbeddingCall", "EmbeddingResult", "Provider", "stream_ended_early"]
