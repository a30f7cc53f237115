"""Configuration: the TOML file of DESIGN section 7, with environment overrides."""

from nanogate.config._addons import MemorySettings, WebSearchSettings
from nanogate.config._byok import ByokSettings
from nanogate.config._load import ConfigError, load_settings
from nanogate.config._moderation import ModerationCategory, ModerationSettings
from nanogate.config._settings import (
    CAPABILITIES,
    AdminSettings,
    DatabaseSettings,
    DeploymentSettings,
    LimitSettings,
    ModelSettings,
    ProviderSettings,
    RedisSettings,
    RoutingSettings,
    ServerSettings,
    Settings,
    TracingSettings,
)
from nanogate.config._x402 import RailSettings, X402Settings

__all__ = [
    "AdminSettings",
    "ByokSettings",
    "CAPABILITIES",
    "ConfigError",
    "DatabaseSettings",
    "DeploymentSettings",
    "LimitSettings",
    "MemorySettings",
    "ModelSettings",
    "ModerationCategory",
    "ModerationSettings",
    "ProviderSettings",
    "RailSettings",
    "RedisSettings",
    "RoutingSettings",
    "ServerSettings",
    "Settings",
    "TracingSettings",
    "WebSearchSettings",
    "X402Settings",
    "load_settings",
]
