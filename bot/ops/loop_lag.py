"""How long the event loop is held: a heartbeat task that sleeps a fixed time and measures
how late it wakes.  Lateness is time in which no command could be answered and no alert
sent; it is exported as ``newsalert_event_loop_lag_seconds`` (``bot.ops.metrics``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

TICK = 0.1  # seconds between beats


class LoopLagMonitor:
    """Runs on the loop it measures; ``on_lag(seconds)`` gets every beat's lateness."""

    def __init__(self, on_lag: Callable[[float], None], *, tick: float = TICK) -> None:
        self.on_lag = on_lag
        self.tick = tick
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._beat(), name="newsalert-loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _beat(self) -> None:
        clock = time.perf_counter
        while True:
            started = clock()
            await asyncio.sleep(self.tick)
            late = max(0.0, clock() - started - self.tick)
            self.worst = max(self.worst, late)
            self.on_lag(late)
