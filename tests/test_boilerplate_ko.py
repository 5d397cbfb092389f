"""Korean publisher boilerplate: each rule on the forms the agencies and Naver News use.

The examples copy the layout of real pages (Yonhap, Newsis, News1, KBS, YTN, MBN, Herald
Economy, Dailian, Financial News, Sisa Journal …) with invented people and addresses.
"""

from __future__ import annotations

import pytest

from bot.matching.document import prepare_document
from bot.matching.engine import Matcher
from bot.records import Article
from bot.summary.boilerplate import strip_boilerplate
from bot.summary.boilerplate_ko import (
    is_korean,
    split_lead_subheadlines,
    strip_korean_boilerplate,
)
from bot.summary.extractive import summarize
from bot.summary.sentences import split_sentences

LEAD = "북한이 4일 동해상으로 탄도미사일 여러 발을 발사했다고 합동참모본부가 밝혔다."
NEXT = "합참은 미사일이 약 900㎞를 비행했으며 정확한 제원을 분석 중이라고 전했다."


def clean(text: str, **kw) -> str:
    return strip_korean_boilerplate(text, **kw)


# -- datelines and bylines ---------------------------------------------------------------


@pytest.mark.parametrize(
    "dateline",
    [
        "(서울=연합뉴스) 홍길동 기자 = ",
        "(서울=연합뉴스) 홍길동 김철수 기자 = ",
        "(워싱턴=연합뉴스) 홍길동 특파원 = ",
        "(서울=-연합뉴스) 홍길동 기자 = ",
        "(평양 조선중앙통신=연합뉴스) ",
        "(서울=연합뉴스) ",
        "[서울=뉴시스] 홍길동 기자 = ",
        "[서울=뉴시스]홍길동 기자 = ",
        "[서울=뉴시스]홍길동·김철수 기자 = ",
        "[도쿄=AP/뉴시스] ",
        "(워싱턴=뉴스1) 홍길동 특파원 = ",
        "(워싱턴 AFP=뉴스1) 홍길동 기자 = ",
        "(평양 노동신문=뉴스1) = ",
        "[데일리안 = 홍길동 기자] ",
        "[헤럴드경제=홍길동 기자]",
        "[이데일리 홍길동 기자] ",
        "[디지털데일리 홍길동기자] ",
        "[스포츠서울 | 홍길동 기자] ",
        "【파이낸셜뉴스 울산=홍길동 기자】 ",
        "[뉴욕=이데일리 홍길동 특파원] ",
        "[더팩트ㅣ국회=홍길동 기자] ",
        "[홍길동 디지털팀 기자 hong@example.com] ",
        "[홍길동 일본 통신원 sisa@example.com] ",
        "[파이낸셜뉴스] ",
        "[서울경제] ",
    ],
)
def test_datelines_and_bylines_go(dateline):
    assert clean(dateline + LEAD + " " + NEXT) == LEAD + " " + NEXT


def test_sub_headlines_glued_before_a_dateline_are_kept_apart_or_dropped():
    # ko-21 of the train set has this shape: two sub-headlines glued to each other and
    # to the dateline, no space, no line break.
    text = (
        '스페인 언론, 당국 조사 인용 보도…"원자로 덮개 옮기다 사고"우크라전 파병 대가로 '
        "기술 이전 의심 (서울=연합뉴스) 홍길동 기자 = " + LEAD
    )
    kept = clean(text, keep_subheadlines=True)
    assert kept.split("\n\n") == [
        '스페인 언론, 당국 조사 인용 보도…"원자로 덮개 옮기다 사고"우크라전 파병 대가로 기술 이전 의심',
        LEAD,
    ]
    assert clean(text, keep_subheadlines=False) == LEAD


def test_sub_headlines_on_lines_of_their_own_before_the_dateline():
    text = (
        "美 ‘대화 러브콜’에도 묵묵부답\n6년 전 ‘판문점 회동’과 대비\n[서울=뉴시스]홍길동 기자 = "
        + LEAD
    )
    assert clean(text, keep_subheadlines=False) == LEAD
    assert clean(text).split("\n\n")[1] == LEAD


