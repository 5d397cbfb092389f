"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), which feedparser
does not read.

Only reading, and leniently: a feed without ``version`` is accepted when it
has an ``items`` list; items that are not objects are skipped; 1.0's single
``author`` and 1.1's ``authors`` are both understood. HTML stays HTML here:
the parse stage turns it into text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.errors import ParseError


@dataclass(frozen=True, slots=True)
class JsonFeedItem:
    """One item, fields as the spec names them; missing ones are empty."""

    id: str
    url: str = ""
    external_url: str = ""
    title: str = ""
    content_html: str = ""
    content_text: str = ""
    summary: str = ""
    date_published: datetime | None = None
    date_modified: datetime | None = None
    date_text: str = ""  # the raw date string, for a stable identity hash
    authors: tuple[str, ...] = ()
    image: str = ""  # ``image``, else ``banner_image``


@dataclass(frozen=True, slots=True)
class JsonFeed:
    """A JSON Feed document."""

    version: str
    title: str
    home_page_url: str
    feed_url: str
    items: tuple[JsonFeedItem, ...]


def looks_like_json(body: bytes) -> bool:
    """Whether the first non-blank byte (after a UTF-8 BOM) opens a JSON object."""
    head = body[:64].lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"{")


def parse_date(value: Any) -> datetime | None:
    """An RFC 3339 date as a UTC datetime; other common spellings through
    feedparser's date parser; None when it cannot be read."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    try:
        from feedparser.datetimes import _parse_date

        struct = _parse_date(text)
    except Exception:  # feedparser's internals: never let them break a parse
        return None
    if struct is None:
        return None
    return datetime(*struct[:6]).replace(tzinfo=UTC)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _authors(item: dict[str, Any]) -> tuple[str, ...]:
    found = item.get("authors")
    if not isinstance(found, list):
        found = [item.get("author")]
    names = []
    for author in found:
        if isinstance(author, dict):
            name = _text(author.get("name"))
            if name:
                names.append(name)
    return tuple(names)


def parse_json_feed(body: bytes | str, *, url: str = "") -> JsonFeed:
    """Read a JSON Feed. Raises :class:`ParseError` when the body is not JSON
    or not a JSON Feed."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise ParseError(url, f"{url or 'body'}: not valid JSON: {e}") from e
    except RecursionError:  # a hostile nesting depth: not a feed
        raise ParseError(url, f"{url or 'body'}: JSON nested too deeply to be a feed") from None
    if not isinstance(data, dict):
        raise ParseError(url, f"{url or 'body'}: JSON, but not a JSON Feed object")
    version = _text(data.get("version"))
    items = data.get("items")
    if "jsonfeed.org" not in version and not isinstance(items, list):
        raise ParseError(url, f"{url or 'body'}: JSON, but not a JSON Feed (no version, no items)")
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        date_text = _text(item.get("date_published")) or _text(item.get("date_modified"))
        out.append(
            JsonFeedItem(
                id=_text(item.get("id")).strip(),
                url=_text(item.get("url")).strip(),
                external_url=_text(item.get("external_url")).strip(),
                title=_text(item.get("title")),
                content_html=_text(item.get("content_html")),
                content_text=_text(item.get("content_text")),
                summary=_text(item.get("summary")),
                date_published=parse_date(item.get("date_published")),
                date_modified=parse_date(item.get("date_modified")),
                date_text=date_text,
                authors=_authors(item),
                image=(_text(item.get("image")) or _text(item.get("banner_image"))).strip(),
            )
        )
    return JsonFeed(
        version=version,
        title=_text(data.get("title")),
        home_page_url=_text(data.get("home_page_url")).strip(),
        feed_url=_text(data.get("feed_url")).strip(),
        items=tuple(out),
    )
