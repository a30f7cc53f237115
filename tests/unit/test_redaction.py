"""Credentials never reach a log line."""

from __future__ import annotations

import logging
import logging.config

import pytest

from nanogate.core._redact import MASK, redact
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
