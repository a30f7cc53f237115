"""client.x402: quoting, paying through a wallet, polling the status, completing."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.client.fake_api import BASE_URL, FakeAPI, error, ok

from nanogate.client import (
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    ConflictError,
    GoneError,
    NotFoundError,
    PaidResponse,
    PaymentOffer,
    PaymentQuote,
    PaymentRequiredError,
    PaymentStatus,
    RetryPolicy,
    ServiceUnavailableError,
    decode_payment_response,
    encode_payment,
    parse_error,
    parse_quote,
    quote_from_error,
    requirements_for,
)
from nanogate.client._x402_calls import Deadline

SEED = Path(__file__).resolve().parent / "corpus" / "seed" / "x402-payment-challenge.json"
HOST = "http://api.test"
PAY = "pay_7c1d"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
NANO_AMOUNT = 2**64 + 170679880000000000000000000
CREDENTIALS = ("authorization", "x-api-key")


def challenge(payment_id: str = PAY) -> dict[str, Any]:
    """A 402 challenge as the gateway's contract writes it: one polling, one exact rail."""
    status_url = f"{HOST}/api/x402/status/{payment_id}"
    complete_url = f"{HOST}/api/x402/complete/{payment_id}"
    return {
        "error": {
            "type": "insufficient_quota",
            "code": "insufficient_quota",
            "message": "Payment required to complete this request.",
        },
        "payment": {
            "version": 1,
            "paymentId": payment_id,
            "requestHash": "sha256:" + "ab" * 32,
            "expiresAt": "2026-06-09T12:00:00.000Z",
            "amountUsd": "0.0714",
            "statusUrl": status_url,
            "completeUrl": complete_url,
            "accepted": [
                {
                    "scheme": "nano",
                    "protocolScheme": "nano",
                    "network": "nano-mainnet",
                    "amount": str(NANO_AMOUNT),
                    "amountFormatted": "0.17067988 XNO",
                    "amountUsd": "0.0714",
                    "payTo": "nano_treasury",
                    "paymentId": payment_id,
                    "statusUrl": status_url,
                    "completeUrl": complete_url,
                },
                {
                    "scheme": "x402-exact",
                    "protocolScheme": "exact",
                    "network": "base",
                    "amount": "1500",
                    "amountFormatted": "0.0015 USDC",
                    "amountUsd": "0.0015",
                    "payTo": "0xTreasury",
                    "asset": "0xUSDC",
                    "paymentId": payment_id,
                    "expiresAt": "2026-06-09T12:00:00.000Z",
                },
            ],
        },
        "x402Version": 1,
        "accepts": [
            {
                "scheme": "exact",
                "network": "base",
                "maxAmountRequired": "1500",
                "resource": f"{BASE_URL}/chat/completions",
                "description": "gpt-4o-mini chat completion",
                "mimeType": "application/json",
                "payTo": "0xTreasury",
                "maxTimeoutSeconds": 900,
                "asset": "0xUSDC",
                "extra": {"paymentId": payment_id},
            }
        ],
    }


def challenged() -> httpx.Response:
    return error(402, challenge())


def status(state: str, retry_after: str | None = None) -> httpx.Response:
    """A status answer in ``state``, with ``Retry-After`` when given."""
    body = {
        "paymentId": PAY,
        "status": state,
        "expiresAt": "2026-06-09T12:00:00.000Z",
        "amountUsd": "0.0714",
        "requestHash": "sha256:" + "ab" * 32,
        "statusUrl": f"{HOST}/api/x402/status/{PAY}",
        "completeUrl": f"{HOST}/api/x402/complete/{PAY}",
        "rails": [
            {
                "scheme": "nano",
                "network": "nano-mainnet",
                "amount": str(NANO_AMOUNT),
                "received": "0",
                "payTo": "nano_treasury",
            }
        ],
    }
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return httpx.Response(200, json=body, headers=headers)


def refusal(status_code: int, code: str) -> httpx.Response:
    """A refusal in the ordinary OpenAI error envelope."""
    body = {"error": {"message": f"refused: {code}", "type": "invalid_request_error", "code": code}}
    return error(status_code, body)


def receipt(payload: Mapping[str, Any]) -> httpx.Response:
    """A paid exact-rail answer carrying its X-PAYMENT-RESPONSE."""
    return httpx.Response(
        200,
        json={"id": "chatcmpl_paid"},
        headers={"x-payment-response": encode_payment(payload), "x-request-id": "req_paid"},
    )


