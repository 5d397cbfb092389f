"""Managing feeds from the command line: list, add, remove, check, OPML import/export.

Core functions over the store; ``bot.cli`` only parses arguments and prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.config.loader import check_url
from bot.config.model import Config
from bot.credentials import feed_keys, has_credentials, match_feed, public_feed_url
from bot.errors import ConfigError, NewsalertError
from bot.ingest.fetch import Fetcher, fetch_source
from bot.ingest.parse import parse_feed
from bot.ingest.urls import same_feed
from bot.ops.opml import OPMLFeed, read_opml, write_opml
from bot.records import utcnow
from bot.text import redact_url
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


CREDENTIALS_REFUSED = (
    "carries credentials (user:password@ or a parameter such as ?api_key=); newsalert "
    "never stores credentials in its database, so a feed that needs them goes in the config "
    'file: [[feeds]] url = "..." (a ${VARIABLE} in the URL takes them from the environment)'
)


def refuse_credentials(url: str) -> str:
    """``url``, unless it carries credentials: a feed added outside the config file has
    nowhere to keep them (raises ConfigError saying where it goes instead)."""
    if has_credentials(url):
        raise ConfigError("url", f"{redact_url(url)} {CREDENTIALS_REFUSED}")
    return url


def feed_url(source: str, *, must_exist: bool = True) -> str:
    """``source`` as a feed URL: an existing local file (a plain path, as `feeds check` and
    `parse` take) becomes its absolute ``file://`` URL, so it is found from anywhere.
    ``must_exist=False`` (`feeds remove`): a plain path the file of which is gone too."""
    source = source.strip()
    if not source:  # "" would be read as the current folder
        raise ConfigError("url", "no URL given; write the feed's http(s):// URL or its file's path")
    if "://" not in source:
        path = Path(source).expanduser()
        if (
            not must_exist
            and not path.is_dir()
            and not source.startswith(("http:", "https:", "file:"))
        ):
            return path.resolve().as_uri()
        if path.is_dir():
            raise ConfigError("url", f"{source!r} is a folder; give the feed file in it")
        if path.is_file():
            return path.resolve().as_uri()
        if source and not source.startswith(("http:", "https:", "file:")):
            raise ConfigError(
                "url", f"{source!r} is neither an http(s):// URL nor an existing file"
            )
    return validate_feed_url(source)


async def add_feed(
    store: Store,
    fetcher: Fetcher,
    url: str,
    *,
    name: str = "",
    interval: float | None = None,
    verify: bool = True,
) -> tuple[FeedState | KnownFeed | None, FeedCheck | None]:
    """Add a feed (kept until removed).  With ``verify`` it must answer with a feed
    first; when it does not, nothing is added and the check says why.  A feed added
    already (``same_feed``: its address in another case, or with a trailing ``/``) is
    kept as it is; only an explicit ``name`` or ``interval`` changes it."""
    url = refuse_credentials(feed_url(url))
    known = find_feed(store, url)
    if known is not None:
        return _update_known(store, known, name=name, interval=interval), None
    check = None
    if verify:
        check = await check_feed(fetcher, url)
        if not check.ok:
            return None, check
        name = name or check.title
    return store.feeds.upsert(url, name=name, interval=interval, origin="cli"), check


@dataclass(frozen=True, slots=True)
class KnownFeed:
    """A feed that `feeds add` found listed already, and what the call changed of it."""

    feed: FeedState
    how: str  # "" (the same address) | "trailing /" (see ``same_feed``)
    changed: tuple[str, ...] = ()  # "name", "interval"


def find_feed(store: Store, url: str) -> KnownFeed | None:
    """The stored feed that ``url`` names, in any spelling ``same_feed`` accepts."""
    match = same_feed(url, [f.url for f in store.feeds.all()])
    if match is None:
        return None
    feed = store.feeds.get_by_url(match[0])
    return KnownFeed(feed=feed, how=match[1]) if feed is not None else None


def _update_known(
    store: Store, known: KnownFeed, *, name: str, interval: float | None
) -> KnownFeed:
    feed = known.feed
    changed = []
    if name and name != feed.name:
        changed.append("name")
    if interval is not None and interval != feed.interval:
        changed.append("interval")
    if not changed:
        return known
    updated = store.feeds.upsert(
        feed.url,
        name=name or feed.name,
        interval=feed.interval if interval is None else interval,
        full_text=feed.full_text,
        origin=feed.origin,
    )
    return KnownFeed(feed=updated, how=known.how, changed=tuple(changed))


def import_opml(
    store: Store,
    data: bytes,
    *,
    config: Config | None = None,
) -> tuple[list[str], list[str]]:
    """Add every feed of an OPML document; returns (added, skipped with reasons).
    The feeds of the config file (``config``) are skipped: they stay the file's."""
    added, skipped = [], []
    # the stored feeds by key, once (not a scan of every feed per entry): kept up to date
    known = feed_keys(f.url for f in store.feeds.all())
    for feed in read_opml(data):
        try:
            url = validate_feed_url(feed.url)
        except ConfigError as e:
            skipped.append(f"{redact_url(feed.url)}: {e.problem}")
            continue
        if config is not None and config.lists_feed(url):
            skipped.append(f"{redact_url(url)}: already in {Path(config.source).name}")
            continue
        if match_feed(url, known) is not None:  # in any spelling same_feed accepts
            skipped.append(f"{redact_url(url)}: already listed")
            continue
        if has_credentials(url):
            skipped.append(f"{redact_url(url)} {CREDENTIALS_REFUSED}")
            continue
        stored = store.feeds.upsert(url, name=feed.title, origin="cli")
        known.update(feed_keys([stored.url]))
        added.append(url)
    return added, skipped


def export_opml(store: Store | None, *, extra: Sequence[tuple[str, str]] = ()) -> str:
    """Every stored feed (none without a ``store``), plus ``extra`` (url, name) pairs not
    stored yet, as OPML; every URL without its credentials (``***`` in their place)."""
    stored = store.feeds.all() if store is not None else []
    feeds = [OPMLFeed(url=f.url, title=f.name) for f in stored]
    known = {f.url for f in feeds}
    feeds += [
        OPMLFeed(url=public_feed_url(url), title=name)
        for url, name in extra
        if public_feed_url(url) not in known
    ]
    return write_opml(feeds, now=utcnow())
