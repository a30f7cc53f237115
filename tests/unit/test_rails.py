"""The payment rails' clients against their loopback fakes: a Nano node, an EVM node and an
x402 facilitator, each a real HTTP server; and how every peer's failure becomes RailError."""

from __future__ import annotations

import re
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from nanogate.rails import (
    EvmNode,
    Facilitator,
    NanoNode,
    RailError,
    Receipt,
    SettleResult,
    VerifyResult,
)
from nanogate.rails._evm import TRANSFER_TOPIC
from nanogate.testing import (
    FakeEvmNode,
    FakeFacilitator,
    FakeNanoNode,
    ServedAioHTTP,
    exact_payment,
    refused_url,
)

SHOP = "nano_" + "3shop".ljust(60, "1")
OTHER_SHOP = "nano_" + "3other".ljust(60, "1")
XNO = 10**30
TOKEN = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
OTHER_TOKEN = "0x" + "cd" * 20
PAY_TO = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01"
ELSEWHERE = "0x" + "99" * 20
PAYER = "0x" + "22" * 20
RESET = object()


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


@contextmanager
def served(app: web.Application) -> Iterator[str]:
    with ServedAioHTTP(app) as server:
        yield server.url


def canned(*answers: Any) -> web.Application:
    """A peer answering ``answers`` in order (the last one again and again): JSON values,
    raw bytes as they are, an int as that HTTP status, or RESET: the connection aborted."""
    queue = deque(answers)

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        value = queue.popleft() if len(queue) > 1 else queue[0]
        if isinstance(value, int):
            return web.Response(status=value, text="failure")
        if value is RESET:
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        body = value if isinstance(value, bytes) else orjson.dumps(value)
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/{tail:.*}", answer)
    return app


@contextmanager
def silent_url() -> Iterator[str]:
    """A loopback URL whose connections are accepted but never answered."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


# The Nano node --------------------------------------------------------------------------


@pytest.fixture
def nano() -> Iterator[tuple[FakeNanoNode, str]]:
    fake = FakeNanoNode()
    with served(fake.app()) as url:
        yield fake, url


@pytest.fixture
async def nano_node(nano: tuple[FakeNanoNode, str]) -> AsyncIterator[NanoNode]:
    node = NanoNode(nano[1], timeout_s=2)
    yield node
    await node.close()


async def test_known_blocks_are_not_asked_about_again(
    nano: tuple[FakeNanoNode, str], nano_node: NanoNode
) -> None:
    """Blocks already recorded (``known``) are skipped: no ``block_info`` for them, so
    polling an address costs one call per new block, not per block."""
    fake, _ = nano
    first = fake.send(SHOP, 5)
    second = fake.send(SHOP, 7)
    fake.calls.clear()
    found = await nano_node.receipts(SHOP, ago(minutes=1), known={first.lower()})
    assert [r.receipt_id for r in found] == [second]
    asked = [c.get("hash") for c in fake.calls if c["action"] == "block_info"]
    assert asked == [second]


async def test_a_confirmed_send_is_a_receipt(
    nano: tuple[FakeNanoNode, str], nano_node: NanoNode
) -> None:
    """A confirmed send block to the account is a receipt: its hash, its exact raw amount,
    and the node's timestamp for it."""
    fake, _ = nano
    at = ago(seconds=30).replace(microsecond=0)
    block = fake.send(SHOP, 3 * XNO + 7, at=at)
    receipts = await nano_node.receipts(SHOP, ago(minutes=5))
    assert receipts == [Receipt(block, 3 * XNO + 7, at)]
    assert re.fullmatch(r"[0-9A-F]{64}", block)
    assert isinstance(receipts[0].amount, int)


async def test_the_rpc_requests_are_the_documented_ones(
    nano: tuple[FakeNanoNode, str], nano_node: NanoNode
) -> None:
    """The client asks ``receivable`` (count 1000, with sources), then ``block_info`` with
    a JSON block for each hash listed."""
    fake, _ = nano
    block = fake.send(SHOP, XNO)
    await nano_node.receipts(SHOP, ago(minutes=5))
    assert fake.calls == [
        {"action": "receivable", "account": SHOP, "count": "1000", "source": "true"},
        {"action": "block_info", "json_block": "true", "hash": block},
    ]


