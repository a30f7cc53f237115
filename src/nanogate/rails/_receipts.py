"""What a rail confirms (a :class:`Receipt`) and how it fails (:class:`RailError`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Receipt:
    """Funds confirmed towards an address: one Nano send block, or one ERC-20 Transfer log."""

    receipt_id: str
    """Nano: the send block's hash (upper-case hex). EVM: ``"{tx_hash}:{log_index}"``, the
    transaction hash in lower-case ``0x`` hex and the log's index in decimal."""
    amount: int
    """In the asset's atomic unit (raw, token base units)."""
    confirmed_at: datetime | None
    """UTC, when the peer tells (a Nano block's arrival at the node, an EVM block's time)."""


class RailError(Exception):
    """A rail's peer (node, facilitator) could not be reached or answered something unusable.

    Its message names the peer by scheme, host and port only: never a path, a query or
    user information, where node providers put their API keys.
    """


def whole_seconds(moment: datetime) -> int:
    """``moment`` as Unix seconds, rounded down. Nodes and chains keep whole seconds, so a
    block stamped in the same second as ``moment`` counts as at or after it."""
    if moment.tzinfo is None:
        raise ValueError("a rail's `since` must be an aware datetime")
    return int(moment.timestamp() // 1)
