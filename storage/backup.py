"""``newsalert db backup FILE``: a consistent copy of the database while the bot runs.

SQLite's online backup API copies the database as of one moment (one read
transaction; in WAL mode the bot keeps writing meanwhile).  The copy is
written beside the target under a temporary name, checked, switched to the
plain rollback journal (one self-contained file), and only then renamed into
place, so a backup that fails half-way never leaves a broken FILE behind.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.errors import StorageError


@dataclass(frozen=True)
class BackupResult:
    """Where the copy went, its size, and the migration it is at."""

    path: Path
    size: int
    tables: dict[str, int]
    schema: str


def backup_database(
    source: str | Path, target: str | Path, *, overwrite: bool = False
) -> BackupResult:
    """Copy the database at ``source`` to ``target`` with SQLite's online backup.

    Never writes to ``source`` (no migration, no journal change).  Raises
    :class:`StorageError` with what to do when the source cannot be read, the
    target exists (unless ``overwrite``), or the copy fails its integrity check.
    """
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise StorageError(f"no database at {str(source)!r}; check storage.path in the config")
    if target.exists() and not overwrite:
        raise StorageError(f"{str(target)!r} already exists; choose a new name or pass --force")
    if target.resolve() == source.resolve():
        raise StorageError("the backup must go to another file than the database itself")
    folder = target.resolve().parent
    if not folder.is_dir():
        raise StorageError(f"the folder {str(folder)!r} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _copy(source, tmp)
        tables, schema = _check(tmp)
        os.replace(tmp, target)
    except sqlite3.Error as e:
        raise StorageError(f"backup of {str(source)!r} failed: {e}") from e
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return BackupResult(path=target, size=target.stat().st_size, tables=tables, schema=schema)


def _copy(source: Path, target: Path) -> None:
    # Read-only on the source: the bot's database is never changed by a backup.
    src = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True, timeout=30.0)
    dst = sqlite3.connect(target)
    try:
        # pages=-1: the whole copy in one step, within one read transaction, so it is one
        # moment of the database; a stepwise copy restarts whenever the bot writes.
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode = DELETE")
        dst.commit()
    finally:
        dst.close()
        src.close()


def _check(path: Path) -> tuple[dict[str, int], str]:
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise StorageError(f"the copy failed its integrity check: {verdict}")
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        tables = {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        schema = ""
        if "_sqlite_migrations" in names:
            row = conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id DESC").fetchone()
            schema = row[0] if row else ""
        return tables, schema
    finally:
        conn.close()
