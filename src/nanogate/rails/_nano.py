"""The Nano rail's client: which send blocks a node has confirmed towards an account.

It speaks the node's RPC (a JSON object POSTed to the node's URL): ``receivable`` lists
the blocks sent to an account that it has not received yet, and ``block_info`` tells of
each its amount, destination, arrival time and confirmation. A node answers its own
errors as HTTP 200 with ``{"error": "..."}``. Amounts are raw (10^30 per XNO), decimal
strings on the wire, ints here.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from nanogate.providers._http import SessionFactory
from nanogate.rails._jsonrpc import JsonPeer
from nanogate.rails._receipts import Receipt, whole_seconds

RECEIVABLE_COUNT = 1000
"""The most receivable blocks asked for at once."""

_HASH = re.compile(r"[0-9A-Fa-f]{64}")
_DIGITS = re.compile(r"[0-9]{1,40}")
"""A raw amount or a timestamp: ASCII digits only (raw amounts fit in 128 bits)."""


def _address_key(account: str) -> str:
    """An account without its ``nano_``/``xrb_`` prefix, which both spell it."""
    return account.lower().partition("_")[2] or account.lower()


class NanoNode:
    """A Nano node's RPC, asked which payments have arrived at an account."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        session_factory: SessionFactory | None = None,
    ) -> None:
        self._peer = JsonPeer(
            "Nano node", url, timeout_s=timeout_s, session_factory=session_factory
        )

    async def receipts(
        self, account: str, since: datetime, known: Collection[str] = ()
    ) -> list[Receipt]:
        """Confirmed send blocks receivable by `account` whose node-local timestamp is at or
        after `since`; blocks in `known` (already recorded) are not asked about again."""
        floor = whole_seconds(since)
        skip = {h.upper() for h in known}
        found: list[Receipt] = []
        for block_hash in await self._receivable(account):
            if block_hash in skip:
                continue
            receipt = await self._receipt(block_hash, account, floor)
            if receipt is not None:
                found.append(receipt)
        return found

    async def _rpc(self, action: str, **fields: str) -> dict[str, Any]:
        answer = await self._peer.post({"action": action, **fields}, what=action)
        if "error" in answer:
            raise self._peer.refused(action, answer["error"])
        return answer

    async def _receivable(self, account: str) -> list[str]:
        answer = await self._rpc(
            "receivable", account=account, count=str(RECEIVABLE_COUNT), source="true"
        )
        blocks = answer.get("blocks")
        if blocks == "":  # how nodes say "none"
            return []
        if not isinstance(blocks, dict):
            raise self._peer.malformed("receivable", "no blocks object")
        hashes = list(blocks)
        if not all(_HASH.fullmatch(h) for h in hashes):
            raise self._peer.malformed("receivable", "a block hash is not 64 hex digits")
        return [h.upper() for h in hashes]

    async def _receipt(self, block_hash: str, account: str, floor: int) -> Receipt | None:
        """The receipt for a send block, if it is confirmed, to ``account``, and recent."""
        info = await self._rpc("block_info", json_block="true", hash=block_hash)
        try:
            confirmed, subtype = info["confirmed"], info["subtype"]
            destination = info["contents"]["link_as_account"]
            amount, timestamp = info["amount"], info["local_timestamp"]
        except (KeyError, TypeError):
            raise self._peer.malformed("block_info", "a field is missing") from None
        if not all(isinstance(v, str) for v in (confirmed, subtype, destination)):
            raise self._peer.malformed("block_info", "a field is not a string")
        for name, value in (("amount", amount), ("local_timestamp", timestamp)):
            if not isinstance(value, str) or not _DIGITS.fullmatch(value):
                raise self._peer.malformed("block_info", f"{name} is not a decimal integer")
        arrived = int(timestamp)
        if (
            confirmed != "true"
            or subtype != "send"
            or _address_key(destination) != _address_key(account)
            or arrived < floor
        ):
            return None
        return Receipt(block_hash, int(amount), datetime.fromtimestamp(arrived, UTC))

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._peer.close()
