"""Chats are answered side by side: one chat's slow command never keeps another waiting,
while each chat's own commands are still handled in the order they were written. The
work of /test and /latest runs off the event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.matching import vectors
from bot.service import search
from tests.chatbot import article, running_bot

WAIT = 10.0


async def test_a_slow_test_command_does_not_keep_another_chat_waiting(
    telegram_api, tmp_path, monkeypatch
):
    release = threading.Event()
    started = threading.Event()
    real = search.test_over

    def held(*args, **kwargs):  # the real /test, held until the other chat was answered
        started.set()
        if not release.wait(WAIT):
            raise AssertionError("the other chat was not answered while /test was running")
        return real(*args, **kwargs)

    monkeypatch.setattr(search, "test_over", held)
    async with running_bot(telegram_api, tmp_path) as bot:
        bot.store_articles(article("v1", "Volcano erupts on the island"))
        before = len(bot.replies(111))
        telegram_api.inject_message(111, "/test volcano")
        await asyncio.to_thread(started.wait, WAIT)
        assert started.is_set()
        help_reply = await bot.send(222, "/help")  # another chat, while /test is held
        assert "/subscribe" in help_reply["text"]
        assert len(bot.replies(111)) == before  # /test has not answered yet
        release.set()
        sent = await telegram_api.wait_for_messages(111, before + 1, timeout=WAIT)
    assert "<b>1 of the last 1 stories match</b>" in sent[-1]["text"]


async def test_one_chats_commands_are_handled_in_the_order_they_were_written(
    telegram_api, tmp_path
):
    async with running_bot(telegram_api, tmp_path) as bot:
        for _ in range(3):  # one getUpdates batch: the three must still run in order
            before = len(bot.replies(111))
            telegram_api.inject_message(111, "/subscribe volcanoes")
            telegram_api.inject_message(111, "/list")
            telegram_api.inject_message(111, "/unsubscribe volcanoes")
            sent = await telegram_api.wait_for_messages(111, before + 3, timeout=WAIT)
            subscribed, listed, unsubscribed = (m["text"] for m in sent[before : before + 3])
            assert "Volcanoes" in subscribed
            assert "Volcanoes" in listed  # /list saw the /subscribe before it
            assert "Volcanoes" in unsubscribed
        assert bot.store.subscriptions.for_chat(111) == []


async def test_test_with_a_semantic_term_stores_the_vectors_it_had_to_make(telegram_api, tmp_path):
    if not vectors.available():
        pytest.skip("the sentence encoder is not installed")
    async with running_bot(telegram_api, tmp_path) as bot:
        bot.store_articles(
            article("m1", "North Korea fires a ballistic missile into the East Sea"),
            article("b1", "Ten easy bread recipes for the weekend"),
        )
        stored = bot.store.articles.latest(10)
        assert all(s.vector is None for s in stored)  # stored as if before vectors existed
        reply = await bot.send(111, '/test ~"missile launch"')
        assert "Closest in meaning" in reply["text"]
        again = bot.store.articles.latest(10)
    assert all(s.vector is not None for s in again)  # made once, in a thread, then kept
