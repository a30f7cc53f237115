"""What the fake upstream answers, before it is written in a dialect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Finish = Literal["stop", "tool_calls", "content_filter"]
"""How the answer ends, in chat terms; each dialect renders its own word for it."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str
    """The call's input as a JSON object text."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer: its text in streamed pieces, its tool calls, how it ends, its usage."""

    model: str
    pieces: tuple[str, ...]
    calls: tuple[ToolCall, ...]
    finish: Finish
    prompt_tokens: int
    completion_tokens: int

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def pieces_of(text: str, words_per_piece: int) -> tuple[str, ...]:
    """``text`` cut into pieces of ``words_per_piece`` words, each keeping its spaces."""
    words = text.split(" ")
    tokens = [w if i == 0 else " " + w for i, w in enumerate(words)]
    step = max(1, words_per_piece)
    return tuple("".join(tokens[i : i + step]) for i in range(0, len(tokens), step))
