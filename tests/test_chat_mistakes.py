"""What the chat commands answer to a typing mistake or a slip (a newcomer's review): the
mistake is named, nothing is lost or stacked silently, and the reply says what to write."""

from __future__ import annotations

from bot.service import feedback, subscriptions
from tests.chatbot import article, running_bot

ALICE = 111


def _votes(bot, chat_id: int, count: int) -> None:
    for n in range(count):
        # a vote per topic: without an article (pruned), one topic holds one vote
        bot.store.feedback.record(chat_id, f"topic-{n}", None, -1, title=f"story {n}", vector=None)


async def test_feedback_clear_with_a_word_or_a_missing_number_forgets_nothing(
    telegram_api, tmp_path
):
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/start")
        _votes(bot, ALICE, 2)
        word = (await bot.send(ALICE, "/feedback clear x"))["text"]
        missing = (await bot.send(ALICE, "/feedback clear 99"))["text"]
        korean = (await bot.send(ALICE, "/feedback clear 99", language_code="ko"))["text"]
        assert len(feedback.taught(bot.store, ALICE)) == 2  # nothing was forgotten
        one = (await bot.send(ALICE, "/feedback clear 2"))["text"]
        assert [v.title for v in feedback.taught(bot.store, ALICE)] == ["story 0"]
        every = (await bot.send(ALICE, "/feedback clear all"))["text"]
        assert feedback.taught(bot.store, ALICE) == []
        _votes(bot, ALICE, 1)
        bare = (await bot.send(ALICE, "/feedback clear"))["text"]  # as /help documents it
        assert feedback.taught(bot.store, ALICE) == []
    assert "“x” is not a number from the list" in word and "/feedback clear 1" in word
    assert "There is no #99: this chat taught 2 things; nothing was forgotten" in missing
    assert "99번은 없습니다" in korean
    assert "Forgotten: 1" in one and "Forgotten: 1" in every and "Forgotten: 1" in bare


async def test_why_as_a_reply_to_a_message_that_is_not_an_alert_says_so(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        answer = await bot.send(ALICE, "/subscribe volcanoes")
        replied = (await bot.send(ALICE, "/why", reply_to_message_id=answer["message_id"]))[
            "text"
        ]
        alone = (await bot.send(ALICE, "/why"))["text"]
    assert "not one of my alerts" in replied and "/why alone" in replied
    assert "none was sent here yet" in alone


async def test_quiet_hours_that_start_when_they_end_are_named_as_such(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        same = (await bot.send(ALICE, "/quiet 23:00-23:00"))["text"]
        korean = (await bot.send(ALICE, "/quiet 7-07:00", language_code="ko"))["text"]
        assert bot.store.chats.get(ALICE).quiet_start == ""
    assert "start and end at 23:00" in same and "/quiet 23:00-07:00" in same
    assert "07:00에 시작하고 끝납니다" in korean
