"""Draining the outbox: send each due delivery, mark it, and handle Telegram's refusals.

Each chat with something to send gets its own task, which sends that chat's rows one at a
time in outbox order; many chats are served at once, so a slow, failing or rate-limited
chat never holds up the others.  Telegram's limits (30/s overall, about 1/s per chat, 20/min
per group) are kept by the Bot's rate limiter (``bot.delivery.ratelimit``), which also bounds the
alerts on the wire at once (``delivery.max_in_flight``).

What happens to a row:

* sent: marked ``sent`` with Telegram's message id, right after Telegram confirms it;
* 403 (blocked, kicked, deactivated) or 400 "chat not found": the row ``failed``, the chat is
  made inactive and everything else queued for it ``skipped``; the chat comes back when
  it talks to the bot again or adds it back (``bot.service.chats.register_chat``);
* 400 with ``migrate_to_chat_id``: the chat, its subscriptions and its rows move to the new
  id, and the same row is sent there at once;
* 400 "can't parse entities": the same alert is sent again at once as plain text;
* 429 (after the rate limiter's own retries): tried again after ``retry_after``;
* timeout, 5xx, network: tried again after ``retry_backoff`` (doubling), up to
  ``max_attempts``, then ``failed`` with the reason.  The chat's later rows wait their turn.
* quiet hours: held until they end, or sent without a sound (``bot.delivery.digest.quiet_state``).

A row that already went out and whose story another feed has since carried (its ``version``
is newer than what Telegram has) is edited to add "Also: ...".  The "Also:" line and the
"Read" button are worded in the chat's language as it is when the row is sent or edited.

**Claims.**  A row is claimed (``pending`` -> ``sending``, one atomic UPDATE that only a
pending row passes) before it goes to Telegram, so two senders, even two processes on one
database, never both send it; a row whose claim cannot be written is not sent at all.

**When the database refuses writes** (a full disk, a read-only file): a send Telegram accepted
but whose mark cannot be written is kept in memory as (row, message id) and never sent again;
the sender pauses (nothing new is claimed or sent), ``/healthz`` answers 503 with the reason
(:attr:`Sender.paused_reason`), and every drain retries the writes it owes.  When they go
through, the sender goes on by itself.

**The crash window.**  Nothing is lost: a row leaves ``pending``/``sending`` only once its
fate is known.  A row still ``sending`` at start was cut short by a crash (or its mark was
still owed when the process died): Telegram may or may not have it, and we cannot ask, so it
is sent again (:meth:`Sender.recover`): at least once, never lost.  That is the choice for
news alerts, where a repeat is a nuisance and a loss is a failure.  At most one send per chat
is ever in flight, and at most ``delivery.max_in_flight`` in all, so a crash repeats at most
one alert per chat and at most ``max_in_flight`` alerts in total (set it to 1 for at most
one).  A send that times out is retried too, and may likewise repeat once if Telegram had in
fact accepted it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.config.model import DeliveryConfig
from bot.delivery.digest import QuietState, quiet_state
from bot.delivery.labels import alert_labels
from bot.delivery.render import AlertLabels, with_also, with_breaking
from bot.delivery.sinks import (
    ChatMoved,
    ChatUnavailable,
    MarkupRejected,
    Outgoing,
    Rejected,
    RetryAfter,
    SendError,
    Sink,
    TopicUnavailable,
    Transient,
)
from bot.errors import OutputClosed
from bot.records import Delivery, DeliveryState, utcnow
from bot.text import plural, traceback_without_secrets, without_known_secrets
from storage.store import Store

log = logging.getLogger(__name__)

PAGE = 500  # rows read from the outbox at a time
# seconds between looks at the store's delivery generation while waiting (one cheap read)
LOOK_AGAIN_EVERY = 0.25
MAX_BACKOFF = 300.0


class SendMetrics(Protocol):
    """What the sender counts (``bot.ops.metrics.Metrics`` is one)."""

    def alert_sent(self, seconds: float) -> None: ...

    def alert_failed(self) -> None: ...


class Sender:
    """Sends the outbox's due rows through a sink, one task per chat (see the module doc).

    ``max_chats`` bounds the chats served at once.  A chat made inactive or moved here
    moves the store's subscription generation by itself, so the matcher follows; and
    the sender follows the store's delivery generation (``settings_moved``), so that a
    change of a chat's delivery settings (quiet hours off, back to instant alerts), by
    whoever wrote it, has its held alerts looked at again.
    """

    def __init__(
        self,
        store: Store,
        sink: Sink,
        *,
        max_attempts: int = DeliveryConfig.max_attempts,
        retry_backoff: float = DeliveryConfig.retry_backoff,
        max_chats: int = 256,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.sink = sink
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.max_chats = max_chats
        self.clock = clock
        self.metrics: SendMetrics | None = None  # the Core's; counts sent and failed alerts
        self.feedback = False  # 👍/👎/❔ under alerts in private chats and groups
        self._buttons: dict[int, bool] = {}  # chat id -> the feedback buttons go under its alerts
        self.stopping = False
        self.sent_total = 0
        self._lock = asyncio.Lock()
        self._wake: asyncio.Event | None = None
        self._ready: asyncio.Event | None = None
        self._claimed: set[int] = set()
        self._progress = 0
        self._settings_generation: int | None = None
        # writes owed to the database after it refused them, by row: retried before any send
        self._owed: dict[int, Callable[[], None]] = {}
        self.paused_reason = ""  # set while the database refuses writes

    # -- the database refusing writes --------------------------------------------------------

    def recover(self) -> int:
        """At start: rows a crashed run left ``sending`` are sent again (see the module doc)."""
        requeued = self.store.outbox.requeue_interrupted()
        if requeued:
            log.warning(
                "%d alerts were being sent when the last run stopped; sending them again "
                "(Telegram may already have some of them)",
                requeued,
            )
        return requeued

    def _refused_write(self, error: sqlite3.Error) -> None:
        if not self.paused_reason:
            log.error(
                "the database refuses writes (%s): sending paused until it accepts them again",
                error,
            )
        self.paused_reason = f"the database refuses writes ({error}); sending is paused"

    def _owe(self, row_id: int, write: Callable[[], None]) -> bool:
        """Do ``write`` now, or remember it for later when the database refuses it."""
        try:
            write()
        except sqlite3.Error as e:
            self._owed[row_id] = write
            self._refused_write(e)
            return False
        return True

    def _settle_owed(self) -> bool:
        """Retry the writes owed; True when nothing is owed (and the sender may go on)."""
        for row_id, write in list(self._owed.items()):
            try:
                write()
            except sqlite3.Error as e:
                self._refused_write(e)
                return False
            del self._owed[row_id]
        if self.paused_reason:
            log.warning("the database accepts writes again: sending goes on")
            self.paused_reason = ""  # a claim that fails again pauses once more
        return True

    # -- driving -----------------------------------------------------------------------------

    def wake(self) -> None:
        """New rows may be due: a running drain looks again."""
        if self._wake is not None:
            self._wake.set()
        if self._ready is not None:
            self._ready.set()

    def settings_moved(self) -> bool:
        """True when chats' delivery settings changed since the last call (any process
        wrote them): held alerts may be due now, so the outbox is worth a look."""
        try:
            generation = self.store.chats.delivery_generation()
        except Exception:  # the database busy (a backup, say): look again next time
            log.debug("could not read the delivery generation", exc_info=True)
            return False
        moved = self._settings_generation is not None and generation != self._settings_generation
        self._settings_generation = generation
        return moved

    def next_due_in(self, default: float) -> float:
        """Seconds until the earliest waiting row comes due (at most ``default``)."""
        at = self.store.outbox.next_due_at()
        if at is None:
            return default
        return max(0.0, min(default, (at - self.clock()).total_seconds()))

    async def drain(self) -> int:
        """Send (and edit) everything due now, serving many chats at once; returns how
        many messages were sent.  Rows that become due meanwhile are picked up too; rows
        waiting for a later time (retries, quiet hours) are left for a later drain."""
        async with self._lock:
            if not self._settle_owed():
                return 0
            self._wake = asyncio.Event()
            self._ready = ready = asyncio.Event()  # a chat's task ended, or wake()
            self.settings_moved()  # this drain reads every chat's settings as they are now
            looked_at = time.monotonic()
            sent_before = self.sent_total
            tasks: dict[int, asyncio.Task[None]] = {}
            # chats whose task ended, told by the task itself: with 256 chats served at once,
            # asyncio.wait over all of them after every send was a tenth of a send's CPU
            ended: list[int] = []

            def start(chat_id: int) -> None:
                def done(_: object) -> None:
                    ended.append(chat_id)
                    ready.set()

                task = tasks[chat_id] = asyncio.create_task(
                    self._serve_chat(chat_id), name=f"send-to-{chat_id}"
                )
                task.add_done_callback(done)

            cursor, exhausted, progress_at_pass = 0, False, self._progress
            try:
                while True:
                    # Refill when half the chats are done: one outbox read per many sends.
                    if not self.stopping and not exhausted and len(tasks) <= self.max_chats // 2:
                        cursor, exhausted = self._start_chats(start, len(tasks), cursor)
                    if not tasks:
                        if self.stopping or not exhausted:
                            break
                        # A pass is over: another one if it got somewhere and work is left.
                        if self._progress == progress_at_pass or not self.store.outbox.work(
                            limit=1, now=self.clock()
                        ):
                            break
                        cursor, exhausted, progress_at_pass = 0, False, self._progress
                        continue
                    if not ended and not self._wake.is_set():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(ready.wait(), LOOK_AGAIN_EVERY)
                    ready.clear()
                    now = time.monotonic()
                    if now - looked_at >= LOOK_AGAIN_EVERY or self._wake.is_set():
                        looked_at = now
                        if self.settings_moved() or self._wake.is_set():
                            self._wake.clear()
                            exhausted = False
                    for chat_id in ended:
                        task = tasks.pop(chat_id)
                        if isinstance(
                            task.exception() if not task.cancelled() else None, OutputClosed
                        ):
                            # nobody reads the console sink any more: the others stop too
                            for other in tasks.values():
                                other.cancel()
                            await asyncio.gather(*tasks.values(), return_exceptions=True)
                            raise OutputClosed
                        error = None if task.cancelled() else task.exception()
                        if error is not None:
                            log.error(  # not exc_info: its text may hold the token
                                "sending to chat %d failed\n%s",
                                chat_id,
                                traceback_without_secrets(error),
                            )
                    ended.clear()
            except asyncio.CancelledError:
                # Cancelled (a stop that could not wait): a send cut short is like a crash,
                # its row stays pending and is sent again on the next start.
                for task in tasks.values():
                    task.cancel()
                await asyncio.gather(*tasks.values(), return_exceptions=True)
                raise
            return self.sent_total - sent_before

    def _start_chats(
        self, start: Callable[[int], None], serving: int, cursor: int
    ) -> tuple[int, bool]:
        """``start`` a task for each chat with work past ``cursor``, up to ``max_chats``
        (``serving`` are served already); returns the new cursor and whether the outbox
        was read to its end."""
        rows = self.store.outbox.work(after_id=cursor, limit=PAGE, now=self.clock())
        for row_id, chat_id in rows:
            if chat_id not in self._claimed:
                if serving >= self.max_chats:
                    return cursor, False
                self._claimed.add(chat_id)
                start(chat_id)
                serving += 1
            cursor = row_id
        return cursor, len(rows) < PAGE

    # -- one chat ----------------------------------------------------------------------------

    async def _serve_chat(self, chat_id: int) -> None:
        """Send the chat's due rows in order; stop at the first that must wait."""
        claimed = first = chat_id
        try:
            while not self.stopping and not self.paused_reason:
                chat = self.store.chats.get(chat_id)
                if chat is None or not chat.active:
                    return
                now = self.clock()
                # a paused chat keeps its queue until /resume; edits of sent alerts go on
                message = self.store.outbox.next_for_chat(
                    chat_id, now=now, include_pending=not chat.paused
                )
                if message is None:
                    return
                self._buttons[chat_id] = self.feedback and chat.type != "channel"
                if message.needs_edit:
                    outcome = await self._edit(message, alert_labels(chat.language))
                else:
                    quiet = quiet_state(chat, now)
                    if message.priority:  # breaking news the chat takes at once
                        quiet = QuietState(False)
                    if quiet.hold and quiet.until is not None:
                        self.store.outbox.defer_chat(chat_id, quiet.until)
                        self._progress += 1
                        return
                    outcome = await self._send(
                        message, alert_labels(chat.language), silent=quiet.silent
                    )
                self._progress += 1
                if outcome is False:
                    return
                if outcome is not True:  # the chat moved: go on under its new id
                    if outcome in self._claimed:
                        return  # that chat's own task sends the moved rows
                    self._claimed.add(outcome)
                    self._claimed.discard(claimed)
                    chat_id = claimed = outcome
        except sqlite3.Error as e:  # a write refused (a full disk): pause, nothing resent
            self._refused_write(e)
        finally:
            self._claimed.discard(claimed)
            # only while the chat is served (else one entry for every chat ever sent to)
            self._buttons.pop(first, None)
            self._buttons.pop(claimed, None)

    def _compose(self, message: Delivery, labels: AlertLabels) -> tuple[str, str]:
        if message.kind != "alert" or message.story_id is None:
            return message.html, message.text
        if message.breaking:  # "Breaking · Reuters, AP, Yonhap" in place of "Also:"
            outlets = self.store.stories.sources(message.story_id)
            return with_breaking(message.html, message.text, outlets, labels)
        sources = self.store.outbox.also_sources(message.story_id, own=message.source)
        return with_also(message.html, message.text, sources, labels)

    def _outgoing(
        self, message: Delivery, html: str, text: str, labels: AlertLabels, *, silent: bool = False
    ) -> Outgoing:
        alert = message.kind == "alert"
        return Outgoing(
            chat_id=message.chat_id,
            html=html,
            text=text,
            disable_preview=message.disable_preview,
            button_url=message.link if alert and message.button else "",
            button_label=labels.read,
            silent=silent,
            feedback_id=message.id if alert and self._buttons.get(message.chat_id) else 0,
            image=message.image,
            image_size=message.image_size,
            thread_id=message.thread_id,
        )

    async def _send(self, message: Delivery, labels: AlertLabels, *, silent: bool) -> bool | int:
        """Send one row; True: go on with the chat, False: stop, int: the chat's new id."""
        try:
            if not self.store.outbox.claim(message.id):
                return True  # no longer pending: someone else has it
        except sqlite3.Error as e:  # not claimed, so not sent
            self._refused_write(e)
            return False
        try:
            return await self._send_claimed(message, labels, silent=silent)
        except BaseException as e:
            # cut short (a stop, a refused write): back to pending, unless a mark is owed
            if message.id not in self._owed:
                release = functools.partial(self.store.outbox.release, message.id)
                if isinstance(e, sqlite3.Error):
                    self._owe(message.id, release)
                else:
                    with contextlib.suppress(sqlite3.Error):
                        release()
            raise

    async def _send_claimed(
        self, message: Delivery, labels: AlertLabels, *, silent: bool
    ) -> bool | int:
        html, text = self._compose(message, labels)
        outgoing = self._outgoing(message, html, text, labels, silent=silent)
        plain = False
        refused: tuple[int, TopicUnavailable] | None = None  # a forum topic that said no
        started = time.monotonic()
        while True:
            try:
                message_id = await self.sink.send(outgoing.as_plain_text() if plain else outgoing)
            except TopicUnavailable as e:
                if outgoing.thread_id is None:
                    return self._give_up(message, f"rejected: {e}")
                # The topic is closed or gone, not the chat: this alert goes to General
                # (once), the admins are told, the subscription stays as it is.
                log.warning(
                    "delivery %d: topic %d of chat %d refused (%s); sending to General",
                    message.id, outgoing.thread_id, message.chat_id, e,
                )  # fmt: skip
                refused = (outgoing.thread_id, e)
                outgoing = outgoing.in_general()
                continue
            except MarkupRejected as e:
                if plain:
                    return self._give_up(message, f"rejected: {e}")
                log.warning(
                    "delivery %d: Telegram rejected the HTML (%s); sending plain text",
                    message.id,
                    e,
                )
                plain = True
                continue
            except SendError as e:
                return self._not_taken(message, e)
            except Exception as e:  # a bug or an unexpected error must not stop the sender
                # not exc_info nor the raw text (stored on the row): a Bot API URL in it
                # holds the token
                log.error(
                    "delivery %d: unexpected error while sending\n%s",
                    message.id,
                    traceback_without_secrets(e),
                )
                reason = without_known_secrets(f"{type(e).__name__}: {e}")
                return self._not_taken(message, Transient(reason))
            reasons = []
            if refused is not None:
                reasons.append(f"topic {refused[0]} refused ({refused[1]}): sent to General")
            if plain:
                reasons.append("sent as plain text: Telegram rejected the HTML")
            mark = functools.partial(
                self.store.outbox.mark_sent,
                message.id,
                message_id,
                now=self.clock(),
                version=message.version,
                reason="; ".join(reasons),
                digest=message.kind == "digest",
            )
            self.sent_total += 1
            if not self._owe(message.id, mark):  # Telegram has it: never sent again
                log.error(
                    "delivery %d went out (message %d) but cannot be marked yet",
                    message.id,
                    message_id,
                )
                return False
            if self.metrics is not None:
                self.metrics.alert_sent(time.monotonic() - started)
            if refused is not None:
                await self._tell_admins(message.chat_id, *refused, labels)
            elif outgoing.thread_id is not None:
                self.store.chats.clear_topic_fault(message.chat_id, outgoing.thread_id)
            return True

    async def _tell_admins(
        self, chat_id: int, thread_id: int, error: TopicUnavailable, labels: AlertLabels
    ) -> None:
        """Say in the group's General topic, once per refused topic, why alerts come there."""
        if not self.store.chats.note_topic_fault(chat_id, thread_id, str(error)):
            return  # told already; told again once the topic worked and then refused
        text = labels.topic_closed if error.closed else labels.topic_gone
        try:
            await self.sink.send(Outgoing(chat_id=chat_id, html="", text=text))
        except SendError as e:
            log.warning(
                "chat %d: could not tell the admins about topic %d: %s", chat_id, thread_id, e
            )

    async def _edit(self, message: Delivery, labels: AlertLabels) -> bool | int:
        """Bring a sent message up to its row's version ("Also: ...")."""
        assert message.message_id is not None
        html, text = self._compose(message, labels)
        outgoing = self._outgoing(message, html, text, labels)
        plain = False
        while True:
            try:
                await self.sink.edit(
                    message.message_id, outgoing.as_plain_text() if plain else outgoing
                )
            except MarkupRejected:
                if plain:
                    self.store.outbox.mark_edited(
                        message.id, message.version, reason="edit rejected"
                    )
                    return True
                plain = True
                continue
            except (ChatMoved, ChatUnavailable) as e:
                return self._refused(message, e)
            except (Transient, RetryAfter) as e:
                if message.edit_attempts + 1 >= self.max_attempts:
                    self.store.outbox.mark_edited(
                        message.id,
                        message.version,
                        reason=f"edit failed: {without_known_secrets(str(e))}",
                    )
                    return True
                delay = (
                    e.seconds if isinstance(e, RetryAfter) else self._backoff(message.edit_attempts)
                )
                self.store.outbox.mark_edit_retry(
                    message.id, f"edit: {e}", self.clock() + timedelta(seconds=delay)
                )
                return True  # an edit waiting does not hold up the chat's new alerts
            except Exception as e:  # Rejected (message gone, ...) or unexpected: stop trying
                self.store.outbox.mark_edited(
                    message.id,
                    message.version,
                    reason=f"edit failed: {without_known_secrets(str(e))}",
                )
                return True
            self.store.outbox.mark_edited(message.id, message.version)
            return True

    def _not_taken(self, message: Delivery, error: SendError) -> bool | int:
        """:meth:`_refused` for a claimed row; if the database refuses that write, the row
        is owed a release back to pending (it was not sent, so it may be sent later)."""
        try:
            return self._refused(message, error)
        except sqlite3.Error as e:
            self._owe(message.id, functools.partial(self.store.outbox.release, message.id))
            self._refused_write(e)
            return False

    def _refused(self, message: Delivery, error: SendError) -> bool | int:
        """Telegram did not take the row; returns what the chat's task does next."""
        reason = str(error) or type(error).__name__
        chat_id = message.chat_id
        if isinstance(error, ChatMoved):
            self.store.outbox.release(message.id)  # sent again at once under the new id
            log.info(
                "chat %d moved to %d: moving its subscriptions and alerts",
                chat_id,
                error.new_chat_id,
            )
            self.store.chats.migrate(chat_id, error.new_chat_id)
            return error.new_chat_id
        if isinstance(error, ChatUnavailable):
            log.info("chat %d is unavailable (%s): made inactive", chat_id, reason)
            with self.store.atomic():
                if message.state == DeliveryState.PENDING:
                    self.store.outbox.mark_failed(message.id, f"chat unavailable: {reason}")
                self.store.chats.deactivate(chat_id, reason)
                skipped = self.store.outbox.skip_chat(chat_id, f"chat inactive: {reason}")
            if skipped:
                log.info("chat %d: %s skipped", chat_id, plural(skipped, "queued alert"))
            if self.metrics is not None and message.state == DeliveryState.PENDING:
                self.metrics.alert_failed()
            return False
        if isinstance(error, RetryAfter):
            until = self.clock() + timedelta(seconds=error.seconds)
            self.store.outbox.defer(message.id, reason, until)
            return False
        if isinstance(error, Rejected):
            return self._give_up(message, reason)
        if message.attempts + 1 >= self.max_attempts:
            return self._give_up(message, reason)
        delay = self._backoff(message.attempts)
        log.warning("delivery %d: %s; retrying in %.0fs", message.id, reason, delay)
        self.store.outbox.mark_retry(message.id, reason, self.clock() + timedelta(seconds=delay))
        return False  # the chat's later rows wait for this one

    def _give_up(self, message: Delivery, reason: str) -> bool:
        log.error("delivery %d to chat %d failed: %s", message.id, message.chat_id, reason)
        self.store.outbox.mark_failed(message.id, reason)
        if self.metrics is not None:
            self.metrics.alert_failed()
        return True

    def _backoff(self, attempts: int) -> float:
        return min(MAX_BACKOFF, self.retry_backoff * 2.0**attempts)
