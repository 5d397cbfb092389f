"""python-telegram-bot at the boundary: the Application (long polling, handlers, command menu).

The sink that sends alerts lives in ``bot.telegram_sink``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from telegram import BotCommand
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, CommandHandler

from bot.config import Config
from handlers.commands import CALLBACKS, COMMANDS, error_handler

if TYPE_CHECKING:
    from telegram import Bot

log = logging.getLogger(__name__)


def quiet_http_loggers() -> None:
    """httpx logs every request URL at INFO, and a Bot API URL holds the token."""
    for name in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler.executors.default"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_application(
    config: Config,
    core: Any,
    *,
    rate_limiter: BaseRateLimiter | None = None,  # type: ignore[type-arg]
) -> Application:  # type: ignore[type-arg]
    """The PTB Application with our handlers; ``core`` is kept in ``bot_data``.

    ``rate_limiter`` applies to every Bot API call, command replies included."""
    quiet_http_loggers()
    builder = (
        ApplicationBuilder()
        .token(config.telegram.token.get())
        .base_url(config.telegram.base_url)
        .base_file_url(config.telegram.base_url.removesuffix("/bot") + "/file/bot")
        .get_updates_read_timeout(config.telegram.poll_timeout + 10)
        .concurrent_updates(False)
    )
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    app.bot_data["core"] = core
    for command, _ in COMMANDS:
        app.add_handler(CommandHandler(command, CALLBACKS[command]))
    app.add_error_handler(error_handler)
    return app


async def set_command_menu(bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
