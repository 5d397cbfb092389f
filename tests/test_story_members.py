"""A new article is compared with every recent report of a story, not only its first: a
third report that reads like the second but not like the first joins the story, and so
does the full report of a story a terse flash started; a report naming no day does not let
another day's launch in.  Real SQLite stores, the article vectors (no e5 vectors: the first
stage decides)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from bot.ingest.stories import (
    MEANING_WINDOW,
    STORY_MEMBERS,
    StoryCard,
    StoryDesk,
    lead_of,
    same_story,
    story_card,
)
from bot.matching import vectors
from bot.records import Article, utcnow
from storage.store import Store
from tests.helpers import REUTERS, add_article
from tests.test_semantic_stories import NEXT_LAUNCH, NHK, YONHAP

pytestmark = pytest.mark.skipif(not vectors.available(), reason="the vector model is missing")

# Reworded once more: close to Yonhap's wording, not to Reuters'.
AP = Article(
    id="ap1",
    title="N. Korea test-fires ballistic missile, South's military says",
    summary=(
        "Pyongyang launched a ballistic missile into waters off its east coast on Thursday, "
        "according to Seoul's Joint Chiefs of Staff."
    ),
    source="AP",
)
# A flash: a headline, no lead, no day.
FLASH = Article(
    id="f1", title="North Korea fires ballistic missile into East Sea, says Seoul", source="KBS"
)


def _cards(*articles: Article) -> list[StoryCard]:
    use = vectors.article_vectors(list(articles))
    return [
        story_card(a.title, lead_of(a), a.source, v) for a, v in zip(articles, use, strict=True)
    ]


class Stream:
    """Articles stored as a poll stores them (each from its outlet's feed, its vector kept
    with it) and assigned by a desk."""

    def __init__(self, store: Store, start: datetime) -> None:
        self.store = store
        self.start = start

    def assign(self, desk: StoryDesk, article: Article, minutes: float = 0) -> int:
        now = self.start + timedelta(minutes=minutes)
        stored = add_article(self.store, f"https://{article.source}.example/rss", article, now)
        [vector] = vectors.article_vectors([article])
        self.store.articles.set_vector(stored.key, vectors.to_blob(vector))
        return desk.assign(stored.key, stored.feed_id, article, now=now, vector=vector).id


def test_the_three_reports_read_as_the_tests_say():
    reuters, yonhap, ap, flash, nhk, other = _cards(REUTERS, YONHAP, AP, FLASH, NHK, NEXT_LAUNCH)
    assert same_story(reuters, yonhap) and same_story(yonhap, ap)
    assert not same_story(reuters, ap)  # the first report alone does not take the third
    assert same_story(flash, yonhap) and same_story(yonhap, nhk) and not same_story(flash, nhk)
    assert same_story(flash, other)  # a flash names no day: alone it takes any launch


def _desks(store: Store) -> dict[str, StoryDesk]:
    window = timedelta(hours=48)
    return {
        "first report": StoryDesk(store.stories, window=window, members=1),
        "every report": StoryDesk(store.stories, window=window),
    }


@pytest.mark.parametrize("loaded", [False, True], ids=["in memory", "reloaded"])
def test_a_third_report_close_to_the_second_but_not_the_first_joins_the_story(tmp_path, loaded):
    joined = {}
    for name in ("first report", "every report"):
        store = Store.open(tmp_path / f"{name}.db")
        try:
            stream = Stream(store, utcnow())
            desk = _desks(store)[name]
            story = stream.assign(desk, REUTERS)
            assert stream.assign(desk, YONHAP, minutes=3) == story
            if loaded:  # a restart: the desk reads the stories and their reports back
                desk = _desks(store)[name]
            joined[name] = stream.assign(desk, AP, minutes=8) == story
        finally:
            store.close()
    assert joined == {"first report": False, "every report": True}


def test_the_full_reports_join_a_story_that_a_flash_started(store):
    stream = Stream(store, utcnow())
    desk = StoryDesk(store.stories, window=timedelta(hours=48))
    story = stream.assign(desk, FLASH)
    assert stream.assign(desk, YONHAP, minutes=2) == story
    # a near-copy of Yonhap's words (by the word test), nothing like the flash's
    assert stream.assign(desk, NHK, minutes=5) == story
    assert store.stories.sources(story) == ["KBS", "Yonhap", "NHK"]


def test_a_report_naming_no_day_does_not_let_another_days_launch_in(tmp_path):
    # Thursday's launch, then a flash of it; Sunday's launch reported minutes later (a
    # feed catching up) reads like the flash, but Thursday's report names another day.
    # Compared with the first report only, a story the flash started took it.
    merged = {}
    for members in (1, STORY_MEMBERS):
        for first, second in ((REUTERS, FLASH), (FLASH, REUTERS)):
            store = Store.open(tmp_path / f"{members}-{first.id}.db")
            try:
                stream = Stream(store, utcnow())
                desk = StoryDesk(store.stories, window=timedelta(hours=48), members=members)
                story = stream.assign(desk, first)
                assert stream.assign(desk, second, minutes=1) == story
                merged[members, first.id] = stream.assign(desk, NEXT_LAUNCH, minutes=4) == story
            finally:
                store.close()
    assert merged == {
        (1, REUTERS.id): False,
        (1, FLASH.id): True,  # the rule before
        (STORY_MEMBERS, REUTERS.id): False,
        (STORY_MEMBERS, FLASH.id): False,
    }


def test_the_meaning_window_runs_from_each_report(tmp_path):
    # the third report comes 13 h after the first, 2 h after the second
    joined = {}
    for name in ("first report", "every report"):
        store = Store.open(tmp_path / f"{name}.db")
        try:
            stream = Stream(store, utcnow())
            desk = _desks(store)[name]
            story = stream.assign(desk, REUTERS)
            assert stream.assign(desk, YONHAP, minutes=11 * 60) == story
            joined[name] = stream.assign(desk, AP, minutes=13 * 60) == story
        finally:
            store.close()
    assert joined == {"first report": False, "every report": True}
    assert timedelta(hours=12) == MEANING_WINDOW


def test_a_story_keeps_its_first_report_and_its_latest_others(store):
    now = utcnow()
    first = add_article(store, "https://a.example/rss", REUTERS, now)
    story = store.stories.create(first.key, first.feed_id, REUTERS, lead_of(REUTERS), now=now)
    keys = []
    for k in range(STORY_MEMBERS + 3):
        copy = REUTERS.replace(id=f"c{k}", title=f"{REUTERS.title} ({k})", source=f"S{k}")
        stored = add_article(store, f"https://s{k}.example/rss", copy, now)
        store.articles.set_vector(stored.key, vectors.to_blob(np.ones(4, np.float32)))
        store.stories.link(story, stored.key, stored.feed_id, copy, now=now)
        keys.append(stored.key)
    members = store.stories.members(since=now - timedelta(hours=1), last=STORY_MEMBERS - 1)
    assert [m.article_key for m in members] == keys[-(STORY_MEMBERS - 1) :]
    assert members[-1].article.source == f"S{STORY_MEMBERS + 2}" and members[-1].vector
    assert store.stories.members(since=now - timedelta(hours=1), last=0) == []
    assert store.stories.members(since=now + timedelta(hours=1), last=3) == []