SETTLED = {
    "success": True,
    "transaction": "0xfeed",
    "network": "base",
    "payer": "0xPayer",
    "paymentId": PAY,
}


class FakeWallet:
    """Pays the schemes it is given: signs exact offers, records polling transfers."""

    def __init__(self, *schemes: str, header: str | None = "unset") -> None:
        self.schemes = schemes
        self.header = header
        self.paid: list[tuple[PaymentQuote, PaymentOffer, Mapping[str, Any] | None]] = []

    def payload(self, offer: PaymentOffer) -> dict[str, Any]:
        return {
            "x402Version": 1,
            "scheme": "exact",
            "network": offer.network,
            "payload": {"signature": "0xsig", "authorization": {"value": str(offer.amount)}},
        }

    def supports(self, offer: PaymentOffer) -> bool:
        return offer.scheme in self.schemes

    def pay(
        self, quote: PaymentQuote, offer: PaymentOffer, requirements: Mapping[str, Any] | None
    ) -> str | None:
        self.paid.append((quote, offer, requirements))
        if not offer.exact:
            return None
        return encode_payment(self.payload(offer)) if self.header == "unset" else self.header


class AsyncFakeWallet(FakeWallet):
    """FakeWallet with an awaited ``pay``."""

    async def pay(  # type: ignore[override]
        self, quote: PaymentQuote, offer: PaymentOffer, requirements: Mapping[str, Any] | None
    ) -> str | None:
        return FakeWallet.pay(self, quote, offer, requirements)


def assert_accountless(request: httpx.Request) -> None:
    """The request carries x-x402 and no credential."""
    assert request.headers["x-x402"] == "true"
    assert not [name for name in CREDENTIALS if name in request.headers]


# -- parsing, without I/O ---------------------------------------------------------------


def test_the_seed_challenge_parses_into_a_quote() -> None:
    """The seed's example body parses; its placeholder nano amount ("...") leaves that
    offer out, the Solana exact offer is read with its extra fields."""
    body = json.loads(SEED.read_text())["body"]
    quote = parse_quote(body)
    assert quote.payment_id == "pay_..."
    assert quote.request_hash == "sha256:..."
    assert quote.expires_at == datetime(2026, 6, 9, 12, tzinfo=UTC)
    assert quote.amount_usd == Decimal("0.0714")
    assert quote.status_url == "https://nano-gpt.com/api/x402/status/pay_..."
    assert quote.complete_url == "https://nano-gpt.com/api/x402/complete/pay_..."
    assert quote.requirements == ()
    assert quote.raw == body
    (offer,) = quote.offers
    assert (offer.scheme, offer.protocol_scheme, offer.network) == (
        "x402-solana-usdc",
        "exact",
        "solana",
    )
    assert (offer.amount, offer.amount_usd, offer.exact) == (1500, Decimal("0.0015"), True)
    assert offer.amount_formatted == "0.0015 USDC"
    assert offer.asset == "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
    assert offer.extra == {
        "feePayer": "<solana facilitator fee payer from quote>",
        "paymentId": "pay_...",
        "expiresAt": "2026-06-09T12:00:00.000Z",
    }
    assert requirements_for(quote, offer) is None


def test_a_contract_challenge_parses_amounts_exactly() -> None:
    """Atomic amounts beyond 2**64 stay exact ints, dollars are Decimals, and each offer
    knows whether it is exact."""
    quote = parse_quote(challenge())
    nano, usdc = quote.offers
    assert nano.amount == NANO_AMOUNT and isinstance(nano.amount, int)
    assert (nano.exact, usdc.exact) == (False, True)
    assert nano.asset is None and usdc.asset == "0xUSDC"
    assert nano.extra["statusUrl"] == quote.status_url
    assert usdc.amount_usd == Decimal("0.0015")


def test_requirements_for_finds_the_exact_offers_accepts_entry() -> None:
    """An exact offer's requirements are the accepts[] entry on its network and payTo;
    a polling offer has none."""
    quote = parse_quote(challenge())
    nano, usdc = quote.offers
    assert requirements_for(quote, usdc) == challenge()["accepts"][0]
    assert requirements_for(quote, nano) is None
    other = PaymentOffer(
        "x402-exact", "exact", "base", 1500, "", Decimal("0.0015"), "0xSomeoneElse", "0xUSDC"
    )
    assert requirements_for(quote, other) is None


