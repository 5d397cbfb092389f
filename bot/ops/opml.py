"""OPML (the feed-list exchange format) in and out: pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import quoteattr

from lxml import etree

from bot.errors import NewsalertError


class OPMLError(NewsalertError):
    """The file is not OPML that can be read."""


@dataclass(frozen=True, slots=True)
class OPMLFeed:
    url: str
    title: str = ""


def read_opml(data: bytes) -> list[OPMLFeed]:
    """The feeds (``outline`` elements with an ``xmlUrl``) of an OPML document, nested
    folders included, in document order, without duplicates."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise OPMLError(f"not valid XML: {e}") from None
    if root.tag != "opml":
        raise OPMLError(f"the root element is <{root.tag}>, not <opml>; is this an OPML export?")
    feeds: list[OPMLFeed] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url or url in seen:
            continue
        seen.add(url)
        feeds.append(
            OPMLFeed(url=url, title=(outline.get("title") or outline.get("text") or "").strip())
        )
    return feeds


def write_opml(
    feeds: list[OPMLFeed], *, title: str = "newsalert feeds", now: datetime | None = None
) -> str:
    """An OPML 2.0 document listing ``feeds``."""
    created = (
        f"\n    <dateCreated>{now.strftime('%a, %d %b %Y %H:%M:%S %z')}</dateCreated>"
        if now
        else ""
    )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head>\n    <title>{_text(title)}</title>{created}\n  </head>",
        "  <body>",
    ]
    for feed in feeds:
        name = feed.title or feed.url
        lines.append(
            f'    <outline type="rss" text={quoteattr(name)} title={quoteattr(name)} '
            f"xmlUrl={quoteattr(feed.url)}/>"
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
