"""State that invalidates itself: a write to subscriptions or to a chat's delivery settings
moves a generation number in the store, whoever writes it (no hook to call), and the
pipeline's audience and the sender follow it on their own."""

from __future__ import annotations

import io
from datetime import timedelta

import bot.app
from bot.app import Core
from bot.config.loader import config_from_dict
from bot.delivery.sinks import ConsoleSink
from bot.records import Alert, Article, utcnow
from storage.store import Store
from tests.helpers import wait_until

KOREA = "North Korea and US envoys hold talks on denuclearisation in Panmunjom"


def make_config(tmp_path):
    return config_from_dict(
        {"storage": {"path": str(tmp_path / "db.sqlite")}, "fetch": {"full_text": False}},
        env={},
    )


def korea_article(n: int) -> Article:
    return Article(id=f"k{n}", title=f"{KOREA} ({n})", link=f"https://wire.example/k{n}")


async def test_a_subscription_written_through_the_store_is_matched_on_the_next_article(tmp_path):
    config = make_config(tmp_path)
    sink = ConsoleSink(io.StringIO())
    async with Core(config, sink=sink, alert_on_first_poll=True) as core:
        store = core.store
        feed = store.feeds.upsert("https://wire.example/rss")
        store.chats.ensure(1)
        result = await core.pipeline.process(feed, [korea_article(1)])
        assert result.alerts == 0  # nobody follows anything yet
        # No hook, no service call: the store alone.
        store.subscriptions.add(1, "korea-diplomacy")
        feed = store.feeds.get(feed.id)
        result = await core.pipeline.process(feed, [korea_article(2)])
        assert result.alerts == 1
        # Another process (the CLI, say) writes to the same database file.
        other = Store.open(config.storage.path)
        try:
            other.chats.ensure(2)
            other.subscriptions.add(2, "query", query='"north korea"')
            other.chats.set_paused(1, True)
        finally:
            other.close()
        result = await core.pipeline.process(store.feeds.get(feed.id), [korea_article(3)])
        assert result.alerts == 1  # chat 2's query; chat 1 is paused
        assert [len(store.outbox.for_chat(c)) for c in (1, 2)] == [1, 1]


async def test_a_delivery_setting_written_by_another_process_wakes_the_sender(
    tmp_path, monkeypatch
):
    # The sender's timed look is an hour away: only the generation can wake it.
    monkeypatch.setattr(bot.app, "DRAIN_EVERY", 3600.0)
    config = make_config(tmp_path)
    sink = ConsoleSink(io.StringIO())
    async with Core(config, sink=sink) as core:
        store = core.store
        feed = store.feeds.upsert("https://wire.example/rss")
        [stored] = store.articles.add_new(feed.id, [korea_article(1)])
        store.chats.ensure(1)
        now = utcnow()
        start, end = now - timedelta(hours=1), now + timedelta(hours=2)
        store.chats.set_quiet_hours(1, f"{start:%H:%M}", f"{end:%H:%M}", "hold")
        store.outbox.enqueue(
            [Alert(chat_id=1, article_key=stored.key, topic="t", html="<b>Talks</b>", text="Talks")]
        )
        await core.start()
        await wait_until(
            lambda: [d.reason for d in store.outbox.for_chat(1)] == ["quiet hours"],
            what="the alert held for quiet hours",
        )
        assert sink.sent == []
        other = Store.open(config.storage.path)
        try:
            other.chats.set_quiet_hours(1, "", "", "hold")
            other.outbox.release_quiet(1)
        finally:
            other.close()
        await wait_until(lambda: sink.sent, what="the alert sent once quiet hours are off")


async def test_the_subscriptions_compiled_at_start_are_not_compiled_again_on_the_loop(
    tmp_path, monkeypatch
):
    # The start compiles them in a thread; the first article must not compile them all
    # again on the event loop (with 100,000 subscriptions: seconds without a reply).
    config = make_config(tmp_path)
    store = Store.open(config.storage.path)
    store.chats.ensure(1)
    store.subscriptions.add(1, "korea-diplomacy")
    store.close()
    async with Core(config, sink=ConsoleSink(io.StringIO()), alert_on_first_poll=True) as core:
        await core.pipeline.load_audience()
        loads = []
        original = core.pipeline.audience.load
        monkeypatch.setattr(
            core.pipeline.audience, "load", lambda *a, **k: loads.append(1) or original(*a, **k)
        )
        feed = core.store.feeds.upsert("https://wire.example/rss")
        result = await core.pipeline.process(feed, [korea_article(1)])
        assert result.alerts == 1
        assert loads == []
        core.store.subscriptions.add(1, "query", query="panmunjom")
        await core.pipeline.process(core.store.feeds.get(feed.id), [korea_article(2)])
        assert loads == [1]  # a change still reloads
