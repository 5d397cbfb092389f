"""A feed URL's credentials (``user:password@``, ``?api_key=``) are shown to nobody: not in
/feeds (any user), not in /feedstatus (operators), not in the logs, not in `doctor`."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.ingest.urls import redact_url, redact_urls, url_host
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers import TOKEN, bot_process, config_head

PASSWORD = "s3cretPassw0rd"
API_KEY = "K3yValue12345"
OPERATOR = 42


def test_urls_lose_userinfo_and_query_values():
    url = f"https://reader:{PASSWORD}@news.example:8443/rss?api_key={API_KEY}&x=1"
    assert redact_url(url) == "https://***@news.example:8443/rss?api_key=***&x=1"
    assert url_host(url) == "news.example:8443"
    text = f"feed {url} failed: HTTP 500 (see {url})"
    assert PASSWORD not in redact_urls(text) and API_KEY not in redact_urls(text)
    assert (
        redact_urls("plain https://news.example/a/b stays")
        == "plain https://news.example/a/b stays"
    )


def test_redacted_urls_keep_harmless_values_and_hide_every_secret():
    """Only the values of credential parameters, and configured secrets under any name or
    in the path, are hidden: ``?id=42`` is what tells an operator which feed it is."""
    from bot.ops.logs import add_secret

    assert redact_url("https://news.example/rss?id=42&edition=asia") == (
        "https://news.example/rss?id=42&edition=asia"
    )
    for name in ("token", "key", "api_key", "apikey", "secret", "password", "pass", "sig",
                 "signature", "auth", "access_token", "X-Amz-Signature", "subscription-key"):  # fmt: skip
        assert redact_url(f"https://x.example/rss?{name}=abc&id=1") == (
            f"https://x.example/rss?{name}=***&id=1"
        ), name
    assert (
        redact_url("https://x.example/rss?keywords=korea") == "https://x.example/rss?keywords=korea"
    )
    # advice keeps its placeholders; a bare value that may be a key does not show
    advice = "https://USER:${FEED_PASSWORD}@x.example/rss?api_key=${FEED_KEY}"
    assert redact_url(advice) == advice
    assert redact_url("https://x.example/rss?Zm9vYmFyYmF6") == "https://x.example/rss?***"
    secret = "Un1queC0nfiguredValue"
    add_secret(secret)  # a configured secret: hidden whatever the parameter's name
    assert redact_url(f"https://x.example/{secret}/rss?u={secret}&id=1") == (
        "https://x.example/***/rss?u=***&id=1"
    )


def test_feeds_feedstatus_logs_and_doctor_never_show_feed_credentials(tmp_path):
    with FakeBotAPI.in_thread(token=TOKEN) as api, FeedServer.in_thread() as feeds:
        feeds.fault("/feed.xml", "status", code=500)
        url = feeds.url("/feed.xml").replace("http://", f"http://reader:{PASSWORD}@")
        url += f"?api_key={API_KEY}"
        config = tmp_path / "config.toml"
        config.write_text(
            config_head(api, tmp_path / "bot.db", admins=(OPERATOR,))
            + f"""[polling]
jitter = 0
[[feeds]]
url = "{url}"
interval = "1s"
"""
        )
        env = {**os.environ, "NEWSALERT_TELEGRAM_TOKEN": TOKEN}
        bot = bot_process(config, "-v", env=env)
        try:
            api.wait_for(lambda: feeds.hits("/feed.xml") >= 2, timeout=60)  # failed twice
            api.inject_message(5, "/feeds", user_id=5)
            api.inject_message(OPERATOR, "/feedstatus", user_id=OPERATOR)
            [listing] = api.wait_for_messages(5, 1, timeout=20)
            [status] = api.wait_for_messages(OPERATOR, 1, timeout=20)
            doctor = subprocess.run(
                [sys.executable, "-m", "bot", "--config", str(config), "doctor"],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
            )
            check = subprocess.run(
                [sys.executable, "-m", "bot", "--config", str(config), "feeds", "check", url],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
            )
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
        finally:
            if bot.poll() is None:
                bot.kill()
        out, err = bot.communicate()
    assert f"127.0.0.1:{feeds.port}" in listing["text"]
    assert "HTTP 500" in status["text"]
    assert "HTTP 500" in doctor.stdout + doctor.stderr
    assert "feed" in err  # the failures were logged ...
    for text in (listing["text"], status["text"], out + err, doctor.stdout + doctor.stderr,
                 check.stdout + check.stderr):  # fmt: skip
        assert PASSWORD not in text and API_KEY not in text, text[-2000:]


def test_the_feeds_commands_never_show_feed_credentials(tmp_path):
    """A feed with credentials cannot be added from the command line (the database keeps
    none: it goes in the config file); the commands never show them either way."""
    from bot.ops.opml import OPMLFeed, write_opml

    url = f"https://reader:{PASSWORD}@news.example/rss?api_key={API_KEY}"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "bot.db"}"\n')
    opml = tmp_path / "in.opml"
    opml.write_text(write_opml([OPMLFeed(url, ""), OPMLFeed(url.replace("https", "ftp"), "")]))

    def feeds(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "feeds", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout + done.stderr

    outputs = [
        feeds("add", "--no-check", url),
        feeds("import", str(opml)),  # refused too, and one that is not a feed URL
        feeds("list"),
        feeds("remove", url),
    ]
    config.write_text(config.read_text() + f'[[feeds]]\nurl = "{url}"\n')
    outputs += [feeds("add", "--no-check", url), feeds("list"), feeds("remove", url)]
    refused, imported, listed, removed = outputs[:4]
    assert "not added" in refused and "carries credentials" in refused
    assert "config file" in refused and "[[feeds]]" in refused
    assert "0 feeds added, 2 skipped" in imported and "carries credentials" in imported
    assert "news.example" not in listed and "no feed" in removed
    assert "already in" in outputs[4] and "news.example" in outputs[5]
    assert "listed in" in outputs[6]
    for text in outputs:
        assert PASSWORD not in text and API_KEY not in text, text


# -- the database keeps no feed credential ---------------------------------------------------

CHANNEL = -1001234567890


def assert_no_secrets(db_path, *secrets: str) -> None:
    """Neither any value of any table nor the bytes of the SQLite file (and its -wal, when
    there is one) hold any of ``secrets``."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert "feeds" in tables and "articles" in tables
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    for secret in secrets:
                        assert secret not in text, (table, text)
    finally:
        conn.close()
    for path in (db_path, db_path.with_name(db_path.name + "-wal")):
        if path.exists():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, path


def _volcano_bot(api, tmp_path, host, query=""):
    """A bot whose one feed, at ``host``, takes a password and a key from the environment
    (``query`` after them), alerting the channel to volcano stories."""
    config = tmp_path / "config.toml"
    config.write_text(
        config_head(api, tmp_path / "bot.db")
        + f"""[polling]
jitter = 0
[fetch]
full_text = false
[[feeds]]
url = "http://reader:{PASSWORD}@{host}/feed.xml?api_key=${{FEED_KEY}}{query}"
interval = "1s"
[[topics]]
id = "volcanoes"
name = "Volcanoes"
query = "volcano OR eruption"
[[channels]]
chat_id = {CHANNEL}
topics = ["volcanoes"]
"""
    )
    env = {**os.environ, "NEWSALERT_TELEGRAM_TOKEN": TOKEN, "FEED_KEY": API_KEY}
    return bot_process(config, "-v", env=env)


def test_a_running_bot_fetches_with_the_credentials_and_stores_none(tmp_path):
    """A real `run`: the feed server gets the password (Basic auth) and the key (query, from
    ${FEED_KEY} in the config), also after the feed moved for good; the alert goes out; the
    SQLite file holds neither, not even in the relative links resolved against the feed."""
    import base64
    import sqlite3

    from tests.helpers import ERUPTION, QUIET_FEED, alerts_to, rss

    basic = "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
    with FakeBotAPI.in_thread(token=TOKEN) as api, FeedServer.in_thread() as feeds:
        feeds.fault("/feed.xml", "redirect", code=301, to=f"/moved.xml?api_key={API_KEY}&id=42")
        feeds.set("/moved.xml", rss(QUIET_FEED, site=""))  # relative links
        host = f"127.0.0.1:{feeds.port}"
        bot = _volcano_bot(api, tmp_path, host, "&id=42")
        try:
            api.wait_for(lambda: feeds.hits("/moved.xml") >= 2, timeout=60)  # primed
            feeds.set("/moved.xml", rss([*QUIET_FEED, ("eruption-1", *ERUPTION)], site=""))
            api.wait_for(lambda: alerts_to(api, CHANNEL), timeout=60)
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
        finally:
            if bot.poll() is None:
                bot.kill()
        out, err = bot.communicate()
        requests = list(feeds.requests)
    assert bot.returncode == 0, err[-2000:]
    [first, *later] = [r for r in requests if r.path.startswith(("/feed.xml", "/moved.xml"))]
    assert first.path == f"/feed.xml?api_key={API_KEY}&id=42"
    assert first.headers.get("Authorization") == basic
    assert later and all(r.path == f"/moved.xml?api_key={API_KEY}&id=42" for r in later)
    assert all(r.headers.get("Authorization") == basic for r in later)  # same origin: kept
    [alert] = alerts_to(api, CHANNEL)
    assert f'href="http://{host}/eruption-1"' in alert["text"]
    assert PASSWORD not in out + err and API_KEY not in out + err
    conn = sqlite3.connect(tmp_path / "bot.db")
    [(url, moved_to)] = conn.execute("SELECT url, moved_to FROM feeds").fetchall()
    conn.close()
    assert url == f"http://{host}/feed.xml?api_key=***&id=42"
    assert moved_to == f"http://{host}/moved.xml?api_key=***&id=42"
    assert_no_secrets(tmp_path / "bot.db", PASSWORD, API_KEY)


def test_the_stored_url_keeps_the_feed_apart_but_not_its_secrets():
    from bot.credentials import (
        has_credentials,
        is_credential_name,
        public_feed_url,
        secrets_known,
        with_credentials,
    )

    url = f"https://reader:{PASSWORD}@news.example/rss?api_key={API_KEY}&id=42&sig="
    public = public_feed_url(url)
    assert public == "https://news.example/rss?api_key=***&id=42&sig="
    assert public_feed_url(url.replace("id=42", "id=43")) != public  # two feeds
    assert with_credentials(public, url) == url and secrets_known(url, url)
    elsewhere = with_credentials("https://elsewhere.example/rss?api_key=***", url)
    assert elsewhere == url  # another origin gets no secret: the config's URL instead
    assert has_credentials(url) and not has_credentials("https://news.example/rss?id=42")
    assert not secrets_known("https://news.example/new?token=fresh", url)
    for name in ("key", "api_key", "apikey", "apiKey", "X-Api-Key", "token", "access_token",
                 "auth", "password", "secret", "sig", "signature", "client_secret",
                 "subscription-key", "X-Amz-Credential", "authToken"):  # fmt: skip
        assert is_credential_name(name), name
    for name in ("id", "q", "keywords", "lang", "category", "page"):
        assert not is_credential_name(name), name


def test_config_feed_urls_take_credentials_from_the_environment():
    import pytest

    from bot.config.loader import config_from_dict
    from bot.errors import ConfigError

    feed = {"url": "https://reader:${FEED_PASSWORD}@news.example/rss?api_key=${FEED_KEY}"}
    config = config_from_dict(
        {"feeds": [feed]}, env={"FEED_PASSWORD": PASSWORD, "FEED_KEY": API_KEY}
    )
    assert config.feeds[0].url == f"https://reader:{PASSWORD}@news.example/rss?api_key={API_KEY}"
    with pytest.raises(ConfigError) as missing:
        config_from_dict({"feeds": [feed]}, env={"FEED_PASSWORD": PASSWORD})
    assert "feeds[0].url" in str(missing.value) and "FEED_KEY" in str(missing.value)
    assert PASSWORD not in str(missing.value)
    # two feeds that differ only by their credentials would be one row in the database
    twins = [
        {"url": f"https://a:{PASSWORD}@news.example/rss"},
        {"url": "https://b:x@news.example/rss"},
    ]
    with pytest.raises(ConfigError) as same:
        config_from_dict({"feeds": twins}, env={})
    assert "feeds[1].url" in str(same.value) and "apart from its credentials" in str(same.value)
    assert PASSWORD not in str(same.value)
    twins[1]["url"] += "#second"  # a fragment tells them apart (never sent)
    assert len(config_from_dict({"feeds": twins}, env={}).feeds) == 2


def test_the_migration_removes_stored_credentials_and_keeps_every_feed(tmp_path):
    """A database from before m021 with credentialed feed URLs: each feed keeps its id,
    state and articles; two that are the same without credentials stay two feeds; the
    config's URL then maps onto the stripped row."""
    import sqlite3

    import sqlite_utils

    from bot.config.loader import config_from_dict
    from bot.pipeline import sync_config
    from storage.database import open_database
    from storage.migrations import MIGRATIONS
    from storage.store import Store

    other_password, other_key = "0therPassw0rd", "0therKeyValue99"
    alice = f"https://alice:{PASSWORD}@news.example/private.rss?token={API_KEY}"
    bob = f"https://bob:{other_password}@news.example/private.rss?token={other_key}"
    plain = "https://news.example/rss?id=42"
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(sqlite3.connect(path))
    MIGRATIONS.apply(old, stop_before="m021_feed_urls_without_credentials")
    t = "2024-05-01T08:00:00.000000+00:00"
    for feed_id, url in ((1, alice), (2, bob), (3, plain)):
        old["feeds"].insert(
            {
                "id": feed_id,
                "url": url,
                "added_at": t,
                "etag": f'"e{feed_id}"',
                "primed": 1,
                "status": "failing",
                "last_error": f"http: {url}: HTTP 500",
                "moved_to": url.replace("private.rss", "new.rss"),
            }
        )
        old["articles"].insert(
            {
                "id": feed_id,
                "feed_id": feed_id,
                "entry_id": f"a{feed_id}",
                "title": "Story",
                "link": url.split("?")[0].replace("private.rss", "a/1"),
                "first_seen": t,
            }
        )
    old.conn.commit()
    old.close()

    db = open_database(path)
    store = Store(db)
    rows = {f.id: f for f in store.feeds.all()}
    assert rows[1].url == "https://news.example/private.rss?token=***"
    assert rows[2].url == "https://news.example/private.rss?token=***#2"  # kept apart
    assert rows[3].url == plain
    assert [rows[i].etag for i in (1, 2, 3)] == ['"e1"', '"e2"', '"e3"'] and rows[2].primed
    assert rows[1].moved_to == "https://news.example/new.rss?token=***"
    assert [a["feed_id"] for a in db["articles"].rows] == [1, 2, 3]
    assert db["articles"].get(1)["link"] == "https://news.example/a/1"
    # the config (credentials in it) maps onto the stripped rows, state and all
    feeds = [{"url": alice}, {"url": bob + "#2"}, {"url": plain}]
    config = config_from_dict({"feeds": feeds, "storage": {"path": str(path)}}, env={})
    assert [f.id for f in sync_config(store, config)] == [1, 2, 3]  # nothing new
    assert store.feeds.get_by_url(alice).etag == '"e1"'  # type: ignore[union-attr]
    db.close()
    assert_no_secrets(path, PASSWORD, API_KEY, other_password, other_key)
    (tmp_path / "config.toml").write_text(f'[storage]\npath = "{path}"\n')
    listing = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(tmp_path / "config.toml"), "feeds", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "https://news.example/private.rss?token=***#2" in listing  # what to write


