"""Webhook mode: python-telegram-bot's webhook server takes updates over real HTTP POSTs and
refuses any request without the secret token."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from bot.app import Core
from bot.config.loader import config_from_dict
from bot.errors import ConfigError
from bot.updates import webhook_path
from tests.helpers import TOKEN

SECRET = "s3cret-Token_for-tests"
PUBLIC_URL = "https://bot.example.test/telegram/hook"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def webhook_config(tmp_path, api, port: int, **telegram: Any):
    return config_from_dict(
        {
            "telegram": {
                "token": TOKEN,
                "base_url": api.base_url,
                "mode": "webhook",
                "webhook_url": PUBLIC_URL,
                "webhook_listen": f"127.0.0.1:{port}",
                "webhook_secret": SECRET,
                **telegram,
            },
            "storage": {"path": str(tmp_path / "bot.db")},
        },
        env={},
    )


def start_update(api, chat_id: int) -> dict[str, Any]:
    """A real /start message as Telegram would post it (the fake builds and records it)."""
    api.inject_message(chat_id, "/start", user_id=chat_id)
    return api.pending_updates[-1]


async def test_webhook_registers_with_telegram_and_answers_updates_with_the_secret(
    tmp_path, telegram_api
):
    port = free_port()
    async with Core(webhook_config(tmp_path, telegram_api, port)) as core:
        await core.start()
        assert telegram_api.webhook_url == PUBLIC_URL
        call = telegram_api.calls_to("setWebhook")[-1]
        assert call.params["secret_token"] == SECRET
        url = f"http://127.0.0.1:{port}/telegram/hook"
        async with httpx.AsyncClient() as client:
            wrong = await client.post(
                url, json=start_update(telegram_api, 7), headers={HEADER: "not-the-secret"}
            )
            missing = await client.post(url, json=start_update(telegram_api, 8))
            right = await client.post(
                url, json=start_update(telegram_api, 9), headers={HEADER: SECRET}
            )
        assert wrong.status_code == 403
        assert missing.status_code == 403
        assert right.status_code == 200
        replies = await telegram_api.wait_for_messages(9, 1, timeout=15)
        assert "Hello" in replies[0]["text"]
        assert telegram_api.sent_messages(7) == [] and telegram_api.sent_messages(8) == []
        assert telegram_api.calls_to("getUpdates") == []  # no long polling in webhook mode


async def test_switching_back_to_polling_deletes_the_webhook(tmp_path, telegram_api):
    core = Core(webhook_config(tmp_path, telegram_api, free_port()))
    await core.start()
    await core.stop()
    assert telegram_api.webhook_url == PUBLIC_URL
    async with Core(webhook_config(tmp_path, telegram_api, free_port(), mode="polling")) as polling:
        await polling.start()
        await telegram_api.wait_for(lambda: telegram_api.calls_to("getUpdates"), timeout=15)
        assert telegram_api.webhook_url == ""


def test_webhook_path_is_the_public_urls_path():
    assert webhook_path("https://bot.example.com/telegram/hook") == "telegram/hook"
    assert webhook_path("https://bot.example.com") == ""


@pytest.mark.parametrize(
    ("telegram", "key"),
    [
        ({"mode": "webhook", "webhook_secret": SECRET}, "telegram.webhook_url"),
        ({"mode": "webhook", "webhook_url": PUBLIC_URL}, "telegram.webhook_secret"),
        (
            {"mode": "webhook", "webhook_url": "http://x.test/", "webhook_secret": SECRET},
            "telegram.webhook_url",
        ),
        ({"mode": "hook"}, "telegram.mode"),
        ({"webhook_secret": "has spaces"}, "telegram.webhook_secret"),
        ({"webhook_listen": "8443"}, "telegram.webhook_listen"),
    ],
)
def test_webhook_config_mistakes_name_the_key(telegram, key):
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"telegram": telegram}, env={})
    assert caught.value.key == key
    assert "has spaces" not in str(caught.value)  # a secret is never echoed


def test_webhook_secret_can_come_from_the_environment():
    config = config_from_dict(
        {"telegram": {"mode": "webhook", "webhook_url": PUBLIC_URL}},
        env={"NEWSALERT_WEBHOOK_SECRET": SECRET},
    )
    assert config.telegram.webhook_secret.get() == SECRET
    assert SECRET not in repr(config)
