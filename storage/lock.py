"""One running bot per database: an exclusive ``flock`` on ``<db>.lock``, held for life.

Two ``newsalert run`` on one database would both poll and both send. The first takes the
lock and writes its pid into the file; a second finds the lock taken and refuses at once,
naming the pid. The kernel drops the lock when the process ends, however it ends (a
``kill -9`` too), so a stale lock file never blocks a restart. Commands that only read
(``feeds list``, ``doctor``) take no lock and work while the bot runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from bot.errors import StorageError


class DatabaseLock:
    """The held lock; :meth:`release` (or the process's end) gives it back."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, database: str | Path) -> DatabaseLock | None:
        """Take the lock of ``database`` (None for ``":memory:"``, which nobody shares).
        Raises :class:`StorageError` "another newsalert is running on <db> (pid N)"."""
        if str(database) == ":memory:":
            return None
        db = Path(database).expanduser().resolve()
        path = db.with_name(db.name + ".lock")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise StorageError(f"cannot create the lock file {str(path)!r}: {e.strerror}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_pid(fd)
            os.close(fd)
            pid = f"pid {holder}" if holder else "pid unknown"
            raise StorageError(
                f"another newsalert is running on {db} ({pid}); stop it first, or give this "
                "one its own storage.path"
            ) from None
        with contextlib.suppress(OSError):  # the pid is for people; the lock is what counts
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdecimal() else ""
