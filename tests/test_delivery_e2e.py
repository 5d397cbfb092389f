"""Delivery end to end: real python-telegram-bot with our rate limiter, a fake Bot API that
answers 429 when Telegram's limits are exceeded (so flooding fails a test), a local feed
server, a real SQLite file.  One test per refusal Telegram can give, the same story from two
feeds, and a kill -9 in the middle of a fan-out."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import Core
from storage.store import Store
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotAPI, validate_telegram_html
from tests.helpers import (
    ERUPTION,
    QUIET_FEED,
    TOKEN,
    bot_process,
    config_for,
    config_head,
    fast_api,
    follow_volcanoes,
    rss,
    volcano_story,
    wait_until,
)


def alerts_to(api: Any, chat_id: int | None = None) -> list[dict[str, Any]]:
    """Messages sent (to a chat) that are alerts: they carry the "Read" button."""
    return [m for m in api.sent_messages(chat_id) if m.get("reply_markup")]


@asynccontextmanager
async def running(
    api: FakeBotAPI,
    feed_server: FeedServer,
    tmp_path: Path,
    chats: tuple[int, ...],
    **delivery: Any,
) -> AsyncIterator[Core]:
    """A running bot whose feed (at /wire.xml, primed with a calm story) ``chats`` follow."""
    feed_server.set("/wire.xml", rss(QUIET_FEED))
    url = feed_server.url("/wire.xml")
    async with Core(config_for(api, [(url, "Wire")], tmp_path / "bot.db", **delivery)) as core:
        follow_volcanoes(core.store, *chats)
        await core.start()
        await wait_until(
            lambda: (f := core.store.feeds.get_by_url(url)) and f.primed, what="first poll"
        )
        yield core
    assert api.flood_errors == 0, "the bot exceeded Telegram's limits"


def publish(feed_server: FeedServer, *stories: tuple[str, str, str]) -> None:
    feed_server.set("/wire.xml", rss([*QUIET_FEED, *stories]))


def states(core: Core, chat_id: int) -> list[str]:
    return [d.state for d in core.store.outbox.for_chat(chat_id)]


async def test_fan_out_to_many_chats_stays_within_telegrams_limits(feed_server, tmp_path):
    chats = tuple(range(1001, 1061))
    async with fast_api() as api, running(api, feed_server, tmp_path, chats) as core:
        publish(feed_server, volcano_story(1), volcano_story(2))
        await wait_until(lambda: all(len(alerts_to(api, c)) == 2 for c in chats), what="120 alerts")
        await wait_until(
            lambda: all(states(core, c) == ["sent", "sent"] for c in chats), what="marked"
        )
    for chat_id in chats:  # each chat got its alerts in order, with a Read button
        first, second = alerts_to(api, chat_id)
        assert "Lava 1:" in first["text"] and "Lava 2:" in second["text"]
        assert (
            first["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://wire.example/lava-1"
        )
        assert validate_telegram_html(first["text"]) is None


async def test_blocked_and_missing_chats_go_inactive_then_come_back_with_start(
    feed_server, tmp_path
):
    blocked, missing, fine = 11, 12, 13
    async with (
        fast_api() as api,
        running(api, feed_server, tmp_path, (blocked, missing, fine)) as core,
    ):
        api.block_chat(blocked)
        api.fail_next("sendMessage", error_code=400, chat_id=missing)  # "chat not found"
        publish(feed_server, volcano_story(1), volcano_story(2))
        await wait_until(lambda: len(alerts_to(api, fine)) == 2, what="the fine chat's alerts")
        await wait_until(lambda: not core.store.chats.get(missing).active, what="missing chat")
        await wait_until(lambda: not core.store.chats.get(blocked).active, what="blocked chat")
        assert "blocked" in core.store.chats.get(blocked).inactive_reason.lower()
        assert "chat not found" in core.store.chats.get(missing).inactive_reason.lower()
        for chat_id in (blocked, missing):
            assert states(core, chat_id) == ["failed", "skipped"]
        sends = len(api.calls_to("sendMessage"))
        publish(feed_server, volcano_story(1), volcano_story(2), volcano_story(3))
        await wait_until(lambda: len(alerts_to(api, fine)) == 3, what="the next alert")
        # nothing more was tried for the inactive chats
        assert len(api.calls_to("sendMessage")) == sends + 1
        # The person unblocks the bot and writes /start: alerts reach them again.
        api.unblock_chat(blocked)
        api.inject_message(blocked, "/start", user_id=blocked)
        await wait_until(lambda: core.store.chats.get(blocked).active, what="reactivation")
        publish(feed_server, *(volcano_story(n) for n in range(1, 5)))
        await wait_until(lambda: len(alerts_to(api, blocked)) == 1, what="alert after /start")
        assert "Lava 4:" in alerts_to(api, blocked)[0]["text"]


async def test_migrated_group_moves_and_gets_the_alert_at_once(feed_server, tmp_path):
    old, new = -4001, -1004001
    async with fast_api() as api, running(api, feed_server, tmp_path, (old,)) as core:
        api.add_chat(old, "group", title="Volcano watchers")
        api.migrate_chat(old, new)
        publish(feed_server, volcano_story(1))
        await wait_until(lambda: alerts_to(api, new), what="the alert in the supergroup")
        assert core.store.chats.get(old) is None
        assert [s.topic_id for s in core.store.subscriptions.for_chat(new)] == ["volcanoes"]
        await wait_until(lambda: states(core, new) == ["sent"], what="marked sent")
        publish(feed_server, volcano_story(1), volcano_story(2))
        await wait_until(lambda: len(alerts_to(api, new)) == 2, what="the next alert")
    sends = api.calls_to("sendMessage")
    assert [c.params["chat_id"] for c in sends] == [old, new, new]  # resent at once, once


async def test_html_telegram_cannot_parse_is_resent_as_plain_text(feed_server, tmp_path):
    async with fast_api() as api, running(api, feed_server, tmp_path, (21,)) as core:
        api.fail_next(
            "sendMessage",
            error_code=400,
            description='Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 3',
            chat_id=21,
        )
        publish(feed_server, volcano_story(1))
        await wait_until(lambda: alerts_to(api, 21), what="the plain-text alert")
        await wait_until(lambda: states(core, 21) == ["sent"], what="marked sent")
        [alert] = alerts_to(api, 21)
        assert "parse_mode" not in alert and "<b>" not in alert["text"]
        assert alert["text"].startswith("Lava 1: Iceland evacuates Grindavik")
        [row] = core.store.outbox.for_chat(21)
        assert row.state == "sent" and "plain text" in row.reason


async def test_server_errors_retry_then_fail_with_the_reason_without_holding_up_others(
    feed_server, tmp_path
):
    flaky, broken, fine = 31, 32, 33
    async with (
        fast_api() as api,
        running(api, feed_server, tmp_path, (flaky, broken, fine), max_attempts=3) as core,
    ):
        api.fail_next("sendMessage", error_code=502, chat_id=flaky, times=2)
        api.fail_next("sendMessage", error_code=500, chat_id=broken, times=None)
        publish(feed_server, volcano_story(1))
        await wait_until(lambda: alerts_to(api, fine), what="the fine chat's alert")
        await wait_until(lambda: states(core, flaky) == ["sent"], what="the flaky chat's alert")
        await wait_until(lambda: states(core, broken) == ["failed"], what="giving up")
        [row] = core.store.outbox.for_chat(broken)
        assert row.attempts == 3 and "Internal Server Error" in row.reason
        [row] = core.store.outbox.for_chat(flaky)
        assert row.state == "sent" and row.attempts == 3
        assert core.store.chats.get(broken).active  # a server error is not the chat's fault
        api.clear_faults()


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_429_is_waited_out_and_the_alert_sent_once(feed_server, tmp_path):
    async with fast_api() as api, running(api, feed_server, tmp_path, (41, 42)) as core:
        api.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=41)
        publish(feed_server, volcano_story(1))
        await wait_until(
            lambda: states(core, 41) == states(core, 42) == ["sent"], what="both alerts"
        )
        assert len(alerts_to(api, 41)) == 1
        [refused] = [c for c in api.calls_to("sendMessage") if c.error_code == 429]
        [accepted] = [
            c
            for c in api.calls_to("sendMessage")
            if c.params["chat_id"] == 41 and c.error_code is None
        ]
        assert accepted.time - refused.time >= 1.0


async def test_a_send_that_times_out_is_retried_and_repeats_at_most_once(feed_server, tmp_path):
    async with (
        fast_api() as api,
        running(api, feed_server, tmp_path, (51,), send_timeout="0.5s") as core,
    ):
        api.slow_next("sendMessage", 1.5)  # Telegram takes the message but answers late
        publish(feed_server, volcano_story(1))
        await wait_until(lambda: states(core, 51) == ["sent"], what="the retried alert")
        [row] = core.store.outbox.for_chat(51)
        assert row.attempts == 2
    assert 1 <= len(alerts_to(api, 51)) <= 2  # the documented window: one repeat at most


async def test_the_same_story_from_a_second_feed_edits_the_alert_instead(feed_server, tmp_path):
    async with fast_api() as api:
        feed_server.set("/reuters.xml", rss(QUIET_FEED, site="https://reuters.example"))
        feed_server.set("/yonhap.xml", rss(QUIET_FEED, site="https://yonhap.example"))
        feeds = [
            (feed_server.url("/reuters.xml"), "Reuters"),
            (feed_server.url("/yonhap.xml"), "Yonhap"),
        ]
        async with Core(config_for(api, feeds, tmp_path / "bot.db")) as core:
            follow_volcanoes(core.store, 61)
            await core.start()
            await wait_until(
                lambda: all(core.store.feeds.get_by_url(u).primed for u, _ in feeds), what="prime"
            )
            title, text = ERUPTION
            feed_server.set(
                "/reuters.xml",
                rss([*QUIET_FEED, ("r1", title, text)], site="https://reuters.example"),
            )
            await wait_until(lambda: alerts_to(api, 61), what="the alert")
            copy_title = "Volcano erupts on Indonesia island; thousands of villagers flee"
            copy_text = text.replace("five kilometres", "5 km")
            feed_server.set(
                "/yonhap.xml",
                rss([*QUIET_FEED, ("y1", copy_title, copy_text)], site="https://yonhap.example"),
            )
            await wait_until(lambda: api.calls_to("editMessageText"), what="the edit")
    [alert] = alerts_to(api, 61)
    message = api.message(61, alert["message_id"])
    assert "Also: Yonhap" in message["text"]
    assert message["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://reuters.example/r1"
    assert api.flood_errors == 0


# -- kill -9 in the middle of a fan-out ------------------------------------------------------

FAN_OUT = 300


def _start_bot(config: Path) -> subprocess.Popen[str]:
    return bot_process(config, stdout=subprocess.DEVNULL)


def test_kill_9_during_a_fan_out_loses_nothing_and_repeats_at_most_one(tmp_path):
    db = tmp_path / "bot.db"
    chats = list(range(5001, 5001 + FAN_OUT))
    store = Store.open(db)
    follow_volcanoes(store, *chats)
    store.close()
    with (
        FakeBotAPI.in_thread(token=TOKEN, enforce_limits=True) as api,
        FeedServer.in_thread() as feeds,
    ):
        feeds.set("/wire.xml", rss(QUIET_FEED))
        config = tmp_path / "config.toml"
        config.write_text(
            config_head(api, db)
            + f"""[polling]
