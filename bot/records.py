"""The records handed from one pipeline stage to the next.

Frozen dataclasses; every datetime is timezone-aware UTC.  feedparser's dicts
and python-telegram-bot's objects never leave their own modules: they are
turned into these records at the boundary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

# The longest fields an Article keeps, from a feed or from any other input (the parse
# stage and `newsalert match` clip to them; the matchers read no more than these).
MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 20_000
MAX_CONTENT_CHARS = 100_000
MAX_LINK_CHARS = 2_048
MAX_AUTHOR_CHARS = 200  # a name or two; a longer one is a feed stuffing text into it


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class FeedStatus(StrEnum):
    """A feed's health, as stored (``feeds.status``) and shown by /feeds and /feedstatus."""

    NEW = "new"  # not read yet
    OK = "ok"  # answered last time
    FAILING = "failing"  # failed last time; backing off
    BROKEN = "broken"  # failed for longer than polling.give_up_after: probed now and then
    GONE = "gone"  # 410 Gone: probed now and then
    QUIET = "quiet"  # answers, but has published nothing for far longer than usual


class DeliveryState(StrEnum):
    """Where an outbox row is (``deliveries.state``); ``storage.outbox`` describes each."""

    PENDING = "pending"
    SENDING = "sending"
    HELD = "held"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


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
    # who wrote or supplied it, as the feed says (dc:creator, <author>, JSON Feed authors):
    # often a wire service ("Reuters") when ``source`` is the publisher that ran it
    author: str = ""
    image: str = ""  # the item's picture (http/https), shown above the alert text

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
        if self.author:
            data["author"] = self.author
        if self.feed:
            data["feed"] = self.feed
        if self.image:
            data["image"] = self.image
        return data

    def replace(self, **changes: Any) -> Article:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class TopicText:
    """A topic's name and description in another language than English ("" for none)."""

    language: str
    name: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Topic:
    """A named, followable query. ``query`` uses the filter query language.

    ``name`` and ``description`` are English; ``translations`` give them in other
    languages (``[topics] ko.name``), shown by :meth:`name_in` and :meth:`description_in`."""

    id: str
    name: str
    query: str
    description: str = ""
    threshold: float = 0.0
    # a learned model that decides the topic instead of the query (bot.matching.topic_model):
    # a shipped model's name ("korea-diplomacy") or a model file's path; "" for none
    model: str = ""
    translations: tuple[TopicText, ...] = ()

    def _text(self, language: str) -> TopicText | None:
        return next((t for t in self.translations if t.language == language), None)

    def name_in(self, language: str) -> str:
        """The name in ``language`` ("ko"), the English one when it has no translation."""
        text = self._text(language)
        return text.name if text is not None and text.name else self.name

    def description_in(self, language: str) -> str:
        """The description in ``language``, the English one when it has no translation."""
        text = self._text(language)
        return text.description if text is not None and text.description else self.description


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
    """A short plain-text summary of an article.

    ``language`` is the language the text is written in ("en", "ko"), and
    ``source_language`` the article's when the summary is a translation ("" when not).
    """

    article_id: str
    text: str
    method: str = "extractive"
    language: str = "en"
    source_language: str = ""


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
    image: str = ""  # shown as the link preview, when set
    image_size: str = ""  # large | small ("" when there is no image)
    thread_id: int | None = None  # a forum topic of the chat (message_thread_id)
    button: bool = True  # the "Read" button under it (its template may leave it out)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the outbox (``storage.outbox``): an alert or a digest for a chat, what
    to send (or edit), and how far it got."""

    id: int
    chat_id: int
    article_key: int
    topic: str
    html: str
    text: str
    link: str
    state: DeliveryState
    kind: str = "alert"  # alert | digest
    disable_preview: bool = True
    attempts: int = 0
    reason: str = ""
    message_id: int | None = None
    version: int = 1  # bumped when another feed carries the story ("Also: ...")
    sent_version: int = 0  # the version Telegram has
    edit_attempts: int = 0
    story_id: int | None = None
    source: str = ""  # the article's own source (not repeated in its "Also:" line)
    created_at: datetime = field(default_factory=utcnow)
    sent_at: datetime | None = None
    image: str = ""  # the picture shown as the link preview
    image_size: str = ""  # large | small
    thread_id: int | None = None  # the forum topic it goes to
    breaking: bool = False  # its story is breaking news (alerts.breaking_*)
    priority: bool = False  # breaking news for a chat that takes it through quiet hours
    button: bool = True  # the "Read" button under it

    @property
    def needs_edit(self) -> bool:
        """Sent, and its story has grown since: the message is due for an edit."""
        return self.state == DeliveryState.SENT and self.version > self.sent_version
