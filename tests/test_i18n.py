"""Two languages: every reply and menu entry has a Korean translation that keeps its
placeholders and its markup, and people get their language."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.i18n import (
    LANGUAGES,
    Html,
    extract_messages,
    load_catalog,
    missing_translations,
    pick_language,
    placeholders,
    template_catalog,
    translator,
)
from bot.matching.parser import QUERY_HELP
from handlers.menu import COMMAND_INFO, command_menu
from tests.chatbot import running_bot
from tests.fakes.telegram_api import validate_telegram_html

REPO = Path(__file__).resolve().parents[1]
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_every_string_has_a_korean_translation():
    messages = [m.id for m in template_catalog() if m.id]
    assert len(messages) > 100  # the extraction found the replies, not just a few
    missing = missing_translations("ko", messages)
    assert missing == [], "no Korean for: " + "; ".join(repr(m[:60]) for m in missing)


def test_the_check_fails_for_a_string_without_a_translation():
    assert missing_translations("ko", ["A reply nobody translated yet."]) == [
        "A reply nobody translated yet."
    ]


def test_replies_and_menus_are_found_where_they_are_written():
    found = extract_messages()
    assert (
        "Done: you now follow “{name}” ({id}){where}. Alerts arrive as stories appear; /latest shows recent ones."
        in found
    )
    for info in COMMAND_INFO:
        assert info.description in found, info.name
    # the alerts' own wording (bot/delivery/labels.py), outside the handlers
    assert "Jan" in found
    assert any(where.startswith("bot/delivery/labels.py:") for where in found["Jan"])


def _filled(message: str) -> str:
    return message.format(**{name: "x" for name in placeholders(message)})


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_translations_keep_placeholders_and_valid_markup(language):
    catalog = load_catalog(language)
    problems = []
    for entry in catalog:
        if not entry.id or not entry.string:
            continue
        # a counted message has a plural form and as many translations as the language has
        sources = entry.id if entry.pluralizable else (entry.id,)
        strings = entry.string if entry.pluralizable else (entry.string,)
        for string in strings:
            if placeholders(sources[-1]) != placeholders(string):
                problems.append(f"placeholders differ: {entry.id!r}")
            if entry.id == QUERY_HELP:
                continue  # shown inside <pre>, escaped
            source_ok = validate_telegram_html(_filled(sources[-1])) is None
            if source_ok and validate_telegram_html(_filled(string)) is not None:
                problems.append(f"markup broken: {string!r}")
    assert problems == []


def test_the_filter_help_has_a_translation():
    entry = load_catalog("ko").get(QUERY_HELP)
    assert entry is not None and entry.string and not entry.fuzzy, (
        "bot.matching.parser.QUERY_HELP changed: run `python -m bot.i18n update` and translate it"
    )
    assert "@north-korea" in entry.string


@pytest.mark.parametrize(
    ("code", "language"),
    [("ko", "ko"), ("ko-KR", "ko"), ("KO_kr", "ko"), ("en-GB", "en"), ("fr", "en"), (None, "en")],
)
def test_language_from_telegram_language_code(code, language):
    assert pick_language(code) == language


def test_values_are_escaped_unless_already_markup():
    tr = translator("ko")
    assert tr._("Subscriptions: {count}", count="<b>") == "구독: &lt;b&gt;개"
    assert tr._("Subscriptions: {count}", count=Html("<b>3</b>")) == "구독: <b>3</b>개"
    assert translator("en")._("Subscriptions: {count}", count=3) == "Subscriptions: 3"


def test_command_menus_exist_in_both_languages():
    english = command_menu("en")
    korean = command_menu("ko")
    assert [c.command for c in english] == [c.command for c in korean]
    for en, ko in zip(english, korean, strict=True):
        assert HANGUL.search(ko.description), ko
        assert en.description != ko.description
        assert 1 <= len(ko.description) <= 256


def test_catalogs_ship_in_the_package():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bot"]
    for language in LANGUAGES:
        if language == "en":
            continue
        po = Path("locale") / language / "LC_MESSAGES" / "newsalert.po"
        assert (REPO / "bot" / po).is_file()
        assert any(po.match(p) for p in patterns), f"{po} is not package data"
    assert any("babel" in d.lower() for d in pyproject["project"]["dependencies"])


async def test_a_korean_user_gets_korean_replies_and_the_korean_menu(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        replies = []
        for command in (
            "/start",
            "/topics",
            "/subscribe korea-diplomacy",
            "/list",
            "/subscribe ((",
            "/nope",
        ):
            replies.append((await bot.send(555, command, language_code="ko"))["text"])
        english = (await bot.send(556, "/start", language_code="en"))["text"]
        menu = telegram_api.commands(language_code="ko")
    for text in replies:
        assert HANGUL.search(text), text
    assert replies[0].startswith("안녕하세요!")
    assert english.startswith("Hello!") and not HANGUL.search(english.split("북한")[0])
    assert {c["command"] for c in menu} >= {"start", "help", "subscribe", "settings", "language"}
    assert all(HANGUL.search(c["description"]) for c in menu)


def test_counted_messages_have_one_and_many_in_english_and_one_form_in_korean():
    from bot.i18n import translator

    en, ko = translator("en"), translator("ko")
    assert en.n_("{count} channel", "{count} channels", 1) == "1 channel"
    assert en.n_("{count} channel", "{count} channels", 3) == "3 channels"
    assert ko.n_("{count} channel", "{count} channels", 1) == "채널 1개"
    assert ko.n_("{count} channel", "{count} channels", 3) == "채널 3개"
    found = extract_messages()
    assert ("{count} channel", "{count} channels") in found