@pytest.mark.parametrize(
    "body",
    [
        {"error": "Insufficient balance", "requiredBalance": 0.0035, "status": 402},
        {"payment": "not an object"},
        {"payment": {"version": 1, "paymentId": "pay_bare", "amountUsd": "0.01", "accepted": []}},
        {"payment": {**challenge()["payment"], "expiresAt": "tomorrow"}},
        {"payment": {**challenge()["payment"], "amountUsd": "a lot"}},
    ],
    ids=["balance-error", "payment-not-object", "no-urls", "bad-expiry", "bad-usd"],
)
def test_parse_quote_refuses_a_body_without_a_usable_quote(body: dict[str, Any]) -> None:
    """A body with no payment object, or one missing the quote's fields, is a ValueError."""
    with pytest.raises(ValueError):
        parse_quote(body)


def test_quote_from_error_reads_the_clients_payment_required_error() -> None:
    """The PaymentRequiredError the client raises for a challenge keeps the whole body,
    accepts[] included; other errors hold no quote."""
    challenge_error = parse_error(402, {}, json.dumps(challenge()).encode())
    quote = quote_from_error(challenge_error)
    assert quote is not None and quote.payment_id == PAY
    assert quote.requirements == tuple(challenge()["accepts"])
    balance = parse_error(402, {}, b'{"error": "Insufficient balance", "status": 402}')
    assert quote_from_error(balance) is None


def test_payment_headers_round_trip_in_any_base64() -> None:
    """decode_payment_response reads what encode_payment writes, and URL-safe base64
    without padding too."""
    assert decode_payment_response(encode_payment(SETTLED)) == SETTLED
    urlsafe = encode_payment(SETTLED).replace("+", "-").replace("/", "_").rstrip("=")
    assert decode_payment_response(urlsafe) == SETTLED


@pytest.mark.parametrize("header", ["", "not base64!", encode_payment({"a": 1})[:-4] + "@@@@"])
def test_decode_payment_response_refuses_garbage(header: str) -> None:
    """An unreadable header is a ValueError, never a crash of another kind."""
    with pytest.raises(ValueError):
        decode_payment_response(header)


def test_decode_payment_response_refuses_a_non_object() -> None:
    """A header that decodes to JSON but not an object is a ValueError."""
    with pytest.raises(ValueError):
        decode_payment_response(base64.b64encode(b"[1]").decode())


def test_deadline_waits_retry_after_then_gives_up() -> None:
    """The poll wait is Retry-After (2 s without one, never under 0.5 s), cut to what is
    left of the budget, then None; a settled status stops polling at once."""
    deadline = Deadline(5.0, clock=lambda: 0.0)
    pending = PaymentStatus(PAY, "pending", 3.0)
    assert [deadline.next_wait(pending) for _ in range(3)] == [3.0, 2.0, None]
    fresh = Deadline(10.0, clock=lambda: 0.0)
    assert fresh.next_wait(PaymentStatus(PAY, "underpaid", None)) == 2.0
    assert fresh.next_wait(PaymentStatus(PAY, "processing", 0.0)) == 0.5
    assert fresh.next_wait(PaymentStatus(PAY, "paid", 2.0)) is None


# -- quote ------------------------------------------------------------------------------


def test_quote_is_sent_without_credentials_and_with_x_x402() -> None:
    """quote() POSTs the body to the path with x-x402: true and neither the client's
    api_key nor a credential in its default headers."""
    api = FakeAPI(challenged())
    with api.client(default_headers={"x-api-key": "sk-default", "x-trace": "t1"}) as client:
        quote = client.x402.quote("/chat/completions", BODY)
    request = api.requests[0]
    assert (request.method, str(request.url)) == ("POST", f"{BASE_URL}/chat/completions")
    assert_accountless(request)
    assert request.headers["x-trace"] == "t1"
    assert api.json() == BODY
    assert quote == parse_quote(challenge())


def test_quote_takes_an_absolute_url_for_legacy_routes() -> None:
    """An absolute URL is used as is, e.g. the legacy /api/talk-to-gpt."""
    api = FakeAPI(challenged())
    with api.client() as client:
        client.x402.quote(f"{HOST}/api/talk-to-gpt", {"prompt": "hi"})
    assert str(api.requests[0].url) == f"{HOST}/api/talk-to-gpt"


