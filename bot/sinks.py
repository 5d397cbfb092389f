"""Where alerts go: Telegram, or the console when there is no token or ``--dry-run``.

A sink sends one message and returns its message id, or raises one of the
``SendError`` classes below, so that the sender decides what to do without
knowing anything about python-telegram-bot.
"""

from __future__ import annotations

import itertools
import sys
from typing import Protocol, TextIO


class SendError(Exception):
    """Sending one message failed."""


class RetryAfter(SendError):
    """Flood limit: wait ``seconds`` and send the same message again."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"flood limit, retry after {seconds:g}s")


class Transient(SendError):
    """Timeout, 5xx or network error: retry later with backoff."""


class ChatUnavailable(SendError):
    """The bot can no longer write to the chat (blocked, kicked, chat not found)."""


class ChatMoved(SendError):
    """The group became a supergroup with a new id."""

    def __init__(self, new_chat_id: int) -> None:
        self.new_chat_id = new_chat_id
        super().__init__(f"chat moved to {new_chat_id}")


class MarkupRejected(SendError):
    """Telegram could not parse the HTML: send it as plain text instead."""


class Rejected(SendError):
    """Any other permanent refusal: do not retry."""


class Sink(Protocol):
    async def send(self, chat_id: int, html: str, text: str, *, disable_preview: bool) -> int:
        """Send one message; return its message id."""
        ...


class ConsoleSink:
    """Prints each alert as it would be sent (HTML), one block per message."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._ids = itertools.count(1)
        self.sent: list[tuple[int, str]] = []

    async def send(self, chat_id: int, html: str, text: str, *, disable_preview: bool) -> int:
        stream = self.stream or sys.stdout
        rule = "─" * 60
        print(f"{rule}\nto chat {chat_id}:\n{html}", file=stream, flush=True)
        self.sent.append((chat_id, html))
        return next(self._ids)