async def test_an_unconfirmed_send_counts_once_confirmed(
    nano: tuple[FakeNanoNode, str], nano_node: NanoNode
) -> None:
    """An unconfirmed send block is no receipt until the node confirms it."""
    fake, _ = nano
    block = fake.send(SHOP, XNO, confirmed=False)
    assert await nano_node.receipts(SHOP, ago(minutes=5)) == []
    fake.confirm(block)
    assert [r.receipt_id for r in await nano_node.receipts(SHOP, ago(minutes=5))] == [block]


async def test_a_send_older_than_since_is_not_counted(
    nano: tuple[FakeNanoNode, str], nano_node: NanoNode
) -> None:
    """A block that arrived before ``since`` is no receipt; one stamped in the same whole
    second as ``since`` is (nodes keep whole seconds)."""
    fake, _ = nano
    since = ago(minutes=1).replace(microsecond=500_000)
    fake.send(SHOP, XNO, at=since - timedelta(seconds=2))
    fresh = fake.send(SHOP, 2 * XNO, at=since)
    receipts = await nano_node.receipts(SHOP, since)
    assert [(r.receipt_id, r.amount) for r in receipts] == [(fresh, 2 * XNO)]


async def test_only_sends_to_the_account_count(
    nano: tuple[FakeNanoNode, str], nano_node: NanoNode
) -> None:
    """Sends to another account are not listed, and a block the node lists for the account
    although its destination is another one is no receipt either."""
    fake, _ = nano
    fake.send(OTHER_SHOP, XNO)
    misrouted = fake.send(OTHER_SHOP, 5 * XNO)
    fake.misdirect(misrouted, SHOP)
    assert await nano_node.receipts(SHOP, ago(minutes=5)) == []
    assert len(await nano_node.receipts(OTHER_SHOP, ago(minutes=5))) == 2


async def test_a_pocketed_send_is_no_longer_listed(
    nano: tuple[FakeNanoNode, str], nano_node: NanoNode
) -> None:
    """Once the receiver has received a block it is no longer receivable."""
    fake, _ = nano
    block = fake.send(SHOP, XNO)
    fake.pocket(block)
    assert await nano_node.receipts(SHOP, ago(minutes=5)) == []


async def test_no_receivable_blocks_is_an_empty_list(
    nano: tuple[FakeNanoNode, str], nano_node: NanoNode
) -> None:
    """A node's ``{"blocks": ""}`` (nothing receivable) is no receipts, and no block_info."""
    fake, _ = nano
    assert await nano_node.receipts(SHOP, ago(minutes=5)) == []
    assert [c["action"] for c in fake.calls] == ["receivable"]


async def test_an_empty_blocks_object_is_an_empty_list() -> None:
    """``{"blocks": {}}`` is no receipts too."""
    with served(canned({"blocks": {}})) as url:
        node = NanoNode(url)
        try:
            assert await node.receipts(SHOP, ago(minutes=5)) == []
        finally:
            await node.close()


async def test_a_node_error_is_a_rail_error(nano_node: NanoNode) -> None:
    """A node's in-band ``{"error": ...}`` (HTTP 200) is a RailError quoting it."""
    with pytest.raises(RailError, match="refused receivable: Bad account number"):
        await nano_node.receipts("not-an-account", ago(minutes=5))


@pytest.mark.parametrize(
    ("status", "message"), [(500, "answered HTTP 500"), (200, "not JSON"), (302, "HTTP 302")]
)
async def test_a_failing_node_is_a_rail_error(
    nano: tuple[FakeNanoNode, str], nano_node: NanoNode, status: int, message: str
) -> None:
    """An error status, a redirect or an answer that is not JSON is a RailError."""
    nano[0].fail_next(status=status)
    with pytest.raises(RailError, match=message):
        await nano_node.receipts(SHOP, ago(minutes=5))


ARRIVED = 1_750_000_000
"""When the canned answers' blocks arrived: a fixed moment, so they never age."""
BEFORE_ARRIVAL = datetime.fromtimestamp(ARRIVED, UTC) - timedelta(minutes=5)
GOOD_INFO = {
    "amount": str(XNO),
    "local_timestamp": str(ARRIVED),
    "confirmed": "true",
    "subtype": "send",
    "contents": {"type": "state", "link_as_account": SHOP},
}
HASH = "AB" * 32


