"""The records handed from one pipeline stage to the next.

Frozen dataclasses; every datetime is timezone-aware UTC.  feedparser's dicts
and python-telegram-bot's objects never leave their own modules: they are
turned into these records at the boundary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Article:
    """One normalised feed entry.

    ``id`` is the entry's stable identity inside its feed (guid/id, else the
    canonical link, else a hash of title and date).  ``summary`` and
    ``content`` are plain text once the parse stage is done with them.
    """

    id: str
    title: str
    link: str = ""
    summary: str = ""
    content: str = ""
    published: datetime | None = None
    source: str = ""
    feed: str = ""

    def to_json(self) -> dict[str, Any]:
        """The article as the JSON Lines contract of DESIGN.md spells it."""
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "summary": self.summary,
            "content": self.content,
            "link": self.link,
            "published": self.published.isoformat() if self.published else None,
            "source": self.source,
        }
        if self.feed:
            data["feed"] = self.feed
        return data

    def replace(self, **changes: Any) -> Article:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Topic:
    """A named, followable query. ``query`` uses the filter query language."""

    id: str
    name: str
    query: str
    description: str = ""
    threshold: float = 0.0
    # a learned model that decides the topic instead of the query (bot.topic_model):
    # a shipped model's name ("korea-diplomacy") or a model file's path; "" for none
    model: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    """The decision of one topic (or ad-hoc query) on one article."""

    article_id: str
    topic: str
    matched: bool
    score: float = 0.0
    why: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.article_id,
            "topic": self.topic,
            "matched": self.matched,
            "score": round(self.score, 4),
            "why": list(self.why),
        }


@dataclass(frozen=True, slots=True)
class Summary:
    """A short plain-text summary of an article."""

    article_id: str
    text: str
    method: str = "extractive"


@dataclass(frozen=True, slots=True)
class Alert:
    """A rendered message for one chat: Telegram HTML, ready to send."""

    chat_id: int
    article_key: int
    topic: str
    html: str
    text: str = ""
    link: str = ""
    disable_preview: bool = False


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the outbox: an alert for a chat and its state."""

    id: int
    chat_id: int
    article_key: int
    topic: str
    html: str
    text: str
    link: str
    state: str  # pending | sent | failed | skipped
    attempts: int = 0
    reason: str = ""
    message_id: int | None = None
    created_at: datetime = field(default_factory=utcnow)
    sent_at: datetime | None = None
