"""Configuration: the embedded default, the TOML file of DESIGN section 7, env overrides, errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from nanogate.config import ConfigError, Settings, load_settings

# DESIGN section 7's example, verbatim except for the fallback model it names, which
# the example leaves out (a fallback must exist).
DESIGN_EXAMPLE = """
[server]
host = "127.0.0.1"
port = 8080
max_body_bytes = 33554432

[database]
url = "sqlite:///nanogate.db"        # or postgresql://user@host/db

[redis]
url = ""                             # set for multi-instance limits

[[providers]]
name = "upstream-a"
kind = "openai"                      # openai | anthropic | local
base_url = "http://127.0.0.1:9001/v1"
api_key = "sk-..."                   # or api_key_env = "VAR"
timeout_s = 60

[[models]]
id = "acme/fast-chat"
provider = "upstream-a"
upstream_model = "fast-chat-v2"
input_usd_per_mtok = "0.15"
output_usd_per_mtok = "0.60"
context_window = 128000
max_output_tokens = 4096
capabilities = ["tools", "vision", "json_schema"]
fallbacks = ["acme/backup-chat"]

[[models]]
id = "acme/backup-chat"
provider = "upstream-a"

[x402]
enabled = true
rails = ["dev"]                # nano, nano-exact, base-usdc, x402-exact, x402-solana-usdc, dev
"""

LOCAL = """
[[providers]]
name = "local"
kind = "local"
"""


def write(tmp_path: Path, text: str, name: str = "nanogate.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def config_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env={})
    return str(info.value)


# The embedded default ----------------------------------------------------------------


def test_embedded_default_loads() -> None:
    """With no file, the embedded default gives the local provider and its models."""
    settings = load_settings(env={})
    assert isinstance(settings, Settings)
    assert [p.kind for p in settings.providers] == ["local"]
    ids = [m.id for m in settings.models]
    assert {"local/chat", "local/mini", "local/embed", "local/embed-mini"} <= set(ids)
    assert all(m.provider == "local" for m in settings.models)
    assert settings.database.url == "sqlite:///nanogate.db"
    assert settings.server.port == 8080


def test_embedded_default_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_settings reads only the env it is given, never os.environ."""
    monkeypatch.setenv("NANOGATE_SERVER_PORT", "1234")
    assert load_settings(env={}).server.port == 8080


def test_default_chat_model_capabilities() -> None:
    """local/chat takes tools, images and JSON Schema; local/mini takes none of them."""
    models = {m.id: m for m in load_settings(env={}).models}
    assert {"tools", "vision", "json_schema"} <= set(models["local/chat"].capabilities)
    assert not {"tools", "vision", "json_schema"} & set(models["local/mini"].capabilities)
    assert models["local/embed"].type == "embedding"


# The DESIGN file ---------------------------------------------------------------------


def test_design_example_loads(tmp_path: Path) -> None:
    """Every section of the DESIGN section 7 example loads with its values."""
    settings = load_settings(write(tmp_path, DESIGN_EXAMPLE), env={})
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8080)
    assert settings.server.max_body_bytes == 33_554_432
    assert settings.redis.url == ""
    (provider,) = settings.providers
    assert (provider.name, provider.kind) == ("upstream-a", "openai")
    assert provider.base_url == "http://127.0.0.1:9001/v1"
    assert provider.api_key is not None
    assert provider.api_key.get_secret_value() == "sk-..."
    assert "sk-..." not in repr(provider)
    assert provider.timeout_s == 60
    fast = settings.models[0]
    assert fast.id == "acme/fast-chat"
    assert fast.upstream_model == "fast-chat-v2"
    assert fast.input_usd_per_mtok == Decimal("0.15")
    assert fast.output_usd_per_mtok == Decimal("0.60")
    assert (fast.context_window, fast.max_output_tokens) == (128000, 4096)
    assert fast.capabilities == ("tools", "vision", "json_schema")
    assert fast.fallbacks == ("acme/backup-chat",)
    assert settings.x402.enabled is True
    assert settings.x402.rails == ("dev",)


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    """Every section is optional."""
    settings = load_settings(write(tmp_path, ""), env={})
    assert settings.providers == ()
    assert settings.models == ()
    assert settings.x402.enabled is False