# Flat text (Naver's, without the page's line breaks): the sub-headlines are glued to the
# lead with no dateline between them.  (sub-headlines, lead) from the train set's items.
GLUED = [
    (  # ko-3: a headline ending on a verbal noun, then the lead's subject
        "美원잠 입항 이후 잇단 도발",
        "북한 조선중앙통신은 29일 김정은 국무위원장이 참석한 가운데 전날 서해상에서 장거리 전략 "
        "순항미사일의 발사 훈련을 했다고 밝혔다.",
    ),
    (  # ko-331: two sub-headlines glued to each other
        "신 전 본부장, 12∙3 비상계엄 당시 구치소 수용 인원 점검 및 결과 보고경찰, 압수물 분석 후 "
        "관련자 소환 검토",
        "경찰이 12∙3 비상계엄 당시 법무부가 교정시설 내 수용공간을 확보하려 했다는 의혹과 관련해 "
        "내란 특검 수사 자료 확보에 나섰다.",
    ),
    (  # ko-84: quoted sub-headlines
        "“미사일들 1만여초 비행해 표적 명중 타격”…“28일 오전 8시께 발사”",
        "북한은 28일 서해상에서 장거리전략순항미사일 발사 훈련을 진행했다고 조선중앙통신이 29일 "
        "보도했다.",
    ),
    (  # ko-460 and ko-119: a label the lead repeats
        "하나증권 보고서",
        "하나증권은 30일 삼양식품에 대해 단기 실적 우려에 최근 주가가 하락했지만 내년 영업 마진은 "
        "상향할 것이라고 진단했다.",
    ),
    (
        "도널드 트럼프 미국 대통령",
        "트럼프 미국 대통령이 올해 봄 겨우 봉합한 미국 국채 시장과의 갈등이 되살아날 조짐이 보인다고 "
        "로이터 통신이 29일 보도했습니다.",
    ),
    (  # ko-363: the sub-headline's last quote mark has no opening one
        '與 의구심엔 "차이 조율 과정 필요"…국민 검증도 받아야"',
        '이재명 대통령은 29일 "차이를 잘 조율해 가는 과정이 필요하다"고 말했다.',
    ),
    (  # ko-72: the splitter cuts the sub-headline at its ellipsis
        "러 포병 관계자 “D-74, 사거리 늘었지만 품질·내구성 최악”… 전장서 잦은 고장 논란",
        "북한이 러시아에 제공한 122㎜ 견인포 'D-74 곡사포'가 전장에서 잦은 고장을 일으키며 품질 "
        "논란에 휩싸였다.",
    ),
    (  # ko-225: a column's header
        "■ 기고 - 문주현 단국대 에너지공학과 교수",
        "최근 우라늄 가격 급등과 글로벌 공급망 위기로 자원 빈국인 우리에게 ‘에너지 자립’은 선택이 "
        "아닌 생존의 문제가 되었다.",
    ),
]


@pytest.mark.parametrize(("subheadlines", "lead"), GLUED)
def test_sub_headlines_glued_to_the_lead_in_flat_text_are_kept_apart_or_dropped(subheadlines, lead):
    text = subheadlines + " " + lead + " " + NEXT
    assert clean(text, keep_subheadlines=False) == lead + " " + NEXT
    assert clean(text) == subheadlines + "\n" + lead + " " + NEXT
    if len(split_sentences(subheadlines + " " + lead)) == 1:  # ko-72 comes in two
        assert split_lead_subheadlines(subheadlines + " " + lead) == (subheadlines, lead)


def test_a_quoted_sub_headline_glued_to_the_lead_after_a_dateline():
    # ko-402: "[헤럴드경제=박영훈 기자] “점유율 20% 아래로 추락”뉴진스에 이어 …"
    lead = (
        "뉴진스에 이어 에스파를 내세운 애플의 ‘올해 아이폰 마케팅’이 사실상 실패한 것으로 나타났다."
    )
    text = "[헤럴드경제=홍길동 기자] “점유율 20% 아래로 추락”" + lead + " " + NEXT
    assert clean(text, keep_subheadlines=False) == lead + " " + NEXT


@pytest.mark.parametrize(
    "lead",
    [
        # compound subjects, quotes and verbal nouns inside real first sentences
        "김정은 북한 국무위원장이 ‘주력 타격수단’이자 핵 탑재가 가능한 방사포를 생산하는 "
        "군수공장을 방문했습니다.",
        "도널드 트럼프 미국 대통령과 볼로디미르 젤렌스키 우크라이나 대통령이 종전안을 두고 다시 "
        "협상 테이블에 앉았습니다.",
        "코스피 상장사의 기업지배구조 보고서 공시가 내년부터 전면 의무화되면서 한국거래소가 "
        "중점점검 항목을 사전에 공개했다.",
        '국방부는 최근 북한이 순항미사일을 발사한 것에 대해 "한반도 평화와 안정을 저해하는 '
        '행위"라고 29일 밝혔다.',
        '"K-방산 4대 강국 진입이라는 국정과제가 본격화되고 있다."강훈식 대통령비서실장이 '
        "귀국길에 취재진과 만나 이같이 말했다.",
        "통일교의 정치권 로비 의혹을 수사 중인 경찰이 박아무개 전 천주평화연합(UPF) 회장을 소환해 "
        "조사 중이다.",
        "2025년 지구촌 안보는 인공지능(AI) 기반의 유무인 복합전투체계가 전면에 부상한 한 해였다.",
        "이번 조사 결과가 나오자 정부는 대책 마련에 나섰다.",
    ],
)
def test_a_real_first_sentence_is_not_taken_for_a_sub_headline(lead):
    assert split_lead_subheadlines(lead) == ("", lead)
    assert clean(lead + " " + NEXT, keep_subheadlines=False) == lead + " " + NEXT


def test_a_photo_caption_before_the_byline_is_not_the_lead():
    text = (
        "중기중앙회 전경[헤럴드경제=홍길동 기자] " + LEAD,
        "메디힐 골프단에 합류한 선수가 포즈를 취하고 있다. 사진 | 메디힐 골프단[스포츠서울 | "
        "홍길동 기자] " + LEAD,
    )
    for t in text:
        assert clean(t, keep_subheadlines=False) == LEAD


