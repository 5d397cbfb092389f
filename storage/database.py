"""Opening the SQLite database: WAL mode, foreign keys, migrations applied."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import sqlite_utils

from bot.errors import StorageError
from bot.records import as_utc


def open_database(path: str | Path, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open (or create) the database at ``path``, or in memory for ``":memory:"``.

    The connection is opened with ``check_same_thread=False`` so that work can
    move to a thread with ``asyncio.to_thread``; newsalert still uses one
    connection from one task at a time.
    """
    from storage.migrations import MIGRATIONS

    target = str(path)
    if target != ":memory:":
        parent = Path(target).expanduser().resolve().parent
        if not parent.is_dir():
            raise StorageError(
                f"cannot open the database {target!r}: the folder {str(parent)!r} does not exist"
            )
    try:
        conn = sqlite3.connect(target, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA foreign_keys = ON")
        if target != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        db = sqlite_utils.Database(conn)
        if migrate:
            MIGRATIONS.apply(db)
    except sqlite3.DatabaseError as e:
        raise StorageError(f"cannot open the database {target!r}: {e}") from e
    return db


def schema_is_current(db: sqlite_utils.Database) -> bool:
    """True when every migration has been applied."""
    from storage.migrations import MIGRATIONS

    return not MIGRATIONS.pending(db)


def read_generation(db: sqlite_utils.Database, name: str) -> int:
    """The generation number ``name`` (``subscriptions`` or ``delivery``): one lookup by
    primary key in a two-row table."""
    row = db.execute("SELECT value FROM generations WHERE name = ?", [name]).fetchone()
    return int(row[0]) if row else 0


def to_db_time(value: datetime | None) -> str | None:
    """A datetime as stored: ISO 8601 in UTC, sortable as text."""
    return as_utc(value).isoformat(timespec="microseconds") if value else None


def from_db_time(value: str | None) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if value else None
