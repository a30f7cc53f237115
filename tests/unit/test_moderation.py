"""Moderation's sans-IO core: rule scoring, the inline headers, inputs, the upstream's
wire format and failure table, the ``[moderation]`` settings, and the violation body."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from nanogate.config import ConfigError, ModerationSettings, load_settings
from nanogate.core import render_error
from nanogate.errors import (
    ConflictingModerationModel,
    ContentPolicyViolation,
    EmptyModerationInput,
    ServiceUnavailable,
    UnsupportedModerationInput,
)
from nanogate.moderation import (
    InlineModeration,
    ModerationCall,
    Part,
    asks,
    check_moderatable,
    check_readable,
    prompt_input,
    request_inputs,
    requested,
    verdict_headers,
)
from nanogate.moderation._openai import error_for_status, parse_answer, request_body
from nanogate.moderation._rules import compile_rules, judge
from nanogate.routing import Model

RULES = ModerationSettings.model_validate(
    {
        "threshold": 0.5,
        "categories": [
            {"name": "harassment", "words": ["forbidden", "dang it"], "score": 0.9},
            {"name": "mild", "patterns": [r"\bmeh+\b"], "score": 0.3},
        ],
    }
)


def model(*capabilities: str) -> Model:
    return Model(
        id="test/mod",
        type="moderation",
        provider="p",
        upstream_model="omni",
        name="m",
        description="",
        owned_by="x",
        input_usd_per_mtok=Decimal(0),
        output_usd_per_mtok=Decimal(0),
        context_window=100,
        max_output_tokens=1,
        dimensions=1,
        capabilities=frozenset(capabilities),
        fallbacks=(),
    )


def verdict_of(text: str) -> Any:
    return judge(compile_rules(RULES), RULES.threshold, request_inputs(text)[0])


# Rules ---------------------------------------------------------------------------------


def test_a_word_flags_its_category_ignoring_case() -> None:
    """A configured word matches whole and case-insensitively, scoring the category's score."""
    verdict = verdict_of("That is FORBIDDEN here")
    assert verdict.flagged
    assert verdict.categories == {"harassment": True, "mild": False}
    assert verdict.category_scores == {"harassment": 0.9, "mild": 0.0}


def test_words_match_whole_and_phrases_match() -> None:
    """A word inside a longer word does not match; a multi-word phrase does."""
    assert not verdict_of("unforbiddenly").flagged
    assert verdict_of("oh Dang It").flagged


def test_matches_raise_the_score_until_the_threshold() -> None:
    """One weak match stays under the threshold; two reach it (1 - 0.7²)."""
    once = verdict_of("meh")
    twice = verdict_of("meh, mehhh")
    assert once.category_scores["mild"] == 0.3 and not once.flagged
    assert twice.category_scores["mild"] == pytest.approx(0.51) and twice.categories["mild"]


def test_clean_text_scores_zero_everywhere() -> None:
    """Text matching no rule is not flagged and lists every category at 0."""
    verdict = verdict_of("hello there")
    assert not verdict.flagged
    assert verdict.as_dict() == {
        "flagged": False,
        "categories": {"harassment": False, "mild": False},
        "category_scores": {"harassment": 0.0, "mild": 0.0},
    }


def test_the_default_rules_flag_a_threat_and_pass_a_greeting() -> None:
    """The embedded default configuration's rules flag ``I will kill you`` as violence only."""
    settings = load_settings().moderation
    rules = compile_rules(settings)
    threat = judge(rules, settings.threshold, request_inputs("I will kill you")[0])
    assert threat.flagged and [c for c, hit in threat.categories.items() if hit] == ["violence"]
    assert not judge(rules, settings.threshold, request_inputs("Hello, how are you?")[0]).flagged


# Headers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"moderation": "false"}, None),
        ({"moderation": "OFF"}, None),
        ({"moderation": "0", "moderation-model": "a/b"}, None),
        ({"moderation-model": "a/b"}, None),
        ({"moderation": "true"}, InlineModeration(None)),
        ({"moderation": "Yes"}, InlineModeration(None)),
        ({"moderation": "1", "moderation-model": "a/b"}, InlineModeration("a/b")),
        ({"moderation": "a/b"}, InlineModeration("a/b")),
        ({"moderation": "a/b", "moderation-model": "a/b"}, InlineModeration("a/b")),
    ],
)
def test_the_moderation_headers(headers: dict[str, str], expected: InlineModeration | None) -> None:
    """``moderation`` turns inline moderation on (truthy or a model id) or off (falsy);
    ``moderation-model`` picks the model only alongside it."""
    assert requested(headers) == expected
    assert asks(headers) == (expected is not None)


