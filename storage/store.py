"""One store object over the database, split by domain."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from storage.articles import ArticleStore
from storage.chats import ChatStore
from storage.database import open_database
from storage.feedback import FeedbackStore
from storage.feeds import FeedStore
from storage.outbox import OutboxStore
from storage.subscriptions import SubscriptionStore
from storage.topics import TopicStore


class Store:
    """The database and its per-domain stores: ``feeds``, ``articles``, ``chats``,
    ``subscriptions``, ``topics``, ``outbox``, ``feedback``."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.feeds = FeedStore(db)
        self.articles = ArticleStore(db)
        self.chats = ChatStore(db)
        self.subscriptions = SubscriptionStore(db)
        self.topics = TopicStore(db)
        self.outbox = OutboxStore(db)
        self.feedback = FeedbackStore(db)

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open the database at ``path`` (``":memory:"`` for a throwaway one), migrated."""
        return cls(open_database(path))

    def vacuum(self) -> None:
        """Give the space freed by pruning back to the file system (stop the bot first)."""
        self.db.execute("VACUUM")

    def close(self) -> None:
        self.db.close()
