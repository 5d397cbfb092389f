"""python-telegram-bot at the boundary: the Application (long polling, handlers,
command menu) and the sink that sends alerts, mapping PTB's errors to ours."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, LinkPreviewOptions
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
from telegram.ext import Application, ApplicationBuilder, CommandHandler

from bot import sinks
from bot.config import Config
from handlers.commands import CALLBACKS, COMMANDS, error_handler

if TYPE_CHECKING:
    from telegram import Bot

log = logging.getLogger(__name__)


def quiet_http_loggers() -> None:
    """httpx logs every request URL at INFO, and a Bot API URL holds the token."""
    for name in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler.executors.default"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_application(config: Config, core: Any) -> Application:  # type: ignore[type-arg]
    """The PTB Application with our handlers; ``core`` is kept in ``bot_data``."""
    quiet_http_loggers()
    builder = (
        ApplicationBuilder()
        .token(config.telegram.token.get())
        .base_url(config.telegram.base_url)
        .base_file_url(config.telegram.base_url.removesuffix("/bot") + "/file/bot")
        .get_updates_read_timeout(config.telegram.poll_timeout + 10)
        .concurrent_updates(False)
    )
    app = builder.build()
    app.bot_data["core"] = core
    for command, _ in COMMANDS:
        app.add_handler(CommandHandler(command, CALLBACKS[command]))
    app.add_error_handler(error_handler)
    return app


async def set_command_menu(bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])


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
