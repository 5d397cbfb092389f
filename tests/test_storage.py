"""Storage: migrations, dedupe keys, the outbox's uniqueness and states."""

from __future__ import annotations

from datetime import timedelta

from bot.records import Alert, Article, utcnow
from storage.database import WAL_SIZE_LIMIT, schema_is_current
from storage.store import Store


def art(id: str, title: str = "A headline that is long enough to count", link: str = "") -> Article:
    return Article(id=id, title=title, link=link, published=utcnow())


def test_database_is_wal_and_migrated(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_is_current(store.db)


def test_reopening_applies_no_migration_twice(tmp_path):
    Store.open(tmp_path / "x.db").close()
    s = Store.open(tmp_path / "x.db")
    assert s.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] >= 1
    s.close()


def test_same_entry_in_same_feed_is_not_new_even_when_edited(store):
    feed = store.feeds.upsert("https://a.example/rss")
    assert len(store.articles.add_new(feed.id, [art("1", "First title of the story here")])) == 1
    assert store.articles.add_new(feed.id, [art("1", "First title of the story, edited")]) == []


def test_same_canonical_url_across_feeds_is_not_new(store):
    a = store.feeds.upsert("https://a.example/rss")
    b = store.feeds.upsert("https://b.example/rss")
    link = "https://news.example/story"
    assert len(store.articles.add_new(a.id, [art("x", "Story one headline words", link)])) == 1
    assert store.articles.add_new(b.id, [art("y", "Other headline entirely here", link)]) == []


def test_same_headline_across_feeds_is_not_new(store):
    a = store.feeds.upsert("https://a.example/rss")
    b = store.feeds.upsert("https://b.example/rss")
    title = "North Korea and US agree to hold second summit"
    assert len(store.articles.add_new(a.id, [art("1", title, "https://a.example/1")])) == 1
    assert store.articles.add_new(b.id, [art("2", title + "!", "https://b.example/2")]) == []


def test_outbox_is_unique_per_chat_and_article(store):
    feed = store.feeds.upsert("https://a.example/rss")
    [stored] = store.articles.add_new(feed.id, [art("1")])
    store.chats.ensure(7)
    alert = Alert(chat_id=7, article_key=stored.key, topic="t", html="<b>x</b>", text="x")
    assert len(store.outbox.enqueue([alert])) == 1
    assert store.outbox.enqueue([alert]) == []
    [due] = store.outbox.due()
    store.outbox.mark_sent(due.id, 99)
    assert store.outbox.due() == []
    assert store.outbox.enqueue([alert]) == []
    assert store.outbox.get(due.id).message_id == 99


def test_outbox_retry_waits_until_its_time(store):
    feed = store.feeds.upsert("https://a.example/rss")
    [stored] = store.articles.add_new(feed.id, [art("1")])
    store.chats.ensure(7)
    [delivery_id] = store.outbox.enqueue(
        [Alert(chat_id=7, article_key=stored.key, topic="t", html="x")]
    )
    store.outbox.mark_retry(delivery_id, "timeout", utcnow() + timedelta(minutes=5))
    assert store.outbox.due() == []
    assert [d.id for d in store.outbox.due(now=utcnow() + timedelta(minutes=6))] == [delivery_id]


def test_inactive_chat_gets_nothing_and_comes_back(store):
    feed = store.feeds.upsert("https://a.example/rss")
    [stored] = store.articles.add_new(feed.id, [art("1")])
    store.chats.ensure(7)
    store.outbox.enqueue([Alert(chat_id=7, article_key=stored.key, topic="t", html="x")])
    store.chats.deactivate(7, "blocked")
    assert store.outbox.due() == []
    store.chats.ensure(7, reactivate=True)
    assert len(store.outbox.due()) == 1


def test_chat_migration_moves_subscriptions_and_pending_deliveries(store):
    feed = store.feeds.upsert("https://a.example/rss")
    [stored] = store.articles.add_new(feed.id, [art("1")])
    store.chats.ensure(-5, type="group")
    store.subscriptions.add(-5, "korea-diplomacy")
    store.outbox.enqueue([Alert(chat_id=-5, article_key=stored.key, topic="t", html="x")])
    store.chats.migrate(-5, -1005)
    assert store.chats.get(-5) is None
    assert [s.topic_id for s in store.subscriptions.for_chat(-1005)] == ["korea-diplomacy"]
    assert [d.chat_id for d in store.outbox.due()] == [-1005]