def test_missing_file(tmp_path: Path) -> None:
    """A file that cannot be read is a ConfigError naming it."""
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError, match="absent.toml"):
        load_settings(path, env={})


# Environment overrides ---------------------------------------------------------------


def test_env_overrides_port(tmp_path: Path) -> None:
    """NANOGATE_SERVER_PORT overrides the file's port, as an integer."""
    settings = load_settings(write(tmp_path, DESIGN_EXAMPLE), env={"NANOGATE_SERVER_PORT": "9000"})
    assert settings.server.port == 9000


def test_env_overrides_database_url(tmp_path: Path) -> None:
    """NANOGATE_DATABASE_URL overrides the database URL."""
    url = "postgresql://user@127.0.0.1/nanogate"
    settings = load_settings(write(tmp_path, DESIGN_EXAMPLE), env={"NANOGATE_DATABASE_URL": url})
    assert settings.database.url == url


def test_env_overrides_the_embedded_default() -> None:
    """Overrides apply to the embedded default too."""
    assert load_settings(env={"NANOGATE_REDIS_URL": "redis://127.0.0.1:6379/0"}).redis.url == (
        "redis://127.0.0.1:6379/0"
    )


def test_env_rails_are_a_comma_list(tmp_path: Path) -> None:
    """NANOGATE_X402_RAILS is a comma-separated list, spaces and empty items ignored."""
    env = {"NANOGATE_X402_ENABLED": "false", "NANOGATE_X402_RAILS": " nano, base-usdc,,dev "}
    settings = load_settings(write(tmp_path, DESIGN_EXAMPLE), env=env)
    assert settings.x402.rails == ("nano", "base-usdc", "dev")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("off", False),
    ],
)
def test_env_booleans(tmp_path: Path, value: str, expected: bool) -> None:
    """Boolean overrides read 1/true/yes/on as true and 0/false/no/off as false."""
    settings = load_settings(write(tmp_path, DESIGN_EXAMPLE), env={"NANOGATE_X402_ENABLED": value})
    assert settings.x402.enabled is expected
    env = {"NANOGATE_SERVER_CREATE_DEMO_ACCOUNT": value}
    assert load_settings(env=env).server.create_demo_account is expected


def test_invalid_env_value(tmp_path: Path) -> None:
    """An override that does not validate is a ConfigError naming the field."""
    with pytest.raises(ConfigError, match="port"):
        load_settings(write(tmp_path, DESIGN_EXAMPLE), env={"NANOGATE_SERVER_PORT": "http"})


def test_unrelated_env_is_ignored(tmp_path: Path) -> None:
    """Variables that name no setting change nothing."""
    env = {"NANOGATE_SERVER_NOPE": "1", "PORT": "1", "NANOGATE_CONFIG": "/elsewhere.toml"}
    assert load_settings(write(tmp_path, DESIGN_EXAMPLE), env=env).server.port == 8080


# SQLite paths ------------------------------------------------------------------------


def test_relative_sqlite_path_resolves_against_the_file(tmp_path: Path) -> None:
    """A relative SQLite path is relative to the configuration file's directory."""
    conf = tmp_path / "conf"
    conf.mkdir()
    settings = load_settings(write(conf, DESIGN_EXAMPLE), env={})
    assert settings.database.url == f"sqlite:///{conf.resolve() / 'nanogate.db'}"


def test_relative_sqlite_subdirectory(tmp_path: Path) -> None:
    """A relative path with directories keeps them under the file's directory."""
    text = '[database]\nurl = "sqlite:///data/gw.db"\n'
    settings = load_settings(write(tmp_path, text), env={})
    assert settings.database.url == f"sqlite:///{tmp_path.resolve() / 'data' / 'gw.db'}"