def test_quote_raises_the_answers_error_when_it_is_not_a_challenge() -> None:
    """A 401 missing_api_key or a balance 402 is raised as the typed error it is."""
    missing = refusal(401, "missing_api_key")
    balance = error(402, {"error": "Insufficient balance", "requiredBalance": 1, "status": 402})
    api = FakeAPI(missing, balance)
    with api.client() as client:
        with pytest.raises(AuthenticationError) as auth:
            client.x402.quote("/chat/completions", BODY)
        with pytest.raises(PaymentRequiredError) as unpaid:
            client.x402.quote("/chat/completions", BODY)
    assert auth.value.code == "missing_api_key"
    assert unpaid.value.payment is None


def test_quote_refuses_an_answer_that_ran_or_a_malformed_challenge() -> None:
    """A 200 or a challenge without the quote's fields is an APIResponseValidationError."""
    broken = {"payment": {"version": 1, "paymentId": "pay_bare", "accepted": []}}
    api = FakeAPI(ok({"id": "chatcmpl_free"}), error(402, broken))
    with api.client() as client:
        with pytest.raises(APIResponseValidationError, match="Expected an x402 challenge"):
            client.x402.quote("/chat/completions", BODY)
        with pytest.raises(APIResponseValidationError, match="malformed") as bad:
            client.x402.quote("/chat/completions", BODY)
    assert bad.value.status == 402


def test_streaming_requests_are_refused_before_sending() -> None:
    """The helpers do not stream: stream=True is a ValueError and nothing is sent."""
    api = FakeAPI()
    with api.client() as client:
        with pytest.raises(ValueError, match="stream"):
            client.x402.quote("/chat/completions", {**BODY, "stream": True})
        with pytest.raises(ValueError, match="stream"):
            client.x402.pay("/chat/completions", {**BODY, "stream": True}, FakeWallet("nano"))
    assert api.requests == []


# -- exact rails ------------------------------------------------------------------------


def test_exact_rail_replays_the_request_with_the_wallets_x_payment() -> None:
    """pay() on an exact offer replays the same body without credentials, with the
    X-PAYMENT the wallet built for the offer's requirements, and decodes the receipt."""
    api = FakeAPI(challenged(), receipt(SETTLED))
    wallet = FakeWallet("x402-exact")
    with api.client() as client:
        paid = client.x402.pay("/chat/completions", BODY, wallet)
    assert isinstance(paid, PaidResponse)
    assert paid.body == {"id": "chatcmpl_paid"} and paid.body.request_id == "req_paid"
    assert paid.payment_response == SETTLED
    assert paid.offer.scheme == "x402-exact" and paid.quote.payment_id == PAY
    ((quote, offer, requirements),) = wallet.paid
    assert (quote, offer) == (paid.quote, paid.offer)
    assert requirements == challenge()["accepts"][0]
    replay = api.requests[1]
    assert (replay.method, str(replay.url)) == ("POST", f"{BASE_URL}/chat/completions")
    assert_accountless(replay)
    assert decode_payment_response(replay.headers["x-payment"]) == wallet.payload(offer)
    assert api.json(1) == api.json(0) == BODY


def test_rails_pick_the_offer_in_the_callers_order() -> None:
    """With rails given, only those schemes are considered, in that order."""
    api = FakeAPI(challenged(), receipt(SETTLED))
    wallet = FakeWallet("nano", "x402-exact")
    with api.client() as client:
        paid = client.x402.pay("/chat/completions", BODY, wallet, rails=["dev", "x402-exact"])
    assert paid.offer.scheme == "x402-exact"


def test_a_paid_answer_without_a_readable_receipt_is_kept() -> None:
    """A missing or garbled X-PAYMENT-RESPONSE leaves payment_response None, not the answer."""
    garbled = httpx.Response(200, json={"id": "x"}, headers={"x-payment-response": "%%%"})
    api = FakeAPI(challenged(), garbled)
    with api.client() as client:
        paid = client.x402.pay("/chat/completions", BODY, FakeWallet("x402-exact"))
    assert paid.body == {"id": "x"} and paid.payment_response is None


def test_a_wallet_supporting_no_offer_is_a_clear_error() -> None:
    """No supported offer raises ValueError naming the rails offered; nothing is paid."""
    api = FakeAPI(challenged(), challenged())
    wallet = FakeWallet("x402-solana-usdc")
    with api.client() as client:
        with pytest.raises(ValueError, match=r"offered: nano, x402-exact"):
            client.x402.pay("/chat/completions", BODY, wallet)
        with pytest.raises(ValueError, match="among the rails nano"):
            client.x402.pay("/chat/completions", BODY, FakeWallet("x402-exact"), rails=["nano"])
    assert wallet.paid == [] and len(api.requests) == 2


