"""Where alerts go: Telegram, or the console when there is no token or ``--dry-run``.

A sink sends (or edits) one message and returns its message id, or raises one of the
``SendError`` classes below (a branch of ``bot.errors``' tree), so that the sender
decides what to do without knowing anything about python-telegram-bot::

    SendError
    ├── RetryAfter        flood limit: wait ``seconds``, send the same message again
    ├── Transient         timeout, 5xx, network: retry later with backoff
    ├── ChatUnavailable   blocked, kicked, chat not found, user deactivated: stop sending
    ├── ChatMoved         the group became a supergroup: ``new_chat_id``
    ├── MarkupRejected    Telegram could not parse the HTML: send the plain text instead
    ├── TopicUnavailable  the forum topic is closed or deleted: send to the chat's General
    └── Rejected          any other refusal (message to edit gone, ...): do not retry
"""

from __future__ import annotations

import itertools
import os
import sys
from dataclasses import dataclass, replace
from typing import Protocol, TextIO

from bot.delivery.render import READ_BUTTON
from bot.delivery.terminal import html_to_terminal
from bot.errors import NewsalertError, OutputClosed


class SendError(NewsalertError):
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


class TopicUnavailable(SendError):
    """The forum topic (``message_thread_id``) is closed or was deleted; the chat is fine."""

    def __init__(self, reason: str, *, closed: bool) -> None:
        self.closed = closed
        super().__init__(reason)


class Rejected(SendError):
    """Any other permanent refusal: do not retry."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for a sink: Telegram HTML, or plain ``text`` when ``html`` is empty.

    ``button_url``: an inline "Read" button, worded ``button_label`` (the chat's
    language); ``feedback_id``: the delivery's id for the 👍 / 👎 / ❔ buttons under an
    alert (0: none); ``silent``: no notification sound; ``image``: a picture shown as the
    link preview, ``image_size`` large (above the text) or small; ``thread_id``: a forum
    topic."""

    chat_id: int
    html: str
    text: str
    disable_preview: bool = True
    button_url: str = ""
    button_label: str = READ_BUTTON
    silent: bool = False
    feedback_id: int = 0
    image: str = ""
    image_size: str = ""
    thread_id: int | None = None  # a forum topic (message_thread_id)

    def as_plain_text(self) -> Outgoing:
        """The same message without markup (Telegram could not parse the HTML)."""
        return replace(self, html="")

    def in_general(self) -> Outgoing:
        """The same message for the chat itself (a forum's General topic)."""
        return replace(self, thread_id=None)


class Sink(Protocol):
    async def send(self, message: Outgoing) -> int:
        """Send one message; return Telegram's message id."""
        ...

    async def edit(self, message_id: int, message: Outgoing) -> None:
        """Replace the text of a message sent earlier; an unchanged text is not an error."""
        ...


class ConsoleSink:
    """Prints each alert, one block per message: the HTML as it is sent (``raw``), or as a
    person would read it (``raw=False``: bold and links rendered for the terminal, with
    ANSI styles when ``color``), the picture's address noted above it."""

    def __init__(
        self, stream: TextIO | None = None, *, raw: bool = True, color: bool | None = None
    ) -> None:
        self.stream = stream
        self.raw = raw
        self.color = color
        self._ids = itertools.count(1)
        self.sent: list[tuple[int, str]] = []
        self.edits: list[tuple[int, int, str]] = []

    def _print(self, heading: str, message: Outgoing) -> None:
        stream = self.stream or sys.stdout
        rule = "─" * 60
        button = f"\n[{message.button_label}] {message.button_url}" if message.button_url else ""
        size = {"large": "large, above the text", "small": "small"}.get(message.image_size, "")
        picture = f"[picture ({size}): {message.image}]\n" if message.image else ""
        body = message.html or message.text
        if not self.raw and message.html:
            color = self.color
            if color is None:
                color = stream.isatty() and not os.environ.get("NO_COLOR")
            body = html_to_terminal(message.html, color=color, known_url=message.button_url)
        try:
            print(f"{rule}\n{heading}:\n{picture}{body}{button}", file=stream, flush=True)
        except BrokenPipeError as e:
            raise OutputClosed from e

    async def send(self, message: Outgoing) -> int:
        where = f" topic {message.thread_id}" if message.thread_id else ""
        self._print(
            f"to chat {message.chat_id}{where}" + (" (silent)" if message.silent else ""), message
        )
        self.sent.append((message.chat_id, message.html or message.text))
        return next(self._ids)

    async def edit(self, message_id: int, message: Outgoing) -> None:
        self._print(f"edit of message {message_id} in chat {message.chat_id}", message)
        self.edits.append((message.chat_id, message_id, message.html or message.text))