def test_env_sqlite_path_also_resolves(tmp_path: Path) -> None:
    """A relative SQLite URL from the environment resolves the same way."""
    settings = load_settings(
        write(tmp_path, DESIGN_EXAMPLE), env={"NANOGATE_DATABASE_URL": "sqlite:///x.db"}
    )
    assert settings.database.url == f"sqlite:///{tmp_path.resolve() / 'x.db'}"


@pytest.mark.parametrize("url", ["sqlite:////var/lib/nanogate.db", "postgresql://u@h/db"])
def test_other_database_urls_are_kept(tmp_path: Path, url: str) -> None:
    """Absolute SQLite paths and PostgreSQL URLs are left as written."""
    settings = load_settings(write(tmp_path, f'[database]\nurl = "{url}"\n'), env={})
    assert settings.database.url == url


# Errors ------------------------------------------------------------------------------


def test_invalid_toml(tmp_path: Path) -> None:
    """A file that is not TOML is a ConfigError naming the file."""
    message = config_error(tmp_path, "[server\nport = 1")
    assert "not valid TOML" in message
    assert "nanogate.toml" in message


def test_unknown_provider(tmp_path: Path) -> None:
    """A model naming an undeclared provider is a ConfigError naming both."""
    message = config_error(tmp_path, LOCAL + '[[models]]\nid = "a"\nprovider = "elsewhere"\n')
    assert "unknown provider" in message
    assert "'elsewhere'" in message


def test_unknown_fallback(tmp_path: Path) -> None:
    """A fallback naming an undeclared model is a ConfigError."""
    text = LOCAL + '[[models]]\nid = "a"\nprovider = "local"\nfallbacks = ["b"]\n'
    message = config_error(tmp_path, text)
    assert "unknown fallback" in message
    assert "'b'" in message


def test_duplicate_model_ids(tmp_path: Path) -> None:
    """Two models with one id are a ConfigError."""
    model = '[[models]]\nid = "a"\nprovider = "local"\n'
    assert "model ids must be unique" in config_error(tmp_path, LOCAL + model + model)


def test_duplicate_provider_names(tmp_path: Path) -> None:
    """Two providers with one name are a ConfigError."""
    assert "provider names must be unique" in config_error(tmp_path, LOCAL + LOCAL)


def test_unknown_capability(tmp_path: Path) -> None:
    """A capability outside the known set is a ConfigError listing the known ones."""
    text = LOCAL + '[[models]]\nid = "a"\nprovider = "local"\ncapabilities = ["telepathy"]\n'
    message = config_error(tmp_path, text)
    assert "telepathy" in message
    assert "vision" in message


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_remote_provider_needs_base_url(tmp_path: Path, kind: str) -> None:
    """An openai or anthropic provider without base_url is a ConfigError."""
    message = config_error(tmp_path, f'[[providers]]\nname = "up"\nkind = "{kind}"\n')
    assert "needs a base_url" in message
    assert "'up'" in message


def test_unknown_provider_kind(tmp_path: Path) -> None:
    """A provider kind outside openai, anthropic and local is a ConfigError."""
    message = config_error(tmp_path, '[[providers]]\nname = "up"\nkind = "grpc"\n')
    assert "providers.0.kind" in message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[server]\nprot = 8080\n", "server.prot"),
        ("[sever]\nport = 8080\n", "sever"),
        ('[[providers]]\nname = "l"\nkind = "local"\nbase = "x"\n', "providers.0.base"),
        (LOCAL + '[[models]]\nid = "a"\nprovider = "local"\nprice = "1"\n', "models.0.price"),
    ],
    ids=["server-field", "section", "provider-field", "model-field"],
)
def test_unknown_field(tmp_path: Path, text: str, where: str) -> None:
    """A misspelled field or section is a ConfigError naming where it is, never ignored."""
    message = config_error(tmp_path, text)
    assert where in message
    assert "Extra inputs are not permitted" in message


