"""python-telegram-bot at the boundary: the Application with our handlers.

The command menu is set by ``handlers.menu.set_command_menu``; the sink that sends alerts
lives in ``bot.delivery.telegram_sink``."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, BaseUpdateProcessor
from telegram.request import HTTPXRequest

from bot.config.model import Config
from bot.delivery.aiohttp_request import AiohttpRequest
from bot.errors import NewsalertError
from bot.ops.logs import REPORTED_BY_US, add_config_secrets, install_redacting_factory
from handlers.commands import register_handlers
from handlers.common import Core

# the Application as built here: PTB's default types for the bot, context and data
PTBApplication = Application[Any, Any, Any, Any, Any, Any]


def quiet_http_loggers() -> None:
    """httpx logs every request URL at INFO, and a Bot API URL holds the token; the Updater
    and APScheduler's job executor a line for every poll and job.  Each goes to WARNING
    unless a level was chosen for it or a logger above it (``setup_logging`` chooses one for
    every library, DEBUG at -vv; an embedding script may choose its own).  trafilatura
    logs an ERROR for a page that is no HTML, which the extraction reports itself: it goes
    to CRITICAL the same way."""
    for name in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler.executors.default"):
        logger = logging.getLogger(name)
        if not _level_chosen(logger):
            logger.setLevel(logging.WARNING)
    for name in REPORTED_BY_US:
        logger = logging.getLogger(name)
        if not _level_chosen(logger):
            logger.setLevel(logging.CRITICAL)


def _level_chosen(logger: logging.Logger) -> bool:
    """Whether ``logger`` or one of its parents below the root has a level of its own."""
    current: logging.Logger | None = logger
    while current is not None and current is not logging.getLogger():
        if current.level != logging.NOTSET:
            return True
        current = current.parent
    return False


class PerChatOrder(BaseUpdateProcessor):
    """Updates of different chats are handled at the same time; a chat's own updates one
    after another, in the order they came (a /subscribe before the /list after it).

    So one chat's slow command (a /test over the recent stories) never keeps another
    chat waiting. At most ``handlers`` updates run at once; the others wait for their
    chat's turn without holding a place, so one busy chat cannot take every place."""

    __slots__ = ("_chats", "_running", "finished")

    def __init__(self, handlers: int = 32) -> None:
        super().__init__(max_concurrent_updates=1_000_000)  # the waiting is done below
        self._running = asyncio.BoundedSemaphore(handlers)
        self._chats: dict[int | None, tuple[asyncio.Lock, int]] = {}
        # the ids of the last updates handled (tests wait on it: with chats handled side by
        # side, a later update's reply no longer proves that an earlier one was handled)
        self.finished: deque[int] = deque(maxlen=1024)

    @staticmethod
    def chat_of(update: object) -> int | None:
        """The chat an update belongs to (``None``: updates with no chat share one line)."""
        if isinstance(update, Update):
            if update.effective_chat is not None:
                return update.effective_chat.id
            if update.effective_user is not None:
                return update.effective_user.id
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = self.chat_of(update)
        lock, users = self._chats.get(chat) or (asyncio.Lock(), 0)
        self._chats[chat] = (lock, users + 1)
        try:
            async with lock, self._running:
                await coroutine
        finally:
            if isinstance(update, Update):
                self.finished.append(update.update_id)
            lock, users = self._chats[chat]
            if users <= 1:
                del self._chats[chat]
            else:
                self._chats[chat] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def build_application(
    config: Config,
    core: Core,
    *,
    rate_limiter: BaseRateLimiter[Any] | None = None,
) -> PTBApplication:
    """The PTB Application with our handlers; ``core`` is kept in ``bot_data``.

    ``rate_limiter`` applies to every Bot API call, command replies included.  The token
    and the webhook secret are redacted from then on (``bot.ops.logs.add_config_secrets``), also
    in a Core an operator's own script builds and starts, without the CLI."""
    add_config_secrets(config)  # as Core does: the one list of what a config holds secret
    install_redacting_factory()  # python-telegram-bot logs the Bot API URL, token and all
    quiet_http_loggers()
    builder = (
        ApplicationBuilder()
        .token(config.telegram.token.get())
        .base_url(config.telegram.base_url)
        .base_file_url(config.telegram.base_url.removesuffix("/bot") + "/file/bot")
        # every call but getUpdates: a send costs a quarter of httpx's CPU (bench/fanout.py)
        .request(AiohttpRequest())
        # long polling keeps httpx, as python-telegram-bot would have made it
        .get_updates_request(
            HTTPXRequest(connection_pool_size=1, read_timeout=config.telegram.poll_timeout + 10)
        )
        .concurrent_updates(PerChatOrder())
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
        try:
            await app.initialize()
        except TelegramError:
            # initialize() opened the request's session before getMe failed and leaves it
            # open ("Unclosed client session" at exit): app.shutdown() skips an app that
            # never finished initialize()
            await app.bot.request.shutdown()
            raise
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