def test_a_dateline_inside_the_story_goes_but_the_story_stays():
    text = LEAD + "\n\n(서울=연합뉴스) 홍길동 기자 = " + NEXT
    assert clean(text) == LEAD + "\n\n" + NEXT


# -- e-mails, credits, copyright ---------------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    [
        " 홍길동 기자 hong@yna.co.kr",
        " hong@newsis.com",
        " 2025.12.29 [조선우표사 홈페이지 캡처. 재판매 및 DB 금지] nkphoto@yna.co.kr",
        " 2025.12.30 [국내에서만 사용가능. 재배포 금지. For Use Only in the Republic of Korea. "
        "No Redistribution] nkphoto@yna.co.kr",
        " [국내에서만 사용가능. 재배포 금지. DB 금지. For Use Only in the Republic of Korea. "
        "Redistribution Prohibited] rodongphoto@news1.kr",
        " (사진=조선중앙TV 캡처) 2025.12.28. photo@newsis.com",
        " (사진=해군 제공) 2025.12.30. photo@newsis.com *재판매 및 DB 금지",
        " 2025.11.21ⓒ AFP=뉴스1",
        " 2025.12.30/뉴스1",
        " [조선중앙TV 화면]",
        " (사진=연합뉴스)",
        " <저작권자(c) 연합뉴스, 무단 전재-재배포, AI 학습 및 활용 금지>",
        " 저작권자 ⓒ 홍길동일보 무단전재 및 재배포 금지",
        " 무단 전재 및 재배포 금지",
        " Copyright ⓒ 한국경제. All rights reserved.",
        " ⓒ 연합뉴스",
    ],
)
def test_credits_emails_and_copyright_lines_go(tail):
    assert clean(LEAD + tail) == LEAD


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a credit glued to the caption and to the next sentence (ko-127, ko-84, ko-237)
        # (the caption, a bare noun phrase with a full stop, then goes on a line of its own)
        ("도널드 트럼프 미국 대통령. AFP 연합뉴스" + LEAD, "도널드 트럼프 미국 대통령.\n" + LEAD),
        ("조선중앙통신 연합뉴스" + LEAD, LEAD),
        ("그는 말했다. 사진=뉴스1" + LEAD, "그는 말했다. " + LEAD),
        (LEAD + " [우리은행 제공]" + NEXT, LEAD + " " + NEXT),
        ("[국고채 (사진=연합뉴스)]" + LEAD, LEAD),
        ("[김종철 위원장 현장 방문 (방미통위 제공=연합뉴스)]" + LEAD, LEAD),
        ("[도쿄=AP/뉴시스] " + LEAD, LEAD),
    ],
)
def test_inline_credits_go_and_the_sentences_around_them_stay(text, expected):
    assert clean(text) == expected


def test_an_opening_photo_caption_marked_with_a_triangle_goes():
    caption = "▲ 김정은 국무위원장이 31일 평양에서 열린 행사에서 연설하고 있다. "
    assert clean(caption + LEAD + " " + NEXT) == LEAD + " " + NEXT
    # no caption sentence to tell apart: only the mark goes
    assert clean("▲ " + LEAD) == LEAD


# -- related articles, promos, broadcast cues ----------------------------------------------


@pytest.mark.parametrize(
    "tail",
    [
        "\n\n관련 기사\n北, 순항미사일 발사\n합참 “도발 중단하라”",
        "\n관련기사 ▶ 北, 순항미사일 발사 ▶ 합참 “도발 중단하라”",
        " [관련기사] 北, 순항미사일 발사",
        "■ 제보하기▷ 전화 : 02-000-0000▷ 이메일 : tip@example.co.kr▷ 카카오톡 : 'KBS제보' 검색",
        "※ '당신의 제보가 뉴스가 됩니다'[카카오톡] YTN 검색해 채널 추가[전화] 02-000-0000",
        " (영상편집:홍길동)",
        "▶ 자세한 뉴스 잠시 뒤 이어집니다.",
    ],
)
def test_related_article_lists_and_promos_go(tail):
    assert clean(LEAD + tail) == LEAD


def test_broadcast_transcripts_lose_their_cues_and_hand_offs():
    text = "【 앵커멘트 】 " + LEAD + " 자세한 내용, 홍길동 기자가 보도합니다. 【 기자 】 " + NEXT
    assert clean(text) == LEAD + " " + NEXT
    text = "[앵커]" + LEAD + " 홍길동 기자입니다.[리포트]" + NEXT
    assert clean(text) == LEAD + " " + NEXT
    header = (
        "■ 진행 : 홍길동 앵커■ 출연 : 김철수 교수* 아래 텍스트는 실제 방송 내용과 차이가 있을 수 "
        "있으니 보다 정확한 내용은 방송으로 확인하시기 바랍니다. 인용 시 [YTN 뉴스와이드] "
        "명시해주시기 바랍니다.[앵커]"
    )
    assert clean(header + LEAD) == LEAD


