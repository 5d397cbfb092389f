"""One store object over the database, split by domain."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from bot.credentials import public_feed_url
from bot.errors import StorageError
from storage.articles import ArticleStore
from storage.chats import ChatStore
from storage.database import open_database
from storage.feedback import FeedbackStore
from storage.feeds import FeedStore
from storage.outbox import OutboxStore
from storage.reports import ReportStore
from storage.scrub import scrub_feed_secrets, unscrubbed
from storage.stories import StoryStore
from storage.subscriptions import SubscriptionStore
from storage.topics import TopicStore


class Store:
    """The database and its per-domain stores: ``feeds``, ``articles``, ``chats``,
    ``subscriptions``, ``topics``, ``stories``, ``outbox``, ``feedback`` and the read-only
    ``reports``."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.feeds = FeedStore(db)
        self.articles = ArticleStore(db)
        self.chats = ChatStore(db)
        self.subscriptions = SubscriptionStore(db)
        self.topics = TopicStore(db)
        self.stories = StoryStore(db)
        self.outbox = OutboxStore(db, self.stories)
        self.reports = ReportStore(db)
        self.feedback = FeedbackStore(db)

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open the database at ``path`` (``":memory:"`` for a throwaway one), migrated."""
        return cls(open_database(path))

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction around writes to several stores (nested ones join it)."""
        with self.db.atomic():
            yield

    def scrub_feed_secrets(self, urls: Iterable[str]) -> int:
        """Take the credentials of ``urls`` (the config's feed URLs that have them) out
        of what an older version stored from those feeds' content, once per feed (see
        :mod:`storage.scrub`); returns how many stored values changed."""
        todo = unscrubbed(self.db, {public_feed_url(url): url for url in urls})
        return scrub_feed_secrets(self.db, todo)

    def feeds_to_scrub(self, urls: Iterable[str]) -> dict[int, str]:
        """Of ``urls`` (the config's feed URLs that have credentials), the stored feeds
        :meth:`scrub_feed_secrets` has work for: feed id -> URL (a quick look)."""
        return unscrubbed(self.db, {public_feed_url(url): url for url in urls})

    def scrub_feed_secrets_apart(self, feeds: dict[int, str]) -> int:
        """:meth:`scrub_feed_secrets` of :meth:`feeds_to_scrub`'s ``feeds``, on a connection
        of its own: for a thread (``asyncio.to_thread``) while the event loop goes on using
        this store (the scrub's writes are short transactions, see :mod:`storage.scrub`).
        A database in memory has no second connection: this one is used."""
        path = next((file for _seq, name, file in self._databases() if name == "main"), "")
        if not path:
            return scrub_feed_secrets(self.db, feeds)
        db = open_database(path, migrate=False)
        try:
            return scrub_feed_secrets(
                db, unscrubbed(db, {public_feed_url(u): u for u in feeds.values()})
            )
        finally:
            db.close()

    def _databases(self) -> list[tuple[int, str, str]]:
        return self.db.execute("PRAGMA database_list").fetchall()

    def ping(self) -> None:
        """Raise :class:`StorageError` when the database does not answer."""
        try:
            self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as e:
            raise StorageError(str(e)) from e

    def vacuum(self) -> None:
        """Give the space freed by pruning back to the file system (stop the bot first)."""
        self.db.execute("VACUUM")

    def close(self) -> None:
        self.db.close()