async def test_a_failure_in_block_info_is_a_rail_error() -> None:
    """A node failing after listing blocks fails the whole call: no partial answer."""
    with served(canned({"blocks": {HASH: {}, "CD" * 32: {}}}, GOOD_INFO, 500)) as url:
        node = NanoNode(url)
        try:
            with pytest.raises(RailError, match=r"HTTP 500 \(block_info\)"):
                await node.receipts(SHOP, BEFORE_ARRIVAL)
        finally:
            await node.close()


@pytest.mark.parametrize(
    "answers",
    [
        [{"blocks": []}],
        [{"blocks": {"not-a-hash": {"amount": "1"}}}],
        [{"blocks": {HASH: {}}}, {**GOOD_INFO, "amount": 1e30}],
        [{"blocks": {HASH: {}}}, {**GOOD_INFO, "amount": "1e30"}],
        [{"blocks": {HASH: {}}}, {**GOOD_INFO, "amount": "-5"}],
        [{"blocks": {HASH: {}}}, {**GOOD_INFO, "amount": "٣"}],
        [{"blocks": {HASH: {}}}, {**GOOD_INFO, "local_timestamp": "soon"}],
        [{"blocks": {HASH: {}}}, {**GOOD_INFO, "contents": "state"}],
        [{"blocks": {HASH: {}}}, {k: v for k, v in GOOD_INFO.items() if k != "confirmed"}],
        [{"blocks": {HASH: {}}}, {"error": "Block not found"}],
        [[1, 2, 3]],
        [b"<html>busy</html>"],
    ],
)
async def test_a_malformed_nano_answer_is_a_rail_error(answers: list[Any]) -> None:
    """Answers that break the RPC's shape (hashes, digit-string amounts and timestamps,
    the block's fields) are RailErrors, never a guess."""
    with served(canned(*answers)) as url:
        node = NanoNode(url)
        try:
            with pytest.raises(RailError):
                await node.receipts(SHOP, BEFORE_ARRIVAL)
        finally:
            await node.close()


async def test_a_well_formed_canned_answer_is_read() -> None:
    """The shape the malformed cases break is itself accepted (the cases above test the
    validation, not a broken canned peer)."""
    with served(canned({"blocks": {HASH: {}}}, GOOD_INFO)) as url:
        node = NanoNode(url)
        try:
            receipts = await node.receipts(SHOP, BEFORE_ARRIVAL)
        finally:
            await node.close()
    assert [(r.receipt_id, r.amount) for r in receipts] == [(HASH, XNO)]


async def test_an_unreachable_node_is_a_rail_error_that_keeps_secrets() -> None:
    """A refused connection is a RailError naming the peer by origin only: no password,
    no path (where node providers put API keys)."""
    with refused_url() as url:
        secret_url = url.replace("http://", "http://user:hunter2@") + "/v2/KEY-0123456789"
        node = NanoNode(secret_url)
        try:
            with pytest.raises(RailError, match="could not be reached") as caught:
                await node.receipts(SHOP, ago(minutes=5))
        finally:
            await node.close()
    message = str(caught.value)
    assert url in message
    assert "hunter2" not in message and "KEY-0123456789" not in message and "user" not in message


async def test_since_must_be_aware(nano_node: NanoNode) -> None:
    """A naive ``since`` is refused rather than read in the machine's zone."""
    with pytest.raises(ValueError, match="aware"):
        await nano_node.receipts(SHOP, datetime.now())


async def test_an_injected_session_is_used(nano: tuple[FakeNanoNode, str]) -> None:
    """The session comes from the given factory, made in the running loop on first use."""
    made: list[aiohttp.ClientSession] = []

    def factory() -> aiohttp.ClientSession:
        made.append(aiohttp.ClientSession())
        return made[-1]

    node = NanoNode(nano[1], session_factory=factory)
    assert made == []
    try:
        await node.receipts(SHOP, ago(minutes=5))
        await node.receipts(SHOP, ago(minutes=5))
    finally:
        await node.close()
    assert len(made) == 1 and made[0].closed


# The EVM node ---------------------------------------------------------------------------


