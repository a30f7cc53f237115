"""The exact rail's client: an x402 facilitator, which verifies and settles signed
payments on the gateway's behalf.

``POST /verify`` and ``POST /settle`` both take ``{"x402Version": 1, "paymentPayload":
..., "paymentRequirements": ...}``, or version 2 for a v2 payload (with v2
requirements: ``amount``, a CAIP-2 network). A refusal is an answer like any other (``isValid`` or
``success`` false, with the facilitator's reason); only a peer that cannot be reached,
fails (any status other than 2xx) or answers without the boolean raises
:class:`~nanogate.rails.RailError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nanogate.providers._http import SessionFactory
from nanogate.rails._jsonrpc import JsonPeer

X402_VERSION = 1


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """A facilitator's word on a payment it was asked to check, before settling it."""

    valid: bool
    reason: str | None
    """Why it is invalid (x402's ``invalidReason``: ``invalid_exact_evm_payload_signature``...)."""
    payer: str | None


@dataclass(frozen=True, slots=True)
class SettleResult:
    """How settling a payment went: on success, the transaction that moved the funds."""

    success: bool
    reason: str | None
    """Why it failed (x402's ``errorReason``)."""
    transaction: str | None
    network: str | None
    payer: str | None


def _text(answer: Mapping[str, Any], key: str) -> str | None:
    """An optional string field; absent, null, empty or not a string reads as None."""
    value = answer.get(key)
    return value if isinstance(value, str) and value else None


class Facilitator:
    """An x402 v1 facilitator at ``url`` (with or without a trailing slash)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 15.0,
        session_factory: SessionFactory | None = None,
    ) -> None:
        self._peer = JsonPeer(
            "x402 facilitator",
            url.rstrip("/"),
            timeout_s=timeout_s,
            session_factory=session_factory,
        )

    async def _post(
        self, path: str, payment: Mapping[str, Any], requirements: Mapping[str, Any]
    ) -> dict[str, Any]:
        version = payment.get("x402Version")
        body = {
            "x402Version": version if version == 2 else X402_VERSION,
            "paymentPayload": payment,
            "paymentRequirements": requirements,
        }
        return await self._peer.post(body, what=path.strip("/"), path=path)

    async def verify(
        self, payment: Mapping[str, Any], requirements: Mapping[str, Any]
    ) -> VerifyResult:
        """Whether ``payment`` (an x402 payment payload) satisfies ``requirements``."""
        answer = await self._post("/verify", payment, requirements)
        valid = answer.get("isValid")
        if not isinstance(valid, bool):
            raise self._peer.malformed("verify", "isValid is not a boolean")
        reason = self._peer.clean(_text(answer, "invalidReason"))
        return VerifyResult(valid, reason, _text(answer, "payer"))

    async def settle(
        self, payment: Mapping[str, Any], requirements: Mapping[str, Any]
    ) -> SettleResult:
        """Settle ``payment`` on its network: the facilitator submits the transfer."""
        answer = await self._post("/settle", payment, requirements)
        success = answer.get("success")
        if not isinstance(success, bool):
            raise self._peer.malformed("settle", "success is not a boolean")
        return SettleResult(
            success,
            self._peer.clean(_text(answer, "errorReason")),
            _text(answer, "transaction"),
            _text(answer, "network"),
            _text(answer, "payer"),
        )

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._peer.close()
