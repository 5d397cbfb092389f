"""Figures for operators: /stats and the feed list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.ingest.urls import redact_url, redact_urls, url_host
from bot.records import FeedStatus, utcnow
from storage.store import Store


@dataclass(frozen=True, slots=True)
class Stats:
    feeds: dict[FeedStatus, int]  # feeds by status
    chats_active: dict[str, int]  # chat type -> active count
    chats_inactive: int
    chats_paused: int
    subscriptions: int
    last_hour: dict[str, int]  # delivery state -> count
    last_day: dict[str, int]
    queue: int
    held: int  # waiting for a digest
    articles_day: int


def stats(store: Store, *, now: datetime | None = None) -> Stats:
    """The figures of /stats."""
    now = now or utcnow()
    reports = store.reports
    feeds: dict[FeedStatus, int] = {}
    for feed in store.feeds.all():
        feeds[feed.status] = feeds.get(feed.status, 0) + 1
    active: dict[str, int] = {}
    inactive = 0
    for (kind, is_active), n in store.chats.counts().items():
        if is_active:
            active[kind] = active.get(kind, 0) + n
        else:
            inactive += n
    paused = sum(1 for c in store.chats.all() if c.paused and c.active)
    return Stats(
        feeds=feeds,
        chats_active=active,
        chats_inactive=inactive,
        chats_paused=paused,
        subscriptions=store.subscriptions.count(),
        last_hour=reports.deliveries_since(now - timedelta(hours=1)),
        last_day=reports.deliveries_since(now - timedelta(days=1)),
        queue=reports.queue_depth(),
        held=reports.held_for_digests(),
        articles_day=reports.articles_since(now - timedelta(days=1)),
    )


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed as /feeds and /feedstatus show it: ``url`` without credentials (userinfo and
    query string redacted), ``host`` its host alone."""

    name: str
    url: str
    status: FeedStatus
    host: str = ""
    last_success: datetime | None = None
    last_error: str = ""
    failures: int = 0
    next_poll: datetime | None = None
    entries: int = 0


def feed_rows(store: Store, feeds: Iterable[object]) -> list[FeedRow]:
    """The configured feeds (``config.feeds``) with their stored health, in config order."""
    rows = []
    for feed in feeds:
        url = str(getattr(feed, "url", ""))
        name = str(getattr(feed, "name", "") or "")
        state = store.feeds.get_by_url(url)
        # feed URLs can carry credentials (user:password@, ?api_key=): never shown whole
        shown, host = redact_url(url), url_host(url) or redact_url(url)
        if state is None:
            rows.append(FeedRow(name=name or host, url=shown, status=FeedStatus.NEW, host=host))
            continue
        rows.append(
            FeedRow(
                name=name or state.name or host,
                url=shown,
                host=host,
                status=state.status,
                last_success=state.last_success,
                last_error=redact_urls(state.last_error or ""),
                failures=state.consecutive_failures,
                next_poll=state.next_poll,
                entries=state.entries_seen,
            )
        )
    return rows
