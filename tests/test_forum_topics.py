"""Forum topics: where a subscription posts, the config's thread_id, Telegram's refusals of a
closed or deleted topic as the sink reports them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from telegram import Bot

from bot.config.loader import ConfigError, config_from_dict
from bot.delivery import sinks
from bot.delivery.telegram_sink import TelegramSink
from bot.matching.audience import Audience
from bot.records import Article, Topic
from bot.service import subscriptions
from bot.service.chats import ChatInfo
from storage.store import Store
from tests.helpers import TOKEN

TOPICS = {"volcanoes": Topic(id="volcanoes", name="Volcanoes", query="volcano")}
GROUP = ChatInfo(chat_id=-1005, type="supergroup", title="Forum")


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "db.sqlite")
    yield store
    store.close()


def test_a_subscription_remembers_its_topic_and_moves_when_followed_from_another(store):
    first = subscriptions.subscribe(store, TOPICS, GROUP, "volcanoes", thread_id=77)
    assert first.created and not first.moved
    again = subscriptions.subscribe(store, TOPICS, GROUP, "volcanoes", thread_id=77)
    assert not again.created and not again.moved
    moved = subscriptions.subscribe(store, TOPICS, GROUP, "volcanoes", thread_id=88)
    assert moved.moved
    [sub] = store.subscriptions.for_chat(GROUP.chat_id)
    assert sub.thread_id == 88
    general = subscriptions.subscribe(store, TOPICS, GROUP, "volcanoes")  # from General
    assert general.moved and store.subscriptions.for_chat(GROUP.chat_id)[0].thread_id is None


def test_the_audience_names_the_topic_of_the_matching_subscription(store):
    subscriptions.subscribe(store, TOPICS, GROUP, "volcanoes", thread_id=77)
    subscriptions.subscribe(store, TOPICS, ChatInfo(chat_id=9), "volcanoes")
    audience = Audience(TOPICS)
    audience.load(store.subscriptions.active())
    found = {r.chat_id: r.thread_id for r in audience.recipients(Article("1", "Volcano erupts"))}
    assert found == {GROUP.chat_id: 77, 9: None}


def test_a_filter_keeps_its_topic(store):
    subscriptions.subscribe(store, TOPICS, GROUP, "volcanoes", thread_id=77)
    [sub] = store.subscriptions.for_chat(GROUP.chat_id)
    new = store.subscriptions.replace(sub.id, narrow="-iceland")
    assert new is not None and new.thread_id == 77


def test_topic_faults_are_news_once_until_cleared(store):
    store.chats.ensure(GROUP.chat_id, type="supergroup")
    assert store.chats.note_topic_fault(GROUP.chat_id, 77, "TOPIC_CLOSED")
    assert not store.chats.note_topic_fault(GROUP.chat_id, 77, "TOPIC_CLOSED")
    assert store.chats.topic_faults(GROUP.chat_id) == {77: "TOPIC_CLOSED"}
    assert store.chats.clear_topic_fault(GROUP.chat_id, 77)
    assert store.chats.note_topic_fault(GROUP.chat_id, 77, "message thread not found")


def test_config_thread_id_must_be_a_positive_topic_id():
    topics = [{"id": "volcanoes", "name": "V", "query": "volcano"}]
    ok = config_from_dict(
        {
            "topics": topics,
            "channels": [{"chat_id": -1005, "topics": ["volcanoes"], "thread_id": 7}],
        },
        env={},
    )
    assert ok.channels[0].thread_id == 7
    for bad in (0, "7"):
        with pytest.raises(ConfigError) as err:
            config_from_dict(
                {
                    "topics": topics,
                    "channels": [{"chat_id": -1005, "topics": ["volcanoes"], "thread_id": bad}],
                },
                env={},
            )
        assert "channels[0].thread_id" in str(err.value)


@pytest.mark.parametrize(("close", "closed"), [(True, True), (False, False)])
async def test_the_sink_reports_a_closed_or_deleted_topic(telegram_api, close, closed):
    telegram_api.add_chat(-1005, "supergroup", is_forum=True)
    telegram_api.open_topic(-1005, 77)
    if close:
        telegram_api.close_topic(-1005, 77)
    else:
        telegram_api.delete_topic(-1005, 77)
    message = sinks.Outgoing(chat_id=-1005, html="<b>x</b>", text="x", thread_id=77)
    async with Bot(TOKEN, base_url=telegram_api.base_url) as bot:
        sink = TelegramSink(bot)
        with pytest.raises(sinks.TopicUnavailable) as err:
            await sink.send(message)
        assert err.value.closed is closed
        assert await sink.send(message.in_general()) > 0  # General takes it


def test_a_forums_digest_goes_to_each_topic_with_that_topics_alerts_only(store):
    from datetime import UTC, datetime, timedelta

    from bot.delivery.digest import make_due_digests
    from bot.records import Alert
    from bot.service import settings as chat_settings

    store.chats.ensure(GROUP.chat_id, type="supergroup")
    chat_settings.set_digest(store, GROUP.chat_id, "hourly")
    feed = store.feeds.upsert("https://wire.example/rss")
    threads = {"Etna erupts": 77, "Markets calm": 88, "Lava reaches the sea": 77}
    for n, (title, thread) in enumerate(threads.items()):
        [stored] = store.articles.add_new(
            feed.id, [Article(id=str(n), title=title, link=f"https://wire.example/{n}")]
        )
        alert = Alert(GROUP.chat_id, stored.key, "t", "x", link=stored.article.link)
        store.outbox.enqueue([replace(alert, thread_id=thread)])
    make_due_digests(store, now=datetime.now(UTC) + timedelta(hours=1))
    digests = [d for d in store.outbox.for_chat(GROUP.chat_id) if d.kind == "digest"]
    by_thread = {d.thread_id: d.html for d in digests}
    assert sorted(by_thread) == [77, 88]
    assert "Etna" in by_thread[77] and "Lava" in by_thread[77] and "Markets" not in by_thread[77]
    assert "Markets" in by_thread[88] and "Etna" not in by_thread[88]