@pytest.fixture
def evm() -> Iterator[tuple[FakeEvmNode, str]]:
    fake = FakeEvmNode(TOKEN)
    with served(fake.app()) as url:
        yield fake, url


@pytest.fixture
def evm_stamped() -> Iterator[tuple[FakeEvmNode, str]]:
    fake = FakeEvmNode(TOKEN, block_timestamps=True)
    with served(fake.app()) as url:
        yield fake, url


async def evm_receipts(url: str, since: datetime, **options: Any) -> list[Receipt]:
    node = EvmNode(url, TOKEN, **{"timeout_s": 2.0, **options})
    try:
        return await node.receipts(PAY_TO, since)
    finally:
        await node.close()


async def test_a_confirmed_transfer_is_a_receipt(evm: tuple[FakeEvmNode, str]) -> None:
    """A Transfer of the token to pay_to, confirmed, is a receipt: ``tx_hash:log_index``,
    the exact amount, and the block's time."""
    fake, url = evm
    at = ago(seconds=20).replace(microsecond=0)
    tx = fake.transfer(PAY_TO, 1_500, at=at)
    fake.mine()
    assert await evm_receipts(url, ago(minutes=5)) == [Receipt(f"{tx}:0", 1_500, at)]
    assert tx == tx.lower() and re.fullmatch(r"0x[0-9a-f]{64}", tx)


async def test_confirmations_count_the_head_block(evm: tuple[FakeEvmNode, str]) -> None:
    """With 2 confirmations a transfer in the head block does not count yet, and counts
    once one more block is mined; with 1 the head block counts."""
    fake, url = evm
    fake.transfer(PAY_TO, 10)
    assert await evm_receipts(url, ago(minutes=5), confirmations=2) == []
    assert len(await evm_receipts(url, ago(minutes=5), confirmations=1)) == 1
    fake.mine()
    assert len(await evm_receipts(url, ago(minutes=5), confirmations=2)) == 1


async def test_a_chain_shorter_than_the_confirmations_has_nothing(
    evm: tuple[FakeEvmNode, str],
) -> None:
    """When no block has enough confirmations yet, there are no receipts and no log query."""
    fake, url = evm
    assert await evm_receipts(url, ago(minutes=5), confirmations=3) == []
    assert [c["method"] for c in fake.calls] == ["eth_blockNumber"]


async def test_the_log_query_is_the_documented_one(evm: tuple[FakeEvmNode, str]) -> None:
    """eth_getLogs asks the confirmed range (head - confirmations + 1, back lookback blocks)
    for the token's Transfers to the padded, lower-case pay_to."""
    fake, url = evm
    fake.mine(10)
    await evm_receipts(url, ago(minutes=5), confirmations=2, lookback_blocks=4)
    logs = [c for c in fake.calls if c["method"] == "eth_getLogs"]
    assert logs[0]["jsonrpc"] == "2.0"
    assert logs[0]["params"] == [
        {
            "fromBlock": hex(5),
            "toBlock": hex(9),
            "address": TOKEN.lower(),
            "topics": [TRANSFER_TOPIC, None, "0x" + "0" * 24 + PAY_TO[2:].lower()],
        }
    ]


async def test_the_lookback_bounds_how_far_back_transfers_count(
    evm: tuple[FakeEvmNode, str],
) -> None:
    """A transfer more than ``lookback_blocks`` blocks behind the newest confirmed block is
    not seen."""
    fake, url = evm
    fake.transfer(PAY_TO, 10)  # block 1
    fake.mine(3)  # head 4: blocks 1..4 are within 3 of it
    assert len(await evm_receipts(url, ago(minutes=5), confirmations=1, lookback_blocks=3)) == 1
    fake.mine()
    assert await evm_receipts(url, ago(minutes=5), confirmations=1, lookback_blocks=3) == []


async def test_other_recipients_and_tokens_are_ignored(evm: tuple[FakeEvmNode, str]) -> None:
    """Transfers to another address, or of another token to pay_to, are no receipts;
    pay_to's case does not matter."""
    fake, url = evm
    fake.transfer(ELSEWHERE, 10)
    fake.transfer(PAY_TO, 20, token=OTHER_TOKEN)
    fake.transfer(PAY_TO.lower(), 30)
    fake.mine()
    assert [r.amount for r in await evm_receipts(url, ago(minutes=5))] == [30]


