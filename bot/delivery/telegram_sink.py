"""Sending alerts with the Bot API: Telegram's refusals become ``bot.delivery.sinks`` errors,
so the sender never sees python-telegram-bot's exceptions."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.config.model import DeliveryConfig
from bot.delivery import sinks
from bot.delivery.ratelimit import ALERT, EDIT
from bot.delivery.sinks import Outgoing
from bot.text import without_known_secrets

if TYPE_CHECKING:
    from telegram import Bot

T = TypeVar("T")

# Telegram's words (lower-cased) for a chat the bot can no longer write to.
_UNAVAILABLE = (
    "chat not found",
    "user is deactivated",
    "bot was kicked",
    "bot was blocked",
    "not a member",
    "need administrator rights",
    "not enough rights",
    "have no rights to send",
    "chat_write_forbidden",
    "peer_id_invalid",
)
_BAD_MARKUP = ("can't parse entities", "can't find end", "unsupported start tag")
# Telegram's words for a forum topic that cannot take messages: closed, or gone.
_TOPIC_CLOSED = ("topic_closed",)
_TOPIC_GONE = ("message thread not found", "topic_deleted", "topic_id_invalid")


def refuses_the_topic(words: str) -> bool:
    """Whether Telegram's words of a refusal say the forum topic is closed or gone (not
    the chat): the message can still go to the chat's General topic."""
    lowered = words.lower()
    return any(w in lowered for w in (*_TOPIC_CLOSED, *_TOPIC_GONE))


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns about the int/timedelta transition
        value = error.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


async def _translated(call: Awaitable[T]) -> T:
    """Await a Bot API call, turning Telegram's refusals into ``bot.delivery.sinks`` errors."""
    try:
        return await call
    except RetryAfter as e:
        raise sinks.RetryAfter(_retry_seconds(e)) from e
    except ChatMigrated as e:
        raise sinks.ChatMoved(int(e.new_chat_id)) from e
    except Forbidden as e:  # Telegram's words are kept (as reasons) and logged: no token
        raise sinks.ChatUnavailable(without_known_secrets(e.message)) from e
    except BadRequest as e:  # before NetworkError, its base class
        lowered = e.message.lower()
        words = without_known_secrets(e.message)
        if any(w in lowered for w in _BAD_MARKUP):
            raise sinks.MarkupRejected(words) from e
        if any(w in lowered for w in _TOPIC_CLOSED):
            raise sinks.TopicUnavailable(words, closed=True) from e
        if any(w in lowered for w in _TOPIC_GONE):
            raise sinks.TopicUnavailable(words, closed=False) from e
        if any(w in lowered for w in _UNAVAILABLE):
            raise sinks.ChatUnavailable(words) from e
        raise sinks.Rejected(words) from e
    except (TimedOut, NetworkError) as e:  # an HTTP library's words: a URL with the token
        raise sinks.Transient(without_known_secrets(str(e)) or type(e).__name__) from e
    except TelegramError as e:
        raise sinks.Transient(without_known_secrets(str(e))) from e


def preview_options(message: Outgoing) -> LinkPreviewOptions:
    """The article's picture as the link preview (large and above the text, or small), else
    the article's page when previews are on, else none."""
    return _preview(message.image, message.image_size, message.disable_preview, message.button_url)


def _preview(image: str, size: str, disabled: bool, url: str) -> LinkPreviewOptions:
    if image:
        large = size != "small"
        return LinkPreviewOptions(
            url=image,
            prefer_large_media=True if large else None,
            prefer_small_media=None if large else True,
            show_above_text=True if large else None,
        )
    return LinkPreviewOptions(is_disabled=disabled, url=None if disabled else url or None)


# A broadcast sends the same preview and "Read" button to every chat: made into the Bot
# API's JSON once, not once a chat (PTB's to_dict was a tenth of a send's CPU).  Never
# changed by anyone, so one dict may go with many calls.
@functools.lru_cache(maxsize=256)
def _preview_json(image: str, size: str, disabled: bool, url: str) -> dict[str, Any]:
    return _preview(image, size, disabled, url).to_dict()