async def test_a_feed_whose_credentials_are_nowhere_says_where_they_go(tmp_path):
    """A feed an older version stored with its key (kept by m021 without it) is not fetched
    with "***" for a key: its error says to list it in the config file, which then works."""
    from bot.config.loader import config_from_dict
    from bot.ingest.fetch import Fetcher
    from bot.pipeline import Pipeline
    from storage.database import open_database
    from storage.store import Store
    from tests.helpers import QUIET_FEED, rss

    async with FeedServer() as server, Fetcher() as fetcher:
        server.set("/feed.xml", rss(QUIET_FEED))
        url = server.url("/feed.xml") + f"?api_key={API_KEY}"
        store = Store(open_database(tmp_path / "bot.db"))
        feed = store.feeds.upsert(url, origin="cli")
        config = config_from_dict({"storage": {"path": str(tmp_path / "bot.db")}}, env={})
        pipeline = Pipeline(store, config, fetcher=fetcher)
        result = await pipeline.poll(feed)
        assert result.status == "error" and "config file" in (result.error or "")
        assert server.hits("/feed.xml") == 0
        pipeline.reconfigure(
            config_from_dict({"feeds": [{"url": url}], "storage": {"path": "x.db"}}, env={})
        )
        result = await pipeline.poll(store.feeds.get(feed.id))  # type: ignore[arg-type]
        assert result.status == "primed", result
        assert server.requests[-1].path == f"/feed.xml?api_key={API_KEY}"
        store.close()


def _database_before_m021(path, feed_url):
    import sqlite3

    import sqlite_utils

    from storage.migrations import MIGRATIONS

    old = sqlite_utils.Database(sqlite3.connect(path))
    MIGRATIONS.apply(old, stop_before="m021_feed_urls_without_credentials")
    old["feeds"].insert({"id": 1, "url": feed_url, "added_at": "2024-05-01T08:00:00+00:00"})
    old["chats"].insert({"chat_id": 7, "created_at": "2024-05-01T08:00:00+00:00"})
    return old


def test_the_migration_keeps_apart_entry_ids_that_differ_only_by_credentials(tmp_path):
    """Old code resolved relative guids against the URL with its userinfo, so a feed can
    hold an entry id with the credentials and the same id without: the migration must not
    fail on the UNIQUE (feed_id, entry_id) indexes; the row that already has the clean id
    keeps it (the next poll produces it: no new alert), the other a unique marker."""
    from storage.database import open_database

    secret = "s3cretpassword"
    path = tmp_path / "old.db"
    old = _database_before_m021(path, f"https://alice:{secret}@example.com/rss")
    t = "2024-05-01T08:00:00+00:00"
    old["stories"].insert({"id": 1, "first_seen": t})
    for article_id, entry in ((1, f"https://alice:{secret}@example.com/a"), (2, "https://example.com/a")):  # fmt: skip
        old["articles"].insert(
            {"id": article_id, "feed_id": 1, "entry_id": entry, "title": "A", "first_seen": t}
        )
        old["story_articles"].insert(
            {"id": article_id, "story_id": 1, "feed_id": 1, "entry_id": entry, "seen_at": t}
        )
        old["deliveries"].insert(
            {
                "id": article_id,
                "chat_id": 7,
                "article_id": article_id,
                "topic": "x",
                "html": f"<a href='{entry}'>A</a>",
                "link": entry,
                "created_at": t,
            }
        )
    for sub_id, entry in ((1, f"https://alice:{secret}@example.com/a"), (2, "https://example.com/a")):  # fmt: skip
        old["subscriptions"].insert(
            {"id": sub_id, "chat_id": 7, "topic_id": "t", "query": entry, "created_at": t}
        )
    old.conn.commit()
    old.close()

    db = open_database(path)  # runs m021: no IntegrityError
    subscriptions = {r["id"]: r["query"] for r in db["subscriptions"].rows}
    assert subscriptions == {1: "https://example.com/a#dup-1", 2: "https://example.com/a"}
    articles = {r["id"]: r["entry_id"] for r in db["articles"].rows}
    assert articles == {1: "https://example.com/a#dup-1", 2: "https://example.com/a"}
    stories = {r["id"]: r["entry_id"] for r in db["story_articles"].rows}
    assert stories == {1: "https://example.com/a#dup-1", 2: "https://example.com/a"}
    deliveries = {r["id"]: (r["article_id"], r["link"]) for r in db["deliveries"].rows}
    assert deliveries == {1: (1, "https://example.com/a"), 2: (2, "https://example.com/a")}
    db.close()
    assert_no_secrets(path, secret)


def test_the_migration_leaves_the_words_of_a_credential_in_user_text(tmp_path):
    """A username or a password may be a word of a title, a summary or a query: only the
    credential forms (``user:pw@``, ``key=value``) are removed everywhere, a bare password
    only from the URL and error columns."""
    from storage.database import open_database

    url = "https://newsroom:hunter2hunter2@example.com/rss?api_key=K3yValue12345"
    path = tmp_path / "old.db"
    old = _database_before_m021(path, url)
    t = "2024-05-01T08:00:00+00:00"
    old["feeds"].update(1, {"last_error": "HTTP 401: password hunter2hunter2 refused"})
    title, summary = "Inside the newsroom of the Times", "Never use hunter2hunter2 as a password"
    query = "newsroom hunter2hunter2 K3yValue12345"
    old["articles"].insert(
        {
            "id": 1,
            "feed_id": 1,
            "entry_id": "e1",
            "title": title,
            "summary": summary,
            "link": "https://example.com/a?sid=hunter2hunter2",
            "first_seen": t,
        }
    )
    old["deliveries"].insert(
        {
            "id": 1,
            "chat_id": 7,
            "article_id": 1,
            "topic": title,
            "html": title,
            "reason": "send failed for K3yValue12345",
            "created_at": t,
        }
    )
    old["topics"].insert({"id": "t", "name": "newsroom", "query": query})
    old["subscriptions"].insert({"chat_id": 7, "topic_id": "t", "query": query, "created_at": t})
    old.conn.commit()
    old.close()

    db = open_database(path)
    article = db["articles"].get(1)
    assert (article["title"], article["summary"]) == (title, summary)
    assert article["link"] == "https://example.com/a?sid=***"
    assert db["feeds"].get(1)["last_error"] == "HTTP 401: password *** refused"
    delivery = db["deliveries"].get(1)
    assert (delivery["topic"], delivery["html"]) == (title, title)
    assert delivery["reason"] == "send failed for ***"
    assert [r["query"] for r in db["subscriptions"].rows] == [query]
    assert db["topics"].get("t")["query"] == query
    db.close()


@pytest.mark.parametrize("code", [301, 308])
async def test_a_feed_that_moved_to_another_origin_gets_none_of_its_credentials_there(
    tmp_path, code
):
    """A feed with a password and a key that moves for good to another origin (another
    port) with the key copied into the Location: the new origin gets neither the key nor
    the password, not on the redirected request, not on the polls after (the move is
    stored without them), not after the operator gives the feed a new key; the
    configured origin got both, and the feed is read from its new place."""
    import base64

    from bot.config.loader import config_from_dict
    from bot.ingest.fetch import Fetcher
    from bot.pipeline import Pipeline
    from storage.database import open_database
    from storage.store import Store
    from tests.helpers import QUIET_FEED, rss

    new_key = "N3wKeyValue67890"
    async with FeedServer() as origin, FeedServer() as elsewhere, Fetcher() as fetcher:
        moved = elsewhere.url("/moved.xml")
        origin.fault("/feed.xml", "redirect", code=code, to=f"{moved}?api_key={API_KEY}&id=42")
        elsewhere.set("/moved.xml", rss(QUIET_FEED))
        host = f"127.0.0.1:{origin.port}"

        def config(key: str) -> Any:
            url = f"http://reader:${{FEED_PASSWORD}}@{host}/feed.xml?api_key=${{FEED_KEY}}"
            return config_from_dict(
                {"feeds": [{"url": url}], "storage": {"path": str(tmp_path / "bot.db")}},
                env={"FEED_KEY": key, "FEED_PASSWORD": PASSWORD},
            )

        store = Store(open_database(tmp_path / "bot.db"))
        feed = store.feeds.upsert(config(API_KEY).feeds[0].url, origin="config")
        pipeline = Pipeline(store, config(API_KEY), fetcher=fetcher)
        assert (await pipeline.poll(feed)).status == "primed"
        feed = store.feeds.get(feed.id)  # type: ignore[assignment]
        assert feed.moved_to == f"{moved}?id=42", feed.moved_to
        assert (await pipeline.poll(feed)).status == "not-modified"
        pipeline.reconfigure(config(new_key))  # a /reload with the feed's new key
        assert (await pipeline.poll(feed)).status == "not-modified"
        store.close()
    basic = "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
    assert [(r.path, r.headers.get("Authorization")) for r in origin.requests] == [
        (f"/feed.xml?api_key={API_KEY}", basic)
    ]
    assert [r.path for r in elsewhere.requests] == ["/moved.xml?id=42"] * 3, elsewhere.requests
    for request in elsewhere.requests:
        assert "Authorization" not in request.headers, request
        for secret in (API_KEY, new_key, PASSWORD, basic.split()[1]):
            assert secret not in repr(request), (secret, request)
    assert_no_secrets(tmp_path / "bot.db", API_KEY, new_key, PASSWORD)


async def test_a_redirect_to_another_origin_is_followed_without_our_credentials():
    """The fetcher, for a feed with a password and a key redirected to another origin: the
    Location's parameters that hold our key (whatever they are called) and any userinfo
    are taken off, the server's own (``id=``, a ``sig=`` of its making) kept; a Location
    that holds our key where it cannot be taken off (its path) is not followed; a
    redirect on the feed's own origin keeps its credentials."""
    import pytest

    from bot.errors import FetchError
    from bot.ingest.fetch import Fetcher
    from tests.helpers import QUIET_FEED, rss

    async with FeedServer() as origin, FeedServer() as elsewhere, Fetcher() as fetcher:
        other = elsewhere.url("")
        other_userinfo = other.replace("//", f"//reader:{PASSWORD}@")
        origin.fault(
            "/query.xml",
            "redirect",
            code=302,
            to=f"{other_userinfo}feed.xml?api_key={API_KEY}&id=1&sig=s3rverMade&next={API_KEY}",
        )
        origin.fault("/path.xml", "redirect", code=301, to=f"{other}{API_KEY}/feed.xml")
        origin.fault("/here.xml", "redirect", code=301, to=f"/feed.xml?api_key={API_KEY}")
        origin.set("/feed.xml", rss(QUIET_FEED))
        elsewhere.set("/feed.xml", rss(QUIET_FEED))
        base = f"http://reader:{PASSWORD}@127.0.0.1:{origin.port}"
        result = await fetcher.fetch(f"{base}/query.xml?api_key={API_KEY}")
        assert result.final_url == f"{other}feed.xml?id=1&sig=s3rverMade", result.final_url
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(f"{base}/path.xml?api_key={API_KEY}")
        here = await fetcher.fetch(f"{base}/here.xml?api_key={API_KEY}")
    assert caught.value.kind == "redirects", caught.value
    assert f"127.0.0.1:{elsewhere.port}" in str(caught.value), caught.value
    assert API_KEY not in str(caught.value) and PASSWORD not in str(caught.value)
    assert here.permanent_url == f"{base}/feed.xml?api_key={API_KEY}"
    assert [r.path for r in elsewhere.requests] == ["/feed.xml?id=1&sig=s3rverMade"]
    assert "Authorization" not in elsewhere.requests[0].headers
    assert origin.requests[-1].path == f"/feed.xml?api_key={API_KEY}"
    assert "Authorization" in origin.requests[-1].headers


async def test_a_redirect_back_to_the_feeds_own_origin_by_its_full_address_keeps_the_password():
    """A server never writes our user name and password into its Location, so an absolute
    redirect on the feed's own origin (``https://host/new``, a trailing ``/`` added, an
    upgrade to https) and the return to it after a hop elsewhere are sent with the feed's
    HTTP Basic credentials again, as httpx keeps them on the same origin; the other origin
    never gets them."""
    import base64

    from bot.ingest.fetch import Fetcher
    from tests.helpers import QUIET_FEED, rss

    async with FeedServer() as origin, FeedServer() as elsewhere, Fetcher() as fetcher:
        origin.fault("/old.xml", "redirect", code=301, to=origin.url("/feed.xml"))
        origin.fault("/away.xml", "redirect", code=302, to=elsewhere.url("/hop.xml"))
        elsewhere.fault("/hop.xml", "redirect", code=302, to=origin.url("/feed.xml"))
        origin.set("/feed.xml", rss(QUIET_FEED))
        base = f"http://reader:{PASSWORD}@127.0.0.1:{origin.port}"
        moved = await fetcher.fetch(f"{base}/old.xml")
        back = await fetcher.fetch(f"{base}/away.xml")
    basic = "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
    assert [(r.path, r.headers.get("Authorization")) for r in origin.requests] == [
        ("/old.xml", basic),
        ("/feed.xml", basic),
        ("/away.xml", basic),
        ("/feed.xml", basic),
    ]
    assert [r.path for r in elsewhere.requests] == ["/hop.xml"]
    assert "Authorization" not in elsewhere.requests[0].headers
    assert moved.status == back.status == 200


