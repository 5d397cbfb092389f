"""The e5 vector of a report that joined a story after its first one is stored with the
report (``story_articles.passage``, migration m024), so that a restarted desk does not make
it again; a store from before the migration has none and makes it when next needed, as
before.  Real SQLite stores, the real vector models."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import numpy as np
import pytest
import sqlite_utils

from bot.ingest.stories import StoryDesk
from bot.matching import passages, vectors
from bot.records import utcnow
from storage.migrations import MIGRATIONS
from storage.store import Store
from tests.helpers import REUTERS, add_article
from tests.test_story_passages import AP, CRUISE

pytestmark = pytest.mark.skipif(
    not (vectors.available() and passages.available()), reason="a vector model is missing"
)

WINDOW = timedelta(hours=48)


def _reuters_then_ap(store: Store) -> tuple[int, int, np.ndarray]:
    """Reuters' report, then AP's rewording joining it by its e5 vector: the story, AP's
    article key and AP's e5 vector."""
    desk = StoryDesk(store.stories, window=WINDOW)
    now = utcnow() - timedelta(minutes=10)
    v_reuters, v_ap = vectors.article_vectors([REUTERS, AP])
    first = add_article(store, "https://reuters.example/rss", REUTERS, now)
    store.articles.set_vector(first.key, vectors.to_blob(v_reuters))  # as a poll keeps it
    story = desk.assign(first.key, first.feed_id, REUTERS, now=now, vector=v_reuters).id
    later = now + timedelta(minutes=3)
    work = desk.passages_wanted(AP, now=later, vector=v_ap)
    assert work is not None
    rows = passages.embed(work.texts())
    copy = add_article(store, "https://ap.example/rss", AP, later)
    store.articles.set_vector(copy.key, vectors.to_blob(v_ap))
    ref = desk.assign(
        copy.key,
        copy.feed_id,
        AP,
        now=later,
        vector=v_ap,
        passage=rows[0],
        story_passages={story: rows[1]},
    )
    assert ref.id == story and ref.is_copy
    return story, copy.key, rows[0]


def _asked_after_restart(store: Store) -> tuple[int, ...]:
    """The later reports whose e5 vectors a fresh desk (a restart) asks for to judge the
    other launch (which comes close to the story, and stays apart)."""
    [v_cruise] = vectors.article_vectors([CRUISE])
    desk = StoryDesk(store.stories, window=WINDOW)
    work = desk.passages_wanted(CRUISE, now=utcnow(), vector=v_cruise)
    assert work is not None  # close enough for the e5 stage
    assert work.stories == ()  # the first report's is kept with the story (m017)
    return tuple(key for key, _ in work.members)


def test_a_later_reports_e5_vector_is_kept_with_it_across_a_restart(tmp_path):
    store = Store.open(tmp_path / "kept.db")
    try:
        _story, ap_key, made = _reuters_then_ap(store)
        [member] = store.stories.members(since=utcnow() - WINDOW, last=5)
        assert member.article_key == ap_key
        kept = vectors.from_blob(member.passage)
        assert kept is not None and float(kept @ made) > 0.999  # stored as float16
        assert _asked_after_restart(store) == ()
        # the rule before (kept in memory only): a restart made it again
        store.stories.db.execute("UPDATE story_articles SET passage = NULL")
        assert _asked_after_restart(store) == (ap_key,)
    finally:
        store.close()


def test_a_vector_made_later_for_a_report_is_stored_too(tmp_path):
    store = Store.open(tmp_path / "later.db")
    try:
        story, ap_key, made = _reuters_then_ap(store)
        store.stories.db.execute("UPDATE story_articles SET passage = NULL")  # as before m024
        desk = StoryDesk(store.stories, window=WINDOW)
        [v_cruise] = vectors.article_vectors([CRUISE])
        now = utcnow()
        work = desk.passages_wanted(CRUISE, now=now, vector=v_cruise)
        assert work is not None and [key for key, _ in work.members] == [ap_key]
        rows = passages.embed(work.texts())
        other = add_article(store, "https://yonhap.example/rss", CRUISE, now)
        ref = desk.assign(
            other.key,
            other.feed_id,
            CRUISE,
            now=now,
            vector=v_cruise,
            passage=rows[0],
            member_passages={ap_key: rows[1]},
        )
        assert ref.id != story  # the other launch stays its own story
        [member] = store.stories.members(since=now - WINDOW, last=5)
        kept = vectors.from_blob(member.passage)
        assert kept is not None and float(kept @ made) > 0.99
    finally:
        store.close()


def test_reports_linked_before_the_migration_have_no_vector(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(sqlite3.connect(path))
    MIGRATIONS.apply(old, stop_before="m024_story_member_passages")
    assert "passage" not in old["story_articles"].columns_dict
    old.conn.close()
    store = Store.open(path)  # migrates
    try:
        assert "passage" in store.stories.db["story_articles"].columns_dict
        _story, _key, _ = _reuters_then_ap(store)
        [member] = store.stories.members(since=utcnow() - WINDOW, last=5)
        assert member.passage is not None
    finally:
        store.close()
