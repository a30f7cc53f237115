"""The dev rail: try the whole accountless flow locally, with no money. A request
without a key is quoted; ``nanogate payments simulate`` credits the quote; its
completeUrl answers. The rail is off unless configured."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import make_settings
from tests.x402_helpers import Clock
from typer.testing import CliRunner

from nanogate.cli._app import app
from nanogate.config import X402Settings

runner = CliRunner()
BODY = {"model": "local/chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}


def cli(config: Path, *args: str) -> Any:
    result = runner.invoke(app, [*args, "--config", str(config)])
    if "--json" in args and result.exit_code == 0:
        return orjson.loads(result.stdout)
    return result


@pytest.fixture
def gateway(serve_gateway: LiveFactory, tmp_path: Path) -> tuple[Live, Path]:
    """A gateway with the dev rail on, and an operator's config file for its database."""
    return _serve(serve_gateway, tmp_path)


def _serve(
    serve_gateway: LiveFactory, tmp_path: Path, clock: Clock | None = None
) -> tuple[Live, Path]:
    settings = make_settings(tmp_path)
    settings = settings.model_copy(update={"x402": X402Settings(enabled=True, rails=("dev",))})
    config = tmp_path / "operator.toml"
    config.write_text(
        f'[database]\nurl = "{settings.database.url}"\n\n[x402]\nenabled = true\nrails = ["dev"]\n'
    )
    return serve_gateway(settings, clock=clock), config


def test_simulate_then_complete_answers_the_quoted_request(gateway: tuple[Live, Path]) -> None:
    """Quote → ``payments simulate`` → status paid → complete answers → show says
    completed with the run's request id."""
    live, config = gateway
    payment = httpx.post(live.url + "/api/v1/chat/completions", json=BODY, timeout=10).json()[
        "payment"
    ]
    (dev,) = payment["accepted"]
    assert (dev["scheme"], dev["network"], dev["amountFormatted"]) == ("dev", "dev", "0.0001 USD")
    credited = cli(config, "payments", "simulate", payment["paymentId"], "--json")
    assert credited["status"] == "paid" and credited["rails"][0]["received"] == dev["amount"]
    assert httpx.get(payment["statusUrl"], timeout=10).json()["status"] == "paid"
    answer = httpx.post(payment["completeUrl"], timeout=10)
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == "You said: hi"
    shown = cli(config, "payments", "show", payment["paymentId"], "--json")
    assert shown["status"] == "completed" and shown["requestId"] == answer.headers["x-request-id"]
    assert shown["runs"] == 1 and shown["paidWith"] == "dev" and shown["amountUsd"] == "0.0001"
    (receipt,) = shown["receipts"]
    assert receipt["scheme"] == "dev" and receipt["amount"] == dev["amount"]


def test_a_partial_simulation_leaves_the_payment_underpaid(gateway: tuple[Live, Path]) -> None:
    """``--amount`` credits part of the quote: underpaid, and complete is refused 402."""
    live, config = gateway
    payment = httpx.post(live.url + "/api/v1/chat/completions", json=BODY, timeout=10).json()[
        "payment"
    ]
    credited = cli(config, "payments", "simulate", payment["paymentId"], "--amount", "40", "--json")
    assert credited["status"] == "underpaid"
    refused = httpx.post(payment["completeUrl"], timeout=10)
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "payment_pending"
    assert cli(config, "payments", "simulate", payment["paymentId"], "--json")["status"] == "paid"
    assert httpx.post(payment["completeUrl"], timeout=10).status_code == 200


def test_simulate_refuses_what_it_cannot_credit(gateway: tuple[Live, Path], tmp_path: Path) -> None:
    """Unknown payments, completed payments and a configuration without the dev rail are
    refused with a message and exit code 1; an amount that is not a positive whole number
    is a usage error (exit code 2) and credits nothing."""
    live, config = gateway
    assert "no payment" in cli(config, "payments", "simulate", "pay_nope").output
    payment = httpx.post(live.url + "/api/v1/chat/completions", json=BODY, timeout=10).json()[
        "payment"
    ]
    for amount, reason in [
        ("1.5", "whole number"),
        ("\u00b2", "whole number"),
        ("0", "more than 0"),
    ]:
        bad = cli(config, "payments", "simulate", payment["paymentId"], "--amount", amount)
        assert bad.exit_code == 2 and reason in bad.stderr, bad.output
    assert cli(config, "payments", "show", payment["paymentId"], "--json")["receipts"] == []
    cli(config, "payments", "simulate", payment["paymentId"])
    httpx.post(payment["completeUrl"], timeout=10)
    done = cli(config, "payments", "simulate", payment["paymentId"])
    assert done.exit_code == 1 and "completed" in done.output
    off = tmp_path / "off.toml"
    off.write_text(config.read_text().replace("enabled = true", "enabled = false"))
    refused = cli(off, "payments", "simulate", payment["paymentId"])
    assert refused.exit_code == 1 and "dev rail is off" in refused.output


def test_a_credit_after_expiry_is_late_and_does_not_pay(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """A dev credit made after the quote's expiresAt is recorded as late: the payment is
    expired (complete 410), and ``show`` lists the credit with when it arrived."""
    clock = Clock()
    clock.offset = -timedelta(hours=1)  # the quote expired long before the CLI credits it
    live, config = _serve(serve_gateway, tmp_path, clock)
    payment = httpx.post(live.url + "/api/v1/chat/completions", json=BODY, timeout=10).json()[
        "payment"
    ]
    (dev,) = payment["accepted"]
    credited = cli(config, "payments", "simulate", payment["paymentId"], "--json")
    assert credited["status"] == "expired"
    assert (credited["rails"][0]["received"], credited["rails"][0]["late"]) == ("0", dev["amount"])
    refused = httpx.post(payment["completeUrl"], timeout=10)
    assert refused.status_code == 410 and "refund" in refused.json()["error"]["message"]
    shown = cli(config, "payments", "show", payment["paymentId"], "--json")
    (receipt,) = shown["receipts"]
    assert receipt["late"] is True and receipt["amount"] == dev["amount"]
    assert receipt["arrivedAt"] >= shown["expiresAt"]
