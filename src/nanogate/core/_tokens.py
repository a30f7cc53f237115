"""An offline tokenizer: the local models' own tokens and the gateway's prompt estimate.

It splits text the way GPT-style byte-pair tokenizers pre-tokenize it (words
with their leading space, digit groups of three, punctuation runs), then cuts
long words into pieces of at most six characters and CJK text into single
characters. On English prose it lands within a few percent of ``cl100k``; it
needs no vocabulary file, so it works with no network at all.

For the built-in local models this *is* the tokenizer, so their usage counts
are exact. For other models it is an estimate used before dispatch (context
window checks, reservations); the upstream's reported usage is what is billed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

_PIECE = re.compile(
    r"'(?:[sdmt]|ll|ve|re)(?![a-zA-Z])"  # English contractions
    r"| ?[^\W\d_]+"  # a word (letters), with its leading space
    r"|\d{1,3}"  # digits, in groups of three
    r"| ?[^\s\w]+"  # punctuation and symbols
    r"| ?_+"
    r"|\s+(?!\S)|\s+"  # whitespace runs
)
_MAX_PIECE = 6
_WIDE = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\u3040-\u30ff]")

MESSAGE_OVERHEAD = 3
"""Tokens of framing per chat message (role and separators)."""
REPLY_PRIMING = 3
"""Tokens that prime the assistant's reply."""
IMAGE_TOKENS_LOW = 85
IMAGE_TOKENS = 765


def tokenize(text: str) -> list[str]:
    """Split ``text`` into tokens; ``"".join(tokenize(t)) == t``."""
    return list(_iter_tokens(text))


def _iter_tokens(text: str) -> Iterator[str]:
    for match in _PIECE.finditer(text):
        piece = match.group()
        if len(piece) <= _MAX_PIECE and not _WIDE.search(piece):
            yield piece
            continue
        yield from _split_long(piece)


def _split_long(piece: str) -> Iterator[str]:
    run = ""
    for char in piece:
        if _WIDE.match(char):
            if run:
                yield from _chunks(run)
                run = ""
            yield char
        else:
            run += char
    if run:
        yield from _chunks(run)


def _chunks(run: str) -> Iterator[str]:
    for start in range(0, len(run), _MAX_PIECE):
        yield run[start : start + _MAX_PIECE]


def count_tokens(text: str) -> int:
    """The number of tokens in ``text`` (``len(tokenize(text))``, without the list)."""
    pieces = _PIECE.findall(text)
    if _WIDE.search(text) is None:
        return len(pieces) + sum(
            (len(piece) - 1) // _MAX_PIECE for piece in pieces if len(piece) > _MAX_PIECE
        )
    return sum(
        1 if len(piece) <= _MAX_PIECE and not _WIDE.search(piece) else len(list(_split_long(piece)))
        for piece in pieces
    )


def count_value_tokens(value: Any) -> int:
    """Tokens in every string (keys included) of a JSON-like value, e.g. a tool list."""
    if isinstance(value, str):
        return count_tokens(value)
    if isinstance(value, Mapping):
        return sum(count_tokens(str(k)) + count_value_tokens(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(count_value_tokens(v) for v in value)
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int | float):
        return count_tokens(str(value))
    return 0


def count_part_tokens(part: Mapping[str, Any]) -> int:
    """Tokens of one content part of any dialect (text, image, audio, tool blocks...)."""
    kind = part.get("type")
    if kind in ("text", "input_text", "output_text"):
        text = part.get("text")
        return count_tokens(text) if isinstance(text, str) else 0
    if kind in ("image_url", "input_image", "image"):
        detail = part.get("detail")
        image_url = part.get("image_url")
        if isinstance(image_url, Mapping):
            detail = image_url.get("detail", detail)
        return IMAGE_TOKENS_LOW if detail == "low" else IMAGE_TOKENS
    return count_value_tokens({k: v for k, v in part.items() if k != "type"})


def count_content_tokens(content: Any) -> int:
    """Tokens of a message's ``content``: a string or a list of parts."""
    if isinstance(content, str):
        return count_tokens(content)
    if isinstance(content, list):
        return sum(
            count_part_tokens(part) if isinstance(part, Mapping) else count_value_tokens(part)
            for part in content
        )
    return count_value_tokens(content)


def count_chat_tokens(messages: Iterable[Mapping[str, Any]], tools: Any = None) -> int:
    """Prompt tokens of a chat-completions request: messages, framing and tools."""
    total = REPLY_PRIMING
    for message in messages:
        total += MESSAGE_OVERHEAD + count_content_tokens(message.get("content"))
        if isinstance(message.get("name"), str):
            total += 1
        for call in message.get("tool_calls") or ():
            total += count_value_tokens(call)
    if tools:
        total += count_value_tokens(tools)
    return total