def test_credentials_go_back_into_a_moved_url_only_on_the_same_origin():
    """The masked key and the userinfo go back only to the same origin (http -> https on
    the same host and a default port written out count as the same); a moved URL on
    another origin that wants them (an older version stored it so), or one that would
    still hold ``***``, is never fetched: the config's URL instead, whose server says
    again where the feed is."""
    from bot.credentials import with_credentials

    full = f"http://reader:{PASSWORD}@news.example/rss?api_key={API_KEY}"
    assert (
        with_credentials("https://news.example/new?api_key=***", full)
        == f"https://reader:{PASSWORD}@news.example/new?api_key={API_KEY}"
    )
    assert (
        with_credentials("https://news.example:443/new?api_key=***", full)
        == f"https://reader:{PASSWORD}@news.example:443/new?api_key={API_KEY}"
    )
    assert (
        with_credentials("http://news.example:80/new", full)
        == f"http://reader:{PASSWORD}@news.example:80/new"
    )
    assert with_credentials("https://cdn.example/rss?api_key=***", full) == full
    assert with_credentials("https://news.example:8443/rss?api_key=***", full) == full
    assert with_credentials("https://cdn.example/rss?id=1", full) == "https://cdn.example/rss?id=1"
    secure = f"https://reader:{PASSWORD}@news.example/rss"
    assert with_credentials("http://news.example/rss", secure) == "http://news.example/rss"
    # a masked value that the config does not have: the config's URL, not "***"
    assert with_credentials("https://cdn.example/rss?token=***", full) == full


def test_a_feed_that_repeats_our_key_in_its_links_gets_it_stored_or_sent_nowhere(tmp_path):
    """A publisher that writes our key (``?api_key=K`` from ${FEED_KEY}) and our password
    into its article links, guids and image enclosures: a real `run` sends the alert, and
    neither secret is in the SQLite file's bytes, in any Bot API call, or in the logs."""
    import json

    from tests.helpers import ERUPTION, QUIET_FEED, alerts_to, rss

    with FakeBotAPI.in_thread(token=TOKEN) as api, FeedServer.in_thread() as feeds:
        host = f"127.0.0.1:{feeds.port}"
        echo = (
            f"<item><guid>http://{host}/eruption-1?api_key={API_KEY}</guid>"
            f"<title>{ERUPTION[0]}</title><link>http://{host}/eruption-1?id=7&amp;api_key={API_KEY}</link>"
            f'<enclosure url="http://{host}/img/1.jpg?api_key={API_KEY}" type="image/jpeg" '
            f'length="1"/><description>{ERUPTION[1]}</description></item>'
            f"<item><guid>http://{host}/{API_KEY}/ash</guid><title>Volcano ash grounds flights</title>"
            f"<link>http://reader:{PASSWORD}@{host}/{API_KEY}/ash</link>"
            "<description>Lava and ash.</description></item>"
        )
        feeds.set("/feed.xml", rss(QUIET_FEED, site=""))
        bot = _volcano_bot(api, tmp_path, host)
        try:
            api.wait_for(lambda: feeds.hits("/feed.xml") >= 2, timeout=60)  # primed
            feeds.set(
                "/feed.xml", rss(QUIET_FEED, site="").replace("</channel>", echo + "</channel>")
            )
            api.wait_for(lambda: len(alerts_to(api, CHANNEL)) >= 2, timeout=60)
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
        finally:
            if bot.poll() is None:
                bot.kill()
        out, err = bot.communicate()
        calls = json.dumps([call.params for call in api.calls])
    assert bot.returncode == 0, err[-2000:]
    alerts = alerts_to(api, CHANNEL)
    assert any(f"http://{host}/eruption-1?id=7" in a["text"] for a in alerts), alerts
    for secret in (API_KEY, PASSWORD):
        assert secret not in calls and secret not in out + err
    assert_no_secrets(tmp_path / "bot.db", PASSWORD, API_KEY)


async def test_readers_get_links_without_the_feeds_credential_parameters(
    feed_server, telegram_api, tmp_path
):
    """A feed with a key whose article links and pictures carry it (``?api_key=K``, and
    ``?k=K`` under a name that says nothing): the alert's title link and "Read" button,
    its picture, a digest's link and /latest's have those parameters left out, not ``api_key=***``
    (a link that works for nobody); the other parameters (and a fragment) stay.  The
    database keeps the masked link (the article's identity), the key nowhere."""
    from bot.app import Core
    from bot.config.loader import config_from_dict
    from bot.delivery.render import DigestLine, render_digest, safe_href
    from bot.service.chats import ChatInfo
    from bot.service.subscriptions import subscribe
    from storage.store import Store
    from tests.chatbot import ChatDriver

    base = feed_server.url("").rstrip("/")
    link = f"{base}/story.html?id=42&amp;api_key={API_KEY}&amp;k={API_KEY}#top"
    feed_server.set(
        "/feed.xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>{base}/</link><item><title>North Korea and US envoys hold talks on "
        f"denuclearisation</title><link>{link}</link><guid>story-1</guid>"
        f'<enclosure url="{base}/i.jpg?api_key={API_KEY}&amp;w=640" type="image/jpeg" '
        'length="1"/><description>Envoys met at Panmunjom on Tuesday, officials said, for '
        "the first talks in a year on the North's nuclear programme.</description></item>"
        "</channel></rss>",
    )
    config = config_from_dict(
        {
            "telegram": {"token": TOKEN, "base_url": telegram_api.base_url, "poll_timeout": "1s"},
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "fetch": {"full_text": False},
            "feeds": [{"url": feed_server.url("/feed.xml") + "?api_key=${FEED_KEY}"}],
        },
        env={"FEED_KEY": API_KEY},
    )
    store = Store.open(config.storage.path)
    subscribe(store, config.topics, ChatInfo(chat_id=1), "korea-diplomacy")
    async with Core(config, store=store, alert_on_first_poll=True) as core:
        await core.poll_all_once()  # sent to the console: Telegram is not started yet
        await core.start()
        latest = (await ChatDriver(telegram_api, core).send(1, "/latest"))["text"]
        [(stored,)] = store.db.execute("SELECT link FROM articles").fetchall()
        [(message, button, image)] = store.db.execute(
            "SELECT html, link, image FROM deliveries"
        ).fetchall()
    readers = f"{base}/story.html?id=42"
    assert stored == f"{base}/story.html?id=42&api_key=***&k=***", stored  # no fragment kept
    assert f'<a href="{readers}">' in message, message
    assert button == readers, button
    assert f'<a href="{readers}">' in latest, latest
    assert image == f"{base}/i.jpg?w=640", image
    [digest] = render_digest([DigestLine(1, "Talks", stored, "Wire")], heading="Digest", footer="")
    assert f'href="{readers}"' in digest.html, digest
    assert "***" not in message + button + image + digest.html + latest
    assert safe_href(f"{base}/a?api_key=***&id=42&token=x%2F***#top") == f"{base}/a?id=42#top"
    assert safe_href(f"{base}/a?***&q=f***") == f"{base}/a?q=f***"  # a word of the page's
    assert_no_secrets(tmp_path / "db.sqlite", API_KEY)


async def test_a_password_that_is_a_word_is_hidden_where_credentials_go_not_as_a_word(
    feed_server, tmp_path
):
    """A feed whose password is an ordinary word (``breaking``) and whose key is long and
    random: the word stays in the feed's titles, summaries and links and in log lines
    (masking it took it out of every headline), while the password is still hidden where
    a credential goes (userinfo, a credential parameter, a parameter whose value it is);
    the long key is hidden wherever it is, as before.  Loading the config (and so
    `doctor`) warns that the password is weak, without showing it."""
    from bot.config.loader import load_config
    from bot.ingest.fetch import Fetcher
    from bot.ops.doctor import diagnose
    from bot.ops.logs import add_secret, redact
    from bot.pipeline import Pipeline, sync_config
    from storage.store import Store

    word = "breaking"
    host = feed_server.url("").rstrip("/").removeprefix("http://")
    feed_server.set(
        "/feed.xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>http://{host}/</link><item><title>Volcano erupts: breaking news</title>"
        f"<link>http://{host}/breaking/eruption-1?api_key={API_KEY}&amp;p={word}</link>"
        f"<guid>eruption-1</guid><description>Lava, breaking news. Our key: {API_KEY}. "
        f"Also at http://reader:{word}@{host}/x?pwd={word}</description></item>"
        "</channel></rss>",
    )
    toml = tmp_path / "config.toml"
    toml.write_text(
        f'[storage]\npath = "{tmp_path / "bot.db"}"\n'
        f'[[feeds]]\nurl = "http://reader:{word}@{host}/feed.xml?api_key={API_KEY}"\n'
    )
    config = load_config(toml, env={})
    [weak] = [w for w in config.warnings if w.startswith("feeds[0].url:")]
    assert "short or an ordinary word" in weak and word not in weak, weak
    findings = await diagnose(toml, env={}, timeout=5)
    assert any(f.status == "warn" and "ordinary word" in f.detail for f in findings), findings
    store = Store.open(config.storage.path)
    [feed] = sync_config(store, config)
    async with Fetcher() as fetcher:
        result = await Pipeline(store, config, fetcher=fetcher).poll(feed)
    [(title, summary, link)] = store.db.execute(
        "SELECT title, summary, link FROM articles"
    ).fetchall()
    store.close()
    assert not result.error, result
    assert title == "Volcano erupts: breaking news", title
    assert link == f"http://{host}/breaking/eruption-1?api_key=***&p=***", link
    assert summary.startswith("Lava, breaking news. Our key: ***. Also at"), summary
    assert f"http://{host}/x?pwd=***" in summary and "reader:" not in summary, summary
    for secret in (word, API_KEY):  # as `newsalert run` does with each feed's secrets
        add_secret(secret)
    logged = redact(f"breaking news: http://reader:{word}@{host}/x?p={word}&k={API_KEY} {API_KEY}")
    assert logged == f"breaking news: http://***@{host}/x?p=***&k=*** ***", logged


def test_links_from_a_feed_lose_its_secrets_wherever_they_are():
    from bot.credentials import secret_values, without_secrets

    secrets = secret_values(f"https://reader:{PASSWORD}@news.example/rss?api_key={API_KEY}")
    assert secrets == [PASSWORD, API_KEY]
    clean = without_secrets
    assert clean(f"https://x.example/a?id=1&api_key={API_KEY}", secrets) == (
        "https://x.example/a?id=1&api_key=***"
    )
    assert clean(f"https://reader:{PASSWORD}@x.example/{API_KEY}/a#k={API_KEY}", secrets) == (
        "https://x.example/***/a#k=***"
    )
    assert clean(f"https://x.example/a?k=%2B{API_KEY}", [f"+{API_KEY}"]) == (
        "https://x.example/a?k=***"
    )
    # a feed without credentials: its links are left as they are, ?token= and all
    assert clean("https://x.example/a?token=abc123&id=1", []) == (
        "https://x.example/a?token=abc123&id=1"
    )


async def test_a_feeds_add_feed_whose_password_m021_removed_says_what_to_write(tmp_path):
    """A feed `feeds add` stored with ``user:password@`` before m021: it is not fetched
    without them (a 401 at every poll); start-up, `feeds list` and its error name it and
    say what to write in the config, and once that is written it keeps its id and state."""
    import base64
    import logging

    from bot.config.loader import config_from_dict
    from bot.ingest.fetch import Fetcher
    from bot.pipeline import Pipeline, sync_config
    from storage.database import open_database
    from storage.store import Store
    from tests.helpers import QUIET_FEED, rss

    async with FeedServer() as server, Fetcher() as fetcher:
        server.set("/feed.xml", rss(QUIET_FEED))
        full = server.url("/feed.xml").replace("://", f"://reader:{PASSWORD}@")
        path = tmp_path / "bot.db"
        old = _database_before_m021(path, full)
        old["feeds"].update(1, {"origin": "cli", "etag": '"e1"'})
        old.conn.commit()
        old.close()
        store = Store(open_database(path))
        [feed] = store.feeds.all()
        config = config_from_dict({"storage": {"path": str(path)}}, env={})
        logger = logging.getLogger("bot.pipeline")
        records: list[logging.LogRecord] = []
        handler = logging.Handler()
        handler.emit = records.append  # type: ignore[method-assign]
        logger.addHandler(handler)
        try:
            sync_config(store, config)
        finally:
            logger.removeHandler(handler)
        advice = 'url = "http://USER:${FEED_PASSWORD}@127.0.0.1:'
        assert any(advice in r.getMessage() and "feed 1" in r.getMessage() for r in records)
        (tmp_path / "config.toml").write_text(f'[storage]\npath = "{path}"\n')
        command = ["feeds", "list"]
        listing = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(tmp_path / "config.toml"), *command],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        assert "its password is not in the config" in listing and advice in listing, listing
        result = await Pipeline(store, config, fetcher=fetcher).poll(feed)
        assert result.status == "error" and advice in (result.error or ""), result
        assert server.hits("/feed.xml") == 0  # not a 401 at every poll
        store.close()
        assert_no_secrets(path, PASSWORD)
        # the config's entry takes the feed over: same id and state, fetched with them
        store = Store(open_database(path))
        config = config_from_dict({"feeds": [{"url": full}], "storage": {"path": "x"}}, env={})
        [feed] = sync_config(store, config)
        assert (feed.id, feed.etag) == (1, '"e1"') and len(store.feeds.all()) == 1
        result = await Pipeline(store, config, fetcher=fetcher).poll(feed)
        assert result.status == "primed", result
        basic = "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
        assert server.requests[-1].headers.get("Authorization") == basic
        store.close()


def test_following_the_loaders_advice_for_twin_feeds_keeps_the_twins_history(tmp_path):
    """Two config feeds that differ only by credentials, stored by an older version: m021
    keeps them apart under a name, and the loader, refusing the old config, advises that
    very name, so that the config as advised maps onto both rows, state and all."""
    import re

    import pytest

    from bot.config.loader import config_from_dict
    from bot.errors import ConfigError
    from bot.pipeline import sync_config
    from storage.database import open_database
    from storage.store import Store

    plain = "https://news.example/private.rss"
    alice = f"https://alice:{PASSWORD}@news.example/private.rss"
    bob = "https://bob:0therPassw0rd@news.example/private.rss"
    path = tmp_path / "old.db"
    old = _database_before_m021(path, alice)
    old["feeds"].insert({"id": 2, "url": bob, "added_at": "2024-05-01T08:00:00+00:00"})
    old["feeds"].update(2, {"etag": '"bob"'})
    old.conn.commit()
    old.close()
    store = Store(open_database(path))
    feeds = [{"url": alice}, {"url": bob}]
    with pytest.raises(ConfigError) as refused:
        config_from_dict({"feeds": feeds, "storage": {"path": str(path)}}, env={})
    assert refused.value.key == "feeds[1].url"
    [fragment] = re.findall(r"'(#[^']+)'", refused.value.problem)
    feeds[1]["url"] += fragment  # as advised
    config = config_from_dict({"feeds": feeds, "storage": {"path": str(path)}}, env={})
    synced = sync_config(store, config)
    assert [(f.id, f.url, f.etag) for f in synced] == [
        (1, plain, None),
        (2, plain + fragment, '"bob"'),
    ]
    store.close()