@pytest.mark.parametrize("stamped", [False, True])
async def test_transfers_before_since_are_ignored(
    evm: tuple[FakeEvmNode, str], evm_stamped: tuple[FakeEvmNode, str], stamped: bool
) -> None:
    """A transfer mined before ``since`` is no receipt, whether the block's time comes in
    the log (``blockTimestamp``) or from eth_getBlockByNumber (asked once per block)."""
    fake, url = evm_stamped if stamped else evm
    since = ago(minutes=1)
    fake.transfer(PAY_TO, 10, at=since - timedelta(minutes=10))
    fresh = fake.transfer(PAY_TO, 20, at=since + timedelta(seconds=5))
    fake.mine()
    receipts = await evm_receipts(url, since)
    assert [(r.receipt_id, r.amount) for r in receipts] == [(f"{fresh}:0", 20)]
    blocks = [c["params"] for c in fake.calls if c["method"] == "eth_getBlockByNumber"]
    assert blocks == ([] if stamped else [[hex(1), False], [hex(2), False]])


async def test_removed_logs_are_ignored(evm: tuple[FakeEvmNode, str]) -> None:
    """A log the node reports ``removed`` (its block left the chain) is no receipt."""
    fake, url = evm
    tx = fake.transfer(PAY_TO, 10)
    fake.mine()
    fake.remove(tx)
    assert await evm_receipts(url, ago(minutes=5)) == []


async def test_amounts_beyond_64_bits_are_exact(evm: tuple[FakeEvmNode, str]) -> None:
    """A uint256 value arrives as the exact int, never through a float."""
    fake, url = evm
    fake.transfer(PAY_TO, 2**200 + 1)
    fake.mine()
    assert [r.amount for r in await evm_receipts(url, ago(minutes=5))] == [2**200 + 1]


async def test_an_rpc_error_is_a_rail_error(evm: tuple[FakeEvmNode, str]) -> None:
    """A JSON-RPC error answer is a RailError quoting its message and code."""
    fake, url = evm
    fake.error_next(message="query returned more than 10000 results", code=-32005)
    with pytest.raises(RailError, match=r"eth_blockNumber: query returned .* \(code -32005\)"):
        await evm_receipts(url, ago(minutes=5))


async def test_a_failing_evm_node_is_a_rail_error(evm: tuple[FakeEvmNode, str]) -> None:
    """An HTTP error status from the node is a RailError."""
    fake, url = evm
    fake.fail_next(status=503)
    with pytest.raises(RailError, match="HTTP 503"):
        await evm_receipts(url, ago(minutes=5))


def a_log(**changes: Any) -> dict[str, Any]:
    log = {
        "address": TOKEN.lower(),
        "topics": [TRANSFER_TOPIC, "0x" + "0" * 64, "0x" + "0" * 24 + PAY_TO[2:].lower()],
        "data": "0x" + format(5, "064x"),
        "blockNumber": "0x1",
        "transactionHash": "0x" + "ab" * 32,
        "logIndex": "0x3",
        "removed": False,
        "blockTimestamp": hex(ARRIVED),
    }
    return {**log, **changes}


def rpc(result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "result": result}


async def test_a_canned_log_is_read() -> None:
    """A well-formed log is a receipt with its log index in decimal."""
    with served(canned(rpc("0x5"), rpc([a_log()]))) as url:
        receipts = await evm_receipts(url, BEFORE_ARRIVAL)
    assert [(r.receipt_id, r.amount) for r in receipts] == [(f"0x{'ab' * 32}:3", 5)]


@pytest.mark.parametrize(
    "answers",
    [
        [rpc(12)],
        [rpc("0xzz")],
        [{"jsonrpc": "2.0", "id": 1}],
        [rpc("0x5"), rpc({"logs": []})],
        [rpc("0x5"), rpc([a_log(data="0x05")])],
        [rpc("0x5"), rpc([a_log(blockNumber=1)])],
        [rpc("0x5"), rpc([a_log(transactionHash="0x1234")])],
        [rpc("0x5"), rpc([a_log(blockTimestamp=None)]), rpc(None)],
        [rpc("0x5"), rpc([a_log(blockTimestamp=None)]), rpc({"timestamp": 1})],
        [b"not json"],
    ],
)
async def test_a_malformed_evm_answer_is_a_rail_error(answers: list[Any]) -> None:
    """Results that break JSON-RPC's or the logs' shapes are RailErrors."""
    with served(canned(*answers)) as url:
        with pytest.raises(RailError):
            await evm_receipts(url, BEFORE_ARRIVAL)


