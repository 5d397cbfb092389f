"""Pruning: old article text and finished deliveries go, what dedupes stays.

After ``storage.retention``:

* deliveries that are done (``sent``, ``failed``, ``skipped``) are deleted;
  any other (``pending``, or ``held`` for a digest) is never touched;
* articles lose their bulky text (summary, content) and their meaning vector but
  keep the row: its feed entry id, canonical URL and title key are what tells the
  next poll that an entry is not new, so a story a feed still lists is never
  alerted again.

Only :data:`IDENTITY_KEPT_FOR` later (a year) is the article row itself
deleted; a feed that still lists an entry that old would see it as new.

Each step works in batches, one short transaction each, so a prune of a big
database never holds the write lock for long while the bot runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from bot.records import DeliveryState, utcnow
from storage.database import to_db_time

log = logging.getLogger(__name__)

IDENTITY_KEPT_FOR = timedelta(days=365)  # beyond the retention
BATCH = 1000
PRUNE_EVERY = 6 * 3600.0  # seconds between prunes while the bot runs


def _states_sql(states: Iterable[DeliveryState]) -> str:
    """``states`` as an SQL list: "('sent', 'failed')"."""
    return "(" + ", ".join(f"'{s}'" for s in states) + ")"


_FINISHED = (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.SKIPPED)
_FINISHED_SQL = _states_sql(_FINISHED)
# any other state (pending, held, ...) is still due; named, not "NOT IN finished", so
# that the index on state finds those few rows instead of reading every delivery
_UNFINISHED_SQL = _states_sql(s for s in DeliveryState if s not in _FINISHED)
# What compaction takes out of an article: its text, and its meaning vector (1 KiB, most
# of what an identity row would keep for the year; nothing reads it after the window).
# The same expression as the partial index (m025), so that the index serves the query.
HAS_TEXT_SQL = "(summary != '' OR content != '' OR vector IS NOT NULL)"
# Articles with an alert still to send are kept whole, however old.
_HAS_PENDING = f"id IN (SELECT article_id FROM deliveries WHERE state IN {_UNFINISHED_SQL})"


@dataclass(frozen=True)
class PruneResult:
    """How many rows one prune changed."""

    deliveries_deleted: int = 0
    articles_compacted: int = 0
    articles_deleted: int = 0

    def __str__(self) -> str:
        return (
            f"{self.deliveries_deleted} finished deliveries deleted, "
            f"{self.articles_compacted} articles reduced to their identity, "
            f"{self.articles_deleted} article identities deleted"
        )


def prune(
    db: sqlite_utils.Database,
    *,
    retention: float,
    now: datetime | None = None,
    identity_kept_for: timedelta = IDENTITY_KEPT_FOR,
    batch: int = BATCH,
) -> PruneResult:
    """Prune what is older than ``retention`` seconds (see the module docstring)."""
    now = now or utcnow()
    cutoff = to_db_time(now - timedelta(seconds=retention))
    identity_cutoff = to_db_time(now - timedelta(seconds=retention) - identity_kept_for)
    unprocessed = ""
    if "processed" in db["articles"].columns_dict:
        unprocessed = " AND processed = 1"  # not yet matched: leave it to the pipeline
    deliveries = _in_batches(
        db,
        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries "
        f"WHERE state IN {_FINISHED_SQL} AND created_at < ? LIMIT ?)",
        [cutoff, batch],
    )
    compacted = _in_batches(
        db,
        "UPDATE articles SET summary = '', content = '', vector = NULL WHERE id IN "
        f"(SELECT id FROM articles WHERE first_seen < ? AND {HAS_TEXT_SQL}{unprocessed} "
        f"AND NOT {_HAS_PENDING} LIMIT ?)",
        [cutoff, batch],
    )
    deleted = _in_batches(
        db,
        "DELETE FROM articles WHERE id IN (SELECT id FROM articles "
        f"WHERE first_seen < ?{unprocessed} AND NOT {_HAS_PENDING} LIMIT ?)",
        [identity_cutoff, batch],
    )
    result = PruneResult(deliveries, compacted, deleted)
    if deliveries or compacted or deleted:
        log.info("pruned data older than %.0f days: %s", retention / 86400, result)
    return result


def _in_batches(db: sqlite_utils.Database, sql: str, params: list[Any]) -> int:
    total = 0
    while True:
        with db.atomic():
            changed = db.execute(sql, params).rowcount
        total += changed
        if changed < int(params[-1]):  # the last parameter is the LIMIT
            return total
