"""One story, many feeds: near-duplicate detection, story assignment, copies from other feeds,
and the pipeline turning a second copy into an "Also:" instead of a second alert."""

from __future__ import annotations

import csv
import itertools
from datetime import timedelta

from bot.config.loader import config_from_dict
from bot.ingest.stories import StoryDesk, fingerprint
from bot.pipeline import Pipeline
from bot.records import Article, utcnow
from storage.store import Store

REUTERS = Article(
    id="r1",
    title="Top US, South Korean officials seek to drive momentum in North Korea talks",
    link="https://reuters.example/korea-talks",
    summary=(
        "SEOUL (Reuters) - Senior U.S. and South Korean officials met on Monday to discuss "
        "ways to break a stalemate in denuclearisation talks with North Korea, as Washington "
        "pressed Seoul to keep sanctions in place."
    ),
    source="Reuters",
)
STRAITS_TIMES = Article(
    id="st1",
    title="US, South Korea officials seek to drive momentum in North Korea talks",
    link="https://straitstimes.example/asia/korea-talks",
    summary=(
        "SEOUL - Senior US and South Korean officials met on Monday (Oct 29) to discuss ways "
        "to break a stalemate in denuclearisation talks with North Korea, as Washington "
        "pressed Seoul to keep sanctions in place."
    ),
    source="The Straits Times",
)
OTHER = Article(
    id="o1",
    title="North Korea fires missile into sea, Japan says",
    link="https://wire.example/missile",
    summary="North Korea fired a ballistic missile off its east coast on Tuesday, Japan said.",
    source="Wire",
)


def test_a_republished_wire_story_is_a_near_duplicate():
    a = fingerprint(REUTERS.title, REUTERS.summary)
    b = fingerprint(STRAITS_TIMES.title, STRAITS_TIMES.summary)
    assert a.is_near(b) and b.is_near(a)


def test_a_different_story_on_the_same_subject_is_not():
    a = fingerprint(REUTERS.title, REUTERS.summary)
    assert not a.is_near(fingerprint(OTHER.title, OTHER.summary))


def test_outlet_tags_do_not_hide_a_copy():
    title, lead = "Quake hits central Japan, no tsunami warning", "A strong quake shook Nagano."
    plain = fingerprint(title, lead)
    assert plain.is_near(fingerprint(f"UPDATE 2-{title}", lead))
    assert plain.is_near(fingerprint(f"{title} - Yonhap", lead))


def test_empty_text_is_never_a_duplicate():
    assert not fingerprint("", "").is_near(fingerprint("", ""))


def add(store: Store, feed_url: str, *articles: Article):
    feed = store.feeds.upsert(feed_url)
    return feed, store.articles.add_new(feed.id, list(articles))


def test_desk_puts_near_duplicates_in_one_story_and_is_idempotent(store):
    desk = StoryDesk(store.stories)
    _, [reuters, other] = add(store, "https://reuters.example/rss", REUTERS, OTHER)
    _, [straits] = add(store, "https://straitstimes.example/rss", STRAITS_TIMES)
    first = desk.assign(reuters.key, reuters.feed_id, reuters.article)
    second = desk.assign(other.key, other.feed_id, other.article)
    copy = desk.assign(straits.key, straits.feed_id, straits.article)
    assert not first.is_copy and not second.is_copy and first.id != second.id
    assert copy.is_copy and copy.id == first.id
    again = desk.assign(straits.key, straits.feed_id, straits.article)
    assert again.id == first.id and not again.is_copy  # already counted
    assert store.stories.sources(first.id) == ["Reuters", "The Straits Times"]
    # a fresh desk (a restart) knows the recent stories from the database
    _, [late] = add(
        store,
        "https://yonhap.example/rss",
        STRAITS_TIMES.replace(
            id="y1",
            title="US, S. Korea officials seek to drive momentum in N. Korea talks",
            link="",
            source="Yonhap",
        ),
    )
    ref = StoryDesk(store.stories).assign(late.key, late.feed_id, late.article)
    assert ref.is_copy and ref.id == first.id


def test_a_copy_after_the_window_is_a_new_story(store):
    desk = StoryDesk(store.stories, window=timedelta(hours=6))
    _, [reuters] = add(store, "https://reuters.example/rss", REUTERS)
    _, [straits] = add(store, "https://straitstimes.example/rss", STRAITS_TIMES)
    first = desk.assign(reuters.key, reuters.feed_id, reuters.article, now=utcnow())
    later = desk.assign(
        straits.key, straits.feed_id, straits.article, now=utcnow() + timedelta(hours=7)
    )
    assert later.id != first.id and not later.is_copy


