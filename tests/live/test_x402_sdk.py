"""Interop with the official x402 Python SDK: its own HTTP client pays the gateway.

The gateway offers the ``x402-exact`` rail (USDC on Base, ``eip155:8453`` in x402 v2)
beside the others. The SDK reads the 402's ``PAYMENT-REQUIRED`` header, signs an
EIP-3009 authorization with a throwaway local key (``eth_account``), replays the request
with ``PAYMENT-SIGNATURE`` (v2) or ``X-PAYMENT`` (v1), and reads the answer's
``PAYMENT-RESPONSE``. The facilitator on loopback checks the EIP-712 signature for
real. Refusals (a replay, a forged signature, an amount one unit short, an expired
payment) run and settle nothing: the fakes count every call.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import time
from collections.abc import Iterator, Mapping
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from tests.conftest import LiveFactory
from tests.helpers import assert_envelope, run_sync, wait_until
from tests.live.test_x402_exact import BODY, CHAT, Exact, exact_settings
from tests.x402_helpers import Clock, stored
from x402 import x402Client
from x402.http.clients import x402HttpxClient
from x402.mechanisms.evm.exact import register_exact_evm_client
from x402.mechanisms.evm.upto import UptoEvmScheme

from nanogate.client import (
    Client,
    PaymentOffer,
    PaymentQuote,
    RetryPolicy,
    encode_payment,
    requirements_v2_for,
)
from nanogate.config import ModelSettings, RailSettings
from nanogate.testing import FakeFacilitator, FakeUpstream, Fault, ServedAioHTTP
from nanogate.testing._fake_facilitator import FACILITATOR, TRANSFER_WITH_AUTHORIZATION
from nanogate.x402 import encode_header

TREASURY = "0x" + "ab" * 20


@pytest.fixture
def facilitator() -> Iterator[tuple[FakeFacilitator, str]]:
    fake = FakeFacilitator()
    with ServedAioHTTP(fake.app()) as served:
        yield fake, served.url


@pytest.fixture
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with ServedAioHTTP(fake.app()) as served:
        yield fake, served.url


def serve(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    facilitator: tuple[FakeFacilitator, str],
    upstream: tuple[FakeUpstream, str],
    name: str = "x402-exact",
    free_model: bool = False,
    **rail: Any,
) -> Exact:
    """The gateway on one signed rail alone, ``x402-exact`` unless named (``rail``: its
    settings)."""
    options = {"facilitator_url": facilitator[1], "pay_to": (TREASURY,), **rail}
    settings = exact_settings(
        tmp_path,
        facilitator[1],
        upstream[1],
        rails=(name,),
        **{name.replace("-", "_"): RailSettings(**options)},
    )
    if free_model:
        free = ModelSettings(id="acme/free", provider="fake", upstream_model="free-1")
        settings = settings.model_copy(update={"models": (*settings.models, free)})
    clock = Clock()
    return Exact(serve_gateway(settings, clock=clock), facilitator[0], upstream[0], clock)


def client_post(client: x402Client, url: str, body: dict[str, Any]) -> httpx.Response:
    """``body`` posted by ``client``'s own httpx client, which pays a 402 itself."""

    async def go() -> httpx.Response:
        async with x402HttpxClient(client, timeout=15) as http:
            response = await http.post(url, json=body)
            await response.aread()
            return response

    return run_sync(go())


def sdk_post(
    url: str, account: LocalAccount, body: dict[str, Any], **limits: Any
) -> httpx.Response:
    """``body`` posted by the SDK's client with its exact EVM schemes registered."""
    client = x402Client()
    register_exact_evm_client(client, account)
    if limits.get("no_spend_controls"):
        client.set_spend_controls(False)
    return client_post(client, url, body)


def decoded(header: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.b64decode(header))
    return data


@pytest.fixture
def gate(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    facilitator: tuple[FakeFacilitator, str],
    upstream: tuple[FakeUpstream, str],
) -> Iterator[Exact]:
    exact = serve(serve_gateway, tmp_path, facilitator, upstream)
    yield exact
    exact.http.close()


