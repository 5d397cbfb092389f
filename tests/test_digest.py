"""Digests and quiet hours: the time rules in the chat's own time zone, the settings the chat
commands call, and a long digest made in the outbox."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.digest import (
    canonical_zone,
    digest_due,
    digest_slot,
    make_due_digests,
    parse_time_of_day,
    quiet_state,
)
from bot.records import Alert, Article
from bot.service import settings as chat_settings
from storage.chats import Chat
from tests.fakes.telegram_api import validate_telegram_html

SEOUL = "Asia/Seoul"  # UTC+9, no daylight saving


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("07:00", (7, 0)), ("7:30", (7, 30)), ("0730", (7, 30)), ("23", (23, 0)), ("19.45", (19, 45))],
)
def test_times_of_day_people_write(text, expected):
    moment = parse_time_of_day(text)
    assert moment is not None and (moment.hour, moment.minute) == expected


@pytest.mark.parametrize("text", ["25:00", "12:60", "noon", "", "7pm later"])
def test_what_is_not_a_time_of_day(text):
    assert parse_time_of_day(text) is None


def test_time_zones_by_name_or_offset():
    assert canonical_zone("asia/seoul") == "Asia/Seoul"  # stored as IANA spells it
    assert canonical_zone("Asia/Seoul") == "Asia/Seoul"
    assert canonical_zone("utc") == "UTC"
    assert canonical_zone("UTC+9") == "UTC+09:00"
    assert canonical_zone("+05:30") == "UTC+05:30"
    assert canonical_zone("GMT-3") == "UTC-03:00"
    assert canonical_zone("Mars/Olympus") is None and canonical_zone("UTC+20") is None


def test_quiet_hours_across_midnight_in_the_chats_zone():
    chat = Chat(chat_id=1, timezone=SEOUL, quiet_start="23:00", quiet_end="07:00")
    assert not quiet_state(chat, at(13, 59)).quiet  # 22:59 in Seoul
    state = quiet_state(chat, at(14, 0))  # 23:00 in Seoul
    assert state.quiet and state.hold and state.until == at(22, 0)  # 07:00 Seoul, next day
    late = quiet_state(chat, at(21, 30))  # 06:30 in Seoul
    assert late.quiet and late.until == at(22, 0)
    assert not quiet_state(chat, at(22, 0)).quiet


def test_quiet_hours_within_a_day_and_silent_mode():
    chat = Chat(chat_id=1, quiet_start="12:00", quiet_end="14:00", quiet_mode="silent")
    assert quiet_state(chat, at(13)).silent and not quiet_state(chat, at(13)).hold
    assert not quiet_state(chat, at(14)).quiet and not quiet_state(chat, at(11)).quiet


def test_no_quiet_hours_when_unset_or_empty_range():
    assert not quiet_state(Chat(chat_id=1), at(3)).quiet
    assert not quiet_state(Chat(chat_id=1, quiet_start="07:00", quiet_end="07:00"), at(7)).quiet


def test_daily_digest_slot_is_the_local_time_today_or_yesterday():
    chat = Chat(chat_id=1, timezone=SEOUL, digest_every="daily", digest_at="08:00")
    assert digest_slot(chat, at(23, 30)) == at(23, 0)  # 08:30 Seoul on the 2nd -> 08:00
    assert digest_slot(chat, at(22, 30)) == datetime(2024, 4, 30, 23, 0, tzinfo=UTC)  # 07:30


def test_hourly_digest_slot_is_the_top_of_the_local_hour():
    chat = Chat(chat_id=1, timezone="UTC+05:30", digest_every="hourly")
    assert digest_slot(chat, at(10, 10)) == at(9, 30)  # 15:40 local -> 15:00 local


def test_digest_is_due_once_per_slot_for_alerts_held_before_it():
    chat = Chat(chat_id=1, digest_every="daily", digest_at="08:00")
    assert digest_due(chat, oldest_held=at(6), now=at(8, 1))
    assert not digest_due(chat, oldest_held=at(8, 0, 30), now=at(8, 1))  # arrived after 08:00
    made = Chat(chat_id=1, digest_every="daily", digest_at="08:00", last_digest_at=at(8, 1))
    assert not digest_due(made, oldest_held=at(6), now=at(9))
    assert digest_due(made, oldest_held=at(9), now=at(8, 5, day=2))


def test_settings_validate_what_people_type(store):
    store.chats.ensure(1)
    assert chat_settings.set_digest(store, 1, "daily at 7:15").chat.digest_at == "07:15"
    assert chat_settings.set_digest(store, 1, "weekly").problem == "bad-mode"
    assert chat_settings.set_digest(store, 1, "daily 25:00").problem == "bad-time"
    assert chat_settings.set_digest(store, 99, "hourly").problem == "unknown-chat"
    assert chat_settings.set_timezone(store, 1, "Mars/Olympus").problem == "bad-zone"
    assert chat_settings.set_timezone(store, 1, "UTC+9").chat.timezone == "UTC+09:00"
    assert chat_settings.set_quiet_hours(store, 1, "sometimes").problem == "bad-range"
    assert chat_settings.set_quiet_hours(store, 1, "9-9").problem == "same-time"
    chat = chat_settings.set_quiet_hours(store, 1, "22:30 to 6 silent").chat
    assert (chat.quiet_start, chat.quiet_end, chat.quiet_mode) == ("22:30", "06:00", "silent")
    assert chat_settings.set_quiet_hours(store, 1, "off").chat.quiet_start == ""
    assert chat_settings.set_link_preview(store, 1, True).chat.link_preview is True


# what /quiet has always accepted, as a pattern: the reference for the one-pass reader
_QUIET_PATTERN = re.compile(r"^\s*(\S+?)\s*(?:-|–|to)\s*(\S+)\s*(hold|silent)?\s*$", re.I)


def test_quiet_hours_are_read_as_the_pattern_reads_them():
    pieces = ["-", "–", "t", "o", "T", "O", " ", "7", ":", "hold", "silent", "SILENT", "to"]
    rng = random.Random(5)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 9))).strip()
        m = _QUIET_PATTERN.match(text)
        want = m and (m.group(1), m.group(2), m.group(3) and m.group(3).lower())
        assert chat_settings.quiet_range(text) == (want or None), text


def test_a_huge_quiet_hours_range_is_read_in_one_pass(store):
    store.chats.ensure(1)
    dashes = "a-" * 100_000  # every dash a place the start could end
    assert chat_settings.quiet_range(dashes + " 07:00 silent") == (
        dashes[:-1],
        "07:00",
        "silent",
    )
    assert chat_settings.set_quiet_hours(store, 1, dashes + " x x").problem == "bad-range"
    assert chat_settings.set_quiet_hours(store, 1, dashes + " 07:00").problem == "bad-time"


def test_a_long_digest_becomes_several_messages_in_order(store):
    store.chats.ensure(1)
    feed = store.feeds.upsert("https://wire.example/rss")
    chat_settings.set_digest(store, 1, "hourly")
    for i in range(40):
        title = f"Story {i}: " + "a long headline " * 12
        [stored] = store.articles.add_new(
            feed.id,
            [Article(id=str(i), title=title, link=f"https://wire.example/{i}", source="Wire")],
        )
        store.outbox.enqueue(
            [
                Alert(
                    chat_id=1,
                    article_key=stored.key,
                    topic="t",
                    html="x",
                    link=f"https://wire.example/{i}",
                )
            ]
        )
    now = datetime.now(UTC) + timedelta(hours=1)
    made = make_due_digests(store, now=now, footer_for=lambda chat: "Footer.")
    assert made >= 2
    carriers = [d for d in store.outbox.for_chat(1) if d.state == "pending"]
    assert len(carriers) == made
    assert all(validate_telegram_html(d.html) is None for d in carriers)
    assert "Story 0:" in carriers[0].html and carriers[-1].html.endswith("Footer.")
    assert store.chats.get(1).last_digest_at == now


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("asia/seoul", "Asia/Seoul"),
        ("EUROPE/LONDON", "Europe/London"),
        ("Seoul", "Asia/Seoul"),
        ("new york", "America/New_York"),
        ("America/New_York", "America/New_York"),
    ],
)
def test_a_zone_in_any_case_or_by_its_city_alone_is_the_iana_zone(store, typed, stored):
    store.chats.ensure(1)
    assert chat_settings.set_timezone(store, 1, typed).chat.timezone == stored


def test_a_city_in_two_zones_or_no_zone_is_refused(store):
    store.chats.ensure(1)
    for name in ("Istanbul", "Olympus", "x" * 80):  # Europe/ and Asia/Istanbul
        assert chat_settings.set_timezone(store, 1, name).problem == "bad-zone"


@pytest.mark.parametrize("name", ["Europe", "Asia", "America", "x" * 300])
def test_a_timezone_that_is_a_folder_or_too_long_is_refused_not_a_crash(store, name):
    store.chats.ensure(1)
    result = chat_settings.set_timezone(store, 1, name)
    assert not result.ok
