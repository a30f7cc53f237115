"""A deadline for the awaits of one block: :class:`Deadline`.

``asyncio.timeout`` does the same at several times the cost per use: a timeout
object, its rescheduling, an asynchronous context manager around the block, and an
event-loop timer per block (under uvloop, a timer handle of libuv's own, set up and
torn down each time). On the request path every request pays that for deadlines that
almost never fire. Here the deadlines of a loop share one timer instead, which looks
for expired ones every :data:`TICK_S` while there are any; an expired block's task is
cancelled, and the cancellation becomes :class:`TimeoutError` when the block ends. A
deadline therefore fires up to :data:`TICK_S` late, which is nothing beside the
seconds the gateway's deadlines are.
"""

from __future__ import annotations

import asyncio
import weakref
from types import TracebackType

TICK_S = 0.05
"""How often the deadlines of a loop are checked while there are any."""


class Deadline:
    """``with Deadline(seconds): ...`` in a task: an await in the block still waiting
    ``seconds`` after it began (up to :data:`TICK_S` more) raises :class:`TimeoutError`
    out of the block. A cancellation from anywhere else stays a cancellation."""

    __slots__ = ("_seconds", "_task", "_watch", "at", "expired")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self.expired = False

    def __enter__(self) -> Deadline:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("Deadline is used in a task")
        self._task = task
        self.at = loop.time() + self._seconds
        watch = _watches.get(loop)
        if watch is None:
            watch = _watches[loop] = _Watch(loop)
        self._watch = watch
        watch.add(self)
        return self

    def expire(self) -> None:
        """The deadline has passed: cancel the block's task."""
        self.expired = True
        self._task.cancel()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._watch.active.discard(self)
        if self.expired and kind is not None and issubclass(kind, asyncio.CancelledError):
            self._task.uncancel()
            raise TimeoutError from exc


class _Watch:
    """The deadlines of one event loop, and the one timer that looks for expired ones."""

    __slots__ = ("_loop", "_timer", "active")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.active: set[Deadline] = set()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, deadline: Deadline) -> None:
        self.active.add(deadline)
        if self._timer is None:
            self._timer = self._loop.call_later(min(TICK_S, deadline._seconds), self._sweep)

    def _sweep(self) -> None:
        self._timer = None
        now = self._loop.time()
        for deadline in [d for d in self.active if d.at <= now]:
            self.active.discard(deadline)
            deadline.expire()
        if self.active:
            soonest = min(d.at for d in self.active) - now
            self._timer = self._loop.call_later(min(TICK_S, max(soonest, 0.0)), self._sweep)


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watch] = weakref.WeakKeyDictionary()