def test_the_402_carries_a_v2_payment_required_header(gate: Exact) -> None:
    """Beside the seed's body (unchanged: x402Version 1, its ``accepts``), the 402 has a
    base64 ``PAYMENT-REQUIRED``: x402 v2, the resource, and the exact offer with its
    CAIP-2 network, amount in the asset's units, payTo, asset, timeout and EIP-712
    domain."""
    response = gate.post(CHAT, BODY)
    assert response.status_code == 402
    body = response.json()
    assert body["x402Version"] == 1 and body["error"]["code"] == "insufficient_quota"
    required = decoded(response.headers["payment-required"])
    assert required["x402Version"] == 2
    assert required["resource"]["url"] == gate.live.url + CHAT
    (offer,) = required["accepts"]
    v1 = body["accepts"][0]
    assert offer == {
        "scheme": "exact",
        "network": "eip155:8453",
        "amount": v1["maxAmountRequired"],
        "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
        "payTo": TREASURY,
        "maxTimeoutSeconds": offer["maxTimeoutSeconds"],
        "extra": {"paymentId": body["payment"]["paymentId"], "name": "USD Coin", "version": "2"},
    }
    assert 0 < offer["maxTimeoutSeconds"] <= 900


def test_the_sdk_pays_a_v2_exact_challenge_end_to_end(gate: Exact) -> None:
    """The SDK's client pays in ``PAYMENT-SIGNATURE``; the facilitator gets the v2 form
    and recovers the signer from the EIP-712 signature; the request runs once and the
    answer's ``PAYMENT-RESPONSE`` is a v2 ``SettleResponse`` naming the payer."""
    account: LocalAccount = Account.create()
    response = sdk_post(gate.live.url + CHAT, account, BODY)
    assert response.status_code == 200, response.text
    assert response.json()["x_nanogpt_pricing"]["paymentSource"] == "x402"
    assert "x-payment-response" not in response.headers
    settled = decoded(response.headers["payment-response"])
    assert settled["success"] is True and settled["network"] == "eip155:8453"
    assert settled["payer"].lower() == account.address.lower() and settled["transaction"]
    (verified,) = gate.facilitator.verified
    assert verified["x402Version"] == 2
    assert (
        verified["paymentRequirements"]["amount"]
        == verified["paymentPayload"]["accepted"]["amount"]
    )
    assert len(gate.facilitator.settled) == 1 and gate.runs == 1


def test_the_sdk_pays_a_v1_challenge_through_the_header(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    facilitator: tuple[FakeFacilitator, str],
    upstream: tuple[FakeUpstream, str],
) -> None:
    """On a network without a CAIP-2 id here (Avalanche Fuji), ``PAYMENT-REQUIRED`` holds
    the quote's x402 v1 ``PaymentRequired`` (``error`` a string, which the SDK's schema
    wants, unlike the seed's body): the SDK pays it with ``X-PAYMENT`` and gets
    ``X-PAYMENT-RESPONSE``."""
    gate = serve(
        serve_gateway,
        tmp_path,
        facilitator,
        upstream,
        network="avalanche-fuji",
        asset="0x5425890298aed601595a70AB815c96711a31Bc65",
        extra={"name": "USD Coin", "version": "2"},
    )
    quoted = gate.post(CHAT, BODY)
    header = decoded(quoted.headers["payment-required"])
    assert header["x402Version"] == 1 and isinstance(header["error"], str)
    assert header["accepts"] == quoted.json()["accepts"]
    account: LocalAccount = Account.create()
    response = sdk_post(gate.live.url + CHAT, account, BODY, no_spend_controls=True)
    assert response.status_code == 200, response.text
    settled = decoded(response.headers["x-payment-response"])
    assert settled["success"] is True and settled["payer"].lower() == account.address.lower()
    assert gate.facilitator.verified[-1]["x402Version"] == 1
    assert gate.runs == 1
    gate.http.close()


def signed_v2(gate: Exact, account: LocalAccount) -> tuple[dict[str, Any], str]:
    """A quote and the ``PAYMENT-SIGNATURE`` the SDK makes for it (not sent)."""
    from x402.http import x402HTTPClient

    quoted = gate.post(CHAT, BODY)
    client = x402Client()
    register_exact_evm_client(client, account)

    async def make() -> dict[str, str]:
        headers, _ = await x402HTTPClient(client).handle_402_response(
            dict(quoted.headers), quoted.content, gate.live.url + CHAT
        )
        return dict(headers)

    headers = run_sync(make())
    return quoted.json(), headers["PAYMENT-SIGNATURE"]


