"""Chats (private chats, groups, channels) the bot delivers to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from bot.records import utcnow
from storage.database import from_db_time, read_generation, select_rows, to_db_time


@dataclass(frozen=True, slots=True)
class Chat:
    chat_id: int
    type: str = "private"
    title: str = ""
    username: str = ""
    language: str = "en"
    active: bool = True
    inactive_reason: str = ""
    footer: str = ""
    link_preview: bool | None = None
    summary_chars: int | None = None
    from_config: bool = False
    # chat preferences set with /settings, /pause, /language (migration m004_chat_preferences)
    paused: bool = False
    alert_mode: str = "instant"  # instant | digest (the delivery stage reads it)
    language_chosen: bool = False  # set with /language: wins over each user's language_code
    added_by: int | None = None  # who attached the channel or group from a private chat
    # delivery settings (migration m007): digest schedule, time zone, quiet hours
    digest_every: str = "daily"  # hourly | daily, when alert_mode is "digest"
    digest_at: str = "08:00"  # local time of the daily digest
    timezone: str = "UTC"  # an IANA zone name, e.g. "Asia/Seoul"
    quiet_start: str = ""  # "23:00"; empty: no quiet hours
    quiet_end: str = ""  # "07:00"
    quiet_mode: str = "hold"  # hold (send when they end) | silent (send without a sound)
    last_digest_at: datetime | None = None
    image: str | None = None  # large | small | off (migration m009); None: alerts.image
    thread_id: int | None = None  # a configured forum's topic for its alerts (m010)
    breaking_through: bool = False  # breaking news at once, even in quiet hours or digests
    template: str = ""  # the parts of its alerts, in order (m014); "": the default


def _chat(row: dict[str, Any]) -> Chat:
    return Chat(
        chat_id=row["chat_id"],
        type=row["type"],
        title=row["title"],
        username=row["username"],
        language=row["language"],
        active=bool(row["active"]),
        inactive_reason=row["inactive_reason"],
        footer=row["footer"],
        link_preview=None if row["link_preview"] is None else bool(row["link_preview"]),
        summary_chars=row["summary_chars"],
        from_config=bool(row["from_config"]),
        paused=bool(row.get("paused") or 0),
        alert_mode=row.get("alert_mode") or "instant",
        language_chosen=bool(row.get("language_chosen") or 0),
        added_by=row.get("added_by"),
        digest_every=row.get("digest_every") or "daily",
        digest_at=row.get("digest_at") or "08:00",
        timezone=row.get("timezone") or "UTC",
        quiet_start=row.get("quiet_start") or "",
        quiet_end=row.get("quiet_end") or "",
        quiet_mode=row.get("quiet_mode") or "hold",
        last_digest_at=from_db_time(row.get("last_digest_at")),
        image=row.get("image"),
        thread_id=row.get("thread_id"),
        breaking_through=bool(row.get("breaking_through") or 0),
        template=row.get("template") or "",
    )


class ChatStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def ensure(
        self,
        chat_id: int,
        *,
        type: str = "private",
        title: str = "",
        username: str = "",
        language: str | None = None,
        reactivate: bool = False,
    ) -> Chat:
        """Record the chat if new, refresh its names; ``reactivate`` marks it active again."""
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO chats (chat_id, type, title, username, language, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET type = excluded.type, "
                "title = excluded.title, username = excluded.username",
                [chat_id, type, title, username, language or "en", to_db_time(utcnow())],
            )
            if reactivate:
                self.db.execute(
                    "UPDATE chats SET active = 1, inactive_reason = '' WHERE chat_id = ?", [chat_id]
                )
        found = self.get(chat_id)
        assert found is not None
        return found

    def configure(
        self,
        chat_id: int,
        *,
        footer: str = "",
        link_preview: bool | None = None,
        summary_chars: int | None = None,
        type: str = "channel",
        image: str | None = None,
        thread_id: int | None = None,
        template: str = "",
    ) -> Chat:
        """A chat declared in the config file: its settings come from there."""
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO chats (chat_id, type, footer, link_preview, summary_chars, from_config, "
                "created_at, image, thread_id, template) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?) "
                "ON CONFLICT(chat_id) DO UPDATE "
                "SET footer = excluded.footer, link_preview = excluded.link_preview, "
                "summary_chars = excluded.summary_chars, image = excluded.image, "
                "thread_id = excluded.thread_id, template = excluded.template, from_config = 1",
                [
                    chat_id,
                    type,
                    footer,
                    link_preview,
                    summary_chars,
                    to_db_time(utcnow()),
                    image,
                    thread_id,
                    template,
                ],
            )
        found = self.get(chat_id)
        assert found is not None
        return found

    def by_username(self, username: str) -> Chat | None:
        """The chat with this public @username (without the @), case-insensitively."""
        rows = list(
            self.db.query(
                "SELECT * FROM chats WHERE lower(username) = lower(?) ORDER BY chat_id LIMIT 1",
                [username],
            )
        )
        return _chat(rows[0]) if rows else None

    def unconfigure_except(self, chat_ids: set[int]) -> None:
        """Chats no longer in the config file: their settings become their own again."""
        with self.db.atomic():
            for row in list(self.db.query("SELECT chat_id FROM chats WHERE from_config = 1")):
                if row["chat_id"] not in chat_ids:
                    self.db.execute(
                        "UPDATE chats SET from_config = 0, footer = '', link_preview = NULL, "
                        "summary_chars = NULL, image = NULL, thread_id = NULL, template = '' "
                        "WHERE chat_id = ?",
                        [row["chat_id"]],
                    )

    def get(self, chat_id: int) -> Chat | None:
        rows = select_rows(self.db, "SELECT * FROM chats WHERE chat_id = ?", [chat_id])
        return _chat(rows[0]) if rows else None

    def all(self) -> list[Chat]:
        return [_chat(r) for r in self.db.query("SELECT * FROM chats ORDER BY chat_id")]

    def deactivate(self, chat_id: int, reason: str) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE chats SET active = 0, inactive_reason = ? WHERE chat_id = ?",
                [reason, chat_id],
            )

    def migrate(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: move the chat, its subscriptions and deliveries."""
        with self.db.atomic():
            if self.get(new_id) is None:
                self.db.execute("UPDATE chats SET chat_id = ? WHERE chat_id = ?", [new_id, old_id])
            else:
                # The new id already has a row (Telegram's my_chat_member for the supergroup
                # came first): it carries defaults, so the chat's own settings move onto it.
                keep = {
                    "chat_id",
                    "type",
                    "title",
                    "username",
                    "created_at",
                    "active",
                    "inactive_reason",
                }
                columns = [c for c in self.db["chats"].columns_dict if c not in keep]
                names = ", ".join(f'"{c}"' for c in columns)  # from the schema, not from input
                self.db.execute(
                    f"UPDATE chats SET ({names}) = (SELECT {names} FROM chats WHERE chat_id = ?) "
                    "WHERE chat_id = ?",
                    [old_id, new_id],
                )
                self.db.execute(
                    "UPDATE OR IGNORE subscriptions SET chat_id = ? WHERE chat_id = ?",
                    [new_id, old_id],
                )
                self.db.execute(
                    "UPDATE OR IGNORE deliveries SET chat_id = ? WHERE chat_id = ?",
                    [new_id, old_id],
                )
                self.db.execute("DELETE FROM deliveries WHERE chat_id = ?", [old_id])
                self.db.execute("DELETE FROM chats WHERE chat_id = ?", [old_id])

    # -- preferences (chat commands) ---------------------------------------------------------

    def _set(self, chat_id: int, column: str, value: Any) -> bool:
        # ``column`` is one of the names below, never user input
        with self.db.atomic():
            cursor = self.db.execute(
                f"UPDATE chats SET {column} = ? WHERE chat_id = ?", [value, chat_id]
            )
        return cursor.rowcount > 0

    def set_paused(self, chat_id: int, paused: bool) -> bool:
        """Pause or resume alerts to the chat; False when the chat is unknown."""
        return self._set(chat_id, "paused", int(paused))

    def set_alert_mode(self, chat_id: int, mode: str) -> bool:
        """``instant`` or ``digest``."""
        return self._set(chat_id, "alert_mode", mode)

    def set_link_preview(self, chat_id: int, enabled: bool | None) -> bool:
        """Link previews under alerts; None: the config's default."""
        return self._set(chat_id, "link_preview", None if enabled is None else int(enabled))

    def set_image(self, chat_id: int, size: str | None) -> bool:
        """The article's picture in alerts: large | small | off; None: the config's default."""
        return self._set(chat_id, "image", size)

    def set_template(self, chat_id: int, template: str) -> bool:
        """The parts of the chat's alerts, as a template string; "" for the default."""
        return self._set(chat_id, "template", template)

    def set_breaking_through(self, chat_id: int, enabled: bool) -> bool:
        """Breaking news at once, even during quiet hours or when the chat takes digests."""
        return self._set(chat_id, "breaking_through", int(enabled))

    def set_footer(self, chat_id: int, footer: str) -> bool:
        return self._set(chat_id, "footer", footer)

    def set_added_by(self, chat_id: int, user_id: int) -> bool:
        return self._set(chat_id, "added_by", user_id)

    def choose_language(self, chat_id: int, language: str) -> bool:
        """The language picked with /language: kept whatever a user's app says."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE chats SET language = ?, language_chosen = 1 WHERE chat_id = ?",
                [language, chat_id],
            )
        return cursor.rowcount > 0

    def note_language(self, chat_id: int, language: str) -> None:
        """The language a user's app reports; applies only until one is chosen."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE chats SET language = ? WHERE chat_id = ? AND language_chosen = 0",
                [language, chat_id],
            )

    # -- delivery settings (bot.service.settings validates; the sender and digests read) ------

    def set_digest_schedule(self, chat_id: int, every: str, at: str) -> bool:
        """``every``: hourly | daily; ``at``: "HH:MM" local time of a daily digest."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE chats SET digest_every = ?, digest_at = ? WHERE chat_id = ?",
                [every, at, chat_id],
            )
        return cursor.rowcount > 0

    def set_timezone(self, chat_id: int, zone: str) -> bool:
        return self._set(chat_id, "timezone", zone)

    def set_quiet_hours(self, chat_id: int, start: str, end: str, mode: str) -> bool:
        """Quiet from ``start`` to ``end`` ("HH:MM", local); empty strings: none."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE chats SET quiet_start = ?, quiet_end = ?, quiet_mode = ? WHERE chat_id = ?",
                [start, end, mode, chat_id],
            )
        return cursor.rowcount > 0

    def mark_digest_made(self, chat_id: int, at: datetime) -> None:
        self._set(chat_id, "last_digest_at", to_db_time(at))

    # -- forum topics Telegram refused (closed or deleted) -------------------------------------

    def note_topic_fault(self, chat_id: int, thread_id: int, reason: str) -> bool:
        """Telegram refused forum topic ``thread_id``; True when this is news (the admins
        have not been told yet)."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO topic_faults (chat_id, thread_id, reason, since) "
                "VALUES (?, ?, ?, ?)",
                [chat_id, thread_id, reason, to_db_time(utcnow())],
            )
        return cursor.rowcount > 0

    def clear_topic_fault(self, chat_id: int, thread_id: int) -> bool:
        """A send into the topic worked again (reopened): a later refusal is news again."""
        with self.db.atomic():
            cursor = self.db.execute(
                "DELETE FROM topic_faults WHERE chat_id = ? AND thread_id = ?",
                [chat_id, thread_id],
            )
        return cursor.rowcount > 0

    def topic_faults(self, chat_id: int) -> dict[int, str]:
        """The chat's refused topics: thread id -> Telegram's reason."""
        return {
            int(r["thread_id"]): r["reason"]
            for r in self.db.query(
                "SELECT thread_id, reason FROM topic_faults WHERE chat_id = ?", [chat_id]
            )
        }

    def delivery_generation(self) -> int:
        """A number that moves whenever a chat's delivery settings change (mode, digest
        schedule, time zone, quiet hours, active, paused, id), by any process (triggers
        bump it in the write's own transaction; migration m009): the sender compares it."""
        return read_generation(self.db, "delivery")

    def counts(self) -> dict[tuple[str, bool], int]:
        """How many chats of each (type, active)."""
        return {
            (r["type"], bool(r["active"])): r["n"]
            for r in self.db.query(
                "SELECT type, active, count(*) AS n FROM chats GROUP BY type, active"
            )
        }
