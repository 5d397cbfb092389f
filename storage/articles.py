"""Articles with their dedupe keys: identity within a feed, canonical URL and title across feeds."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from bot.records import Article, utcnow
from storage.database import from_db_time, in_chunks, to_db_time

# The same story seen under the same title from another feed within this window is a copy.
TITLE_DEDUPE_WINDOW = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as stored, with its database key."""

    key: int
    feed_id: int | None
    article: Article
    first_seen: datetime
    vector: bytes | None = None  # bot.matching.vectors.to_blob, once it was made


def title_key(title: str) -> str:
    """A folded form of a title for spotting the same story under the same headline."""
    text = unicodedata.normalize("NFKD", title.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words = re.findall(r"\w+", text)
    return " ".join(words)


def _stored(row: dict[str, Any]) -> StoredArticle:
    return StoredArticle(
        key=row["id"],
        feed_id=row["feed_id"],
        article=Article(
            id=row["entry_id"],
            title=row["title"],
            link=row["link"],
            summary=row["summary"],
            content=row["content"],
            published=from_db_time(row["published"]),
            source=row["source"],
            feed=row.get("feed_url") or "",
            image=row.get("image") or "",
            author=row.get("author") or "",
        ),
        first_seen=from_db_time(row["first_seen"]) or utcnow(),
        vector=row.get("vector"),
    )


_SELECT = "SELECT articles.*, feeds.url AS feed_url FROM articles LEFT JOIN feeds ON feeds.id = articles.feed_id"


class ArticleStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def add_new(
        self,
        feed_id: int | None,
        articles: Iterable[Article],
        *,
        now: datetime | None = None,
        processed: bool = False,
        limit: int | None = None,
        known: Collection[str] | None = None,
    ) -> list[StoredArticle]:
        """Store the articles not seen before and return them, in the order given; with
        ``limit``, stop after that many new ones (the rest are new next time).
        ``known``: :meth:`known_entries` of these articles, if the caller has it.

        An article is not new when the same feed already has its identity (a
        re-published entry, even edited), or any feed has its canonical URL, or
        a recent article has the same headline.  New articles stay unprocessed
        (see :meth:`unprocessed`) unless ``processed`` (a feed's first poll).
        """
        now = now or utcnow()
        since = to_db_time(now - TITLE_DEDUPE_WINDOW)
        articles = list(articles)
        if known is None:
            known = self.known_entries(feed_id, [a.id for a in articles])
        added: list[StoredArticle] = []
        with self.db.atomic():
            for article in articles:
                if limit is not None and len(added) >= limit:
                    break
                # a feed lists mostly what it listed before: those found in one query,
                # not three each
                if article.id in known or self._seen(feed_id, article, since):
                    continue
                cursor = self.db.execute(
                    "INSERT INTO articles (feed_id, entry_id, canonical_url, title_key, title, link, "
                    "summary, content, published, source, first_seen, processed, image, author) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        feed_id,
                        article.id,
                        article.link or None,
                        title_key(article.title) or None,
                        article.title,
                        article.link,
                        article.summary,
                        article.content,
                        to_db_time(article.published),
                        article.source,
                        to_db_time(now),
                        int(processed),
                        article.image,
                        article.author,
                    ],
                )
                key = cursor.lastrowid
                assert key is not None
                added.append(
                    StoredArticle(key=key, feed_id=feed_id, article=article, first_seen=now)
                )
        return added

    def known_entries(self, feed_id: int | None, entry_ids: Iterable[str]) -> set[str]:
        """Which of ``entry_ids`` this feed's articles already have (a poll's entries
        checked in a few queries, whatever their number)."""
        ids = list(dict.fromkeys(entry_ids))
        found: set[str] = set()
        for part, marks in in_chunks(ids):
            found.update(
                row[0]
                for row in self.db.execute(
                    f"SELECT entry_id FROM articles WHERE feed_id IS ? AND entry_id IN ({marks})",
                    [feed_id, *part],
                )
            )
        return found

    def _seen(self, feed_id: int | None, article: Article, since: str | None) -> bool:
        if self.db.execute(
            "SELECT 1 FROM articles WHERE feed_id IS ? AND entry_id = ?", [feed_id, article.id]
        ).fetchone():
            return True
        if (
            article.link
            and self.db.execute(
                "SELECT 1 FROM articles WHERE canonical_url = ?", [article.link]
            ).fetchone()
        ):
            return True
        key = title_key(article.title)
        return bool(
            key
            and len(key) >= 20
            and self.db.execute(
                # across feeds only: one feed may reuse a headline ("The Latest: ...")
                "SELECT 1 FROM articles WHERE title_key = ? AND first_seen >= ? AND feed_id IS NOT ?",
                [key, since, feed_id],
            ).fetchone()
        )

    def unprocessed(self, limit: int = 500, *, feed_id: int | None = None) -> list[StoredArticle]:
        """Articles stored but not yet matched and written to the outbox, oldest first;
        only those ``feed_id`` brought when it is given."""
        where, params = "articles.processed = 0", [limit]
        if feed_id is not None:
            where, params = "articles.processed = 0 AND articles.feed_id = ?", [feed_id, limit]
        return [
            _stored(r)
            for r in self.db.query(f"{_SELECT} WHERE {where} ORDER BY articles.id LIMIT ?", params)
        ]

    def mark_processed(self, keys: Iterable[int]) -> None:
        """Mark articles processed; call inside the transaction that writes their alerts."""
        with self.db.atomic():
            for key in keys:
                self.db.execute("UPDATE articles SET processed = 1 WHERE id = ?", [key])

    def get(self, key: int) -> StoredArticle | None:
        rows = list(self.db.query(f"{_SELECT} WHERE articles.id = ?", [key]))
        return _stored(rows[0]) if rows else None

    def set_vector(self, key: int, vector: bytes) -> None:
        """Store the article's meaning vector (made once, read by matching and stories)."""
        with self.db.atomic():
            self.db.execute("UPDATE articles SET vector = ? WHERE id = ?", [vector, key])

    def vector(self, key: int) -> bytes | None:
        """The article's stored vector, or ``None`` when it has none yet."""
        row = self.db.execute("SELECT vector FROM articles WHERE id = ?", [key]).fetchone()
        return row[0] if row else None

    def update_content(self, key: int, content: str, *, image: str = "") -> None:
        """The page's main text; its picture (og:image) too when the feed gave none."""
        with self.db.atomic():
            self.db.execute("UPDATE articles SET content = ? WHERE id = ?", [content, key])
            if image:
                self.db.execute(
                    "UPDATE articles SET image = ? WHERE id = ? AND image = ''", [image, key]
                )

    def latest(self, limit: int = 50) -> list[StoredArticle]:
        return [
            _stored(r)
            for r in self.db.query(f"{_SELECT} ORDER BY articles.id DESC LIMIT ?", [limit])
        ]

    def recent(self, *, since: str | None, limit: int) -> list[StoredArticle]:
        """The ``limit`` newest articles first seen at ``since`` (stored time) or later."""
        rows = self.db.query(
            f"{_SELECT} WHERE articles.first_seen >= ? ORDER BY articles.id DESC LIMIT ?",
            [since or "", limit],
        )
        return [_stored(r) for r in rows]

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])