def test_refusals_run_and_settle_nothing(gate: Exact) -> None:
    """A forged signature and an amount one unit short (in the authorization, and in
    ``accepted`` too) are 402 ``payment_invalid``; a replay of a used payment is 409
    ``payment_already_completed``; a payment for an expired quote is 410
    ``payment_expired``. None runs the request or settles."""
    account: LocalAccount = Account.create()
    _, header = signed_v2(gate, account)
    payload = decoded(header)

    forged = json.loads(json.dumps(payload))
    forged["payload"]["signature"] = "0x" + "11" * 65
    refused = gate.post(CHAT, BODY, **{"payment-signature": encode_header(forged)})
    assert_envelope(refused, "openai", "payment_invalid")
    assert "signature" in refused.json()["error"]["message"]

    short = json.loads(json.dumps(payload))
    short["payload"]["authorization"]["value"] = str(int(short["accepted"]["amount"]) - 1)
    assert_envelope(
        gate.post(CHAT, BODY, **{"payment-signature": encode_header(short)}),
        "openai",
        "payment_invalid",
    )
    short_accepted = json.loads(json.dumps(short))
    short_accepted["accepted"]["amount"] = short["payload"]["authorization"]["value"]
    assert_envelope(
        gate.post(CHAT, BODY, **{"payment-signature": encode_header(short_accepted)}),
        "openai",
        "payment_invalid",
    )
    assert gate.runs == 0 and gate.facilitator.settled == []

    paid = gate.post(CHAT, BODY, **{"payment-signature": header})
    assert paid.status_code == 200, paid.text
    again = gate.post(CHAT, BODY, **{"payment-signature": header})
    assert_envelope(again, "openai", "payment_already_completed")
    assert gate.runs == 1 and len(gate.facilitator.settled) == 1

    _, expired_header = signed_v2(gate, account)
    gate.clock.offset += timedelta(hours=2)
    late = gate.post(CHAT, BODY, **{"payment-signature": expired_header})
    assert_envelope(late, "openai", "payment_expired")
    assert gate.runs == 1 and len(gate.facilitator.settled) == 1


def test_a_v2_payment_in_x_payment_or_both_headers_is_refused(gate: Exact) -> None:
    """A version mismatch (a v2 payload in X-PAYMENT) and both headers at once are 402
    ``payment_invalid``; garbage in PAYMENT-SIGNATURE too. Nothing is verified."""
    account: LocalAccount = Account.create()
    _, header = signed_v2(gate, account)
    wrong = gate.post(CHAT, BODY, **{"x-payment": header})
    error = assert_envelope(wrong, "openai", "payment_invalid")
    assert "PAYMENT-SIGNATURE" in error["error"]["message"]
    both = gate.post(CHAT, BODY, **{"x-payment": header, "payment-signature": header})
    assert_envelope(both, "openai", "payment_invalid")
    garbage = gate.post(CHAT, BODY, **{"payment-signature": "not base64!"})
    assert_envelope(garbage, "openai", "payment_invalid")
    assert gate.facilitator.verified == [] and gate.runs == 0


class EvmV2Wallet:
    """A wallet for nanogate's own client that pays x402 v2 exact offers: it signs the
    offer's v2 requirements (EIP-3009 over EIP-712) with a local key, as the SDK does."""

    def __init__(self, account: LocalAccount) -> None:
        self.account = account

    def supports(self, offer: PaymentOffer) -> bool:
        return offer.scheme == "x402-exact"

    def pay(
        self, quote: PaymentQuote, offer: PaymentOffer, requirements: Mapping[str, Any] | None
    ) -> str:
        required = requirements_v2_for(quote, offer)
        assert required is not None, "the gateway sent v2 requirements"
        authorization = {
            "from": self.account.address,
            "to": required["payTo"],
            "value": required["amount"],
            "validAfter": "0",
            "validBefore": str(int(time.time()) + int(required["maxTimeoutSeconds"])),
            "nonce": "0x" + secrets.token_hex(32),
        }
        signed = self.account.sign_typed_data(
            {
                "name": required["extra"]["name"],
                "version": required["extra"]["version"],
                "chainId": int(required["network"].split(":")[1]),
                "verifyingContract": required["asset"],
            },
            TRANSFER_WITH_AUTHORIZATION,
            {
                **authorization,
                "value": int(authorization["value"]),
                "validAfter": 0,
                "validBefore": int(authorization["validBefore"]),
                "nonce": bytes.fromhex(authorization["nonce"][2:]),
            },
        )
        payload = {
            "x402Version": 2,
            "accepted": required,
            "payload": {"signature": "0x" + signed.signature.hex(), "authorization": authorization},
        }
        return encode_payment(payload)


