"""A per-user limit on commands and button presses, against floods.

Up to ``limit`` in any ``window`` seconds are answered; the next one gets one polite
notice, and after that the person is ignored until the window has room again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.i18n import pick_language, translator
from handlers.common import Context

COMMANDS_PER_MINUTE = 20
WINDOW_SECONDS = 60.0
_PRUNE_ABOVE = 10_000  # users tracked before idle ones are forgotten


class Verdict(Enum):
    OK = "ok"
    NOTICE = "notice"  # over the limit: say so, once
    SILENT = "silent"  # over the limit, already told


class CommandRateLimit:
    """Sliding-window counter per user; ``clock`` is injectable for tests."""

    def __init__(
        self,
        limit: int = COMMANDS_PER_MINUTE,
        window: float = WINDOW_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._told: set[int] = set()

    def check(self, user_id: int) -> Verdict:
        """Count one command from ``user_id`` and say whether to answer it."""
        now = self.clock()
        stamps = self._seen.get(user_id)
        if stamps is None:
            if len(self._seen) > _PRUNE_ABOVE:
                self._prune(now)
            stamps = self._seen[user_id] = deque()
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if len(stamps) < self.limit:
            stamps.append(now)
            self._told.discard(user_id)
            return Verdict.OK
        if user_id in self._told:
            return Verdict.SILENT
        self._told.add(user_id)
        return Verdict.NOTICE

    def _prune(self, now: float) -> None:
        idle = [u for u, s in self._seen.items() if not s or s[-1] <= now - self.window]
        for user_id in idle:
            del self._seen[user_id]
            self._told.discard(user_id)


def _is_command(update: Update) -> bool:
    """A command, or any text in a private chat (the bot answers those too)."""
    message = update.message or update.channel_post
    if not (message and message.text):
        return False
    return message.text.startswith("/") or message.chat.type == "private"


async def flood_guard(update: Update, context: Context) -> None:
    """Runs before every handler: over the limit, one notice, then silence."""
    if not (_is_command(update) or update.callback_query is not None):
        return
    user = update.effective_user
    if user is None:
        return  # a channel's own post: only its administrators can write there
    limiter: CommandRateLimit = context.application.bot_data.setdefault(
        "command_rate_limit", CommandRateLimit()
    )
    verdict = limiter.check(user.id)
    if verdict is Verdict.OK:
        return
    if verdict is Verdict.NOTICE:
        tr = translator(pick_language(user.language_code))
        text = tr.plain(
            "You are sending commands faster than I can answer. "
            "Please wait a minute, then try again."
        )
        if update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text, do_quote=False)
    raise ApplicationHandlerStop
