"""Start and stop of a running bot: a stop while polls are in flight ends them quietly (no traceback per poll in the log),
and the first polls after a start are spread out rather than all fired in one second."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.app import Core
from bot.config.loader import config_from_dict
from tests.fakes.feed_server import FeedServer
from tests.helpers import wait_until

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://x.example'
    b"</link><description>d</description></channel></rss>"
)


def config(urls: list[str], db: str, **polling: Any) -> Any:
    return config_from_dict(
        {
            "storage": {"path": db},
            "polling": {"jitter": 0, **polling},
            "fetch": {"full_text": False},
            "feeds": [{"url": u, "interval": "10m"} for u in urls],
        },
        env={},
    )


async def test_a_stop_during_polls_logs_no_traceback(
    feed_server: FeedServer, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    urls = []
    for n in range(2):  # fetch.per_host is 2: both in flight at once
        feed_server.set(f"/hang{n}.xml", RSS)
        feed_server.fault(f"/hang{n}.xml", "timeout", delay=30)
        urls.append(feed_server.url(f"/hang{n}.xml"))
    core = Core(config(urls, str(tmp_path / "bot.db")))
    caplog.set_level(logging.INFO)
    await core.start()
    try:
        await wait_until(lambda: feed_server.in_flight == 2, what="both polls in flight")
    finally:
        await asyncio.wait_for(core.stop(), timeout=20)
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert loud == [], [r.getMessage() for r in loud]
    assert any("polls in flight" in r.getMessage() for r in caplog.records)


def test_first_polls_are_spread_over_the_start(tmp_path: Any) -> None:
    urls = [f"https://feeds{n}.example/rss" for n in range(200)]
    core = Core(config(urls, str(tmp_path / "bot.db"), start_rate=50))

    async def scheduled() -> list[float]:
        await core.start()
        try:
            jobs = [j for j in core.scheduler.scheduler.get_jobs() if j.id.startswith("feed-")]
            first = min(j.next_run_time for j in jobs)
            return sorted((j.next_run_time - first).total_seconds() for j in jobs)
        finally:
            await core.stop()

    offsets = asyncio.run(scheduled())
    assert len(offsets) == 200
    # 50 a second: the last of 200 about 4 s after the first, none sooner than its place
    assert offsets[-1] == pytest.approx(199 / 50, abs=0.5)
    assert offsets[49] < 1.1 and offsets[100] >= 1.9
