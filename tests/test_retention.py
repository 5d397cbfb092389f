"""Retention: old text and finished deliveries go; what dedupes stays, so a pruned story that
a feed still lists is not alerted again; pending alerts are never pruned."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config.loader import config_from_dict
from bot.errors import ConfigError
from bot.records import Alert, Article, utcnow
from storage.retention import PruneResult, prune
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


def test_an_old_article_loses_its_vector_with_its_text_and_keeps_its_identity(store):
    # the 1 KiB vector was most of what an identity row kept for a year: nothing reads it
    # past the window (stories, votes and /why go by then)
    feed = store.feeds.upsert("https://news.example/feed.xml")
    old = utcnow() - timedelta(days=40)
    title_only = Article(id="urn:story:9", title="A headline alone, with no text at all")
    stored = store.articles.add_new(feed.id, [article(1), title_only], now=old)
    stored += store.articles.add_new(feed.id, [article(2)])  # fresh
    store.articles.mark_processed(s.key for s in stored)
    for s in stored:
        store.articles.set_vector(s.key, b"\x00\x3c" * 512)
    result = prune(store.db, retention=30 * DAY)
    assert result.articles_compacted == 2  # the title-only one had a vector to lose
    assert [store.articles.vector(s.key) for s in stored] == [None, None, b"\x00\x3c" * 512]
    assert text_of(store, "urn:story:1") == ("", "")
    assert store.articles.add_new(feed.id, [article(1), title_only]) == []  # still known
    assert prune(store.db, retention=30 * DAY) == PruneResult()


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


def _history(store: Store, kept: int) -> None:
    """200 of each thing a prune takes (articles to compact, identities to delete with a
    vote each, finished deliveries), and ``kept`` of each thing it keeps (articles already
    compacted, recent deliveries and votes)."""
    feed = store.feeds.upsert("https://news.example/feed.xml")
    store.chats.ensure(1)
    now = utcnow()

    def at(days: float) -> str:
        return (now - timedelta(days=days)).isoformat(timespec="microseconds")

    def articles(prefix: str, n: int, days: float, text: str) -> list[int]:
        first = store.db.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()[0] + 1
        store.db.conn.executemany(
            "INSERT INTO articles (id, feed_id, entry_id, title, summary, content, first_seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(first + i, feed.id, f"{prefix}{i}", f"{prefix} {i}", text, text, at(days))
             for i in range(n)],
        )  # fmt: skip
        return list(range(first, first + n))

    def deliveries(keys: list[int], state: str, days: float) -> None:
        store.db.conn.executemany(
            "INSERT INTO deliveries (chat_id, article_id, topic, html, state, created_at) "
            "VALUES (1, ?, 't', 'x', ?, ?)",
            [(key, state, at(days)) for key in keys],
        )

    def votes(keys: list[int]) -> None:
        store.db.conn.executemany(
            "INSERT INTO feedback (chat_id, topic, article_id, vote, created_at) "
            "VALUES (1, 't', ?, 1, ?)",
            [(key, at(1)) for key in keys],
        )

    with store.db.atomic():
        deliveries(articles("old", 200, 40, "text"), "sent", 40)  # to compact; rows to delete
        votes(articles("ancient", 200, 400, ""))  # identities past the year
        articles("compacted", kept, 100, "")
        recent = articles("recent", kept, 5, "text")
        deliveries(recent, "sent", 5)
        votes(recent)


def _work(store: Store) -> tuple[int, PruneResult]:
    """What one prune did, and how much SQLite had to do for it (its virtual machine's
    instructions, in thousands: a count, not a time)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store.db.conn.set_progress_handler(count, 1000)
    try:
        result = prune(store.db, retention=30 * DAY, batch=50)
    finally:
        store.db.conn.set_progress_handler(None, 0)
    return steps, result


def test_a_prunes_work_grows_with_what_it_prunes_not_with_what_it_keeps(tmp_path):
    # deleting an old article read every vote (no index on feedback.article_id), each batch
    # read every delivery (for the pending ones) and every article already compacted
    work = {}
    for kept in (1_000, 10_000):
        store = Store.open(tmp_path / f"{kept}.sqlite")
        try:
            _history(store, kept)
            work[kept], result = _work(store)
        finally:
            store.close()
        assert result == PruneResult(200, 200, 200)
    assert work[10_000] < 3 * work[1_000], work  # 10x as much kept; it was 8x the work