def _leaky_items(host: str) -> str:
    """Items of a publisher that repeats our key and password in guids, links, pictures."""
    from tests.helpers import ERUPTION

    return (
        f"<item><guid>http://{host}/eruption-1?api_key={API_KEY}</guid>"
        f"<title>{ERUPTION[0]}</title><link>http://{host}/eruption-1?id=7&amp;api_key={API_KEY}</link>"
        f'<enclosure url="http://{host}/img/1.jpg?api_key={API_KEY}" type="image/jpeg" '
        f'length="1"/><description>{ERUPTION[1]}</description></item>'
        f"<item><guid>http://{host}/{API_KEY}/ash</guid><title>Volcano ash grounds flights</title>"
        f"<link>http://reader:{PASSWORD}@{host}/{API_KEY}/ash</link>"
        "<description>Lava and ash.</description></item>"
    )


async def test_secrets_an_older_version_stored_from_feed_content_go_at_start(tmp_path, caplog):
    """A database written before feed content lost its feed's secrets holds our key and
    password in article, story and outbox rows (m021 could not find them: only the config
    has them).  The config sync takes them out, once, without logging them; and the next
    poll finds every entry it had (its guid in the clean form): no second alert."""
    import logging
    import sqlite3

    import sqlite_utils

    from bot.config.loader import config_from_dict
    from bot.credentials import public_feed_url
    from bot.ingest.fetch import Fetcher
    from bot.ingest.parse import parse_feed
    from bot.pipeline import Pipeline, sync_config
    from storage.database import open_database
    from storage.migrations import MIGRATIONS
    from storage.store import Store
    from tests.helpers import QUIET_FEED, rss

    async with FeedServer() as server, Fetcher() as fetcher:
        host = f"127.0.0.1:{server.port}"
        body = rss(QUIET_FEED, site="").replace("</channel>", _leaky_items(host) + "</channel>")
        server.set("/feed.xml", body)
        full = f"http://reader:{PASSWORD}@{host}/feed.xml?api_key={API_KEY}"
        path = tmp_path / "bot.db"
        # the database as the version before the cleaning left it (m021 and m022 applied)
        old = sqlite_utils.Database(sqlite3.connect(path))
        MIGRATIONS.apply(old, stop_before="m023_feed_secrets_scrubbed")
        t = "2024-05-01T08:00:00+00:00"
        old["feeds"].insert(
            {"id": 1, "url": public_feed_url(full), "added_at": t, "primed": 1, "status": "ok"}
        )
        old["feeds"].update(1, {"last_error": f"HTTP 500 at http://{host}/{API_KEY}/x"})
        old["chats"].insert({"chat_id": CHANNEL, "type": "channel", "created_at": t})
        parsed = parse_feed(body.encode(), url=public_feed_url(full))  # no secrets: old code
        assert any(API_KEY in a.id for a in parsed.articles)
        stored = Store(old).articles.add_new(1, parsed.articles, processed=True)
        old["stories"].insert({"id": 1, "first_seen": t})
        for n, article in enumerate(stored, 1):
            link = article.article.link
            old["story_articles"].insert(
                {"story_id": 1, "article_id": article.key, "feed_id": 1,
                 "entry_id": article.article.id, "seen_at": t}
            )  # fmt: skip
            old["deliveries"].insert(
                {"id": n, "chat_id": CHANNEL, "article_id": article.key, "topic": "volcanoes",
                 "html": f'<a href="{link}">{article.article.title}</a>', "text": link,
                 "link": link, "image": article.article.image, "created_at": t,
                 "reason": f"sent to {link}", "state": "sent"}
            )  # fmt: skip
        old.conn.commit()
        old.close()

        config = config_from_dict(
            {
                "feeds": [{"url": full}],
                "topics": [{"id": "volcanoes", "name": "Volcanoes", "query": "volcano OR ash"}],
                "channels": [{"chat_id": CHANNEL, "topics": ["volcanoes"]}],
                "storage": {"path": str(path)},
                "fetch": {"full_text": False},
            },
            env={},
        )
        store = Store(open_database(path))
        with caplog.at_level(logging.INFO):
            [feed] = sync_config(store, config)
        assert "removed feed credentials" in caplog.text
        assert API_KEY not in caplog.text and PASSWORD not in caplog.text
        row = store.db["articles"].get(2)  # the first is the quiet item
        assert row["entry_id"] == f"http://{host}/eruption-1?api_key=***"
        assert row["link"] == f"http://{host}/eruption-1?id=7&api_key=***"
        assert store.db["deliveries"].get(3)["link"] == f"http://{host}/***/ash"
        caplog.clear()
        with caplog.at_level(logging.INFO):
            sync_config(store, config)  # once: the second start finds nothing to do
        assert "removed feed credentials" not in caplog.text
        before = store.db["articles"].count
        pipeline = Pipeline(store, config, fetcher=fetcher)
        result = await pipeline.poll(feed)
        assert server.hits("/feed.xml") == 1
        assert (result.new_articles, result.alerts) == (0, 0), result
        assert store.db["articles"].count == before
        assert store.db["deliveries"].count == len(stored)
        store.close()
    assert_no_secrets(path, API_KEY, PASSWORD)


def test_a_stored_feed_in_another_spelling_of_a_config_feed_gets_its_credentials(tmp_path, caplog):
    """A feed an older version stored from `feeds add` with credentials it gave up, under
    another spelling than the config's (host in capitals, a trailing /): the config's URL
    takes it over, state and all, as for the same spelling; no 'not in the config' warning
    and no second row."""
    import logging

    from bot.config.loader import config_from_dict
    from bot.pipeline import sync_config
    from storage.database import open_database
    from storage.store import Store

    store = Store(open_database(tmp_path / "bot.db"))
    t = "2024-05-01T08:00:00+00:00"
    for feed_id, url in ((1, "https://***@News.Example/private.rss"),
                         (2, "HTTPS://WIRE.example/rss/?token=***")):  # fmt: skip
        store.db["feeds"].insert(
            {"id": feed_id, "url": url, "origin": "cli", "added_at": t, "etag": f'"{feed_id}"'}
        )
    urls = [
        f"https://reader:{PASSWORD}@news.example/private.rss",
        f"https://wire.example/rss?token={API_KEY}",
    ]
    config = config_from_dict(
        {"feeds": [{"url": u} for u in urls], "storage": {"path": "x.db"}}, env={}
    )
    assert config.credentialed_feed_url("https://***@News.Example/private.rss") == urls[0]
    with caplog.at_level(logging.WARNING):
        synced = sync_config(store, config)
    assert [(f.id, f.url, f.etag, f.origin) for f in synced] == [
        (1, "https://news.example/private.rss", '"1"', "config"),
        (2, "https://wire.example/rss?token=***", '"2"', "config"),
    ]
    assert "not in the config file" not in caplog.text
    store.close()


async def _poll_an_open_and_a_keyed_feed(tmp_path, open_fault: dict, keyed_fault: dict):
    """Two feeds that answer with ``open_fault`` / ``keyed_fault`` (status faults of the
    feed server): one without credentials in the config, one with a password and a key;
    each polled once through the real pipeline, then diagnosed. Returns the config file,
    the server's host, the two poll results and doctor's feed findings."""
    from bot.config.loader import load_config
    from bot.ingest.fetch import Fetcher
    from bot.ops.doctor import diagnose
    from bot.pipeline import Pipeline, sync_config
    from storage.database import open_database
    from storage.store import Store

    async with FeedServer() as server, Fetcher() as fetcher:
        server.fault("/open.xml", "status", **open_fault)
        server.fault("/keyed.xml", "status", **keyed_fault)
        plain = server.url("/open.xml") + "?edition=asia"
        keyed = server.url("/keyed.xml").replace("http://", f"http://reader:{PASSWORD}@")
        keyed += f"?api_key={API_KEY}"
        toml = tmp_path / "config.toml"
        toml.write_text(
            f'[storage]\npath = "{tmp_path / "bot.db"}"\n'
            f'[[feeds]]\nurl = "{plain}"\n[[feeds]]\nurl = "{keyed}"\n'
        )
        config = load_config(toml, env={})
        store = Store(open_database(tmp_path / "bot.db"))
        pipeline = Pipeline(store, config, fetcher=fetcher)
        results = [await pipeline.poll(feed) for feed in sync_config(store, config)]
        store.close()
        findings = [f for f in await diagnose(toml, env={}, timeout=5) if f.area == "feed"]
    return toml, f"127.0.0.1:{server.port}", results, findings


async def test_a_401_says_credentials_are_wanted_or_refused_and_how_to_give_them(tmp_path):
    """A feed that answers 401: without credentials in the config, its error (poll, `feeds
    list`, doctor) says the server wants some and what to write; with them, that they
    were refused; never the secret."""
    from click.testing import CliRunner

    from bot.cli import cli

    toml, host, results, findings = await _poll_an_open_and_a_keyed_feed(
        tmp_path, {"code": 401, "www_authenticate": 'Basic realm="news"'}, {"code": 401}
    )
    wanted, refused = (r.error for r in results)
    assert [r.error_kind for r in results] == ["unauthorized", "unauthorized"]
    assert "the server wants credentials" in wanted, wanted
    assert f'url = "http://USER:${{FEED_PASSWORD}}@{host}/open.xml?edition=asia"' in wanted
    assert f'url = "http://{host}/open.xml?edition=asia&api_key=${{FEED_KEY}}"' in wanted
    assert wanted.index("USER:") < wanted.index("api_key")  # Basic asked for: first
    assert "refused the credentials" in refused and "wants" not in refused, refused
    listed = CliRunner().invoke(cli, ["--config", str(toml), "feeds", "list"]).output
    assert "the server wants credentials" in listed and "refused the credentials" in listed
    doctor = " ".join(f"{f.detail} {f.fix}" for f in findings)
    assert "the server wants credentials" in doctor and "refused the credentials" in doctor
    for text in (wanted, refused, listed, doctor):
        assert PASSWORD not in text and API_KEY not in text, text


# -- secrets in the HTML of summaries and content ----------------------------------------------


def _leaky_summary(host: str) -> str:
    """The HTML of a summary that repeats our key and password in its links and pictures,
    as an href, as a link's text, as an <img src>, as userinfo and in a path, once written
    with an entity (what only the text shows)."""
    return (
        f'<p>Lava flows. <a href="http://{host}/more?id=7&amp;api_key={API_KEY}">'
        f"http://{host}/more?id=7&amp;api_key={API_KEY}</a> "
        f'<img src="http://reader:{PASSWORD}@{host}/{API_KEY}/lava.jpg"/> '
        f"Pictures: http://reader:{PASSWORD}@{host}/{API_KEY}/gallery and "
        f"&#{ord(API_KEY[0])};{API_KEY[1:]} once more.</p>"
    )


def test_summaries_and_content_of_a_feed_lose_its_secrets_on_both_readers():
    """``parse_feed`` on the fast reader and on feedparser, and on a JSON Feed: the key and
    password a publisher repeats in the links, pictures and text of its summaries and
    content are in no field of any article; harmless parts (``?id=7``) stay."""
    import json
    from datetime import UTC, datetime

    from bot.ingest.fastfeed import why_not_fast
    from bot.ingest.parse import parse_feed

    host = "news.example"
    leaky = _leaky_summary(host)
    escaped = leaky.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Wire</title>'
        f"<link>http://{host}/</link><item><guid>lava-1</guid><title>Lava reaches the sea</title>"
        f"<link>http://{host}/lava-1</link><description>{escaped}</description>"
        f"<content:encoded>{escaped} And more.</content:encoded></item></channel></rss>"
    ).encode()
    json_body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Wire",
            "items": [{"id": "lava-1", "title": "Lava", "summary": leaky, "content_html": leaky}],
        }
    ).encode()
    assert why_not_fast(body, {"content-type": "application/xml"}) == ""  # the fast path
    url = f"http://reader:{PASSWORD}@{host}/feed.xml?api_key={API_KEY}"
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    read = {
        "fast": parse_feed(body, url=url, now=now),
        "feedparser": parse_feed(body, url=url, now=now, fast=False),
        "json": parse_feed(json_body, url=url, now=now),
        # the key given apart (the feed moved to a URL without it)
        "moved": parse_feed(
            body, url=f"http://{host}/moved.xml", now=now, secrets=[PASSWORD, API_KEY]
        ),
    }
    for how, parsed in read.items():
        [article] = parsed.articles
        fields = repr(article)
        assert PASSWORD not in fields and API_KEY not in fields, (how, fields)
        assert API_KEY[1:] not in fields, (how, fields)  # the entity-written one too
        assert f"http://{host}/more?id=7&api_key=***" in article.summary, (how, article.summary)
        assert f"http://{host}/***/gallery" in article.summary, (how, article.summary)
        assert "And more." in article.content or how == "json", (how, article.content)
    assert read["fast"].articles == read["feedparser"].articles
    # a feed without credentials keeps its text as it is
    [plain] = parse_feed(body, url=f"http://{host}/feed.xml").articles
    assert f"api_key={API_KEY}" in plain.summary


def test_a_feed_that_repeats_our_key_in_its_summaries_gets_it_stored_or_sent_nowhere(tmp_path):
    """A real `run`: a publisher writes our key and password into the links, pictures and
    text of an item's description; the alert goes out, the summary is stored clean, and neither secret
    is in the SQLite file's bytes, in any Bot API call, or in the logs."""
    import json
    import sqlite3
    from xml.sax.saxutils import escape

    from tests.helpers import ERUPTION, QUIET_FEED, alerts_to, rss

    with FakeBotAPI.in_thread(token=TOKEN) as api, FeedServer.in_thread() as feeds:
        host = f"127.0.0.1:{feeds.port}"
        echo = (
            f"<item><guid>eruption-1</guid><title>{ERUPTION[0]}</title>"
            f"<link>http://{host}/eruption-1</link>"
            f"<description>{escape(ERUPTION[1] + _leaky_summary(host))}</description></item>"
        )
        feeds.set("/feed.xml", rss(QUIET_FEED, site=""))
        bot = _volcano_bot(api, tmp_path, host)
        try:
            api.wait_for(lambda: feeds.hits("/feed.xml") >= 2, timeout=60)  # primed
            feeds.set(
                "/feed.xml", rss(QUIET_FEED, site="").replace("</channel>", echo + "</channel>")
            )
            api.wait_for(lambda: alerts_to(api, CHANNEL), timeout=60)
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
        finally:
            if bot.poll() is None:
                bot.kill()
        out, err = bot.communicate()
        calls = json.dumps([call.params for call in api.calls])
    assert bot.returncode == 0, err[-2000:]
    [alert] = alerts_to(api, CHANNEL)
    assert f'href="http://{host}/eruption-1"' in alert["text"]
    conn = sqlite3.connect(tmp_path / "bot.db")
    [(summary,)] = conn.execute("SELECT summary FROM articles WHERE entry_id LIKE '%eruption-1'")
    conn.close()
    assert f"http://{host}/more?id=7&api_key=*** Pictures: http://{host}/***/gallery" in summary
    for secret in (API_KEY, PASSWORD, API_KEY[1:]):
        assert secret not in calls and secret not in out + err
    assert_no_secrets(tmp_path / "bot.db", PASSWORD, API_KEY, API_KEY[1:])


