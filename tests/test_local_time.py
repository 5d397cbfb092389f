"""One time format everywhere, in the reader's zone and language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.digest import make_due_digests
from bot.delivery.labels import alert_labels
from bot.delivery.render import DigestLine, format_time, render_digest
from bot.records import Alert, Article, utcnow
from bot.service import settings as chat_settings
from storage.store import Store

MOMENT = datetime(2018, 10, 29, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (UTC, "29 Oct 2018 04:30 UTC"),
        (ZoneInfo("Asia/Seoul"), "29 Oct 2018 13:30 KST"),
        (ZoneInfo("Europe/London"), "29 Oct 2018 04:30 GMT"),
        (ZoneInfo("America/New_York"), "29 Oct 2018 00:30 EDT"),
        (ZoneInfo("Asia/Kolkata"), "29 Oct 2018 10:00 IST"),
        (ZoneInfo("Asia/Dubai"), "29 Oct 2018 08:30 UTC+4"),  # tzdata names it "+04"
        (timezone(timedelta(hours=5, minutes=45)), "29 Oct 2018 10:15 UTC+5:45"),
        (timezone(timedelta(hours=-3)), "29 Oct 2018 01:30 UTC-3"),
    ],
)
def test_format_time(zone, expected):
    assert format_time(MOMENT, zone) == expected


def test_format_time_in_korean():
    got = format_time(MOMENT, ZoneInfo("Asia/Seoul"), alert_labels("ko"))
    assert got == "2018년 10월 29일 13:30 KST"
    assert format_time(None) == ""


def test_digest_lines_carry_the_same_time():
    [part] = render_digest(
        [DigestLine(1, "Talks", "https://n.example/a", "Wire", "29 Oct 2018 13:30 KST")],
        heading="H",
        footer="",
    )
    assert "— <i>Wire · 29 Oct 2018 13:30 KST</i>" in part.html


def test_a_digest_shows_each_storys_time_in_the_chats_zone(tmp_path):
    store = Store.open(tmp_path / "db.sqlite")
    store.chats.ensure(1)
    assert chat_settings.set_timezone(store, 1, "Asia/Seoul").ok
    assert chat_settings.set_digest(store, 1, "hourly").ok
    [stored] = store.articles.add_new(
        None, [Article("a", "Envoys meet in Seoul", source="Wire", published=MOMENT)]
    )
    store.outbox.enqueue([Alert(chat_id=1, article_key=stored.key, topic="t", html="x")])
    assert make_due_digests(store, now=utcnow() + timedelta(hours=1)) == 1
    [row] = [d for d in store.outbox.for_chat(1)]
    assert "Wire · 29 Oct 2018 13:30 KST" in row.html
    store.close()
