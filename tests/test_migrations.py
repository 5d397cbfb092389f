"""Upgrading keeps the data: a database left at every earlier schema version (the state after
each shipped migration) is filled, migrated to the current schema, and still holds its rows."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
import sqlite_utils

from bot.records import Article
from storage.database import open_database, schema_is_current
from storage.migrations import MIGRATIONS
from storage.store import Store

T = "2024-05-01T08:00:00.000000+00:00"
TITLE = "US and South Korea discuss North Korea's denuclearisation"

# One row per table, as an older version would have written it. Only the columns that exist
# at a given schema version are written; any other required column gets a plain value.
ROWS: dict[str, list[dict[str, Any]]] = {
    "feeds": [
        {
            "id": 1,
            "url": "https://www.straitstimes.com/news/asia/rss.xml",
            "name": "The Straits Times: Asia",
            "interval": 600.0,
            "etag": '"abc123"',
            "last_modified": "Wed, 01 May 2024 08:00:00 GMT",
            "status": "ok",
            "primed": 1,
            "last_success": T,
            "entries_seen": 20,
            "added_at": T,
        }
    ],
    "articles": [
        {
            "id": 1,
            "feed_id": 1,
            "entry_id": "https://www.straitstimes.com/asia/us-south-korea-talks",
            "canonical_url": "https://www.straitstimes.com/asia/us-south-korea-talks",
            "title_key": "us and south korea discuss north korea s denuclearisation",
            "title": TITLE,
            "link": "https://www.straitstimes.com/asia/us-south-korea-talks",
            "summary": "SEOUL (Reuters) - Talks on denuclearisation.",
            "content": "SEOUL (Reuters) - The US and South Korea held talks.",
            "published": T,
            "source": "Reuters",
            "first_seen": T,
        }
    ],
    "chats": [
        {
            "chat_id": -1001234567890,
            "type": "channel",
            "title": "Korea News",
            "username": "korea_news",
            "footer": "Join @korea_news and get the latest breaking news delivered to you.",
            "from_config": 1,
            "created_at": T,
        },
        {"chat_id": 42, "type": "private", "title": "", "language": "ko", "created_at": T},
    ],
    "topics": [{"id": "korea-diplomacy", "name": "Korea diplomacy", "query": "@north-korea"}],
    "subscriptions": [
        {"id": 1, "chat_id": -1001234567890, "topic_id": "korea-diplomacy", "created_at": T},
        {"id": 2, "chat_id": 42, "topic_id": "query", "query": '"north korea"', "created_at": T},
    ],
    "deliveries": [
        {
            "id": 1,
            "chat_id": -1001234567890,
            "article_id": 1,
            "topic": "korea-diplomacy",
            "html": f"<b>{TITLE}</b>",
            "state": "sent",
            "attempts": 1,
            "message_id": 77,
            "created_at": T,
            "sent_at": T,
        },
        {
            "id": 2,
            "chat_id": 42,
            "article_id": 1,
            "topic": "query",
            "html": f"<b>{TITLE}</b>",
            "state": "pending",
            "created_at": T,
        },
    ],
}


def migration_names() -> list[str]:
    return [m.name for m in MIGRATIONS.pending(sqlite_utils.Database(memory=True))]


def fill(db: sqlite_utils.Database) -> dict[str, list[dict[str, Any]]]:
    """Insert ROWS into the tables that exist; returns what was written, per table."""
    written: dict[str, list[dict[str, Any]]] = {}
    for table, rows in ROWS.items():
        if not db[table].exists():
            continue
        columns = {c.name: c for c in db[table].columns}
        required = _required(db, table)
        for row in rows:
            data = {k: v for k, v in row.items() if k in columns}
            for name in required - set(data):
                data[name] = 0 if columns[name].type.upper() in ("INTEGER", "REAL") else "x"
            db[table].insert(data)
            written.setdefault(table, []).append(data)
    return written


def _required(db: sqlite_utils.Database, table: str) -> set[str]:
    info = db.execute(f"PRAGMA table_info({table})").fetchall()
    # cid, name, type, notnull, default, pk
    return {r[1] for r in info if r[3] and r[4] is None and not r[5]}


def _pk(table: str) -> str:
    return "chat_id" if table == "chats" else "id"


@pytest.mark.parametrize("stop_before", [*migration_names(), None])
def test_data_written_at_every_earlier_schema_survives_the_upgrade(tmp_path, stop_before):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(sqlite3.connect(path))
    MIGRATIONS.apply(old, stop_before=stop_before)
    written = fill(old)
    old.conn.commit()
    old.close()

    db = open_database(path)  # what `newsalert run` does on start: migrate
    assert schema_is_current(db)
    for table, rows in written.items():
        for row in rows:
            key = _pk(table)
            stored = db[table].get(row[key])
            assert {k: stored[k] for k in row} == row, table
    names = [m.name for m in MIGRATIONS.applied(db)]
    assert names == migration_names()  # each applied once, in order
    if "articles" in written:
        _check_the_store_still_works(Store(db))
    db.close()


def _check_the_store_still_works(store: Store) -> None:
    article = Article(
        id=ROWS["articles"][0]["entry_id"],
        title=TITLE,
        link=ROWS["articles"][0]["link"],
    )
    # The old row still dedupes: the same entry from the same feed is not new.
    assert store.articles.add_new(1, [article]) == []
    feed = store.feeds.get(1)
    assert feed is not None and feed.etag == '"abc123"' and feed.primed
    assert store.chats.get(-1001234567890).footer.startswith("Join @korea_news")  # type: ignore[union-attr]
    assert {s.topic_id for s in store.subscriptions.active()} == {"korea-diplomacy", "query"}
    assert store.outbox.counts() == {"sent": 1, "pending": 1}
    assert [d.id for d in store.outbox.due()] == [2]


def test_a_fresh_database_gets_every_migration_once(tmp_path):
    db = open_database(tmp_path / "new.db")
    db.close()
    db = open_database(tmp_path / "new.db")  # a second start changes nothing
    assert [m.name for m in MIGRATIONS.applied(db)] == migration_names()
    db.close()
