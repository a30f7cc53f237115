"""Credentials never reach a log line: by their shape, and by their value when known."""

from __future__ import annotations

import io
import logging
import logging.config
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers import logging_restored, make_settings, with_provider

from nanogate.config import ProviderSettings
from nanogate.core import KnownSecrets, Secrets, url_secrets
from nanogate.core._redact import MASK, redact
from nanogate.server import create_app
from nanogate.server._logging import RedactingFilter, log_config

KEY = "sk-nano-3f0c1a2b-1111-4222-8333-444455556666"


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {KEY}",
        f"authorization=Bearer {KEY}",
        f"{{'x-api-key': '{KEY}'}}",
        f'{{"api_key": "{KEY}"}}',
        f"calling with {KEY} now",
        "X-PAYMENT: eyJ4NDAyVmVyc2lvbiI6MX0=",
        "x-byok-key=upstream-secret-value",
        "Bearer abc.def-ghi",
        "upstream said sk-proj-abcdefghijklmnop",
        "cannot connect to postgresql://gate:upstream-secret-value@db:5432/nanogate",
        "Invalid API key: upstream-secret-value",
        "Incorrect API key provided: upstream-secret-value.",
    ],
)
def test_redact_masks_every_credential_form(text: str) -> None:
    """Keys, bearer tokens and credential headers are masked in any of their usual forms."""
    cleaned = redact(text)
    assert MASK in cleaned
    for secret in (
        KEY,
        "eyJ4NDAyVmVyc2lvbiI6MX0=",
        "upstream-secret-value",
        "abc.def-ghi",
        "sk-proj-abcdefghijklmnop",
    ):
        assert secret not in cleaned


def test_redact_leaves_ordinary_text_alone() -> None:
    """Request ids, model names and messages without secrets pass unchanged."""
    text = "request_id=req_0123456789abcdef01234567 model=local/chat status=200 skipped tasks"
    assert redact(text) == text


def test_the_filter_masks_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A credential in a log message, its arguments or an exception is masked before output."""
    logger = logging.getLogger("nanogate.test-redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="nanogate.test-redaction"):
        logger.info("key %s used", KEY)
        try:
            raise RuntimeError(f"upstream refused Bearer {KEY}")
        except RuntimeError:
            logger.exception("failed")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert KEY not in text
    assert MASK in text


def test_serve_log_config_redacts_every_handler() -> None:
    """Every handler of the configuration `nanogate serve` installs carries the filter,
    and the gateway's own loggers are routed to one."""
    config = log_config("info")
    assert all(h["filters"] == ["redact"] for h in config["handlers"].values())
    assert config["loggers"]["nanogate"]["handlers"] == ["gateway"]
    gateway = logging.getLogger("nanogate")
    try:
        logging.config.dictConfig(config)  # it is a valid configuration
        assert isinstance(gateway.handlers[0].filters[0], RedactingFilter)
    finally:
        gateway.handlers.clear()
        gateway.propagate = True
        gateway.setLevel(logging.NOTSET)


# Literal secrets -------------------------------------------------------------------------

CREDENTIAL = "opcred-4f7c2a9e1b3d5f60a7c9"


@pytest.mark.parametrize(
    "text",
    [
        f"Invalid token {CREDENTIAL}",
        f"Invalid token {CREDENTIAL}.",
        f'{{"token":"{CREDENTIAL}"}}',
        f"token {CREDENTIAL[:12]}… is not valid",
        f"token {CREDENTIAL[:8]} is not valid",
        f"token {CREDENTIAL[:9]}XYZXYZ is not valid",
        f"{CREDENTIAL}{CREDENTIAL}",
    ],
)
def test_a_known_value_is_masked_whole_or_cut_short(text: str) -> None:
    """A credential the gateway knows is masked whatever its shape: whole, cut short to
    eight characters or more, or as the start of a longer token."""
    cleaned = Secrets([CREDENTIAL]).mask(text)
    assert MASK in cleaned and CREDENTIAL[:8] not in cleaned
    assert redact(text, Secrets([CREDENTIAL])) == cleaned


def test_short_values_and_the_end_of_a_value_are_left_alone() -> None:
    """Values shorter than eight characters are not masked (placeholders such as
    ``ollama`` would garble every mention), nor are a value's last characters alone
    or its first seven; the set never shows its values."""
    secrets = Secrets(["ollama", CREDENTIAL, None, ""])
    text = f"provider ollama said ...{CREDENTIAL[-6:]} and {CREDENTIAL[:7]}"
    assert secrets.mask(text) == text
    assert len(secrets) == 1 and CREDENTIAL not in repr(secrets)
    assert not Secrets(["ollama"]) and Secrets().mask(CREDENTIAL) == CREDENTIAL


