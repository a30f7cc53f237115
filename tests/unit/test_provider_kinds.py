"""Provider kinds in configuration: what each serves, and the providers built from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from nanogate.config import ConfigError, ProviderSettings, load_settings
from nanogate.providers.anthropic import AnthropicProvider
from nanogate.providers.build import build_providers
from nanogate.providers.openai import OpenAIProvider

CLAUDE = """
[[providers]]
name = "claude"
kind = "anthropic"
base_url = "https://api.anthropic.com/v1"
api_key_env = "ANTHROPIC_KEY"

[[providers]]
name = "gpt"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
"""


def load(tmp_path: Path, models: str) -> object:
    path = tmp_path / "nanogate.toml"
    path.write_text(CLAUDE + models)
    return load_settings(path)


def test_a_chat_model_on_an_anthropic_provider_is_accepted(tmp_path: Path) -> None:
    """kind = "anthropic" is a valid provider for chat models."""
    load(tmp_path, '[[models]]\nid = "acme/claude"\nprovider = "claude"\n')


def test_an_embedding_model_on_an_anthropic_provider_is_refused(tmp_path: Path) -> None:
    """Anthropic has no embeddings: an embedding model served by an anthropic provider is a
    ConfigError naming the model, the provider and its kind."""
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, '[[models]]\nid = "acme/embed"\nprovider = "claude"\ntype = "embedding"\n')
    message = str(caught.value)
    assert "acme/embed" in message and "'claude'" in message and "anthropic" in message
    assert "embedding" in message


def test_an_embedding_deployment_on_an_anthropic_provider_is_refused(tmp_path: Path) -> None:
    """The same holds for an extra deployment of an embedding model."""
    models = (
        '[[models]]\nid = "acme/embed"\nprovider = "gpt"\ntype = "embedding"\n'
        '[[models.deployments]]\nprovider = "claude"\n'
    )
    with pytest.raises(ConfigError, match="acme/embed"):
        load(tmp_path, models)


def test_providers_are_built_by_kind() -> None:
    """build_providers makes an AnthropicProvider for kind anthropic (its key read from
    the environment) and an OpenAIProvider for kind openai."""
    providers = [
        ProviderSettings(name="claude", kind="anthropic", base_url="http://x/v1", api_key_env="K"),
        ProviderSettings(name="gpt", kind="openai", base_url="http://y/v1"),
    ]
    built = build_providers(providers, {"K": "sk-ant-from-env"})
    assert isinstance(built["claude"], AnthropicProvider) and built["claude"].name == "claude"
    assert isinstance(built["gpt"], OpenAIProvider)
    with pytest.raises(ConfigError, match="K is not set"):
        build_providers(providers, {})
