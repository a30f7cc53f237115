"""Configuration: the TOML file of DESIGN section 7, with environment overrides."""

from nanogate.config._load import ConfigError, load_settings
from nanogate.config._settings import (
    CAPABILITIES,
    DatabaseSettings,
    LimitSettings,
    ModelSettings,
    ProviderSettings,
    RedisSettings,
    ServerSettings,
    Settings,
    X402Settings,
)

__all__ = [
    "CAPABILITIES",
    "ConfigError",
    "DatabaseSettings",
    "LimitSettings",
    "ModelSettings",
    "ProviderSettings",
    "RedisSettings",
    "ServerSettings",
    "Settings",
    "X402Settings",
    "load_settings",
]
