"""A fake EVM node: a chain of blocks, some holding one ERC-20 ``Transfer`` log each.

It answers JSON-RPC 2.0 on ``POST /``:

- ``eth_blockNumber``, ``eth_chainId``;
- ``eth_getLogs`` (``fromBlock``/``toBlock`` as hex or tags, ``address`` one or a list,
  ``topics`` with ``null`` wildcards and lists of alternatives), with logs shaped as real
  nodes return them; ``blockTimestamp`` only when made with ``block_timestamps=True``;
- ``eth_getBlockByNumber`` (``null`` past the head);
- any other method: error -32601.

A test mines blocks with :meth:`FakeEvmNode.transfer` and :meth:`~FakeEvmNode.mine`;
:meth:`~FakeEvmNode.fail_next`, :meth:`~FakeEvmNode.error_next` and
:meth:`~FakeEvmNode.remove` make the node fail or report a reorganisation. Served with
:class:`~nanogate.testing.ServedAioHTTP`; a test thread may call its methods while it runs.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from nanogate.rails._evm import TRANSFER_TOPIC, address_topic

SENDER = "0x" + "11" * 20
"""The address that sends a transfer unless the test names another."""


class _InvalidParams(Exception):
    """The request's params cannot be read (JSON-RPC error -32602)."""


@dataclass(frozen=True, slots=True)
class _Block:
    number: int
    timestamp: int
    block_hash: str
    transactions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Log:
    address: str
    topics: tuple[str, ...]
    data: str
    block_number: int
    transaction_hash: str
    log_index: int = 0
    removed: bool = False


def _hash(*parts: object) -> str:
    return "0x" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def _reply(request_id: object, **outcome: Any) -> web.Response:
    body = {"jsonrpc": "2.0", "id": request_id, **outcome}
    return web.Response(body=orjson.dumps(body), content_type="application/json")


