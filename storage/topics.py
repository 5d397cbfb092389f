"""The topics people can follow: built-in ones and the operator's, as configured."""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from bot.records import Topic


class TopicStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def replace_all(self, topics: Iterable[Topic]) -> None:
        """The configured topics become the stored ones (subscriptions are kept)."""
        with self.db.atomic():
            self.db.execute("DELETE FROM topics")
            for t in topics:
                self.db.execute(
                    "INSERT INTO topics (id, name, query, description, threshold) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [t.id, t.name, t.query, t.description, t.threshold],
                )

    def all(self) -> list[Topic]:
        return [
            Topic(
                id=r["id"],
                name=r["name"],
                query=r["query"],
                description=r["description"],
                threshold=r["threshold"],
            )
            for r in self.db.query("SELECT * FROM topics ORDER BY id")
        ]

    def get(self, topic_id: str) -> Topic | None:
        return next((t for t in self.all() if t.id == topic_id), None)