def test_nanogates_client_pays_in_v2_with_a_v2_wallet(gate: Exact) -> None:
    """``client.x402.pay`` reads ``PAYMENT-REQUIRED`` into the quote, sends the wallet's
    v2 payload as ``PAYMENT-SIGNATURE`` and decodes ``PAYMENT-RESPONSE``."""
    account: LocalAccount = Account.create()
    with Client(base_url=gate.live.url + "/api/v1", retry=RetryPolicy.for_tests()) as client:
        paid = client.x402.pay("/chat/completions", BODY, EvmV2Wallet(account))
    assert paid.quote.requirements_v2 and paid.quote.payment_required is not None
    assert paid.payment_response is not None
    assert paid.payment_response["network"] == "eip155:8453"
    assert paid.payment_response["payer"].lower() == account.address.lower()
    assert gate.facilitator.verified[-1]["x402Version"] == 2 and gate.runs == 1


# upto: authorise a maximum, settle the real cost --------------------------------------


@pytest.fixture
def upto(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    facilitator: tuple[FakeFacilitator, str],
    upstream: tuple[FakeUpstream, str],
) -> Iterator[Exact]:
    exact = serve(
        serve_gateway,
        tmp_path,
        facilitator,
        upstream,
        name="x402-upto",
        facilitator_address=FACILITATOR,
    )
    yield exact
    exact.http.close()


def upto_client(account: LocalAccount) -> x402Client:
    """The SDK's client with its ``upto`` scheme registered."""
    client = x402Client()
    client.register("eip155:*", UptoEvmScheme(account))
    return client


def upto_post(url: str, account: LocalAccount, body: dict[str, Any]) -> httpx.Response:
    """``body`` posted by the SDK's client with its ``upto`` scheme registered."""
    return client_post(upto_client(account), url, body)


def test_the_upto_quote_authorises_the_requests_maximum(upto: Exact) -> None:
    """The ``upto`` offer is v2 only (not in the body's v1 ``accepts``): its amount is the
    request's maximum cost, with the facilitator's address and Permit2 in ``extra``."""
    response = upto.post(CHAT, BODY)
    body = response.json()
    assert body["accepts"] == []
    (entry,) = body["payment"]["accepted"]
    assert (entry["scheme"], entry["protocolScheme"]) == ("x402-upto", "upto")
    (offer,) = decoded(response.headers["payment-required"])["accepts"]
    assert offer["scheme"] == "upto" and offer["network"] == "eip155:8453"
    assert offer["amount"] == entry["amount"]
    assert offer["extra"]["facilitatorAddress"] == FACILITATOR
    assert offer["extra"]["assetTransferMethod"] == "permit2"


def test_an_upto_payment_settles_exactly_the_real_cost(upto: Exact) -> None:
    """The SDK's ``upto`` client signs a Permit2 permit for the quote's maximum; the
    facilitator verifies it for that maximum; after the answer the gateway settles what
    the request really cost (rounded up to the asset's unit), less than the quote, and
    ``PAYMENT-RESPONSE`` and the answer's pricing say so."""
    account: LocalAccount = Account.create()
    response = upto_post(upto.live.url + CHAT, account, BODY)
    assert response.status_code == 200, response.text
    cost = Decimal(str(response.json()["x_nanogpt_pricing"]["cost"]))
    (verified,) = upto.facilitator.verified
    (settled,) = upto.facilitator.settled
    maximum = int(verified["paymentRequirements"]["amount"])
    amount = int(settled["paymentRequirements"]["amount"])
    assert amount == math.ceil(cost * 10**6) and 0 < amount < maximum
    receipt = decoded(response.headers["payment-response"])
    assert receipt["success"] is True and receipt["amount"] == str(amount)
    assert receipt["payer"].lower() == account.address.lower()
    assert upto.runs == 1
    payment_id = verified["paymentRequirements"]["extra"]["paymentId"]
    payment = stored(upto.live.settings, payment_id)
    assert payment.status == "completed" and payment.settlement is not None
    assert payment.settlement["amount"] == str(amount)