def test_syndication_notes_go_and_mark_where_the_lead_starts():
    text = (
        "차기 Fed 의장, 내달 발표이 기사는 국내 최대 해외 투자정보 플랫폼 한경 글로벌마켓에 "
        "게재된 기사입니다." + LEAD
    )
    assert clean(text, keep_subheadlines=False) == LEAD
    text = (
        "[이 기사에 나온 스타트업에 대한 보다 다양한 기업정보는 데이터랩에서 볼 수 있습니다.] "
        + LEAD
    )
    assert clean(text) == LEAD


# -- what stays ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "story",
    [
        "원·달러 환율(1달러=1,439원)은 전 거래일보다 9.2원 올랐다.",
        "연합뉴스가 29일 보도한 바에 따르면 정부는 대책을 발표했다.",
        "경찰은 공연표를 대량으로 확보해 재판매한 암표상 5명을 붙잡았다.",
        "그는 기자들과 만나 “대화의 문은 열려 있다”고 말했다.",
        "▲조선노동당 39호실을 통한 마약 제조 ▲정찰총국의 해킹이 거론됐다.",
        "국방부는 2025년 12월 29일 이같이 밝혔다.",
    ],
)
def test_story_text_is_left_alone(story):
    assert clean(story) == story
    assert clean(LEAD + " " + story) == LEAD + " " + story


def test_text_without_hangul_is_returned_as_it_is():
    english = "SEOUL (REUTERS) - North Korea fired missiles.\n\nPHOTO: REUTERS"
    assert strip_korean_boilerplate(english) == english


def test_english_rules_and_korean_rules_are_separate_and_compose():
    text = "(서울=연합뉴스) 홍길동 기자 = " + LEAD + "\n\nJoin ST's Telegram channel for more."
    assert strip_boilerplate(strip_korean_boilerplate(text)) == LEAD


def test_is_korean():
    assert is_korean(LEAD)
    assert is_korean("北, 이번엔 장거리 순항미사일 쐈다 (Reuters)")
    assert not is_korean("North Korea fired a missile, said 합참 (JCS).")