def test_an_exact_offer_paid_with_no_header_is_refused() -> None:
    """A wallet that returns no X-PAYMENT for an exact offer is a ValueError, not a replay."""
    api = FakeAPI(challenged())
    with api.client() as client:
        with pytest.raises(ValueError, match="no X-PAYMENT"):
            client.x402.pay("/chat/completions", BODY, FakeWallet("x402-exact", header=None))
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("status_code", "code", "cls"),
    [
        (402, "payment_invalid", PaymentRequiredError),
        (409, "payment_already_completed", ConflictError),
        (410, "payment_expired", GoneError),
    ],
)
def test_exact_replay_refusals_raise_their_typed_error(
    status_code: int, code: str, cls: type[APIStatusError]
) -> None:
    """A refused X-PAYMENT raises the status's class with the server's code, unretried."""
    api = FakeAPI(challenged(), refusal(status_code, code))
    with api.client() as client:
        with pytest.raises(cls) as refused:
            client.x402.pay("/chat/completions", BODY, FakeWallet("x402-exact"))
    assert (refused.value.status, refused.value.code) == (status_code, code)
    assert len(api.requests) == 2


def test_a_paid_replay_is_sent_once_even_when_retryable() -> None:
    """A 503 to the X-PAYMENT replay is raised, not retried: the payment is single-use."""
    api = FakeAPI(challenged(), refusal(503, "service_unavailable"))
    with api.client() as client:
        with pytest.raises(ServiceUnavailableError):
            client.x402.pay("/chat/completions", BODY, FakeWallet("x402-exact"))
    assert len(api.requests) == 2 and client.retry.delays == []


# -- polling rails ----------------------------------------------------------------------


def test_polling_rail_pays_waits_retry_after_then_completes() -> None:
    """pay() on a polling offer has the wallet transfer, polls status waiting each
    Retry-After (recorded, not slept), then POSTs completeUrl and returns its answer."""
    policy = RetryPolicy.for_tests()
    api = FakeAPI(
        challenged(),
        status("pending", retry_after="2"),
        status("underpaid", retry_after="3"),
        status("paid"),
        ok({"id": "chatcmpl_done"}, request_id="req_done"),
    )
    wallet = FakeWallet("nano", "x402-exact")
    with api.client(retry=policy) as client:
        paid = client.x402.pay("/chat/completions", BODY, wallet)
    assert policy.delays == [2.0, 3.0]
    assert paid.body == {"id": "chatcmpl_done"} and paid.body.request_id == "req_done"
    assert paid.offer.scheme == "nano" and paid.payment_response is None
    ((_, offer, requirements),) = wallet.paid
    assert offer.amount == NANO_AMOUNT and requirements is None
    polls = api.requests[1:4]
    assert {(r.method, str(r.url)) for r in polls} == {("GET", f"{HOST}/api/x402/status/{PAY}")}
    done = api.requests[4]
    assert (done.method, str(done.url)) == ("POST", f"{HOST}/api/x402/complete/{PAY}")
    assert done.content == b""
    for request in api.requests:
        assert_accountless(request)


def test_status_by_payment_id_reads_the_answer() -> None:
    """status() of a bare id GETs /api/x402/status/{id} and returns status, Retry-After
    and rails."""
    api = FakeAPI(status("pending", retry_after="2"))
    with api.client() as client:
        answer = client.x402.status(PAY)
    assert str(api.requests[0].url) == f"{HOST}/api/x402/status/{PAY}"
    assert (answer.payment_id, answer.status, answer.retry_after) == (PAY, "pending", 2.0)
    assert answer.waiting and answer.rails[0]["amount"] == str(NANO_AMOUNT)


def test_status_of_an_unknown_payment_is_not_found() -> None:
    """A 404 payment_not_found raises NotFoundError with its code."""
    api = FakeAPI(refusal(404, "payment_not_found"))
    with api.client() as client:
        with pytest.raises(NotFoundError) as missing:
            client.x402.status("pay_nope")
    assert missing.value.code == "payment_not_found"


def test_a_malformed_status_is_a_validation_error() -> None:
    """A status answer without paymentId or status is an APIResponseValidationError."""
    api = FakeAPI(ok({"hello": "world"}))
    with api.client() as client:
        with pytest.raises(APIResponseValidationError, match="status is malformed"):
            client.x402.status(PAY)