def test_an_upto_run_that_fails_settles_nothing(upto: Exact) -> None:
    """A run whose upstream fails settles nothing and gives the payment back (pending,
    payable again); the next attempt is served and settled once."""
    account: LocalAccount = Account.create()
    upto.upstream.inject(Fault.status_error(503))
    failed = upto_post(upto.live.url + CHAT, account, BODY)
    assert failed.status_code == 503, failed.text
    assert upto.facilitator.settled == [] and "payment-response" not in failed.headers
    payment_id = upto.facilitator.verified[0]["paymentRequirements"]["extra"]["paymentId"]
    assert stored(upto.live.settings, payment_id).status == "pending"
    served = upto_post(upto.live.url + CHAT, account, BODY)
    assert served.status_code == 200, served.text
    assert len(upto.facilitator.settled) == 1


def test_an_upto_stream_settles_when_it_ends(upto: Exact) -> None:
    """A streamed answer paid with ``upto`` is settled once the stream has ended, for
    the cost its last event reports; the payment is then completed."""
    account: LocalAccount = Account.create()

    async def go() -> list[str]:
        client = upto_client(account)
        async with x402HttpxClient(client, timeout=15) as http:
            async with http.stream(
                "POST",
                upto.live.url + CHAT,
                json={**BODY, "stream": True, "stream_options": {"include_usage": True}},
            ) as response:
                assert response.status_code == 200
                return [line async for line in response.aiter_lines() if line.startswith("data: {")]

    lines = run_sync(go())
    priced = [json.loads(line[6:]) for line in lines if "x_nanogpt_pricing" in line]
    cost = Decimal(str(priced[-1]["x_nanogpt_pricing"]["cost"]))
    (settled,) = upto.facilitator.settled
    assert int(settled["paymentRequirements"]["amount"]) == math.ceil(cost * 10**6) > 0
    payment_id = settled["paymentRequirements"]["extra"]["paymentId"]
    assert stored(upto.live.settings, payment_id).status == "completed"


def test_an_upto_stream_follows_the_rules_of_account_holds(upto: Exact) -> None:
    """As with an account's hold: a stream the upstream breaks off after its first byte
    is not charged (nothing is settled, and the payment is payable again); a stream the
    client leaves midway settles what was delivered, under the authorised maximum."""
    account: LocalAccount = Account.create()

    async def go(lines_wanted: int | None) -> list[str]:
        client = upto_client(account)
        lines: list[str] = []
        async with (
            x402HttpxClient(client, timeout=15) as http,
            http.stream("POST", upto.live.url + CHAT, json={**BODY, "stream": True}) as response,
        ):
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    lines.append(line)
                if lines_wanted is not None and len(lines) >= lines_wanted:
                    break
        return lines

    upto.upstream.inject(Fault.cut(after=3))
    cut = run_sync(go(None))
    assert any('"error"' in line for line in cut)
    assert upto.facilitator.settled == []
    first = upto.facilitator.verified[0]["paymentRequirements"]["extra"]["paymentId"]
    assert stored(upto.live.settings, first).status == "pending"

    upto.upstream.inject(Fault.drip(0.05))
    left = run_sync(go(3))
    assert len(left) == 3
    wait_until(lambda: upto.facilitator.settled, "the delivered part to be settled")
    (settled,) = upto.facilitator.settled
    maximum = int(upto.facilitator.verified[-1]["paymentRequirements"]["amount"])
    assert 0 < int(settled["paymentRequirements"]["amount"]) < maximum


def test_a_free_upto_request_settles_nothing_without_a_transfer(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    facilitator: tuple[FakeFacilitator, str],
    upstream: tuple[FakeUpstream, str],
) -> None:
    """A request that costs nothing is quoted at ``min_usd`` and settled for 0: the
    facilitator moves nothing (no transaction), and ``PAYMENT-RESPONSE`` says amount 0."""
    gate = serve(
        serve_gateway,
        tmp_path,
        facilitator,
        upstream,
        name="x402-upto",
        facilitator_address=FACILITATOR,
        free_model=True,
    )
    account: LocalAccount = Account.create()
    response = upto_post(gate.live.url + CHAT, account, {**BODY, "model": "acme/free"})
    assert response.status_code == 200, response.text
    receipt = decoded(response.headers["payment-response"])
    assert receipt["amount"] == "0" and receipt["transaction"] == ""
    (settled,) = gate.facilitator.settled
    assert settled["paymentRequirements"]["amount"] == "0"
    assert response.json()["x_nanogpt_pricing"]["cost"] == 0
    gate.http.close()
