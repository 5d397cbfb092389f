"""One very long stored title (full of characters that HTML escapes) must not break /latest
or /test for anyone: plain text is clipped before it is escaped, HTML is never sliced, and a
reply Telegram refuses as HTML goes again as plain text."""

from __future__ import annotations

from tests.chatbot import article, running_bot
from tests.fakes.telegram_api import validate_telegram_html

ALICE = 3001
LONG = "Volcano " + "<&> " * 3000  # 12,000 characters, about 39,000 once escaped


async def test_a_huge_title_does_not_break_latest_or_test(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        bot.store_articles(article("huge", LONG), article("ok", "Volcano erupts in Iceland"))
        latest = (await bot.send(ALICE, "/latest volcanoes"))["text"]
        tested = (await bot.send(ALICE, "/test volcano"))["text"]
    for reply in (latest, tested):
        assert "Volcano erupts in Iceland" in reply
        assert len(reply) < 4096
    refused = [c for c in telegram_api.calls_to("sendMessage") if c.error_code]
    assert refused == [], "Telegram refused a reply"
    for message in telegram_api.sent_messages(ALICE):
        assert validate_telegram_html(message.get("raw_text", message["text"])) is None


async def test_a_reply_telegram_refuses_as_html_goes_as_plain_text(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        bot.store_articles(article("ok", "Volcano erupts in Iceland"))
        telegram_api.fail_next(
            "sendMessage",
            error_code=400,
            description="Bad Request: can't parse entities: unexpected end tag at byte offset 9",
            chat_id=ALICE,
        )
        reply = await bot.send(ALICE, "/latest volcanoes")
    assert "Volcano erupts in Iceland" in reply["text"]
    assert "<b>" not in reply["text"] and not reply.get("entities_from_html")
    calls = telegram_api.calls_to("sendMessage")
    assert calls[-1].params.get("parse_mode") in (None, "")
