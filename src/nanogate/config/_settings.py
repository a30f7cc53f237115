"""The settings tree, validated by pydantic. Every section is optional in the file."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from nanogate.config._addons import MemorySettings, WebSearchSettings
from nanogate.config._byok import ByokSettings
from nanogate.config._moderation import ModerationSettings
from nanogate.config._x402 import X402Settings

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
    max_header_bytes: int = Field(65_536, ge=1024)
    """Largest request head (request line and headers) accepted; a larger one gets 431."""
    header_timeout_s: float = Field(10.0, gt=0)
    """Seconds a client has to send a whole request head: from the connection's start, or
    from the head's first byte on a kept-alive connection. A late head gets 408."""
    keepalive_timeout_s: float = Field(5.0, gt=0)
    """Seconds an idle kept-alive connection stays open waiting for its next request."""
    max_connections: int = Field(2048, ge=0)
    """Open connections per worker process (0: no cap). A connection over the cap gets
    503 to its first request and is closed; the request never runs."""
    create_demo_account: bool = True
    """On first start with an empty database, create an account and key and print the key."""
    demo_balance_usd: Decimal = Decimal("5")
    key_refresh_s: float = Field(0.25, gt=0, le=1)
    """How often a running gateway picks up key and account changes."""
    request_log_flush_s: float = Field(0.2, gt=0)
    lease_idle_s: float = Field(1.0, gt=0, le=60)
    """Seconds a worker keeps an escrow lease nothing uses before giving it back."""
    sse_keepalive_s: float = Field(15.0, gt=0)
    """Seconds of upstream silence in a started stream before a ``: keep-alive`` comment."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: Literal["text", "json", "off"] = "off"
    """A line per request on stderr (logger ``nanogate.access``): request id, key id,
    method, path, status, code, model, duration and cost, as ``text`` or ``json`` lines."""


class AdminSettings(_Section):
    token_env: str = Field("NANOGATE_ADMIN_TOKEN", min_length=1)
    """The environment variable holding the admin token. The admin API and the console
    are served only when it holds a token of at least 32 characters."""
    session_ttl_s: float = Field(28_800.0, gt=0, le=604_800)
    """How long a console sign-in lasts (seconds; 8 hours by default)."""


class TracingSettings(_Section):
    otlp_endpoint: str = ""
    """An OTLP/HTTP traces endpoint (``http://collector:4318/v1/traces``); empty: off."""
    service_name: str = Field("nanogate", min_length=1)
    sample_ratio: float = Field(1.0, ge=0, le=1)
    """The share of requests traced (a parent's decision is followed)."""
    export_delay_ms: int = Field(1000, ge=10, le=60_000)
    """How long finished spans wait to be exported in a batch."""


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


class RoutingSettings(_Section):
    """Fallbacks and the circuit breaker of each deployment."""

    breaker_failures: int = Field(5, ge=1)
    """Consecutive failures of a deployment that open its circuit."""
    breaker_cooldown_s: float = Field(30.0, gt=0)
    """Seconds an open circuit stays open before one trial request is let through."""
    sticky_ttl_s: float = Field(600.0, gt=0)
    """How long a key's ``stickyProvider`` requests keep to the deployment that last
    answered them."""


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
    byok: bool = False
    """Whether API keys may store and use their own credential for this provider."""
    stream_delay_ms: float = Field(0.0, ge=0)
    """Local provider only: pause between streamed tokens, to feel like a real model."""

    @model_validator(mode="after")
    def _needs_base_url(self) -> ProviderSettings:
        if self.kind != "local" and not self.base_url:
            raise ValueError(f"provider {self.name!r} of kind {self.kind!r} needs a base_url")
        if self.byok and self.kind == "local":
            raise ValueError(f"provider {self.name!r}: the local models take no credentials (byok)")
        return self


PROVIDER_MODEL_TYPES: dict[str, frozenset[str]] = {
    "openai": frozenset({"chat", "embedding", "moderation"}),
    "anthropic": frozenset({"chat"}),
    "local": frozenset({"chat", "embedding", "moderation"}),
}
"""The model types each provider kind can serve (Anthropic has no embeddings)."""


class DeploymentSettings(_Section):
    """One more place a model runs: a provider and the model's name there."""

    provider: str
    upstream_model: str = ""
    input_usd_per_mtok: Decimal | None = Field(None, ge=0)
    """This deployment's price, if not the model's."""
    output_usd_per_mtok: Decimal | None = Field(None, ge=0)


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
    """Other models to try, in order, when every deployment of this one fails."""
    deployments: tuple[DeploymentSettings, ...] = ()
    """Deployments tried after the primary (``provider``/``upstream_model``), in order."""

    @field_validator("capabilities")
    @classmethod
    def _known_capabilities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - CAPABILITIES)
        if unknown:
            raise ValueError(f"unknown capabilities {unknown}; known: {sorted(CAPABILITIES)}")
        return value


