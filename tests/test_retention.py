"""Retention: old text and finished deliveries go; what dedupes stays, so a pruned story that
a feed still lists is not alerted again; pending alerts are never pruned."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config.loader import config_from_dict
from bot.errors import ConfigError
from bot.records import Alert, Article, utcnow
from storage.retention import prune
from storage.store import Store

DAY = 86400.0


def article(n: int) -> Article:
    return Article(
        id=f"urn:story:{n}",
        title=f"Story number {n} about the summit in Seoul",
        link=f"https://news.example/{n}",
        summary="A summary. " * 20,
        content="The whole text. " * 200,
    )


def alert(chat_id: int, key: int) -> Alert:
    return Alert(chat_id=chat_id, article_key=key, topic="t", html="<b>x</b>", text="x", link="")


@pytest.fixture
def aged(store: Store) -> None:
    """Two stories 40 days old (one alert sent, one failed, one still pending) and a fresh one."""
    feed = store.feeds.upsert("https://news.example/feed.xml")
    store.chats.ensure(1)
    store.chats.ensure(2)
    old = utcnow() - timedelta(days=40)
    stored = store.articles.add_new(feed.id, [article(1), article(2)], now=old)
    stored += store.articles.add_new(feed.id, [article(3)])  # fresh
    store.articles.mark_processed(s.key for s in stored)
    ids = store.outbox.enqueue([alert(1, s.key) for s in stored[:2]], now=old)
    store.outbox.mark_sent(ids[0], 11)
    store.outbox.mark_failed(ids[1], "blocked")
    store.outbox.enqueue([alert(2, stored[1].key)], now=old)  # still pending after 40 days
    fresh = store.outbox.enqueue([alert(1, stored[2].key)])
    store.outbox.mark_sent(fresh[0], 12)


def text_of(store: Store, entry_id: str) -> tuple[str, str]:
    row = store.db.execute(
        "SELECT summary, content FROM articles WHERE entry_id = ?", [entry_id]
    ).fetchone()
    return tuple(row) if row else None  # type: ignore[return-value]


@pytest.mark.usefixtures("aged")
def test_prune_drops_old_text_and_finished_deliveries_but_keeps_pending(store):
    result = prune(store.db, retention=30 * DAY)
    assert result.deliveries_deleted == 2  # the old sent and the old failed one
    assert result.articles_compacted == 1  # story 1; story 2 has a pending alert
    assert result.articles_deleted == 0
    assert text_of(store, "urn:story:1") == ("", "")
    assert text_of(store, "urn:story:2")[1].startswith("The whole text.")
    assert text_of(store, "urn:story:3")[1].startswith("The whole text.")
    assert store.outbox.counts() == {"pending": 1, "sent": 1}
    assert prune(store.db, retention=30 * DAY) == type(result)()  # nothing more to do


@pytest.mark.usefixtures("aged")
def test_a_pruned_story_the_feed_still_lists_is_not_new_again(store):
    prune(store.db, retention=30 * DAY)
    feed = store.feeds.get_by_url("https://news.example/feed.xml")
    assert store.articles.add_new(feed.id, [article(1), article(2), article(3)]) == []


@pytest.mark.usefixtures("aged")
def test_article_identities_go_only_a_year_later(store):
    far = utcnow() + timedelta(days=400)
    result = prune(store.db, retention=30 * DAY, now=far)
    assert result.articles_deleted == 2  # stories 1 and 3; story 2 has a pending alert
    assert store.articles.count() == 1
    assert store.outbox.counts() == {"pending": 1}


@pytest.mark.usefixtures("aged")
def test_prune_works_in_small_batches(store):
    result = prune(store.db, retention=30 * DAY, batch=1)
    assert (result.deliveries_deleted, result.articles_compacted) == (2, 1)


@pytest.mark.parametrize(
    ("value", "seconds"), [("30d", 30 * DAY), ("2d12h", 2.5 * DAY), ("off", None), (0, None)]
)
def test_retention_config(value, seconds):
    assert config_from_dict({"storage": {"retention": value}}, env={}).storage.retention == seconds


def test_retention_defaults_to_30_days_and_refuses_less_than_a_day():
    assert config_from_dict({}, env={}).storage.retention == 30 * DAY
    with pytest.raises(ConfigError, match=r"storage\.retention"):
        config_from_dict({"storage": {"retention": "3h"}}, env={})
    with pytest.raises(ConfigError, match=r"storage\.retention"):
        config_from_dict({"storage": {"retention": "a month"}}, env={})


@pytest.mark.usefixtures("aged")
def test_alerts_held_for_a_digest_are_never_pruned(store):
    [pending] = store.outbox.for_chat(2)  # story 2, 40 days old: becomes a held alert instead
    store.outbox.skip_chat(2, "gone")
    store.chats.ensure(3)
    store.chats.set_alert_mode(3, "digest")
    store.outbox.enqueue([alert(3, pending.article_key)], now=utcnow() - timedelta(days=40))
    prune(store.db, retention=30 * DAY)
    assert store.outbox.counts().get("held") == 1
    assert text_of(store, "urn:story:2")[1].startswith("The whole text.")
