"""The outbox: one delivery row per chat and article, written before it is sent.

States: ``pending`` (to send, maybe after ``next_attempt_at``), ``sent`` (Telegram
confirmed, with its message id), ``failed`` (gave up, with the reason),
``skipped`` (not sent on purpose, with the reason).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlite_utils

from bot.records import Alert, Delivery, utcnow
from storage.database import from_db_time, to_db_time


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        chat_id=row["chat_id"],
        article_key=row["article_id"],
        topic=row["topic"],
        html=row["html"],
        text=row["text"],
        link=row["link"],
        state=row["state"],
        attempts=row["attempts"],
        reason=row["reason"],
        message_id=row["message_id"],
        created_at=from_db_time(row["created_at"]) or utcnow(),
        sent_at=from_db_time(row["sent_at"]),
    )


class OutboxStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def enqueue(self, alerts: Iterable[Alert], *, now: datetime | None = None) -> list[int]:
        """Write the alerts as pending deliveries; an alert for a chat and article that
        is already in the outbox (in any state) is ignored.  Returns the new row ids."""
        created = to_db_time(now or utcnow())
        ids: list[int] = []
        with self.db.atomic():
            for alert in alerts:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO deliveries (chat_id, article_id, topic, html, text, link, "
                    "disable_preview, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                    [
                        alert.chat_id,
                        alert.article_key,
                        alert.topic,
                        alert.html,
                        alert.text,
                        alert.link,
                        int(alert.disable_preview),
                        created,
                    ],
                )
                if cursor.rowcount:
                    assert cursor.lastrowid is not None
                    ids.append(cursor.lastrowid)
        return ids

    def due(self, *, limit: int = 500, now: datetime | None = None) -> list[Delivery]:
        """Pending deliveries whose time has come, oldest first."""
        return [
            _delivery(r)
            for r in self.db.query(
                "SELECT d.* FROM deliveries d JOIN chats c ON c.chat_id = d.chat_id "
                "WHERE d.state = 'pending' AND c.active = 1 "
                "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) ORDER BY d.id LIMIT ?",
                [to_db_time(now or utcnow()), limit],
            )
        ]

    def disable_preview(self, delivery_id: int) -> bool:
        row = self.db.execute(
            "SELECT disable_preview FROM deliveries WHERE id = ?", [delivery_id]
        ).fetchone()
        return bool(row[0]) if row else True

    def get(self, delivery_id: int) -> Delivery | None:
        rows = list(self.db.query("SELECT * FROM deliveries WHERE id = ?", [delivery_id]))
        return _delivery(rows[0]) if rows else None

    def mark_sent(self, delivery_id: int, message_id: int, *, now: datetime | None = None) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?, "
                "attempts = attempts + 1, reason = '' WHERE id = ?",
                [message_id, to_db_time(now or utcnow()), delivery_id],
            )

    def mark_retry(self, delivery_id: int, reason: str, retry_at: datetime) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, reason = ?, next_attempt_at = ? "
                "WHERE id = ?",
                [reason, to_db_time(retry_at), delivery_id],
            )

    def mark_failed(self, delivery_id: int, reason: str) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, reason = ? "
                "WHERE id = ?",
                [reason, delivery_id],
            )

    def mark_skipped(self, delivery_id: int, reason: str) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET state = 'skipped', reason = ? WHERE id = ?",
                [reason, delivery_id],
            )

    def counts(self) -> dict[str, int]:
        return {
            r["state"]: r["n"]
            for r in self.db.query("SELECT state, count(*) AS n FROM deliveries GROUP BY state")
        }

    def for_chat(self, chat_id: int) -> list[Delivery]:
        return [
            _delivery(r)
            for r in self.db.query(
                "SELECT * FROM deliveries WHERE chat_id = ? ORDER BY id", [chat_id]
            )
        ]
