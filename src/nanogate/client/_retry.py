"""The seed's retry policy: what to retry, and how long to wait first.

Retry 408, 429 (except daily limits), 500, 502, 503, 504 and connection errors, or
whatever ``x-should-retry`` says; never 400, 401, 402, 403, 404, 409, 413. Wait
``base_delay × 2^(attempt-1)`` seconds (1, 2, 4...) times a random factor in
``1 ± jitter``, at most ``max_delay``; a ``Retry-After`` wins, capped at
``retry_after_cap``. :meth:`RetryPolicy.delay_before_retry` decides without I/O;
the clients sleep through :meth:`RetryPolicy.sleep` / :meth:`RetryPolicy.async_sleep`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from nanogate.client._errors import APIError, DailyLimitError


class RetryPolicy:
    """When and after how long a failed request is tried again.

    In test mode (:meth:`for_tests`) it never sleeps; each delay it would have slept
    is appended to :attr:`delays`, so tests can assert the schedule.
    """

    __slots__ = (
        "async_sleeper",
        "base_delay",
        "delays",
        "jitter",
        "max_delay",
        "max_retries",
        "retry_after_cap",
        "sleeper",
        "test_mode",
        "_random",
    )

    def __init__(
        self,
        max_retries: int = 3,
        base_delay: float = 1.0,
        max_delay: float = 30.0,
        jitter: float = 0.25,
        retry_after_cap: float = 60.0,
        sleep: Callable[[float], None] | None = None,
        async_sleep: Callable[[float], Awaitable[None]] | None = None,
        *,
        test_mode: bool = False,
        random: Callable[[], float] | None = None,
    ) -> None:
        if max_retries < 0 or base_delay < 0 or max_delay < 0 or retry_after_cap < 0:
            raise ValueError("retry counts and delays must not be negative")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self.retry_after_cap = retry_after_cap
        self.sleeper = sleep if sleep is not None else time.sleep
        self.async_sleeper = async_sleep if async_sleep is not None else asyncio.sleep
        self.test_mode = test_mode
        self.delays: list[float] = []
        """Test mode: the delays that would have been slept, in order."""
        self._random = random if random is not None else _random.random

    @classmethod
    def for_tests(
        cls,
        max_retries: int = 3,
        *,
        base_delay: float = 1.0,
        max_delay: float = 30.0,
        jitter: float = 0.25,
        retry_after_cap: float = 60.0,
        random: Callable[[], float] | None = None,
    ) -> RetryPolicy:
        """A policy that never sleeps and records its delays in :attr:`delays`."""
        return cls(
            max_retries,
            base_delay,
            max_delay,
            jitter,
            retry_after_cap,
            test_mode=True,
            random=random,
        )

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that tries each request once."""
        return cls(max_retries=0)

    def should_retry(self, error: APIError) -> bool:
        """Whether ``error`` may be retried at all: its ``retryable`` flag (status and
        ``x-should-retry``), and never a daily limit."""
        return error.retryable and not isinstance(error, DailyLimitError)

    def delay_before_retry(self, attempt: int, error: APIError) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry)
        after ``error``, or ``None`` to give up."""
        if attempt > self.max_retries or not self.should_retry(error):
            return None
        if error.retry_after is not None:
            # a wait longer than the cap is the server saying "not soon": give up
            return error.retry_after if error.retry_after <= self.retry_after_cap else None
        backoff = min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
        factor = 1 + self.jitter * (2 * self._random() - 1)
        return float(min(backoff * factor, self.max_delay))

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (test mode: record them instead)."""
        if self.test_mode:
            self.delays.append(seconds)
        else:
            self.sleeper(seconds)

    async def async_sleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking the loop (test mode: record them instead)."""
        if self.test_mode:
            self.delays.append(seconds)
        else:
            await self.async_sleeper(seconds)

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(max_retries={self.max_retries}, base_delay={self.base_delay}, "
            f"max_delay={self.max_delay}, jitter={self.jitter}, "
            f"retry_after_cap={self.retry_after_cap}, test_mode={self.test_mode})"
        )


_random = random.Random()
