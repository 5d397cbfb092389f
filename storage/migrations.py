"""The schema, as an ordered set of small migrations (sqlite-utils ``Migrations``).

Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

import hashlib
import sqlite3
from urllib.parse import urlsplit

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.credentials import (
    has_credentials,
    lost_userinfo,
    public_feed_url,
    secrets_of,
    twin_fragment,
)

MIGRATIONS = Migrations("newsalert")


@MIGRATIONS()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL DEFAULT '',
            interval REAL,
            full_text INTEGER,
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            status TEXT NOT NULL DEFAULT 'new',
            primed INTEGER NOT NULL DEFAULT 0,
            last_polled TEXT,
            last_success TEXT,
            last_error TEXT,
            last_error_at TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            next_poll TEXT,
            entries_seen INTEGER NOT NULL DEFAULT 0,
            last_new_entry TEXT,
            added_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
            entry_id TEXT NOT NULL,
            canonical_url TEXT,
            title_key TEXT,
            title TEXT NOT NULL,
            link TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '',
            content TEXT NOT NULL DEFAULT '',
            published TEXT,
            source TEXT NOT NULL DEFAULT '',
            first_seen TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX idx_articles_feed_entry ON articles(feed_id, entry_id)")
    db.execute("CREATE INDEX idx_articles_url ON articles(canonical_url)")
    db.execute("CREATE INDEX idx_articles_title_key ON articles(title_key)")
    db.execute("CREATE INDEX idx_articles_first_seen ON articles(first_seen)")
    db.execute(
        """
        CREATE TABLE chats (
            chat_id INTEGER PRIMARY KEY,
            type TEXT NOT NULL DEFAULT 'private',
            title TEXT NOT NULL DEFAULT '',
            username TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT 'en',
            active INTEGER NOT NULL DEFAULT 1,
            inactive_reason TEXT NOT NULL DEFAULT '',
            footer TEXT NOT NULL DEFAULT '',
            link_preview INTEGER,
            summary_chars INTEGER,
            from_config INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE topics (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            query TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            threshold REAL NOT NULL DEFAULT 0
        )
        """
    )
    db.execute(
        """
        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
            topic_id TEXT NOT NULL,
            query TEXT NOT NULL DEFAULT '',
            from_config INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            UNIQUE (chat_id, topic_id, query)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(chat_id) ON UPDATE CASCADE,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            topic TEXT NOT NULL,
            html TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            link TEXT NOT NULL DEFAULT '',
            disable_preview INTEGER NOT NULL DEFAULT 1,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            reason TEXT NOT NULL DEFAULT '',
            message_id INTEGER,
            created_at TEXT NOT NULL,
            next_attempt_at TEXT,
            sent_at TEXT,
            UNIQUE (chat_id, article_id)
        )
        """
    )
    db.execute("CREATE INDEX idx_deliveries_state ON deliveries(state, id)")


@MIGRATIONS()
def m002_feed_rhythm(db: sqlite_utils.Database) -> None:
    # avg_gap: smoothed seconds between new entries (adaptive polling, "quiet" detection);
    # down_notified: the operator was told the feed is down (told again when it recovers).
    db.execute("ALTER TABLE feeds ADD COLUMN avg_gap REAL")
    db.execute("ALTER TABLE feeds ADD COLUMN down_notified INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE feeds ADD COLUMN first_failure_at TEXT")


@MIGRATIONS()
def m003_article_processed(db: sqlite_utils.Database) -> None:
    # processed = 0: stored but not yet matched and written to the outbox. A crash between
    # the two steps leaves it 0, and the next pass picks it up, so no article is lost.
    db.execute("ALTER TABLE articles ADD COLUMN processed INTEGER NOT NULL DEFAULT 1")
    db.execute("CREATE INDEX idx_articles_unprocessed ON articles(processed) WHERE processed = 0")


@MIGRATIONS()
def m004_chat_preferences(db: sqlite_utils.Database) -> None:
    # Set with chat commands: /pause, /settings (instant or digest), /language, and who
    # attached a channel from a private chat; /filter narrows (AND) or widens (OR) a topic.
    db.execute("ALTER TABLE chats ADD COLUMN paused INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE chats ADD COLUMN alert_mode TEXT NOT NULL DEFAULT 'instant'")
    db.execute("ALTER TABLE chats ADD COLUMN language_chosen INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE chats ADD COLUMN added_by INTEGER")
    db.execute("ALTER TABLE subscriptions ADD COLUMN narrow TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE subscriptions ADD COLUMN widen TEXT NOT NULL DEFAULT ''")


@MIGRATIONS()
def m005_deliveries_by_article(db: sqlite_utils.Database) -> None:
    # Deleting an old article cascades to its deliveries (retention): without an index on the
    # child key every such delete would scan the whole deliveries table.
    db.execute("CREATE INDEX idx_deliveries_article ON deliveries(article_id)")


@MIGRATIONS()
def m006_feed_origin(db: sqlite_utils.Database) -> None:
    # origin: 'config' (listed in the config file, removed when it leaves the file) or
    # 'cli' (added with `newsalert feeds add` or an OPML import, kept until removed).
    db.execute("ALTER TABLE feeds ADD COLUMN origin TEXT NOT NULL DEFAULT 'config'")


@MIGRATIONS()
def m007_delivery_stories_digests(db: sqlite_utils.Database) -> None:
    # Deliveries become one per chat and *story* (the same story from several feeds is sent
    # once; later copies bump ``version`` and the sent message is edited to "Also: ...").
    # kind 'digest': a delivery that carries a digest message; the alerts in it are 'held'
    # with digest_id pointing at it until it is sent.  sent_version: the version Telegram has.
    db.execute("ALTER TABLE deliveries ADD COLUMN story_id INTEGER")
    db.execute("ALTER TABLE deliveries ADD COLUMN kind TEXT NOT NULL DEFAULT 'alert'")
    db.execute("ALTER TABLE deliveries ADD COLUMN digest_id INTEGER")
    db.execute("ALTER TABLE deliveries ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE deliveries ADD COLUMN sent_version INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE deliveries ADD COLUMN edit_attempts INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE deliveries SET sent_version = version WHERE state = 'sent'")
    db.execute(
        "CREATE UNIQUE INDEX idx_deliveries_story ON deliveries(chat_id, story_id) "
        "WHERE story_id IS NOT NULL"
    )
    db.execute("CREATE INDEX idx_deliveries_chat ON deliveries(chat_id, state, id)")
    db.execute(
        "CREATE INDEX idx_deliveries_edits ON deliveries(id) "
        "WHERE state = 'sent' AND version > sent_version"
    )
    db.execute(
        "CREATE INDEX idx_deliveries_digest ON deliveries(digest_id) WHERE digest_id IS NOT NULL"
    )
    db.execute(
        """
        CREATE TABLE stories (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            lead TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            first_seen TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_stories_first_seen ON stories(first_seen)")
    db.execute(
        """
        CREATE TABLE story_articles (
            id INTEGER PRIMARY KEY,
            story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
            article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
            feed_id INTEGER,
            entry_id TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            seen_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX idx_story_articles_entry ON story_articles(feed_id, entry_id)")
    db.execute("CREATE INDEX idx_story_articles_article ON story_articles(article_id)")
    db.execute("CREATE INDEX idx_story_articles_story ON story_articles(story_id)")
    # Per-chat delivery settings: digest schedule, time zone, quiet hours.  alert_mode
    # (m004) says instant or digest; digest_every says how often.
    db.execute("ALTER TABLE chats ADD COLUMN digest_every TEXT NOT NULL DEFAULT 'daily'")
    db.execute("ALTER TABLE chats ADD COLUMN digest_at TEXT NOT NULL DEFAULT '08:00'")
    db.execute("ALTER TABLE chats ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC'")
    db.execute("ALTER TABLE chats ADD COLUMN quiet_start TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE chats ADD COLUMN quiet_end TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE chats ADD COLUMN quiet_mode TEXT NOT NULL DEFAULT 'hold'")
    db.execute("ALTER TABLE chats ADD COLUMN last_digest_at TEXT")


@MIGRATIONS()
def m008_feed_moved_to(db: sqlite_utils.Database) -> None:
    # moved_to: where a feed moved by a permanent redirect; it is fetched from there while
    # its url (as the config or the operator wrote it) stays its identity.
    db.execute("ALTER TABLE feeds ADD COLUMN moved_to TEXT")


@MIGRATIONS()
def m009_generations(db: sqlite_utils.Database) -> None:
    # Generation numbers of the state others cache: ``subscriptions`` (the matcher's index:
    # every subscription, and a chat's active/paused/id) and ``delivery`` (what the sender
    # reads of a chat: its mode, digest schedule, time zone, quiet hours, active, paused).
    # Triggers bump them in the transaction of the write itself, whoever writes (the bot,
    # the CLI, another process), so a reader compares one number and reloads when it moved.
    db.execute(
        "CREATE TABLE generations (name TEXT PRIMARY KEY, value INTEGER NOT NULL DEFAULT 0) "
        "WITHOUT ROWID"
    )
    db.execute("INSERT INTO generations (name, value) VALUES ('subscriptions', 0), ('delivery', 0)")
    bump_subscriptions = "UPDATE generations SET value = value + 1 WHERE name = 'subscriptions';"
    bump_delivery = "UPDATE generations SET value = value + 1 WHERE name = 'delivery';"
    for event in ("INSERT", "UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER subscriptions_{event.lower()}_generation AFTER {event} "
            f"ON subscriptions BEGIN {bump_subscriptions} END"
        )
    db.execute(
        "CREATE TRIGGER chats_matching_generation AFTER UPDATE ON chats "
        "WHEN OLD.chat_id IS NOT NEW.chat_id OR OLD.active IS NOT NEW.active "
        f"OR OLD.paused IS NOT NEW.paused BEGIN {bump_subscriptions} END"
    )
    db.execute(
        "CREATE TRIGGER chats_delete_generation AFTER DELETE ON chats "
        f"BEGIN {bump_subscriptions} {bump_delivery} END"
    )
    settings = (
        "chat_id",
        "active",
        "paused",
        "alert_mode",
        "digest_every",
        "digest_at",
        "timezone",
        "quiet_start",
        "quiet_end",
        "quiet_mode",
    )
    moved = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in settings)
    db.execute(
        f"CREATE TRIGGER chats_delivery_generation AFTER UPDATE ON chats WHEN {moved} "
        f"BEGIN {bump_delivery} END"
    )


@MIGRATIONS()
def m010_article_vectors(db: sqlite_utils.Database) -> None:
    # vector: what the article means (bot.matching.vectors: title + lead, float16, 1 KiB),
    # made once when it is first processed; NULL for articles from before, or when the
    # model is off.  A story keeps its first article's vector to group reworded copies.
    db.execute("ALTER TABLE articles ADD COLUMN vector BLOB")
    db.execute("ALTER TABLE stories ADD COLUMN vector BLOB")


@MIGRATIONS()
def m011_feedback(db: sqlite_utils.Database) -> None:
    # What a chat taught with the 👍/👎 buttons under its alerts: the vote, the topic the
    # alert came for ('' for the chat's own filters), and the article's title and vector, so
    # that later articles close in meaning are judged by it (bot.matching.feedback).  Kept
    # when the article is pruned; goes with the chat (and moves with a migrated group).
    db.execute(
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
            topic TEXT NOT NULL DEFAULT '',
            article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
            vote INTEGER NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            vector BLOB,
            created_at TEXT NOT NULL,
            UNIQUE (chat_id, topic, article_id)
        )
        """
    )
    db.execute("CREATE INDEX idx_feedback_chat ON feedback(chat_id, topic)")


@MIGRATIONS()
def m012_article_pictures(db: sqlite_utils.Database) -> None:
    # image: the item's picture (media:content, media:thumbnail, an image enclosure, JSON
    # Feed image, og:image); chats.image: large | small | off (NULL: alerts.image); a
    # delivery keeps the picture and its size, the link preview Telegram is asked for.
    db.execute("ALTER TABLE articles ADD COLUMN image TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE chats ADD COLUMN image TEXT")
    db.execute("ALTER TABLE deliveries ADD COLUMN image TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE deliveries ADD COLUMN image_size TEXT NOT NULL DEFAULT ''")


@MIGRATIONS()
def m013_forum_topics(db: sqlite_utils.Database) -> None:
    # thread_id: the forum topic (message_thread_id) a subscription posts into (NULL: the
    # chat itself, General in a forum); chats.thread_id: a configured channel's topic; a
    # delivery keeps where it goes.  topic_faults: a topic Telegram refused (closed or gone),
    # whose admins were told once; cleared when a send there works again.
    db.execute("ALTER TABLE subscriptions ADD COLUMN thread_id INTEGER")
    db.execute("ALTER TABLE chats ADD COLUMN thread_id INTEGER")
    db.execute("ALTER TABLE deliveries ADD COLUMN thread_id INTEGER")
    db.execute(
        """
        CREATE TABLE topic_faults (
            chat_id INTEGER NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
            thread_id INTEGER NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            since TEXT NOT NULL,
            PRIMARY KEY (chat_id, thread_id)
        )
        """
    )


@MIGRATIONS()
def m014_article_author(db: sqlite_utils.Database) -> None:
    # author: the byline or wire the feed names (dc:creator, author, JSON Feed authors), so
    # an alert credits "Reuters via The Straits Times".
    db.execute("ALTER TABLE articles ADD COLUMN author TEXT NOT NULL DEFAULT ''")


@MIGRATIONS()
def m015_breaking_news(db: sqlite_utils.Database) -> None:
    # breaking_at: when enough outlets carried the story quickly enough (alerts.breaking_*);
    # chats.breaking_through: the chat gets breaking stories at once even in quiet hours or
    # when it takes digests; deliveries.priority = 1: such a row, which may pass rows waiting
    # for quiet hours to end.
    db.execute("ALTER TABLE stories ADD COLUMN breaking_at TEXT")
    db.execute("ALTER TABLE chats ADD COLUMN breaking_through INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE deliveries ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS()
def m016_alert_templates(db: sqlite_utils.Database) -> None:
    # template: the parts of this chat's alerts and their order ("title, summary, button";
    # '' the default); a delivery keeps whether it has the "Read" button.
    db.execute("ALTER TABLE chats ADD COLUMN template TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE deliveries ADD COLUMN button INTEGER NOT NULL DEFAULT 1")


@MIGRATIONS()
def m017_story_passages(db: sqlite_utils.Database) -> None:
    # passage: the story's e5 vector (bot.matching.passages, float16), made only when a
    # later article comes close enough for it to decide (bot.ingest.stories); NULL until
    # then, and for the stories stored before.
    db.execute("ALTER TABLE stories ADD COLUMN passage BLOB")


@MIGRATIONS()
def m018_feedback_passages(db: sqlite_utils.Database) -> None:
    # passage: the rated article's e5 vector (bot.matching.passages, float16, 768 bytes),
    # the sharper one the votes judge by (bot.matching.feedback); NULL for votes from
    # before, which go on judging by their USE vector.
    db.execute("ALTER TABLE feedback ADD COLUMN passage BLOB")


@MIGRATIONS()
def m019_deliveries_by_story(db: sqlite_utils.Database) -> None:
    # the alerts of a story, without scanning every delivery: whether a close story has any
    # (the pipeline makes e5 vectors only where grouping changes an alert), and its edits
    # ("Also: ...") and breaking promotion
    db.execute(
        "CREATE INDEX idx_deliveries_story_id ON deliveries(story_id) WHERE story_id IS NOT NULL"
    )


@MIGRATIONS()
def m020_deliveries_waiting(db: sqlite_utils.Database) -> None:
    # The outbox's work list keeps a chat's order: a pending row goes only when no earlier
    # pending row of its chat waits for a later time (a retry, quiet hours).  With only
    # (chat_id, state, id) to go on, that check read every earlier pending row of the chat,
    # so a drain of k rows of one chat cost k^2; the waiting rows, found by their time,
    # are few.
    db.execute(
        "CREATE INDEX idx_deliveries_waiting ON deliveries(chat_id, next_attempt_at) "
        "WHERE state = 'pending'"
    )


def _feed_secrets(url: str) -> tuple[list[tuple[str, str]], list[str]]:
    """What removes ``url``'s credentials from a text: (text, replacement) pairs for the
    credential forms, safe in any text (its ``userinfo@``, each ``name=value`` of a
    credential parameter), and the bare secrets (the password, each credential value) long
    enough not to be found by chance, to replace only in URL and error columns (a bare
    username, or a password that is a word, may be part of a title or a query)."""
    # the same credentials as public_feed_url removes from feeds.url: what is masked there
    # is masked in the copies
    try:
        userinfo, params = secrets_of(urlsplit(url))
    except ValueError:
        return [], []
    pairs: list[tuple[str, str]] = []
    bare: list[str] = []
    if userinfo:
        pairs.append((f"{userinfo}@", ""))
        _user, colon, password = userinfo.partition(":")
        if colon and password:
            bare.append(password)
    for name, value in params:
        pairs.append((f"{name}={value}", f"{name}=***"))
        bare.append(value)
    return pairs, [secret for secret in bare if len(secret) >= 8]


# the columns (at m021) that hold URLs or error texts, where a bare secret is replaced too
_URL_COLUMNS = frozenset(
    {
        ("feeds", "last_error"),
        ("feeds", "moved_to"),
        ("articles", "entry_id"),
        ("articles", "canonical_url"),
        ("articles", "link"),
        ("articles", "image"),
        ("deliveries", "link"),
        ("deliveries", "reason"),
        ("deliveries", "image"),
        ("story_articles", "entry_id"),
    }
)


def unique_columns(db: sqlite_utils.Database, table: str) -> set[str]:
    """The columns of ``table`` under a UNIQUE index (or a primary key that has one)."""
    columns: set[str] = set()
    for _seq, name, unique, *_rest in db.execute(f'PRAGMA index_list("{table}")').fetchall():
        if unique:
            columns |= {row[2] for row in db.execute(f'PRAGMA index_info("{name}")').fetchall()}
    return columns


def _rewrite_unique(
    db: sqlite_utils.Database,
    table: str,
    column: str,
    replacements: list[tuple[str, str]],
) -> None:
    """Apply ``replacements`` to a column under a UNIQUE index row by row: a row whose
    cleaned value is taken (old code resolved relative guids against the URL with
    credentials, so a feed may hold an entry id with and without them) keeps a unique
    value without credentials instead: the row that already has the cleaned value keeps
    it (the one the next poll produces), the other gets ``#dup-<rowid>``."""
    olds = [old for old, _new in replacements]
    where = " OR ".join(f'instr("{column}", ?) > 0' for _ in olds)
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
    keys = ["rowid"]
    if "WITHOUT ROWID" in sql.upper():
        info = db.execute(f'PRAGMA table_info("{table}")').fetchall()
        keys = [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]]
    select = ", ".join(f'"{k}"' if k != "rowid" else k for k in keys)
    match = " AND ".join(f'"{k}" = ?' if k != "rowid" else "rowid = ?" for k in keys)
    rows = db.execute(f'SELECT {select}, "{column}" FROM "{table}" WHERE {where}', olds)
    for number, (*key, value) in enumerate(rows.fetchall(), 1):
        old_value = value
        for old, new in replacements:
            value = value.replace(old, new)
        mark = key[0] if keys == ["rowid"] else number
        sep = "-" if "#" in value else "#"
        digest = hashlib.sha256(old_value.encode()).hexdigest()
        candidates = (
            value,
            f"{value}{sep}dup-{mark}",
            f"sha256:{digest}",
            f"sha256:{digest}-{mark}",
        )
        for candidate in candidates:
            try:
                db.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE {match}', [candidate, *key])
            except sqlite3.IntegrityError:
                continue
            break


@MIGRATIONS()
def m021_feed_urls_without_credentials(db: sqlite_utils.Database) -> None:
    # A feed is kept by its URL without credentials (bot.credentials.public_feed_url): the
    # config file keeps them, the fetcher puts them back in memory.  Each feed keeps its id,
    # state and articles.  Two stored URLs that are the same without their credentials stay
    # two feeds: the first (a URL that had none, else the lowest id) gets the plain URL, the
    # others "#2", "#3", ... in id order (bot.credentials.twin_fragment, never sent to the
    # server; what the config loader advises for such twins), listed by `feeds list`.
    # The credentials are also removed from every other text column where they were copied
    # (relative article links resolved against a URL with userinfo, error texts, ...): the
    # credential forms anywhere, a bare secret only in URL and error columns (_URL_COLUMNS),
    # and row by row under a UNIQUE index, so that two values that become one never fail it.
    # A feed added outside the config (`feeds add`, origin "cli") had its credentials only
    # here: one with a user:password@ keeps "***@" in their place (bot.credentials.
    # lost_userinfo), so that it is not fetched without them and says what to write in the
    # config, whose URL then takes it over (FeedStore.upsert).
    rows = db.execute("SELECT id, url, origin FROM feeds ORDER BY id").fetchall()
    outside = {feed_id for feed_id, url, origin in rows if origin == "cli" and "@" in url}
    rows = [(feed_id, url) for feed_id, url, _origin in rows]
    secret = [(feed_id, url) for feed_id, url in rows if has_credentials(url)]
    if not secret:
        return
    # overwrite what is freed with zeros, so that the old texts do not stay in the file
    secure_delete = db.execute("PRAGMA secure_delete").fetchone()[0]
    db.execute("PRAGMA secure_delete = ON")
    taken = {url for _feed_id, url in rows if not has_credentials(url)}
    for feed_id, url in secret:
        public = public_feed_url(url)
        if feed_id in outside and "@" in urlsplit(url).netloc:
            public = lost_userinfo(public)
        rank, named = 1, public
        while named in taken:
            rank += 1
            named = public + twin_fragment(public, rank)
        public = named
        taken.add(public)
        db.execute("UPDATE feeds SET url = ? WHERE id = ?", [public, feed_id])
    forms: list[tuple[str, str]] = []
    bare: list[tuple[str, str]] = []
    for _feed_id, url in secret:
        pairs, secrets = _feed_secrets(url)
        forms += pairs
        bare += [(s, "***") for s in secrets]
    for table in db.table_names():
        if table.startswith(("_", "sqlite_")):
            continue
        unique = unique_columns(db, table)
        for column, kind in db.execute(
            "SELECT name, type FROM pragma_table_info(?)", [table]
        ).fetchall():
            if "TEXT" not in kind.upper() or (table, column) == ("feeds", "url"):
                continue
            replacements = forms + (bare if (table, column) in _URL_COLUMNS else [])
            if not replacements:
                continue
            if column in unique:
                _rewrite_unique(db, table, column, replacements)
                continue
            for old, new in replacements:
                db.execute(
                    f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                    f'WHERE instr("{column}", ?) > 0',
                    [old, new, old],
                )
    db.execute(f"PRAGMA secure_delete = {int(secure_delete)}")


@MIGRATIONS()
def m022_feed_malformed(db: sqlite_utils.Database) -> None:
    # malformed: the parser's complaint about the feed's last body (feedparser's bozo:
    # "line 8: unclosed CDATA section; 2 items read"), NULL while it parses cleanly;
    # shown by `feeds list`, logged once when it changes.
    db.execute("ALTER TABLE feeds ADD COLUMN malformed TEXT")


@MIGRATIONS()
def m023_feed_secrets_scrubbed(db: sqlite_utils.Database) -> None:
    # secrets_scrubbed: whether the feed's credentials (from the config, which migrations
    # never see) have been taken out of what an older version stored from its content
    # (storage.scrub, run when the config is synced).  0 for every feed stored so far, 1
    # for a feed added from now on: its content loses them as it comes (parse_feed).
    db.execute("ALTER TABLE feeds ADD COLUMN secrets_scrubbed INTEGER NOT NULL DEFAULT 1")
    db.execute("UPDATE feeds SET secrets_scrubbed = 0")


@MIGRATIONS()
def m024_story_member_passages(db: sqlite_utils.Database) -> None:
    # passage: the e5 vector (bot.matching.passages, float16) of an article that joined a
    # story after its first report, made when it or a later article needed it
    # (bot.ingest.stories); NULL until then, and for the links stored before (their
    # vectors are made again when next needed, as they were after every restart).
    db.execute("ALTER TABLE story_articles ADD COLUMN passage BLOB")


@MIGRATIONS()
def m025_indices_for_pruning(db: sqlite_utils.Database) -> None:
    # storage.retention's work grew with what it keeps, not with what it prunes: deleting
    # an old article looked for its votes (feedback.article_id, ON DELETE SET NULL) by
    # reading every vote; and each batch of compaction read past every article already
    # reduced to its identity (a year of them) to find the few that still had text (or a
    # vector: storage.retention.HAS_TEXT_SQL, the same expression, or the index is unused).
    db.execute("CREATE INDEX idx_feedback_article ON feedback(article_id)")
    db.execute(
        "CREATE INDEX idx_articles_with_text ON articles(first_seen) "
        "WHERE (summary != '' OR content != '' OR vector IS NOT NULL)"
    )
