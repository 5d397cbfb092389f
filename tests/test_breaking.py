"""Breaking news by velocity: enough outlets, quickly enough; chats that take breaking news
at once get it through quiet hours and digests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config.loader import ConfigError, config_from_dict
from bot.delivery.render import breaking_line, with_breaking
from bot.delivery.sender import Sender
from bot.ingest.fetch import Fetcher
from bot.ingest.stories import breaking_outlets
from bot.pipeline import Pipeline
from bot.records import Article
from bot.service import settings as chat_settings
from storage.store import Store
from tests.test_sender import ScriptedSink

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def test_breaking_needs_enough_distinct_outlets_within_the_window():
    at = [
        ("Reuters", T0),
        ("reuters", T0 + timedelta(minutes=1)),
        ("AP", T0 + timedelta(minutes=5)),
    ]
    assert breaking_outlets(at, outlets=3, window=HALF_HOUR) == ()  # two outlets, not three
    at.append(("Yonhap", T0 + timedelta(minutes=29)))
    assert breaking_outlets(at, outlets=3, window=HALF_HOUR) == ("Reuters", "AP", "Yonhap")
    slow = [("A", T0), ("B", T0 + timedelta(minutes=20)), ("C", T0 + timedelta(minutes=45))]
    assert breaking_outlets(slow, outlets=3, window=HALF_HOUR) == ()
    # any window will do, not just the first: B, C and D are within 30 minutes
    slow.append(("D", T0 + timedelta(minutes=48)))
    assert breaking_outlets(slow, outlets=3, window=HALF_HOUR) == ("A", "B", "C", "D")


def test_breaking_line_and_marked_alert():
    assert breaking_line(["Reuters", "AP", "AP", "Yonhap"]) == "Breaking · Reuters, AP, Yonhap"
    many = breaking_line([f"Outlet {n}" for n in range(8)])
    assert many.endswith("Outlet 4 and 3 more")
    html, text = with_breaking("<b>T</b>", "T", ["Reuters", "AP", "Yonhap"])
    assert html == "🔴 <b>Breaking</b> · Reuters, AP, Yonhap\n<b>T</b>"
    assert text == "🔴 Breaking · Reuters, AP, Yonhap\nT"


def test_breaking_config():
    cfg = config_from_dict({"alerts": {"breaking_outlets": 4, "breaking_window": "10m"}}, env={})
    assert (cfg.alerts.breaking_outlets, cfg.alerts.breaking_window) == (4, 600.0)
    default = config_from_dict({}, env={}).alerts
    assert (default.breaking_outlets, default.breaking_window) == (3, 1800.0)
    with pytest.raises(ConfigError, match=r"alerts\.breaking_outlets"):
        config_from_dict({"alerts": {"breaking_outlets": 1}}, env={})
    with pytest.raises(ConfigError, match=r"alerts\.breaking_window"):
        config_from_dict({"alerts": {"breaking_window": "soon"}}, env={})


STORY = "Volcano erupts on Indonesian island, thousands of villagers flee"
LEAD = "An Indonesian volcano erupted on Sunday, spewing ash five kilometres into the sky."


@pytest.fixture
async def desk(tmp_path):
    config = config_from_dict(
        {"topics": [{"id": "volcanoes", "name": "Volcanoes", "query": "volcano"}]}, env={}
    )
    store = Store.open(tmp_path / "db.sqlite")
    async with Fetcher() as fetcher:
        pipeline = Pipeline(store, config, fetcher)
        feeds = []
        for n in range(3):
            feed = store.feeds.upsert(f"https://outlet{n}.example/rss", name=f"Outlet {n}")
            store.feeds.record_success(
                feed.id, etag=None, last_modified=None, body_hash=None, new_entries=0,
                next_poll=T0, now=T0,
            )  # fmt: skip
            feeds.append(store.feeds.get(feed.id))
        yield store, pipeline, feeds
    store.close()


def _copy(n: int) -> Article:
    return Article(
        id=f"e{n}",
        title=STORY,
        summary=LEAD,
        link=f"https://outlet{n}.example/eruption",
        source=f"Outlet {n}",
        published=T0,
    )


async def test_a_chat_taking_breaking_news_gets_it_through_quiet_hours_and_digests(desk):
    store, pipeline, feeds = desk
    quiet, digest, plain = 1, 2, 3
    for chat_id in (quiet, digest, plain):
        store.chats.ensure(chat_id)
        store.subscriptions.add(chat_id, "volcanoes")
    now = T0 + timedelta(minutes=1)
    # 12:01 UTC is inside 11:00-13:00 UTC for both quiet chats
    assert chat_settings.set_quiet_hours(store, quiet, "11:00-13:00").ok
    assert chat_settings.set_quiet_hours(store, plain, "11:00-13:00").ok
    assert chat_settings.set_digest(store, digest, "daily 08:00").ok
    for chat_id in (quiet, digest):
        assert chat_settings.set_breaking_through(store, chat_id, True).ok
    sink = ScriptedSink()
    sender = Sender(store, sink, clock=lambda: now)
    await pipeline.process(feeds[0], [_copy(0)], now=now)
    await sender.drain()
    assert sink.sent == []  # quiet hours hold it, the digest holds it
    await pipeline.process(feeds[1], [_copy(1)], now=now)
    assert sink.sent == []
    await pipeline.process(feeds[2], [_copy(2)], now=now)  # the third outlet: breaking
    await sender.drain()
    got = {m["chat_id"]: m["html"] for m in sink.sent}
    assert set(got) == {quiet, digest}  # not the chat that did not ask for it
    for html in got.values():
        assert html.startswith("🔴 <b>Breaking</b> · Outlet 0, Outlet 1, Outlet 2\n")
    assert [d.state for d in store.outbox.for_chat(plain)] == ["pending"]  # after quiet hours
