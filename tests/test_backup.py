"""`newsalert db backup FILE`: SQLite's online backup, taken while the bot writes; the copy
opens, passes its integrity check and is one consistent moment of the database."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlite_utils
from click.testing import CliRunner

from bot.cli import cli
from bot.errors import StorageError
from bot.records import Alert, Article
from storage.backup import backup_database
from storage.database import open_database, schema_is_current
from storage.migrations import MIGRATIONS
from storage.store import Store

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


class Writer(threading.Thread):
    """Writes as the bot does, through its own connection: each transaction adds an article
    and its delivery together, so a consistent copy has as many of one as of the other."""

    def __init__(self, path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()
        self.transactions = 0

    def run(self) -> None:
        store = Store(open_database(self.path))
        store.chats.ensure(1)
        n = 0
        while not self.stop.is_set():
            n += 1
            with store.atomic():
                article = Article(id=f"urn:{n}", title=f"Story {n} " + "x" * 500)
                [stored] = store.articles.add_new(None, [article], now=NOW)
                store.outbox.enqueue(
                    [Alert(chat_id=1, article_key=stored.key, topic="t", html="<b>x</b>")],
                    now=NOW,
                )
            self.transactions = n
        store.close()


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the writer made no progress"
        time.sleep(0.001)


def counts(path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute("SELECT count(*) FROM articles").fetchone()[0],
            conn.execute("SELECT count(*) FROM deliveries").fetchone()[0],
        )
    finally:
        conn.close()


def test_backups_taken_during_writes_are_consistent_copies(tmp_path):
    source = tmp_path / "bot.db"
    Store.open(source).close()
    writer = Writer(source)
    writer.start()
    try:
        copies = []
        for i in range(5):
            wait_for(lambda n=writer.transactions: writer.transactions >= n + 20)  # mid-writes
            before = writer.transactions
            result = backup_database(source, tmp_path / f"copy{i}.db")
            copies.append((result, before))
    finally:
        writer.stop.set()
        writer.join(10)
    assert writer.transactions > 0
    growing = []
    for result, before in copies:
        articles, deliveries = counts(result.path)
        assert articles == deliveries  # never half a transaction
        assert articles >= before - 1
        assert result.tables["articles"] == articles
        assert result.schema == list(MIGRATIONS.applied(open_database(result.path)))[-1].name
        growing.append(articles)
        copy = open_database(result.path)  # opens as a database the bot can use
        assert schema_is_current(copy)
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # the bot's own mode
        copy.close()
    assert growing == sorted(growing) and growing[-1] > growing[0]


def test_the_copy_is_one_self_contained_file(tmp_path):
    source = tmp_path / "bot.db"
    Store.open(source).close()
    backup_database(source, tmp_path / "copy.db")
    conn = sqlite3.connect(tmp_path / "copy.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    leftovers = [p.name for p in tmp_path.iterdir() if "copy" in p.name]
    assert leftovers == ["copy.db"]  # no -wal, no temporary file


def test_backup_never_migrates_or_writes_the_source(tmp_path):
    source = tmp_path / "old.db"
    db = sqlite_utils.Database(sqlite3.connect(source))
    last = MIGRATIONS.pending(db)[-1].name
    MIGRATIONS.apply(db, stop_before=last)
    db.close()
    before = source.read_bytes()
    result = backup_database(source, tmp_path / "copy.db")
    assert source.read_bytes() == before
    copy = sqlite_utils.Database(sqlite3.connect(result.path))
    assert [m.name for m in MIGRATIONS.pending(copy)] == [last]
    copy.close()


def test_backup_refuses_to_overwrite_or_to_copy_a_missing_database(tmp_path):
    source = tmp_path / "bot.db"
    Store.open(source).close()
    (tmp_path / "copy.db").write_text("precious")
    with pytest.raises(StorageError, match="already exists"):
        backup_database(source, tmp_path / "copy.db")
    assert (tmp_path / "copy.db").read_text() == "precious"
    backup_database(source, tmp_path / "copy.db", overwrite=True)
    with pytest.raises(StorageError, match="no database"):
        backup_database(tmp_path / "missing.db", tmp_path / "other.db")
    with pytest.raises(StorageError, match="another file"):
        backup_database(source, source, overwrite=True)


def test_db_backup_command(tmp_path):
    source = tmp_path / "bot.db"
    Store.open(source).close()
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{source}"\n')
    target = tmp_path / "backups" / "bot-2024-05-01.db"
    target.parent.mkdir()
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config), "db", "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert f"to {target}" in result.output and "0 articles" in result.output
    again = runner.invoke(cli, ["--config", str(config), "db", "backup", str(target)])
    assert again.exit_code == 1
    assert "already exists" in again.output and "--force" in again.output
    forced = runner.invoke(cli, ["--config", str(config), "db", "backup", "--force", str(target)])
    assert forced.exit_code == 0


def test_db_prune_command(tmp_path):
    source = tmp_path / "bot.db"
    Store.open(source).close()
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{source}"\nretention = "7d"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "db", "prune", "--vacuum"])
    assert result.exit_code == 0, result.output
    assert "pruned: 0 finished deliveries deleted" in result.output
