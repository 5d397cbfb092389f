"""Opening the SQLite database: WAL mode, foreign keys, migrations applied."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.errors import StorageError
from bot.records import as_utc

# The WAL file is cut back to this after a checkpoint: it keeps the size of the largest
# write ever made (a prune, a scrub, a burst of alerts) for the life of the file otherwise,
# as SQLite never shrinks it by itself.  Everyday writes stay far below it.  Not lower:
# at 16 MB bench/responsiveness.py (three 2.2 MB feeds polled every second) saw the
# event loop's longest stall at 0.14-0.64 s in 5 runs, against 0.09-0.19 s in 5 at 64 MB
# and 0.07-0.16 s in 4 without a limit (measured; why the lower limit costs that is not
# known).
WAL_SIZE_LIMIT = 64 * 1024 * 1024


IN_CHUNK = 500  # values bound in one "IN (...)": well under SQLite's limit on variables


def in_chunks(values: Sequence[Any]) -> Iterator[tuple[Sequence[Any], str]]:
    """``values`` a part at a time with that part's placeholders (``"?,?,?"``), for
    ``IN (...)`` queries over any number of values."""
    for start in range(0, len(values), IN_CHUNK):
        part = values[start : start + IN_CHUNK]
        yield part, ",".join("?" * len(part))


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
            conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
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


@dataclass(frozen=True, slots=True)
class DatabaseInspection:
    """What a read-only look at a database file found (for ``newsalert doctor``)."""

    quick_check: str  # "ok", or SQLite's description of the damage
    applied: tuple[str, ...]  # migrations applied, in order
    pending: tuple[str, ...]  # migrations this version knows and the file lacks
    known: frozenset[str]  # every migration this version knows
    articles: int | None = None  # None: no data tables yet
    deliveries: dict[str, int] = field(default_factory=dict)  # state -> rows


def inspect_database(path: str | Path) -> DatabaseInspection:
    """Open the file read-only (nothing is migrated or written) and check it: SQLite's
    quick check, the migrations, and a few counts.  Raises :class:`StorageError` when
    the file cannot be read."""
    from storage.migrations import MIGRATIONS

    known = frozenset(m.name for m in MIGRATIONS.pending(sqlite_utils.Database(memory=True)))
    try:
        conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=10)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            db = sqlite_utils.Database(conn)
            applied = tuple(m.name for m in MIGRATIONS.applied(db))
            pending = tuple(m.name for m in MIGRATIONS.pending(db))
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            articles: int | None = None
            deliveries: dict[str, int] = {}
            if {"articles", "deliveries"} <= tables:
                articles = int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
                deliveries = dict(
                    conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
                )
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise StorageError(str(e)) from e
    return DatabaseInspection(
        quick_check=verdict,
        applied=applied,
        pending=pending,
        known=known,
        articles=articles,
        deliveries=deliveries,
    )


def select_rows(
    db: sqlite_utils.Database, sql: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """The rows of a SELECT as dicts, read with one statement.

    ``db.query`` wraps every SELECT in a savepoint of its own (three statements where one
    would do), which is most of a lookup's cost on the sender's path: one per alert sent."""
    cursor = db.execute(sql, params)
    keys = [d[0] for d in cursor.description]
    return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


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
