"""The provider plug point: how the gateway talks to something that runs models.

Every provider speaks the OpenAI chat-completions dialect at this boundary
(request and response dicts, streamed ``chat.completion.chunk`` dicts); the
surfaces translate Anthropic Messages and the Responses API to and from it.
A stream always ends with a chunk carrying ``usage`` (and no choices), which
the surface forwards only when the client asked for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from nanogate.routing import Model


@dataclass(frozen=True, slots=True)
class ChatCall:
    """One chat request bound for a deployment."""

    body: dict[str, Any]
    """The chat-completions request; ``model`` already names the upstream model."""
    model: Model
    request_id: str
    """The gateway's request id, sent upstream for correlating logs."""
    prompt_tokens: int
    """The prompt's size by the gateway's tokenizer (exact for the local models)."""
    credential: str | None = field(default=None, repr=False)
    """BYOK: the caller's own credential, used instead of the provider's. Its upstream
    rejections are the caller's ("your API key"), never hidden by a fallback."""


@dataclass(frozen=True, slots=True)
class EmbeddingCall:
    """One embeddings request bound for a deployment."""

    inputs: list[str] | list[list[int]]
    input_tokens: list[int]
    """Each input's size by the gateway's tokenizer (exact for the local models)."""
    dimensions: int | None
    model: Model
    request_id: str
    body: dict[str, Any]
    """The embeddings request as the client sent it (``model`` is the upstream model)."""
    credential: str | None = field(default=None, repr=False)
    """BYOK: the caller's own credential, used instead of the provider's."""


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """Vectors in input order, and the input tokens the provider counted."""

    vectors: list[list[float]]
    prompt_tokens: int | None
    """``None`` when the provider reported no count; the gateway's own count is charged."""


class Provider(Protocol):
    """Something that runs models. Failures are raised as catalogue errors
    (:mod:`nanogate.errors`), never as transport exceptions."""

    name: str

    async def chat(self, call: ChatCall) -> dict[str, Any]:
        """A whole ``chat.completion`` object."""

    def chat_stream(self, call: ChatCall) -> AsyncIterator[list[dict[str, Any]]]:
        """``chat.completion.chunk`` objects, the last one carrying ``usage``, in batches
        as they arrive: each batch is what one read of the upstream completed, so the
        gateway relays together what arrived together. A batch is never empty."""

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        """One vector per input, in order."""

    async def close(self) -> None:
        """Release connections; called once at shutdown."""
