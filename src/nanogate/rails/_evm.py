"""The token rail's client: which ERC-20 transfers an EVM node has seen confirmed.

It speaks Ethereum JSON-RPC 2.0: ``eth_blockNumber`` for the head, ``eth_getLogs`` for
the token's ``Transfer`` logs to an address over the last blocks that have enough
confirmations, and ``eth_getBlockByNumber`` for a block's time when a log does not carry
it (``blockTimestamp``, which newer nodes add). Quantities are ``0x`` hex on the wire,
ints here; a transfer's value is a uint256, beyond any float.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from nanogate.providers._http import SessionFactory
from nanogate.rails._jsonrpc import JsonPeer
from nanogate.rails._receipts import Receipt, whole_seconds

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
"""keccak256("Transfer(address,address,uint256)"): the first topic of every ERC-20 Transfer."""

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_QUANTITY = re.compile(r"0x[0-9a-fA-F]{1,64}")
_WORD = re.compile(r"0x[0-9a-fA-F]{64}")
"""32 bytes: a transaction hash, a topic, a Transfer's value."""


def address_topic(address: str) -> str:
    """An address as an indexed topic: 32 bytes, left-padded with zeros, lower-case."""
    if not _ADDRESS.fullmatch(address):
        raise ValueError("an EVM address is 0x and 40 hex digits")
    return "0x" + "0" * 24 + address[2:].lower()


def _quantity(value: object) -> int | None:
    if isinstance(value, str) and _QUANTITY.fullmatch(value):
        return int(value, 16)
    return None


class EvmNode:
    """An EVM node's JSON-RPC, asked which transfers of one token reached an address."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        confirmations: int = 2,
        lookback_blocks: int = 3600,
        timeout_s: float = 10.0,
        session_factory: SessionFactory | None = None,
    ) -> None:
        if not _ADDRESS.fullmatch(token):
            raise ValueError("the token is an EVM address: 0x and 40 hex digits")
        if confirmations < 1:
            raise ValueError("confirmations counts the head block: it is at least 1")
        if lookback_blocks < 0:
            raise ValueError("lookback_blocks cannot be negative")
        self.token = token.lower()
        self.confirmations = confirmations
        self.lookback_blocks = lookback_blocks
        self._peer = JsonPeer("EVM node", url, timeout_s=timeout_s, session_factory=session_factory)
        self._ids = itertools.count(1)

    async def receipts(
        self, pay_to: str, since: datetime, known: Collection[str] = ()
    ) -> list[Receipt]:
        """ERC-20 `Transfer` logs of `token` to `pay_to` in blocks with at least
        `confirmations` confirmations, mined at or after `since`. (`known` is accepted
        for the watcher protocol: the logs come in one call either way.)"""
        recipient = address_topic(pay_to)
        floor = whole_seconds(since)
        head = _quantity(await self._call("eth_blockNumber", []))
        if head is None:
            raise self._peer.malformed("eth_blockNumber", "the head is not a hex quantity")
        last = head - self.confirmations + 1  # the newest block with enough confirmations
        if last < 0:
            return []
        query = {
            "fromBlock": hex(max(0, last - self.lookback_blocks)),
            "toBlock": hex(last),
            "address": self.token,
            "topics": [TRANSFER_TOPIC, None, recipient],
        }
        logs = await self._call("eth_getLogs", [query])
        if not isinstance(logs, list):
            raise self._peer.malformed("eth_getLogs", "the result is not a list")
        times: dict[int, int] = {}
        found: list[Receipt] = []
        for log in logs:
            receipt = await self._receipt(log, recipient, last, floor, times)
            if receipt is not None:
                found.append(receipt)
        return found

    async def _receipt(
        self, log: object, recipient: str, last: int, floor: int, times: dict[int, int]
    ) -> Receipt | None:
        """The receipt for one log, if it is a live transfer to us, confirmed and recent."""
        if not isinstance(log, dict):
            raise self._peer.malformed("eth_getLogs", "a log is not an object")
        if log.get("removed") is True:  # its block left the chain
            return None
        number, index = _quantity(log.get("blockNumber")), _quantity(log.get("logIndex"))
        tx_hash, data, topics = log.get("transactionHash"), log.get("data"), log.get("topics")
        address = log.get("address")
        if number is None or index is None:
            raise self._peer.malformed("eth_getLogs", "a log's block or index is not hex")
        if not isinstance(tx_hash, str) or not _WORD.fullmatch(tx_hash):
            raise self._peer.malformed("eth_getLogs", "a log's transaction hash is not 32 bytes")
        if not isinstance(data, str) or not _WORD.fullmatch(data):
            raise self._peer.malformed("eth_getLogs", "a Transfer's value is not 32 bytes")
        if not isinstance(topics, list) or not isinstance(address, str):
            raise self._peer.malformed("eth_getLogs", "a log has no address or topics")
        if (
            address.lower() != self.token
            or len(topics) != 3
            or not all(isinstance(t, str) for t in topics)
            or topics[0].lower() != TRANSFER_TOPIC
            or topics[2].lower() != recipient
            or number > last
        ):
            return None  # not what was asked for: a node is not trusted to filter
        stamp = _quantity(log.get("blockTimestamp"))
        if stamp is None:
            stamp = await self._block_time(number, times)
        if stamp < floor:
            return None
        return Receipt(
            f"{tx_hash.lower()}:{index}", int(data, 16), datetime.fromtimestamp(stamp, UTC)
        )

    async def _block_time(self, number: int, times: dict[int, int]) -> int:
        if number not in times:
            block = await self._call("eth_getBlockByNumber", [hex(number), False])
            if not isinstance(block, dict):
                raise self._peer.malformed("eth_getBlockByNumber", f"no block {number}")
            stamp = _quantity(block.get("timestamp"))
            if stamp is None:
                raise self._peer.malformed("eth_getBlockByNumber", "the timestamp is not hex")
            times[number] = stamp
        return times[number]

    async def _call(self, method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        answer = await self._peer.post(body, what=method)
        error = answer.get("error")
        if error is not None:
            if isinstance(error, dict):
                error = f"{error.get('message', '')} (code {error.get('code')})"
            raise self._peer.refused(method, error)
        if "result" not in answer:
            raise self._peer.malformed(method, "no result")
        return answer["result"]

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._peer.close()
