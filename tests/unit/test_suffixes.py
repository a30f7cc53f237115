"""Model suffixes: every documented form, every precedence rule and every conflict."""

from __future__ import annotations

from typing import Any

import pytest

from nanogate.errors import InvalidParameterValue, ModelNotFound, SpeedSuffixConflict
from nanogate.routing._suffixes import (
    Memory,
    ModelChoice,
    WebSearch,
    parse_model,
    with_overrides,
)

IDS = {"openai/gpt-4o", "vendor/model", "vendor/model:beta", "local/chat"}
PROVIDERS = ("openai", "Azure", "deepinfra")


def parse(sent: str, default_days: int = 30) -> ModelChoice:
    return parse_model(sent, IDS.__contains__, PROVIDERS, default_days)


FORMS: list[tuple[str, dict[str, Any]]] = [
    ("vendor/model", {}),
    ("vendor/model:online", {"web_search": WebSearch()}),
    ("vendor/model:ONLINE", {"web_search": WebSearch()}),
    ("vendor/model:online/searxng", {"web_search": WebSearch("searxng")}),
    ("vendor/model:online/exa-deep", {"web_search": WebSearch("exa", "deep")}),
    ("vendor/model:Online/Exa-Deep", {"web_search": WebSearch("exa", "deep")}),
    ("vendor/model:memory", {"memory": Memory(30)}),
    ("vendor/model:memory-7", {"memory": Memory(7)}),
    ("vendor/model:memory-0", {"memory": Memory(1)}),
    ("vendor/model:memory-9999", {"memory": Memory(365)}),
    ("vendor/model:MEMORY-90", {"memory": Memory(90)}),
    ("vendor/model:fast", {"sort": "latency"}),
    ("vendor/model:latency", {"sort": "latency"}),
    ("vendor/model:cheap", {"sort": "price"}),
    ("vendor/model:price", {"sort": "price"}),
    ("vendor/model:throughput", {"sort": "throughput"}),
    ("vendor/model:openai", {"pin": "openai"}),
    ("vendor/model:azure", {"pin": "Azure"}),
    (
        "vendor/model:online:memory-10",
        {"web_search": WebSearch(), "memory": Memory(10)},
    ),
    (
        "vendor/model:memory:online/exa-deep:cheap",
        {"web_search": WebSearch("exa", "deep"), "memory": Memory(30), "sort": "price"},
    ),
    ("vendor/model:openai:online", {"pin": "openai", "web_search": WebSearch()}),
]


@pytest.mark.parametrize(("sent", "expected"), FORMS, ids=[sent for sent, _ in FORMS])
def test_each_documented_form_reads_as_documented(sent: str, expected: dict[str, Any]) -> None:
    """Each suffix form, alone and combined, case-insensitive: what it asks for, with the
    suffixes stripped from the model id and the sent text kept."""
    choice = parse(sent)
    assert choice == ModelChoice(sent, "vendor/model", **expected)
    assert choice.suffixed == (sent != "vendor/model")


def test_a_catalogue_id_with_a_colon_wins_by_longest_match() -> None:
    """``vendor/model:beta`` is a catalogue id, not ``vendor/model`` with a ``:beta``
    suffix; suffixes after it are read as suffixes of it."""
    assert parse("vendor/model:beta") == ModelChoice("vendor/model:beta", "vendor/model:beta")
    choice = parse("vendor/model:beta:online")
    assert choice.model_id == "vendor/model:beta" and choice.web_search == WebSearch()


def test_memory_days_default_from_configuration() -> None:
    """``:memory`` without days keeps memory the configured default days."""
    assert parse("vendor/model:memory", default_days=45).memory == Memory(45)


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        ("vendor/model:turbo", "unknown suffix ':turbo'"),
        ("vendor/model:", "an empty suffix"),
        ("vendor/model:online::memory", "an empty suffix"),
        ("vendor/model:memory-x", "a whole number of days"),
        ("vendor/model:memory--3", "a whole number of days"),
        ("vendor/model:online/", "a search provider's name"),
        ("vendor/model:online/-deep", "a search provider's name"),
        ("vendor/model:online:online/exa", "more than one web search suffix"),
        ("vendor/model:memory:memory-3", "more than one memory suffix"),
        ("vendor/model:fast:cheap", "more than one routing suffix"),
        ("vendor/model:openai:azure", "more than one provider suffix"),
    ],
)
def test_an_unknown_or_doubled_suffix_is_invalid_parameter_value(sent: str, why: str) -> None:
    """An unknown suffix, an empty one, a malformed argument, or two suffixes asking for
    the same thing: 400 ``invalid_parameter_value`` on ``model``, naming the problem."""
    with pytest.raises(InvalidParameterValue) as caught:
        parse(sent)
    assert caught.value.param == "model"
    assert why in caught.value.message


def test_a_routing_suffix_with_a_provider_suffix_conflicts() -> None:
    """``:fast`` with ``:openai``, in either order: 400 ``speed_suffix_conflict``."""
    for sent in ("vendor/model:fast:openai", "vendor/model:openai:cheap"):
        with pytest.raises(SpeedSuffixConflict) as caught:
            parse(sent)
        assert caught.value.param == "model" and caught.value.status == 400


def test_a_text_that_begins_with_no_catalogue_id_is_model_not_found() -> None:
    """Without a catalogue id before its first suffix, the text names no model."""
    for sent in ("nope/model", "nope/model:online", "vendor/mod:online"):
        with pytest.raises(ModelNotFound):
            parse(sent)


def override(
    sent: str,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    explicit_provider: bool = False,
) -> ModelChoice:
    return with_overrides(
        parse(sent), headers or {}, body or {}, explicit_provider=explicit_provider
    )