class Settings(_Section):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    limits: LimitSettings = LimitSettings()
    routing: RoutingSettings = RoutingSettings()
    providers: tuple[ProviderSettings, ...] = ()
    models: tuple[ModelSettings, ...] = ()
    x402: X402Settings = X402Settings()
    moderation: ModerationSettings = ModerationSettings()
    byok: ByokSettings = ByokSettings()
    web_search: WebSearchSettings = WebSearchSettings()
    memory: MemorySettings = MemorySettings()
    admin: AdminSettings = AdminSettings()
    tracing: TracingSettings = TracingSettings()

    @model_validator(mode="after")
    def _moderation_resolves(self) -> Settings:
        """Moderation models run on ``openai`` or ``local`` providers; the default names one."""
        kinds = {p.name: p.kind for p in self.providers}
        moderators = [m for m in self.models if m.type == "moderation"]
        for model in moderators:
            if kinds.get(model.provider, "local") not in ("openai", "local"):
                raise ValueError(
                    f"moderation model {model.id!r}: provider {model.provider!r} is of kind "
                    f"{kinds[model.provider]!r}; moderation runs on openai or local providers"
                )
        default = self.moderation.default_model
        if default and default not in {m.id for m in moderators}:
            raise ValueError(f"moderation.default_model {default!r} is not a moderation model")
        return self

    @model_validator(mode="after")
    def _summary_model_resolves(self) -> Settings:
        """Memory's summary model is a chat model of the catalogue."""
        memory = self.memory
        if memory.enabled:
            types = {m.id: m.type for m in self.models}
            if types.get(memory.summary_model) != "chat":
                raise ValueError(
                    f"memory.summary_model {memory.summary_model!r} is not a chat model"
                )
        return self

    @model_validator(mode="after")
    def _references_resolve(self) -> Settings:
        providers = [p.name for p in self.providers]
        if len(set(providers)) != len(providers):
            raise ValueError("provider names must be unique")
        models = [m.id for m in self.models]
        if len(set(models)) != len(models):
            raise ValueError("model ids must be unique")
        types = {m.id: m.type for m in self.models}
        for model in self.models:
            for provider in (model.provider, *(d.provider for d in model.deployments)):
                if provider not in providers:
                    raise ValueError(f"model {model.id!r} names unknown provider {provider!r}")
            for fallback in model.fallbacks:
                if fallback not in models:
                    raise ValueError(f"model {model.id!r} names unknown fallback {fallback!r}")
                if fallback == model.id or types[fallback] != model.type:
                    raise ValueError(
                        f"model {model.id!r}: fallback {fallback!r} must be another "
                        f"{model.type} model"
                    )
        return self

    @model_validator(mode="after")
    def _providers_serve_their_models(self) -> Settings:
        kinds = {p.name: p.kind for p in self.providers}
        for model in self.models:
            for provider in (model.provider, *(d.provider for d in model.deployments)):
                kind = kinds.get(provider)
                if kind is not None and model.type not in PROVIDER_MODEL_TYPES[kind]:
                    raise ValueError(
                        f"model {model.id!r}: provider {provider!r} is of kind {kind!r}, "
                        f"which serves no {model.type} models"
                    )
        return self
