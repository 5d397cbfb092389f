"""Driving the real bot (Core + python-telegram-bot) through the fake Bot API, as people do:
write a command, press a button, read the reply.  Used by the chat tests."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import Core
from bot.config.loader import config_from_dict
from bot.records import Article, utcnow
from tests.fakes.telegram_api import FakeBotAPI, utf16_length
from tests.helpers import TOKEN

OPERATOR = 4242
VOLCANOES = {
    "id": "volcanoes",
    "name": "Volcanoes",
    "query": "volcano OR eruption OR lava",
    "description": "Eruptions and the volcanoes behind them.",
}


def bot_config(api: FakeBotAPI, tmp_path: Path, **sections: Any) -> dict[str, Any]:
    """A config for a bot with no feeds (tests store articles themselves)."""
    data: dict[str, Any] = {
        "telegram": {
            "token": TOKEN,
            "base_url": api.base_url,
            "poll_timeout": "1s",
            "admins": [OPERATOR],
        },
        "storage": {"path": str(tmp_path / "bot.db")},
        "polling": {"jitter": 0},
        # Telegram's per-chat pace (about one message a second) would only slow the tests
        # down: replies here go to a few chats in quick succession.
        "delivery": {
            "per_chat_per_second": 100,
            "per_chat_burst": 100,
            "group_messages_per_minute": 1000,
        },
        "topics": [VOLCANOES],
    }
    data.update(sections)
    return data


class ChatDriver:
    """The bot under test and the fake Telegram it talks to."""

    def __init__(self, api: FakeBotAPI, core: Core) -> None:
        self.api = api
        self.core = core
        self._channel_posts = 5000

    @property
    def store(self) -> Any:
        return self.core.store

    def replies(self, chat_id: int) -> list[dict[str, Any]]:
        return self.api.sent_messages(chat_id)

    async def send(
        self, chat_id: int, text: str, *, replies: int = 1, timeout: float = 10.0, **kwargs: Any
    ) -> dict[str, Any]:
        """Write ``text`` in a chat (a private chat by default) and return the last of the
        ``replies`` messages the bot answers with."""
        before = len(self.replies(chat_id))
        self.api.inject_message(chat_id, text, **kwargs)
        sent = await self.api.wait_for_messages(chat_id, before + replies, timeout=timeout)
        return sent[-1]

    async def send_unanswered(self, chat_id: int, text: str, **kwargs: Any) -> None:
        """Write ``text`` and wait until the bot has taken the update (it answers nothing)."""
        update_id = self.api.inject_message(chat_id, text, **kwargs)
        await self.processed(update_id)

    async def processed(self, update_id: int) -> None:
        """Wait until the bot has handled ``update_id`` (chats are handled side by side, so
        the update processor's record of finished updates says it, not a later reply)."""
        processor = self.core.application.update_processor
        await self.api.wait_for(
            lambda: update_id in processor.finished, message=f"update {update_id} handled"
        )

    async def post_in_channel(
        self,
        chat_id: int,
        text: str,
        *,
        username: str | None = None,
        replies: int = 1,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """An administrator posts a command in a channel (commands come as channel posts),
        as a reply to the channel's message ``reply_to`` when given."""
        chat = self.api.add_chat(chat_id, "channel", title="A Channel", username=username)
        self._channel_posts += 1
        command = text.split(maxsplit=1)[0]
        before = len(self.replies(chat_id))
        post: dict[str, Any] = {
            "message_id": 100_000 + self._channel_posts,  # apart from the bot's own posts
            "date": int(time.time()),
            "chat": chat,
            "sender_chat": chat,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": utf16_length(command)}],
        }
        if reply_to is not None:
            post["reply_to_message"] = self.api.message(chat_id, reply_to)
        self.api.inject_update({"channel_post": post})
        sent = await self.api.wait_for_messages(chat_id, before + replies)
        return sent[-1]

    async def press(
        self,
        chat_id: int,
        user_id: int,
        data: str,
        message_id: int,
        *,
        edits: bool = True,
    ) -> dict[str, Any] | None:
        """Press an inline button; wait for the answer (and the edit); return the message."""
        answers = len(self.api.calls_to("answerCallbackQuery"))
        edits_before = len(self.api.calls_to("editMessageText"))
        self.api.inject_callback_query(chat_id, user_id, data, message_id)
        await self.api.wait_for(
            lambda: len(self.api.calls_to("answerCallbackQuery")) > answers,
            message=f"an answer to the button {data!r}",
        )
        if edits:
            await self.api.wait_for(
                lambda: len(self.api.calls_to("editMessageText")) > edits_before,
                message=f"the message edited after {data!r}",
            )
        return self.api.message(chat_id, message_id)

    def store_articles(self, *articles: Article) -> None:
        """Articles as if a feed had brought them (for /latest and /test)."""
        self.store.articles.add_new(None, list(articles), now=utcnow())


def article(key: str, title: str, summary: str = "", **kwargs: Any) -> Article:
    return Article(
        id=key,
        title=title,
        summary=summary,
        link=f"https://news.example/{key}",
        source=kwargs.pop("source", "Example News"),
        published=utcnow(),
        **kwargs,
    )


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(text, callback data) of every button under a sent message."""
    markup = message.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


def button_data(message: dict[str, Any], has: Callable[[str], bool]) -> str:
    """The callback data of the first button whose text satisfies ``has``."""
    for text, data in buttons(message):
        if has(text):
            return data
    raise AssertionError(f"no such button in {buttons(message)}")


@asynccontextmanager
async def running_bot(
    api: FakeBotAPI, tmp_path: Path, **sections: Any
) -> AsyncIterator[ChatDriver]:
    """The real Core with Telegram, answering through ``api`` until the block ends."""
    async with Core(config_from_dict(bot_config(api, tmp_path, **sections), env={})) as core:
        await core.start()
        yield ChatDriver(api, core)
