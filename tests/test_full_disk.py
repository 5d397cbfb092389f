"""A full disk, for real: `newsalert run` in its own process, whose file-size limit the test
lowers while it runs (RLIMIT_FSIZE, set from outside with prlimit), so every write SQLite
tries fails in the kernel as on a full disk, and raises it again to give the space back.

Before the fix an alert Telegram accepted but whose mark could not be written stayed
pending and went out again on every drain; now it goes out once, the sender pauses,
/healthz says why (503), and when space comes back the bot goes on by itself."""

from __future__ import annotations

import io
import resource
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import Core
from bot.config.loader import config_from_dict
from bot.delivery.sinks import ConsoleSink
from bot.records import Alert, Article
from storage.store import Store
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers import (
    QUIET_FEED,
    TOKEN,
    alerts_to,
    bot_process,
    config_head,
    follow_volcanoes,
    rss,
    volcano_story,
    wait_until,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs Linux prlimit on another process"
)

CHAT = 7001


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def disk_full(pid: int, full: bool) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1 if full else hard, hard))


def healthz(port: int) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    return response.status_code, response.json()


def rows(db: Path) -> list[tuple[str, int | None, str]]:
    """(state, message id, article title) of every delivery, read by a second connection."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT d.state, d.message_id, a.title FROM deliveries d "
            "JOIN articles a ON a.id = d.article_id ORDER BY d.id"
        ).fetchall()


def test_a_full_disk_sends_each_alert_once_pauses_and_resumes_by_itself(tmp_path):
    db = tmp_path / "bot.db"
    store = Store.open(db)
    follow_volcanoes(store, CHAT)
    store.close()
    port = free_port()
    log: list[str] = []
    with FakeBotAPI.in_thread(token=TOKEN) as api, FeedServer.in_thread() as feeds:
        feeds.set("/wire.xml", rss(QUIET_FEED))
        config = tmp_path / "config.toml"
        config.write_text(
            config_head(api, db)
            + f"""[metrics]
listen = "127.0.0.1:{port}"
[polling]
jitter = 0
[fetch]
full_text = false
[delivery]
retry_backoff = "3s"
[[topics]]
id = "volcanoes"
name = "Volcanoes"
query = "volcano OR eruption OR lava"
[[feeds]]
url = "{feeds.url("/wire.xml")}"
interval = "1s"
"""
        )
        bot = bot_process(config, stdout=subprocess.DEVNULL)
        assert bot.stderr is not None
        reader = threading.Thread(target=lambda: log.extend(bot.stderr), daemon=True)
        reader.start()

        def polls_later(n: int) -> None:
            """Wait until the bot polled the feed ``n`` more times (time for drains)."""
            target = feeds.hits("/wire.xml") + n
            api.wait_for(lambda: feeds.hits("/wire.xml") >= target, timeout=60)

        try:
            api.wait_for(lambda: feeds.hits("/wire.xml") >= 2, timeout=60)  # primed
            assert healthz(port)[0] == 200

            # 1. Telegram accepts the alert, then the disk is full before it is marked.
            api.slow_next("sendMessage", 2.0)
            feeds.set("/wire.xml", rss([*QUIET_FEED, volcano_story(1)]))
            api.wait_for(lambda: alerts_to(api, CHAT), timeout=30, message="the first alert")
            disk_full(bot.pid, True)
            api.wait_for(lambda: healthz(port)[0] == 503, timeout=30, message="503 while full")
            _, body = healthz(port)
            assert "database refuses writes" in body["checks"]["delivery"], body
            polls_later(7)  # longer than the sender's idle drain period (5 s)
            assert len(alerts_to(api, CHAT)) == 1, "an accepted alert went out again"

            # 2. Space comes back: the mark is written and the bot goes on by itself.
            disk_full(bot.pid, False)
            api.wait_for(lambda: healthz(port)[0] == 200, timeout=30, message="healthy again")
            api.wait_for(lambda: rows(db) and rows(db)[0][0] == "sent", timeout=30)
            [(_, message_id, _)] = rows(db)
            assert message_id == alerts_to(api, CHAT)[0]["message_id"]

            # 3. A send fails (502), is due for a retry, and the disk is full before it:
            #    its claim cannot be written, so it is not sent until space comes back.
            api.fail_next("sendMessage", error_code=502)
            feeds.set("/wire.xml", rss([*QUIET_FEED, volcano_story(1), volcano_story(2)]))
            api.wait_for(
                lambda: [c for c in api.calls_to("sendMessage") if c.error_code == 502],
                timeout=30,
            )
            api.wait_for(lambda: len(rows(db)) == 2 and rows(db)[1][0] == "pending", timeout=30)
            disk_full(bot.pid, True)
            calls_before = len(api.calls_to("sendMessage"))
            polls_later(6)  # the retry was due after 3 s
            assert len(api.calls_to("sendMessage")) == calls_before, "sent without a claim"
            assert healthz(port)[0] == 503
            disk_full(bot.pid, False)
            api.wait_for(lambda: len(alerts_to(api, CHAT)) == 2, timeout=30)
            polls_later(3)
        finally:
            if bot.poll() is None:
                disk_full(bot.pid, False)
                bot.terminate()
            try:
                bot.wait(timeout=30)
            finally:
                if bot.poll() is None:
                    bot.kill()
        reader.join(timeout=10)
    titles = [m["text"].split("\n")[0] for m in alerts_to(api, CHAT)]
    assert len(titles) == 2 and "Lava 1:" in titles[0] and "Lava 2:" in titles[1], titles
    assert [state for state, _, _ in rows(db)] == ["sent", "sent"]
    assert bot.returncode == 0, "".join(log)[-3000:]
    assert any("sending paused" in line for line in log)
    assert any("sending goes on" in line for line in log)


async def test_a_row_left_sending_by_a_crash_is_sent_again_at_start(tmp_path):
    """At least once: a crash between the claim and the mark must not lose the alert."""
    config = config_from_dict(
        {"storage": {"path": str(tmp_path / "db.sqlite")}, "telegram": {"username": "test_bot"}},
        env={},
    )
    store = Store.open(config.storage.path)
    store.chats.ensure(CHAT, type="private")
    feed = store.feeds.upsert("https://wire.example/rss")
    [stored] = store.articles.add_new(
        feed.id, [Article(id="a1", title="Lava reaches the sea", link="https://wire.example/1")]
    )
    alert = Alert(
        chat_id=CHAT, article_key=stored.key, topic="volcanoes", html="<b>Lava</b>", text="Lava",
        link="https://wire.example/1",
    )  # fmt: skip
    [row] = store.outbox.enqueue([alert])
    assert store.outbox.claim(row)  # ... and the process dies before Telegram answers
    store.close()

    sink = ConsoleSink(io.StringIO())
    core = Core(config, sink=sink)
    await core.start()
    try:
        await wait_until(lambda: sink.sent, what="the interrupted alert")
    finally:
        await core.stop()
    assert [chat for chat, _ in sink.sent] == [CHAT]
    assert [d.state for d in Store.open(config.storage.path).outbox.for_chat(CHAT)] == ["sent"]
