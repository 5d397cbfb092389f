"""Draining the outbox: send each due delivery, mark it, and handle refusals.

The row is marked sent right after Telegram confirms it.  The one window that
cannot be closed is a crash between Telegram accepting a message and that
mark being written: at most one message per chat can then be sent twice, on
restart.  Nothing is ever lost: a row leaves ``pending`` only once its fate is known.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from datetime import timedelta

from bot.metrics import Metrics
from bot.records import Delivery, utcnow
from bot.sinks import (
    ChatMoved,
    ChatUnavailable,
    MarkupRejected,
    Rejected,
    RetryAfter,
    SendError,
    Sink,
    Transient,
)
from storage.store import Store

log = logging.getLogger(__name__)


class RateGate:
    """Spaces sends: at most ``per_second`` overall and one per ``chat_gap`` per chat."""

    def __init__(self, per_second: float = 30.0, chat_gap: float = 1.0) -> None:
        self.interval = 1.0 / per_second
        self.chat_gap = chat_gap
        self._next_global = 0.0
        self._next_chat: dict[int, float] = defaultdict(float)

    async def wait(self, chat_id: int) -> None:
        now = time.monotonic()
        at = max(now, self._next_global, self._next_chat[chat_id])
        self._next_global = at + self.interval
        self._next_chat[chat_id] = at + self.chat_gap
        if at > now:
            await asyncio.sleep(at - now)

    def pause(self, seconds: float) -> None:
        self._next_global = max(self._next_global, time.monotonic() + seconds)


class Sender:
    """Sends the outbox's due deliveries through a sink, one at a time."""

    def __init__(
        self,
        store: Store,
        sink: Sink,
        *,
        messages_per_second: float = 30.0,
        chat_gap: float = 1.0,
        max_attempts: int = 5,
    ) -> None:
        self.store = store
        self.sink = sink
        self.gate = RateGate(messages_per_second, chat_gap)
        self.max_attempts = max_attempts
        self._lock = asyncio.Lock()
        self.stopping = False
        self.metrics: Metrics | None = None  # the Core's; counts sent and failed alerts

    async def drain(self) -> int:
        """Send every due delivery; returns how many were sent."""
        sent = 0
        async with self._lock:
            while True:
                batch = self.store.outbox.due(limit=200)
                if not batch:
                    return sent
                progressed = False
                for delivery in batch:
                    if self.stopping:  # the send in flight finished; the rest stays pending
                        return sent
                    if await self._send_one(delivery):
                        sent += 1
                    progressed = True
                if not progressed:
                    return sent

    async def _send_one(self, delivery: Delivery) -> bool:
        chat = self.store.chats.get(delivery.chat_id)
        if chat is None or not chat.active:
            return False
        disable_preview = self.store.outbox.disable_preview(delivery.id)
        html, text = delivery.html, delivery.text
        as_plain = False
        for _ in range(3):  # a retry-after or a markup fallback resends at once
            await self.gate.wait(delivery.chat_id)
            started = time.monotonic()
            try:
                if as_plain:
                    message_id = await self.sink.send(
                        delivery.chat_id, "", text, disable_preview=disable_preview
                    )
                else:
                    message_id = await self.sink.send(
                        delivery.chat_id, html, text, disable_preview=disable_preview
                    )
            except RetryAfter as e:
                log.warning("flood limit from Telegram: pausing %.1fs", e.seconds)
                self.gate.pause(e.seconds)
                continue
            except MarkupRejected:
                log.warning(
                    "delivery %d: Telegram rejected the HTML; resending as plain text", delivery.id
                )
                as_plain = True
                continue
            except ChatMoved as e:
                log.info("chat %d moved to %d", delivery.chat_id, e.new_chat_id)
                self.store.chats.migrate(delivery.chat_id, e.new_chat_id)
                return False  # the row now belongs to the new chat and stays pending
            except ChatUnavailable as e:
                log.info("chat %d unavailable (%s): deactivated", delivery.chat_id, e)
                self.store.chats.deactivate(delivery.chat_id, str(e))
                return False
            except (Transient, SendError) as e:
                self._retry_or_fail(delivery, e)
                return False
            else:
                self.store.outbox.mark_sent(delivery.id, message_id)
                if self.metrics is not None:
                    self.metrics.alert_sent(time.monotonic() - started)
                return True
        self._retry_or_fail(delivery, Transient("gave up after repeated flood limits"))
        return False

    def _retry_or_fail(self, delivery: Delivery, error: SendError) -> None:
        reason = str(error) or type(error).__name__
        if isinstance(error, Rejected) or delivery.attempts + 1 >= self.max_attempts:
            log.error("delivery %d to chat %d failed: %s", delivery.id, delivery.chat_id, reason)
            self.store.outbox.mark_failed(delivery.id, reason)
            if self.metrics is not None:
                self.metrics.alert_failed()
            return
        delay = min(300.0, 2.0 ** (delivery.attempts + 1))
        log.warning("delivery %d: %s; retrying in %.0fs", delivery.id, reason, delay)
        self.store.outbox.mark_retry(delivery.id, reason, utcnow() + timedelta(seconds=delay))