@pytest.mark.parametrize(
    ("state", "status_code", "code", "cls"),
    [
        ("pending", 402, "payment_pending", PaymentRequiredError),
        ("completed", 409, "payment_already_completed", ConflictError),
        ("failed", 409, "payment_failed", ConflictError),
        ("expired", 410, "payment_expired", GoneError),
        ("paid", 404, "payment_not_found", NotFoundError),
    ],
)
def test_complete_refusals_raise_their_typed_error(
    state: str, status_code: int, code: str, cls: type[APIStatusError]
) -> None:
    """complete() raises the server's refusal as its status class with its code."""
    policy = RetryPolicy.for_tests()
    api = FakeAPI(status(state), refusal(status_code, code))
    with api.client(retry=policy) as client:
        with pytest.raises(cls) as refused:
            client.x402.complete(PAY, timeout=0)
    assert (refused.value.status, refused.value.code) == (status_code, code)
    assert str(api.requests[1].url) == f"{HOST}/api/x402/complete/{PAY}"


def test_complete_gives_up_waiting_after_its_timeout() -> None:
    """Past the timeout complete() stops polling and asks once: an unpaid payment is
    refused with 402 payment_pending; the waits fill the budget exactly."""
    policy = RetryPolicy.for_tests()
    pending = [status("pending", retry_after="2") for _ in range(4)]
    api = FakeAPI(*pending, refusal(402, "payment_pending"))
    quote = parse_quote(challenge())
    with api.client(retry=policy) as client:
        with pytest.raises(PaymentRequiredError) as unpaid:
            client.x402.complete(quote, timeout=5)
    assert unpaid.value.code == "payment_pending"
    assert policy.delays == [2.0, 2.0, 1.0]


def test_complete_is_sent_once_even_when_retryable() -> None:
    """A 503 to POST completeUrl is raised, not retried."""
    policy = RetryPolicy.for_tests()
    api = FakeAPI(status("paid"), refusal(503, "service_unavailable"))
    with api.client(retry=policy) as client:
        with pytest.raises(ServiceUnavailableError):
            client.x402.complete(PAY)
    assert len(api.requests) == 2 and policy.delays == []


# -- async ------------------------------------------------------------------------------


async def test_async_quote_is_accountless() -> None:
    """AsyncClient.x402.quote sends x-x402 and no credentials, and parses the quote."""
    api = FakeAPI(challenged())
    async with api.async_client() as client:
        quote = await client.x402.quote("/chat/completions", BODY)
    assert_accountless(api.requests[0])
    assert quote == parse_quote(challenge())


async def test_async_exact_rail_replays_with_x_payment() -> None:
    """The async exact flow replays the body with the wallet's X-PAYMENT."""
    api = FakeAPI(challenged(), receipt(SETTLED))
    wallet = AsyncFakeWallet("x402-exact")
    async with api.async_client() as client:
        paid = await client.x402.pay("/chat/completions", BODY, wallet)
    assert paid.payment_response == SETTLED
    assert decode_payment_response(api.requests[1].headers["x-payment"]) == wallet.payload(
        paid.offer
    )
    assert api.json(1) == BODY
    assert_accountless(api.requests[1])


async def test_async_polling_rail_waits_retry_after_then_completes() -> None:
    """The async polling flow records each Retry-After through async_sleep, then completes."""
    policy = RetryPolicy.for_tests()
    api = FakeAPI(
        challenged(),
        status("pending", retry_after="2"),
        status("processing", retry_after="2"),
        status("paid"),
        ok({"id": "chatcmpl_done"}),
    )
    async with api.async_client(retry=policy) as client:
        paid = await client.x402.pay("/chat/completions", BODY, AsyncFakeWallet("nano"))
    assert policy.delays == [2.0, 2.0]
    assert paid.body == {"id": "chatcmpl_done"} and paid.offer.scheme == "nano"


async def test_async_refusals_and_unsupported_offers() -> None:
    """The async client raises the same typed refusals and the same no-offer error."""
    api = FakeAPI(challenged(), refusal(410, "payment_expired"), challenged())
    async with api.async_client() as client:
        with pytest.raises(GoneError) as expired:
            await client.x402.pay("/chat/completions", BODY, AsyncFakeWallet("x402-exact"))
        with pytest.raises(ValueError, match="supports none"):
            await client.x402.pay("/chat/completions", BODY, AsyncFakeWallet("dev"))
    assert expired.value.code == "payment_expired"