PRECEDENCE: list[tuple[str, dict[str, str], dict[str, Any], Memory | None, WebSearch | None]] = [
    # the memory header equals :memory, and turns it off when false
    ("vendor/model", {"memory": "true"}, {}, Memory(30), None),
    ("vendor/model:memory-5", {"memory": "true"}, {}, Memory(5), None),
    ("vendor/model:memory-5", {"memory": "false"}, {}, None, None),
    # memory_expiration_days wins over the suffix's days, clamped, for memory that is on
    ("vendor/model:memory-5", {"memory_expiration_days": "60"}, {}, Memory(60), None),
    ("vendor/model:memory", {"memory_expiration_days": "1000"}, {}, Memory(365), None),
    ("vendor/model", {"memory": "true", "memory_expiration_days": "2"}, {}, Memory(2), None),
    ("vendor/model", {"memory_expiration_days": "60"}, {}, None, None),
    # body memory: false turns memory off, whatever the suffix and header say
    ("vendor/model:memory", {}, {"memory": False}, None, None),
    ("vendor/model", {"memory": "true"}, {"memory": False}, None, None),
    ("vendor/model", {}, {"memory": True}, Memory(30), None),
    # body webSearch wins over the suffix
    ("vendor/model:online", {}, {"webSearch": {"enabled": False}}, None, None),
    ("vendor/model", {}, {"webSearch": {"enabled": True}}, None, WebSearch()),
    (
        "vendor/model:online/exa",
        {},
        {"webSearch": {"enabled": True, "depth": "deep"}},
        None,
        WebSearch(None, "deep"),
    ),
    (
        "vendor/model",
        {},
        {"webSearch": {"provider": "SearXNG", "depth": "standard"}},
        None,
        WebSearch("searxng"),
    ),
    ("vendor/model:online/exa-deep", {}, {"webSearch": True}, None, WebSearch("exa", "deep")),
    ("vendor/model:online", {}, {"webSearch": False}, None, None),
    ("vendor/model:online", {}, {"webSearch": None}, None, WebSearch()),
]


@pytest.mark.parametrize(("sent", "headers", "body", "memory", "web_search"), PRECEDENCE)
def test_headers_and_body_win_over_the_suffixes(
    sent: str,
    headers: dict[str, str],
    body: dict[str, Any],
    memory: Memory | None,
    web_search: WebSearch | None,
) -> None:
    """The ``memory`` and ``memory_expiration_days`` headers, body ``memory`` and body
    ``webSearch`` override what the suffixes ask, as NanoGPT documents."""
    choice = override(sent, headers, body)
    assert (choice.memory, choice.web_search) == (memory, web_search)
    assert choice.model_id == "vendor/model" and choice.sent == sent


def test_a_routing_suffix_with_a_provider_named_in_the_request_conflicts() -> None:
    """``:cheap`` with ``X-Provider`` or body ``provider`` (the caller says which):
    ``speed_suffix_conflict``; a provider suffix with them is no conflict."""
    with pytest.raises(SpeedSuffixConflict):
        override("vendor/model:cheap", explicit_provider=True)
    assert override("vendor/model:openai", explicit_provider=True).pin == "openai"
    assert override("vendor/model:cheap").sort == "price"


@pytest.mark.parametrize(
    ("headers", "body", "param"),
    [
        ({"memory": "maybe"}, {}, "memory"),
        ({"memory": "true", "memory_expiration_days": "soon"}, {}, "memory_expiration_days"),
        ({}, {"memory": "yes"}, "memory"),
        ({}, {"webSearch": "on"}, "webSearch"),
        ({}, {"webSearch": {"enabled": "yes"}}, "webSearch.enabled"),
        ({}, {"webSearch": {"provider": 3}}, "webSearch.provider"),
        ({}, {"webSearch": {"depth": "shallow"}}, "webSearch.depth"),
    ],
)
def test_a_bad_override_is_invalid_parameter_value_on_its_name(
    headers: dict[str, str], body: dict[str, Any], param: str
) -> None:
    """A header or body field that overrides a suffix with a value of the wrong kind is
    400 ``invalid_parameter_value`` naming that header or field."""
    with pytest.raises(InvalidParameterValue) as caught:
        override("vendor/model", headers, body)
    assert caught.value.param == param


def test_a_long_text_or_too_many_suffixes_is_not_searched() -> None:
    """Reading suffixes costs a lookup per ``:``: a text over 256 characters, or a
    catalogue id followed by more than eight suffixes, names no model."""
    with pytest.raises(ModelNotFound):
        parse("vendor/model" + ":online" * 40)
    with pytest.raises(ModelNotFound):
        parse("vendor/model" + ":fast" * 9)
    assert parse("vendor/model:online:memory:fast").sort == "latency"


def test_a_huge_day_count_is_clamped_not_an_error() -> None:
    """Days of any length clamp to 365, in the suffix as in the header."""
    assert parse("vendor/model:memory-" + "9" * 200).memory == Memory(365)
    headers = {"memory_expiration_days": "1" * 5000}
    assert override("vendor/model:memory", headers).memory == Memory(365)


def test_a_credential_in_the_model_text_is_not_repeated() -> None:
    """A key sent as a suffix by mistake is masked in the error, as in
    ``model_not_found``."""
    from nanogate.core import new_api_key

    key = new_api_key()
    for sent in (f"vendor/model:{key}", f"vendor/model:fast:{key}"):
        with pytest.raises(InvalidParameterValue) as caught:
            parse(sent)
        assert key not in caught.value.message
