"""Issue 16's chrome in English and Korean: the new alert wording and the filter language's
complaints are extracted for the catalogs (so the untranslated-string test covers them) and
reach a Korean reader in Korean."""

from __future__ import annotations

from bot.delivery.labels import alert_labels
from bot.delivery.render import breaking_line
from bot.errors import QueryError
from bot.i18n import extract_messages, missing_translations, translator
from bot.matching.parser import parse_query
from tests.chatbot import running_bot

NEW_CHROME = (
    "Breaking · {sources}",
    "Matched: {terms}",
    "{wire} via {source}",
    "{day} {month} {year} {time} {zone}",
    "Pictures: large",
    "Breaking news: at once",
    "Which parts alerts here show, in which order",
    "unclosed quote",
    "unknown group '@{group}'",
    "(at position {position})",
    "Share {name} on Telegram with friends who want the latest breaking news delivered to them.",
)


def test_the_new_chrome_is_extracted_and_translated():
    found = extract_messages()
    for message in NEW_CHROME:
        assert message in found, message
    assert missing_translations("ko", found) == []


def test_korean_alert_chrome():
    ko = alert_labels("ko")
    assert breaking_line(["Reuters", "AP", "Yonhap"], ko) == "속보 · Reuters, AP, Yonhap"
    assert ko.matched.format(terms="북한") == "일치한 단어: 북한"
    assert ko.read == "기사 읽기"


def test_a_query_error_in_korean():
    try:
        parse_query("@nork talks")
    except QueryError as e:
        error = e
    text = error.describe(translator("ko").plain, "(at position {position})")
    assert text.startswith("'@nork'(이)라는 그룹은 없습니다 (위치 0). ")
    assert "unknown group" in str(error)  # the English text is unchanged


async def test_a_korean_reader_gets_the_filter_complaint_in_korean(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        korean = (await bot.send(8, '/subscribe "north korea', language_code="ko"))["text"]
        english = (await bot.send(9, '/subscribe "north korea', language_code="en"))["text"]
    assert "따옴표가 닫히지 않았습니다 (위치 0)" in korean
    assert "unclosed quote (at position 0)" in english
