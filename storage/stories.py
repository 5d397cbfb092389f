"""Stories: one row per story, and the articles (or feed entries) that carried it.

The outbox sends a story once per chat (``deliveries.story_id``); ``bot.ingest.stories``
decides which story an article belongs to and keeps it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.records import Article, utcnow
from storage.articles import title_key
from storage.database import from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class StoryRow:
    """A story as stored: what its first article said, for its fingerprint."""

    id: int
    title: str
    lead: str
    source: str
    first_seen: datetime
    vector: bytes | None = None  # its first article's (bot.matching.vectors.to_blob)
    passage: bytes | None = None  # its e5 vector (bot.matching.passages), once one was made


@dataclass(frozen=True, slots=True)
class StoryMember:
    """A stored article that joined a story after its first one (what it said, and its
    meaning vector), for comparing a new article with every recent member of a story."""

    story_id: int
    article_key: int
    article: Article  # title, summary, content and source as stored
    seen: datetime
    vector: bytes | None = None
    passage: bytes | None = None  # its e5 vector (bot.matching.passages), once one was made


class StoryStore:
    """Stories and the articles (or feed entries) that carried them."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def create(
        self,
        article_key: int,
        feed_id: int | None,
        article: Article,
        lead: str,
        *,
        now: datetime,
        vector: bytes | None = None,
        passage: bytes | None = None,
    ) -> int:
        """A new story, first carried by this article; returns its id."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO stories (title, lead, source, first_seen, vector, passage) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [article.title, lead, article.source, to_db_time(now), vector, passage],
            )
            story_id = cursor.lastrowid
            assert story_id is not None
            self.link(story_id, article_key, feed_id, article, now=now)
        return story_id

    def set_passage(self, story_id: int, passage: bytes) -> None:
        """Keep the story's e5 vector, made when a later article needed it."""
        with self.db.atomic():
            self.db.execute("UPDATE stories SET passage = ? WHERE id = ?", [passage, story_id])

    def link(
        self,
        story_id: int,
        article_key: int | None,
        feed_id: int | None,
        article: Article,
        *,
        now: datetime,
        passage: bytes | None = None,
    ) -> None:
        """Record that this article (or feed entry, when it was not stored) carried the
        story, with the article's e5 vector when one was made for it."""
        with self.db.atomic():
            self.db.execute(
                "INSERT OR IGNORE INTO story_articles (story_id, article_id, feed_id, entry_id, "
                "source, seen_at, passage) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    story_id,
                    article_key,
                    feed_id,
                    article.id,
                    article.source,
                    to_db_time(now),
                    passage,
                ],
            )

    def set_member_passage(self, article_key: int, passage: bytes) -> None:
        """Keep the e5 vector of an article that joined a story, made when a later article
        needed it (so that a restart does not make it again)."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE story_articles SET passage = ? WHERE article_id = ? AND passage IS NULL",
                [passage, article_key],
            )

    def story_of_article(self, article_key: int) -> int | None:
        row = self.db.execute(
            "SELECT story_id FROM story_articles WHERE article_id = ? LIMIT 1", [article_key]
        ).fetchone()
        return int(row[0]) if row else None

    def has_entry(self, feed_id: int | None, entry_id: str) -> bool:
        return bool(
            self.db.execute(
                "SELECT 1 FROM story_articles WHERE feed_id IS ? AND entry_id = ?",
                [feed_id, entry_id],
            ).fetchone()
        )

    def article_from_feed(self, feed_id: int | None, entry_id: str) -> bool:
        """True when the article store has this feed's entry."""
        return bool(
            self.db.execute(
                "SELECT 1 FROM articles WHERE feed_id IS ? AND entry_id = ?", [feed_id, entry_id]
            ).fetchone()
        )

    def story_of_copy(self, article: Article, *, since: datetime) -> int | None:
        """The story of the stored article that makes ``article`` a copy: same canonical
        URL, or same headline (as the article store compares them), first seen since
        ``since``."""
        key = title_key(article.title)
        row = self.db.execute(
            "SELECT sa.story_id FROM articles a "
            "JOIN story_articles sa ON sa.article_id = a.id "
            "JOIN stories s ON s.id = sa.story_id "
            "WHERE (a.canonical_url = ? OR (a.title_key = ? AND length(?) >= 20)) "
            "AND s.first_seen >= ? ORDER BY a.id LIMIT 1",
            [article.link or None, key or None, key, to_db_time(since)],
        ).fetchone()
        return int(row[0]) if row else None

    def recent(self, *, since: datetime) -> list[StoryRow]:
        """Stories first seen since ``since``, oldest first."""
        return [
            StoryRow(
                id=r["id"],
                title=r["title"],
                lead=r["lead"],
                source=r["source"],
                first_seen=from_db_time(r["first_seen"]) or utcnow(),
                vector=r.get("vector"),
                passage=r.get("passage"),
            )
            for r in self.db.query(
                "SELECT * FROM stories WHERE first_seen >= ? ORDER BY id", [to_db_time(since)]
            )
        ]

    def members(self, *, since: datetime, last: int) -> list[StoryMember]:
        """The stored articles that joined the stories first seen since ``since`` after
        their first one, at most the ``last`` latest of each story, oldest first."""
        if last <= 0:
            return []
        rows = self.db.execute(
            "SELECT story_id, article_id, title, summary, content, source, seen_at, vector, "
            "passage FROM ("
            "  SELECT sa.story_id, a.id AS article_id, a.title, a.summary, a.content, "
            "  a.source, sa.seen_at, a.vector, sa.passage, sa.id AS link_id, "
            "  row_number() OVER (PARTITION BY sa.story_id ORDER BY sa.id DESC) AS latest "
            "  FROM story_articles sa JOIN stories s ON s.id = sa.story_id "
            "  JOIN articles a ON a.id = sa.article_id "
            "  WHERE s.first_seen >= ? AND sa.id > ("
            "    SELECT min(first.id) FROM story_articles first "
            "    WHERE first.story_id = sa.story_id)"
            ") WHERE latest <= ? ORDER BY story_id, link_id",
            [to_db_time(since), last],
        ).fetchall()
        return [
            StoryMember(
                story_id=story_id,
                article_key=key,
                article=Article(
                    id="", title=title, summary=summary or "", content=content or "", source=source
                ),
                seen=from_db_time(seen) or utcnow(),
                vector=vector,
                passage=passage,
            )
            for story_id, key, title, summary, content, source, seen, vector, passage in rows
        ]

    def sightings(self, story_id: int) -> list[tuple[str, datetime]]:
        """``(source, seen_at)`` of every article or entry that carried the story."""
        return [
            (source or "", from_db_time(seen) or utcnow())
            for source, seen in self.db.execute(
                "SELECT source, seen_at FROM story_articles WHERE story_id = ? ORDER BY id",
                [story_id],
            ).fetchall()
        ]

    def mark_breaking(self, story_id: int, *, now: datetime) -> bool:
        """The story is breaking news; True the first time."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE stories SET breaking_at = ? WHERE id = ? AND breaking_at IS NULL",
                [to_db_time(now), story_id],
            )
        return cursor.rowcount > 0

    def is_breaking(self, story_id: int) -> bool:
        row = self.db.execute("SELECT breaking_at FROM stories WHERE id = ?", [story_id]).fetchone()
        return bool(row and row[0])

    def sources(self, story_id: int) -> list[str]:
        """Distinct sources that carried the story, first one first."""
        seen: dict[str, None] = {}
        for (source,) in self.db.execute(
            "SELECT source FROM story_articles WHERE story_id = ? ORDER BY id", [story_id]
        ).fetchall():
            seen.setdefault(source or "", None)
        return [s for s in seen if s]

    def prune(self, *, before: datetime) -> int:
        """Forget stories first seen before ``before`` (their articles stay)."""
        with self.db.atomic():
            # The newest row always stays, so that SQLite never hands out a story id again
            # (rowids restart from max + 1): old deliveries still name theirs.
            cursor = self.db.execute(
                "DELETE FROM stories WHERE first_seen < ? AND id < (SELECT max(id) FROM stories)",
                [to_db_time(before)],
            )
        return cursor.rowcount
