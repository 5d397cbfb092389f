"""The outbox: one delivery row per chat and story, written before anything is sent.

States of a row:

``pending``  to send (after ``next_attempt_at`` when that is set: a retry or quiet hours);
``sending``  claimed by the sender (:meth:`OutboxStore.claim`) just before it goes to
             Telegram; only the claimer sends it. A row still ``sending`` when the bot
             starts was cut short by a crash and is sent again (:meth:`requeue_interrupted`);
``held``     waiting for the chat's digest (``alert_mode = 'digest'``); ``digest_id`` names
             the delivery that carries the digest once it is made;
``sent``     Telegram confirmed it: ``message_id`` (for an alert sent in a digest, the
             digest's message);
``failed``   gave up, ``reason`` says why;
``skipped``  not sent on purpose (the chat blocked the bot, ...), ``reason`` says why.

A row is unique per chat and article, and per chat and story (``story_id``): the same story
from another feed adds to the story instead and bumps ``version`` of the rows that carry it;
a sent row whose ``version`` is above ``sent_version`` is due for an edit ("Also: ...").

``kind = 'digest'`` marks a row that carries a digest message (it reuses the row of the
digest's first alert); its alerts follow its fate when it is sent or fails.

Every read returns :class:`bot.records.Delivery`, the one record of a row.  The stories
themselves live in ``storage.stories``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from bot.records import Alert, Delivery, DeliveryState, utcnow
from storage.database import from_db_time, select_rows, to_db_time
from storage.stories import StoryStore

# the states as the SQL below writes them
PENDING, HELD, SENT = DeliveryState.PENDING, DeliveryState.HELD, DeliveryState.SENT
SENDING = DeliveryState.SENDING
FAILED, SKIPPED = DeliveryState.FAILED, DeliveryState.SKIPPED


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        chat_id=row["chat_id"],
        article_key=row["article_id"],
        topic=row["topic"],
        html=row["html"],
        text=row["text"],
        link=row["link"],
        state=DeliveryState(row["state"]),
        kind=row["kind"],
        disable_preview=bool(row["disable_preview"]),
        attempts=row["attempts"],
        reason=row["reason"],
        message_id=row["message_id"],
        version=row["version"],
        sent_version=row["sent_version"],
        edit_attempts=row["edit_attempts"],
        story_id=row["story_id"],
        source=row.get("source") or "",
        created_at=from_db_time(row["created_at"]) or utcnow(),
        sent_at=from_db_time(row["sent_at"]),
        image=row.get("image") or "",
        image_size=row.get("image_size") or "",
        thread_id=row.get("thread_id"),
        breaking=bool(row.get("breaking_at")),
        priority=bool(row.get("priority")),
        button=bool(row.get("button", 1)),
    )


@dataclass(frozen=True, slots=True)
class HeldAlert:
    """An alert waiting for its chat's digest."""

    id: int
    title: str
    link: str
    source: str
    topic: str
    created_at: datetime
    published: datetime | None = None
    thread_id: int | None = None  # the forum topic it was to go to


# a row, its article's source (not repeated in the row's "Also:" line) and whether its
# story is breaking news
_ROW = (
    "SELECT d.*, a.source AS source, s.breaking_at AS breaking_at FROM deliveries d "
    "LEFT JOIN articles a ON a.id = d.article_id LEFT JOIN stories s ON s.id = d.story_id"
)
QUIET_HOURS = "quiet hours"