def test_the_longest_matching_value_wins() -> None:
    """Of two values sharing their start, the one the text holds is masked whole, and
    nothing of either is left; sets combine and subtract as sets."""
    other = CREDENTIAL[:10] + "zzzzzzzzzzzz"
    secrets = Secrets([CREDENTIAL, other])
    assert secrets.mask(f"a {CREDENTIAL} b {other} c") == f"a {MASK} b {MASK} c"
    assert (secrets | Secrets(["another-secret"])).mask("another-secret") == MASK
    assert len(secrets - Secrets([other])) == 1 and not secrets - secrets


def test_known_secrets_are_held_as_long_as_a_request_holds_them() -> None:
    """Fixed values are always known; a held value is known until every holder released
    it, and a release of a value never held changes nothing."""
    byok = Secrets(["usercred-9a8b7c6d5e4f"])
    known = KnownSecrets(Secrets([CREDENTIAL]))
    known.hold(byok)
    known.hold(byok)
    known.release(byok)
    assert known.current.mask("usercred-9a8b7c6d5e4f") == MASK
    known.release(byok)
    assert known.current.mask("usercred-9a8b7c6d5e4f") == "usercred-9a8b7c6d5e4f"
    known.release(byok)
    assert known.current.mask(CREDENTIAL) == MASK
    assert CREDENTIAL not in repr(known)


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("http://127.0.0.1:8000/v1", ()),
        ("https://api.openai.com/v1?api-version=2024-06-01", ()),
        ("https://gate:hunter2-password@node.example/rpc", ("gate", "hunter2-password")),
        ("https://node.example/rpc?apikey=abc123def456&chain=1", ("abc123def456",)),
        (
            "https://eth-mainnet.g.alchemy.com/v2/k3y0f20charsAbcd1234efgh",
            ("k3y0f20charsAbcd1234efgh",),
        ),
        ("https://example.com/my-deployment-name-is-long/v1", ()),
        ("http://[::1", ()),
    ],
)
def test_url_secrets_are_the_parts_that_carry_credentials(url: str, found: tuple[str, ...]) -> None:
    """A URL's user information, credential-named query values and key-shaped path
    segments are secrets; version paths, dates and names are not."""
    assert url_secrets(url) == found


@pytest.fixture
def configured_logging() -> Iterator[io.StringIO]:
    """The logging configuration of ``nanogate serve``, writing into a buffer; the
    loggers it touches are put back afterwards."""
    with logging_restored():
        logging.config.dictConfig(log_config("debug"))
        buffer = io.StringIO()
        for name in ("nanogate", "uvicorn", "uvicorn.access"):
            for handler in logging.getLogger(name).handlers:
                assert isinstance(handler, logging.StreamHandler)
                handler.setStream(buffer)
        yield buffer


def test_the_served_log_handlers_mask_the_gateways_credentials(
    configured_logging: io.StringIO, tmp_path: Path
) -> None:
    """Once a gateway is built, every handler `nanogate serve` configures masks the
    operator's credential (read from ``api_key_env``, or in the provider's URL) and, while
    a request holds it, a caller's own, in messages, arguments and tracebacks, on the
    gateway's loggers and uvicorn's."""
    settings = with_provider(
        make_settings(tmp_path),
        ProviderSettings(
            name="up",
            kind="openai",
            base_url="http://127.0.0.1:9/v1?token=urlcred-0123456789",
            api_key_env="UP_KEY",
        ),
        [],
    )
    app = create_app(settings, env={"UP_KEY": CREDENTIAL})
    byok = Secrets(["usercred-9a8b7c6d5e4f"])
    app.state.secrets.hold(byok)
    logging.getLogger("nanogate.upstream").info("upstream answered 401: Invalid %s", CREDENTIAL)
    logging.getLogger("nanogate.byok").debug("tried usercred-9a8b7c6d5e4f")
    logging.getLogger("uvicorn").warning("upstream said urlcred-0123456789 is wrong")
    try:
        raise RuntimeError(f"token {CREDENTIAL} refused")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    output = configured_logging.getvalue()
    assert output.count(MASK) == 4, output
    assert all(s not in output for s in (CREDENTIAL[:8], "usercred", "urlcred")), output
    app.state.secrets.release(byok)
    logging.getLogger("nanogate.byok").info("later usercred-9a8b7c6d5e4f")
    assert "later usercred" in configured_logging.getvalue(), "released with its request"
