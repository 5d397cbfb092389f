"""Which chat follows which topic (or its own query)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

from bot.records import utcnow
from storage.database import read_generation, to_db_time

# topic_id of a subscription that is a chat's own query rather than a named topic
QUERY_TOPIC = "query"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    chat_id: int
    topic_id: str
    query: str = ""
    from_config: bool = False
    # a topic narrowed (AND) or widened (OR) with /filter; see bot.service.subscription_rules
    narrow: str = ""
    widen: str = ""
    thread_id: int | None = None  # the forum topic its alerts go to (migration m010)

    @property
    def key(self) -> str:
        """The matcher key of this subscription: the topic id, or ``q:<id>`` for a query."""
        return self.topic_id if not self.query else f"q:{self.id}"

    @property
    def filtered(self) -> bool:
        """A topic subscription with its own narrowing or widening filter."""
        return bool(self.narrow or self.widen) and not self.query


def _sub(row: dict[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        chat_id=row["chat_id"],
        topic_id=row["topic_id"],
        query=row["query"],
        from_config=bool(row["from_config"]),
        narrow=row.get("narrow") or "",
        widen=row.get("widen") or "",
        thread_id=row.get("thread_id"),
    )


class SubscriptionStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def add(
        self,
        chat_id: int,
        topic_id: str,
        *,
        query: str = "",
        from_config: bool = False,
        thread_id: int | None = None,
    ) -> tuple[Subscription, bool]:
        """Subscribe (posting into forum topic ``thread_id`` when given); returns the
        subscription and whether it is new."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO subscriptions (chat_id, topic_id, query, from_config, "
                "created_at, thread_id) VALUES (?, ?, ?, ?, ?, ?)",
                [chat_id, topic_id, query, int(from_config), to_db_time(utcnow()), thread_id],
            )
        created = cursor.rowcount > 0
        row = next(
            self.db.query(
                "SELECT * FROM subscriptions WHERE chat_id = ? AND topic_id = ? AND query = ?",
                [chat_id, topic_id, query],
            )
        )
        return _sub(row), created

    def set_thread(self, subscription_id: int, thread_id: int | None) -> bool:
        """Post the subscription's alerts into forum topic ``thread_id`` (None: the chat)."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE subscriptions SET thread_id = ? WHERE id = ?", [thread_id, subscription_id]
            )
        return cursor.rowcount > 0

    def remove(self, chat_id: int, topic_id: str) -> bool:
        with self.db.atomic():
            cursor = self.db.execute(
                "DELETE FROM subscriptions WHERE chat_id = ? AND topic_id = ?", [chat_id, topic_id]
            )
        return cursor.rowcount > 0

    def for_chat(self, chat_id: int) -> list[Subscription]:
        return [
            _sub(r)
            for r in self.db.query(
                "SELECT * FROM subscriptions WHERE chat_id = ? ORDER BY id", [chat_id]
            )
        ]

    def active(self) -> list[Subscription]:
        """Subscriptions of chats that are active and not paused."""
        return [
            _sub(r)
            for r in self.db.query(
                "SELECT s.* FROM subscriptions s JOIN chats c ON c.chat_id = s.chat_id "
                "WHERE c.active = 1 AND c.paused = 0 ORDER BY s.id"
            )
        ]

    def replace_config(self, pairs: set[tuple[int, str]]) -> None:
        """Make the config's channel subscriptions exactly ``pairs`` (chat id, topic id)."""
        with self.db.atomic():
            current = {
                (r["chat_id"], r["topic_id"])
                for r in self.db.query(
                    "SELECT chat_id, topic_id FROM subscriptions WHERE from_config = 1"
                )
            }
            for chat_id, topic_id in current - pairs:
                self.db.execute(
                    "DELETE FROM subscriptions WHERE chat_id = ? AND topic_id = ? AND from_config = 1",
                    [chat_id, topic_id],
                )
            for chat_id, topic_id in pairs - current:
                self.db.execute(
                    "INSERT OR IGNORE INTO subscriptions (chat_id, topic_id, query, from_config, "
                    "created_at) VALUES (?, ?, '', 1, ?)",
                    [chat_id, topic_id, to_db_time(utcnow())],
                )

    # -- chat commands ---------------------------------------------------------------------

    def get(self, subscription_id: int) -> Subscription | None:
        rows = list(self.db.query("SELECT * FROM subscriptions WHERE id = ?", [subscription_id]))
        return _sub(rows[0]) if rows else None

    def remove_id(self, subscription_id: int) -> bool:
        with self.db.atomic():
            cursor = self.db.execute("DELETE FROM subscriptions WHERE id = ?", [subscription_id])
        return cursor.rowcount > 0

    def remove_all(self, chat_id: int, *, keep_config: bool = True) -> int:
        """Drop the chat's subscriptions (those from the config file stay unless asked)."""
        extra = " AND from_config = 0" if keep_config else ""
        with self.db.atomic():
            cursor = self.db.execute(
                f"DELETE FROM subscriptions WHERE chat_id = ?{extra}", [chat_id]
            )
        return cursor.rowcount

    def replace(
        self, subscription_id: int, *, query: str | None = None, narrow: str = "", widen: str = ""
    ) -> Subscription | None:
        """Give the subscription a new query or new filters, under a new id, so that the
        matcher key changes and the index picks the new version up.  None when a
        subscription with the same query already exists (or the old one is gone)."""
        old = self.get(subscription_id)
        if old is None:
            return None
        new_query = old.query if query is None else query
        with self.db.atomic():
            self.db.execute("DELETE FROM subscriptions WHERE id = ?", [subscription_id])
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO subscriptions (chat_id, topic_id, query, from_config, "
                "created_at, narrow, widen, thread_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    old.chat_id,
                    old.topic_id,
                    new_query,
                    int(old.from_config),
                    to_db_time(utcnow()),
                    narrow,
                    widen,
                    old.thread_id,
                ],
            )
            if not cursor.rowcount:
                # a duplicate: undo the delete so nothing is lost
                self.db.execute(
                    "INSERT INTO subscriptions (id, chat_id, topic_id, query, from_config, "
                    "created_at, narrow, widen, thread_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        old.id,
                        old.chat_id,
                        old.topic_id,
                        old.query,
                        int(old.from_config),
                        to_db_time(utcnow()),
                        old.narrow,
                        old.widen,
                        old.thread_id,
                    ],
                )
                return None
            new_id = cursor.lastrowid
        assert new_id is not None
        return self.get(new_id)

    def generation(self) -> int:
        """A number that moves with every write to subscriptions and every change of a
        chat's active, paused or id, by any process (triggers bump it in the write's own
        transaction; migration m009).  A reader that caches ``active()`` compares it."""
        return read_generation(self.db, "subscriptions")

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM subscriptions").fetchone()[0])
