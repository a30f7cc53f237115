"""Moderators from settings: one per provider that serves a moderation model."""

from __future__ import annotations

from collections.abc import Mapping

from nanogate.config import Settings
from nanogate.moderation._openai import OpenAIModerator
from nanogate.moderation._protocol import Moderator
from nanogate.moderation._rules import RuleModerator
from nanogate.providers.build import provider_api_key


def build_moderators(settings: Settings, env: Mapping[str, str]) -> dict[str, Moderator]:
    """The moderator of each provider serving a moderation model: the rule moderator
    on ``local`` providers, the HTTP upstream on ``openai`` ones (credentials named by
    ``api_key_env`` come from ``env``)."""
    serving = {m.provider for m in settings.models if m.type == "moderation"}
    built: dict[str, Moderator] = {}
    for provider in settings.providers:
        if provider.name not in serving:
            continue
        if provider.kind == "local":
            built[provider.name] = RuleModerator(provider.name, settings.moderation)
        elif provider.kind == "openai":
            built[provider.name] = OpenAIModerator(provider, provider_api_key(provider, env))
    return built