def test_copies_the_article_store_dropped_are_found_once(store):
    desk = StoryDesk(store.stories)
    _, [reuters] = add(store, "https://reuters.example/rss", REUTERS)
    story = desk.assign(reuters.key, reuters.feed_id, reuters.article)
    # The Reuters world feed lists the same article (same canonical URL): not stored again.
    world, new = add(
        store, "https://reuters.example/world", REUTERS.replace(id="w1", source="Reuters World")
    )
    assert new == []
    assert desk.copies(world.id, [REUTERS.replace(id="w1", source="Reuters World")], []) == [
        (story.id, "Reuters World")
    ]
    assert desk.copies(world.id, [REUTERS.replace(id="w1")], []) == []  # the next poll


def _pipeline(store: Store, window: str = "24h") -> Pipeline:
    config = config_from_dict(
        {
            "topics": [{"id": "korea", "name": "Korea", "query": "korea"}],
            "fetch": {"full_text": False},
            "delivery": {"story_window": window},
        },
        env={},
    )
    return Pipeline(store, config, fetcher=None, alert_on_first_poll=True)  # type: ignore[arg-type]


async def test_pipeline_alerts_a_story_once_and_marks_the_alert_for_an_also_edit(store):
    pipeline = _pipeline(store)
    store.chats.ensure(7)
    store.subscriptions.add(7, "korea")
    reuters = store.feeds.upsert("https://reuters.example/rss", name="Reuters")
    straits = store.feeds.upsert("https://straitstimes.example/rss", name="ST")
    world = store.feeds.upsert("https://reuters.example/world", name="Reuters World")
    await pipeline.process(reuters, [REUTERS])
    [delivery] = store.outbox.for_chat(7)
    store.outbox.mark_sent(delivery.id, 100)
    await pipeline.process(store.feeds.get(straits.id), [STRAITS_TIMES])
    assert len(store.outbox.for_chat(7)) == 1  # no second alert
    message = store.outbox.get(delivery.id)
    assert message.needs_edit
    assert store.outbox.also_sources(message.story_id, own="Reuters") == ["The Straits Times"]
    # a third feed carrying the very same URL adds its name too
    await pipeline.process(
        store.feeds.get(world.id), [REUTERS.replace(id="w1", source="Reuters World")]
    )
    assert store.outbox.also_sources(message.story_id, own="Reuters") == [
        "The Straits Times",
        "Reuters World",
    ]


def test_few_unrelated_ag_news_items_are_taken_for_one_story(shared_data):
    """A guard against merging unrelated stories: the first 2,000 AG News items hold 24 pairs
    called the same story, each checked by hand to be one (wire copies, re-edited
    headlines).  A looser rule would flag far more."""
    path = shared_data / "topics" / "ag_news" / "test.csv"
    with path.open(encoding="utf-8") as f:
        items = [
            (row[1], row[2].replace("\\", " ")) for row in itertools.islice(csv.reader(f), 2000)
        ]
    prints = [fingerprint(title, lead) for title, lead in items]
    pairs = sum(a.is_near(b) for a, b in itertools.combinations(prints, 2))
    assert 10 <= pairs <= 30


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


def test_a_desk_that_runs_for_months_keeps_only_recent_stories_in_the_database(store):
    # Old stories used to go only when the desk first loaded (a start): a bot never
    # restarted kept every story it had seen, with its vectors and members.
    desk = StoryDesk(store.stories)  # the default window: a day; stories kept 7 days
    feed = store.feeds.upsert("https://wire.example/rss")
    start = utcnow() - timedelta(days=100)
    words = [f"{a}{b}" for a in "bcdfghklmnprstvz" for b in ("ora", "ime", "usk", "ant")]
    for i in range(1000):  # one new story every 2 hours: 83 days
        title = " ".join(words[(i * 7 + k * 13) % len(words)] + str(i) for k in range(6))
        [stored] = store.articles.add_new(feed.id, [Article(id=str(i), title=title)])
        desk.assign(stored.key, feed.id, stored.article, now=start + timedelta(hours=2 * i))
    stories = store.db.execute("SELECT count(*) FROM stories").fetchone()[0]
    members = store.db.execute("SELECT count(*) FROM story_articles").fetchone()[0]
    # 7 days kept, plus at most a day (a window) before the next prune: 96 stories
    assert stories <= 8 * 12 + 1, stories
    assert members <= stories
