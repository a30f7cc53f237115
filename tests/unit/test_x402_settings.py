"""The ``[x402]`` section: each enabled rail must say where its money goes and how it
is seen; mistakes are refused when the configuration loads, naming the table."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from nanogate.config import ConfigError, RailSettings, X402Settings, load_settings


def test_x402_is_off_by_default_and_needs_nothing() -> None:
    """The embedded default has x402 off, no rails, and the default endpoint matrix."""
    x402 = load_settings().x402
    assert not x402.enabled and x402.rails == ()
    assert "POST /api/v1/chat/completions" in x402.endpoints


def test_a_toml_file_configures_rails_by_their_names(tmp_path: Path) -> None:
    """Rail tables are named as the rails are (``[x402."x402-exact"]``); a single
    ``pay_to`` string is a pool of one."""
    path = tmp_path / "nanogate.toml"
    path.write_text(
        """
[x402]
enabled = true
rails = ["nano", "x402-exact"]
require_opt_in = true

[x402.nano]
node_url = "http://127.0.0.1:7076"
pay_to = ["nano_1a", "nano_1b"]
usd_per_unit = "0.85"

[x402."x402-exact"]
facilitator_url = "http://127.0.0.1:8402"
pay_to = "0xTreasury"
"""
    )
    x402 = load_settings(path).x402
    assert x402.rail("nano").pay_to == ("nano_1a", "nano_1b")
    assert x402.rail("nano").usd_per_unit == Decimal("0.85")
    assert x402.rail("x402-exact").pay_to == ("0xTreasury",)
    assert x402.require_opt_in


@pytest.mark.parametrize(
    ("rails", "tables", "complaint"),
    [
        (("nano",), {"nano": RailSettings(node_url="http://n", usd_per_unit=1)}, "needs pay_to"),
        (("nano",), {"nano": RailSettings(pay_to=("a",), node_url="http://n")}, "usd_per_unit"),
        (("base-usdc",), {"base_usdc": RailSettings(pay_to=("0x1",))}, "needs node_url"),
        (("x402-exact",), {"x402_exact": RailSettings(pay_to=("0x1",))}, "facilitator_url"),
        (
            ("x402-exact",),
            {"x402_exact": RailSettings(pay_to=("0x1", "0x2"), facilitator_url="http://f")},
            "one address",
        ),
        (
            ("base-usdc",),
            {"base_usdc": RailSettings(pay_to=("0xnot",), node_url="http://n")},
            "not an EVM address",
        ),
        (
            ("nano",),
            {"nano": RailSettings(pay_to=("a", "a"), node_url="http://n", usd_per_unit=1)},
            "twice",
        ),
        ((), {}, "lists no rails"),
        (("dev", "dev"), {}, "must not repeat"),
        (("paypal",), {}, "unknown x402 rails"),
    ],
)
def test_incomplete_rails_are_refused(
    rails: tuple[str, ...], tables: dict[str, RailSettings], complaint: str
) -> None:
    """An enabled rail without its address, node, facilitator or price is refused."""
    with pytest.raises(ValidationError, match=complaint):
        X402Settings(enabled=True, rails=rails, **tables)


def test_only_quotable_endpoints_can_be_listed() -> None:
    """The matrix can only name endpoints that can be paid per request."""
    with pytest.raises(ValidationError, match="cannot quote"):
        X402Settings(endpoints=("POST /api/v1/responses",))


def test_the_dev_rail_alone_needs_no_peer(tmp_path: Path) -> None:
    """``rails = ["dev"]`` is all it takes to try the flow locally."""
    path = tmp_path / "nanogate.toml"
    path.write_text('[x402]\nenabled = true\nrails = ["dev"]\n')
    assert load_settings(path).x402.rails == ("dev",)
    path.write_text('[x402]\nenabled = true\nrails = ["nano"]\n')
    with pytest.raises(ConfigError, match='x402."nano"'):
        load_settings(path)


def test_min_usd_is_whole_nano_dollars() -> None:
    """A minimum finer than a nano-dollar (the money unit) is refused at load."""
    with pytest.raises(ValidationError, match="nine decimals"):
        X402Settings(min_usd=Decimal("0.0000000005"))