async def test_a_failing_credentialed_feed_never_shows_its_secret_in_logs_or_errors(
    tmp_path, caplog, capfd
):
    """Feeds with a password and a key that fail every way a fetch fails (connection
    refused, HTTP 500, 401, a timeout): every log record's message and arguments, stderr,
    the poll results and `feeds list` show neither secret, and still say which feed it was
    and what went wrong."""
    import logging
    import socket

    from click.testing import CliRunner

    from bot.cli import cli
    from bot.config.loader import load_config
    from bot.ingest.fetch import Fetcher
    from bot.pipeline import Pipeline, sync_config
    from storage.database import open_database
    from storage.store import Store

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    async with FeedServer() as server, Fetcher(read_timeout=0.5, total_timeout=2) as fetcher:
        server.fault("/500.xml", "status", code=500)
        server.fault("/401.xml", "status", code=401)
        server.fault("/slow.xml", "timeout", delay=10)
        hosts = {
            "network": f"127.0.0.1:{closed}/feed.xml",  # connection refused
            "http": f"127.0.0.1:{server.port}/500.xml",
            "unauthorized": f"127.0.0.1:{server.port}/401.xml",
            "timeout": f"127.0.0.1:{server.port}/slow.xml",
        }
        urls = [f"http://reader:{PASSWORD}@{h}?api_key={API_KEY}&id=42" for h in hosts.values()]
        toml = tmp_path / "config.toml"
        toml.write_text(
            f'[storage]\npath = "{tmp_path / "bot.db"}"\n'
            + "".join(f'[[feeds]]\nurl = "{u}"\n' for u in urls)
        )
        config = load_config(toml, env={})
        store = Store(open_database(tmp_path / "bot.db"))
        pipeline = Pipeline(store, config, fetcher=fetcher)
        with caplog.at_level(logging.DEBUG, logger="bot"):
            results = [await pipeline.poll(feed) for feed in sync_config(store, config)]
        store.close()
    assert [r.error_kind for r in results] == list(hosts), results
    listed = CliRunner().invoke(cli, ["--config", str(toml), "feeds", "list"]).output
    err = capfd.readouterr().err
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == len(hosts), caplog.text
    records = " ".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for text in (records, caplog.text, err, listed, *(r.error for r in results)):
        assert PASSWORD not in text and API_KEY not in text, text
    for record, host in zip(failures, hosts.values(), strict=True):
        assert f"http://***@{host}?api_key=***&id=42" in record.getMessage(), record.getMessage()
    assert "HTTP 500" in results[1].error and "refused the credentials" in results[2].error


async def test_a_403_says_the_credentials_were_refused_or_what_else_it_may_mean(tmp_path):
    """A feed that answers 403: with credentials in the config, its error (poll, `feeds
    list`, doctor) says the server refused them and what to check, as for a 401; without,
    that the server refuses this client and what that may mean; never the secret."""
    from click.testing import CliRunner

    from bot.cli import cli

    toml, host, results, findings = await _poll_an_open_and_a_keyed_feed(
        tmp_path, {"code": 403}, {"code": 403}
    )
    refuses, refused = (r.error for r in results)
    assert [r.error_kind for r in results] == ["forbidden", "forbidden"]
    assert refuses.startswith(f"http://{host}/open.xml?edition=asia: HTTP 403: "), refuses
    assert "the server refuses this client" in refuses and "credentials" in refuses
    assert "refused the credentials" not in refuses, refuses
    assert refused.startswith(f"http://***@{host}/keyed.xml?api_key=***: HTTP 403: "), refused
    assert "refused the credentials the config file gives this feed" in refused, refused
    assert "check the user name, password or key" in refused
    listed = CliRunner().invoke(cli, ["--config", str(toml), "feeds", "list"]).output
    assert "refuses this client" in listed and "refused the credentials" in listed
    doctor = " ".join(f"{f.detail} {f.fix}" for f in findings)
    assert "refuses this client" in doctor and "refused the credentials" in doctor
    assert "check the feed's credentials" in doctor
    for text in (refuses, refused, listed, doctor):
        assert PASSWORD not in text and API_KEY not in text, text


def _stored_feeds(path, rows) -> None:
    """A database at ``path`` holding ``rows`` (id, url) of feeds an older version kept."""
    from storage.database import open_database

    db = open_database(path)
    t = "2024-05-01T08:00:00+00:00"
    for feed_id, url in rows:
        db["feeds"].insert(
            {"id": feed_id, "url": url, "origin": "cli", "added_at": t, "etag": f'"{feed_id}"'}
        )
    db.conn.commit()
    db.close()


def _take_over_one_scan_each(db, url: str) -> None:
    """What ``FeedStore._take_over`` did before it was linear (a scan of every feed for
    each credentialed one): the reference its behaviour is checked against."""
    from bot.credentials import has_credentials, lost_userinfo, public_feed_url, same_feed

    if db.execute("SELECT 1 FROM feeds WHERE url = ?", [url]).fetchone():
        return
    for feed_id, stored in db.execute("SELECT id, url FROM feeds ORDER BY id").fetchall():
        if stored == lost_userinfo(url) or (
            has_credentials(stored) and same_feed(public_feed_url(stored), [url])
        ):
            db.execute("UPDATE feeds SET url = ? WHERE id = ?", [url, feed_id])
            return


def test_config_feeds_take_over_their_stored_spellings_as_before_in_linear_work(
    tmp_path, monkeypatch
):
    """Many stored feeds, hundreds of them kept by an older version without the
    credentials (``***@``, ``?token=***``) under another spelling (host in capitals, a
    trailing /), a few claimed twice or already taken, and a config listing them with
    their credentials: every config feed gets its old row (the first by id), state and
    all, as the one-scan-per-feed reference does on the same rows; the work done
    grows with the number of feeds, not with their product (counted, not timed)."""
    import random

    import storage.feeds as feeds_module
    from bot.config.loader import config_from_dict
    from bot.credentials import public_feed_url
    from bot.pipeline import sync_config
    from storage.database import open_database
    from storage.store import Store

    rng = random.Random(8)
    rows, urls = [], []
    for n in range(300):
        host = f"news{n}.example"
        kind = n % 4
        if kind == 0:
            stored, full = f"https://***@{host.upper()}/rss", f"https://u:{PASSWORD}@{host}/rss"
        elif kind == 1:
            stored, full = (
                f"HTTPS://{host}/a/rss/?token=***",
                f"https://{host}/a/rss?token={API_KEY}",
            )
        elif kind == 2:
            stored, full = f"https://***@{host}/rss", f"https://u:{PASSWORD}@{host}/rss"
        else:  # already in the config's spelling: nothing to take over
            stored, full = f"https://{host}/k?api_key=***", f"https://{host}/k?api_key={API_KEY}"
        rows.append(stored)
        urls.append(full)
        if n % 97 == 0:  # a second old row of the same feed (the first by id wins), or
            # the config's own spelling stored already (taken: the old rows stay as they are)
            rows.append(
                [f"https://***@{host}/rss/", f"https://{host}/a/rss?token=***",
                 f"https://***@{host.upper()}/rss", stored][kind]
            )  # fmt: skip
    rows += [f"https://plain{n}.example/rss?id={n}" for n in range(900)]
    rng.shuffle(rows)
    numbered = list(enumerate(dict.fromkeys(rows), 1))
    config = config_from_dict(
        {"feeds": [{"url": u} for u in urls], "storage": {"path": "x"}}, env={}
    )

    reference = tmp_path / "reference.db"
    _stored_feeds(reference, numbered)
    db = open_database(reference)
    for url in urls:
        _take_over_one_scan_each(db, public_feed_url(url))
        db.execute(
            "INSERT INTO feeds (url, added_at) VALUES (?, 'x') ON CONFLICT(url) DO NOTHING",
            [public_feed_url(url)],
        )
    expected = db.execute("SELECT id, url, etag FROM feeds ORDER BY id").fetchall()
    db.close()

    calls = 0
    real = feeds_module.public_feed_url

    def counted(url: str) -> str:
        nonlocal calls
        calls += 1
        return real(url)

    monkeypatch.setattr(feeds_module, "public_feed_url", counted)
    _stored_feeds(tmp_path / "bot.db", numbered)
    store = Store(open_database(tmp_path / "bot.db"))
    sync_config(store, config)
    got = store.db.execute("SELECT id, url, etag FROM feeds ORDER BY id").fetchall()
    store.close()
    assert got == expected
    taken = {url: etag for _id, url, etag in got}
    assert all(taken[public_feed_url(u)] is not None for u in urls)  # each kept an old row
    assert len(got) == len(numbered)  # none added: every config feed found its own
    assert calls <= 4 * (len(numbered) + len(urls)), calls


def _hold_the_scrub(monkeypatch, timeout: float):  # type: ignore[no-untyped-def]
    """Make the secrets scrub (of a non-empty list of feeds) wait at its start: returns the
    event it sets when it is held, the one that releases it, and whether each hold was
    released in time (False: nobody released it within ``timeout`` seconds)."""
    import threading

    import storage.store as store_module

    started, release = threading.Event(), threading.Event()
    held: list[bool] = []
    real = store_module.scrub_feed_secrets

    def held_at_start(db, feeds):  # type: ignore[no-untyped-def]
        if feeds:
            started.set()
            held.append(release.wait(timeout=timeout))
        return real(db, feeds)

    monkeypatch.setattr(store_module, "scrub_feed_secrets", held_at_start)
    return started, release, held


async def test_a_reload_scrubs_old_secrets_off_the_loop_and_answers_commands_meanwhile(
    telegram_api, tmp_path, monkeypatch
):
    """A `feeds add` feed whose content an older version stored with our key and password
    in it; a /reload whose config now gives its credentials scrubs them (every row clean,
    the feed marked), in a thread: while the scrub is held at its start, another chat's
    /help is answered; the /reload's answer comes once the scrub is done."""
    import sqlite3

    import sqlite_utils

    from bot.app import Core
    from bot.config.loader import load_config
    from bot.credentials import public_feed_url
    from bot.ingest.parse import parse_feed
    from storage.migrations import MIGRATIONS
    from storage.store import Store
    from tests.chatbot import OPERATOR as ADMIN
    from tests.chatbot import ChatDriver
    from tests.helpers import QUIET_FEED, rss, wait_until

    async with FeedServer() as server:
        host = f"127.0.0.1:{server.port}"
        body = rss(QUIET_FEED, site="").replace("</channel>", _leaky_items(host) + "</channel>")
        server.set("/feed.xml", body)
        full = f"http://reader:{PASSWORD}@{host}/feed.xml?api_key={API_KEY}"
        path = tmp_path / "bot.db"
        old = sqlite_utils.Database(sqlite3.connect(path))  # as the version before m023
        MIGRATIONS.apply(old, stop_before="m023_feed_secrets_scrubbed")
        old["feeds"].insert(
            {"id": 1, "url": public_feed_url(full), "origin": "cli", "primed": 1,
             "added_at": "2024-05-01T08:00:00+00:00", "status": "ok"}
        )  # fmt: skip
        parsed = parse_feed(body.encode(), url=public_feed_url(full))  # no secrets: old code
        Store(old).articles.add_new(1, parsed.articles, processed=True)
        old.conn.commit()
        old.close()

        toml = tmp_path / "config.toml"
        head = (
            f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{telegram_api.base_url}"\n'
            f'poll_timeout = "1s"\nadmins = [{ADMIN}]\n[storage]\npath = "{path}"\n'
            "[fetch]\nfull_text = false\n"
        )
        toml.write_text(head)
        started, release, held = _hold_the_scrub(monkeypatch, timeout=15)
        async with Core(load_config(toml)) as core:
            await core.start()
            bot = ChatDriver(telegram_api, core)
            toml.write_text(head + f'[[feeds]]\nurl = "{full}"\n')
            before = len(bot.replies(ADMIN))
            telegram_api.inject_message(ADMIN, "/reload", user_id=ADMIN)
            await wait_until(started.is_set, timeout=20, what="the scrub to start")
            answered = (await bot.send(5, "/help", user_id=5))["text"]
            release.set()
            replies = await telegram_api.wait_for_messages(ADMIN, before + 1, timeout=20)
            reloaded = replies[-1]["text"]
            rows = core.store.db.execute(
                "SELECT entry_id, link, image FROM articles ORDER BY id"
            ).fetchall()
            [marked] = core.store.db.execute("SELECT secrets_scrubbed FROM feeds").fetchone()
    assert held == [True], "the scrub held the event loop: /help waited for it"
    assert "/subscribe" in answered, answered
    assert "Configuration reloaded" in reloaded, reloaded
    assert marked == 1
    assert (f"http://{host}/eruption-1?api_key=***", f"http://{host}/eruption-1?id=7&api_key=***",
            f"http://{host}/img/1.jpg?api_key=***") in rows  # fmt: skip
    assert_no_secrets(path, API_KEY, PASSWORD)


def test_the_scrub_keeps_what_another_connection_wrote_meanwhile_and_cleans_it(
    tmp_path, monkeypatch
):
    """The scrub reads, then writes what it found in a short transaction: a value that
    another connection (the bot, while the scrub runs in its thread) changed in between is
    not overwritten with the old one cleaned; the next round cleans the new one, and the
    feed is marked only once a round finds nothing."""
    import sqlite3

    import storage.scrub as scrub
    from bot.credentials import public_feed_url
    from storage.database import open_database

    full = f"https://reader:{PASSWORD}@news.example/rss?api_key={API_KEY}"
    path = tmp_path / "bot.db"
    db = open_database(path)
    db["feeds"].insert(
        {"id": 1, "url": public_feed_url(full), "added_at": "2024-05-01T08:00:00+00:00",
         "last_error": f"HTTP 500 at https://news.example/{API_KEY}/a", "secrets_scrubbed": 0}
    )  # fmt: skip
    db.conn.commit()
    real = scrub._plan_table
    planned: list[str] = []

    def plan_then_the_bot_writes(db, table, clean):  # type: ignore[no-untyped-def]
        found = real(db, table, clean)
        planned.append(table)
        if table == "feeds" and planned.count("feeds") == 1:
            other = sqlite3.connect(path)
            other.execute(
                "UPDATE feeds SET last_error = ? WHERE id = 1",
                [f"timeout at https://news.example/{API_KEY}/b"],
            )
            other.commit()
            other.close()
        return found

    monkeypatch.setattr(scrub, "_plan_table", plan_then_the_bot_writes)
    changed = scrub.scrub_feed_secrets(db, {1: full})
    [(error, marked)] = db.execute("SELECT last_error, secrets_scrubbed FROM feeds").fetchall()
    db.close()
    assert error == "timeout at https://news.example/***/b", error
    assert marked == 1 and changed == 1
    assert planned.count("feeds") == 3  # written over nothing, cleaned, then found clean


