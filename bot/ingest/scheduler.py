"""The one APScheduler (AsyncIOScheduler) of the process: a job per feed, plus the
periodic jobs the core adds (heartbeat, digests, pruning).  ``max_instances=1`` keeps a
feed from being polled twice at once.  The outbox is not drained here: the sender has a
loop of its own (``bot.app.Core``), woken when alerts are written."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config.model import PollingConfig
from bot.records import utcnow

log = logging.getLogger(__name__)


class FeedScheduler:
    """Jobs by id (``feed-<id>`` for feeds), each run at most once at a time."""

    def __init__(self, *, jitter: float = PollingConfig.jitter) -> None:
        self.jitter = jitter
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    def add_feed(
        self,
        feed_id: int,
        interval: float,
        poll: Callable[[int], Awaitable[object]],
        *,
        first_in: float = 0.0,
    ) -> None:
        """Poll ``feed_id`` every ``interval`` seconds (plus a little jitter), the first
        time ``first_in`` seconds from now."""
        self.scheduler.add_job(
            poll,
            IntervalTrigger(seconds=interval, jitter=int(min(self.jitter, interval / 4)) or None),
            args=[feed_id],
            id=f"feed-{feed_id}",
            name=f"poll feed {feed_id}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(30, int(interval)),
            next_run_time=utcnow() + timedelta(seconds=first_in),
            replace_existing=True,
        )

    def feed_ids(self) -> set[int]:
        """The feeds that have a polling job."""
        return {
            int(job.id.removeprefix("feed-"))
            for job in self.scheduler.get_jobs()
            if job.id.startswith("feed-")
        }

    def remove_feed(self, feed_id: int) -> None:
        job = self.scheduler.get_job(f"feed-{feed_id}")
        if job is not None:
            job.remove()

    def add_periodic(
        self, name: str, seconds: float, func: Callable[[], Awaitable[object]]
    ) -> None:
        self.scheduler.add_job(
            func,
            IntervalTrigger(seconds=seconds),
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)
