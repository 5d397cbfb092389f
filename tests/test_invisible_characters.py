"""Bidi overrides and zero-width characters never reach an alert: a feed cannot disguise a
title or summary (a reversed ".exe", a hidden word) with U+202A-202E, U+2066-2069,
U+200B-200F or U+FEFF; the joiners U+200C-D stay where they join letters or emoji."""

from __future__ import annotations

import io
import re

from bot.app import Core
from bot.config.loader import config_from_dict
from bot.delivery.labels import alert_labels
from bot.delivery.render import render_alert
from bot.delivery.sinks import ConsoleSink
from bot.records import Article, Summary
from bot.service.chats import ChatInfo
from bot.service.subscriptions import subscribe
from bot.text import tidy_line
from storage.store import Store

INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
TITLE = "North\u200b Korea\u202e slaes\u202c talks\u2066 resume\u2069 with US\ufeff envoy\u200d"
SUMMARY = (
    "Envoys\u200f met in Seoul\u202d for talks\u200c on denuclearisation.\u2067 Both sides "
    "agreed\u202a to meet\u200e again\u2068 soon."
)
FEED = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>https://wire.example/</link>
<item><guid>k1</guid><title>{TITLE}</title><link>https://wire.example/k1</link>
<description>{SUMMARY}</description></item></channel></rss>"""


async def test_alerts_carry_no_bidi_overrides_or_zero_width_characters(feed_server, tmp_path):
    feed_server.set("/feed.xml", FEED)
    config = config_from_dict(
        {
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "fetch": {"full_text": False},
            "feeds": [{"url": feed_server.url("/feed.xml"), "name": "Wire"}],
        },
        env={},
    )
    store = Store.open(config.storage.path)
    subscribe(store, config.topics, ChatInfo(chat_id=1), "korea-diplomacy")
    sink = ConsoleSink(io.StringIO())
    core = Core(config, store=store, sink=sink, alert_on_first_poll=True)
    try:
        await core.poll_all_once()
        stored = store.db.execute("SELECT title, summary FROM articles").fetchall()
    finally:
        await core.fetcher.aclose()
        store.close()
    [(_, message)] = sink.sent
    assert not INVISIBLE.search(message), ascii(message)
    assert "North Korea slaes talks resume with US envoy" in message
    assert not INVISIBLE.search(" ".join(stored[0]))


def test_rendering_strips_them_from_articles_stored_before():
    article = Article(id="a", title=TITLE, summary=SUMMARY, link="https://wire.example/a")
    alert = render_alert(
        chat_id=1,
        article_key=1,
        article=article,
        summary=Summary(article_id="a", text=SUMMARY),
        topic=None,
        footer="Join us 👨\u200d👩\u200d👧 on Telegram",
        labels=alert_labels("en"),
    )
    body = alert.html.replace("👨\u200d👩\u200d👧", "")  # the operator's footer keeps its emoji
    assert not INVISIBLE.search(body) and not INVISIBLE.search(
        alert.text.replace("👨\u200d👩\u200d👧", "")
    )


def test_joiners_that_join_letters_or_emoji_are_kept_and_the_others_dropped():
    persian = "ایران می\u200cخواهد مذاکره کند"  # ZWNJ inside می‌خواهد is spelling
    family = "Family day 👨\u200d👩\u200d👧 in Seoul"
    hidden = "b\u200co\u200dmb threat"  # inside a Latin word: disguise
    for title, shown in [
        (persian, persian),
        (family, family),
        (hidden, "bomb threat"),
        ("\u200dstart and end\u200c", "start and end"),
    ]:
        assert tidy_line(title) == shown, ascii(tidy_line(title))
        alert = render_alert(
            chat_id=1,
            article_key=1,
            article=Article(id="a", title=title, link="https://wire.example/a"),
            summary=Summary(article_id="a", text=title),
            topic=None,
            footer="",
            labels=alert_labels("en"),
        )
        assert shown in alert.text, ascii(alert.text)
