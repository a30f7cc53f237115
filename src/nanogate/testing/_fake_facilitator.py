"""A fake x402 facilitator (versions 1 and 2) that checks ``exact`` payments.

``POST /verify`` and ``POST /settle`` take ``{"x402Version": 1 or 2, "paymentPayload":
..., "paymentRequirements": ...}``. A payment is valid when, in this order: its
``x402Version`` is the body's, both sides' scheme is ``exact`` (a v2 payload's in its
``accepted``), their networks agree (any network name will do), the payload is well
formed, its signature is either :meth:`FakeFacilitator.sign` of its authorization (a
test wallet) or a real EIP-712 ``TransferWithAuthorization`` signature by its ``from``
(EIP-3009, as the official x402 SDK signs: the domain's name and version from the
requirements' ``extra``, the chain from the network, the asset as the verifying
contract; checked with ``eth_account``), it pays ``payTo`` (case-insensitively) exactly
the amount (``maxAmountRequired``, or v2's ``amount``),
``validAfter <= now < validBefore``, and its payer has not settled its nonce before.
Each failed check answers the reason x402 names it by (``invalid_scheme``,
``invalid_exact_evm_payload_signature``...). A settle re-verifies, then spends the nonce
and answers a fake transaction hash. :func:`exact_payment` makes the payload a wallet
would send. Served with :class:`~nanogate.testing.ServedAioHTTP`; a test thread may call
its methods while it runs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

PAYER = "0x" + "22" * 20
"""The wallet that pays unless the test names another."""

CHAIN_IDS = {"base": 8453, "base-sepolia": 84532, "avalanche": 43114, "avalanche-fuji": 43113}
"""EVM chain ids of the v1 network names (v2 names them ``eip155:<id>``)."""
TRANSFER_WITH_AUTHORIZATION = {
    "TransferWithAuthorization": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "validAfter", "type": "uint256"},
        {"name": "validBefore", "type": "uint256"},
        {"name": "nonce", "type": "bytes32"},
    ]
}
"""EIP-3009's typed data, as USDC's contract (and x402's exact scheme) defines it."""


PERMIT2 = "0x000000000022D473030F116dDEE9F6B43aC78BA3"
"""Uniswap's Permit2 contract, the verifying contract of ``upto`` permits."""
UPTO_PROXY = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002"
PERMIT_WITNESS_TRANSFER_FROM = {
    "PermitWitnessTransferFrom": [
        {"name": "permitted", "type": "TokenPermissions"},
        {"name": "spender", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
        {"name": "witness", "type": "Witness"},
    ],
    "TokenPermissions": [
        {"name": "token", "type": "address"},
        {"name": "amount", "type": "uint256"},
    ],
    "Witness": [
        {"name": "to", "type": "address"},
        {"name": "facilitator", "type": "address"},
        {"name": "validAfter", "type": "uint256"},
    ],
}
"""x402 ``upto``'s Permit2 typed data (a permit with its witness)."""
FACILITATOR = "0x" + "fa" * 20
"""The fake's own address, which ``upto`` permits must name as their facilitator."""


def permit2_signer(network: str, permit: Mapping[str, Any], signature: str) -> str | None:
    """The address whose Permit2 signature of ``permit`` ``signature`` is, or ``None``."""
    chain = chain_id(network)
    if chain is None:
        return None
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    try:
        permitted, witness = permit["permitted"], permit["witness"]
        message = encode_typed_data(
            domain_data={"name": "Permit2", "chainId": chain, "verifyingContract": PERMIT2},
            message_types=PERMIT_WITNESS_TRANSFER_FROM,
            message_data={
                "permitted": {"token": permitted["token"], "amount": int(permitted["amount"])},
                "spender": permit["spender"],
                "nonce": int(permit["nonce"]),
                "deadline": int(permit["deadline"]),
                "witness": {
                    "to": witness["to"],
                    "facilitator": witness["facilitator"],
                    "validAfter": int(witness["validAfter"]),
                },
            },
        )
        return str(Account.recover_message(message, signature=signature))
    except Exception:  # noqa: BLE001 - whatever does not recover is not a signature
        return None


def chain_id(network: str) -> int | None:
    if network.startswith("eip155:") and network[7:].isdigit():
        return int(network[7:])
    return CHAIN_IDS.get(network)


def eip712_signer(
    network: str,
    requirements: Mapping[str, Any],
    authorization: Mapping[str, str],
    signature: str,
) -> str | None:
    """The address whose EIP-712 signature of ``authorization`` ``signature`` is, or
    ``None`` when it is not one (or the network is not an EVM chain)."""
    chain = chain_id(network)
    extra = requirements.get("extra")
    if chain is None or not isinstance(extra, Mapping) or "name" not in extra:
        return None
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    try:
        message = encode_typed_data(
            domain_data={
                "name": str(extra["name"]),
                "version": str(extra.get("version", "1")),
                "chainId": chain,
                "verifyingContract": str(requirements.get("asset")),
            },
            message_types=TRANSFER_WITH_AUTHORIZATION,
            message_data={
                "from": authorization["from"],
                "to": authorization["to"],
                "value": int(authorization["value"]),
                "validAfter": int(authorization["validAfter"]),
                "validBefore": int(authorization["validBefore"]),
                "nonce": bytes.fromhex(authorization["nonce"].removeprefix("0x")),
            },
        )
        return str(Account.recover_message(message, signature=signature))
    except Exception:  # noqa: BLE001 - whatever does not recover is not a signature
        return None


_DIGITS = re.compile(r"[0-9]{1,78}")
_AUTHORIZATION_FIELDS = ("from", "to", "value", "validAfter", "validBefore", "nonce")


@dataclass(frozen=True, slots=True)
class _Check:
    """What verifying a payment found."""

    reason: str | None
    payer: str | None
    network: str | None
    nonce_key: tuple[str, str, str] | None = None


def _answer(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), content_type="application/json")


class FakeFacilitator:
    """An x402 facilitator for test wallets; ``verified`` and ``settled`` record requests."""

    def __init__(self) -> None:
        self.verified: list[dict[str, Any]] = []
        """The body of each verify request, in order."""
        self.settled: list[dict[str, Any]] = []
        """The body of each settle request that succeeded, in order."""
        self._lock = threading.Lock()
        self._spent: set[tuple[str, str, str]] = set()
        self._failures: deque[int] = deque()
        self._refusals: deque[str] = deque()
        self._settle_failures: deque[int] = deque()

    @staticmethod
    def sign(authorization: Mapping[str, Any]) -> str:
        """A test wallet's signature of ``authorization``: deterministic, and valid for
        this fake only."""
        canonical = orjson.dumps(dict(authorization), option=orjson.OPT_SORT_KEYS)
        return "0x" + hashlib.sha256(b"fake-facilitator:" + canonical).hexdigest()

    # What a test does ------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` requests with HTTP ``status`` and a body that is not
        JSON (``status=200`` makes that a garbled success)."""
        with self._lock:
            self._failures.extend([status] * count)

    def refuse_settle_next(self, reason: str = "unexpected_settle_error") -> None:
        """The next settle fails with ``reason``, whatever its payment (its nonce is not
        spent)."""
        with self._lock:
            self._refusals.append(reason)

    def fail_settle_next(self, status: int = 502) -> None:
        """The next settle answers HTTP ``status`` after settling (the payment is spent,
        but the caller cannot know it): a settlement whose outcome is unknown."""
        with self._lock:
            self._settle_failures.append(status)

    # The API ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/verify", self._verify)
        app.router.add_post("/settle", self._settle)
        return app

    async def _read(self, request: web.Request) -> dict[str, Any] | web.Response:
        """The request's body, or the answer to give instead of reading it."""
        raw = await request.read()
        with self._lock:
            if self._failures:
                return web.Response(status=self._failures.popleft(), text="fake failure")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _answer({"error": "the body is not JSON"}, 400)
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), dict) for k in ("paymentPayload", "paymentRequirements")
        ):
            return _answer({"error": "paymentPayload and paymentRequirements are required"}, 400)
        return body

    async def _verify(self, request: web.Request) -> web.Response:
        body = await self._read(request)
        if isinstance(body, web.Response):
            return body
        with self._lock:
            self.verified.append(body)
            check = self._check(body, settling=False)
        return _answer(
            {"isValid": check.reason is None, "invalidReason": check.reason, "payer": check.payer}
        )

    async def _settle(self, request: web.Request) -> web.Response:
        body = await self._read(request)
        if isinstance(body, web.Response):
            return body
        with self._lock:
            check = self._check(body, settling=True)
            reason = self._refusals.popleft() if self._refusals else check.reason
            transaction = ""
            amount = str(body["paymentRequirements"].get("amount", ""))
            if reason is None and check.nonce_key is not None:
                self._spent.add(check.nonce_key)
                self.settled.append(body)
                if amount != "0":  # an upto permit settled for nothing moves nothing
                    digest = hashlib.sha256(repr(check.nonce_key).encode()).hexdigest()
                    transaction = "0x" + digest
            lost = self._settle_failures.popleft() if self._settle_failures else None
        if lost is not None:
            return web.Response(status=lost, text="fake failure after settling")
        return _answer(
            {
                "success": reason is None,
                "errorReason": reason,
                "transaction": transaction,
                "network": check.network,
                "payer": check.payer,
                **({"amount": amount} if body.get("x402Version") == 2 else {}),
            }
        )

    def _check(self, body: dict[str, Any], *, settling: bool) -> _Check:
        """Verify a request's payment against its requirements (under the lock)."""
        payment, requirements = body["paymentPayload"], body["paymentRequirements"]
        version = body.get("x402Version")
        accepted = payment.get("accepted") if version == 2 else payment
        accepted = accepted if isinstance(accepted, dict) else {}
        network = accepted.get("network")
        network = network if isinstance(network, str) else None
        payload = payment.get("payload")
        authorization = payload.get("authorization") if isinstance(payload, dict) else None
        payer = authorization.get("from") if isinstance(authorization, dict) else None
        payer = payer if isinstance(payer, str) else None

        def refuse(reason: str) -> _Check:
            return _Check(reason, payer, network)

        if version not in (1, 2) or payment.get("x402Version") != version:
            return refuse("invalid_x402_version")
        if version == 2 and accepted.get("scheme") == "upto":
            return self._check_upto(payment, requirements, network, settling)
        if accepted.get("scheme") != "exact" or requirements.get("scheme") != "exact":
            return refuse("invalid_scheme")
        if network is None or network != requirements.get("network"):
            return refuse("invalid_network")
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("signature"), str)
            or not isinstance(authorization, dict)
            or not all(isinstance(authorization.get(k), str) for k in _AUTHORIZATION_FIELDS)
            or not all(
                _DIGITS.fullmatch(authorization[k]) for k in ("value", "validAfter", "validBefore")
            )
        ):
            return refuse("invalid_payload")
        signature = payload["signature"]
        if not hmac.compare_digest(signature, self.sign(authorization)):
            signer = eip712_signer(network, requirements, authorization, signature)
            if signer is None or signer.lower() != authorization["from"].lower():
                return refuse("invalid_exact_evm_payload_signature")
        if authorization["to"].lower() != str(requirements.get("payTo", "")).lower():
            return refuse("invalid_exact_evm_payload_recipient_mismatch")
        amount = requirements.get("maxAmountRequired" if version == 1 else "amount", "")
        if authorization["value"] != str(amount):
            return refuse("invalid_exact_evm_payload_authorization_value")
        now = int(time.time())
        if int(authorization["validBefore"]) <= now:
            return refuse("invalid_exact_evm_payload_authorization_valid_before")
        if int(authorization["validAfter"]) > now:
            return refuse("invalid_exact_evm_payload_authorization_valid_after")
        key = (network, authorization["from"].lower(), authorization["nonce"].lower())
        if key in self._spent:
            return refuse("invalid_exact_evm_payload_authorization_nonce_used")
        return _Check(None, payer, network, key)

    def _check_upto(
        self,
        payment: dict[str, Any],
        requirements: dict[str, Any],
        network: str | None,
        settling: bool,
    ) -> _Check:
        """An ``upto`` Permit2 payment: signed by its owner, naming this facilitator and
        the upto proxy, paying ``payTo``; verified for exactly its maximum, settled for
        at most that (a zero amount moves nothing)."""
        payload = payment.get("payload")
        permit = payload.get("permit2Authorization") if isinstance(payload, dict) else None
        owner = permit.get("from") if isinstance(permit, dict) else None
        owner = owner if isinstance(owner, str) else None

        def refuse(reason: str) -> _Check:
            return _Check(reason, owner, network)

        if requirements.get("scheme") != "upto":
            return refuse("invalid_scheme")
        if network is None or network != requirements.get("network"):
            return refuse("invalid_network")
        signature = payload.get("signature") if isinstance(payload, dict) else None
        if not isinstance(permit, dict) or owner is None or not isinstance(signature, str):
            return refuse("invalid_payload")
        signer = permit2_signer(network, permit, signature)
        if signer is None or signer.lower() != owner.lower():
            return refuse("invalid_upto_evm_payload_signature")
        witness, permitted = permit.get("witness") or {}, permit.get("permitted") or {}
        if str(witness.get("to", "")).lower() != str(requirements.get("payTo", "")).lower():
            return refuse("invalid_upto_evm_payload_recipient_mismatch")
        if str(witness.get("facilitator", "")).lower() != FACILITATOR.lower():
            return refuse("invalid_upto_evm_payload_facilitator_mismatch")
        if str(permit.get("spender", "")).lower() != UPTO_PROXY.lower():
            return refuse("invalid_upto_evm_payload_spender")
        maximum, amount = int(permitted.get("amount", -1)), int(requirements.get("amount", -1))
        if amount > maximum or (not settling and amount != maximum) or amount < 0:
            return refuse("invalid_upto_evm_payload_settlement_exceeds_amount")
        if int(permit.get("deadline", 0)) <= int(time.time()):
            return refuse("invalid_upto_evm_payload_deadline")
        key = (network, owner.lower(), str(permit.get("nonce")))
        if key in self._spent:
            return refuse("invalid_upto_evm_payload_nonce_used")
        return _Check(None, owner, network, key)


def exact_payment(
    requirements: Mapping[str, Any],
    *,
    payer: str = PAYER,
    value: str | int | None = None,
    valid_before: int | None = None,
    nonce: str | None = None,
    network: str | None = None,
) -> dict[str, Any]:
    """The x402 v1 ``exact`` payment payload a test wallet sends to meet ``requirements``
    (x402 payment requirements), signed so that :class:`FakeFacilitator` accepts it;
    each keyword changes one field (to make it invalid, say)."""
    authorization = {
        "from": payer,
        "to": requirements["payTo"],
        "value": str(requirements["maxAmountRequired"] if value is None else value),
        "validAfter": "0",
        "validBefore": str(int(time.time()) + 600 if valid_before is None else valid_before),
        "nonce": nonce if nonce is not None else "0x" + secrets.token_hex(32),
    }
    return {
        "x402Version": 1,
        "scheme": "exact",
        "network": requirements["network"] if network is None else network,
        "payload": {
            "signature": FakeFacilitator.sign(authorization),
            "authorization": authorization,
        },
    }