def test_two_different_models_in_the_headers_conflict() -> None:
    """``moderation: <a>`` with ``moderation-model: <b>`` is conflicting_moderation_model."""
    with pytest.raises(ConflictingModerationModel) as info:
        requested({"moderation": "a/b", "moderation-model": "c/d"})
    assert info.value.param == "moderation"


def test_verdict_headers_use_nanogpt_names() -> None:
    """The preflight is reported in X-NanoGPT-Inline-Moderation-Model/-Flagged/-Cost-USD."""
    assert verdict_headers("local/moderation", True, 40) == [
        (b"x-nanogpt-inline-moderation-model", b"local/moderation"),
        (b"x-nanogpt-inline-moderation-flagged", b"true"),
        (b"x-nanogpt-inline-moderation-cost-usd", b"0.00000004"),
    ]


# Inputs --------------------------------------------------------------------------------


def test_request_inputs_shapes() -> None:
    """A string is one input, a list of strings one input each, a list of parts one input."""
    assert [len(i) for i in request_inputs("a")] == [1]
    assert [len(i) for i in request_inputs(["a", "b", "c"])] == [1, 1, 1]
    parts = request_inputs(
        [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "data:x"}}]
    )
    assert [[p.kind for p in i] for i in parts] == [["text", "image"]]
    assert parts[0][1].url == "data:x"


