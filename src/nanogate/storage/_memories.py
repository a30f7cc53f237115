"""Context memory's table: every statement on ``memories``, as scripts for the fast driver.

A row is one key's summary of a conversation up to a turn, found by the hash of that
prefix (see :mod:`nanogate.memory`), sealed by the gateway before it is written, and
kept until ``expires_at``. Expired rows are never read, and each write purges them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from nanogate.storage._fast import Query, Script

MAX_LOOKUP = 512
"""Prefixes looked up at once: the most recent ones, where a summary of the
conversation's earlier turns lies (recent turns are kept beside it)."""


@dataclass(frozen=True, slots=True)
class StoredMemory:
    prefix_hash: str
    turns: int
    """How many of the conversation's turns (after its system messages) it covers."""
    sealed: str


def _param_name(index: int) -> str:
    """A parameter name for the ``index``-th hash: letters only, as the drivers' named
    parameters are (``h_a``, ``h_b``... ``h_ba``)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return "h_" + letters


def find_memory(key_id: str, hashes: Sequence[str], now: datetime) -> Script[StoredMemory | None]:
    """The longest unexpired summary of ``key_id`` whose prefix hash is among ``hashes``
    (``hashes[i]`` covers ``i + 1`` turns)."""
    recent = list(hashes)[-MAX_LOOKUP:]
    if not recent:
        return None
    names = [_param_name(i) for i in range(len(recent))]
    sql = (
        "SELECT prefix_hash, turns, sealed FROM memories WHERE key_id = :key "
        f"AND expires_at > :now AND prefix_hash IN ({', '.join(':' + n for n in names)}) "
        "ORDER BY turns DESC LIMIT 1"
    )
    params: dict[str, object] = {"key": key_id, "now": now, **dict(zip(names, recent, strict=True))}
    rows = (yield Query(sql, params)).rows
    if not rows:
        return None
    prefix_hash, turns, sealed = rows[0]
    return StoredMemory(str(prefix_hash), int(turns), str(sealed))


_SAVE = """
INSERT INTO memories (key_id, prefix_hash, turns, sealed, created_at, expires_at)
VALUES (:key, :hash, :turns, :sealed, :now, :expires)
ON CONFLICT (key_id, prefix_hash) DO UPDATE SET turns = excluded.turns,
    sealed = excluded.sealed, created_at = excluded.created_at,
    expires_at = excluded.expires_at"""
_PURGE = "DELETE FROM memories WHERE expires_at <= :now"


def save_memory(key_id: str, memory: StoredMemory, now: datetime, expires: datetime) -> Script[int]:
    """Write (or replace) a summary, and purge every expired one: how many were purged."""
    purged = (yield Query(_PURGE, {"now": now}, count=True)).count
    params = {
        "key": key_id,
        "hash": memory.prefix_hash,
        "turns": memory.turns,
        "sealed": memory.sealed,
        "now": now,
        "expires": expires,
    }
    yield Query(_SAVE, params)
    return purged


def purge_memories(now: datetime) -> Script[int]:
    """Delete every expired summary: how many there were."""
    return (yield Query(_PURGE, {"now": now}, count=True)).count


def count_memories(key_id: str) -> Script[int]:
    """How many summaries ``key_id`` has stored, expired or not (for operators and tests)."""
    rows = (yield Query("SELECT COUNT(*) FROM memories WHERE key_id = :key", {"key": key_id})).rows
    return int(rows[0][0])
