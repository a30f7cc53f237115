"""Context memory, sans-IO: which turns to compress, how, and how a stored summary is found.

A conversation is its leading system messages and its turns. When it does not fit the
model's context (or the request's ``model_context_limit``), its older turns are
compressed into one summary by a summary model; what is sent upstream is then the
system messages, one memory message holding the summary, and the recent turns that
fit. Compression keeps the recent turns within half of what is left, so that the next
turns of the conversation fit beside the same summary and reuse it.

A summary is stored under the hash of the conversation up to the last turn it covers
(:func:`prefix_hashes`): the next request of the same conversation begins with the same
turns, so one lookup by all of its prefix hashes finds the longest summary stored.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from nanogate.core import count_chat_tokens, count_content_tokens, count_tokens

MEMORY_PREAMBLE = "Summary of the earlier conversation (context memory):\n\n"
SUMMARY_INSTRUCTIONS = (
    "You compress conversations. Write a faithful summary of the conversation below "
    "for the assistant to continue it: keep every fact, name, number, decision, "
    "preference and open question; drop greetings and repetition. When a previous "
    "summary is given, fold the new turns into it. Write only the summary."
)
_INSTRUCTION_TOKENS = 96
"""What the instructions, the previous summary's heading and the framing of one
summary call cost at most, beside the transcript and the previous summary."""
_MESSAGE_TOKENS = 8
"""A message's framing in the transcript ("User: ", blank lines), at most."""

Message = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Conversation:
    system: tuple[Message, ...]
    """The leading system (or developer) messages: kept as they are."""
    turns: tuple[Message, ...]


def split(messages: Sequence[Message]) -> Conversation:
    """``messages`` as leading system messages and the turns after them."""
    lead = 0
    while lead < len(messages) and messages[lead].get("role") in ("system", "developer"):
        lead += 1
    return Conversation(tuple(messages[:lead]), tuple(messages[lead:]))


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def prefix_hashes(conversation: Conversation) -> list[str]:
    """``hashes[i]``: the hash of the system messages and ``turns[: i + 1]``."""
    digest = hashlib.sha256(_canonical(list(conversation.system))).digest()
    out: list[str] = []
    for turn in conversation.turns:
        digest = hashlib.sha256(digest + _canonical(turn)).digest()
        out.append(digest.hex())
    return out


def message_tokens(message: Message) -> int:
    """One message's share of a prompt (framing included; a little over, never under)."""
    return count_chat_tokens([message])


def memory_message(summary: str) -> dict[str, Any]:
    return {"role": "system", "content": MEMORY_PREAMBLE + summary}


def compose(conversation: Conversation, summary: str, start: int) -> list[dict[str, Any]]:
    """What goes upstream: the system messages, the summary of ``turns[:start]``, and the
    turns from ``start`` on."""
    return [
        *map(dict, conversation.system),
        memory_message(summary),
        *map(dict, conversation.turns[start:]),
    ]


def fits(messages: Sequence[Message], tools: Any, budget: int) -> bool:
    return count_chat_tokens(messages, tools) <= budget


def recent_start(
    conversation: Conversation,
    tools: Any,
    budget: int,
    summary_tokens: int,
    *,
    whole: bool = False,
) -> int | None:
    """Where the turns kept verbatim begin when the rest is compressed into a summary
    of up to ``summary_tokens``: the recent turns that fit in half of what the system
    messages, the tools and the summary leave of ``budget`` (at least the last turn,
    whatever its size, if the whole of what is left holds it), never starting at a
    tool's result (its call would be compressed away); with ``whole``, only the last
    turn. ``None``: even the last turn does not fit, and memory cannot help (or, with
    ``whole``, there is no earlier turn to compress)."""
    turns = conversation.turns
    fixed = count_chat_tokens(conversation.system, tools) + summary_tokens + 16
    room = budget - fixed
    if not turns or room <= 0:
        return None
    last = message_tokens(turns[-1])
    if last > room:
        return None
    start, used = len(turns) - 1, last
    if not whole:
        keep = max(room // 2, last)
        while start > 0:
            size = message_tokens(turns[start - 1])
            if used + size > keep:
                break
            start, used = start - 1, used + size
    while 0 < start < len(turns) and _is_result(turns[start]):
        start -= 1  # a tool's result stays with the call it answers
        used += message_tokens(turns[start])
    if start == 0 or used > room:
        return None
    return start


def _is_result(message: Message) -> bool:
    return message.get("role") in ("tool", "function")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            str(part.get("text") or "")
            for part in content
            if isinstance(part, Mapping) and part.get("type") in ("text", "input_text")
        ]
        images = sum(1 for p in content if isinstance(p, Mapping) and "image" in str(p.get("type")))
        return "\n".join(texts) + (f"\n[{images} image(s)]" if images else "")
    return "" if content is None else str(content)


