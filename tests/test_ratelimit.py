"""The rate limiter: sliding windows counted from each call's answer, priorities, the
in-flight cap, 429 retries, and python-telegram-bot against a fake that enforces limits."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
import telegram
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.delivery.ratelimit import (
    ALERT,
    EDIT,
    INTERACTIVE,
    Limits,
    PriorityGate,
    TelegramRateLimiter,
    Window,
    counts_as_message,
)
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers import TOKEN

# PTB warns about RetryAfter.retry_after turning into a timedelta; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def test_window_admits_its_limit_then_waits_from_the_oldest_answer():
    window = Window(3, 3.0)
    for _ in range(3):
        assert window.delay(0.0) == 0
        window.take()
    assert window.delay(0.0) is None  # all three on the wire: only an answer frees a slot
    window.finish(0.5)
    window.finish(0.6)
    window.finish(0.7)
    assert window.delay(1.0) == 2.5  # the oldest answer (0.5) leaves the window at 3.5
    assert window.delay(3.5) == 0


def test_a_slow_answer_holds_its_slot_until_a_window_after_it():
    window = Window(1, 1.0)
    window.take()
    assert window.delay(10.0) is None  # however long it takes, the next call waits for it
    window.finish(10.0)
    assert window.delay(10.5) == 0.5
    window.take()
    window.finish(None)  # a call that was never made frees its slot at once
    assert window.delay(10.5) == 0.5


def test_group_window_allows_twenty_a_minute():
    limiter = TelegramRateLimiter(Limits(), clock=lambda: 0.0)
    group = limiter.group_window(-100123)
    assert group is not None and limiter.group_window(42) is None
    for i in range(20):
        assert group.delay(float(i)) == 0
        group.take()
        group.finish(float(i))
    assert group.delay(20.0) == 40.0  # the first answer (t=0) leaves the minute at t=60


def test_pause_holds_the_window():
    window = Window(5, 1.0)
    window.pause(7.0)
    assert window.delay(5.0) == 2.0


def test_only_message_methods_are_limited():
    assert counts_as_message("sendMessage") and counts_as_message("editMessageText")
    assert counts_as_message("copyMessage")
    for method in ("getMe", "getUpdates", "sendChatAction", "answerCallbackQuery", "getChat"):
        assert not counts_as_message(method)


async def test_priority_gate_serves_replies_before_alerts_before_edits():
    gate = PriorityGate()
    await gate.acquire(ALERT)  # held
    order: list[str] = []

    async def waiter(name: str, priority: int) -> None:
        await gate.acquire(priority)
        order.append(name)
        gate.release()

    tasks = [
        asyncio.create_task(waiter("edit", EDIT)),
        asyncio.create_task(waiter("alert", ALERT)),
        asyncio.create_task(waiter("reply", INTERACTIVE)),
    ]
    await asyncio.sleep(0)
    gate.release()
    await asyncio.gather(*tasks)
    assert order == ["reply", "alert", "edit"]


async def test_alerts_in_flight_never_exceed_max_in_flight():
    limiter = TelegramRateLimiter(Limits(messages_per_second=1000, max_in_flight=2))
    in_flight = 0
    peak = 0

    async def call() -> bool:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return True

    await asyncio.gather(
        *(
            limiter.process_request(call, (), {}, "sendMessage", {"chat_id": i}, ALERT)
            for i in range(1, 9)
        )
    )
    assert peak == 2


async def test_429_pauses_the_chat_and_retries_the_same_call():
    limiter = TelegramRateLimiter(Limits(messages_per_second=1000))
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RetryAfter(timedelta(seconds=0.2))
        return "ok"

    result = await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": 7}, ALERT)
    assert result == "ok" and calls == 2 and limiter.flood_waits == 1
    assert limiter.chat_window(7).paused_until > 0


async def test_429_that_persists_reaches_the_caller():
    limiter = TelegramRateLimiter(Limits(max_retries=1))

    async def call() -> str:
        raise RetryAfter(timedelta(seconds=0.05))

    try:
        await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": 7}, None)
    except RetryAfter:
        pass
    else:
        raise AssertionError("the 429 should have reached the caller")
    assert limiter.flood_waits == 2


async def test_paid_broadcast_uses_its_own_window():
    limiter = TelegramRateLimiter(Limits(messages_per_second=1, paid_per_second=1000))

    async def call() -> bool:
        return True

    data = {"allow_paid_broadcast": True}
    start = time.monotonic()
    await asyncio.gather(
        *(
            limiter.process_request(call, (), {}, "sendMessage", {"chat_id": i, **data}, ALERT)
            for i in range(1, 6)
        )
    )
    assert sum(t > start for t in limiter._paid.finished) == 5
    assert not any(t > start for t in limiter._global.finished)  # the free window: unused


async def _bot(api: FakeBotAPI, limits: Limits) -> tuple[ExtBot, TelegramRateLimiter]:
    limiter = TelegramRateLimiter(limits)
    bot = ExtBot(TOKEN, base_url=api.base_url, rate_limiter=limiter)
    await bot.initialize()
    return bot, limiter


async def test_a_burst_to_many_chats_meets_a_fake_that_enforces_telegrams_limits():
    async with FakeBotAPI(token=TOKEN, enforce_limits=True) as api:
        bot, limiter = await _bot(api, Limits())
        try:
            await asyncio.gather(
                *(bot.send_message(chat_id=1000 + i, text=f"alert {i}") for i in range(45))
            )
        finally:
            await bot.shutdown()
        assert api.flood_errors == 0 and limiter.flood_waits == 0
        assert len(api.sent_messages()) == 45


async def test_replies_to_one_chat_keep_the_per_chat_limit():
    # A faster per-chat pace than Telegram's, on both sides, so the test stays quick.
    async with FakeBotAPI(
        token=TOKEN, enforce_limits=True, per_chat_per_second=10, per_chat_burst=3
    ) as api:
        bot, _ = await _bot(api, Limits(per_chat_per_second=10, per_chat_burst=3))
        try:
            for i in range(8):
                await bot.send_message(chat_id=42, text=f"reply {i}")
        finally:
            await bot.shutdown()
        assert api.flood_errors == 0
        assert [m["text"] for m in api.sent_messages(42)] == [f"reply {i}" for i in range(8)]


async def test_a_429_from_telegram_is_waited_out_and_the_message_sent_once():
    async with FakeBotAPI(token=TOKEN, enforce_limits=True) as api:
        api.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=5)
        bot, limiter = await _bot(api, Limits())
        try:
            message = await bot.send_message(chat_id=5, text="hello")
        finally:
            await bot.shutdown()
        assert isinstance(message, telegram.Message)
        assert [m["text"] for m in api.sent_messages(5)] == ["hello"]
        assert limiter.flood_waits == 1
        [first, second] = [c for c in api.calls_to("sendMessage")]
        assert first.error_code == 429 and second.error_code is None
        assert second.time - first.time >= 1.0  # it waited for retry_after


def test_a_restart_counts_what_the_previous_run_just_sent():
    now = [100.0]
    limiter = TelegramRateLimiter(Limits(), clock=lambda: now[0])
    limiter.seed([(chat, 0.5) for chat in range(1, 29)] + [(-100, 30.0)], unrecorded=2)
    assert limiter._global.delay(now[0]) == pytest.approx(0.5)  # 28 + 2 in flight at the crash
    assert limiter.chat_window(1).delay(now[0]) == 0  # one send in 3 s is within its burst
    group = limiter.group_window(-100)
    assert group is not None and len(group.finished) == 1  # 30 s ago: still in its minute