@functools.lru_cache(maxsize=256)
def _read_button_json(label: str, url: str) -> dict[str, Any]:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)]]).to_dict()


def _send_json(message: Outgoing) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The preview options and the keyboard of a send, as JSON."""
    preview = _preview_json(
        message.image, message.image_size, message.disable_preview, message.button_url
    )
    if message.feedback_id:  # buttons of its own: made for this one
        keyboard = _keyboard(message)
        return preview, keyboard.to_dict() if keyboard else None
    if message.button_url:
        return preview, _read_button_json(message.button_label, message.button_url)
    return preview, None


class TelegramSink:
    """Sends and edits alerts with the Bot API (through the Application's rate limiter).

    ``paid_broadcast`` sends alerts with ``allow_paid_broadcast``; ``timeout`` is how long
    to wait for Telegram's answer to one send before calling it a timeout.
    """

    def __init__(
        self,
        bot: Bot,
        *,
        paid_broadcast: bool = DeliveryConfig.paid_broadcast,
        timeout: float = DeliveryConfig.send_timeout,
    ) -> None:
        self.bot = bot
        self.paid_broadcast = paid_broadcast
        self.timeout = timeout

    def _options(self, priority: int) -> dict[str, Any]:
        options: dict[str, Any] = {"read_timeout": self.timeout, "write_timeout": self.timeout}
        if getattr(self.bot, "rate_limiter", None) is not None:
            options["rate_limit_args"] = priority
        return options

    @staticmethod
    def _content(message: Outgoing, *, json: bool = False) -> dict[str, Any]:
        """What a send or an edit says; ``json``: preview and keyboard as the Bot API's JSON."""
        preview: Any
        keyboard: Any
        if json:
            preview, keyboard = _send_json(message)
        else:
            preview, keyboard = preview_options(message), _keyboard(message)
        return {
            "chat_id": message.chat_id,
            "text": message.html or message.text,
            "parse_mode": ParseMode.HTML if message.html else None,
            "link_preview_options": preview,
            "reply_markup": keyboard,
        }

    async def send(self, message: Outgoing) -> int:
        # Through ``do_api_request`` with no return type: Telegram's answer stays a dict, so
        # no ``telegram.Message`` (and its chat, user and entities) is built for every send,
        # which was a sixth of a paid broadcast's CPU.  The rate limiter sees the same call.
        # Bot API method names are case-insensitive; PTB warns on every call of a method
        # it has a function for, which it recognises by the exact spelling "sendMessage".
        content = self._content(message, json=True)
        content["disable_notification"] = message.silent
        content["allow_paid_broadcast"] = self.paid_broadcast or None
        content["message_thread_id"] = message.thread_id
        sent = await _translated(
            self.bot.do_api_request(
                "sendmessage",
                api_kwargs={k: v for k, v in content.items() if v is not None},
                **self._options(ALERT),
            )
        )
        return int(sent["message_id"])

    async def edit(self, message_id: int, message: Outgoing) -> None:
        try:
            await _translated(
                self.bot.edit_message_text(
                    message_id=message_id,
                    **self._content(message),
                    **self._options(EDIT),
                )
            )
        except sinks.Rejected as e:
            if "message is not modified" not in str(e).lower():
                raise


# The buttons under an alert: "Read" (the article), then 👍 / 👎 (more or fewer like this,
# for this chat: bot.matching.feedback) and ❔ (why it was sent), as callbacks
# "f:<delivery id>:+|-|?" that handlers.feedback answers.
FEEDBACK_BUTTONS = (("👍", "+"), ("👎", "-"), ("❔", "?"))


def _keyboard(message: Outgoing) -> InlineKeyboardMarkup | None:
    rows = []
    if message.button_url:
        rows.append([InlineKeyboardButton(message.button_label, url=message.button_url)])
    if message.feedback_id:
        rows.append(
            [
                InlineKeyboardButton(face, callback_data=f"f:{message.feedback_id}:{action}")
                for face, action in FEEDBACK_BUTTONS
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None
