"""BYOK without I/O: sealing credentials, reading a request's BYOK options, the fee."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from nanogate.billing import with_fee
from nanogate.byok import ByokOptions, Sealer, SealError, byok_options, sealer_for
from nanogate.config import ByokSettings, ConfigError
from nanogate.errors import InvalidParameterValue

SECRET = "a-test-secret-that-is-long-enough-1234"


def test_a_sealed_credential_opens_only_for_its_key_and_provider() -> None:
    """Sealing hides the credential; it opens under the same secret for the same key and
    provider, and nowhere else."""
    sealer = Sealer(SECRET)
    sealed = sealer.seal("sk-live-credential-9876", "key_1", "openai")
    assert "sk-live" not in sealed and "9876" not in sealed and sealed.startswith("v1.")
    assert sealer.open(sealed, "key_1", "openai") == "sk-live-credential-9876"
    for key_id, provider in (("key_2", "openai"), ("key_1", "anthropic")):
        with pytest.raises(SealError):
            sealer.open(sealed, key_id, provider)
    with pytest.raises(SealError):
        Sealer(SECRET + "x").open(sealed, "key_1", "openai")


def test_sealing_twice_differs() -> None:
    """Each seal uses a fresh nonce, so equal credentials do not look equal at rest."""
    sealer = Sealer(SECRET)
    assert sealer.seal("same", "k", "p") != sealer.seal("same", "k", "p")


@pytest.mark.parametrize(
    "mangle", [lambda s: s[:-2] + "AA", lambda s: "v2." + s[3:], lambda s: s[:10]]
)
def test_a_tampered_credential_does_not_open(mangle: Any) -> None:
    """Any change to a sealed value, or an unknown format, is refused."""
    sealer = Sealer(SECRET)
    with pytest.raises(SealError):
        sealer.open(mangle(sealer.seal("sk-abc", "k", "p")), "k", "p")


def test_the_secret_comes_from_settings_or_the_environment() -> None:
    """Without a secret BYOK is off; the secret is read inline or from ``secret_env``; a
    short secret is a configuration error."""
    assert sealer_for(ByokSettings(), {}) is None
    assert sealer_for(ByokSettings(), {"NANOGATE_BYOK_SECRET": SECRET}) is not None
    assert sealer_for(ByokSettings(secret=SECRET), {}) is not None
    with pytest.raises(ConfigError):
        sealer_for(ByokSettings(secret="short"), {})


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({}, {}, None),
        ({"x-byok-provider": "openai"}, {}, None),
        ({"x-use-byok": "true"}, {}, ByokOptions()),
        ({"x-use-byok": "1", "x-byok-provider": "openai"}, {}, ByokOptions("openai")),
        ({}, {"byok": {"enabled": True}}, ByokOptions()),
        ({}, {"byok": True}, ByokOptions()),
        ({}, {"byok": {"enabled": False}}, None),
        ({}, {"byok": {"enabled": True, "provider": "anthropic"}}, ByokOptions("anthropic")),
        ({}, {"byok": {"enabled": True, "disableFallbacks": True}}, ByokOptions(fallbacks=False)),
        ({"x-byok-provider": "a"}, {"byok": {"provider": "b"}}, ByokOptions("b")),
    ],
)
def test_byok_options_follow_nanogpt(
    headers: dict[str, str], body: dict[str, Any], expected: ByokOptions | None
) -> None:
    """``x-use-byok`` or a ``byok`` object turn BYOK on; ``x-byok-provider`` or
    ``byok.provider`` pick the provider; ``disableFallbacks`` keeps to the first."""
    assert byok_options(headers, body) == expected


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"byok": "yes"}, "byok"),
        ({"byok": {"enabled": "yes"}}, "byok.enabled"),
        ({"byok": {"provider": 3}}, "byok.provider"),
        ({"byok": {"disableFallbacks": 1}}, "byok.disableFallbacks"),
    ],
)
def test_malformed_byok_options_are_refused(body: dict[str, Any], param: str) -> None:
    """A ``byok`` field of the wrong type is a 400 naming it."""
    with pytest.raises(InvalidParameterValue) as caught:
        byok_options({}, body)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [(1000, Decimal(5), 50), (1, Decimal(5), 1), (0, Decimal(5), 0), (999, Decimal("2.5"), 25)],
)
def test_the_byok_fee_rounds_up_to_the_nano_dollar(
    amount: int, percent: Decimal, expected: int
) -> None:
    """The fee is an exact percentage of the price, rounded up, never a float."""
    assert with_fee(amount, percent) == expected
