"""How Telegram's updates reach the bot: long polling (the default) or a webhook.

In webhook mode python-telegram-bot runs its own small web server (tornado) at
``telegram.webhook_listen``, registers ``telegram.webhook_url`` with Telegram
(``setWebhook``, with the secret token), and answers 403 to any request that
does not carry that token in ``X-Telegram-Bot-Api-Secret-Token``.  Going back
to polling deletes the webhook (python-telegram-bot does it on start).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from bot.config.loader import split_listen
from bot.config.model import Config

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "channel_post", "my_chat_member", "callback_query"]


def webhook_path(url: str) -> str:
    """The path the webhook server answers on: the path of the public URL, without slashes."""
    return urlsplit(url).path.strip("/")


async def start_updates(app: Any, config: Config) -> None:
    """Start receiving updates on ``app`` (an initialised PTB Application) as configured."""
    telegram = config.telegram
    updater = app.updater
    assert updater is not None
    if telegram.mode == "webhook":
        host, port = split_listen("telegram.webhook_listen", telegram.webhook_listen)
        await updater.start_webhook(
            listen=host or "0.0.0.0",
            port=port,
            url_path=webhook_path(telegram.webhook_url),
            webhook_url=telegram.webhook_url,
            secret_token=telegram.webhook_secret.get(),
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
        log.info(
            "webhook: listening on %s:%d for %s", host or "0.0.0.0", port, telegram.webhook_url
        )
        return
    await updater.start_polling(
        timeout=int(telegram.poll_timeout),
        drop_pending_updates=False,
        allowed_updates=ALLOWED_UPDATES,
    )