class FakeEvmNode:
    """An EVM chain on which ``token`` (and any other) transfers are mined; ``calls``
    records each request."""

    def __init__(self, token: str, *, block_timestamps: bool = False, chain_id: int = 8453):
        self.token = token
        self.block_timestamps = block_timestamps
        self.chain_id = chain_id
        self.calls: list[dict[str, Any]] = []
        """Each request's JSON body, in order (failed ones too)."""
        self._lock = threading.Lock()
        self._blocks = [_Block(0, int(datetime.now(UTC).timestamp()), _hash("block", 0))]
        self._logs: list[_Log] = []
        self._failures: deque[int] = deque()
        self._errors: deque[tuple[int, str]] = deque()

    @property
    def head(self) -> int:
        """The newest block's number."""
        with self._lock:
            return len(self._blocks) - 1

    # What a test does ------------------------------------------------------------------

    def transfer(
        self,
        to: str,
        amount: int,
        *,
        sender: str = SENDER,
        token: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """Mine one block, stamped ``at`` (an aware datetime; default now), holding a
        ``Transfer`` of ``amount`` base units of ``token`` (default the node's) from
        ``sender`` to ``to``; the transaction's hash."""
        stamp = int((at or datetime.now(UTC)).timestamp())
        with self._lock:
            number = len(self._blocks)
            tx_hash = _hash("tx", number, sender, to, amount)
            self._blocks.append(_Block(number, stamp, _hash("block", number), (tx_hash,)))
            topics = (TRANSFER_TOPIC, address_topic(sender), address_topic(to))
            data = "0x" + format(amount, "064x")
            self._logs.append(_Log(token or self.token, topics, data, number, tx_hash))
        return tx_hash

    def mine(self, count: int = 1) -> None:
        """Mine ``count`` empty blocks, stamped now."""
        stamp = int(datetime.now(UTC).timestamp())
        with self._lock:
            for _ in range(count):
                number = len(self._blocks)
                self._blocks.append(_Block(number, stamp, _hash("block", number)))

    def remove(self, tx_hash: str) -> None:
        """Report the transaction's log as ``removed`` (its block left the chain)."""
        with self._lock:
            self._logs = [
                replace(log, removed=True) if log.transaction_hash == tx_hash else log
                for log in self._logs
            ]

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` requests with HTTP ``status`` and a body that is not
        JSON (``status=200`` makes that a garbled success)."""
        with self._lock:
            self._failures.extend([status] * count)

    def error_next(self, count: int = 1, code: int = -32000, message: str = "fake failure") -> None:
        """Answer the next ``count`` requests with a JSON-RPC error."""
        with self._lock:
            self._errors.extend([(code, message)] * count)

    # The RPC ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self._rpc)
        return app

    async def _rpc(self, request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _reply(None, error={"code": -32700, "message": "parse error"})
        with self._lock:
            if isinstance(body, dict):
                self.calls.append(body)
            if self._failures:
                return web.Response(status=self._failures.popleft(), text="fake failure")
            if not isinstance(body, dict) or not isinstance(body.get("method"), str):
                return _reply(None, error={"code": -32600, "message": "invalid request"})
            request_id, method = body.get("id"), body["method"]
            if self._errors:
                code, message = self._errors.popleft()
                return _reply(request_id, error={"code": code, "message": message})
            handler = self._methods().get(method)
            if handler is None:
                message = f"the method {method} does not exist/is not available"
                return _reply(request_id, error={"code": -32601, "message": message})
            params = body.get("params", [])
            try:
                if not isinstance(params, list):
                    raise _InvalidParams("params must be a list")
                result = handler(params)
            except _InvalidParams as exc:
                return _reply(request_id, error={"code": -32602, "message": str(exc)})
            return _reply(request_id, result=result)

    def _methods(self) -> dict[str, Callable[[list[Any]], Any]]:
        return {
            "eth_blockNumber": lambda _: hex(len(self._blocks) - 1),
            "eth_chainId": lambda _: hex(self.chain_id),
            "eth_getLogs": self._get_logs,
            "eth_getBlockByNumber": self._get_block,
        }

    def _number(self, tag: object) -> int:
        head = len(self._blocks) - 1
        if tag in ("latest", "safe", "finalized", "pending"):
            return head
        if tag == "earliest":
            return 0
        if isinstance(tag, str) and tag.startswith("0x"):
            try:
                return int(tag, 16)
            except ValueError:
                pass
        raise _InvalidParams(f"invalid block number or tag: {tag!r}")

    def _get_logs(self, params: list[Any]) -> list[dict[str, Any]]:
        if len(params) != 1 or not isinstance(params[0], dict):
            raise _InvalidParams("eth_getLogs takes one filter object")
        query = params[0]
        low = self._number(query.get("fromBlock", "latest"))
        high = self._number(query.get("toBlock", "latest"))
        addresses = query.get("address") or []
        if isinstance(addresses, str):
            addresses = [addresses]
        if not isinstance(addresses, list):
            raise _InvalidParams("address must be an address or a list of them")
        wanted = {str(a).lower() for a in addresses}
        topics = query.get("topics") or []
        if not isinstance(topics, list):
            raise _InvalidParams("topics must be a list")
        return [
            self._render(log)
            for log in self._logs
            if low <= log.block_number <= high
            and (not wanted or log.address.lower() in wanted)
            and _topics_match(log.topics, topics)
        ]

    def _render(self, log: _Log) -> dict[str, Any]:
        block = self._blocks[log.block_number]
        shaped: dict[str, Any] = {
            "address": log.address.lower(),
            "topics": list(log.topics),
            "data": log.data,
            "blockNumber": hex(log.block_number),
            "blockHash": block.block_hash,
            "transactionHash": log.transaction_hash,
            "transactionIndex": "0x0",
            "logIndex": hex(log.log_index),
            "removed": log.removed,
        }
        if self.block_timestamps:
            shaped["blockTimestamp"] = hex(block.timestamp)
        return shaped

    def _get_block(self, params: list[Any]) -> dict[str, Any] | None:
        if not params:
            raise _InvalidParams("eth_getBlockByNumber takes a block number")
        number = self._number(params[0])
        if number >= len(self._blocks):
            return None
        block = self._blocks[number]
        return {
            "number": hex(block.number),
            "hash": block.block_hash,
            "parentHash": self._blocks[number - 1].block_hash if number else "0x" + "0" * 64,
            "timestamp": hex(block.timestamp),
            "transactions": list(block.transactions),
            "gasUsed": "0x0",
            "gasLimit": "0x1c9c380",
        }


def _topics_match(log_topics: tuple[str, ...], wanted: list[Any]) -> bool:
    """Whether a log's topics match a filter's: position by position, ``null`` matches
    anything and a list matches any of its entries (case-insensitively)."""
    if len(wanted) > len(log_topics):
        return False
    for have, want in zip(log_topics, wanted, strict=False):
        if want is None:
            continue
        options = want if isinstance(want, list) else [want]
        if have.lower() not in {str(o).lower() for o in options}:
            return False
    return True