def test_moderation_models_load(tmp_path: Path) -> None:
    """A model of type moderation on a local provider is a catalogue model like any other."""
    text = LOCAL + '[[models]]\nid = "mod"\nprovider = "local"\ntype = "moderation"\n'
    settings = load_settings(write(tmp_path, text), env={})
    assert [m.type for m in settings.models] == ["moderation"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[server]\nport = 70000\n", "server.port"),
        ("[server]\nmax_body_bytes = 10\n", "server.max_body_bytes"),
        (
            LOCAL + '[[models]]\nid = "a"\nprovider = "local"\ncontext_window = 0\n',
            "context_window",
        ),
        (
            LOCAL + '[[models]]\nid = "a"\nprovider = "local"\ninput_usd_per_mtok = "-1"\n',
            "input_usd_per_mtok",
        ),
    ],
    ids=["port", "max-body", "context-window", "negative-price"],
)
def test_out_of_range_values(tmp_path: Path, text: str, where: str) -> None:
    """Values outside their range are a ConfigError naming the field."""
    assert where in config_error(tmp_path, text)


@pytest.mark.parametrize("value", ["ture", "enabled", "2"])
def test_env_boolean_typo_is_an_error(tmp_path: Path, value: str) -> None:
    """A boolean override that is neither true-like nor false-like is a ConfigError."""
    with pytest.raises(ConfigError, match="NANOGATE_X402_ENABLED"):
        load_settings(write(tmp_path, DESIGN_EXAMPLE), env={"NANOGATE_X402_ENABLED": value})


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://", "mysql://root@localhost/x"])
def test_unusable_database_urls_are_refused(tmp_path: Path, url: str) -> None:
    """An in-memory SQLite database (each connection would see its own) and unsupported
    databases are configuration errors, not failures at the first request."""
    with pytest.raises(ConfigError, match="database.url"):
        load_settings(None, env={"NANOGATE_DATABASE_URL": url})


def test_serve_says_what_it_uses_and_masks_passwords(tmp_path: Path) -> None:
    """Before serving, ``nanogate serve`` names the configuration, the database and Redis
    with their passwords masked, the models, the x402 rails (warning about the dev rail),
    the add-ons and access log, and the demo account made on this start."""
    from nanogate.cli._serve import startup_lines

    settings = load_settings(
        env={
            "NANOGATE_DATABASE_URL": "postgresql://gate:s3cret@db.internal/gate",
            "NANOGATE_REDIS_URL": "redis://:hunter2@cache:6379/0",
            "NANOGATE_X402_ENABLED": "true",
            "NANOGATE_X402_RAILS": "dev",
        }
    )
    lines = startup_lines(settings, None, "acct_123")
    text = "\n".join(lines)
    assert "s3cret" not in text and "hunter2" not in text
    assert "database: postgresql://gate:***@db.internal/gate" in lines
    assert "redis: redis://:***@cache:6379/0" in lines
    assert lines[0] == "config: the embedded default"
    assert any(line.startswith("models (5): local/chat, local/mini") for line in lines)
    assert "x402: rails dev" in lines and "demo account: acct_123" in lines
    assert any(line.startswith("warning: the x402 dev rail is on") for line in lines)
    quiet = startup_lines(load_settings(), tmp_path / "nanogate.toml", None)
    assert quiet[0] == f"config: {(tmp_path / 'nanogate.toml').resolve()}"
    assert not any(line.startswith(("warning", "demo")) for line in quiet)


def test_serve_says_whether_the_console_is_served(monkeypatch: pytest.MonkeyPatch) -> None:
    """The start-up lines say whether the admin API and the console are on, and why
    not; never the token."""
    from nanogate.cli._serve import startup_lines

    def admin_line() -> str:
        lines = startup_lines(load_settings(), None, None)
        return next(line for line in lines if line.startswith("admin API and console: "))

    monkeypatch.delenv("NANOGATE_ADMIN_TOKEN", raising=False)
    assert admin_line().endswith(
        "off (set NANOGATE_ADMIN_TOKEN to a token of at least 32 characters)"
    )
    monkeypatch.setenv("NANOGATE_ADMIN_TOKEN", "too-short")
    assert admin_line().endswith("off (NANOGATE_ADMIN_TOKEN is shorter than 32 characters)")
    monkeypatch.setenv("NANOGATE_ADMIN_TOKEN", "t" * 32)
    line = admin_line()
    assert "/console" in line and "t" * 32 not in line