_ROLES = {
    "user": "User",
    "assistant": "Assistant",
    "tool": "Tool result",
    "function": "Tool result",
}


def transcript_lines(turns: Sequence[Message], max_chars: int) -> list[str]:
    """Each turn as a line of the transcript a summary model reads (assistants' tool
    calls are left out), cut to ``max_chars``; turns without text are skipped."""
    lines: list[str] = []
    for turn in turns:
        text = _text(turn.get("content")).strip()
        if text:
            role = _ROLES.get(str(turn.get("role")), str(turn.get("role")).title())
            lines.append(f"{role}: {text}"[:max_chars])
    return lines


def chunks(lines: Sequence[str], chunk_tokens: int) -> list[list[str]]:
    """``lines`` in consecutive groups of at most ``chunk_tokens`` each (a line is at
    most that long: see :func:`transcript_lines`)."""
    out: list[list[str]] = []
    size = 0
    for line in lines:
        tokens = count_content_tokens(line) + _MESSAGE_TOKENS
        if out and size + tokens <= chunk_tokens:
            out[-1].append(line)
            size += tokens
        else:
            out.append([line])
            size = tokens
    return out


def summary_request(previous: str | None, lines: Sequence[str]) -> list[dict[str, Any]]:
    """The messages of one summary call: the instructions, then the previous summary
    (if any) and the turns to fold into it."""
    parts = []
    if previous:
        parts.append("Previous summary:\n" + previous)
    parts.append("Conversation:\n" + "\n\n".join(lines))
    return [
        {"role": "system", "content": SUMMARY_INSTRUCTIONS},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


@dataclass(frozen=True, slots=True)
class SummaryBudget:
    """How a summary model's calls are sized."""

    context_window: int
    summary_tokens: int
    """The longest summary a call may write (its ``max_tokens``)."""

    @property
    def chunk_tokens(self) -> int:
        """Transcript per call: what the window leaves beside the instructions, the
        previous summary and the new one."""
        return max(64, self.context_window - 2 * self.summary_tokens - _INSTRUCTION_TOKENS)

    def calls(self, transcript_tokens: int) -> int:
        """How many calls compress a transcript of ``transcript_tokens``, at most: two
        consecutive chunks of :func:`chunks` together hold more than ``chunk_tokens``
        (else they would be one), so there are at most twice as many as whole chunks,
        and one more."""
        return 2 * math.ceil(transcript_tokens / self.chunk_tokens) + 1

    def most_input(self, transcript_tokens: int) -> int:
        """The input tokens of those calls, at most."""
        calls = self.calls(transcript_tokens)
        return transcript_tokens + calls * (self.summary_tokens + _INSTRUCTION_TOKENS)

    def most_output(self, transcript_tokens: int) -> int:
        return self.calls(transcript_tokens) * self.summary_tokens


def cut_to_tokens(text: str, tokens: int) -> str:
    """``text`` cut at a character so that it has at most ``tokens`` tokens."""
    if count_tokens(text) <= tokens:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle]) <= tokens:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def transcript_tokens(turns: Sequence[Message]) -> int:
    """A bound on the transcript of ``turns``: their tokens and each line's framing."""
    return sum(message_tokens(t) + _MESSAGE_TOKENS for t in turns)