async def test_the_full_text_of_a_credentialed_feeds_article_loses_its_secrets(
    feed_server, tmp_path
):
    """A teaser from a feed with a key: its page is fetched for the alert, and a page that
    repeats the key (in its text, its og:image) has it taken out before the text is
    stored or summarised; the page's own words stay."""

    from bot.app import Core
    from tests.helpers import STORY_PAGE

    base = feed_server.url("").rstrip("/")
    feed_server.set(
        "/feed.xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>{base}/</link><item><title>North Korea and US envoys hold talks on "
        f"denuclearisation</title><link>{base}/story.html</link><guid>story-1</guid>"
        "<description>Envoys met.</description></item></channel></rss>",
    )
    page = STORY_PAGE.replace(
        "<head>", f'<head><meta property="og:image" content="{base}/i.jpg?api_key={API_KEY}">'
    ).replace(
        "officials said.</p>",
        f"officials said. Subscribers: {base}/more?api_key={API_KEY} or {API_KEY}.</p>",
    )
    feed_server.set("/story.html", page, content_type="text/html; charset=utf-8")
    config, store, sink = _keyed_feed_with_a_subscriber(feed_server, tmp_path)
    async with Core(config, store=store, sink=sink, alert_on_first_poll=True) as core:
        await core.poll_all_once()
        [(content, image)] = store.db.execute("SELECT content, image FROM articles").fetchall()
    [(_, message)] = sink.sent
    assert feed_server.hits("/story.html") == 1
    assert "Panmunjom" in content and f"{base}/more?api_key=*** or ***." in content, content
    assert image == f"{base}/i.jpg?api_key=***", image
    assert API_KEY not in message
    assert_no_secrets(tmp_path / "db.sqlite", API_KEY)


async def test_a_page_whose_text_cannot_be_had_shows_no_feed_secret_to_any_log_handler(
    feed_server, tmp_path
):
    """Teasers of a feed with a key whose pages give no text: one page repeats the key in
    the few words it has (the error quotes them), another redirects to a URL holding it
    under a name that says nothing.  The "full text of ... unavailable" lines a plain
    handler on the root logger gets name the page and why, without the key; the alert
    goes out from the feed's own text."""

    from bot.app import Core
    from bot.ops.logs import add_secret

    add_secret(API_KEY)  # as `newsalert run` does with each feed's secrets
    base = feed_server.url("").rstrip("/")
    items = "".join(
        f"<item><title>North Korea and US envoys hold talks, round {n}</title>"
        f"<link>{base}/{page}</link><guid>story-{n}</guid>"
        "<description>Envoys met.</description></item>"
        for n, page in enumerate(("short.html", "moved.html"))
    )
    feed_server.set(
        "/feed.xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>{base}/</link>{items}</channel></rss>",
    )
    feed_server.set(
        "/short.html",
        f"<html><body><p>Key {API_KEY}</p></body></html>",
        content_type="text/html; charset=utf-8",
    )
    feed_server.fault(
        "/moved.html", "redirect", code=302, to=f"ftp://files.example/?next={API_KEY}"
    )
    config, store, sink = _keyed_feed_with_a_subscriber(feed_server, tmp_path)
    with _PlainHandler() as plain:
        async with Core(config, store=store, sink=sink, alert_on_first_poll=True) as core:
            await core.poll_all_once()
    [short] = [line for line in plain.lines if f"full text of {base}/short.html unavail" in line]
    [moved] = [line for line in plain.lines if f"full text of {base}/moved.html unavail" in line]
    assert "no article text found (only 'Key ***')" in short, short
    assert "redirect to a non-HTTP URL 'ftp://files.example/?next=***'" in moved, moved
    [(_, alert)] = sink.sent  # one story: the second round is its copy
    assert "Envoys met." in alert, alert
    for line in plain.lines:
        assert API_KEY not in line, line


class _PlainHandler:
    """A plain handler on the root logger, as an operator's own logging set-up would add:
    what it formats (message and traceback, ``logging.Formatter``'s way) is what reached
    it, with none of our redaction in between."""

    def __init__(self, libraries: int = 30) -> None:  # logging.WARNING
        import logging

        self.lines: list[str] = []
        self.libraries = libraries
        outer = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                outer.lines.append(logging.Formatter().format(record))

        self.handler = Handler(logging.DEBUG)

    def __enter__(self) -> _PlainHandler:
        import logging

        from bot.ops.logs import THIRD_PARTY

        root = logging.getLogger()
        self._levels = {name: logging.getLogger(name).level for name in ("", *THIRD_PARTY)}
        root.addHandler(self.handler)
        root.setLevel(logging.DEBUG)
        for name in THIRD_PARTY:  # as setup_logging leaves them below -vv (by default)
            logging.getLogger(name).setLevel(self.libraries)
        return self

    def __exit__(self, *exc: object) -> None:
        import logging

        logging.getLogger().removeHandler(self.handler)
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)


async def test_fetch_errors_and_a_parser_bug_show_no_secret_to_any_log_handler(
    tmp_path, monkeypatch
):
    """A credentialed feed that fails every way (connection refused, HTTP 500, 401, a
    timeout): the FetchError itself (its url, message, traceback with its causes, pickled
    form) holds only the redacted URL.  And with an unexpected exception in the parser
    whose text repeats the URL and the secrets: what a plain handler on the root logger
    gets (messages and tracebacks, no redaction of ours) shows neither secret, nor do the
    poll results or the database; the record still says which feed and what was raised."""
    import pickle
    import socket
    import traceback

    import pytest

    import bot.pipeline as pipeline_module
    from bot.config.loader import load_config
    from bot.errors import FetchError
    from bot.ingest.fetch import Fetcher
    from bot.pipeline import Pipeline, sync_config
    from storage.database import open_database
    from storage.store import Store
    from tests.helpers import QUIET_FEED, rss

    def parser_bug(body, *, url, secrets, **_options):  # type: ignore[no-untyped-def]
        # a stand-in for a bug in parse_feed that echoes what it was given
        try:
            raise KeyError(" ".join(secrets))
        except KeyError as e:
            raise ValueError(f"cannot read the entries of {url}") from e

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    async with FeedServer() as server, Fetcher(read_timeout=0.5, total_timeout=2) as fetcher:
        server.fault("/500.xml", "status", code=500)
        server.fault("/401.xml", "status", code=401)
        server.fault("/slow.xml", "timeout", delay=10)
        server.set("/bug.xml", rss(QUIET_FEED))
        hosts = {
            "network": f"127.0.0.1:{closed}/feed.xml",
            "http": f"127.0.0.1:{server.port}/500.xml",
            "unauthorized": f"127.0.0.1:{server.port}/401.xml",
            "timeout": f"127.0.0.1:{server.port}/slow.xml",
            "error": f"127.0.0.1:{server.port}/bug.xml",
        }
        urls = {
            k: f"http://reader:{PASSWORD}@{h}?api_key={API_KEY}&id=42" for k, h in hosts.items()
        }
        for kind, url in list(urls.items())[:4]:
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(url)
            error = caught.value
            assert error.kind == kind
            assert error.url == f"http://***@{hosts[kind]}?api_key=***&id=42", error.url
            shown = [str(error), repr(error.args), "".join(traceback.format_exception(error))]
            for text in (error.url, *shown, pickle.dumps(error).decode("latin-1")):
                assert PASSWORD not in text and API_KEY not in text, (kind, text)

        toml = tmp_path / "config.toml"
        toml.write_text(
            f'[storage]\npath = "{tmp_path / "bot.db"}"\n'
            + "".join(f'[[feeds]]\nurl = "{u}"\n' for u in urls.values())
        )
        config = load_config(toml, env={})
        store = Store(open_database(tmp_path / "bot.db"))
        pipeline = Pipeline(store, config, fetcher=fetcher)
        monkeypatch.setattr(pipeline_module, "parse_feed", parser_bug)
        with _PlainHandler() as plain:
            results = [await pipeline.poll(feed) for feed in sync_config(store, config)]
        store.close()
    assert [r.error_kind for r in results] == list(hosts), results
    [bug] = [line for line in plain.lines if "unexpected error while polling" in line]
    assert f"feed http://{hosts['error']}?api_key=***&id=42: unexpected" in bug, bug
    assert "ValueError: cannot read the entries of" in bug and "KeyError" in bug, bug
    assert len([line for line in plain.lines if " failed (" in line]) == len(hosts), plain.lines
    for text in (*plain.lines, *(r.error or "" for r in results)):
        assert PASSWORD not in text and API_KEY not in text, text
    assert_no_secrets(tmp_path / "bot.db", PASSWORD, API_KEY)


def _keyed_feed_with_a_subscriber(feed_server: FeedServer, tmp_path: Path) -> tuple[Any, Any, Any]:
    """A config whose one feed (``feed_server``'s /feed.xml) takes our key from the
    environment, its store with chat 1 following korea-diplomacy, and a console sink."""
    from bot.config.loader import config_from_dict
    from bot.delivery.sinks import ConsoleSink
    from bot.service.chats import ChatInfo
    from bot.service.subscriptions import subscribe
    from storage.store import Store

    config = config_from_dict(
        {
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "feeds": [{"url": feed_server.url("/feed.xml") + "?api_key=${FEED_KEY}"}],
        },
        env={"FEED_KEY": API_KEY},
    )
    store = Store.open(config.storage.path)
    subscribe(store, config.topics, ChatInfo(chat_id=1), "korea-diplomacy")
    return config, store, ConsoleSink(io.StringIO())


def _leaky_old_database(server: FeedServer, tmp_path: Path) -> tuple[Path, str, Any]:
    """A database as the version before m023 left it: the feed of ``server`` (its leaky
    items, served at /feed.xml) stored with its articles, our key and password in their
    links; returns the database's path, the feed's URL with its credentials, and the parse."""
    import sqlite3

    import sqlite_utils

    from bot.credentials import public_feed_url
    from bot.ingest.parse import parse_feed
    from storage.migrations import MIGRATIONS
    from storage.store import Store
    from tests.helpers import QUIET_FEED, rss

    host = f"127.0.0.1:{server.port}"
    body = rss(QUIET_FEED, site="").replace("</channel>", _leaky_items(host) + "</channel>")
    server.set("/feed.xml", body)
    full = f"http://reader:{PASSWORD}@{host}/feed.xml?api_key={API_KEY}"
    path = tmp_path / "bot.db"
    old = sqlite_utils.Database(sqlite3.connect(path))
    MIGRATIONS.apply(old, stop_before="m023_feed_secrets_scrubbed")
    old["feeds"].insert(
        {"id": 1, "url": public_feed_url(full), "primed": 1, "status": "ok",
         "added_at": "2024-05-01T08:00:00+00:00"}
    )  # fmt: skip
    parsed = parse_feed(body.encode(), url=public_feed_url(full))  # no secrets: old code
    Store(old).articles.add_new(1, parsed.articles, processed=True)
    old.conn.commit()
    old.close()
    return path, full, parsed


async def test_the_start_up_scrub_runs_off_the_loop_and_healthz_answers_meanwhile(
    tmp_path, monkeypatch
):
    """A database an older version left with our key and password in a feed's rows, and a
    config that now gives that feed's credentials: at start the scrub runs in a thread on
    its own connection, after the ops server is up.  While it is held at its start,
    /healthz answers and the feed has not been fetched; once it is let go, the bot starts,
    polls the feed, and every row is clean (the file's bytes too), the feed marked."""
    import asyncio

    import httpx

    from bot.app import Core
    from bot.config.loader import load_config
    from tests.helpers import wait_until

    async with FeedServer() as server:
        host = f"127.0.0.1:{server.port}"
        path, full, parsed = _leaky_old_database(server, tmp_path)
        toml = tmp_path / "config.toml"
        toml.write_text(
            f'[storage]\npath = "{path}"\n[metrics]\nlisten = "127.0.0.1:0"\n'
            f'[fetch]\nfull_text = false\n[polling]\njitter = 0\n[[feeds]]\nurl = "{full}"\n'
        )
        started, release, held = _hold_the_scrub(monkeypatch, timeout=10)
        async with Core(load_config(toml)) as core, httpx.AsyncClient(timeout=5) as client:
            starting = asyncio.create_task(core.start())
            await wait_until(started.is_set, timeout=20, what="the start-up scrub to start")
            assert core.ops_server is not None
            health = await client.get(f"{core.ops_server.url}/healthz")
            hits_while_held = server.hits("/feed.xml")
            release.set()
            await starting
            await wait_until(lambda: server.hits("/feed.xml") >= 1, what="the first poll")
            await wait_until(
                lambda: core.store.db.execute("SELECT last_polled FROM feeds").fetchone()[0],
                what="the first poll recorded",
            )
            rows = core.store.db.execute(
                "SELECT entry_id, link, image FROM articles ORDER BY id"
            ).fetchall()
            [marked] = core.store.db.execute("SELECT secrets_scrubbed FROM feeds").fetchone()
            count = core.store.db["articles"].count
    assert held == [True], "the start-up scrub held the event loop: /healthz waited for it"
    assert health.status_code in (200, 503) and "status" in health.json(), health.text
    assert hits_while_held == 0, "the feed was fetched before its old secrets were scrubbed"
    assert marked == 1 and count == len(parsed.articles)  # the poll found no entry anew
    assert (f"http://{host}/eruption-1?api_key=***", f"http://{host}/eruption-1?id=7&api_key=***",
            f"http://{host}/img/1.jpg?api_key=***") in rows  # fmt: skip
    assert_no_secrets(path, API_KEY, PASSWORD)


