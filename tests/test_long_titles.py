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


def test_an_article_read_by_match_keeps_a_feeds_caps():
    from bot.cli import article_from_json
    from bot.records import MAX_SUMMARY_CHARS, MAX_TITLE_CHARS

    read = article_from_json(
        {"id": "x", "title": "Korea talks " * 10_000, "summary": "y " * 20_000}
    )
    assert len(read.title) <= MAX_TITLE_CHARS and read.title.endswith("…")
    assert len(read.summary) <= MAX_SUMMARY_CHARS


def test_the_topic_model_reads_only_the_title_and_the_start_of_the_lead():
    from bot.matching.topic_model import LEAD_CHARS, model_text
    from bot.records import MAX_TITLE_CHARS

    title, lead = model_text("Korea " * 20_000, "<p>Seoul talks</p> " * 50_000)
    assert len(title) <= MAX_TITLE_CHARS and len(lead) <= LEAD_CHARS
    assert lead.startswith("Seoul talks Seoul talks")
