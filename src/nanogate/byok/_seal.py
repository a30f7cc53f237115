"""Sealing credentials at rest: AES-256-GCM under a key derived from the server secret.

A sealed value is ``v1.`` and the URL-safe base64 of a random 96-bit nonce followed by
the ciphertext and tag. The key id and provider name are bound in as associated
data, so a sealed credential copied to another key or provider does not open.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from nanogate.config import ByokSettings, ConfigError

_VERSION = "v1."
_INFO = b"nanogate byok credentials v1"
MIN_SECRET_LENGTH = 32


class SealError(Exception):
    """A sealed value that cannot be opened: tampered, moved, or sealed under another secret."""


class Sealer:
    """Seals and opens credentials with one server secret. ``info`` separates the keys
    derived for different uses of one secret (context memory seals with its own)."""

    def __init__(self, secret: str, info: bytes = _INFO) -> None:
        # imported here: a gateway without BYOK never loads the library (about 8 MiB)
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"the secret must be at least {MIN_SECRET_LENGTH} characters")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
            secret.encode()
        )
        self._aead = AESGCM(key)
        self._refused: tuple[type[Exception], ...] = (InvalidTag, ValueError)

    def seal(self, credential: str, key_id: str, provider: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, credential.encode(), _bound(key_id, provider))
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, key_id: str, provider: str) -> str:
        if not sealed.startswith(_VERSION):
            raise SealError("unknown sealed-credential format")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_VERSION) :])
            plain = self._aead.decrypt(raw[:12], raw[12:], _bound(key_id, provider))
        except self._refused as exc:
            raise SealError("the credential cannot be opened with this server's secret") from exc
        return plain.decode()


def sealer_for(settings: ByokSettings, env: Mapping[str, str]) -> Sealer | None:
    """The sealer of the configured secret (inline, or from ``secret_env``), or ``None``
    when there is none and BYOK is off."""
    secret = settings.secret.get_secret_value() if settings.secret is not None else None
    secret = secret or env.get(settings.secret_env)
    if not secret:
        return None
    try:
        return Sealer(secret)
    except ValueError as exc:
        raise ConfigError(f"[byok] {exc}") from None


def _bound(key_id: str, provider: str) -> bytes:
    return f"{key_id}\x00{provider}".encode()
