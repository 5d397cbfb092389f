"""What chats taught with the 👍/👎 buttons under their alerts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from bot.records import utcnow
from storage.database import from_db_time, in_chunks, to_db_time


@dataclass(frozen=True, slots=True)
class Vote:
    """One 👍 (+1) or 👎 (-1) of a chat on an alert of ``topic`` ('' for its own filters)."""

    id: int
    chat_id: int
    topic: str
    article_id: int | None
    vote: int
    title: str
    vector: bytes | None  # the article vector (USE)
    created_at: datetime
    passage: bytes | None = None  # the e5 vector (NULL for votes from before m018)


def _vote(row: dict[str, Any]) -> Vote:
    return Vote(
        id=row["id"],
        chat_id=row["chat_id"],
        topic=row["topic"],
        article_id=row["article_id"],
        vote=row["vote"],
        title=row["title"],
        vector=row["vector"],
        created_at=from_db_time(row["created_at"]) or utcnow(),
        passage=row.get("passage"),
    )


# A chat's votes kept at most, the latest: each is ~2 KB (title and two vectors) and every
# article alerted to the chat is compared with them, so a chat that votes every day for
# years would otherwise grow its rows, and the cost of its matching, without end.
VOTES_KEPT_PER_CHAT = 1000


class FeedbackStore:
    """Votes per chat.  ``generation`` moves with every write, for readers that cache."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    @property
    def generation(self) -> int:
        row = self.db.execute("SELECT coalesce(max(id), 0), count(*) FROM feedback").fetchone()
        return int(row[0]) * 1_000_003 + int(row[1])

    def record(
        self,
        chat_id: int,
        topic: str,
        article_id: int | None,
        vote: int,
        *,
        title: str,
        vector: bytes | None,
        passage: bytes | None = None,
        now: datetime | None = None,
    ) -> Vote:
        """Record (or change) the chat's vote on one alert; returns it.  Beyond
        :data:`VOTES_KEPT_PER_CHAT` votes the chat's oldest go."""
        with self.db.atomic():
            self.db.execute(
                "DELETE FROM feedback WHERE chat_id = ? AND topic = ? AND article_id IS ?",
                [chat_id, topic, article_id],
            )
            cursor = self.db.execute(
                "INSERT INTO feedback (chat_id, topic, article_id, vote, title, vector, "
                "passage, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [chat_id, topic, article_id, 1 if vote > 0 else -1, title, vector, passage,
                 to_db_time(now or utcnow())],
            )  # fmt: skip
            self.db.execute(
                "DELETE FROM feedback WHERE chat_id = ? AND id NOT IN (SELECT id FROM "
                "feedback WHERE chat_id = ? ORDER BY id DESC LIMIT ?)",
                [chat_id, chat_id, VOTES_KEPT_PER_CHAT],
            )
        row = self.db.execute("SELECT * FROM feedback WHERE id = ?", [cursor.lastrowid]).fetchone()
        names = [d[0] for d in self.db.execute("SELECT * FROM feedback LIMIT 0").description]
        return _vote(dict(zip(names, row, strict=True)))

    def for_chat(self, chat_id: int) -> list[Vote]:
        """The chat's votes, oldest first."""
        return [
            _vote(r)
            for r in self.db.query(
                "SELECT * FROM feedback WHERE chat_id = ? ORDER BY id", [chat_id]
            )
        ]

    def for_chats(self, chat_ids: Iterable[int]) -> dict[int, list[Vote]]:
        """The votes of each of these chats (chats without any are left out)."""
        ids = sorted(set(chat_ids))
        out: dict[int, list[Vote]] = {}
        for part, marks in in_chunks(ids):
            for r in self.db.query(
                f"SELECT * FROM feedback WHERE chat_id IN ({marks}) ORDER BY id", part
            ):
                out.setdefault(r["chat_id"], []).append(_vote(r))
        return out

    def everyone(self) -> list[Vote]:
        """Every chat's votes (for an operator who lets chats learn from each other)."""
        return [_vote(r) for r in self.db.query("SELECT * FROM feedback ORDER BY id")]

    def clear(self, chat_id: int, vote_id: int | None = None) -> int:
        """Forget the chat's votes (or one of them); returns how many went."""
        with self.db.atomic():
            if vote_id is None:
                cursor = self.db.execute("DELETE FROM feedback WHERE chat_id = ?", [chat_id])
            else:
                cursor = self.db.execute(
                    "DELETE FROM feedback WHERE chat_id = ? AND id = ?", [chat_id, vote_id]
                )
        return cursor.rowcount

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM feedback").fetchone()[0])
