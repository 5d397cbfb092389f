"""Sending alerts with the Bot API: Telegram's refusals become ``bot.sinks`` errors,
so the sender never sees python-telegram-bot's exceptions."""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import TYPE_CHECKING

from telegram import LinkPreviewOptions
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

from bot import sinks

if TYPE_CHECKING:
    from telegram import Bot


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSink:
    """Sends alerts with the Bot API; Telegram's refusals become ``bot.sinks`` errors."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, html: str, text: str, *, disable_preview: bool) -> int:
        try:
            message = await self.bot.send_message(
                chat_id=chat_id,
                text=html or text,
                parse_mode=ParseMode.HTML if html else None,
                link_preview_options=LinkPreviewOptions(is_disabled=disable_preview),
            )
        except RetryAfter as e:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raise sinks.RetryAfter(_seconds(e.retry_after)) from e
        except ChatMigrated as e:
            raise sinks.ChatMoved(int(e.new_chat_id)) from e
        except Forbidden as e:
            raise sinks.ChatUnavailable(e.message) from e
        except BadRequest as e:
            lowered = e.message.lower()
            if "can't parse entities" in lowered or "can't find end" in lowered:
                raise sinks.MarkupRejected(e.message) from e
            if "chat not found" in lowered or "user is deactivated" in lowered:
                raise sinks.ChatUnavailable(e.message) from e
            raise sinks.Rejected(e.message) from e
        except (TimedOut, NetworkError) as e:
            raise sinks.Transient(str(e)) from e
        except TelegramError as e:
            raise sinks.Transient(str(e)) from e
        return int(message.message_id)