async def test_a_one_shot_poll_scrubs_old_secrets_off_the_loop_before_polling(
    tmp_path, monkeypatch
):
    """``Core.poll_all_once`` (the demo's and the tests' one pass) on a database an older
    version left with our key in a feed's rows: the scrub runs as at start, in a thread,
    so the loop goes on meanwhile (here: the task that lets the held scrub go, and the feed
    server on the same loop); the feed is fetched only once it is done, and rows are clean."""
    import asyncio

    from bot.app import Core
    from bot.config.loader import load_config
    from bot.delivery.sinks import ConsoleSink
    from tests.helpers import wait_until

    async with FeedServer() as server:
        host = f"127.0.0.1:{server.port}"
        path, full, _parsed = _leaky_old_database(server, tmp_path)
        toml = tmp_path / "config.toml"
        toml.write_text(
            f'[storage]\npath = "{path}"\n[fetch]\nfull_text = false\n[[feeds]]\nurl = "{full}"\n'
        )
        started, release, held = _hold_the_scrub(monkeypatch, timeout=5)
        hits_while_held: list[int] = []

        async def let_it_go() -> None:
            await wait_until(started.is_set, timeout=10, what="the scrub to start")
            hits_while_held.append(server.hits("/feed.xml"))
            release.set()

        async with Core(load_config(toml), sink=ConsoleSink(io.StringIO())) as core:
            releaser = asyncio.ensure_future(let_it_go())
            [result] = await core.poll_all_once()
            await asyncio.wait_for(releaser, timeout=10)
            rows = core.store.db.execute("SELECT entry_id, link FROM articles").fetchall()
            [marked] = core.store.db.execute("SELECT secrets_scrubbed FROM feeds").fetchone()
    assert held == [True], "the one-shot poll's scrub held the event loop"
    assert hits_while_held == [0], "the feed was fetched before its old secrets were scrubbed"
    assert not result.error and result.new_articles == 0 and marked == 1, result
    clean = (f"http://{host}/eruption-1?api_key=***", f"http://{host}/eruption-1?id=7&api_key=***")
    assert clean in rows, rows
    assert_no_secrets(path, API_KEY, PASSWORD)


def test_the_scrub_masks_bare_secrets_in_old_titles_and_summaries_as_new_content(tmp_path):
    """An older version stored a feed's titles and summaries that name our key and password
    as words (no ``name=`` before them, no URL around them): new content has them masked
    (``mask_secrets``), and so does the scrub of the old rows, in the articles and in what
    copies them (stories, feedback), the title key following its title; neither secret is
    left in any value nor in the bytes of the SQLite file, in any case."""
    import sqlite3

    import sqlite_utils

    from bot.config.loader import config_from_dict
    from bot.credentials import public_feed_url, secret_values, text_without_secrets
    from bot.ingest.parse import parse_feed
    from bot.pipeline import sync_config
    from storage.articles import title_key
    from storage.database import open_database
    from storage.migrations import MIGRATIONS
    from storage.store import Store
    from tests.helpers import rss

    full = f"https://reader:{PASSWORD}@news.example/rss?api_key={API_KEY}"
    title = f"Ash cloud over the {API_KEY} island"
    summary = f"Lava and ash. The pass was {PASSWORD}, and the key {API_KEY}."
    body = rss([("ash-1", title, summary)]).encode()
    new = parse_feed(body, url=full, secrets=secret_values(full)).articles[0]
    assert new.title == "Ash cloud over the *** island"
    assert new.title == text_without_secrets(title, secret_values(full))
    path = tmp_path / "bot.db"
    old = sqlite_utils.Database(sqlite3.connect(path))  # as the version before m023
    MIGRATIONS.apply(old, stop_before="m023_feed_secrets_scrubbed")
    t = "2024-05-01T08:00:00+00:00"
    old["feeds"].insert({"id": 1, "url": public_feed_url(full), "added_at": t, "status": "ok"})
    old["chats"].insert({"chat_id": CHANNEL, "type": "channel", "created_at": t})
    [stored] = Store(old).articles.add_new(
        1, parse_feed(body, url=public_feed_url(full)).articles, processed=True
    )  # no secrets given: the old code
    old["stories"].insert({"id": 1, "title": title, "lead": summary, "first_seen": t})
    old["feedback"].insert(
        {"chat_id": CHANNEL, "article_id": stored.key, "vote": 1, "title": title, "created_at": t}
    )
    old.conn.commit()
    old.close()
    assert API_KEY.casefold().encode() in path.read_bytes()  # the title key, folded

    config = config_from_dict({"feeds": [{"url": full}], "storage": {"path": str(path)}}, env={})
    store = Store(open_database(path))
    sync_config(store, config)
    row = store.db["articles"].get(stored.key)
    story = store.db["stories"].get(1)
    [feedback] = store.db.execute("SELECT title FROM feedback").fetchall()
    store.close()
    assert row["title"] == new.title and row["summary"] == new.summary, row
    assert row["title_key"] == title_key(new.title), row
    assert (story["title"], story["lead"], feedback[0]) == (new.title, new.summary, new.title)
    assert_no_secrets(path, API_KEY, PASSWORD, API_KEY.casefold(), PASSWORD.casefold())


async def test_doctors_log_of_a_check_that_raised_shows_no_feed_secret_to_any_handler(
    tmp_path, monkeypatch
):
    """`doctor` logs the traceback of a check that raised (for -v): a plain handler on the
    root logger gets it without the credentialed feed's secrets, though the exception's
    text repeated the URL it was given; the record still names the check and the error."""
    from importlib import resources

    import bot.ingest.parse as parse_module
    from bot.ops.doctor import diagnose

    def parser_bug(body, *, url, **_options):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"parser exploded reading {url}")

    async with FeedServer() as server:
        server.set("/feed.xml", (resources.files("bot.data") / "demo_feed.xml").read_bytes())
        url = server.url("/feed.xml").replace("http://", f"http://reader:{PASSWORD}@")
        config = tmp_path / "config.toml"
        config.write_text(
            f'[storage]\npath = "{tmp_path / "bot.db"}"\n'
            f'[[feeds]]\nurl = "{url}?api_key={API_KEY}"\n'
        )
        monkeypatch.setattr(parse_module, "parse_feed", parser_bug)
        with _PlainHandler() as plain:
            findings = [f for f in await diagnose(config, env={}, timeout=5) if f.area == "feed"]
    assert findings and findings[0].status == "FAIL", findings
    [stopped] = [line for line in plain.lines if "check of" in line and "stopped" in line]
    assert "RuntimeError: parser exploded reading http://***@" in stopped, stopped
    for text in plain.lines:
        assert PASSWORD not in text and API_KEY not in text, text


async def test_an_article_that_fails_shows_no_feed_secret_to_any_log_handler(
    feed_server, tmp_path, monkeypatch
):
    """An article of a credentialed feed whose processing raises, with an exception whose
    text repeats the feed's key (as the page or entry it came from did): the "tried again"
    and "giving up" lines a plain handler on the root logger gets show no key, yet still
    say which article and what was raised (the traceback, redacted)."""
    import io

    import bot.pipeline as pipeline_module
    from bot.app import Core
    from bot.config.loader import config_from_dict
    from bot.delivery.sinks import ConsoleSink
    from bot.service.chats import ChatInfo
    from bot.service.subscriptions import subscribe
    from storage.store import Store

    base = feed_server.url("").rstrip("/")
    feed_server.set(
        "/feed.xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>{base}/</link><item><title>North Korea and US envoys hold talks on "
        f"denuclearisation</title><link>{base}/story.html?api_key={API_KEY}</link>"
        "<guid>story-1</guid><description>Envoys met.</description></item></channel></rss>",
    )

    def summary_bug(article, *, max_chars):  # type: ignore[no-untyped-def]
        # a stand-in for a bug in the summariser whose words repeat the key
        raise ValueError(f"cannot summarise {base}/story.html?api_key={API_KEY} ({API_KEY})")

    config = config_from_dict(
        {
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "fetch": {"full_text": False},
            "performance": {"workers": "inline"},
            "feeds": [{"url": feed_server.url("/feed.xml") + "?api_key=${FEED_KEY}"}],
        },
        env={"FEED_KEY": API_KEY},
    )
    store = Store.open(config.storage.path)
    subscribe(store, config.topics, ChatInfo(chat_id=1), "korea-diplomacy")
    monkeypatch.setattr(pipeline_module, "summarize", summary_bug)
    sink = ConsoleSink(io.StringIO())
    with _PlainHandler() as plain:
        async with Core(config, store=store, sink=sink, alert_on_first_poll=True) as core:
            await core.poll_all_once()
            for _ in range(pipeline_module.MAX_ARTICLE_FAILURES - 1):
                await core.pipeline.alert_unprocessed()
    failed = [line for line in plain.lines if "tried again" in line or "giving up" in line]
    assert len(failed) == pipeline_module.MAX_ARTICLE_FAILURES, plain.lines
    assert "ValueError: cannot summarise" in failed[0] and "summary_bug" in failed[0], failed
    assert f"({base}/story.html?api_key=***) failed 3 times; giving up" in failed[-1], failed
    assert sink.sent == []
    for line in plain.lines:
        assert API_KEY not in line, line


async def test_a_reload_that_fails_shows_no_feed_secret_in_the_log_or_the_reply(
    telegram_api, tmp_path, monkeypatch
):
    """/reload adds a credentialed feed and applying it fails with an exception whose text
    holds the feed's URL, secrets and all (a stand-in for the store): a plain handler on
    the root logger and the operator's reply show neither secret; the reply says the file
    was fine, which key the database is and what to do, and the configuration is kept."""
    import sqlite3

    from bot.app import Core
    from bot.config.loader import load_config
    from tests.chatbot import OPERATOR as ADMIN
    from tests.chatbot import ChatDriver

    full = f"http://reader:{PASSWORD}@127.0.0.1:9/feed.xml?api_key={API_KEY}"
    path = tmp_path / "bot.db"
    toml = tmp_path / "config.toml"
    head = (
        f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{telegram_api.base_url}"\n'
        f'poll_timeout = "1s"\nadmins = [{ADMIN}]\n[storage]\npath = "{path}"\n'
    )
    toml.write_text(head)

    def store_bug(feeds):  # type: ignore[no-untyped-def]
        # a stand-in for the store refusing, with what it was given in its words
        raise sqlite3.OperationalError(f"cannot write {' '.join(f.url for f in feeds)}")

    with _PlainHandler() as plain:
        async with Core(load_config(toml)) as core:
            await core.start()
            bot = ChatDriver(telegram_api, core)
            monkeypatch.setattr(core.store.feeds, "upsert_many", store_bug)
            toml.write_text(head + f'[[feeds]]\nurl = "{full}"\n')
            reply = (await bot.send(ADMIN, "/reload", user_id=ADMIN))["text"]
            feeds = len(core.config.feeds)
    [logged] = [line for line in plain.lines if "reload: could not apply" in line]
    assert "OperationalError: cannot write http://***@127.0.0.1:9/feed.xml?api_key=***" in logged
    assert "store_bug" in logged, logged  # the traceback is there, redacted
    assert "I kept the current configuration." in reply and "the file has" not in reply, reply
    assert f"storage.path: the database {path} refused the change" in reply, reply
    assert "OperationalError: cannot write" in reply and "/reload again" in reply, reply
    assert feeds == 0
    for text in (*plain.lines, reply):
        assert PASSWORD not in text and API_KEY not in text, text


async def test_prune_digest_and_sender_failures_show_no_bot_token_to_any_log_handler(
    tmp_path, monkeypatch
):
    """The background jobs' failures (pruning, digests, sending, reading the outbox) with an
    exception whose text holds a Bot API URL, the token in it (as an HTTP library's error
    may): a plain handler on the root logger gets each failure with its traceback and the
    URL, the token redacted."""
    import asyncio
    import io

    import bot.delivery.digest as digest_module
    from bot.app import Core
    from bot.config.loader import config_from_dict
    from bot.delivery.sinks import ConsoleSink
    from bot.ops.logs import add_secret
    from tests.helpers import wait_until

    add_secret(TOKEN)  # as `newsalert run` does with the configured token
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    secret_half = TOKEN.split(":", 1)[1]

    def bug(*_args: object, **_kwargs: object) -> int:  # a stand-in for a library's error
        raise ConnectionError(f"POST {url} failed (token {secret_half})")

    async def async_bug() -> int:
        return bug()

    config = config_from_dict({"storage": {"path": str(tmp_path / "db.sqlite")}})
    with _PlainHandler() as plain:
        async with Core(config, sink=ConsoleSink(io.StringIO())) as core:
            core.prune = bug  # type: ignore[method-assign]
            monkeypatch.setattr(digest_module, "make_due_digests", bug)
            await core._prune_job()
            await core._digest_job()
            core.sender.drain = async_bug  # type: ignore[method-assign]
            core.sender.next_due_in = bug  # type: ignore[method-assign]
            loop = asyncio.ensure_future(core._sender_loop())
            try:
                await wait_until(
                    lambda: any("could not read the outbox" in line for line in plain.lines),
                    timeout=10,
                    what="the sender loop's failures",
                )
            finally:
                core._stopping = True
                core._wake_sender()
                await asyncio.wait_for(loop, timeout=10)
    wanted = ("pruning old", "making digests", "sending failed", "could not read the outbox")
    for event in wanted:
        [line] = [line for line in plain.lines if event in line][:1]
        assert "ConnectionError: POST https://api.telegram.org/bot***/sendMessage" in line, line
        assert "Traceback" in line and "bug" in line, line
    for line in plain.lines:
        assert TOKEN not in line and secret_half not in line, line


async def test_an_unexpected_send_error_shows_no_bot_token_to_any_log_handler_or_the_db(tmp_path):
    """A send that raises an unexpected error whose text holds a Bot API URL, the token in
    it: a plain handler on the root logger gets the failure with its traceback, and the
    outbox row its reason, with the URL but not the token (nor its secret half)."""
    from bot.delivery.sender import Sender
    from bot.ops.logs import add_secret
    from storage.store import Store
    from tests.helpers import Outbox, ScriptedSink

    add_secret(TOKEN)  # as `newsalert run` does with the configured token
    secret_half = TOKEN.split(":", 1)[1]
    path = tmp_path / "db.sqlite"
    store = Store.open(str(path))
    sink = ScriptedSink()
    Outbox(store).alert(1)
    error = RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage ({secret_half})")
    sink.script[1] = [error]
    with _PlainHandler() as plain:
        assert await Sender(store, sink).drain() == 0
    [(reason,)] = store.db.execute("SELECT reason FROM deliveries").fetchall()
    store.close()
    [line] = [line for line in plain.lines if "unexpected error while sending" in line]
    assert "RuntimeError: POST https://api.telegram.org/bot***/sendMessage (***)" in line, line
    assert "Traceback" in line, line
    assert reason == "RuntimeError: POST https://api.telegram.org/bot***/sendMessage (***)", reason
    for text in plain.lines:
        assert TOKEN not in text and secret_half not in text, text
    assert_no_secrets(path, TOKEN, secret_half)

    # python-telegram-bot's NetworkError (an HTTP library's words) becomes a Transient
    # (what the row keeps) without the token
    import pytest
    from telegram.error import NetworkError

    from bot.delivery.sinks import Transient
    from bot.delivery.telegram_sink import _translated

    async def network_error() -> int:
        raise NetworkError(f"httpx.ConnectError: https://api.telegram.org/bot{TOKEN}/getMe")

    with pytest.raises(Transient) as caught:
        await _translated(network_error())
    assert "https://api.telegram.org/bot***/getMe" in str(caught.value), caught.value
    assert TOKEN not in str(caught.value) and secret_half not in str(caught.value)


