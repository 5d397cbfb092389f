"""Feeds with their caching information and health."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from bot.credentials import (
    feed_key,
    has_credentials,
    lost_userinfo,
    match_keys,
    public_feed_url,
)
from bot.records import FeedStatus, utcnow
from storage.database import from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class FeedState:
    """A stored feed: where it is, its caching info for the next GET, and its health."""

    id: int
    url: str  # without credentials (bot.credentials.public_feed_url): the config keeps them
    name: str
    interval: float | None
    full_text: bool | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    status: FeedStatus
    primed: bool
    last_polled: datetime | None
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_poll: datetime | None
    entries_seen: int
    last_new_entry: datetime | None
    avg_gap: float | None = None  # smoothed seconds between new entries
    down_notified: bool = False
    first_failure_at: datetime | None = None
    origin: str = "config"  # config | cli
    moved_to: str | None = None  # fetched from here after a permanent redirect
    malformed: str | None = None  # the parser's complaint about its last body (m022)

    @property
    def fetch_url(self) -> str:
        """Where to fetch it: where it moved to, else its own URL."""
        return self.moved_to or self.url


def _feed(row: dict[str, Any]) -> FeedState:
    return FeedState(
        id=row["id"],
        url=row["url"],
        name=row["name"],
        interval=row["interval"],
        full_text=None if row["full_text"] is None else bool(row["full_text"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        status=FeedStatus(row["status"]),
        primed=bool(row["primed"]),
        last_polled=from_db_time(row["last_polled"]),
        last_success=from_db_time(row["last_success"]),
        last_error=row["last_error"],
        last_error_at=from_db_time(row["last_error_at"]),
        consecutive_failures=row["consecutive_failures"],
        next_poll=from_db_time(row["next_poll"]),
        entries_seen=row["entries_seen"],
        last_new_entry=from_db_time(row["last_new_entry"]),
        avg_gap=row.get("avg_gap"),
        down_notified=bool(row.get("down_notified")),
        first_failure_at=from_db_time(row.get("first_failure_at")),
        origin=row.get("origin") or "config",
        moved_to=row.get("moved_to"),
        malformed=row.get("malformed"),
    )


@dataclass(frozen=True, slots=True)
class NewFeed:
    """A feed for :meth:`FeedStore.upsert_many`: its URL (credentials and all) and the
    settings :meth:`FeedStore.upsert` takes."""

    url: str
    name: str = ""
    interval: float | None = None
    full_text: bool | None = None
    origin: str = "config"


class _Claims:
    """The stored feeds (id and URL) by what ``FeedStore._take_over`` compares: the URL
    itself (``***@`` of a lost ``user:password@``), and for a URL with credentials each
    key under which ``same_feed`` takes it for another spelling (``match_keys``).  Built
    with one pass over the feeds and kept up to date as rows are renamed and added."""

    def __init__(self, rows: Iterable[tuple[int, str]]) -> None:
        self.by_url: dict[str, int] = {}
        self.url_of: dict[int, str] = {}
        self.by_key: dict[str, set[int]] = {}
        for feed_id, url in rows:
            self.put(feed_id, url)

    def put(self, feed_id: int, url: str) -> None:
        """Row ``feed_id`` now has ``url`` (a new row, or a renamed one)."""
        old = self.url_of.get(feed_id)
        if old == url:
            return
        if old is not None:
            del self.by_url[old]
            for key in self._keys(old):
                self.by_key[key].discard(feed_id)
        self.url_of[feed_id] = url
        self.by_url[url] = feed_id
        for key in self._keys(url):
            self.by_key.setdefault(key, set()).add(feed_id)

    @staticmethod
    def _keys(url: str) -> list[str]:
        if not has_credentials(url):
            return []
        return [key for key, _how in match_keys(public_feed_url(url))]

    def claim(self, url: str) -> int | None:
        """The first stored feed by id that ``url`` (public, not stored yet) takes over."""
        if url in self.by_url:
            return None
        found = set(self.by_key.get(feed_key(url), ()))
        lost = self.by_url.get(lost_userinfo(url))
        if lost is not None:
            found.add(lost)
        return min(found) if found else None


class FeedStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def upsert(
        self,
        url: str,
        *,
        name: str = "",
        interval: float | None = None,
        full_text: bool | None = None,
        origin: str = "config",
    ) -> FeedState:
        """Add the feed, or update its name, interval and origin; keeps its state.
        The feed is kept by its URL without credentials, which are never stored; a feed
        whose ``user:password@`` the database gave up (``***@``, migration m021) is taken
        over by the same URL with them."""
        [found] = self.upsert_many([NewFeed(url, name, interval, full_text, origin)])
        return found

    def upsert_many(self, feeds: Iterable[NewFeed]) -> list[FeedState]:
        """:meth:`upsert` of each of ``feeds`` in turn, in one transaction; the stored
        feeds that credentialed ones may take over are looked up by key, in time linear in
        the number of feeds (not one scan of every feed per credentialed one)."""
        found: list[FeedState] = []
        claims: _Claims | None = None
        with self.db.atomic():
            for feed in feeds:
                full, url = feed.url, public_feed_url(feed.url)
                if has_credentials(full):
                    if claims is None:
                        claims = _Claims(self.db.execute("SELECT id, url FROM feeds"))
                    self._take_over(url, claims)
                self.db.execute(
                    "INSERT INTO feeds (url, name, interval, full_text, added_at, origin) "
                    "VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(url) DO UPDATE SET name = excluded.name, "
                    "interval = excluded.interval, full_text = excluded.full_text, "
                    "origin = excluded.origin",
                    [
                        url,
                        feed.name,
                        feed.interval,
                        feed.full_text,
                        to_db_time(utcnow()),
                        feed.origin,
                    ],
                )
                state = self.get_by_url(url)
                assert state is not None
                if claims is not None:
                    claims.put(state.id, state.url)  # a new row may be taken over in turn
                found.append(state)
        return found

    def _take_over(self, url: str, claims: _Claims) -> None:
        """Give ``url`` (a config feed's public URL) to the stored feed that an older
        version kept with credentials it no longer has (``***@``, or a ``***`` key) in
        another spelling of it (``same_feed``: host in capitals, a trailing ``/``): the
        first such feed by id."""
        feed_id = claims.claim(url)
        if feed_id is not None:
            self.db.execute("UPDATE feeds SET url = ? WHERE id = ?", [url, feed_id])
            claims.put(feed_id, url)

    def get(self, feed_id: int) -> FeedState | None:
        rows = list(self.db.query("SELECT * FROM feeds WHERE id = ?", [feed_id]))
        return _feed(rows[0]) if rows else None

    def get_by_url(self, url: str) -> FeedState | None:
        """The feed of ``url``, with or without its credentials."""
        rows = list(self.db.query("SELECT * FROM feeds WHERE url = ?", [public_feed_url(url)]))
        return _feed(rows[0]) if rows else None

    def all(self) -> list[FeedState]:
        return [_feed(r) for r in self.db.query("SELECT * FROM feeds ORDER BY id")]

    def last_successes(self) -> list[tuple[int, str, datetime]]:
        """(id, url, last success) of every feed that has answered, in id order: what
        ``/metrics`` shows, without building every feed's whole state."""
        rows = self.db.execute(
            "SELECT id, url, last_success FROM feeds WHERE last_success IS NOT NULL ORDER BY id"
        ).fetchall()
        return [(i, url, at) for i, url, raw in rows if (at := from_db_time(raw)) is not None]

    def remove_config_feeds_except(self, urls: set[str]) -> list[str]:
        """Drop the feeds that came from the config file and are no longer in it."""
        kept = {public_feed_url(url) for url in urls}
        gone = [
            r["url"]
            for r in self.db.query("SELECT url FROM feeds WHERE origin = 'config'")
            if r["url"] not in kept
        ]
        with self.db.atomic():
            for url in gone:
                self.db.execute("DELETE FROM feeds WHERE url = ?", [url])
        return gone

    def remove(self, url: str) -> bool:
        with self.db.atomic():
            cursor = self.db.execute("DELETE FROM feeds WHERE url = ?", [public_feed_url(url)])
        return cursor.rowcount > 0

    def set_malformed(self, feed_id: int, reason: str | None) -> bool:
        """Record what the parser said of the feed's last body (None: parsed cleanly);
        True when that changed, so that it is logged once, not at every poll."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE feeds SET malformed = ? WHERE id = ? AND malformed IS NOT ?",
                [reason, feed_id, reason],
            )
        return cursor.rowcount > 0

    def record_success(
        self,
        feed_id: int,
        *,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        new_entries: int,
        next_poll: datetime | None = None,
        url: str | None = None,
        now: datetime | None = None,
        primed: bool = True,
    ) -> None:
        """A poll that answered: store the caching info, reset the failure count.
        ``primed=False``: a first poll that could not record every entry yet (it stays a
        first poll, without alerts, until it has)."""
        now = now or utcnow()
        sets = (
            f"etag = ?, last_modified = ?, body_hash = ?, status = '{FeedStatus.OK}', "
            f"primed = {'1' if primed else 'primed'}, "
            "last_polled = ?, last_success = ?, consecutive_failures = 0, next_poll = ?, "
            "entries_seen = entries_seen + ?, first_failure_at = NULL"
        )
        params: list[Any] = [
            etag,
            last_modified,
            body_hash,
            to_db_time(now),
            to_db_time(now),
            to_db_time(next_poll),
            new_entries,
        ]
        if new_entries:
            sets += ", last_new_entry = ?"
            params.append(to_db_time(now))
            before = self.get(feed_id)
            if before is not None and before.primed and before.last_new_entry is not None:
                gap = max(1.0, (now - before.last_new_entry).total_seconds() / new_entries)
                avg = gap if before.avg_gap is None else 0.7 * before.avg_gap + 0.3 * gap
                sets += ", avg_gap = ?"
                params.append(avg)
        if url:  # a permanent redirect: fetch from there from now on (credentials: the config's)
            sets += ", moved_to = ?"
            params.append(public_feed_url(url))
        params.append(feed_id)
        with self.db.atomic():
            self.db.execute(f"UPDATE feeds SET {sets} WHERE id = ?", params)

    def record_not_modified(
        self, feed_id: int, *, next_poll: datetime | None = None, now: datetime | None = None
    ) -> None:
        now = now or utcnow()
        with self.db.atomic():
            self.db.execute(
                f"UPDATE feeds SET status = '{FeedStatus.OK}', primed = 1, last_polled = ?, last_success = ?, "
                "consecutive_failures = 0, first_failure_at = NULL, next_poll = ? WHERE id = ?",
                [to_db_time(now), to_db_time(now), to_db_time(next_poll), feed_id],
            )

    def record_failure(
        self,
        feed_id: int,
        error: str,
        *,
        status: FeedStatus = FeedStatus.FAILING,
        next_poll: datetime | None = None,
        now: datetime | None = None,
    ) -> FeedState:
        now = now or utcnow()
        with self.db.atomic():
            self.db.execute(
                "UPDATE feeds SET status = ?, last_polled = ?, last_error = ?, last_error_at = ?, "
                "consecutive_failures = consecutive_failures + 1, next_poll = ?, "
                "first_failure_at = COALESCE(first_failure_at, ?) WHERE id = ?",
                [
                    status,
                    to_db_time(now),
                    error,
                    to_db_time(now),
                    to_db_time(next_poll),
                    to_db_time(now),
                    feed_id,
                ],
            )
        found = self.get(feed_id)
        assert found is not None
        return found

    def set_status(self, feed_id: int, status: FeedStatus) -> None:
        """Set the health status."""
        with self.db.atomic():
            self.db.execute("UPDATE feeds SET status = ? WHERE id = ?", [status, feed_id])

    def set_down_notified(self, feed_id: int, notified: bool) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE feeds SET down_notified = ? WHERE id = ?", [int(notified), feed_id]
            )
