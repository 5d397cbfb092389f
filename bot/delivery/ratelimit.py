"""Telegram's flood limits, kept on our side: a python-telegram-bot ``BaseRateLimiter``.

Every Bot API call of the Application's bot passes through :class:`TelegramRateLimiter`,
command replies as well as alerts.  Calls that post or edit a message count against:

* the whole bot: ``messages_per_second`` (about 30/s) in any second; a call made with
  ``allow_paid_broadcast`` counts against ``paid_per_second`` (up to 1000/s) instead;
* its chat: ``per_chat_burst`` in any ``per_chat_burst / per_chat_per_second`` seconds
  (about one a second, with a short burst);
* a group or channel (negative id, or an ``@username``): also ``group_per_minute`` (20) in
  any minute.

Each limit is a sliding :class:`Window` in which a call holds its slot from the moment it
starts until its answer arrives, and for the window's length after that.  Telegram counts a
call somewhere between those two instants, so no window Telegram measures can see more calls
than the limit, however the network delays them; the price is one round trip per slot.

Alerts (``rate_limit_args=ALERT``) and edits (``EDIT``) also share ``max_in_flight``: at most
that many are on the wire at once, which bounds what a crash can repeat (see
``bot.delivery.sender``).  Calls queue for the bot-wide window by priority: a command reply goes
before waiting alerts, an alert before an "Also:" edit.

On 429 the call's chat is paused for ``retry_after`` (the whole bot for at most a second, in
case the bot-wide limit was the one hit) and the same call is made again, up to
``max_retries`` times; then ``telegram.error.RetryAfter`` reaches the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.config.model import DeliveryConfig

log = logging.getLogger(__name__)

# what a Bot API call answers, as python-telegram-bot's BaseRateLimiter passes it on
BotAPIResult = bool | dict[str, Any] | list[dict[str, Any]]

# Priorities, passed as ``rate_limit_args``; lower goes first.
INTERACTIVE = 0  # the default: replies to commands
ALERT = 1
EDIT = 2

GLOBAL_PAUSE_CAP = 1.0  # seconds every chat waits after any 429
_IDLE_WINDOWS_KEPT = 4096  # per-chat windows kept before idle ones are dropped

_COUNTED_EXTRA = frozenset({"forwardMessage", "forwardMessages", "copyMessage", "copyMessages"})


def counts_as_message(endpoint: str) -> bool:
    """True for the Bot API methods that post or edit a message (the ones Telegram limits)."""
    if endpoint == "sendChatAction":
        return False
    return endpoint.startswith(("send", "editMessage")) or endpoint in _COUNTED_EXTRA


@dataclass(frozen=True)
class Limits:
    """The limits to keep; the defaults (``[delivery]``'s) are Telegram's published ones."""

    messages_per_second: float = DeliveryConfig.messages_per_second
    per_chat_per_second: float = DeliveryConfig.per_chat_per_second
    per_chat_burst: int = DeliveryConfig.per_chat_burst
    group_per_minute: int = DeliveryConfig.group_messages_per_minute
    paid_per_second: float = DeliveryConfig.paid_messages_per_second
    max_in_flight: int = DeliveryConfig.max_in_flight
    max_retries: int = 5  # calls made again after a 429


class Window:
    """At most ``limit`` calls in any ``period`` seconds, counting each call from its start
    until ``period`` after its answer (see the module docstring)."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = max(1, int(limit))
        self.period = period
        self.in_flight = 0
        self.finished: deque[float] = deque()  # answer times, oldest first
        self.paused_until = 0.0
        self._changed: asyncio.Future[None] | None = None

    def delay(self, now: float) -> float | None:
        """Seconds until a call may start (0: now); None when only an answer can free a slot."""
        while self.finished and self.finished[0] <= now - self.period:
            self.finished.popleft()
        pause = max(0.0, self.paused_until - now)
        busy = self.in_flight + len(self.finished)
        if busy < self.limit:
            return pause
        k = busy - self.limit  # this many more answers must leave the window first
        if k < len(self.finished):
            return max(pause, self.finished[k] + self.period - now)
        return None

    def idle(self, now: float) -> bool:
        return (
            self.in_flight == 0
            and self.paused_until <= now
            and (not self.finished or self.finished[-1] <= now - self.period)
        )

    def take(self) -> None:
        self.in_flight += 1

    def finish(self, at: float | None) -> None:
        """The call answered at ``at`` (monotonic seconds); None: it was never made."""
        self.in_flight -= 1
        if at is not None:
            self.finished.append(at)
        self._notify()

    def pause(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)

    def _notify(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
        self._changed = None

    async def wait_for_change(self, timeout: float | None) -> None:
        if self._changed is None:
            self._changed = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._changed), timeout)

    async def acquire(self, clock: Callable[[], float]) -> None:
        """Wait until a call may start and take its slot."""
        while True:
            wait = self.delay(clock())
            if wait == 0:
                self.take()
                return
            await self.wait_for_change(wait)


class PriorityGate:
    """A lock handed to waiters by priority (lower first), then in arrival order."""

    def __init__(self) -> None:
        self._held = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def acquire(self, priority: int) -> None:
        if not self._held and not self._waiters:
            self._held = True
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # handed over just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)  # the lock passes to this waiter
                return
        self._held = False


def _rate_window(per_second: float) -> Window:
    # 30/s is 30 in any second; 0.5/s is 1 in any two seconds; 29.5/s is 29 in 0.983 s.
    limit = max(1, int(per_second))
    return Window(limit, limit / per_second)


def _retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns about the int/timedelta transition
        value = error.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