async def test_a_command_whose_reply_fails_shows_no_bot_token_to_any_log_handler(
    telegram_api, tmp_path
):
    """A /help whose reply Telegram refuses with words that hold a Bot API URL, the token in
    it (as an HTTP library's error may): the error handler's "error while handling an
    update" line a plain handler on the root logger gets has the traceback, the URL, and
    not the token; the person is still told something went wrong."""
    from bot.app import Core
    from bot.config.loader import config_from_dict
    from bot.ops.logs import add_secret
    from tests.chatbot import ChatDriver

    add_secret(TOKEN)  # as `newsalert run` does with the configured token
    secret_half = TOKEN.split(":", 1)[1]
    config = config_from_dict(
        {
            "telegram": {"token": TOKEN, "base_url": telegram_api.base_url, "poll_timeout": "1s"},
            "storage": {"path": str(tmp_path / "db.sqlite")},
        }
    )
    with _PlainHandler() as plain:
        async with Core(config) as core:
            await core.start()
            telegram_api.fail_next(
                "sendMessage",
                error_code=500,
                description=f"Internal: {telegram_api.url}/bot{TOKEN}",
            )
            told = (await ChatDriver(telegram_api, core).send(5, "/help", user_id=5))["text"]
    [line] = [line for line in plain.lines if "error while handling an update" in line]
    assert "Traceback" in line and "NetworkError: Internal: http://127.0.0.1:" in line, line
    assert "/bot***" in line, line
    assert "something went wrong" in told, told
    for text in plain.lines:
        assert TOKEN not in text and secret_half not in text, text


async def test_a_core_an_embedding_script_builds_keeps_the_token_out_of_reasons_and_logs(
    telegram_api, tmp_path, monkeypatch
):
    """A Core built and started by an operator's own script (no CLI, so nobody called
    ``add_secret``) against a Bot API whose refusals repeat the token (a 400, a 403, a 500
    whose words hold a Bot API URL): the reasons the outbox and the chats keep, and what a
    plain handler on the root logger gets, hold neither the token nor its secret half."""
    import bot.ops.logs as logs_module
    import bot.text as text_module
    from bot.app import Core
    from bot.config.loader import config_from_dict
    from tests.helpers import Outbox, wait_until

    # a fresh process's redactor: no secret registered yet (other tests add the token)
    monkeypatch.setattr(logs_module._redactor, "secrets", [])
    monkeypatch.setattr(text_module, "_KNOWN_SECRETS", set())
    secret_half = TOKEN.split(":", 1)[1]
    leak = f"see {telegram_api.url}/bot{TOKEN}/sendMessage ({secret_half})"
    path = tmp_path / "db.sqlite"
    config = config_from_dict(
        {
            "telegram": {"token": TOKEN, "base_url": telegram_api.base_url, "poll_timeout": "1s"},
            "storage": {"path": str(path)},
            "delivery": {"max_attempts": 1},
        }
    )
    faults = {11: (400, "Bad Request: odd"), 12: (403, "Forbidden: odd"), 13: (500, "Internal")}
    for chat_id, (code, words) in faults.items():
        telegram_api.fail_next(
            "sendMessage", error_code=code, description=f"{words}: {leak}", chat_id=chat_id
        )
    with _PlainHandler() as plain:
        async with Core(config) as core:
            await core.start()
            outbox = Outbox(core.store)
            for chat_id in faults:
                outbox.alert(chat_id)
            core._wake_sender()

            def failed() -> list[str]:
                rows = core.store.db.execute(
                    "SELECT reason FROM deliveries WHERE state = 'failed'"
                ).fetchall()
                return [r[0] for r in rows] if len(rows) == 3 else []

            reasons = await wait_until(failed, timeout=20, what="three failed deliveries")
    # python-telegram-bot lowers the case of a 400's words, the token's letters with them
    for reason in reasons:
        assert f"{telegram_api.url}/bot***/sendmessage (***)" in reason.lower(), reason
    failures = [line for line in plain.lines if "failed: " in line or "unavailable" in line]
    assert len(failures) == 3, plain.lines
    for text in plain.lines:
        assert TOKEN.lower() not in text.lower() and secret_half.lower() not in text.lower()
    assert_no_secrets(path, TOKEN, secret_half, TOKEN.lower(), secret_half.lower())


@contextlib.contextmanager
def _vv_logging():  # type: ignore[no-untyped-def]
    """Logging as `newsalert -vv` sets it up (every library at DEBUG, their records redacted
    as they are made), undone afterwards."""
    import logging
    import threading

    from bot.ops.logs import THIRD_PARTY, setup_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook, threading.excepthook)
    levels = {name: logging.getLogger(name).level for name in THIRD_PARTY}
    setup_logging(verbose=2)
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        sys.excepthook, threading.excepthook = saved[2], saved[3]
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        logging.captureWarnings(False)


async def test_a_page_on_the_feeds_own_origin_is_fetched_with_its_key_and_no_other_host_gets_it(
    feed_server, tmp_path, monkeypatch
):
    """Teasers of a feed with a password and a key whose links repeat the key (stored as
    ``api_key=***``): the page on the feed's own origin (scheme, host, port) is fetched
    with the real key and the password, as the feed is, and its text used; a page on
    another origin (another port here) gets the link without the masked parameter, never
    ``***`` nor the key, and no password; pages that answer 404 or time out are
    logged by the link as stored.  At -vv, a plain handler on the root logger (httpx's
    request lines included), the database and the errors hold no key; no ``add_secret``
    was called (an embedding script's Core)."""
    import base64
    import io
    import logging

    import bot.ops.logs as logs_module
    import bot.text as text_module
    from bot.app import Core
    from bot.config.loader import config_from_dict
    from bot.delivery.sinks import ConsoleSink
    from bot.service.chats import ChatInfo
    from bot.service.subscriptions import subscribe
    from storage.store import Store
    from tests.helpers import STORY_PAGE

    monkeypatch.setattr(logs_module._redactor, "secrets", [])  # no secret registered yet
    monkeypatch.setattr(text_module, "_KNOWN_SECRETS", set())
    async with FeedServer() as elsewhere:
        base, other = feed_server.url("").rstrip("/"), elsewhere.url("").rstrip("/")
        host = base.removeprefix("http://")
        links = {
            "own": f"{base}/story.html?api_key={API_KEY}&id=1",
            "other": f"{other}/other.html?id=2&api_key={API_KEY}",
            "missing": f"{base}/missing.html?api_key={API_KEY}&id=3",
            "slow": f"{base}/slow.html?api_key={API_KEY}&id=4",
        }
        topics = {"own": "talks", "other": "summit", "missing": "sanctions", "slow": "visit"}
        items = "".join(
            f"<item><title>North Korea {topics[name]} with US envoys on denuclearisation "
            f"({name})</title><link>{link.replace('&', '&amp;')}</link><guid>{name}</guid>"
            "<description>Envoys met.</description></item>"
            for name, link in links.items()
        )
        feed_server.set(
            "/feed.xml",
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
            f"<link>{base}/</link>{items}</channel></rss>",
        )
        html = "text/html; charset=utf-8"
        feed_server.set("/story.html", STORY_PAGE, content_type=html)
        elsewhere.set("/other.html", STORY_PAGE.replace("Panmunjom", "Geneva"), content_type=html)
        feed_server.fault("/missing.html", "status", code=404)
        feed_server.fault("/slow.html", "timeout", delay=30)
        config = config_from_dict(
            {
                "storage": {"path": str(tmp_path / "db.sqlite")},
                "fetch": {"allow_private": ["127.0.0.1"], "read_timeout": 1},
                "feeds": [
                    {"url": f"http://reader:{PASSWORD}@{host}/feed.xml?api_key=${{FEED_KEY}}"}
                ],
            },
            env={"FEED_KEY": API_KEY},
        )
        store = Store.open(config.storage.path)
        subscribe(store, config.topics, ChatInfo(chat_id=1), "korea-diplomacy")
        sink = ConsoleSink(io.StringIO())
        with _vv_logging(), _PlainHandler(libraries=logging.DEBUG) as plain:
            async with Core(config, store=store, sink=sink, alert_on_first_poll=True) as core:
                await core.poll_all_once()
                rows = store.db.execute("SELECT entry_id, link, content FROM articles")
                stored = {  # guids resolved against the feed: {base}/own
                    entry.rsplit("/", 1)[-1]: (link, content)
                    for entry, link, content in rows.fetchall()
                }
        pages = [r.path for r in feed_server.requests if not r.path.startswith("/feed.xml")]
        auth = {r.headers.get("Authorization") for r in feed_server.requests}
        others = [r.path for r in elsewhere.requests]
        other_auth = [r.headers.get("Authorization") for r in elsewhere.requests]
    assert sorted(pages) == sorted(
        [
            f"/story.html?api_key={API_KEY}&id=1",
            f"/missing.html?api_key={API_KEY}&id=3",
            f"/slow.html?api_key={API_KEY}&id=4",
        ]
    ), pages
    assert auth == {"Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()}
    assert others == ["/other.html?id=2"] and other_auth == [None], (others, other_auth)
    assert stored["own"][0] == f"{base}/story.html?api_key=***&id=1"  # the article's identity
    assert stored["other"][0] == f"{other}/other.html?id=2&api_key=***"
    assert "Panmunjom" in stored["own"][1] and "Geneva" in stored["other"][1], stored
    assert not stored["missing"][1] and not stored["slow"][1], stored  # the feed's teaser
    [missing] = [line for line in plain.lines if f"of {base}/missing.html?api_key=***" in line]
    assert "unavailable" in missing and "HTTP 404" in missing, missing
    [slow] = [line for line in plain.lines if f"full text of {base}/slow.html?api_key=***" in line]
    assert "timed out" in slow, slow
    requests = [line for line in plain.lines if line.startswith("HTTP Request: GET")]
    assert any(f"{host}/story.html?api_key=***&id=1" in line for line in requests), requests
    for line in plain.lines:
        assert API_KEY not in line and PASSWORD not in line, line
    assert_no_secrets(tmp_path / "db.sqlite", API_KEY, PASSWORD)


def test_a_page_gets_the_feeds_credentials_back_only_on_the_feeds_own_origin():
    """``page_to_fetch``: a stored link on the feed's origin (scheme, host, port; the
    default port spelled or not) gets each masked parameter the feed's URL has by that
    name, and its userinfo; another host, port or scheme (https for an http feed too) gets
    the link without its masked parameters, as readers do; what the feed's URL has not
    (``sig=***``, a parameter masked for its value) is dropped, never sent as ``***``."""
    from bot.credentials import page_to_fetch

    feed = f"https://reader:{PASSWORD}@news.example/rss?api_key={API_KEY}&id=1"
    own = "https://news.example/a/1?api_key=***&page=2"
    assert page_to_fetch(own, feed) == (
        f"https://reader:{PASSWORD}@news.example/a/1?api_key={API_KEY}&page=2"
    )
    assert page_to_fetch("https://NEWS.example:443/a?sig=***&x=***&api_key=***", feed) == (
        f"https://reader:{PASSWORD}@NEWS.example:443/a?api_key={API_KEY}"
    )
    for elsewhere in (
        "https://evil.example/a/1?api_key=***&page=2",
        "https://news.example:8443/a/1?api_key=***&page=2",
        "http://news.example/a/1?api_key=***&page=2",
        "https://news.example.evil.example/a/1?api_key=***&page=2",
    ):
        fetched = page_to_fetch(elsewhere, feed)
        assert fetched == elsewhere.replace("api_key=***&", ""), fetched
        assert API_KEY not in fetched and PASSWORD not in fetched
    assert page_to_fetch(own, None) == "https://news.example/a/1?page=2"
    # a link whose host two parsers could read differently: rebuilt, it goes to one host
    import httpx

    tricky = page_to_fetch("https://evil.example\\@news.example/a?api_key=***", feed)
    assert httpx.URL(tricky).host == "news.example" and "evil" not in tricky, tricky
    assert page_to_fetch("https://news.example/a/1?id=42", feed) == (
        f"https://reader:{PASSWORD}@news.example/a/1?id=42"
    )


def test_a_token_given_as_the_user_name_alone_is_a_secret_like_a_password():
    """``https://TOKEN@host/feed`` (no password: the user name is the credential, as many
    APIs take a token): the token is hidden from the stored URL and from what the feed
    repeats in its text, as a password is; a user name beside a password is not."""
    from bot.credentials import public_feed_url, secret_values
    from bot.ingest.parse import parse_feed

    token = "tok_9f8e7d6c5b4a39281706"
    url = f"https://{token}@news.example/feed.xml"
    assert secret_values(url) == [token]
    assert secret_values(f"https://reader:{PASSWORD}@news.example/") == [PASSWORD]
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        "<link>https://news.example/</link><item><guid>a-1</guid><title>Lava</title>"
        f"<link>https://news.example/a-1?t={token}</link>"
        f"<description>Your token {token} is valid.</description></item></channel></rss>"
    ).encode()
    [article] = parse_feed(body, url=url).articles
    assert token not in repr(article)
    assert public_feed_url(url) == "https://news.example/feed.xml"


def test_a_key_a_server_re_encodes_in_lower_case_or_as_a_form_is_hidden_too():
    """A key with characters a URL encodes (``/``, ``+``, ``=``, a space): a feed or a
    redirect may carry it %-encoded in lower-case hex, or with ``+`` for the space, as
    well as written; each spelling is hidden, and a redirect to another origin holding
    one in its path is not followed."""
    from urllib.parse import quote

    from bot.credentials import mask_secrets, redirect_target

    key = "Ab1/Cd2+Ef3=Gh4 xyz"
    for spelling in (
        key,
        "Ab1%2FCd2%2BEf3%3DGh4%20xyz",
        "Ab1%2fCd2%2bEf3%3dGh4%20xyz",
        "Ab1%2FCd2%2BEf3%3DGh4+xyz",
        "Ab1%2fCd2%2bEf3%3dGh4+xyz",
    ):
        assert mask_secrets(f"see {spelling} now", [key]) == "see *** now", spelling
        asked = f"https://news.example/feed?api_key={quote(key, safe='')}"
        assert redirect_target(f"https://other.example/{spelling}/feed", asked) is None
    assert mask_secrets("Ab1%2fcd2 is another text", [key]) == "Ab1%2fcd2 is another text"
