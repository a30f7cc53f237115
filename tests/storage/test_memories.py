"""Context memory's table, on SQLite and PostgreSQL alike: the longest unexpired summary
among a conversation's prefixes, replaced in place, and expired rows purged on write."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from nanogate.storage import SQLStore
from nanogate.storage._memories import (
    StoredMemory,
    count_memories,
    find_memory,
    purge_memories,
    save_memory,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def keys() -> tuple[str, str, str]:
    """Key ids of this test alone (a PostgreSQL database serves the whole run)."""
    run = secrets.token_hex(4)
    return f"key_a{run}", f"key_b{run}", f"key_c{run}"


async def test_the_longest_unexpired_prefix_is_found(store: SQLStore) -> None:
    """Among the hashes of a conversation's prefixes, the stored summary covering the
    most turns wins; another key's summaries and expired ones are never found."""
    key_a, key_b, _ = keys()
    fast = store.fast
    day = timedelta(days=1)
    await fast.run(save_memory(key_a, StoredMemory("h2", 2, "v1.two"), NOW, NOW + day))
    await fast.run(save_memory(key_a, StoredMemory("h5", 5, "v1.five"), NOW, NOW + day))
    await fast.run(save_memory(key_a, StoredMemory("h7", 7, "v1.old"), NOW - 2 * day, NOW))
    await fast.run(save_memory(key_b, StoredMemory("h6", 6, "v1.b"), NOW, NOW + day))
    hashes = [f"h{i}" for i in range(1, 9)]
    found = await fast.read(find_memory(key_a, hashes, NOW))
    assert found == StoredMemory("h5", 5, "v1.five")
    assert await fast.read(find_memory(key_a, ["h1", "h3"], NOW)) is None
    assert await fast.read(find_memory(key_a, [], NOW)) is None
    assert await fast.read(find_memory(key_a, hashes, NOW + 2 * day)) is None


async def test_a_summary_is_replaced_in_place_and_writes_purge_the_expired(
    store: SQLStore,
) -> None:
    """Writing a prefix again replaces its row; each write deletes every expired row,
    whoever's; :func:`purge_memories` does the same alone."""
    key_a, key_b, key_c = keys()
    fast = store.fast
    day = timedelta(days=1)
    await fast.run(save_memory(key_a, StoredMemory("h1", 1, "v1.first"), NOW, NOW + day))
    await fast.run(save_memory(key_a, StoredMemory("h1", 1, "v1.second"), NOW, NOW + 3 * day))
    assert await fast.read(count_memories(key_a)) == 1
    later = NOW + 2 * day
    assert await fast.read(find_memory(key_a, ["h1"], later)) == StoredMemory("h1", 1, "v1.second")
    await fast.run(save_memory(key_b, StoredMemory("x", 1, "v1.x"), NOW, NOW + day))
    purged = await fast.run(save_memory(key_c, StoredMemory("y", 1, "v1.y"), later, later + day))
    assert purged >= 1  # key_b's, and any other test's on a shared database
    assert await fast.read(count_memories(key_b)) == 0
    assert await fast.run(purge_memories(NOW + 10 * day)) >= 2
    assert await fast.read(count_memories(key_a)) == 0
