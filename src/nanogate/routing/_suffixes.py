"""Model suffixes: NanoGPT's ``model:suffix`` grammar, sans-IO.

A client may append suffixes to a model id, case-insensitive and combinable, each
after a ``:``::

    vendor/model:online                 web search, the configured provider
    vendor/model:online/<name>          web search with the search provider <name>
    vendor/model:online/<name>-deep     the same, at depth "deep"
    vendor/model:memory                 context memory, the default days
    vendor/model:memory-<days>          context memory kept <days> (clamped to 1..365)
    vendor/model:<provider>             pin the model's deployment on <provider>
    vendor/model:fast  (or :latency)    its deployments by recent latency
    vendor/model:cheap (or :price)      by price
    vendor/model:throughput             by recent throughput

The suffixes are stripped before routing. A catalogue id may itself contain ``:``;
the longest catalogue id the text begins with (up to a ``:``) is the model, and only
what follows it is read as suffixes. :func:`parse_model` reads the text;
:func:`with_overrides` applies what headers and the body say, which win over the
suffixes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from nanogate.core import redact
from nanogate.errors import InvalidParameterValue, SpeedSuffixConflict
from nanogate.routing._catalog import model_not_found
from nanogate.routing._plan import Sort

Depth = Literal["standard", "deep"]

SORTS: Mapping[str, Sort] = {
    "fast": "latency",
    "latency": "latency",
    "cheap": "price",
    "price": "price",
    "throughput": "throughput",
}
"""Routing suffixes and the order each asks for."""

MIN_DAYS, MAX_DAYS = 1, 365

MAX_MODEL_CHARS = 256
"""A longer model text is read as an id alone: no catalogue id is that long, and reading
suffixes costs a lookup per ``:``."""
MAX_SUFFIXES = 8
"""Suffixes read after a catalogue id, at most (the grammar has five kinds)."""


@dataclass(frozen=True, slots=True)
class WebSearch:
    """Search the web before generating."""

    provider: str | None = None
    """The search provider's name; ``None`` for the configured one."""
    depth: Depth = "standard"


@dataclass(frozen=True, slots=True)
class Memory:
    """Compress what does not fit the context, and keep it ``days``."""

    days: int


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """What a request's ``model`` text asks for."""

    sent: str
    """The text as the client sent it: answers and records echo it."""
    model_id: str
    """The catalogue id, suffixes stripped."""
    web_search: WebSearch | None = None
    memory: Memory | None = None
    pin: str | None = None
    """A provider the suffix pins the deployment to."""
    sort: Sort | None = None

    @property
    def suffixed(self) -> bool:
        return self.model_id != self.sent


def clamp_days(days: int) -> int:
    return max(MIN_DAYS, min(MAX_DAYS, days))


def _bad(sent: str, why: str) -> InvalidParameterValue:
    """The 400 for ``sent``; the client's text is masked where it holds a credential (a
    key sent as a suffix by mistake), as ``model_not_found`` masks it."""
    return InvalidParameterValue(f"Invalid model '{redact(sent)}': {redact(why)}.", param="model")


def _days(text: str) -> int | None:
    """Whole days, clamped to 1..365; ``None`` if ``text`` is not a whole number."""
    if not text.isascii() or not text.isdigit():
        return None
    return MAX_DAYS if len(text) > 4 else clamp_days(int(text))


def parse_model(
    sent: str,
    known: Callable[[str], bool],
    providers: Iterable[str],
    default_days: int = 30,
) -> ModelChoice:
    """Read ``sent``: the longest catalogue id it starts with (``known`` says which ids
    exist), then its suffixes. ``providers`` are the names a pin may use (matched
    without regard to case, like every suffix).

    Raises ``model_not_found`` when no catalogue id begins the text, and
    ``invalid_parameter_value`` (``param: "model"``) for an unknown suffix or two that
    ask for the same thing differently."""
    if known(sent):
        return ModelChoice(sent, sent)
    if len(sent) > MAX_MODEL_CHARS:
        raise model_not_found(sent)
    parts = sent.split(":")
    for cut in range(len(parts) - 1, max(0, len(parts) - 1 - MAX_SUFFIXES), -1):
        model_id = ":".join(parts[:cut])
        if known(model_id):
            names = {name.lower(): name for name in providers}
            return _read_suffixes(sent, model_id, parts[cut:], names, default_days)
    raise model_not_found(sent)


def _read_suffixes(
    sent: str,
    model_id: str,
    suffixes: list[str],
    providers: Mapping[str, str],
    default_days: int,
) -> ModelChoice:
    choice = ModelChoice(sent, model_id)
    for raw in suffixes:
        suffix = raw.strip().lower()
        if not suffix:
            raise _bad(sent, "an empty suffix")
        if suffix == "online" or suffix.startswith("online/"):
            if choice.web_search is not None:
                raise _bad(sent, "more than one web search suffix")
            choice = replace(choice, web_search=_web_search(sent, suffix))
        elif suffix == "memory" or suffix.startswith("memory-"):
            if choice.memory is not None:
                raise _bad(sent, "more than one memory suffix")
            choice = replace(choice, memory=_memory(sent, suffix, default_days))
        elif suffix in SORTS:
            if choice.sort is not None:
                raise _bad(sent, "more than one routing suffix")
            choice = replace(choice, sort=SORTS[suffix])
        elif suffix in providers:
            if choice.pin is not None:
                raise _bad(sent, "more than one provider suffix")
            choice = replace(choice, pin=providers[suffix])
        else:
            raise _bad(sent, f"unknown suffix ':{raw}'")
    if choice.sort is not None and choice.pin is not None:
        raise SpeedSuffixConflict(
            f"Invalid model '{redact(sent)}': a routing suffix cannot be combined with a provider."
        )
    return choice


