"""Storage tests run on SQLite and on the real PostgreSQL server, in a fresh database per run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nanogate.storage import SQLStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SQLStore]:
    store = SQLStore(database_url)
    await store.upgrade()
    yield store
    await store.close()