class OutboxStore:
    def __init__(self, db: sqlite_utils.Database, stories: StoryStore | None = None) -> None:
        self.db = db
        self._stories = stories or StoryStore(db)

    # -- writing alerts ---------------------------------------------------------------------

    def enqueue(
        self,
        alerts: Iterable[Alert],
        *,
        now: datetime | None = None,
        story_id: int | None = None,
    ) -> list[int]:
        """Write the alerts as deliveries: ``pending``, or ``held`` for a chat that takes
        digests.  An alert for a chat that already has the article, or the story
        (``story_id``), in any state, is ignored, and so is one for an inactive chat.
        Returns the new row ids."""
        created = to_db_time(now or utcnow())
        ids: list[int] = []
        with self.db.atomic():
            for alert in alerts:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO deliveries (chat_id, article_id, story_id, topic, html, "
                    "text, link, disable_preview, state, created_at, image, image_size, thread_id, "
                    "button) SELECT ?, ?, ?, ?, ?, ?, ?, ?, "
                    f"CASE WHEN c.alert_mode = 'digest' THEN '{HELD}' ELSE '{PENDING}' END, "
                    "?, ?, ?, ?, ? "
                    "FROM chats c WHERE c.chat_id = ? AND c.active = 1",
                    [
                        alert.chat_id,
                        alert.article_key,
                        story_id,
                        alert.topic,
                        alert.html,
                        alert.text,
                        alert.link,
                        int(alert.disable_preview),
                        created,
                        alert.image,
                        alert.image_size,
                        alert.thread_id,
                        int(alert.button),
                        alert.chat_id,
                    ],
                )
                if cursor.rowcount:
                    assert cursor.lastrowid is not None
                    ids.append(cursor.lastrowid)
        return ids

    def promote_breaking(self, story_id: int) -> int:
        """The story became breaking news: chats that take it at once get their alert of it
        now, out of their digest or quiet hours (``priority``).  Returns how many rows."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE deliveries SET priority = 1, state = 'pending', "
                "next_attempt_at = CASE WHEN reason = ? THEN NULL ELSE next_attempt_at END, "
                "reason = CASE WHEN reason = ? THEN '' ELSE reason END "
                "WHERE story_id = ? AND kind = 'alert' AND digest_id IS NULL "
                "AND state IN ('pending', 'held') "
                "AND chat_id IN (SELECT chat_id FROM chats WHERE breaking_through = 1)",
                [QUIET_HOURS, QUIET_HOURS, story_id],
            )
        return cursor.rowcount

    def any_for_stories(self, story_ids: Sequence[int]) -> bool:
        """Whether any of these stories has an alert (in any state)."""
        if not story_ids:
            return False
        marks = ",".join("?" * len(story_ids))
        row = self.db.execute(
            f"SELECT 1 FROM deliveries WHERE story_id IN ({marks}) LIMIT 1", list(story_ids)
        ).fetchone()
        return row is not None

    def story_changed(self, story_id: int, *, since: datetime) -> int:
        """Another feed carried the story: the alerts of it written since ``since`` get a new
        version (a sent one is then due for an edit; one sent in a digest is left alone).
        Returns how many."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE deliveries SET version = version + 1, edit_attempts = 0 "
                "WHERE story_id = ? AND kind = 'alert' AND digest_id IS NULL "
                f"AND state IN ('{PENDING}', '{SENDING}', '{HELD}', '{SENT}') AND created_at >= ?",
                [story_id, to_db_time(since)],
            )
        return cursor.rowcount

    # -- what the sender reads --------------------------------------------------------------

    def due(self, *, limit: int = 500, now: datetime | None = None) -> list[Delivery]:
        """Pending deliveries whose time has come, oldest first."""
        return [
            _delivery(r)
            for r in self.db.query(
                f"{_ROW} JOIN chats c ON c.chat_id = d.chat_id "
                f"WHERE d.state = '{PENDING}' AND c.active = 1 AND c.paused = 0 "
                "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) ORDER BY d.id LIMIT ?",
                [to_db_time(now or utcnow()), limit],
            )
        ]

    def work(
        self, *, after_id: int = 0, limit: int = 500, now: datetime | None = None
    ) -> list[tuple[int, int]]:
        """``(row id, chat id)`` of rows past ``after_id`` with something to do now: a send
        (not queued behind an earlier row of its chat that waits) or an edit.  Id order."""
        at = to_db_time(now or utcnow())
        sends = self.db.execute(
            "SELECT d.id, d.chat_id FROM deliveries d JOIN chats c ON c.chat_id = d.chat_id "
            f"WHERE d.state = '{PENDING}' AND d.id > ? AND c.active = 1 AND c.paused = 0 "
            "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) "
            "AND (d.priority = 1 OR NOT EXISTS (SELECT 1 FROM deliveries e "
            "WHERE e.chat_id = d.chat_id "
            f"AND e.state = '{PENDING}' AND e.id < d.id AND e.next_attempt_at > ?)) "
            "ORDER BY d.id LIMIT ?",
            [after_id, at, at, limit],
        ).fetchall()
        edits = self.db.execute(
            "SELECT d.id, d.chat_id FROM deliveries d JOIN chats c ON c.chat_id = d.chat_id "
            f"WHERE d.state = '{SENT}' AND d.version > d.sent_version AND d.id > ? "
            "AND c.active = 1 AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) "
            "ORDER BY d.id LIMIT ?",
            [after_id, at, limit],
        ).fetchall()
        return sorted((int(i), int(c)) for i, c in sends + edits)[:limit]

    def next_for_chat(
        self, chat_id: int, *, now: datetime | None = None, include_pending: bool = True
    ) -> Delivery | None:
        """The chat's next thing to do: its oldest pending row, if its time has come (a later
        one never goes first: order per chat is kept), else its oldest due edit.
        ``include_pending=False`` (a paused chat): edits only, the pending rows wait."""
        at = to_db_time(now or utcnow())
        edit = (
            f"SELECT * FROM ({_ROW} WHERE d.chat_id = ? AND d.state = '{SENT}' "
            "AND d.version > d.sent_version "
            "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) ORDER BY d.id LIMIT 1)"
        )
        if not include_pending:
            rows = select_rows(self.db, edit, [chat_id, at])
            return _delivery(rows[0]) if rows else None
        # One statement, each half on its own index: the first pending row, where breaking
        # news the chat takes at once (a priority row whose time has come) passes rows
        # waiting for quiet hours; and the first due edit.
        pending = (
            f"SELECT * FROM ({_ROW} WHERE d.id = (SELECT id FROM deliveries WHERE chat_id = ? "
            f"AND state = '{PENDING}' ORDER BY (priority = 1 AND (next_attempt_at IS NULL "
            "OR next_attempt_at <= ?)) DESC, id LIMIT 1))"
        )
        rows = select_rows(self.db, f"{pending} UNION ALL {edit}", [chat_id, at, chat_id, at])
        for row in rows:
            if row["state"] == PENDING:
                waiting = row["next_attempt_at"] is not None and row["next_attempt_at"] > at
                return None if waiting else _delivery(row)
        return _delivery(rows[0]) if rows else None

    def next_due_at(self) -> datetime | None:
        """When the earliest row waiting for its time (retry, quiet hours, edit) comes due."""
        row = self.db.execute(
            "SELECT min(t) FROM (SELECT min(d.next_attempt_at) AS t FROM deliveries d "
            "JOIN chats c ON c.chat_id = d.chat_id WHERE c.active = 1 AND c.paused = 0 AND "
            f"d.state = '{PENDING}' AND d.next_attempt_at IS NOT NULL "
            "UNION ALL SELECT min(next_attempt_at) FROM deliveries "
            f"WHERE state = '{SENT}' AND version > sent_version AND next_attempt_at IS NOT NULL)"
        ).fetchone()
        return from_db_time(row[0]) if row and row[0] else None

    def recent_sends(
        self, *, since: datetime, now: datetime | None = None
    ) -> list[tuple[int, float]]:
        """``(chat id, seconds ago)`` of each message sent since ``since`` (a digest once)."""
        now = now or utcnow()
        return [
            (int(chat_id), (now - (from_db_time(sent_at) or now)).total_seconds())
            for chat_id, sent_at in self.db.execute(
                f"SELECT chat_id, sent_at FROM deliveries WHERE state = '{SENT}' AND sent_at >= ? "
                "AND (digest_id IS NULL OR digest_id = id)",
                [to_db_time(since)],
            ).fetchall()
        ]

    def also_sources(self, story_id: int, *, own: str = "") -> list[str]:
        """The other sources that carried a story, in the order they did (``own`` left out)."""
        return [s for s in self._stories.sources(story_id) if s and s != own]

    def get(self, delivery_id: int) -> Delivery | None:
        rows = list(self.db.query(f"{_ROW} WHERE d.id = ?", [delivery_id]))
        return _delivery(rows[0]) if rows else None

    def by_message(self, chat_id: int, message_id: int) -> Delivery | None:
        """The alert sent to ``chat_id`` as Telegram message ``message_id``."""
        rows = list(
            self.db.query(
                f"{_ROW} WHERE d.chat_id = ? AND d.message_id = ? AND d.kind = 'alert' "
                "ORDER BY d.id DESC LIMIT 1",
                [chat_id, message_id],
            )
        )
        return _delivery(rows[0]) if rows else None

    def last_sent(self, chat_id: int) -> Delivery | None:
        """The chat's most recently sent alert."""
        rows = list(
            self.db.query(
                f"{_ROW} WHERE d.chat_id = ? AND d.state = '{SENT}' AND d.kind = 'alert' "
                "ORDER BY d.sent_at DESC, d.id DESC LIMIT 1",
                [chat_id],
            )
        )
        return _delivery(rows[0]) if rows else None

    # -- what the sender writes -------------------------------------------------------------

    def claim(self, delivery_id: int) -> bool:
        """Take a pending row for sending (``sending``); False when it is no longer pending
        (another sender took it, or it was skipped).  The claim is one atomic UPDATE, so two
        senders can never both send a row.  Raises ``sqlite3.Error`` when the database
        refuses the write: then the row must not be sent."""
        cursor = self.db.execute(  # one statement: atomic, committed at once
            f"UPDATE deliveries SET state = '{SENDING}' WHERE id = ? AND state = '{PENDING}'",
            [delivery_id],
        )
        return cursor.rowcount == 1

    def release(self, delivery_id: int) -> None:
        """A claimed row goes back to ``pending`` unsent (Telegram did not take it)."""
        with self.db.atomic():
            self.db.execute(
                f"UPDATE deliveries SET state = '{PENDING}' WHERE id = ? AND state = '{SENDING}'",
                [delivery_id],
            )

    def requeue_interrupted(self) -> int:
        """At start: rows a crashed run left ``sending`` are pending again (sent once more:
        Telegram may or may not have had them, and a repeat beats a loss)."""
        with self.db.atomic():
            cursor = self.db.execute(
                f"UPDATE deliveries SET state = '{PENDING}' WHERE state = '{SENDING}'"
            )
        return cursor.rowcount

    def mark_sent(
        self,
        delivery_id: int,
        message_id: int,
        *,
        now: datetime | None = None,
        version: int | None = None,
        reason: str = "",
        digest: bool = True,
    ) -> None:
        """Telegram confirmed the row (at ``version``); a digest's alerts are sent with it.
        ``digest=False`` says the row carries no digest (one statement is written then)."""
        sent_at = to_db_time(now or utcnow())
        mark = (
            f"UPDATE deliveries SET state = '{SENT}', message_id = ?, sent_at = ?, "
            "attempts = attempts + 1, reason = ?, next_attempt_at = NULL, "
            "sent_version = coalesce(?, version) WHERE id = ?"
        )
        if not digest:  # one statement: atomic, committed at once
            self.db.execute(mark, [message_id, sent_at, reason, version, delivery_id])
            return
        with self.db.atomic():
            self.db.execute(mark, [message_id, sent_at, reason, version, delivery_id])
            self.db.execute(
                f"UPDATE deliveries SET state = '{SENT}', message_id = ?, sent_at = ?, "
                "sent_version = version, reason = 'in a digest' "
                f"WHERE digest_id = ? AND id != ? AND state = '{HELD}'",
                [message_id, sent_at, delivery_id, delivery_id],
            )

    def mark_retry(self, delivery_id: int, reason: str, retry_at: datetime) -> None:
        with self.db.atomic():
            self.db.execute(
                f"UPDATE deliveries SET state = CASE state WHEN '{SENDING}' THEN '{PENDING}' "
                "ELSE state END, attempts = attempts + 1, reason = ?, next_attempt_at = ? "
                "WHERE id = ?",
                [reason, to_db_time(retry_at), delivery_id],
            )

    def defer(self, delivery_id: int, reason: str, until: datetime) -> None:
        """Try again at ``until`` without counting an attempt (a flood wait)."""
        with self.db.atomic():
            self.db.execute(
                f"UPDATE deliveries SET state = CASE state WHEN '{SENDING}' THEN '{PENDING}' "
                "ELSE state END, reason = ?, next_attempt_at = ? WHERE id = ?",
                [reason, to_db_time(until), delivery_id],
            )

    def mark_failed(self, delivery_id: int, reason: str) -> None:
        """Gave up on the row (and, for a digest, on the alerts in it)."""
        with self.db.atomic():
            self.db.execute(
                f"UPDATE deliveries SET state = '{FAILED}', attempts = attempts + 1, reason = ? "
                "WHERE id = ?",
                [reason, delivery_id],
            )
            self.db.execute(
                f"UPDATE deliveries SET state = '{FAILED}', reason = ? "
                f"WHERE digest_id = ? AND id != ? AND state = '{HELD}'",
                [reason, delivery_id, delivery_id],
            )

    def mark_skipped(self, delivery_id: int, reason: str) -> None:
        with self.db.atomic():
            self.db.execute(
                f"UPDATE deliveries SET state = '{SKIPPED}', reason = ? WHERE id = ?",
                [reason, delivery_id],
            )

    def skip_chat(self, chat_id: int, reason: str) -> int:
        """Skip everything still to send to the chat (it blocked the bot, ...)."""
        with self.db.atomic():
            cursor = self.db.execute(
                f"UPDATE deliveries SET state = '{SKIPPED}', reason = ? "
                f"WHERE chat_id = ? AND state IN ('{PENDING}', '{SENDING}', '{HELD}')",
                [reason, chat_id],
            )
        return cursor.rowcount

    def defer_chat(self, chat_id: int, until: datetime, reason: str = QUIET_HOURS) -> int:
        """Hold the chat's pending rows until ``until`` (its quiet hours end)."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE deliveries SET next_attempt_at = ?, reason = ? WHERE chat_id = ? "
                f"AND state = '{PENDING}' AND (next_attempt_at IS NULL OR next_attempt_at < ?)",
                [to_db_time(until), reason, chat_id, to_db_time(until)],
            )
        return cursor.rowcount

    def release_quiet(self, chat_id: int) -> int:
        """Quiet hours changed: rows held for them are due now."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE deliveries SET next_attempt_at = NULL, reason = '' "
                f"WHERE chat_id = ? AND state = '{PENDING}' AND reason = ?",
                [chat_id, QUIET_HOURS],
            )
        return cursor.rowcount

    def mark_edited(self, delivery_id: int, version: int, *, reason: str = "") -> None:
        """Telegram has ``version`` of the sent message (or we stopped trying: ``reason``)."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET sent_version = max(sent_version, ?), edit_attempts = 0, "
                "next_attempt_at = NULL, reason = ? WHERE id = ?",
                [version, reason, delivery_id],
            )

    def mark_edit_retry(self, delivery_id: int, reason: str, retry_at: datetime) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET edit_attempts = edit_attempts + 1, reason = ?, "
                "next_attempt_at = ? WHERE id = ?",
                [reason, to_db_time(retry_at), delivery_id],
            )

    # -- digests ----------------------------------------------------------------------------

    def chats_with_held(self) -> list[int]:
        """Chats with alerts waiting for a digest not made yet."""
        return [
            int(r[0])
            for r in self.db.execute(
                f"SELECT DISTINCT chat_id FROM deliveries WHERE state = '{HELD}' AND digest_id IS NULL"
            ).fetchall()
        ]

    def held(self, chat_id: int) -> list[HeldAlert]:
        """The chat's alerts waiting for a digest, oldest first."""
        return [
            HeldAlert(
                id=r["id"],
                title=r["title"] or "",
                link=r["link"] or "",
                source=r["source"] or "",
                topic=r["topic"],
                created_at=from_db_time(r["created_at"]) or utcnow(),
                published=from_db_time(r["published"]),
                thread_id=r["thread_id"],
            )
            for r in self.db.query(
                "SELECT d.id, d.link, d.topic, d.created_at, d.thread_id, a.title, a.source, "
                "a.published "
                "FROM deliveries d LEFT JOIN articles a ON a.id = d.article_id "
                f"WHERE d.chat_id = ? AND d.state = '{HELD}' AND d.digest_id IS NULL ORDER BY d.id",
                [chat_id],
            )
        ]

    def make_digest(self, parts: Sequence[tuple[Sequence[int], str, str]]) -> list[int]:
        """Turn held alerts into digest messages: each part is ``(alert ids, html, text)``;
        the part's first alert's row carries the message (``kind = 'digest'``, pending) and
        the others point at it.  Returns the carriers' ids, in order."""
        carriers = []
        with self.db.atomic():
            for ids, html, text in parts:
                carrier = ids[0]
                self.db.execute(
                    "UPDATE deliveries SET kind = 'digest', html = ?, text = ?, link = '', "
                    "disable_preview = 1, image = '', image_size = '', "
                    f"state = '{PENDING}', digest_id = id "
                    f"WHERE id = ? AND state = '{HELD}'",
                    [html, text, carrier],
                )
                placeholders = ", ".join("?" for _ in ids)
                self.db.execute(
                    f"UPDATE deliveries SET digest_id = ? WHERE id IN ({placeholders}) "
                    f"AND id != ? AND state = '{HELD}'",
                    [carrier, *ids, carrier],
                )
                carriers.append(carrier)
        return carriers

    def release_held(self, chat_id: int | None = None) -> int:
        """Held alerts not in a digest yet become pending (the chat went back to instant);
        without ``chat_id``, those of every chat whose ``alert_mode`` is not 'digest'."""
        where = (
            "chat_id = ?"
            if chat_id is not None
            else ("chat_id IN (SELECT chat_id FROM chats WHERE alert_mode != 'digest')")
        )
        with self.db.atomic():
            cursor = self.db.execute(
                f"UPDATE deliveries SET state = '{PENDING}' WHERE {where} "
                f"AND state = '{HELD}' AND digest_id IS NULL",
                [chat_id] if chat_id is not None else [],
            )
        return cursor.rowcount

    # -- reports ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {
            r["state"]: r["n"]
            for r in self.db.query("SELECT state, count(*) AS n FROM deliveries GROUP BY state")
        }

    def for_chat(self, chat_id: int) -> list[Delivery]:
        return [
            _delivery(r)
            for r in self.db.query(f"{_ROW} WHERE d.chat_id = ? ORDER BY d.id", [chat_id])
        ]