async def test_logs_the_node_should_not_have_returned_are_ignored() -> None:
    """A node is not trusted to filter: logs of another token, recipient or event, or of
    an unconfirmed block, are dropped."""
    stray = [
        a_log(address=OTHER_TOKEN),
        a_log(topics=[TRANSFER_TOPIC, "0x" + "0" * 64, "0x" + "0" * 64]),
        a_log(topics=["0x" + "1" * 64, "0x" + "0" * 64, "0x" + "0" * 24 + PAY_TO[2:]]),
        a_log(blockNumber="0x5"),
    ]
    with served(canned(rpc("0x5"), rpc(stray))) as url:
        assert await evm_receipts(url, BEFORE_ARRIVAL) == []


def test_addresses_are_checked_when_given() -> None:
    """A token, a pay_to or a confirmation count that cannot be right is a ValueError."""
    with pytest.raises(ValueError):
        EvmNode("http://127.0.0.1:1", "USDC")
    with pytest.raises(ValueError):
        EvmNode("http://127.0.0.1:1", TOKEN, confirmations=0)


async def test_a_bad_pay_to_is_a_value_error(evm: tuple[FakeEvmNode, str]) -> None:
    """pay_to must be an EVM address."""
    node = EvmNode(evm[1], TOKEN)
    try:
        with pytest.raises(ValueError):
            await node.receipts("nano_1abc", ago(minutes=5))
    finally:
        await node.close()


async def test_an_unknown_method_is_an_rpc_error_of_the_fake(
    evm: tuple[FakeEvmNode, str],
) -> None:
    """The fake answers methods it does not know with JSON-RPC error -32601."""
    async with aiohttp.ClientSession() as session:
        body = {"jsonrpc": "2.0", "id": 7, "method": "eth_sendRawTransaction", "params": []}
        async with session.post(evm[1] + "/", json=body) as response:
            answer = await response.json()
    assert answer["id"] == 7 and answer["error"]["code"] == -32601


# The facilitator ------------------------------------------------------------------------


def requirements(network: str = "base", **changes: Any) -> dict[str, Any]:
    return {
        "scheme": "exact",
        "network": network,
        "maxAmountRequired": "1500",
        "resource": "http://gateway.test/api/v1/chat/completions",
        "description": "One chat completion",
        "mimeType": "application/json",
        "payTo": PAY_TO,
        "maxTimeoutSeconds": 300,
        "asset": TOKEN,
        "extra": {"paymentId": "pay_123"},
        **changes,
    }


@pytest.fixture
def facilitator() -> Iterator[tuple[FakeFacilitator, str]]:
    fake = FakeFacilitator()
    with served(fake.app()) as url:
        yield fake, url


@pytest.fixture
async def client(facilitator: tuple[FakeFacilitator, str]) -> AsyncIterator[Facilitator]:
    remote = Facilitator(facilitator[1] + "/", timeout_s=2)
    yield remote
    await remote.close()


def test_exact_payment_is_an_x402_v1_payload() -> None:
    """exact_payment makes the payload a wallet sends: the exact amount to payTo, valid
    for ten minutes, a fresh 32-byte nonce, signed over its authorization."""
    payment = exact_payment(requirements())
    authorization = payment["payload"]["authorization"]
    assert payment["x402Version"] == 1 and payment["scheme"] == "exact"
    assert payment["network"] == "base"
    assert authorization["from"] == PAYER and authorization["to"] == PAY_TO
    assert authorization["value"] == "1500" and authorization["validAfter"] == "0"
    assert abs(int(authorization["validBefore"]) - (time.time() + 600)) < 5
    assert re.fullmatch(r"0x[0-9a-f]{64}", authorization["nonce"])
    assert payment["payload"]["signature"] == FakeFacilitator.sign(authorization)
    assert (
        exact_payment(requirements())["payload"]["authorization"]["nonce"]
        != (authorization["nonce"])
    )