def test_prompt_input_takes_every_message_text_and_image() -> None:
    """A chat prompt is one input: text of every role and image parts, blank text dropped,
    tool-call arguments left out."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "be nice"},
        {
            "role": "user",
            "content": [{"type": "text", "text": " "}, {"type": "image_url", "image_url": "u"}],
        },
        {"role": "assistant", "content": None, "tool_calls": [{"function": {"arguments": "x"}}]},
        {"role": "tool", "content": "result"},
    ]
    assert [(p.kind, p.text) for p in prompt_input(messages)] == [
        ("text", "be nice"),
        ("image", ""),
        ("text", "result"),
    ]


@pytest.mark.parametrize("value", ["", "   ", [], ["ok", " "], [{"type": "text", "text": ""}]])
def test_nothing_to_moderate(value: Any) -> None:
    """Empty or blank input, or any blank item of a batch, is empty_moderation_input."""
    with pytest.raises(EmptyModerationInput):
        check_moderatable(request_inputs(value), "input")


def test_unreadable_parts() -> None:
    """Audio is unreadable by any moderator; an image needs an image-reading moderator and
    a model with vision."""
    audio = (Part("audio", tokens=1),)
    image = (Part("image", url="u", tokens=1),)
    text_and_image = frozenset({"text", "image"})
    with pytest.raises(UnsupportedModerationInput, match="audio"):
        check_readable((audio,), model("vision"), text_and_image, "input")
    with pytest.raises(UnsupportedModerationInput, match="image"):
        check_readable((image,), model("vision"), frozenset({"text"}), "input")
    with pytest.raises(UnsupportedModerationInput, match="image"):
        check_readable((image,), model(), text_and_image, "input")
    check_readable((image,), model("vision"), text_and_image, "input")


# The upstream's wire format and failures ------------------------------------------------


def test_request_body_sends_text_as_strings_and_images_as_parts() -> None:
    """Text inputs go as a string (or a list of strings); one input with an image goes as
    OpenAI's multimodal parts; the model is the upstream's name."""
    one = ModerationCall(request_inputs("hi"), model(), "req_1")
    many = ModerationCall(request_inputs(["a", "b"]), model(), "req_1")
    mixed = ModerationCall(
        request_inputs([{"type": "text", "text": "a"}, {"type": "image_url", "image_url": "u"}]),
        model(),
        "req_1",
    )
    assert request_body(one) == {"model": "omni", "input": "hi"}
    assert request_body(many) == {"model": "omni", "input": ["a", "b"]}
    assert request_body(mixed)["input"] == [
        {"type": "text", "text": "a"},
        {"type": "image_url", "image_url": {"url": "u"}},
    ]


def test_parse_answer_reads_results_and_usage() -> None:
    """A well-formed answer gives one verdict per input, and its usage when it has one."""
    result = {"flagged": True, "categories": {"hate": True}, "category_scores": {"hate": 1}}
    answer = parse_answer({"results": [result], "usage": {"prompt_tokens": 3}}, 1)
    assert answer.verdicts[0].as_dict() == {
        "flagged": True,
        "categories": {"hate": True},
        "category_scores": {"hate": 1.0},
    }
    assert answer.usage == {"prompt_tokens": 3}
    assert parse_answer({"results": [result]}, 1).usage is None


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"results": []},
        {"results": [{"flagged": "yes"}]},
        {"results": [{"flagged": True, "categories": {"a": 1}}]},
        {"results": [{"flagged": True, "category_scores": {"a": "high"}}]},
    ],
    ids=["not-object", "too-few", "flag-not-bool", "category-not-bool", "score-not-number"],
)
def test_parse_answer_refuses_malformed_answers(data: Any) -> None:
    """Anything but the right number of well-formed results is malformed (a ValueError,
    mapped to the 503)."""
    with pytest.raises(ValueError):
        parse_answer(data, 1)


@pytest.mark.parametrize(
    ("status", "headers", "reason", "retry_after"),
    [
        (429, {"retry-after": "7"}, "rate limiting", 7),
        (401, {}, "credentials", None),
        (403, {}, "credentials", None),
        (503, {}, "HTTP 503", None),
        (400, {}, "HTTP 400", None),
    ],
)
def test_every_upstream_status_is_a_503(
    status: int, headers: dict[str, str], reason: str, retry_after: int | None
) -> None:
    """Each row of the status table: a 503 service_unavailable naming the moderation
    provider and why (a 429's Retry-After passed on)."""
    err = error_for_status(status, headers)
    assert type(err) is ServiceUnavailable
    assert err.message.startswith("Moderation provider unavailable") and reason in err.message
    assert err.retry_after == retry_after


# Settings ------------------------------------------------------------------------------

PROVIDERS = """
[[providers]]
name = "local"
kind = "local"

[[providers]]
name = "claude"
kind = "anthropic"
base_url = "http://127.0.0.1:1"
"""


def config_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "nanogate.toml"
    path.write_text(PROVIDERS + text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    return str(info.value)


def test_a_bad_pattern_is_a_config_error(tmp_path: Path) -> None:
    """A rule that is not a valid regular expression is refused at load, naming it."""
    text = '[moderation]\n[[moderation.categories]]\nname = "x"\npatterns = ["(unclosed"]\n'
    assert "(unclosed" in config_error(tmp_path, text)


def test_a_category_needs_a_rule(tmp_path: Path) -> None:
    """A category with neither words nor patterns is refused."""
    text = '[moderation]\n[[moderation.categories]]\nname = "x"\n'
    assert "at least one word or pattern" in config_error(tmp_path, text)


def test_the_default_model_must_be_a_moderation_model(tmp_path: Path) -> None:
    """``moderation.default_model`` must name a configured moderation model."""
    text = '[[models]]\nid = "chat"\nprovider = "local"\n[moderation]\ndefault_model = "chat"\n'
    assert "not a moderation model" in config_error(tmp_path, text)


def test_moderation_does_not_run_on_anthropic(tmp_path: Path) -> None:
    """A moderation model on an anthropic provider is refused: it has no moderation API."""
    text = '[[models]]\nid = "m"\nprovider = "claude"\ntype = "moderation"\n'
    assert "moderation runs on openai or local providers" in config_error(tmp_path, text)


def test_the_embedded_default_ships_a_priced_moderation_model() -> None:
    """The default configuration has a local moderation model, priced, as the default."""
    settings = load_settings()
    model = next(m for m in settings.models if m.id == settings.moderation.default_model)
    assert model.type == "moderation" and model.provider == "local"
    assert model.input_usd_per_mtok > 0
    assert settings.moderation.categories


# The violation body --------------------------------------------------------------------


@pytest.mark.parametrize("surface", ["openai", "anthropic", "legacy"])
def test_the_violation_carries_the_moderation_object(surface: Any) -> None:
    """content_policy_violation's ``moderation`` object sits at the top of every envelope."""
    moderation = {"model": "m", "flagged": True, "categories": {}, "category_scores": {}}
    body = render_error(ContentPolicyViolation(fields={"moderation": moderation}), surface)
    assert body["moderation"] == moderation
