"""Providers from settings: one instance per configured provider."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import assert_never

from nanogate.config import ConfigError, ProviderSettings
from nanogate.providers._protocol import Provider


def provider_api_key(settings: ProviderSettings, env: Mapping[str, str]) -> str | None:
    """The provider's credential: inline, or from the environment variable it names."""
    if settings.api_key is not None:
        return settings.api_key.get_secret_value()
    if settings.api_key_env:
        value = env.get(settings.api_key_env)
        if value is None:
            raise ConfigError(
                f"provider {settings.name!r}: environment variable "
                f"{settings.api_key_env} is not set"
            )
        return value
    return None


def build_providers(
    providers: Iterable[ProviderSettings], env: Mapping[str, str]
) -> dict[str, Provider]:
    """One provider per settings entry; credentials named by ``api_key_env`` come from ``env``."""
    from nanogate.providers.anthropic import AnthropicProvider
    from nanogate.providers.local import LocalProvider
    from nanogate.providers.openai import OpenAIProvider

    built: dict[str, Provider] = {}
    for settings in providers:
        if settings.kind == "local":
            built[settings.name] = LocalProvider(settings.name, settings.stream_delay_ms)
        elif settings.kind == "openai":
            built[settings.name] = OpenAIProvider(settings, provider_api_key(settings, env))
        elif settings.kind == "anthropic":
            built[settings.name] = AnthropicProvider(settings, provider_api_key(settings, env))
        else:
            assert_never(settings.kind)
    return built