@pytest.mark.parametrize("network", ["base", "solana", "nano-mainnet"])
async def test_a_valid_payment_verifies_and_settles(
    facilitator: tuple[FakeFacilitator, str], client: Facilitator, network: str
) -> None:
    """A valid payment verifies, then settles with a transaction, the network and the payer;
    the facilitator saw the x402 v1 request bodies."""
    fake, _ = facilitator
    needed = requirements(network)
    payment = exact_payment(needed)
    assert await client.verify(payment, needed) == VerifyResult(True, None, PAYER)
    settled = await client.settle(payment, needed)
    assert settled.success and settled.reason is None
    assert settled.network == network and settled.payer == PAYER
    assert settled.transaction is not None and re.fullmatch(r"0x[0-9a-f]{64}", settled.transaction)
    body = {"x402Version": 1, "paymentPayload": payment, "paymentRequirements": needed}
    assert fake.verified == [body] and fake.settled == [body]


def tampered(payment: dict[str, Any]) -> dict[str, Any]:
    authorization = {**payment["payload"]["authorization"], "value": "999999"}
    return {**payment, "payload": {**payment["payload"], "authorization": authorization}}


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda r: tampered(exact_payment(r)), "invalid_exact_evm_payload_signature"),
        (lambda r: exact_payment(r, value=1499), "invalid_exact_evm_payload_authorization_value"),
        (lambda r: exact_payment(r, value="1501"), "invalid_exact_evm_payload_authorization_value"),
        (
            lambda r: exact_payment({**r, "payTo": ELSEWHERE}),
            "invalid_exact_evm_payload_recipient_mismatch",
        ),
        (
            lambda r: exact_payment(r, valid_before=int(time.time()) - 1),
            "invalid_exact_evm_payload_authorization_valid_before",
        ),
        (lambda r: exact_payment(r, network="solana"), "invalid_network"),
        (lambda r: {**exact_payment(r), "scheme": "upto"}, "invalid_scheme"),
        (lambda r: {**exact_payment(r), "payload": {"signature": "0x"}}, "invalid_payload"),
    ],
)
async def test_an_invalid_payment_is_refused_with_its_reason(
    facilitator: tuple[FakeFacilitator, str], client: Facilitator, make: Any, reason: str
) -> None:
    """A tampered signature, a wrong amount, a wrong payTo, an expired authorization, another
    network or scheme, or a broken payload neither verifies nor settles, with x402's reason."""
    fake, _ = facilitator
    needed = requirements()
    payment = make(needed)
    verified = await client.verify(payment, needed)
    assert (verified.valid, verified.reason) == (False, reason)
    settled = await client.settle(payment, needed)
    assert (settled.success, settled.reason, settled.transaction) == (False, reason, None)
    assert fake.settled == []


async def test_a_settled_nonce_cannot_be_used_again(client: Facilitator) -> None:
    """After a settle, the same authorization neither verifies nor settles again."""
    needed = requirements()
    payment = exact_payment(needed)
    assert (await client.settle(payment, needed)).success
    again = await client.verify(payment, needed)
    assert again == VerifyResult(False, "invalid_exact_evm_payload_authorization_nonce_used", PAYER)
    twice = await client.settle(payment, needed)
    assert twice.reason == "invalid_exact_evm_payload_authorization_nonce_used"


async def test_a_refused_settle_fails_and_spends_nothing(
    facilitator: tuple[FakeFacilitator, str], client: Facilitator
) -> None:
    """refuse_settle_next fails the next settle of a payment that verifies; the payment can
    be settled afterwards."""
    fake, _ = facilitator
    needed = requirements()
    payment = exact_payment(needed)
    fake.refuse_settle_next()
    assert (await client.verify(payment, needed)).valid
    refused = await client.settle(payment, needed)
    assert refused == SettleResult(False, "unexpected_settle_error", None, "base", PAYER)
    assert fake.settled == []
    assert (await client.settle(payment, needed)).success


@pytest.mark.parametrize("status", [500, 400, 404])
async def test_a_failing_facilitator_is_a_rail_error(
    facilitator: tuple[FakeFacilitator, str], client: Facilitator, status: int
) -> None:
    """A 4xx or 5xx from the facilitator is a RailError, for verify and settle alike."""
    fake, _ = facilitator
    needed = requirements()
    fake.fail_next(count=2, status=status)
    with pytest.raises(RailError, match=f"HTTP {status}"):
        await client.verify(exact_payment(needed), needed)
    with pytest.raises(RailError, match=f"HTTP {status}"):
        await client.settle(exact_payment(needed), needed)


