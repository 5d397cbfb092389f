"""Each misbehaving feed ends in a clear status, and the other feeds go on unaffected."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.app import Core
from bot.config.loader import config_from_dict
from bot.delivery.sinks import ConsoleSink
from bot.service.chats import ChatInfo
from bot.service.subscriptions import subscribe
from storage.store import Store

DEMO = (Path(__file__).resolve().parents[1] / "bot" / "data" / "demo_feed.xml").read_bytes()

FAULTS = [
    ("timeout", {"delay": 30}, "failing", "timeout"),
    ("status", {"code": 500}, "failing", "http"),
    ("status", {"code": 404}, "failing", "http"),
    ("status", {"code": 410}, "gone", "gone"),
    ("status", {"code": 429, "retry_after": 120}, "failing", "rate_limited"),
    ("redirect_loop", {}, "failing", "redirects"),
    ("huge", {"size": 50 * 1024 * 1024}, "failing", "too_large"),
    ("gzip_bomb", {}, "failing", "too_large"),
    ("empty", {}, "failing", "parse"),
    ("html", {}, "failing", "parse"),
    ("truncated", {}, "failing", None),
    ("wrong_charset", {}, "ok", None),
    ("gzip_no_header", {}, "ok", None),
]


@pytest.mark.parametrize(
    ("kind", "options", "status", "error_kind"), FAULTS, ids=[f"{f[0]}-{f[1]}" for f in FAULTS]
)
async def test_fault_gives_a_clear_status_and_spares_the_other_feeds(
    feed_server, tmp_path, kind, options, status, error_kind
):
    feed_server.set("/bad.xml", DEMO)
    feed_server.set(
        "/good.xml", DEMO.replace(b"demo-", b"good-").replace(b"example.org/", b"example.net/")
    )
    feed_server.fault("/bad.xml", kind, **options)
    config = config_from_dict(
        {
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "fetch": {
                "read_timeout": "1s",
                "connect_timeout": "1s",
                "max_bytes": 2 * 1024 * 1024,
                "full_text": False,
            },
            "feeds": [
                {"url": feed_server.url("/bad.xml"), "name": "Bad"},
                {"url": feed_server.url("/good.xml"), "name": "Good"},
            ],
        },
        env={},
    )
    store = Store.open(config.storage.path)
    subscribe(store, config.topics, ChatInfo(chat_id=1), "korea-diplomacy")
    sink = ConsoleSink(io.StringIO())
    async with Core(config, sink=sink, alert_on_first_poll=True) as core:
        results = await core.poll_all_once()
    bad = store.feeds.get_by_url(feed_server.url("/bad.xml"))
    good = store.feeds.get_by_url(feed_server.url("/good.xml"))
    assert good.status == "ok"
    # the same stories from two feeds are stored once (by headline), whichever came first
    assert good.entries_seen + bad.entries_seen == 7
    assert bad.status == status, bad.last_error
    if status != "ok":
        assert bad.consecutive_failures == 1 and bad.last_error
        assert bad.next_poll is not None
        if error_kind:
            assert bad.last_error.startswith(f"{error_kind}:"), bad.last_error
        assert [r.status for r in results].count("error") == 1
    if kind == "status" and options.get("retry_after"):
        assert (bad.next_poll - bad.last_error_at).total_seconds() >= 120
    # The good feed's Korea story reached the subscriber whatever the bad feed did.
    assert any("North Korea talks" in html for _, html in sink.sent)
