"""The in-memory key table: every key by hash, kept current by polling the store.

Authentication never touches the database. A background task asks the store
for keys changed since the last sequence number it saw, every
``key_refresh_s`` seconds, so a key created or revoked by the CLI takes effect
on every running gateway within a second.
"""

from __future__ import annotations

import asyncio
import logging

from nanogate.storage import APIKey, Store

log = logging.getLogger("nanogate.keys")


class KeyCache:
    def __init__(self, store: Store, interval: float) -> None:
        self._store = store
        self._interval = interval
        self._by_hash: dict[str, APIKey] = {}
        self.seq = -1
        self.healthy = False

    def get(self, key_hash: str) -> APIKey | None:
        """The key with this hash, revoked and expired ones included (the caller judges)."""
        return self._by_hash.get(key_hash)

    async def refresh(self) -> None:
        """Fetch the keys changed since the last refresh."""
        changes = await self._store.changes_since(self.seq)
        for key in changes.keys:
            self._by_hash[key.key_hash] = key
        self.seq = changes.seq
        self.healthy = True

    async def run(self) -> None:
        """Refresh forever; on a database error keep the last known keys and retry."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.healthy:
                    log.exception("cannot refresh API keys; serving the last known keys")
                self.healthy = False