class TelegramRateLimiter(BaseRateLimiter[int]):
    """Keeps every Bot API call within Telegram's limits (see the module docstring).

    ``rate_limit_args`` is a priority: :data:`INTERACTIVE` (the default), :data:`ALERT`
    or :data:`EDIT`.  ``clock`` is injectable for tests (monotonic seconds).
    """

    def __init__(
        self, limits: Limits | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits or Limits()
        self.clock = clock
        lim = self.limits
        self._global = _rate_window(lim.messages_per_second)
        self._paid = _rate_window(lim.paid_per_second)
        self._chat_period = lim.per_chat_burst / lim.per_chat_per_second
        self._chats: dict[int | str, Window] = {}
        self._groups: dict[int | str, Window] = {}
        self._gate = PriorityGate()
        self._paid_gate = PriorityGate()
        self._bulk: asyncio.Semaphore | None = None
        self.flood_waits = 0  # 429s seen (each one retried or passed on)

    def seed(self, sends: Iterable[tuple[int | str, float]], *, unrecorded: int = 0) -> None:
        """After a restart: count what the previous run sent, ``(chat id, seconds ago)``
        (from the outbox), against the windows it still weighs on, plus ``unrecorded`` sends
        just now (those a crash caught in flight, at most ``max_in_flight``)."""
        now = self.clock()
        for chat, ago in sorted(sends, key=lambda send: -send[1]):
            at = now - max(0.0, ago)
            for window in (self.chat_window(chat), self.group_window(chat), self._global):
                if window is not None and at > now - window.period:
                    window.finished.append(at)
        self._global.finished.extend([now] * unrecorded)

    async def initialize(self) -> None:
        """Nothing to set up: windows are made as chats appear."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    # -- windows --------------------------------------------------------------------------

    def _window(
        self, table: dict[int | str, Window], key: int | str, limit: int, period: float
    ) -> Window:
        window = table.get(key)
        if window is None:
            if len(table) >= _IDLE_WINDOWS_KEPT:
                now = self.clock()
                for old in [k for k, w in table.items() if w.idle(now)]:
                    del table[old]
            window = table[key] = Window(limit, period)
        return window

    def chat_window(self, chat: int | str) -> Window:
        return self._window(self._chats, chat, self.limits.per_chat_burst, self._chat_period)

    def group_window(self, chat: int | str) -> Window | None:
        is_group = isinstance(chat, str) or chat < 0
        if not is_group:
            return None
        return self._window(self._groups, chat, self.limits.group_per_minute, 60.0)

    # -- BaseRateLimiter ------------------------------------------------------------------

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, BotAPIResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> BotAPIResult:
        """Make the call within the limits; on 429 wait ``retry_after`` and make it again."""
        chat = _chat_key(data.get("chat_id"))
        limited = chat is not None and counts_as_message(endpoint)
        priority = rate_limit_args if isinstance(rate_limit_args, int) else INTERACTIVE
        paid = bool(data.get("allow_paid_broadcast"))
        for attempt in range(self.limits.max_retries + 1):
            try:
                if not limited:
                    return await callback(*args, **kwargs)
                assert chat is not None
                return await self._limited_call(chat, priority, paid, callback, args, kwargs)
            except RetryAfter as e:
                self.flood_waits += 1
                seconds = _retry_after_seconds(e)
                now = self.clock()
                if chat is not None:
                    self.chat_window(chat).pause(now + seconds)
                for window in (self._global, self._paid):
                    window.pause(now + min(seconds, GLOBAL_PAUSE_CAP))
                if attempt >= self.limits.max_retries:
                    log.error("flood limit on %s to %s persists; giving up", endpoint, chat)
                    raise
                log.warning(
                    "flood limit on %s to %s: waiting %.1fs, then retrying", endpoint, chat, seconds
                )
                if not limited:
                    await asyncio.sleep(seconds)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _limited_call(
        self,
        chat: int | str,
        priority: int,
        paid: bool,
        callback: Callable[..., Coroutine[Any, Any, BotAPIResult]],
        args: Any,
        kwargs: dict[str, Any],
    ) -> BotAPIResult:
        taken: list[Window] = []
        bulk = priority != INTERACTIVE
        holding_bulk = False
        made = False
        try:
            for window in (self.chat_window(chat), self.group_window(chat)):
                if window is not None:
                    await window.acquire(self.clock)
                    taken.append(window)
            if bulk:
                if self._bulk is None:
                    self._bulk = asyncio.Semaphore(max(1, self.limits.max_in_flight))
                await self._bulk.acquire()
                holding_bulk = True
            gate, window = (self._paid_gate, self._paid) if paid else (self._gate, self._global)
            await gate.acquire(priority)
            try:
                await window.acquire(self.clock)
            finally:
                gate.release()
            taken.append(window)
            made = True
            return await callback(*args, **kwargs)
        finally:
            answered = self.clock() if made else None
            for window in taken:
                window.finish(answered)
            if holding_bulk:
                assert self._bulk is not None
                self._bulk.release()


def _chat_key(value: Any) -> int | str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text or None


def limits_from_config(delivery: DeliveryConfig) -> Limits:
    """The :class:`Limits` of the ``[delivery]`` section."""
    return Limits(
        messages_per_second=delivery.messages_per_second,
        per_chat_per_second=delivery.per_chat_per_second,
        per_chat_burst=delivery.per_chat_burst,
        group_per_minute=delivery.group_messages_per_minute,
        paid_per_second=delivery.paid_messages_per_second,
        max_in_flight=delivery.max_in_flight,
    )