@pytest.mark.parametrize(
    "answer", [{"valid": True}, {"isValid": "true"}, {"success": True}, b"ok", [True]]
)
async def test_an_answer_without_the_boolean_is_a_rail_error(answer: Any) -> None:
    """An answer that is not JSON, or lacks ``isValid``/``success`` as a boolean, is a
    RailError."""
    needed = requirements()
    with served(canned(answer)) as url:
        remote = Facilitator(url)
        try:
            with pytest.raises(RailError):
                await remote.verify(exact_payment(needed), needed)
            if not (isinstance(answer, dict) and "success" in answer):
                with pytest.raises(RailError):
                    await remote.settle(exact_payment(needed), needed)
        finally:
            await remote.close()


async def test_any_mapping_and_any_integer_can_be_sent(client: Facilitator) -> None:
    """Payloads may be read-only mappings, and hold integers beyond 64 bits (a client's
    odd payment is the facilitator's to refuse, not a crash)."""
    needed = requirements()
    payment = exact_payment(needed)
    assert (await client.verify(MappingProxyType(payment), MappingProxyType(needed))).valid
    odd = {**payment, "payload": {**payment["payload"], "authorization": 10**40}}
    assert (await client.verify(odd, needed)).reason == "invalid_payload"


# Every client, every transport failure ------------------------------------------------


async def ask(kind: str, url: str) -> None:
    """One request of the ``kind`` of client to ``url``, with a short timeout."""
    if kind == "nano":
        nano_node = NanoNode(url, timeout_s=0.3)
        try:
            await nano_node.receipts(SHOP, ago(minutes=5))
        finally:
            await nano_node.close()
    elif kind == "evm":
        await evm_receipts(url, ago(minutes=5), timeout_s=0.3)
    else:
        remote = Facilitator(url, timeout_s=0.3)
        needed = requirements()
        try:
            await remote.verify(exact_payment(needed), needed)
        finally:
            await remote.close()


@contextmanager
def resetting_url() -> Iterator[str]:
    with served(canned(RESET)) as url:
        yield url


@pytest.mark.parametrize("kind", ["nano", "evm", "facilitator"])
@pytest.mark.parametrize(
    ("peer", "meaning"),
    [
        (refused_url, "could not be reached"),
        (silent_url, "did not answer in time"),
        (resetting_url, "closed the connection without answering"),
    ],
)
async def test_every_transport_failure_is_a_rail_error(kind: str, peer: Any, meaning: str) -> None:
    """A refused connection, a peer that never answers (past ``timeout_s``) and a
    connection reset before an answer are each a RailError saying so, for every client."""
    with peer() as url:
        started = time.monotonic()
        with pytest.raises(RailError, match=meaning) as caught:
            await ask(kind, url)
    assert time.monotonic() - started < 5
    assert str(caught.value).startswith(
        {"nano": "Nano node", "evm": "EVM node", "facilitator": "x402 facilitator"}[kind]
    )


async def test_a_peer_echoing_the_key_in_its_url_does_not_repeat_it() -> None:
    """A node or facilitator whose URL holds its API key (``/v2/<key>``, ``/<key>``)
    and whose error text quotes that key: the RailError and the facilitator's refusal
    reason do not repeat it."""
    key = "k3y0f20charsAbcd1234efgh"
    with served(canned({"error": f"unknown project {key}"})) as url:
        node = NanoNode(f"{url}/v2/{key}")
        try:
            with pytest.raises(RailError) as caught:
                await node.receipts(SHOP, ago(minutes=5))
        finally:
            await node.close()
    assert "unknown project [redacted]" in str(caught.value) and key not in str(caught.value)
    needed = requirements()
    refusal = {"isValid": False, "invalidReason": f"quota of {key} exceeded"}
    with served(canned(refusal)) as url:
        remote = Facilitator(f"{url}/{key}")
        try:
            verdict = await remote.verify(exact_payment(needed), needed)
        finally:
            await remote.close()
    assert verdict.reason == "quota of [redacted] exceeded"
