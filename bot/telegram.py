"""python-telegram-bot at the boundary: the Application with our handlers.

The command menu is set by ``handlers.menu.set_command_menu``; the sink that sends alerts
lives in ``bot.delivery.telegram_sink``."""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter
from telegram.request import HTTPXRequest

from bot.config.model import Config
from bot.delivery.aiohttp_request import AiohttpRequest
from bot.errors import NewsalertError
from handlers.commands import register_handlers
from handlers.common import Core

# the Application as built here: PTB's default types for the bot, context and data
PTBApplication = Application[Any, Any, Any, Any, Any, Any]


def quiet_http_loggers() -> None:
    """httpx logs every request URL at INFO, and a Bot API URL holds the token."""
    for name in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler.executors.default"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:  # else bot.ops.logs chose (-vv), redacting the token
            logger.setLevel(logging.WARNING)


def build_application(
    config: Config,
    core: Core,
    *,
    rate_limiter: BaseRateLimiter[Any] | None = None,
) -> PTBApplication:
    """The PTB Application with our handlers; ``core`` is kept in ``bot_data``.

    ``rate_limiter`` applies to every Bot API call, command replies included."""
    quiet_http_loggers()
    builder = (
        ApplicationBuilder()
        .token(config.telegram.token.get())
        .base_url(config.telegram.base_url)
        .base_file_url(config.telegram.base_url.removesuffix("/bot") + "/file/bot")
        # every call but getUpdates: a send costs a fifth of httpx's CPU (bench/fanout.py)
        .request(AiohttpRequest())
        # long polling keeps httpx, as python-telegram-bot would have made it
        .get_updates_request(
            HTTPXRequest(connection_pool_size=1, read_timeout=config.telegram.poll_timeout + 10)
        )
        .concurrent_updates(False)
    )
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    app.bot_data["core"] = core
    register_handlers(app)
    return app


async def initialize_application(app: PTBApplication, base_url: str) -> None:
    """``app.initialize()`` (it calls getMe), with a clear error when that fails."""
    try:
        await app.initialize()
    except InvalidToken as e:
        raise NewsalertError(
            "Telegram rejected the bot token; copy it again from @BotFather "
            "(telegram.token or NEWSALERT_TELEGRAM_TOKEN)"
        ) from e
    except TelegramError as e:
        raise NewsalertError(
            f"cannot reach Telegram at {base_url}: {e}; check the network and "
            "telegram.base_url, then start again"
        ) from e
