"""The outbox: one delivery row per chat and story, written before anything is sent.

States of a row:

``pending``  to send (after ``next_attempt_at`` when that is set: a retry or quiet hours);
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

:class:`StoryStore` keeps the stories: which articles and feeds carried each one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from bot.records import Alert, Article, Delivery, utcnow
from storage.articles import title_key
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


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A row as the sender needs it: what to send (or edit) and how far it got."""

    id: int
    chat_id: int
    kind: str  # alert | digest
    html: str
    text: str
    link: str
    disable_preview: bool
    state: str
    attempts: int
    version: int
    sent_version: int
    message_id: int | None
    edit_attempts: int
    story_id: int | None
    source: str  # the alert's own source (not repeated in its "Also:" line)
    created_at: datetime

    @property
    def needs_edit(self) -> bool:
        return self.state == "sent" and self.version > self.sent_version


def _message(row: dict[str, Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        chat_id=row["chat_id"],
        kind=row["kind"],
        html=row["html"],
        text=row["text"],
        link=row["link"],
        disable_preview=bool(row["disable_preview"]),
        state=row["state"],
        attempts=row["attempts"],
        version=row["version"],
        sent_version=row["sent_version"],
        message_id=row["message_id"],
        edit_attempts=row["edit_attempts"],
        story_id=row["story_id"],
        source=row.get("source") or "",
        created_at=from_db_time(row["created_at"]) or utcnow(),
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


_MESSAGE = (
    "SELECT d.*, a.source AS source FROM deliveries d LEFT JOIN articles a ON a.id = d.article_id"
)
QUIET_HOURS = "quiet hours"


class OutboxStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.stories = StoryStore(db)

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
                    "text, link, disable_preview, state, created_at) "
                    "SELECT ?, ?, ?, ?, ?, ?, ?, ?, "
                    "CASE WHEN c.alert_mode = 'digest' THEN 'held' ELSE 'pending' END, ? "
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
                        alert.chat_id,
                    ],
                )
                if cursor.rowcount:
                    assert cursor.lastrowid is not None
                    ids.append(cursor.lastrowid)
        return ids

    def story_changed(self, story_id: int, *, since: datetime) -> int:
        """Another feed carried the story: the alerts of it written since ``since`` get a new
        version (a sent one is then due for an edit; one sent in a digest is left alone).
        Returns how many."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE deliveries SET version = version + 1, edit_attempts = 0 "
                "WHERE story_id = ? AND kind = 'alert' AND digest_id IS NULL "
                "AND state IN ('pending', 'held', 'sent') AND created_at >= ?",
                [story_id, to_db_time(since)],
            )
        return cursor.rowcount

    # -- what the sender reads --------------------------------------------------------------

    def due(self, *, limit: int = 500, now: datetime | None = None) -> list[Delivery]:
        """Pending deliveries whose time has come, oldest first."""
        return [
            _delivery(r)
            for r in self.db.query(
                "SELECT d.* FROM deliveries d JOIN chats c ON c.chat_id = d.chat_id "
                "WHERE d.state = 'pending' AND c.active = 1 AND c.paused = 0 "
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
            "WHERE d.state = 'pending' AND d.id > ? AND c.active = 1 AND c.paused = 0 "
            "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) "
            "AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.chat_id = d.chat_id "
            "AND e.state = 'pending' AND e.id < d.id AND e.next_attempt_at > ?) "
            "ORDER BY d.id LIMIT ?",
            [after_id, at, at, limit],
        ).fetchall()
        edits = self.db.execute(
            "SELECT d.id, d.chat_id FROM deliveries d JOIN chats c ON c.chat_id = d.chat_id "
            "WHERE d.state = 'sent' AND d.version > d.sent_version AND d.id > ? "
            "AND c.active = 1 AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) "
            "ORDER BY d.id LIMIT ?",
            [after_id, at, limit],
        ).fetchall()
        return sorted((int(i), int(c)) for i, c in sends + edits)[:limit]

    def next_for_chat(
        self, chat_id: int, *, now: datetime | None = None, include_pending: bool = True
    ) -> OutboxMessage | None:
        """The chat's next thing to do: its oldest pending row, if its time has come (a later
        one never goes first: order per chat is kept), else its oldest due edit.
        ``include_pending=False`` (a paused chat): edits only, the pending rows wait."""
        at = to_db_time(now or utcnow())
        rows = (
            list(
                self.db.query(
                    f"{_MESSAGE} WHERE d.chat_id = ? AND d.state = 'pending' ORDER BY d.id LIMIT 1",
                    [chat_id],
                )
            )
            if include_pending
            else []
        )
        if rows:
            row = rows[0]
            waiting = row["next_attempt_at"] is not None and row["next_attempt_at"] > at
            return None if waiting else _message(row)
        rows = list(
            self.db.query(
                f"{_MESSAGE} WHERE d.chat_id = ? AND d.state = 'sent' "
                "AND d.version > d.sent_version "
                "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) ORDER BY d.id LIMIT 1",
                [chat_id, at],
            )
        )
        return _message(rows[0]) if rows else None

    def next_due_at(self) -> datetime | None:
        """When the earliest row waiting for its time (retry, quiet hours, edit) comes due."""
        row = self.db.execute(
            "SELECT min(t) FROM (SELECT min(d.next_attempt_at) AS t FROM deliveries d "
            "JOIN chats c ON c.chat_id = d.chat_id WHERE c.active = 1 AND c.paused = 0 AND "
            "d.state = 'pending' AND d.next_attempt_at IS NOT NULL "
            "UNION ALL SELECT min(next_attempt_at) FROM deliveries "
            "WHERE state = 'sent' AND version > sent_version AND next_attempt_at IS NOT NULL)"
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
                "SELECT chat_id, sent_at FROM deliveries WHERE state = 'sent' AND sent_at >= ? "
                "AND (digest_id IS NULL OR digest_id = id)",
                [to_db_time(since)],
            ).fetchall()
        ]

    def also_sources(self, story_id: int, *, own: str = "") -> list[str]:
        """The other sources that carried a story, in the order they did (``own`` left out)."""
        return [s for s in self.stories.sources(story_id) if s and s != own]

    def get(self, delivery_id: int) -> Delivery | None:
        rows = list(self.db.query("SELECT * FROM deliveries WHERE id = ?", [delivery_id]))
        return _delivery(rows[0]) if rows else None

    def by_message(self, chat_id: int, message_id: int) -> Delivery | None:
        """The alert sent to ``chat_id`` as Telegram message ``message_id``."""
        rows = list(
            self.db.query(
                "SELECT * FROM deliveries WHERE chat_id = ? AND message_id = ? "
                "AND kind = 'alert' ORDER BY id DESC LIMIT 1",
                [chat_id, message_id],
            )
        )
        return _delivery(rows[0]) if rows else None

    def last_sent(self, chat_id: int) -> Delivery | None:
        """The chat's most recently sent alert."""
        rows = list(
            self.db.query(
                "SELECT * FROM deliveries WHERE chat_id = ? AND state = 'sent' AND kind = 'alert' "
                "ORDER BY sent_at DESC, id DESC LIMIT 1",
                [chat_id],
            )
        )
        return _delivery(rows[0]) if rows else None

    def message(self, delivery_id: int) -> OutboxMessage | None:
        rows = list(self.db.query(f"{_MESSAGE} WHERE d.id = ?", [delivery_id]))
        return _message(rows[0]) if rows else None

    # -- what the sender writes -------------------------------------------------------------

    def mark_sent(
        self,
        delivery_id: int,
        message_id: int,
        *,
        now: datetime | None = None,
        version: int | None = None,
        reason: str = "",
    ) -> None:
        """Telegram confirmed the row (at ``version``); a digest's alerts are sent with it."""
        sent_at = to_db_time(now or utcnow())
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?, "
                "attempts = attempts + 1, reason = ?, next_attempt_at = NULL, "
                "sent_version = coalesce(?, version) WHERE id = ?",
                [message_id, sent_at, reason, version, delivery_id],
            )
            self.db.execute(
                "UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?, "
                "sent_version = version, reason = 'in a digest' "
                "WHERE digest_id = ? AND id != ? AND state = 'held'",
                [message_id, sent_at, delivery_id, delivery_id],
            )

    def mark_retry(self, delivery_id: int, reason: str, retry_at: datetime) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, reason = ?, next_attempt_at = ? "
                "WHERE id = ?",
                [reason, to_db_time(retry_at), delivery_id],
            )

    def defer(self, delivery_id: int, reason: str, until: datetime) -> None:
        """Try again at ``until`` without counting an attempt (a flood wait)."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET reason = ?, next_attempt_at = ? WHERE id = ?",
                [reason, to_db_time(until), delivery_id],
            )

    def mark_failed(self, delivery_id: int, reason: str) -> None:
        """Gave up on the row (and, for a digest, on the alerts in it)."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, reason = ? "
                "WHERE id = ?",
                [reason, delivery_id],
            )
            self.db.execute(
                "UPDATE deliveries SET state = 'failed', reason = ? "
                "WHERE digest_id = ? AND id != ? AND state = 'held'",
                [reason, delivery_id, delivery_id],
            )

    def mark_skipped(self, delivery_id: int, reason: str) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET state = 'skipped', reason = ? WHERE id = ?",
                [reason, delivery_id],
            )

    def skip_chat(self, chat_id: int, reason: str) -> int:
        """Skip everything still to send to the chat (it blocked the bot, ...)."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE deliveries SET state = 'skipped', reason = ? "
                "WHERE chat_id = ? AND state IN ('pending', 'held')",
                [reason, chat_id],
            )
        return cursor.rowcount

    def defer_chat(self, chat_id: int, until: datetime, reason: str = QUIET_HOURS) -> int:
        """Hold the chat's pending rows until ``until`` (its quiet hours end)."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE deliveries SET next_attempt_at = ?, reason = ? WHERE chat_id = ? "
                "AND state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at < ?)",
                [to_db_time(until), reason, chat_id, to_db_time(until)],
            )
        return cursor.rowcount

    def release_quiet(self, chat_id: int) -> int:
        """Quiet hours changed: rows held for them are due now."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE deliveries SET next_attempt_at = NULL, reason = '' "
                "WHERE chat_id = ? AND state = 'pending' AND reason = ?",
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
                "SELECT DISTINCT chat_id FROM deliveries WHERE state = 'held' AND digest_id IS NULL"
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
            )
            for r in self.db.query(
                "SELECT d.id, d.link, d.topic, d.created_at, a.title, a.source "
                "FROM deliveries d LEFT JOIN articles a ON a.id = d.article_id "
                "WHERE d.chat_id = ? AND d.state = 'held' AND d.digest_id IS NULL ORDER BY d.id",
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
                    "disable_preview = 1, state = 'pending', digest_id = id "
                    "WHERE id = ? AND state = 'held'",
                    [html, text, carrier],
                )
                placeholders = ", ".join("?" for _ in ids)
                self.db.execute(
                    f"UPDATE deliveries SET digest_id = ? WHERE id IN ({placeholders}) "
                    "AND id != ? AND state = 'held'",
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
                f"UPDATE deliveries SET state = 'pending' WHERE {where} "
                "AND state = 'held' AND digest_id IS NULL",
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
            for r in self.db.query(
                "SELECT * FROM deliveries WHERE chat_id = ? ORDER BY id", [chat_id]
            )
        ]


@dataclass(frozen=True, slots=True)
class StoryRow:
    """A story as stored: what its first article said, for its fingerprint."""

    id: int
    title: str
    lead: str
    source: str
    first_seen: datetime
    vector: bytes | None = None  # its first article's (bot.matching.vectors.to_blob)


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
    ) -> int:
        """A new story, first carried by this article; returns its id."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO stories (title, lead, source, first_seen, vector) "
                "VALUES (?, ?, ?, ?, ?)",
                [article.title, lead, article.source, to_db_time(now), vector],
            )
            story_id = cursor.lastrowid
            assert story_id is not None
            self.link(story_id, article_key, feed_id, article, now=now)
        return story_id

    def link(
        self,
        story_id: int,
        article_key: int | None,
        feed_id: int | None,
        article: Article,
        *,
        now: datetime,
    ) -> None:
        """Record that this article (or feed entry, when it was not stored) carried the story."""
        with self.db.atomic():
            self.db.execute(
                "INSERT OR IGNORE INTO story_articles (story_id, article_id, feed_id, entry_id, "
                "source, seen_at) VALUES (?, ?, ?, ?, ?, ?)",
                [story_id, article_key, feed_id, article.id, article.source, to_db_time(now)],
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
            )
            for r in self.db.query(
                "SELECT * FROM stories WHERE first_seen >= ? ORDER BY id", [to_db_time(since)]
            )
        ]

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
