"""Read-only figures for the operator's /stats: deliveries over a window, queue depth.

Nothing here writes; the outbox itself lives in ``storage.outbox``.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.records import DeliveryState
from storage.database import to_db_time


class ReportStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def deliveries_since(self, since: datetime) -> dict[str, int]:
        """Deliveries by state whose last event (sent, else written) is at or after ``since``."""
        return {
            r["state"]: r["n"]
            for r in self.db.query(
                "SELECT state, count(*) AS n FROM deliveries "
                "WHERE coalesce(sent_at, created_at) >= ? GROUP BY state",
                [to_db_time(since)],
            )
        }

    def queue_depth(self) -> int:
        """Deliveries still waiting to be sent."""
        row = self.db.execute(
            f"SELECT count(*) FROM deliveries WHERE state = '{DeliveryState.PENDING}'"
        ).fetchone()
        return int(row[0])

    def held_for_digests(self) -> int:
        """Alerts waiting for their chat's next digest."""
        row = self.db.execute(
            f"SELECT count(*) FROM deliveries WHERE state = '{DeliveryState.HELD}'"
        ).fetchone()
        return int(row[0])

    def articles_since(self, since: datetime) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM articles WHERE first_seen >= ?", [to_db_time(since)]
        ).fetchone()
        return int(row[0])
