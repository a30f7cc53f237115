"""The settings tree, validated by pydantic. Every section is optional in the file."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

CAPABILITIES = frozenset(
    {"tools", "vision", "json_schema", "audio", "file", "video", "batch", "streaming"}
)
"""Capabilities a model may declare. ``batch``: an embedding or moderation model
that takes a list of inputs in one request."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(1, ge=1)
    max_body_bytes: int = Field(33_554_432, ge=1024)
    body_timeout_s: float = Field(60.0, gt=0)
    """Seconds a client has to send its whole request body."""
    create_demo_account: bool = True
    """On first start with an empty database, create an account and key and print the key."""
    demo_balance_usd: Decimal = Decimal("5")
    key_refresh_s: float = Field(0.25, gt=0, le=1)
    """How often a running gateway picks up key and account changes."""
    request_log_flush_s: float = Field(0.2, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class DatabaseSettings(_Section):
    url: str = "sqlite:///nanogate.db"

    @field_validator("url")
    @classmethod
    def _persistent(cls, value: str) -> str:
        scheme = value.partition("://")[0].partition("+")[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must be a sqlite:///path or postgresql://... URL")
        if scheme == "sqlite" and (":memory:" in value or value.rstrip("/") == "sqlite:"):
            raise ValueError(
                "an in-memory SQLite database cannot be shared by the gateway's connections "
                "and workers; give a file path, e.g. sqlite:///nanogate.db"
            )
        return value


class RedisSettings(_Section):
    url: str = ""
    prefix: str = "nanogate:"
    fail_open: bool = False
    """When Redis cannot be reached: refuse limited requests (503 rate_limit_unavailable),
    or let them through unlimited."""


class LimitSettings(_Section):
    """Limits for keys that set none of their own (0 means unlimited)."""

    rps: int = Field(0, ge=0)
    daily_requests: int = Field(0, ge=0)
    daily_usd: Decimal = Field(Decimal(0), ge=0)
    accountless_rps: int = Field(5, ge=0)
    """Requests per second from one client address without a valid key (0: unlimited)."""


class ProviderSettings(_Section):
    name: str
    kind: Literal["openai", "anthropic", "local"]
    base_url: str = ""
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    timeout_s: float = Field(60.0, gt=0)
    connect_timeout_s: float = Field(10.0, gt=0)
    max_connections: int = Field(256, ge=1)
    stream_delay_ms: float = Field(0.0, ge=0)
    """Local provider only: pause between streamed tokens, to feel like a real model."""

    @model_validator(mode="after")
    def _needs_base_url(self) -> ProviderSettings:
        if self.kind != "local" and not self.base_url:
            raise ValueError(f"provider {self.name!r} of kind {self.kind!r} needs a base_url")
        return self


class ModelSettings(_Section):
    id: str
    provider: str
    upstream_model: str = ""
    type: Literal["chat", "embedding", "moderation"] = "chat"
    name: str = ""
    description: str = ""
    owned_by: str = ""
    input_usd_per_mtok: Decimal = Field(Decimal(0), ge=0)
    output_usd_per_mtok: Decimal = Field(Decimal(0), ge=0)
    context_window: int = Field(8192, ge=1)
    max_output_tokens: int = Field(4096, ge=1)
    dimensions: int = Field(256, ge=1, le=8192)
    """Embedding models: the default vector length."""
    capabilities: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()

    @field_validator("type")
    @classmethod
    def _servable_type(cls, value: str) -> str:
        if value == "moderation":
            raise ValueError("moderation models are not supported by this version")
        return value

    @field_validator("capabilities")
    @classmethod
    def _known_capabilities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - CAPABILITIES)
        if unknown:
            raise ValueError(f"unknown capabilities {unknown}; known: {sorted(CAPABILITIES)}")
        return value


X402_RAILS = frozenset({"nano", "nano-exact", "base-usdc", "x402-exact", "x402-solana-usdc", "dev"})


class X402Settings(_Section):
    enabled: bool = False
    rails: tuple[str, ...] = ()

    @field_validator("rails")
    @classmethod
    def _known_rails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - X402_RAILS)
        if unknown:
            raise ValueError(f"unknown x402 rails {unknown}; known: {sorted(X402_RAILS)}")
        return value


class Settings(_Section):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    limits: LimitSettings = LimitSettings()
    providers: tuple[ProviderSettings, ...] = ()
    models: tuple[ModelSettings, ...] = ()
    x402: X402Settings = X402Settings()

    @model_validator(mode="after")
    def _references_resolve(self) -> Settings:
        providers = [p.name for p in self.providers]
        if len(set(providers)) != len(providers):
            raise ValueError("provider names must be unique")
        models = [m.id for m in self.models]
        if len(set(models)) != len(models):
            raise ValueError("model ids must be unique")
        for model in self.models:
            if model.provider not in providers:
                raise ValueError(f"model {model.id!r} names unknown provider {model.provider!r}")
            for fallback in model.fallbacks:
                if fallback not in models:
                    raise ValueError(f"model {model.id!r} names unknown fallback {fallback!r}")
        return self
