"""A fake Nano node: the RPC actions the Nano rail uses, over send blocks a test makes.

It answers ``POST /`` with a JSON action, as a node does:

- ``receivable`` (``account``, ``count``, ``source``): the blocks sent to the account and
  not pocketed, ``{"blocks": ""}`` when there are none. Unconfirmed blocks are listed
  too (as ``include_only_confirmed: "false"`` asks), unless the request says
  ``include_only_confirmed: "true"``, so a client's own check is what holds them back;
- ``block_info`` (``hash``, ``json_block``): a state send block's details, or
  ``{"error": "Block not found"}``;
- anything else: ``{"error": "Unknown command"}``.

Errors come as HTTP 200 with an ``error`` field, as a node's do. A test makes blocks with
:meth:`FakeNanoNode.send` and drives them with :meth:`~FakeNanoNode.confirm` and
:meth:`~FakeNanoNode.pocket`; :meth:`~FakeNanoNode.fail_next` and
:meth:`~FakeNanoNode.misdirect` make the node fail or lie. Served with
:class:`~nanogate.testing.ServedAioHTTP`; a test thread may call its methods while it runs.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

SENDER = "nano_" + "1sender".ljust(60, "1")
"""The account that sends a block unless the test names another."""

_ZERO_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class _Send:
    """A state block sending ``amount`` raw from ``sender`` to ``to``."""

    block_hash: str
    sender: str
    to: str
    amount: int
    timestamp: int
    height: int
    confirmed: bool
    pocketed: bool = False


def _answer(data: dict[str, Any]) -> web.Response:
    return web.Response(body=orjson.dumps(data), content_type="application/json")


def _prefixed(account: object) -> bool:
    return isinstance(account, str) and account.startswith(("nano_", "xrb_"))


class FakeNanoNode:
    """A Nano node holding the send blocks a test makes; ``calls`` records each request."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        """Each request's JSON body, in order (failed ones too)."""
        self._lock = threading.Lock()
        self._blocks: dict[str, _Send] = {}
        self._heights: dict[str, int] = {}
        self._extra: dict[str, list[str]] = {}
        self._failures: deque[int] = deque()

    # What a test does ------------------------------------------------------------------

    def send(
        self,
        to: str,
        amount: int,
        *,
        sender: str = SENDER,
        confirmed: bool = True,
        at: datetime | None = None,
    ) -> str:
        """Make a block sending ``amount`` raw to ``to``, arrived ``at`` (an aware datetime;
        default now); its hash (64 upper-case hex digits)."""
        moment = at or datetime.now(UTC)
        with self._lock:
            height = self._heights.get(sender, 0) + 1
            self._heights[sender] = height
            seed = f"{len(self._blocks)}:{sender}:{height}:{to}:{amount}".encode()
            block_hash = hashlib.sha256(seed).hexdigest().upper()
            self._blocks[block_hash] = _Send(
                block_hash, sender, to, amount, int(moment.timestamp()), height, confirmed
            )
        return block_hash

    def confirm(self, block_hash: str) -> None:
        """The network confirms the block."""
        with self._lock:
            self._blocks[block_hash] = replace(self._blocks[block_hash], confirmed=True)

    def pocket(self, block_hash: str) -> None:
        """The receiver receives the block: it is no longer receivable."""
        with self._lock:
            self._blocks[block_hash] = replace(self._blocks[block_hash], pocketed=True)

    def misdirect(self, block_hash: str, account: str) -> None:
        """Also list the block as receivable by ``account``, which it was not sent to (a
        buggy or lying node)."""
        with self._lock:
            self._extra.setdefault(account, []).append(block_hash)

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` requests with HTTP ``status`` and a body that is not
        JSON (``status=200`` makes that a garbled success)."""
        with self._lock:
            self._failures.extend([status] * count)

    # The RPC ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self._rpc)
        return app

    async def _rpc(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        with self._lock:
            if isinstance(body, dict):
                self.calls.append(body)
            if self._failures:
                return web.Response(status=self._failures.popleft(), text="fake failure")
            if not isinstance(body, dict):
                return _answer({"error": "Unable to parse JSON"})
            action = body.get("action")
            if action == "receivable":
                return _answer(self._receivable(body))
            if action == "block_info":
                return _answer(self._block_info(body))
            return _answer({"error": "Unknown command"})

    def _receivable(self, body: dict[str, Any]) -> dict[str, Any]:
        account = body.get("account")
        if not _prefixed(account):
            return {"error": "Bad account number"}
        try:
            count = int(body.get("count", "4294967295"))
        except (TypeError, ValueError):
            return {"error": "Invalid count limit"}
        only_confirmed = body.get("include_only_confirmed") == "true"
        listed = [
            b
            for b in self._blocks.values()
            if (b.to == account or b.block_hash in self._extra.get(str(account), ()))
            and not b.pocketed
            and (b.confirmed or not only_confirmed)
        ][:count]
        if not listed:
            return {"blocks": ""}
        if body.get("source") == "true":
            return {
                "blocks": {
                    b.block_hash: {"amount": str(b.amount), "source": b.sender} for b in listed
                }
            }
        return {"blocks": {b.block_hash: str(b.amount) for b in listed}}

    def _block_info(self, body: dict[str, Any]) -> dict[str, Any]:
        block = self._blocks.get(str(body.get("hash", "")).upper())
        if block is None:
            return {"error": "Block not found"}
        return {
            "block_account": block.sender,
            "amount": str(block.amount),
            "balance": "0",
            "height": str(block.height),
            "local_timestamp": str(block.timestamp),
            "successor": _ZERO_HASH,
            "confirmed": "true" if block.confirmed else "false",
            "contents": {
                "type": "state",
                "account": block.sender,
                "previous": _ZERO_HASH,
                "representative": block.sender,
                "balance": "0",
                "link": hashlib.sha256(block.to.encode()).hexdigest().upper(),
                "link_as_account": block.to,
                "signature": "0" * 128,
                "work": "0" * 16,
            },
            "subtype": "send",
        }