# -- linear time ------------------------------------------------------------------------


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "unit",
    [
        "(",
        "[서울=",
        "[제공",
        "기자 =",
        "홍길동 기자 ",
        "a@",
        "a.",
        "■ 진행 : ",
        "사진=",
        "2025.12.29 ",
        "관련 기사 ",
        "【",
        " ",
        "다.",
        "가",
        "제작: 홍길동 ",
        "▲ ",
        "(영상편집:",
        "이 기사는 ",
        '"',
        "“가”…",
        '받아야" ',
        "검토 정부가 ",
        "홍길동 보고서 홍길동은 ",
        "■ 기고 - ",
    ],
)
def test_adversarial_inputs_of_40000_characters_are_cleaned(unit):
    text = (unit * (40_000 // len(unit) + 1))[:40_000]
    out = strip_korean_boilerplate("가" + text, keep_subheadlines=False)
    assert len(out) <= 40_001
    # and a summary of it is made
    summarize(Article(id="x", title="제목", content="가" + text))


@pytest.mark.timeout(20)
def test_a_40000_character_run_of_real_boilerplate_is_removed():
    tail = " [국내에서만 사용가능. 재배포 금지.] nkphoto@yna.co.kr 2025.12.29"
    text = (LEAD + tail + "\n") * (40_000 // (len(LEAD) + len(tail) + 1))
    out = strip_korean_boilerplate(text)
    assert set(out.split("\n")) == {LEAD}


# -- before summarising and before matching ------------------------------------------------


YONHAP_PHOTO = Article(
    id="ko-photo",
    title="김정은 딸 주애, 기념관 건설장 식수",
    content=(
        "(서울=연합뉴스) 김정은 국무위원장의 딸 주애가 지난 5일 기념관 건설장에서 삽을 들고 "
        "식수 작업을 하고 있다. [조선중앙TV 화면] 2026.1.6 [국내에서만 사용가능. 재배포 금지. "
        "For Use Only in the Republic of Korea. No Redistribution] nkphoto@yna.co.kr"
    ),
)


def test_a_summary_carries_none_of_it():
    summary = summarize(YONHAP_PHOTO)
    assert summary.text == (
        "김정은 국무위원장의 딸 주애가 지난 5일 기념관 건설장에서 삽을 들고 식수 작업을 하고 있다."
    )
    assert summary.language == "ko"


def test_the_redistribution_note_matches_nothing():
    matcher = Matcher()
    matcher.add("t", '"republic of korea" OR redistribution OR 연합뉴스')
    assert matcher.match(YONHAP_PHOTO) == []
    doc = prepare_document(YONHAP_PHOTO)
    assert "redistribution" not in doc.text_terms
    # the story's own words still match
    matcher.add("u", "주애")
    assert [m.topic for m in matcher.match(YONHAP_PHOTO)] == ["u"]


def test_sub_headlines_still_match():
    article = Article(
        id="k",
        title="제목",
        content="핵잠 부품 싣고 북한행 가능성 (서울=연합뉴스) 홍길동 기자 = " + LEAD,
    )
    matcher = Matcher()
    matcher.add("t", "핵잠")
    assert [m.topic for m in matcher.match(article)] == ["t"]


def test_an_opening_caption_before_a_photo_credit_is_not_the_lead():
    caption = "서울 용산구 국립중앙박물관에서 관람객들이 내부를 관람하고 있다. [사진=뉴시스] "
    text = caption + LEAD + " " + NEXT
    assert clean(text, keep_subheadlines=False) == LEAD + " " + NEXT
    # a photo item whose only text is the caption keeps it
    assert clean(LEAD + " (사진=조선중앙TV 캡처) 2025.12.28. photo@newsis.com") == LEAD


def test_a_quoted_sub_headline_right_after_the_byline_is_kept_apart():
    text = '[홍길동 디지털팀 기자 hong@example.com] "의혹, 같은 잣대로 신속한 수사 필요" ' + LEAD
    assert clean(text, keep_subheadlines=False) == LEAD
    assert clean(text) == '"의혹, 같은 잣대로 신속한 수사 필요"\n\n' + LEAD
    # a quotation that the sentence goes on from is the lead itself
    quoted = '(서울=연합뉴스) 홍길동 기자 = "대화의 문은 열려 있다"고 정부가 밝혔다.'
    assert clean(quoted, keep_subheadlines=False) == '"대화의 문은 열려 있다"고 정부가 밝혔다.'


def test_a_bracketed_caption_with_an_agency_credit_inside_is_not_a_dateline():
    text = "[대만 이란현 지진 (대만 중앙기상국=연합뉴스)]" + LEAD
    assert clean(text) == LEAD
    assert clean(text, keep_subheadlines=False) == LEAD


def test_sub_headlines_on_their_own_lines_without_a_dateline_leave_the_summary():
    text = (
        "美 ‘대화 러브콜’에도 묵묵부답\n6년 전 ‘판문점 회동’과 뚜렷한 대비\n\n" + LEAD + "\n" + NEXT
    )
    assert clean(text, keep_subheadlines=False) == LEAD + "\n" + NEXT
    assert clean(text) == text  # matching keeps their words
    summary = summarize(Article(id="s", title="제목", content=text))
    assert summary.text.startswith(LEAD)
    # a text of short lines only, none a sentence, stays as it is
    assert clean("속보 하나\n속보 둘", keep_subheadlines=False) == "속보 하나\n속보 둘"


# -- sub-headlines glued to the lead inside one word, captions before it (ko- items) -------

GLUED_IN_A_WORD = [
    (  # ko-56: the last sub-headline's final word glued to the lead's first
        "6년 전 ‘판문점 회동’과 뚜렷한 대비전문가 “미국과 대등한 지위로 인식”2026년 초 당대회 "
        "대외 전략 발표 주목",
        "도널드 트럼프 미국 대통령은 한국 방문을 이틀 앞둔 지난 10월27일 기자들과 만나 “그를 "
        "만나면 정말 좋을 것”이라고 말했다.",
    ),
    (  # ko-27
        "통일연구원 '2025 글로벌 통일인식조사'서 확인된 일본의 여론…북일 관계 개선에는 호의적",
        "일본 국민들이 한반도 평화 및 남북통일에 부정적이라는 조사 결과가 나왔다.",
    ),
    (  # ko-490
        "복장 자유·예절 사이 충돌",
        "미국에서 한 여성 골프 인플루언서의 복장을 둘러싼 논쟁이 확산하고 있다.",
    ),
    (  # ko-505
        "PSG·토트넘에 이어 세 번째 스포츠 협업⋯내년부터 베이커리·굿즈 출시",
        "파리바게뜨는 국내 식품외식업계 최초로 미국 메이저리그사커(MLS) 구단과 파트너십을 "
        "체결했다고 30일 밝혔다.",
    ),
    (  # ko-169: a short lead after a block marked as sub-headlines by its ellipsis
        "'적극 재정'에도 민심 호응…가중된 경제난에 '탈중국 부작용' 우려도",
        "그야말로 신드롬이다.",
    ),
    (  # ko-379: a label glued to the lead whose subject repeats it
        "최진식 “강고한 경제 재도약 토대를 구축해야” 경제 5단체장",
        "최태원 대한상공회의소 회장을 비롯한 경제 5단체장들이 일제히 새해 화두로 ‘기업하기 좋은 "
        "나라’를 강조했다.",
    ),
    (  # ko-569: a caption's full stop after a bare noun
        "오색채담 제7회 회원전에 출품된 작품.",
        "전통채색화 전문브랜드 오색채담(대표 강은명)의 제7회 회원전이 6일부터 12일까지 서울 종로 "
        "마루아트센터에서 열린다.",
    ),
]


@pytest.mark.parametrize(("subheadlines", "lead"), GLUED_IN_A_WORD)
def test_a_sub_headline_glued_inside_a_word_to_the_lead_is_cut_off(subheadlines, lead):
    assert split_lead_subheadlines(subheadlines + lead) == (subheadlines, lead)
    assert clean(subheadlines + lead + " " + NEXT, keep_subheadlines=False) == lead + " " + NEXT


@pytest.mark.parametrize(
    ("subheadlines", "lead"),
    [
        (  # ko-261: a one-word sub-headline left after a quoted one
            "반발",
            "국민의힘은 29일 국가정보원이 서해 공무원 피살 사건 1심에서 무죄 판결을 받은 박지원 "
            '의원 등에 대한 고발을 취하하기로 한 데 대해 "진실을 덮으려는 시도"라고 반발했다.',
        ),
        (  # ko-300: a quoted label, then a lead that opens with its date
            "미국의 기습적인 마두로 대통령 체포 작전 '막전 막후'",
            "3일(현지시간) 새벽 2시, 베네수엘라 수도 카라카스 하늘에 거대한 불꽃과 굉음이 터져 "
            "나왔다.",
        ),
        (  # ko-412: a headline's verb form, then a lead that opens with a date word
            "경총, 한·미·일 주요기업 비교K방산·반도체 성장세 가팔라",
            "올해 들어 3분기까지 한·미·일 주요 기업 실적을 비교해 보니 한국 기업들의 매출 성장률이 "
            "가장 높은 것으로 나타났다.",
        ),
        (  # ko-599: a sub-headline ending on a figure
            "건보공단, 고액·상습 체납자 공개체납 1위, 개인 13억·법인 120억",
            "국민건강보험공단(건보공단)이 30일 4대 사회보험료 고액·상습 체납자 1만3449명의 "
            "인적사항을 공개했다.",
        ),
        (  # ko-373: a short lead after a quoted sub-headline
            "금리 불안 장기화 우려…한은 “12월에도 오를 가능성”",
            "대출금리가 다시 고개를 들었다.",
        ),
        (  # ko-209: a sub-headline without a subject, the lead's subject four words on
            "보안 강화 전제로 업무 프로세스 최적화 실현하는데 방점",
            "글로벌 전문 BPO 그룹 ㈜트랜스코스모스코리아가 한국국방연구원(KIDA)과 손을 잡고 생성형 "
            "AI 기반 챗봇 솔루션 구축에 성공했다고 밝혔다.",
        ),
        (  # ko-310: a bare noun phrase, then a lead whose subject comes eight words in
            "2차 종합 특검·통일교 특검 함께내년 또 ‘특검 3개’ 가동 가능성",
            "‘서해 공무원 피살 은폐’ 사건 1심에서 문재인 정부 관계자들이 무죄를 받자 더불어민주당은 "
            "29일 “조작 기소 의혹이 있다”며 특검 필요성을 제기했다.",
        ),
        (  # ko-131
            "밴스, 머스크에 신당 창당 계획 철회 종용머스크 측근, NASA국장 재지명에도 관여머스크, "
            "빈 살만 왕세자 백악관 만찬 참석",
            "사실상 '파국'을 맞았던 트럼프 미국 대통령과 머스크 테슬라 CEO가 최근 화해의 제스처를 "
            "취한 배경에는 JD 밴스 부통령의 역할이 컸던 것으로 전해졌다.",
        ),
        (  # ko-152: a second, short label after the first cut
            "美 언론 “트럼프, 젤렌스키 빈손 취급” 우크라식 DMZ가 변수",
            "종전을 둘러싼 미국·우크라이나·러시아의 ‘삼각 힘겨루기’가 연말 막판 최고조에 달했다.",
        ),
    ],
)
def test_labels_and_dated_leads_after_sub_headlines(subheadlines, lead):
    text = subheadlines + " " + lead
    assert clean(text + " " + NEXT, keep_subheadlines=False) == lead + " " + NEXT


@pytest.mark.parametrize(
    ("caption", "lead"),
    [
        (  # ko-104: a stock caption glued to the lead
            "약물 검사서 누나 먹던 수면제 성분 발견 기사 이해를 돕기 위한 AI 이미지",
            "함께 탈북해 한국에 살고 있는 남동생을 살해한 혐의를 받는 탈북민 여성이 구속됐다.",
        ),
        (  # ko-398: a caption, its photographer glued to a sub-headline, then the lead
            "지난해 9월 인천 신항 터미널에 선적을 기다리는 수출용 컨테이너들이 쌓여 있다. 홍길동 "
            "기자29일 오후 1시 기준 잠정 달성",
            "올해 한국 수출이 사상 최초로 7000억 달러를 돌파했다.",
        ),
        (  # ko-587: a ▲ caption without a full stop, ending on what the picture is
            "▲ 인공 중력을 만들어내는 바퀴 모양 우주정거장 상상도 ",
            "스탠리 큐브릭 감독의 1968년작 영화에 나오는 것처럼 우주정거장에 '인공중력'을 만드는 "
            "기술의 특허를 러시아 국영기업이 냈습니다.",
        ),
    ],
)
def test_captions_before_the_lead_go_from_the_summary(caption, lead):
    assert clean(caption + lead + " " + NEXT, keep_subheadlines=False) == lead + " " + NEXT


@pytest.mark.parametrize(
    "lead",
    [
        # real first sentences the glued-word and figure rules must leave whole
        "더불어민주당 정치검찰조작기소대응 특별위원회는 29일 쌍방울 대북송금 사건과 관련해 제보 "
        '문건을 공개하며 "실체를 규명해야 한다"고 밝혔다.',  # ko-36: 기소|대응 inside a name
        "미국 트럼프 행정부는 이스라엘 총리가 하마스와 전쟁을 재개할 가능성을 우려하고 있다고 "
        "온라인 매체 악시오스가 보도했다.",  # ko-158: 가능|성을
        "현대자동차그룹이 국외 독립운동 사적지 복원에 적극 나서면서 정몽구 명예회장의 '민간 외교' "
        "활동이 재조명되고 있다.",  # ko-123: 나서|면서
        '장동혁 국민의힘 대표는 31일 통일교와 신천지의 정치권 지원 의혹과 관련해 "신천지는 '
        '합동수사본부에서, 통일교는 특검에서 수사하자"고 제안했다.',  # ko-335
        "평택 주한미군 기지에 주둔해오던 미국 육군 1개 비행대대가 지난달 비활성화 된 것으로 "
        "나타났다.",  # ko-135: a counter, not a figure ending a sub-headline
        "북한 노동당 기관지인 노동신문이 오늘(30일)부터 일반자료로 분류돼 별도의 절차 없이 "
        "일반에게 공개됩니다.",  # ko-71
    ],
)
def test_real_first_sentences_survive_the_glued_word_rules(lead):
    assert split_lead_subheadlines(lead) == ("", lead)
    assert clean(lead + " " + NEXT, keep_subheadlines=False) == lead + " " + NEXT


def test_a_long_text_of_glued_labels_is_cut_where_the_short_one_is():
    # 100 KB of Hangul in which every glued word has a cut its next word's subject repeats
    # ("단체장|단체장단체장 단체장들이"): each cut is tried once, not once per character, and the
    # last one the lead's window sees wins, as in a short text.
    unit = "단체장단체장단체장 단체장들이 "
    text = unit * 6000 + "모였다."
    head, lead = split_lead_subheadlines(text)
    assert head == unit * 24 + "단체장"
    assert lead == text[len(head) :].strip()
    # a real label before a lead, then 100 KB more: the same cut as without the tail
    subheadlines, first = GLUED_IN_A_WORD[-2]
    tail = " ".join(["경제단체장경제단체장들이"] * 8000)
    assert split_lead_subheadlines(subheadlines + first + " " + tail) == (
        subheadlines,
        first + " " + tail,
    )
    # one word of 100 KB: every character a candidate boundary, no lead in the window
    word = "단체장" * 34_000 + " 단체장들이 모였다."
    assert split_lead_subheadlines(word) == ("", word)


# ko-49: four sub-headlines glued to a lead whose subject comes 16 words in; the last one
# goes because the lead restates the title's first words (北 공작원으로부터 …).
KO49_TITLE = "北 공작원으로부터 비트코인 받고 軍 기밀 빼내려 한 코인 업체 대표, 징역 4년 확정"
KO49_LEAD = (
    "북한 공작원으로부터 비트코인을 받은 뒤 북한의 지령에 따라 우리 군(軍)의 기밀을 빼내는 "
    "작업에 도움을 준 가상화폐 투자회사 대표가 징역 4년형을 확정받았다."
)
KO49_SUBHEADLINES = (
    "2016년 온라인 코인 커뮤니티에서 北 공작원 알게 돼2018년에는 공작원 운영 불법 도박 사이트에서 "
    "스팸 보내2021년 코인 업체 차려… 운영 자금 공작원이 줘장교 출신 사촌동생 통해 현역 장교 포섭 "
)


def test_a_lead_that_restates_the_title_drops_the_sub_headlines_before_it():
    text = KO49_SUBHEADLINES + KO49_LEAD + NEXT
    assert clean(text, keep_subheadlines=False, title=KO49_TITLE) == KO49_LEAD + NEXT
    assert summarize(Article(id="k", title=KO49_TITLE, content=text)).text.startswith(KO49_LEAD)
    head, lead = split_lead_subheadlines(
        "장교 출신 사촌동생 통해 현역 장교 포섭 " + KO49_LEAD, title=KO49_TITLE
    )
    assert (head, lead) == ("장교 출신 사촌동생 통해 현역 장교 포섭", KO49_LEAD)
    # without the title the shape rules stop one sub-headline short, as before
    assert split_lead_subheadlines("장교 출신 사촌동생 통해 현역 장교 포섭 " + KO49_LEAD)[0] == ""


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        (  # ko-326: the title's words come back after the lead's subject and date
            "양천경찰서 112상황실 찾은 김민석 총리",
            "김민석 국무총리가 31일 서울 양천경찰서 112상황실에서 연말연시 치안 현황을 점검하고 있다.",
        ),
        (  # ko-447: after a date word
            "수출 사상 첫 7천억 달러…'세계 6번째' 쾌거",
            "올해 우리 수출이 사상 최초로 7천 억 달러를 넘어섰습니다.",
        ),
        (  # ko-188: after the lead's subject
            '한중 정상회담, 정치권 평가 엇갈려…"새로운 물꼬" vs "이벤트성 회담"',
            "이재명 대통령과 시진핑 중국 국가주석의 한중 정상회담과 관련 여야는 엇갈린 평가를 내놨다.",
        ),
        (  # ko-365: a caption-like lead, its subject first
            "원내대표 보궐선거 출마하는 더불어민주당 박정 의원",
            "더불어민주당 박정 의원이 2일 국회 소통관에서 원내대표 보궐선거 출마를 선언하고 있다.",
        ),
    ],
)
def test_a_real_lead_that_restates_the_title_late_is_kept_whole(title, lead):
    assert split_lead_subheadlines(lead, title=title) == ("", lead)
    assert clean(lead + " " + NEXT, keep_subheadlines=False, title=title) == lead + " " + NEXT


@pytest.mark.parametrize(
    ("glued", "kept"),
    [
        (  # ko-420: a sub-headline glued between two paragraphs, its Hangul glued to a date
            "원·달러 환율, 두달 만에 1420원대 마감",
            "29일 금융정보업체 KG제로인 엠피닥터에 따르면 원·달러 환율은 10.55원 내린 1429.80원에 "
            "거래를 마쳤다.",
        ),
        (  # ko-49: one ending on a headline's verb form before the paragraph's subject
            "공작원 지시 받고 군 부대 안에 시계형 몰래카메라도 반입시켜 ",
            "이씨는 2013년부터 2015년까지 사설 스포츠토토 사이트에서 도박을 했다.",
        ),
        (  # ko-450: a caption before its credit
            " 세곡6단지 위치도. [서울시 제공]",
            "세곡6단지는 테라스형 커뮤니티 등을 활용해 입체적 스카이라인을 조성할 계획이다.",
        ),
        (  # ko-448
            " 2026년 1분기 출시 예정인 기아 소형 SUV ‘디 올 뉴 셀토스’ (사진=기아)",
            "29일 업계에 따르면 현대차는 2026년 신모델을 선보일 예정이다.",
        ),
        (  # ko-197: a section mark and its quoted sub-headline
            " ━ “표현의 자유…‘트럼프센터’서 못해” ",
            "30일(현지시간) 뉴욕타임스(NYT)에 따르면 재즈 7중주단은 신년 전야 공연을 취소했다.",
        ),
    ],
)
def test_a_sub_headline_or_caption_inside_the_body_leaves_the_summary(glued, kept):
    text = LEAD + glued + kept
    assert clean(text, keep_subheadlines=False) == LEAD + " " + kept
    assert glued.strip(" [").split()[0] in clean(text, keep_subheadlines=True)


def test_a_photographer_byline_inside_the_text_takes_its_caption_along():
    # ko-420: past the lead's dateline, a byline signs a photo
    caption = "29일 서울 중구 하나은행 딜링룸 현황판에 환율 지수 등이 표시되고 있다."
    text = f"[이데일리 유준하 기자] {LEAD} [이데일리 이영훈 기자] {caption}{NEXT}"
    assert clean(text, keep_subheadlines=False) == f"{LEAD} {NEXT}"
    assert caption in clean(text, keep_subheadlines=True)


@pytest.mark.parametrize(
    "body",
    [
        "이와 함께 이세은 감독의 애니메이션 영화 ‘경계’는 경쟁 부문에 올랐다.",  # ko-566
        "이를 위해 정부는 내년 예산을 늘리기로 했다.",
        "협약식에는 양측 대표가 참석했다 [우리은행 제공]",
        "지난29일 정부는 대책을 발표했다.",
    ],
)
def test_real_sentences_inside_the_body_survive_the_body_rules(body):
    assert body.split()[1] in clean(LEAD + body, keep_subheadlines=False)
    assert clean(LEAD + body, keep_subheadlines=False).startswith(LEAD)


def test_a_section_label_opening_the_text_leaves_the_summary():
    # ko-578: "[K-컬처] 배우 황신혜가 …"; the matcher keeps the label's words
    text = "[K-컬처] " + LEAD + " " + NEXT
    assert clean(text, keep_subheadlines=False) == LEAD + " " + NEXT
    assert "K-컬처" in clean(text, keep_subheadlines=True)
    # a text that is only a label and a line keeps both
    assert clean("[단독] 짧은 글.", keep_subheadlines=False) == "[단독] 짧은 글."


def test_a_headlines_hanja_short_forms_are_spelled_out():
    from bot.summary.boilerplate_ko import spell_out_hanja

    assert spell_out_hanja("北, 동해상으로 탄도미사일 발사") == "북한, 동해상으로 탄도미사일 발사"
    assert spell_out_hanja("韓美 정상회담") == "한국·미국 정상회담"
    assert spell_out_hanja("北韓 도발") == "북한 도발"
    assert spell_out_hanja("北京 올림픽") == "北京 올림픽"  # another Hanja word
    assert spell_out_hanja("北" * 100_000) == "·".join(["북한"] * 100_000)  # linear
