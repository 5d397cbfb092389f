"""The sender over a real SQLite outbox and a scripted sink: order per chat, every refusal
Telegram can give, chats that do not hold each other up, quiet hours, "Also:" edits, digests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.delivery.digest import make_due_digests
from bot.delivery.sender import Sender
from bot.delivery.sinks import (
    ChatMoved,
    ChatUnavailable,
    MarkupRejected,
    Rejected,
    RetryAfter,
    Transient,
)
from bot.records import Article, utcnow
from bot.service import settings as chat_settings
from storage.store import Store
from tests.helpers import Outbox, ScriptedSink


def states(store: Store, chat_id: int) -> list[str]:
    return [d.state for d in store.outbox.for_chat(chat_id)]


async def test_each_chat_gets_its_alerts_in_order_with_a_read_button(store):
    out, sink = Outbox(store), ScriptedSink()
    for title in ("First alert title here", "Second alert title here", "Third alert title"):
        out.alert(1, title)
    out.alert(2, "Another chat's alert title")
    assert await Sender(store, sink).drain() == 4
    assert [h.split("\n")[0] for h in sink.to(1)] == [
        "<b>First alert title here</b>",
        "<b>Second alert title here</b>",
        "<b>Third alert title</b>",
    ]
    assert all(m["button"].startswith("https://wire.example/") for m in sink.sent)
    assert [d.message_id for d in store.outbox.for_chat(1)] == [1, 2, 3]
    assert states(store, 1) == ["sent"] * 3
    assert await Sender(store, sink).drain() == 0  # nothing is sent twice


async def test_one_task_sends_all_of_a_chats_alerts(store):
    # a sent row means "go on with this chat"; it once read as "the chat moved to id 1"
    # (True is an int), so each row took a task and an outbox read of its own
    out, sink = Outbox(store), ScriptedSink()
    for _ in range(3):
        out.alert(7)
    tasks: list[asyncio.Task[Any] | None] = []

    async def note_task() -> None:
        tasks.append(asyncio.current_task())

    sink.script[7] = [note_task, note_task, note_task]
    assert await Sender(store, sink).drain() == 3
    assert len(tasks) == 3 and len(set(tasks)) == 1


async def test_a_slow_chat_does_not_hold_up_the_others(store):
    out, sink = Outbox(store), ScriptedSink()
    release = asyncio.Event()
    sink.script[1] = [release.wait]
    out.alert(1)
    for chat_id in range(2, 12):
        out.alert(chat_id)
    drain = asyncio.create_task(Sender(store, sink).drain())
    for _ in range(200):
        if len(sink.sent) == 10:
            break
        await asyncio.sleep(0.01)
    assert sorted(m["chat_id"] for m in sink.sent) == list(range(2, 12))
    assert states(store, 1) == ["sending"]  # claimed while in flight
    release.set()
    assert await drain == 11
    assert states(store, 1) == ["sent"]


async def test_blocked_chat_becomes_inactive_and_its_queue_is_skipped(store):
    out, sink = Outbox(store), ScriptedSink()
    sink.script[1] = [ChatUnavailable("Forbidden: bot was blocked by the user")]
    out.alert(1)
    out.alert(1)
    out.alert(2)
    generation = store.subscriptions.generation()
    sender = Sender(store, sink)
    assert await sender.drain() == 1
    chat = store.chats.get(1)
    assert not chat.active and "blocked" in chat.inactive_reason
    first, second = store.outbox.for_chat(1)
    assert first.state == "failed" and "blocked" in first.reason
    assert second.state == "skipped" and "chat inactive" in second.reason
    assert states(store, 2) == ["sent"]
    assert store.subscriptions.generation() != generation  # the matcher follows by itself
    # It comes back when the person writes again, and gets new alerts.
    assert chat_settings.reactivate_chat(store, 1)
    out.alert(1)
    assert await sender.drain() == 1
    assert states(store, 1) == ["failed", "skipped", "sent"]


async def test_migrated_group_gets_the_same_alert_at_its_new_id_at_once(store):
    out, sink = Outbox(store), ScriptedSink()
    store.chats.ensure(-5, type="group")
    store.subscriptions.add(-5, "korea-diplomacy")
    sink.script[-5] = [ChatMoved(-1005)]
    out.alert(-5)
    out.alert(-5)
    assert await Sender(store, sink).drain() == 2
    assert len(sink.to(-1005)) == 2 and sink.to(-5) == []
    assert states(store, -1005) == ["sent", "sent"]
    assert store.chats.get(-5) is None
    assert [s.topic_id for s in store.subscriptions.for_chat(-1005)] == ["korea-diplomacy"]


async def test_html_telegram_cannot_parse_is_resent_as_plain_text(store):
    out, sink = Outbox(store), ScriptedSink()
    sink.script[1] = [MarkupRejected("Bad Request: can't parse entities")]
    out.alert(1, "A title Telegram will not parse")
    assert await Sender(store, sink).drain() == 1
    [message] = sink.sent
    assert message["html"] == "" and message["text"].startswith("A title Telegram")
    [row] = store.outbox.for_chat(1)
    assert row.state == "sent" and "plain text" in row.reason


async def test_transient_errors_retry_with_backoff_then_fail_with_the_reason(store):
    out, sink = Outbox(store), ScriptedSink()
    now = [datetime(2024, 5, 1, 12, 0, tzinfo=UTC)]
    sink.script[1] = [Transient("Bad Gateway")] * 3
    out.alert(1)
    later = out.alert(1)
    sender = Sender(store, sink, max_attempts=3, retry_backoff=2.0, clock=lambda: now[0])
    await sender.drain()
    first = store.outbox.get(later - 1)
    assert first.state == "pending" and first.attempts == 1 and first.reason == "Bad Gateway"
    assert store.outbox.get(later).state == "pending"  # waits behind the first: order kept
    assert sender.next_due_in(60) == pytest.approx(2.0)
    await sender.drain()  # not due yet: nothing happens
    assert sink.sent == [] and store.outbox.get(later - 1).attempts == 1
    now[0] += timedelta(seconds=2)
    await sender.drain()
    assert store.outbox.get(later - 1).attempts == 2
    now[0] += timedelta(seconds=4)  # the backoff doubled
    await sender.drain()
    first = store.outbox.get(later - 1)
    assert first.state == "failed" and first.reason == "Bad Gateway" and first.attempts == 3
    assert store.outbox.get(later).state == "sent"  # the next one goes once the first is done


async def test_flood_wait_defers_without_using_an_attempt(store):
    out, sink = Outbox(store), ScriptedSink()
    now = [datetime(2024, 5, 1, 12, 0, tzinfo=UTC)]
    sink.script[1] = [RetryAfter(7)]
    row = out.alert(1)
    sender = Sender(store, sink, clock=lambda: now[0])
    await sender.drain()
    assert store.outbox.get(row).attempts == 0 and sender.next_due_in(60) == pytest.approx(7)
    now[0] += timedelta(seconds=7)
    assert await sender.drain() == 1


async def test_other_refusals_fail_at_once_and_the_chat_goes_on(store):
    out, sink = Outbox(store), ScriptedSink()
    sink.script[1] = [Rejected("Bad Request: message is too long")]
    out.alert(1)
    out.alert(1)
    assert await Sender(store, sink).drain() == 1
    assert states(store, 1) == ["failed", "sent"]


async def test_an_unexpected_error_is_retried_not_fatal(store):
    out, sink = Outbox(store), ScriptedSink()
    sink.script[1] = [ValueError("boom")]
    row = out.alert(1)
    await Sender(store, sink).drain()
    delivery = store.outbox.get(row)
    assert delivery.state == "pending" and "boom" in delivery.reason


def _quiet_chat(store: Store, mode: str) -> None:
    store.chats.ensure(1)
    assert chat_settings.set_timezone(store, 1, "Asia/Seoul").ok
    assert chat_settings.set_quiet_hours(store, 1, f"23:00-07:00 {mode}").ok


async def test_quiet_hours_hold_alerts_until_they_end(store):
    out, sink = Outbox(store), ScriptedSink()
    _quiet_chat(store, "hold")
    # 01:00 in Seoul is 16:00 UTC the day before.
    now = [datetime(2024, 5, 1, 16, 0, tzinfo=UTC)]
    row = out.alert(1)
    sender = Sender(store, sink, clock=lambda: now[0])
    assert await sender.drain() == 0
    delivery = store.outbox.get(row)
    assert delivery.state == "pending" and delivery.reason == "quiet hours"
    assert sender.next_due_in(10 * 3600) == pytest.approx(6 * 3600)  # 07:00 Seoul
    now[0] += timedelta(hours=6)
    assert await sender.drain() == 1 and sink.sent[0]["silent"] is False


async def test_quiet_hours_in_silent_mode_send_without_a_sound(store):
    out, sink = Outbox(store), ScriptedSink()
    _quiet_chat(store, "silent")
    out.alert(1)
    sender = Sender(store, sink, clock=lambda: datetime(2024, 5, 1, 16, 0, tzinfo=UTC))
    assert await sender.drain() == 1 and sink.sent[0]["silent"] is True


async def test_a_later_copy_of_the_story_edits_the_sent_alert(store):
    out, sink = Outbox(store), ScriptedSink()
    store.chats.ensure(1)
    first = out.alert(1, "Envoys meet in Seoul over talks", new_story=True)
    story = store.outbox.get(first).story_id
    sender = Sender(store, sink)
    assert await sender.drain() == 1
    copy = Article(id="y1", title="Envoys meet in Seoul", source="Yonhap")
    store.stories.link(story, None, 99, copy, now=utcnow())
    assert store.outbox.story_changed(story, since=utcnow() - timedelta(hours=1)) == 1
    await sender.drain()
    [edit] = sink.edits
    assert edit["message_id"] == 1
    assert edit["html"].split("\n")[:3] == [
        "<b>Envoys meet in Seoul over talks</b>",
        "<i>Wire</i>",
        "<i>Also: Yonhap</i>",
    ]
    await sender.drain()
    assert len(sink.edits) == 1  # Telegram has this version now


async def test_a_paused_chat_gets_edits_but_its_queue_waits_for_resume(store):
    out, sink = Outbox(store), ScriptedSink()
    store.chats.ensure(1)
    first = out.alert(1, "Envoys meet in Seoul over talks", new_story=True)
    story = store.outbox.get(first).story_id
    sender = Sender(store, sink)
    assert await sender.drain() == 1
    out.alert(1, "A second story queued for this chat")
    store.chats.set_paused(1, True)
    copy = Article(id="y1", title="Envoys meet in Seoul", source="Yonhap")
    store.stories.link(story, None, 99, copy, now=utcnow())
    store.outbox.story_changed(story, since=utcnow() - timedelta(hours=1))
    await sender.drain()
    assert len(sink.edits) == 1 and len(sink.sent) == 1  # the edit, but not the queued alert
    store.chats.set_paused(1, False)
    assert await sender.drain() == 1
    assert states(store, 1) == ["sent", "sent"]


async def test_hourly_digest_sends_one_message_for_the_held_alerts(store):
    out, sink = Outbox(store), ScriptedSink()
    store.chats.ensure(1)
    assert chat_settings.set_digest(store, 1, "hourly").ok
    rows = [out.alert(1, f"Digest story {i} with a long enough title") for i in range(3)]
    assert states(store, 1) == ["held"] * 3
    sender = Sender(store, sink)
    assert await sender.drain() == 0
    later = utcnow() + timedelta(hours=1)
    assert make_due_digests(store, now=later, footer_for=lambda chat: "Footer.") == 1
    assert make_due_digests(store, now=later) == 0  # made once
    assert await sender.drain() == 1
    [digest] = sink.to(1)
    assert digest.count("• ") == 3 and digest.endswith("Footer.")
    assert sink.sent[0]["button"] == ""
    for row in rows:
        delivery = store.outbox.get(row)
        assert delivery.state == "sent" and delivery.message_id == 1


async def test_going_back_to_instant_releases_held_alerts(store):
    out, sink = Outbox(store), ScriptedSink()
    store.chats.ensure(1)
    chat_settings.set_digest(store, 1, "daily 09:30")
    out.alert(1)
    assert store.chats.get(1).digest_at == "09:30"
    assert chat_settings.set_digest(store, 1, "instant").ok
    assert await Sender(store, sink).drain() == 1


async def test_the_sender_remembers_nothing_per_chat_once_the_chats_are_served(store):
    # whether the 👍/👎 buttons go under a chat's alerts was kept for every chat ever sent
    # to, for the life of the process
    out, sink = Outbox(store), ScriptedSink()
    for chat_id in range(1, 1001):
        out.alert(chat_id)
    store.chats.ensure(-5, type="group")
    sink.script[-5] = [ChatMoved(-1005)]
    out.alert(-5)
    sender = Sender(store, sink)
    sender.feedback = True
    assert await sender.drain() == 1001
    assert len(sink.sent) == 1001 and all(m["feedback"] for m in sink.sent)
    assert sink.to(-1005) and sink.to(-5) == []
    assert sender._buttons == {}
