"""A block's deadline: a wait past it is a TimeoutError, anything else is untouched."""

from __future__ import annotations

import asyncio

import pytest

from nanogate._deadline import Deadline


async def test_a_wait_past_the_deadline_raises_timeout_error() -> None:
    """An await still waiting when the deadline passes ends the block with TimeoutError,
    and the task is not left cancelled: it goes on awaiting normally."""
    with pytest.raises(TimeoutError):
        with Deadline(0.01):
            await asyncio.Event().wait()
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)


async def test_a_block_done_in_time_is_untouched_and_its_timer_gone() -> None:
    """A block that ends before its deadline returns as it would without one; the
    deadline does not fire later in the task."""
    with Deadline(0.05) as deadline:
        await asyncio.sleep(0)
    await asyncio.sleep(0.1)
    assert not deadline.expired


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    """A task cancelled by someone else inside the block is cancelled, not timed out."""
    started = asyncio.Event()

    async def waits() -> None:
        with Deadline(10):
            started.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(waits())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_errors_of_the_block_pass_through() -> None:
    """An exception raised in the block is the block's, deadline or not."""
    with pytest.raises(KeyError):
        with Deadline(10):
            await asyncio.sleep(0)
            raise KeyError("x")


async def test_deadlines_of_a_loop_share_one_timer_and_each_fires_on_time() -> None:
    """Many blocks waiting at once: the short deadlines fire (within a tick of their
    time), the long ones are left waiting, and a finished block's deadline is gone."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def waits(seconds: float) -> float:
        try:
            with Deadline(seconds):
                await asyncio.Event().wait()
        except TimeoutError:
            return loop.time() - started
        raise AssertionError("unreachable")

    short = [asyncio.ensure_future(waits(0.02)) for _ in range(20)]
    long = [asyncio.ensure_future(waits(30)) for _ in range(20)]
    fired = await asyncio.gather(*short)
    assert all(0.02 <= at < 0.02 + 0.05 + 0.05 for at in fired)
    assert not any(task.done() for task in long)
    for task in long:
        task.cancel()
    await asyncio.gather(*long, return_exceptions=True)
    with Deadline(30):
        await asyncio.sleep(0)
    await asyncio.sleep(0)
