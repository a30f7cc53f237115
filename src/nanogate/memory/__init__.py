"""Context memory, sans-IO: what to compress, the summary calls, and how summaries are found."""

from nanogate.memory._plan import (
    MEMORY_PREAMBLE,
    Conversation,
    Message,
    SummaryBudget,
    chunks,
    compose,
    cut_to_tokens,
    fits,
    memory_message,
    prefix_hashes,
    recent_start,
    split,
    summary_request,
    transcript_lines,
    transcript_tokens,
)

__all__ = [
    "Conversation",
    "MEMORY_PREAMBLE",
    "Message",
    "SummaryBudget",
    "chunks",
    "compose",
    "cut_to_tokens",
    "fits",
    "memory_message",
    "prefix_hashes",
    "recent_start",
    "split",
    "summary_request",
    "transcript_lines",
    "transcript_tokens",
]
