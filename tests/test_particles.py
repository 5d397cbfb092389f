"""Korean particles after a filled-in value: the catalog writes "{name}을(를)", the reply says
"뉴스를" or "북한을", by how the value ends when read in Korean (Hangul, digits, Latin letters,
@usernames); after a symbol the combined form stays."""

from __future__ import annotations

import pytest

from bot.i18n import Html, fill, korean_final, load_catalog, translator

PARTICLES = "{v}을(를) {v}이(가) {v}은(는) {v}와(과) {v}(으)로 “{v}”(이)라는"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Hangul: the last syllable's final consonant (batchim); ㄹ takes 로, not 으로
        ("뉴스", "뉴스를 뉴스가 뉴스는 뉴스와 뉴스로 “뉴스”라는"),
        ("북한", "북한을 북한이 북한은 북한과 북한으로 “북한”이라는"),
        ("서울", "서울을 서울이 서울은 서울과 서울로 “서울”이라는"),
        # Latin letters as Koreans name them: 티, 와이 (vowels); 엘, 알 (ㄹ); 엠, 엔
        (
            "korea-diplomacy",
            "korea-diplomacy를 korea-diplomacy가 korea-diplomacy는 "
            "korea-diplomacy와 korea-diplomacy로 “korea-diplomacy”라는",
        ),
        ("URL", "URL을 URL이 URL은 URL과 URL로 “URL”이라는"),
        ("Kim", "Kim을 Kim이 Kim은 Kim과 Kim으로 “Kim”이라는"),
        # digits by their Korean reading: 삼 (ㅁ), 이 (vowel), 칠 (ㄹ), 십, 천, 만
        ("3", "3을 3이 3은 3과 3으로 “3”이라는"),
        ("2", "2를 2가 2는 2와 2로 “2”라는"),
        ("7", "7을 7이 7은 7과 7로 “7”이라는"),
    ],
)
def test_each_particle_follows_the_sound_the_value_ends_with(value, expected):
    assert fill(PARTICLES, v=value) == expected


@pytest.mark.parametrize(
    ("text", "final"),
    [
        ("화산", "C"),
        ("한반도 외교·안보", ""),
        ("@newsalert_test_bot", None),  # a word (봇), not letters: the combined form stays
        ("@BBC", ""),  # capitals are read as letters: 씨
        ("Apple", "ㄹ"),  # 애플
        ("Samsung", "C"),  # 삼성
        ("Trump", None),  # 트럼프: the spelling cannot tell
        ("@korea_watch", None),
        ("@seoul_desk_m", "C"),  # M: 엠
        ("BBC", ""),
        ("10", "C"),  # 십
        ("1000", "C"),  # 천
        ("10000", "C"),  # 만
        ("1000000000000", ""),  # 조
        ("1,500", "C"),  # 천오백: 백
        ("2.5", ""),  # 이점오
        ("0", "C"),  # 영
        ("“뉴스”", ""),  # closing quotes are looked through
        ("<code>/subscribe tech</code>", None),  # tags looked through; "tech" a word
        ("<code>/subscribe BBC</code>", ""),  # and capitals read as letters
        ("뉴스(news)", ""),  # a parenthesis after a word: the word chooses
        ("화산 (<code>volcanoes</code>)", "C"),
        ("C++", None),
        ("日本", None),
        ("", None),
    ],
)
def test_how_a_text_ends_when_read_in_korean(text, final):
    assert korean_final(text) == final


def test_after_a_symbol_or_an_unknown_script_the_combined_form_stays():
    assert fill("{v}을(를) 보내세요", v="C++") == "C++을(를) 보내세요"
    assert fill("{v}이(가) 있습니다", v="東京") == "東京이(가) 있습니다"


def test_a_values_own_text_is_never_rewritten():
    # someone's filter may itself hold a combined form: only the template's is chosen
    assert fill("“{v}”을(를) 구독합니다", v="을(를)") == "“을(를)”을 구독합니다"
    assert fill("{v}", v="뉴스을(를)") == "뉴스을(를)"


def test_replies_choose_their_particles_with_escaped_and_markup_values():
    ko = translator("ko")
    share = (
        "Share {name} on Telegram with friends who want the latest breaking news delivered to them."
    )
    assert ko.plain(share, name="@newsalert_test_bot").endswith(
        "@newsalert_test_bot을(를) 공유해 주세요."
    )
    assert ko.plain(share, name="@seoul_news_kr").endswith("@seoul_news_kr을 공유해 주세요.")
    followed = "Done: you now follow “{name}” ({id}){where}. Alerts arrive as stories appear; /latest shows recent ones."
    text = ko._(followed, name="한반도 외교·안보", id="korea-diplomacy", where="")
    assert "“한반도 외교·안보”(korea-diplomacy)를 구독합니다" in text
    text = ko._(followed, name="화산", id="volcanoes", where="")
    assert "“화산”(volcanoes)을 구독합니다" in text
    send = ko._("To follow that topic, send <code>/subscribe {topic}</code>.", topic="tech")
    assert send == "그 주제를 구독하려면 <code>/subscribe tech</code>을(를) 보내세요."
    # an escaped value ending in a symbol ("&amp;") keeps the combined form
    gone = ko._("Done: you no longer follow {what}{where}.", what="R&", where="")
    assert "R&amp;을(를) 구독하지" in gone
    markup = ko._("Done: you no longer follow {what}{where}.", what=Html("<b>북한</b>"), where="")
    assert "<b>북한</b>을 구독하지" in markup


def test_english_replies_are_untouched():
    en = translator("en")
    assert en._("Done: you no longer follow {what}{where}.", what="C++", where="") == (
        "Done: you no longer follow C++."
    )


def test_every_particle_in_the_catalog_follows_a_placeholder_directly():
    """A combined form is chosen by the value before it: a space in between ("</code> 을(를)")
    would leave it unchosen."""
    import re

    combined = re.compile(r"을\(를\)|이\(가\)|은\(는\)|와\(과\)|\(으\)로|\(이\)")
    for message in load_catalog("ko"):
        if not message.id or not message.string:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            for found in combined.finditer(text):
                assert not text[: found.start()].endswith(" "), (message.id, text)


def test_a_particle_after_a_placeholder_is_written_in_its_combined_form():
    """A particle that depends on the value before it (through a closing quote or a
    </code>) is written combined, for :func:`fill` to choose: a fixed "를" after
    {operator} reads wrong for NOT (낫을), a fixed "를" after /language {language} for en."""
    import re

    fixed = re.compile(
        r"\{\w+\}(?:</code> ?|[”’'\"])?(을|를|이|가|은|는|와|과|로|라는|라고)(?![(가-힣])"
    )
    for message in load_catalog("ko"):
        if not message.id or not message.string:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert not fixed.search(text), (message.id, text)


def test_a_long_run_of_closing_parentheses_is_read_in_bounded_steps():
    # each ")" looks back for its "(" at most _ASIDE_REACH characters, not to the start
    text = "뉴스" + "(" + ")" * 50_000  # quadratic before: a scan to the start per ")"
    assert korean_final(text) == ""  # the brackets looked through: 뉴스
    assert korean_final("뉴스 (" + "x" * 150 + ")") == ""  # an aside within reach: 뉴스
