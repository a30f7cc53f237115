"""Reading settings: the embedded default or a TOML file, then environment overrides.

Environment variables override scalar settings as ``NANOGATE_<SECTION>_<FIELD>``,
for example ``NANOGATE_SERVER_PORT=9000`` or ``NANOGATE_DATABASE_URL=...``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from nanogate.config._settings import Settings

_SECTIONS = ("server", "database", "redis", "limits", "x402", "web_search", "memory", "tracing")


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``path`` (or the embedded default) with ``env`` overrides applied."""
    env = env or {}
    if path is None:
        text = resources.files("nanogate.config").joinpath("default.toml").read_text()
        source = "the embedded default configuration"
    else:
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        source = str(path)
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from exc
    _apply_env(data, env)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from exc
    if path is not None:
        settings = _anchor_sqlite(settings, path.parent)
    return settings


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for section in _SECTIONS:
        model = Settings.model_fields[section].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        for field in model.model_fields:
            name = f"NANOGATE_{section}_{field}".upper()
            value = env.get(name)
            if value is not None:
                target = data.setdefault(section, {})
                target[field] = _env_value(name, value, model.model_fields[field].annotation)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _env_value(name: str, value: str, annotation: Any) -> Any:
    if annotation is bool:
        word = value.strip().lower()
        if word not in _TRUE + _FALSE:
            raise ConfigError(f"{name} must be one of {', '.join(_TRUE + _FALSE)} (got {value!r})")
        return word in _TRUE
    if "tuple" in str(annotation):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _anchor_sqlite(settings: Settings, base: Path) -> Settings:
    """Resolve a relative SQLite path against the configuration file's directory."""
    prefix = "sqlite:///"
    url = settings.database.url
    if not url.startswith(prefix):
        return settings
    path = Path(url[len(prefix) :])
    if path.is_absolute():
        return settings
    database = settings.database.model_copy(update={"url": prefix + str(base.resolve() / path)})
    return settings.model_copy(update={"database": database})


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
