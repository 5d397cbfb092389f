"""Feed health: backoff, gone and broken feeds, the operator told once, adaptive rhythm."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

from bot.app import Core
from bot.config.loader import config_from_dict
from bot.ingest.feed_health import (
    HealthPolicy,
    backoff_delay,
    due,
    first_polls,
    is_broken,
    is_quiet,
    poll_interval,
)
from bot.records import FeedStatus, utcnow
from handlers.info import FEED_STATUS
from storage.feeds import FeedState
from tests.helpers import TOKEN, wait_until

NOW = utcnow()


def state(**changes) -> FeedState:
    base = dict(
        id=1, url="https://a.example/rss", name="", interval=None, full_text=None, etag=None,
        last_modified=None, body_hash=None, status="ok", primed=True, last_polled=None,
        last_success=None, last_error=None, last_error_at=None, consecutive_failures=0,
        next_poll=None, entries_seen=0, last_new_entry=None,
    )  # fmt: skip
    base.update(changes)
    return FeedState(**base)


POLICY = HealthPolicy(default_interval=900, min_interval=120, max_interval=3600, max_backoff=7200)


def test_own_interval_is_honoured_however_short():
    assert poll_interval(state(interval=5.0), POLICY) == 5.0


def test_adaptive_interval_follows_the_feeds_rhythm_within_bounds():
    assert poll_interval(state(), POLICY) == 900
    assert poll_interval(state(avg_gap=1200.0), POLICY) == 600
    assert poll_interval(state(avg_gap=10.0), POLICY) == 120
    assert poll_interval(state(avg_gap=86400.0), POLICY) == 3600


def test_backoff_doubles_up_to_the_cap_and_honours_retry_after():
    delays = [backoff_delay(n, 600, POLICY) for n in range(1, 6)]
    assert delays == [600, 1200, 2400, 4800, 7200]
    assert backoff_delay(1, 600, POLICY, retry_after=3000) == 3000


def test_backoff_stays_at_the_cap_for_a_feed_that_failed_for_months():
    # 2 ** 1100 does not fit a float: a feed dead for most of a year broke its own poll
    assert backoff_delay(1100, 600.0, POLICY) == 7200


def test_failing_feed_waits_out_its_backoff_but_healthy_one_follows_the_scheduler():
    later = NOW + timedelta(minutes=5)
    assert not due(state(consecutive_failures=2, next_poll=later), NOW, POLICY)
    assert due(state(consecutive_failures=0, next_poll=later), NOW, POLICY)


def test_stopped_feed_is_only_probed_now_and_then():
    assert not due(state(status="gone", last_polled=NOW - timedelta(minutes=10)), NOW, POLICY)
    assert due(state(status="gone", last_polled=NOW - timedelta(hours=3)), NOW, POLICY)


def test_broken_after_failing_for_give_up_after():
    assert is_broken(state(first_failure_at=NOW - timedelta(days=3)), NOW, POLICY)
    assert not is_broken(state(first_failure_at=NOW - timedelta(hours=1)), NOW, POLICY)


def test_quiet_when_silent_far_longer_than_usual():
    usual = state(avg_gap=3600.0, last_new_entry=NOW - timedelta(hours=2))
    silent = state(avg_gap=3600.0, last_new_entry=NOW - timedelta(days=3))
    assert not is_quiet(usual, NOW, POLICY) and is_quiet(silent, NOW, POLICY)


async def test_gone_feed_stops_tells_the_admin_once_then_recovery_is_announced(
    telegram_api, feed_server, tmp_path
):
    api = telegram_api
    admin = 4242
    feed = (resources.files("bot.data") / "demo_feed.xml").read_bytes()
    feed_server.set("/gone.xml", feed)
    feed_server.set("/fine.xml", feed)
    feed_server.fault("/gone.xml", "status", code=410)
    config = config_from_dict(
        {
            "telegram": {
                "token": TOKEN,
                "base_url": api.base_url,
                "poll_timeout": "1s",
                "admins": [admin],
            },
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "polling": {"jitter": 0, "max_backoff": "1s"},
            "feeds": [
                {"url": feed_server.url("/gone.xml"), "name": "Gone feed", "interval": "1s"},
                {"url": feed_server.url("/fine.xml"), "name": "Fine feed", "interval": "1s"},
            ],
        },
        env={},
    )
    async with Core(config) as core:
        await core.start()
        await wait_until(lambda: api.sent_messages(admin), what="the admin notice")
        gone = core.store.feeds.get_by_url(feed_server.url("/gone.xml"))
        assert gone.status == "gone" and gone.down_notified
        hits = feed_server.hits("/gone.xml")
        await wait_until(lambda: feed_server.hits("/gone.xml") >= hits + 2, what="probes")
        assert len(api.sent_messages(admin)) == 1, "the admin must be told once"
        fine = core.store.feeds.get_by_url(feed_server.url("/fine.xml"))
        assert fine.status == "ok" and fine.consecutive_failures == 0

        feed_server.clear_fault("/gone.xml")
        await wait_until(lambda: len(api.sent_messages(admin)) >= 2, what="the recovery notice")
    first, second = (m["text"] for m in api.sent_messages(admin))
    assert first.startswith("Feed stopped: Gone feed") and "410" in first
    assert second.startswith("Feed is back: Gone feed")


def test_every_feed_status_has_words_for_people():
    assert set(FEED_STATUS) == set(FeedStatus)


def test_a_restart_resumes_each_feeds_rhythm_and_spreads_the_first_polls():
    feeds = [
        state(id=1),  # never polled: at once
        state(id=2, interval=600, last_polled=NOW - timedelta(seconds=100)),  # 500 s left
        state(id=3, interval=600, last_polled=NOW - timedelta(hours=3)),  # overdue: at once
        state(id=4, consecutive_failures=2, next_poll=NOW + timedelta(seconds=40)),  # backoff
        state(id=5),
    ]
    after = first_polls(feeds, NOW, POLICY, rate=10)
    assert abs(after[1] - 500) < 1e-3 and abs(after[3] - 40) < 1e-3
    assert sorted([after[0], after[2], after[4]]) == [0.0, 0.1, 0.2]  # 10 a second


def test_first_polls_of_many_feeds_come_at_the_rate_and_no_sooner_than_due():
    feeds = [state(id=i) for i in range(1000)]
    after = first_polls(feeds, NOW, POLICY, rate=50)
    gaps = [b - a for a, b in zip(sorted(after), sorted(after)[1:], strict=False)]
    assert min(gaps) >= 1 / 50 - 1e-9 and abs(max(after) - 999 / 50) < 1e-6
