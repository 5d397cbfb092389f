"""Feed secrets that an older version stored: taken out once the config gives them.

Before feed content lost its feed's credentials (``bot.credentials.without_secrets`` in
``parse_feed``), a publisher that repeated our key in its links (``?api_key=K``,
``user:password@``, ``/K/`` in a path) had it stored in article, story and delivery rows.
Migration m021 could not find those: by then the database no longer held the secrets,
only the config file does, and migrations never see the config.  So the scrub runs when
the config's feeds are synced (start-up and ``/reload``, :func:`bot.pipeline.sync_config`),
once per feed: ``feeds.secrets_scrubbed`` (m023) is 0 for every feed an older version
stored and 1 for a feed added since (whose content is cleaned as it comes).

What is replaced, as the cleaning does it now:

- URL columns (:data:`URL_COLUMNS`): every value of the feed's own rows, and any value
  holding one of its secrets, becomes ``without_secrets(value, secrets)``: so a stored
  entry id is exactly the id the next poll gives the same entry, and it is not new (no
  second alert).  Under a UNIQUE index a value that is taken gets ``#dup-<rowid>``.
- Error, alert and feed content columns (:data:`BARE_COLUMNS`, :data:`CONTENT_COLUMNS`:
  titles, summaries, contents, as ``parse_feed`` cleans new ones): the credential forms
  below are removed, and each secret that is not a weak one (short, or one ordinary word:
  ``bot.credentials.masked_anywhere``), as written or %-encoded, becomes ``***`` wherever
  it is (``bot.credentials.mask_secrets``, what new content gets too).  An article whose title changes gets the ``title_key`` of the new one.
- Every other text column (user queries, chat settings): only the credential forms,
  ``user:password@`` (removed) and ``name=value`` of a credential parameter
  (``name=***``): a bare password that is a word may be part of what a person wrote.

Each round reads every table, then writes what it found in one short transaction (a row
that changed since it was read is left to the next round); the feeds are marked once a
round finds nothing, so that the scrub may run in a thread on a connection of its own
while the bot goes on writing (start-up and ``/reload``, ``bot.app.Core``).  The log
says how many values changed, never the secrets.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlite_utils

from bot.credentials import (
    MASK,
    bare_secrets,
    mask_secrets,
    public_feed_url,
    secret_values,
    secrets_of,
    without_secrets,
)
from storage.articles import title_key
from storage.migrations import unique_columns

log = logging.getLogger(__name__)

URL_COLUMNS = frozenset(
    {
        ("feeds", "moved_to"),
        ("articles", "entry_id"),
        ("articles", "canonical_url"),
        ("articles", "link"),
        ("articles", "image"),
        ("deliveries", "link"),
        ("deliveries", "image"),
        ("story_articles", "entry_id"),
    }
)
BARE_COLUMNS = frozenset(
    {
        ("feeds", "last_error"),
        ("feeds", "malformed"),
        ("deliveries", "reason"),
        ("deliveries", "html"),
        ("deliveries", "text"),
    }
)
# what feeds wrote: parse_feed cleans these in new content (text_without_secrets), and
# stories, story rows and feedback copy them
CONTENT_COLUMNS = frozenset(
    {
        ("articles", "title"),
        ("articles", "summary"),
        ("articles", "content"),
        ("articles", "author"),
        ("articles", "source"),
        ("stories", "title"),
        ("stories", "lead"),
        ("stories", "source"),
        ("story_articles", "source"),
        ("feedback", "title"),
    }
)
_MASKED = BARE_COLUMNS | CONTENT_COLUMNS
# tables whose rows name their feed: all of a scrubbed feed's URLs are cleaned there
_FEED_ROWS = frozenset({"articles", "story_articles"})
# rounds of read, then write what was found (a short transaction: the bot's own writes go
# on meanwhile), until a round finds nothing; the last reads and writes under one lock
_ROUNDS = 4


def _forms(url: str) -> list[tuple[str, str]]:
    """(text, replacement) for the credential forms of ``url``: safe in any text."""
    try:
        userinfo, params = secrets_of(urlsplit(url))
    except ValueError:
        return []
    pairs = [(f"{userinfo}@", "")] if userinfo else []
    pairs += [(f"{name}={value}", f"{name}={MASK}") for name, value in params]
    return pairs


def unscrubbed(db: sqlite_utils.Database, urls: Mapping[str, str]) -> dict[int, str]:
    """Of ``urls`` (public URL -> the config's URL with credentials), the stored feeds
    not scrubbed yet: feed id -> the config's URL."""
    found: dict[int, str] = {}
    for feed_id, url in db.execute(
        "SELECT id, url FROM feeds WHERE secrets_scrubbed = 0"
    ).fetchall():
        if url in urls:
            found[feed_id] = urls[url]
    return found


def scrub_feed_secrets(db: sqlite_utils.Database, feeds: Mapping[int, str]) -> int:
    """Take the secrets of ``feeds`` (feed id -> the config's URL with its credentials)
    out of every stored text (see the module), mark those feeds scrubbed, and return how
    many values changed.  Doing it again changes nothing."""
    if not feeds:
        return 0
    by_feed = {feed_id: secret_values(url) for feed_id, url in feeds.items()}
    secrets = [s for values in by_feed.values() for s in values]
    secrets = list(dict.fromkeys(secrets))
    forms = [pair for url in feeds.values() for pair in _forms(url)]
    needles = list(dict.fromkeys([old for old, _new in forms + bare_secrets(secrets)]))
    clean = _Cleaning(feeds, by_feed, secrets, forms, needles)
    tables = [t for t in db.table_names() if not t.startswith(("_", "sqlite_"))]
    changed = 0
    secure_delete = db.execute("PRAGMA secure_delete").fetchone()[0]
    # overwrite what is freed with zeros, so that the old texts do not stay in the file
    db.execute("PRAGMA secure_delete = ON")
    try:
        for attempt in range(_ROUNDS + 1):
            locked = attempt == _ROUNDS
            with contextlib.ExitStack() as stack:
                if locked:  # writers kept changing what was found: read and write at once
                    stack.enter_context(_write_lock(db))
                plan = [(t, *row) for t in tables for row in _plan_table(db, t, clean)]
                with db.atomic():
                    changed += sum(_update(db, *step) for step in plan)
                    if not plan or locked:
                        marks = ",".join("?" * len(feeds))
                        db.execute(
                            f"UPDATE feeds SET secrets_scrubbed = 1 WHERE id IN ({marks})",
                            [*feeds],
                        )
            if not plan:
                break
    finally:
        db.execute(f"PRAGMA secure_delete = {int(secure_delete)}")
    if changed:
        try:  # the cleaned pages into the file itself, the old ones overwritten
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
    names = ", ".join(f"{i} {public_feed_url(u)}" for i, u in sorted(feeds.items()))
    if changed:
        log.warning(
            "removed feed credentials that an older version stored from %d values (feeds %s)",
            changed,
            names,
        )
    else:
        log.info("no stored values held the credentials of feeds %s", names)
    return changed


@contextlib.contextmanager
def _write_lock(db: sqlite_utils.Database) -> Iterator[None]:
    """A transaction that holds the write lock from its start (``BEGIN IMMEDIATE``), so
    that what it reads is what it writes over (inside a transaction: that one)."""
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.rollback()
        raise
    db.execute("COMMIT")


@dataclass(frozen=True, slots=True)
class _Cleaning:
    """What the scrub looks for and how it replaces it (see scrub_feed_secrets)."""

    feeds: Mapping[int, str]
    by_feed: Mapping[int, list[str]]
    secrets: list[str]
    forms: list[tuple[str, str]]
    needles: list[str]


def _plan_table(
    db: sqlite_utils.Database, table: str, clean: _Cleaning
) -> list[tuple[int, dict[str, str | None], dict[str, str | None], set[str]]]:
    """The rows of ``table`` to change: (rowid, new values, the values they replace, the
    table's UNIQUE columns).  Only reads."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
    if "WITHOUT ROWID" in (sql or "").upper():
        return []  # generations: names and numbers
    info = db.execute("SELECT name, type FROM pragma_table_info(?)", [table]).fetchall()
    columns = [name for name, kind in info if "TEXT" in (kind or "").upper()]
    columns = [c for c in columns if (table, c) != ("feeds", "url")]
    needles, feeds = clean.needles, clean.feeds
    wheres = [f'instr("{c}", ?) > 0' for c in columns for _ in needles]
    args: list[object] = [n for _c in columns for n in needles]
    own = table in _FEED_ROWS
    if own:
        wheres.append(f"feed_id IN ({','.join('?' * len(feeds))})")
        args += list(feeds)
    if not wheres:
        return []
    select = ", ".join(f'"{c}"' for c in columns)
    extra = ", feed_id" if own else ""
    rows = db.execute(
        f'SELECT rowid{extra}, {select} FROM "{table}" WHERE {" OR ".join(wheres)}', args
    ).fetchall()
    unique = unique_columns(db, table)
    plan = []
    for row in rows:
        rowid, values = row[0], row[2:] if own else row[1:]
        own_secrets = clean.by_feed.get(row[1]) if own else None
        update: dict[str, str | None] = {}
        before: dict[str, str | None] = {}
        for column, value in zip(columns, values, strict=True):
            if not isinstance(value, str) or not value:
                continue
            new = value
            if (table, column) in URL_COLUMNS:
                if own_secrets is not None:  # exactly what parse_feed gives the feed now
                    new = without_secrets(value, own_secrets)
                if any(n in new for n in needles):
                    new = without_secrets(new, clean.secrets)
            else:
                for old, replacement in clean.forms:
                    new = new.replace(old, replacement)
                if (table, column) in _MASKED:
                    new = mask_secrets(new, clean.secrets)
            if new != value:
                update[column] = new
                before[column] = value
        if table == "articles" and "title" in update:  # the key follows its title
            old_key = dict(zip(columns, values, strict=True)).get("title_key")
            update["title_key"] = title_key(update["title"] or "") or None
            before["title_key"] = old_key
        if update:
            plan.append((rowid, update, before, unique))
    return plan


def _update(
    db: sqlite_utils.Database,
    table: str,
    rowid: int,
    values: dict[str, str | None],
    before: dict[str, str | None],
    unique: set[str],
) -> int:
    """Write ``values`` into the row if it still holds ``before`` (a writer may have
    changed it since it was read: then the next round reads it again), and return how
    many values changed.  A cleaned value under a UNIQUE index that another row has
    already (the clean form the next poll gives) gets ``#dup-<rowid>`` instead."""
    clean = dict(values)
    still = " AND ".join(f'"{c}" IS ?' for c in before)
    for attempt in range(100):
        sets = ", ".join(f'"{c}" = ?' for c in values)
        try:
            cursor = db.execute(
                f'UPDATE "{table}" SET {sets} WHERE rowid = ? AND {still}',
                [*values.values(), rowid, *before.values()],
            )
            return len(values) if cursor.rowcount else 0
        except sqlite3.IntegrityError:
            if not unique & set(values):
                raise
            mark = f"dup-{rowid}" + (f"-{attempt}" if attempt else "")
            for column in unique & set(values):
                base = clean[column] or ""
                values[column] = f"{base}{'-' if '#' in base else '#'}{mark}"
    raise sqlite3.IntegrityError(f"{table}: no unique value for row {rowid}")
