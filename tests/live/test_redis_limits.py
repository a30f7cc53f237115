"""Limits shared by several gateway instances, counted in the real Redis on loopback."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis
from tests.conftest import Live, LiveFactory
from tests.helpers import SURFACE_PATHS, assert_envelope, make_settings, run_sync
from tests.live.test_balances import CHAT, assert_books_balance

from nanogate.config import Settings
from nanogate.server import create_app
from nanogate.testing import ServedASGI

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own in Redis, deleted afterwards."""
    prefix = f"nanogate-test-{secrets.token_hex(4)}:"
    yield prefix
    redis = Redis(host="127.0.0.1", port=6379)
    for key in redis.scan_iter(f"{prefix}*"):
        redis.delete(key)
    redis.close()


def with_redis(settings: Settings, url: str, prefix: str, fail_open: bool = False) -> Settings:
    redis = settings.redis.model_copy(update={"url": url, "prefix": prefix, "fail_open": fail_open})
    return settings.model_copy(update={"redis": redis})


async def fire_at(urls: list[str], key: str, each: int) -> list[int]:
    limits = httpx.Limits(max_connections=each * len(urls), max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    url + SURFACE_PATHS["openai"],
                    json=CHAT,
                    headers={"authorization": f"Bearer {key}"},
                )
                for url in urls
                for _ in range(each)
            )
        )
    return [r.status_code for r in responses]


def test_two_instances_share_one_daily_limit(
    serve_gateway: LiveFactory, tmp_path: Path, prefix: str
) -> None:
    """Two gateways on one database and one Redis, 40 requests at each at once, on a key
    with --daily-requests 10: exactly 10 succeed in all, and the books balance."""
    settings = with_redis(make_settings(tmp_path), "redis://127.0.0.1:6379/0", prefix)
    first = serve_gateway(settings, daily_requests=10)
    with ServedASGI(create_app(settings), server=settings.server) as second:
        statuses = run_sync(fire_at([first.url, second.url], first.key, 40))
    assert statuses.count(200) == 10
    assert statuses.count(429) == 70
    assert_books_balance(settings.database.url, first.seeded.account_id)


def test_an_unreachable_redis_fails_closed(
    serve_gateway: LiveFactory, tmp_path: Path, prefix: str
) -> None:
    """With Redis down, requests of a key with a per-second limit get 503
    rate_limit_unavailable with Retry-After (nothing runs, nothing is charged); keys
    without one (daily limits are kept by the database) are unaffected."""
    settings = with_redis(make_settings(tmp_path), "redis://127.0.0.1:1/0", prefix)
    limited: Live = serve_gateway(settings, rps=10)
    with httpx.Client(base_url=limited.url) as client:
        refused = client.post(SURFACE_PATHS["openai"], json=CHAT, headers=limited.auth())
        assert_envelope(refused, "openai", "rate_limit_unavailable")
        assert refused.headers["retry-after"] == "1"
        messages = client.post(
            SURFACE_PATHS["anthropic"],
            json={**CHAT, "max_tokens": 2},
            headers={"x-api-key": limited.key},
        )
        assert_envelope(messages, "anthropic", "rate_limit_unavailable")
    for others in ({}, {"daily_requests": 10}):
        unlimited: Live = serve_gateway(settings, **others)
        with httpx.Client(base_url=unlimited.url) as client:
            answer = client.post(SURFACE_PATHS["openai"], json=CHAT, headers=unlimited.auth())
            assert answer.status_code == 200
    assert_books_balance(settings.database.url, limited.seeded.account_id)


def test_fail_open_lets_requests_through(
    serve_gateway: LiveFactory, tmp_path: Path, prefix: str
) -> None:
    """With fail_open, a Redis outage lifts the per-second limit instead of refusing
    requests; the daily limit, kept by the database, still holds."""
    settings = with_redis(make_settings(tmp_path), "redis://127.0.0.1:1/0", prefix, True)
    live = serve_gateway(settings, rps=1, daily_requests=3)
    with httpx.Client(base_url=live.url) as client:
        codes = [
            client.post(SURFACE_PATHS["openai"], json=CHAT, headers=live.auth()).status_code
            for _ in range(4)
        ]
    assert codes == [200, 200, 200, 429]