def test_feed_failures_count_up_and_success_resets(store):
    feed = store.feeds.upsert("https://a.example/rss")
    store.feeds.record_failure(feed.id, "timeout")
    state = store.feeds.record_failure(feed.id, "timeout")
    assert state.consecutive_failures == 2 and state.status == "failing"
    store.feeds.record_success(
        feed.id, etag='"e"', last_modified=None, body_hash="h", new_entries=3
    )
    state = store.feeds.get(feed.id)
    assert state.consecutive_failures == 0 and state.etag == '"e"' and state.entries_seen == 3


def test_same_feed_may_reuse_a_headline(store):
    feed = store.feeds.upsert("https://a.example/rss")
    title = "The Latest: North Korea fires a ballistic missile"
    assert len(store.articles.add_new(feed.id, [art("1", title, "https://a.example/1")])) == 1
    assert len(store.articles.add_new(feed.id, [art("2", title, "https://a.example/2")])) == 1


def test_migration_onto_an_existing_row_keeps_the_chats_settings(store):
    store.chats.ensure(-5, type="group")
    store.chats.configure(
        -5, footer="Our footer", link_preview=True, summary_chars=300, type="group"
    )
    store.chats.ensure(-1005, type="supergroup")  # my_chat_member for the new id came first
    store.chats.migrate(-5, -1005)
    moved = store.chats.get(-1005)
    assert (
        moved.footer == "Our footer" and moved.link_preview is True and moved.summary_chars == 300
    )
    assert moved.type == "supergroup" and store.chats.get(-5) is None


def _work_steps(store, n: int) -> int:
    """SQLite virtual-machine steps (counted by a progress handler, not timed) for one
    ``work()`` over a chat with ``n`` pending rows."""
    feed = store.feeds.upsert(f"https://steps{n}.example/rss")
    stored = store.articles.add_new(
        feed.id, [art(f"s{n}-{i}", f"Headline number {i} of {n} here") for i in range(n)]
    )
    store.chats.ensure(n)
    store.outbox.enqueue([Alert(chat_id=n, article_key=s.key, topic="t", html="x") for s in stored])
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store.db.conn.set_progress_handler(count, 100)
    try:
        work = store.outbox.work(limit=n + 1)
    finally:
        store.db.conn.set_progress_handler(None, 100)
    assert len([1 for _, chat in work if chat == n]) == n  # every row is due, in order
    return steps


def test_the_work_list_costs_linear_time_in_a_chats_pending_rows(tmp_path):
    # a chat with k pending rows: each row's "no earlier row of the chat waits" check used to
    # read every earlier row (k^2 over the list); now it reads the chat's waiting rows only
    small = Store.open(tmp_path / "small.sqlite")
    large = Store.open(tmp_path / "large.sqlite")
    try:
        few, many = _work_steps(small, 500), _work_steps(large, 2000)
    finally:
        small.close()
        large.close()
    assert many < 6 * few, (few, many)  # 4x the rows; quadratic would be ~16x


def test_the_wal_file_shrinks_back_after_a_big_write(tmp_path, monkeypatch):
    # SQLite keeps the WAL file at the size of the largest write ever made (here a poll
    # of 250 big articles in one transaction) unless journal_size_limit cuts it; the limit
    # lowered from its 64 MB so that the write can be small
    import storage.database

    limit = 4 * 1024 * 1024
    monkeypatch.setattr(storage.database, "WAL_SIZE_LIMIT", limit)
    store = Store.open(tmp_path / "w.sqlite")
    wal = tmp_path / "w.sqlite-wal"
    feed = store.feeds.upsert("https://wire.example/rss")
    big = [Article(id=str(i), title=f"Big story {i}", content=f"{i} " * 20_000) for i in range(250)]
    store.articles.add_new(feed.id, big)
    assert wal.stat().st_size > 2 * limit  # the write went through the WAL
    for i in range(3):  # everyday writes after it; SQLite checkpoints by itself
        store.feeds.upsert(f"https://wire.example/rss{i}")
    assert wal.stat().st_size <= limit
    assert WAL_SIZE_LIMIT == 64 * 1024 * 1024


def test_a_poll_of_a_feed_that_lists_what_it_listed_before_costs_a_few_queries(store):
    # a feed lists mostly what it listed before: each of those took a query or three
    feed = store.feeds.upsert("https://wire.example/rss")
    listed = [
        Article(id=f"e{i}", title=f"Story {i} here", link=f"https://w.example/{i}")
        for i in range(200)
    ]
    assert len(store.articles.add_new(feed.id, listed)) == 200
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        again = store.articles.add_new(
            feed.id,
            [Article(id="e200", title="A new story", link="https://w.example/200"), *listed],
        )
    finally:
        store.db.conn.set_trace_callback(None)
    assert [s.article.id for s in again] == ["e200"]
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 5, len(selects)  # was 200 + 3