def _web_search(sent: str, suffix: str) -> WebSearch:
    if suffix == "online":
        return WebSearch()
    name = suffix.removeprefix("online/")
    depth: Depth = "standard"
    if name.endswith("-deep"):
        name, depth = name.removesuffix("-deep"), "deep"
    if not name:
        raise _bad(sent, "':online/' needs a search provider's name")
    return WebSearch(name, depth)


def _memory(sent: str, suffix: str, default_days: int) -> Memory:
    if suffix == "memory":
        return Memory(clamp_days(default_days))
    days = _days(suffix.removeprefix("memory-"))
    if days is None:
        raise _bad(sent, f"':{suffix}' needs a whole number of days")
    return Memory(days)


def _header_flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise InvalidParameterValue(f"Invalid '{name}' header: expected true or false.", param=name)


def _days_header(value: str) -> int:
    days = _days(value.strip())
    if days is None:
        raise InvalidParameterValue(
            "Invalid 'memory_expiration_days' header: expected a whole number of days.",
            param="memory_expiration_days",
        )
    return days


def days_header(headers: Mapping[str, str]) -> int | None:
    """The days of the ``memory_expiration_days`` header (clamped to 1..365), if sent;
    ``headers`` has lower-case names."""
    value = headers.get("memory_expiration_days")
    if value is None or not value.strip():
        return None
    return _days_header(value)


def _body_web_search(value: Any, current: WebSearch | None) -> WebSearch | None:
    if isinstance(value, bool):
        return (current or WebSearch()) if value else None
    if not isinstance(value, dict):
        raise InvalidParameterValue(
            "Invalid type for 'webSearch': expected an object such as "
            '{"enabled": true, "depth": "deep"}.',
            param="webSearch",
        )
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidParameterValue(
            "Invalid type for 'webSearch.enabled': expected a boolean.", param="webSearch.enabled"
        )
    if not enabled:
        return None
    provider = value.get("provider")
    if provider is not None and (not isinstance(provider, str) or not provider.strip()):
        raise InvalidParameterValue(
            "Invalid type for 'webSearch.provider': expected a provider's name.",
            param="webSearch.provider",
        )
    depth = value.get("depth", "standard")
    if depth not in ("standard", "deep"):
        raise InvalidParameterValue(
            "Invalid value for 'webSearch.depth': expected 'standard' or 'deep'.",
            param="webSearch.depth",
        )
    return WebSearch(provider.strip().lower() if provider else None, depth)


def with_overrides(
    choice: ModelChoice,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    *,
    explicit_provider: bool,
    default_days: int = 30,
) -> ModelChoice:
    """``choice`` with what the request says elsewhere, which wins over the suffixes:

    - the ``memory`` header turns memory on (``true`` equals ``:memory``) or off;
    - the ``memory_expiration_days`` header sets the days of memory that is on;
    - body ``memory: false`` turns memory off (``true`` turns it on);
    - body ``webSearch`` (an object ``{enabled, provider, depth}``, or a boolean)
      replaces the suffix's web search.

    ``explicit_provider`` says whether the request names a provider by other means
    (``X-Provider``, body ``provider``): with a routing suffix that is 400
    ``speed_suffix_conflict``. ``headers`` has lower-case names.
    """
    if choice.sort is not None and explicit_provider:
        raise SpeedSuffixConflict(
            f"Invalid model '{redact(choice.sent)}': a routing suffix cannot be combined "
            "with a provider named in the request."
        )
    memory = choice.memory
    header = headers.get("memory")
    if header is not None and header.strip():
        on = _header_flag(header, "memory")
        memory = (memory or Memory(clamp_days(default_days))) if on else None
    if "memory" in body:
        flag = body["memory"]
        if not isinstance(flag, bool):
            raise InvalidParameterValue(
                "Invalid type for 'memory': expected a boolean.", param="memory"
            )
        memory = (memory or Memory(clamp_days(default_days))) if flag else None
    days = days_header(headers)
    if memory is not None and days is not None:
        memory = Memory(days)
    web_search = choice.web_search
    if body.get("webSearch") is not None:
        web_search = _body_web_search(body["webSearch"], web_search)
    return replace(choice, memory=memory, web_search=web_search)


__all__ = [
    "SORTS",
    "Depth",
    "Memory",
    "ModelChoice",
    "Sort",
    "WebSearch",
    "clamp_days",
    "days_header",
    "parse_model",
    "with_overrides",
]
