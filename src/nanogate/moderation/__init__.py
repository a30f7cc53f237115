"""Moderation: moderators behind one Protocol, their inputs, and inline moderation's headers."""

from nanogate.moderation._build import build_moderators
from nanogate.moderation._headers import InlineModeration, asks, requested, verdict_headers
from nanogate.moderation._inputs import (
    check_moderatable,
    check_readable,
    prompt_input,
    request_inputs,
)
from nanogate.moderation._openai import OpenAIModerator
from nanogate.moderation._protocol import (
    Input,
    ModerationCall,
    ModerationResult,
    Moderator,
    Part,
    Verdict,
)
from nanogate.moderation._rules import RuleModerator

__all__ = [
    "InlineModeration",
    "Input",
    "ModerationCall",
    "ModerationResult",
    "Moderator",
    "OpenAIModerator",
    "Part",
    "RuleModerator",
    "Verdict",
    "asks",
    "build_moderators",
    "check_moderatable",
    "check_readable",
    "prompt_input",
    "request_inputs",
    "requested",
    "verdict_headers",
]
