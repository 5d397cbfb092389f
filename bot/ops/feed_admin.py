"""Managing feeds from the command line: list, add, remove, check, OPML import/export.

Core functions over the store; ``bot.cli`` only parses arguments and prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.config.loader import check_url
from bot.errors import ConfigError, NewsalertError
from bot.ingest.fetch import Fetcher, fetch_source
from bot.ingest.parse import parse_feed
from bot.ops.opml import OPMLFeed, read_opml, write_opml
from bot.records import utcnow
from storage.feeds import FeedState
from storage.store import Store


@dataclass(frozen=True, slots=True)
class FeedCheck:
    url: str
    ok: bool
    title: str = ""
    articles: int = 0
    final_url: str = ""
    error: str = ""


async def check_feed(fetcher: Fetcher, url: str) -> FeedCheck:
    """Fetch and parse ``url`` once, without storing anything."""
    try:
        result = await fetch_source(url, fetcher)
        parsed = parse_feed(result.body, url=result.final_url or url, headers=result.headers)
    except NewsalertError as e:
        return FeedCheck(url=url, ok=False, error=str(e))
    return FeedCheck(
        url=url,
        ok=True,
        title=parsed.title,
        articles=len(parsed.articles),
        final_url=result.permanent_url or "",
    )


def validate_feed_url(url: str) -> str:
    """The URL, checked; raises ConfigError with a message for a person."""
    return check_url("url", url, allow_file=True)


async def add_feed(
    store: Store,
    fetcher: Fetcher,
    url: str,
    *,
    name: str = "",
    interval: float | None = None,
    verify: bool = True,
) -> tuple[FeedState | None, FeedCheck | None]:
    """Add a feed (kept until removed).  With ``verify`` it must answer with a feed
    first; when it does not, nothing is added and the check says why."""
    url = validate_feed_url(url)
    check = None
    if verify:
        check = await check_feed(fetcher, url)
        if not check.ok:
            return None, check
        name = name or check.title
    existing = store.feeds.get_by_url(url)
    origin = existing.origin if existing else "cli"
    return store.feeds.upsert(url, name=name, interval=interval, origin=origin), check


def import_opml(store: Store, data: bytes) -> tuple[list[str], list[str]]:
    """Add every feed of an OPML document; returns (added, skipped with reasons)."""
    added, skipped = [], []
    for feed in read_opml(data):
        try:
            url = validate_feed_url(feed.url)
        except ConfigError as e:
            skipped.append(f"{feed.url}: {e.problem}")
            continue
        if store.feeds.get_by_url(url) is not None:
            skipped.append(f"{url}: already listed")
            continue
        store.feeds.upsert(url, name=feed.title, origin="cli")
        added.append(url)
    return added, skipped


def export_opml(store: Store, *, extra: Sequence[tuple[str, str]] = ()) -> str:
    """Every stored feed, plus ``extra`` (url, name) pairs not stored yet, as OPML."""
    feeds = [OPMLFeed(url=f.url, title=f.name) for f in store.feeds.all()]
    known = {f.url for f in feeds}
    feeds += [OPMLFeed(url=url, title=name) for url, name in extra if url not in known]
    return write_opml(feeds, now=utcnow())
