"""The regex sentence splitter on the cases news copy throws at it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.summary.sentences import quote_spans, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Smith met Dr. Jones and Mrs. Lee. They talked.",
            ["Mr. Smith met Dr. Jones and Mrs. Lee.", "They talked."],
        ),
        (
            "The U.S. and the U.N. agreed. Talks resume on Oct. 29 at 9 a.m. in Geneva.",
            ["The U.S. and the U.N. agreed.", "Talks resume on Oct. 29 at 9 a.m. in Geneva."],
        ),
        (
            "Inflation rose 3.5% to $1.2bn. It was the No. 1 concern.",
            ["Inflation rose 3.5% to $1.2bn.", "It was the No. 1 concern."],
        ),
        (
            "J. R. R. Tolkien wrote it. President George W. Bush read it.",
            ["J. R. R. Tolkien wrote it.", "President George W. Bush read it."],
        ),
        (
            "He lives on St. Patrick St. in Dublin. Jan. 5 was cold.",
            ["He lives on St. Patrick St. in Dublin.", "Jan. 5 was cold."],
        ),
    ],
)
def test_abbreviations_initials_and_numbers_do_not_end_sentences(text, expected):
    assert split_sentences(text) == expected


def test_acronym_before_a_sentence_opener_ends_the_sentence():
    assert split_sentences("Prices rose in the U.S. The dollar fell.") == [
        "Prices rose in the U.S.",
        "The dollar fell.",
    ]
    assert split_sentences("It ended at 6 p.m. The police left.") == [
        "It ended at 6 p.m.",
        "The police left.",
    ]


def test_quotes_keep_the_attribution_with_the_quote():
    text = '"We will win," he said. "Really?" she asked. "Yes." Then silence.'
    assert split_sentences(text) == [
        '"We will win," he said.',
        '"Really?" she asked.',
        '"Yes."',
        "Then silence.",
    ]


def test_a_quote_of_several_sentences_stays_whole():
    text = (
        '"We will get there… I am absolutely certain we can do this. Together," he said. '
        "Talks resume on Monday."
    )
    assert split_sentences(text) == [
        '"We will get there… I am absolutely certain we can do this. Together," he said.',
        "Talks resume on Monday.",
    ]
    curly = "“It is over. We lost,” she said. Then she left."
    assert split_sentences(curly) == ["“It is over. We lost,” she said.", "Then she left."]


def test_a_stray_quote_mark_does_not_swallow_the_paragraph():
    text = 'He said "yes. ' + "Then the talks went on for hours and hours. " * 3
    assert len(split_sentences(text)) == 4


def test_ellipsis_before_a_capital_ends_a_sentence_but_not_before_lowercase():
    assert split_sentences("He paused... Then he left.") == ["He paused...", "Then he left."]
    assert split_sentences("It was… well, odd.") == ["It was… well, odd."]


def test_paragraph_and_line_breaks_always_end_a_sentence():
    text = "A headline without a stop\n\nFirst paragraph here\nSecond line. Third one!"
    assert split_sentences(text) == [
        "A headline without a stop",
        "First paragraph here",
        "Second line.",
        "Third one!",
    ]


def test_line_wrapped_mid_sentence_is_joined():
    assert split_sentences("the talks were\ncalled off, officials said.") == [
        "the talks were called off, officials said."
    ]


def test_empty_text_gives_no_sentences():
    assert split_sentences("") == []
    assert split_sentences("  \n\n ") == []


@given(st.text(alphabet=st.sampled_from(list('ab .?!"\nMr.U.S3')), max_size=200))
def test_sentences_are_non_empty_and_keep_every_word(text):
    sentences = split_sentences(text)
    assert all(s and s == s.strip() for s in sentences)
    assert " ".join(sentences).split() == text.split()


# -- Korean ---------------------------------------------------------------------------------


def test_korean_sentences_end_at_da_yo_kka_and_the_like():
    text = (
        "정부가 대책을 발표했다. 시장은 안정될까? 전문가들은 신중합니다. 결과는 두고 봐야죠. "
        "정말 그래요. 아직 모른다… 그러나 기대는 크다."
    )
    assert split_sentences(text) == [
        "정부가 대책을 발표했다.",
        "시장은 안정될까?",
        "전문가들은 신중합니다.",
        "결과는 두고 봐야죠.",
        "정말 그래요.",
        "아직 모른다…",
        "그러나 기대는 크다.",
    ]


def test_korean_sentences_glued_without_a_space_are_split():
    # Naver News copy often drops the space: "…밝혔습니다.통일연구원에 따르면 …"
    text = "공개활동이 늘었습니다.통일연구원에 따르면 131회였습니다.[사진] 2016년 이후 최다다.27일 발표됐다."
    assert split_sentences(text) == [
        "공개활동이 늘었습니다.",
        "통일연구원에 따르면 131회였습니다.",
        "[사진] 2016년 이후 최다다.",
        "27일 발표됐다.",
    ]


def test_korean_quotes_stay_with_their_attribution():
    text = (
        "김 위원장은 “우리는 준비됐다. 물러서지 않겠다”라고 말했다. "
        "이어 “대화는 없다.”며 경고했다. 정부는 “유감이다”고 했다."
    )
    assert split_sentences(text) == [
        "김 위원장은 “우리는 준비됐다. 물러서지 않겠다”라고 말했다.",
        "이어 “대화는 없다.”며 경고했다.",
        "정부는 “유감이다”고 했다.",
    ]


def test_numbers_and_abbreviations_inside_korean_text_do_not_split():
    text = "환율은 1,439.5원에 마감했다. U.S. 국채 금리는 4.5%였다. 2026.1.4 기준이다."
    assert split_sentences(text) == [
        "환율은 1,439.5원에 마감했다.",
        "U.S. 국채 금리는 4.5%였다.",
        "2026.1.4 기준이다.",
    ]


def test_a_stray_closing_quote_does_not_flip_the_pairs_after_it():
    # ko-363 in the train set: the sub-headline's last quote mark has no opening one, and
    # the pairs after it used to be counted the wrong way round (a 445-character sentence)
    text = (
        '與 의구심엔 "차이 조율 과정 필요"…국민 검증도 받아야" 이재명 대통령은 29일 '
        '"차이를 잘 조율해 가는 과정이 필요하다"고 말했다.강유정 청와대 대변인은 '
        "이날 브리핑에서 이 대통령의 이런 언급을 소개했다. "
        '강 대변인에 따르면 이 대통령은 "격렬한 토론을 통해 접점을 만들어가는 것"이라고 했다.'
    )
    assert split_sentences(text) == [
        '與 의구심엔 "차이 조율 과정 필요"…국민 검증도 받아야" 이재명 대통령은 29일 '
        '"차이를 잘 조율해 가는 과정이 필요하다"고 말했다.',
        "강유정 청와대 대변인은 이날 브리핑에서 이 대통령의 이런 언급을 소개했다.",
        '강 대변인에 따르면 이 대통령은 "격렬한 토론을 통해 접점을 만들어가는 것"이라고 했다.',
    ]


def test_an_opening_quote_that_never_closes_is_ignored():
    text = "“그는 준비됐다고 했다. " + "회담은 이어졌다. " * 60 + "끝났다.”"
    assert len(split_sentences(text)) == 62


def test_quote_spans_pair_marks_by_their_shape_in_one_pass():
    text = '받아야" 이재명은 "차이를 조율"고 했다. “좋다.” 그리고 ”끝'
    opened, closed = text.index('"차'), text.index('"고')
    assert quote_spans(text) == [(opened, closed), (text.index("“"), text.index("”"))]
    assert quote_spans('"' + "가" * 50 + '"', max_chars=20) == []


def test_a_korean_sentence_glued_to_a_latin_one_splits():
    # ko-395: "… 선보인다고 31일 밝혔다.SKT는 …"; an abbreviation after Hangul stays
    text = "혜택을 선보인다고 31일 밝혔다.SKT는 쿠폰을 제공한다. 환율은 1,439.5원이다."
    assert split_sentences(text) == [
        "혜택을 선보인다고 31일 밝혔다.",
        "SKT는 쿠폰을 제공한다.",
        "환율은 1,439.5원이다.",
    ]


def test_a_korean_exclamation_inside_single_quotes_does_not_end_the_sentence():
    # ko-577 in the topics train set: a slogan in single quotes, its "!" quoted
    text = (
        "이번 정책 콘서트는 '신통기획 2.0 시행, 궁금증 해소!'가 주제다. "
        "그는 ‘우리는 이긴다!’라고 외쳤다.이날 행사는 끝났다."
    )
    assert split_sentences(text) == [
        "이번 정책 콘서트는 '신통기획 2.0 시행, 궁금증 해소!'가 주제다.",
        "그는 ‘우리는 이긴다!’라고 외쳤다.",
        "이날 행사는 끝났다.",
    ]
    # a quote that opens the next sentence still splits
    assert split_sentences("정말 놀랍다!'그렇다'고 했다.") == ["정말 놀랍다!", "'그렇다'고 했다."]


def test_korean_polite_sentences_glued_without_a_full_stop_are_split():
    # ko-362: a broadcast transcript, "…촉구했습니다정희용 사무총장은 …"
    text = "진실을 밝히라고 촉구했습니다정희용 사무총장은 오늘 회견을 열었습니다."
    assert split_sentences(text) == [
        "진실을 밝히라고 촉구했습니다.",
        "정희용 사무총장은 오늘 회견을 열었습니다.",
    ]
    assert split_sentences("좋습니다만 아직 이릅니다.") == ["좋습니다만 아직 이릅니다."]


def test_a_korean_sentence_ends_after_its_closing_quote():
    # issue 18: a sentence ends at a closing quote after 다./요?, as Korean news writes it
    assert split_sentences("북한은 “우리는 준비됐다.” 정부는 유감을 표했다.") == [
        "북한은 “우리는 준비됐다.”",
        "정부는 유감을 표했다.",
    ]
    assert split_sentences("“정말 그래요?” 그가 물었다.") == ["“정말 그래요?”", "그가 물었다."]
