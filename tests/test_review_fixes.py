"""Defects a review found, pinned: each test failed before its fix."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config.loader import config_from_dict
from bot.pipeline import sync_config
from bot.records import Alert, Article, utcnow
from bot.service import chats
from bot.service import settings as chat_settings
from storage.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "db.sqlite")
    yield s
    s.close()


def test_story_ids_are_never_handed_out_again_after_pruning(store):
    feed = store.feeds.upsert("https://a.example/rss")
    old = utcnow() - timedelta(days=30)
    keys = [
        s.key
        for s in store.articles.add_new(
            feed.id,
            [Article(id=str(i), title=f"Story {i} with a long enough headline") for i in range(3)],
        )
    ]
    ids = [
        store.stories.create(k, feed.id, store.articles.get(k).article, "", now=old) for k in keys
    ]
    store.stories.prune(before=utcnow())  # all are old
    [fresh] = store.articles.add_new(
        feed.id, [Article(id="new", title="A brand new story headline")]
    )
    new_id = store.stories.create(fresh.key, feed.id, fresh.article, "", now=utcnow())
    assert new_id > max(ids)


@pytest.mark.parametrize("name", ["Europe", "Asia", "America", "x" * 300])
def test_a_timezone_that_is_a_folder_or_too_long_is_refused_not_a_crash(store, name):
    store.chats.ensure(1)
    result = chat_settings.set_timezone(store, 1, name)
    assert not result.ok


def test_a_chat_that_blocks_the_bot_has_its_queue_skipped(store):
    feed = store.feeds.upsert("https://a.example/rss")
    [stored] = store.articles.add_new(
        feed.id, [Article(id="1", title="A headline long enough here")]
    )
    store.chats.ensure(7)
    store.outbox.enqueue([Alert(chat_id=7, article_key=stored.key, topic="t", html="x")])
    chats.deactivate_chat(store, 7, "kicked")
    chats.register_chat(store, chats.ChatInfo(chat_id=7))  # back again
    assert store.outbox.due() == []  # old news is not sent on return


def test_a_channel_named_by_username_keeps_its_subscriptions_when_telegram_is_unreachable(store):
    config = config_from_dict(
        {"channels": [{"chat_id": "@korea_watch", "topics": ["korea-diplomacy"]}]}, env={}
    )
    # an earlier start resolved @korea_watch to its id
    store.chats.configure(-100777, footer="")
    store.chats.ensure(-100777, type="channel", username="korea_watch")
    store.subscriptions.add(-100777, "korea-diplomacy", from_config=True)
    sync_config(store, config)  # a restart or /reload, before getChat could answer
    assert [s.topic_id for s in store.subscriptions.for_chat(-100777)] == ["korea-diplomacy"]


def test_a_channel_removed_from_the_config_gets_its_own_settings_back(store):
    config = config_from_dict(
        {"channels": [{"chat_id": -100888, "topics": ["korea-diplomacy"], "footer": "Theirs."}]},
        env={},
    )
    sync_config(store, config)
    assert store.chats.get(-100888).from_config
    sync_config(store, config_from_dict({}, env={}))
    chat = store.chats.get(-100888)
    assert not chat.from_config and chat.footer == ""
    assert store.subscriptions.for_chat(-100888) == []


async def test_reload_schedules_a_feed_added_from_the_command_line(feed_server, tmp_path):
    import io

    from bot.app import Core
    from bot.config.loader import load_config
    from bot.delivery.sinks import ConsoleSink

    feed_server.set(
        "/a.xml",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>A</title></channel></rss>',
    )
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\npath = "{tmp_path / "db.sqlite"}"\n\n[[feeds]]\nurl = "{feed_server.url("/a.xml")}"\n'
    )
    async with Core(load_config(path, env={}), sink=ConsoleSink(io.StringIO())) as core:
        await core.start()
        added = core.store.feeds.upsert(feed_server.url("/b.xml"), origin="cli")  # `feeds add`
        assert added.id not in core.scheduler.feed_ids()
        outcome = await core.reload()
        assert outcome.ok and outcome.feeds_added == 1
        assert added.id in core.scheduler.feed_ids()