jitter = 0
[fetch]
full_text = false
[delivery]
max_in_flight = 1  # a crash can then repeat at most one alert in all
[[topics]]
id = "volcanoes"
name = "Volcanoes"
query = "volcano OR eruption OR lava"
[[feeds]]
url = "{feeds.url("/wire.xml")}"
interval = "1s"
"""
        )

        def alerts() -> list[dict[str, Any]]:
            return alerts_to(api)

        bot = _start_bot(config)
        try:
            api.wait_for(lambda: feeds.hits("/wire.xml") >= 1, timeout=30)
            api.wait_for(lambda: feeds.hits("/wire.xml") >= 2, timeout=30)  # primed
            feeds.set("/wire.xml", rss([*QUIET_FEED, volcano_story(1)]))
            api.wait_for(lambda: len(alerts()) >= FAN_OUT // 3, timeout=30)
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=10)
        finally:
            if bot.poll() is None:
                bot.kill()
        sent_before_restart = len(alerts())
        assert sent_before_restart < FAN_OUT, "the fan-out finished before the kill"

        bot = _start_bot(config)
        try:
            api.wait_for(
                lambda: {m["chat_id"] for m in alerts()} >= set(chats),
                timeout=40,
                message="every chat's alert after the restart",
            )
            bot.send_signal(signal.SIGTERM)
            assert bot.wait(timeout=30) == 0, bot.stderr.read() if bot.stderr else ""
        finally:
            if bot.poll() is None:
                bot.kill()
        per_chat: dict[int, int] = {}
        for message in alerts():
            per_chat[message["chat_id"]] = per_chat.get(message["chat_id"], 0) + 1
        assert api.flood_errors == 0
    assert set(per_chat) == set(chats)  # nothing lost
    assert sum(per_chat.values()) - FAN_OUT <= 1  # at most one repeated
    store = Store.open(db)
    try:
        assert store.outbox.counts() == {"sent": FAN_OUT}
    finally:
        store.close()
