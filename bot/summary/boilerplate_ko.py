"""Korean publisher boilerplate, removed before summarising and before matching.

The English rules live in :mod:`bot.summary.boilerplate`; these are their Korean counterpart,
kept apart so that each set stays readable and is tested with its own real examples
(``tests/test_boilerplate_ko.py``, from Naver News and the agencies' own pages):

* datelines with bylines: ``(서울=연합뉴스) 홍길동 기자 =``, ``[서울=뉴시스]홍길동 기자 =``,
  ``(워싱턴=뉴스1) 홍길동 특파원 =``, ``[데일리안 = 홍길동 기자]``, ``【파이낸셜뉴스 울산=홍길동
  기자】``, ``[파이낸셜뉴스]``; whatever precedes a dateline at the start of the text is
  the page's sub-headlines (or a photo caption) glued to the lead: it is put on a line of
  its own (``keep_subheadlines=True``, for matching) or dropped (for a summary);
* sub-headlines glued to the lead in flat text with no dateline between them (Naver's text
  loses the page's line breaks), told by their shape (``split_lead_subheadlines``) and
  treated the same way;
* reporter e-mail addresses (``hong@yna.co.kr``), with the name before them;
* photo and source credits: ``[○○ 제공]``, ``(사진=○○)``, ``사진=뉴스1``, ``[조선중앙TV 화면]``,
  ``/연합뉴스``, ``AFP 연합뉴스``, ``ⓒ AFP=뉴스1``, caption date stamps ``2025.12.29``;
* copyright and redistribution lines: ``ⓒ``, ``저작권자``, ``무단 전재 및 재배포 금지``,
  ``재판매 및 DB 금지``, ``[국내에서만 사용가능. 재배포 금지. For Use Only in ...]``;
* "관련 기사" lists, broadcasters' tip-line and channel promos (``■ 제보하기 ▷ 전화 …``,
  ``※ '당신의 제보가 뉴스가 됩니다' …``), transcript cues (``[앵커]``, ``【 앵커멘트 】``) and
  production credits (``(영상편집:…)``).

Every pattern is linear in the length of the text: no quantifier is nested over a class
that overlaps what follows it, and every run inside a bracket is bounded.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import islice

from bot.summary.sentences import quote_spans, split_sentences

__all__ = ["has_hangul", "is_korean", "split_lead_subheadlines", "strip_korean_boilerplate"]

_HANGUL = re.compile("[\uac00-\ud7a3]")
# Sub-headlines and captions before a dateline are looked for this far into the text.
_LEAD_WINDOW = 500

# Agencies and newsrooms that sign datelines and credits (the Naver News sources).
_PUB = (
    r"(?:연합뉴스TV|연합뉴스|연합|뉴스1|뉴시스|데일리안|헤럴드경제|이데일리|파이낸셜뉴스|서울경제TV|서울경제|"
    r"디지털데일리|스포츠서울|스포츠조선|스포츠동아|스포츠경향|스포츠월드|더팩트|머니투데이|머니S|the300|"
    r"아시아경제|아이뉴스24|이코노미스트|한국경제TV|한국경제|한경닷컴|매일경제|매경이코노미|서울신문|노컷뉴스|"
    r"조세일보|지디넷코리아|뉴데일리|뉴스핌|이투데이|뉴스웨이|에너지경제|비즈니스포스트|시사저널|경향신문|"
    r"한겨레|국민일보|세계일보|문화일보|동아일보|조선일보|중앙일보|한국일보|부산일보|국제신문|강원일보|"
    r"강원도민일보|경기일보|대전일보|전자신문|디지털타임스|조선비즈|데일리e스포츠|OSEN|엑스포츠뉴스|"
    r"마이데일리|일간스포츠|텐아시아|조이뉴스24|뉴스엔|SBS Biz|KBS|MBC|SBS|YTN|JTBC|MBN|TV조선|채널A)"
)
_FOREIGN = r"(?:AP|AFP|EPA|UPI|로이터|신화|교도|타스|dpa|Reuters|Xinhua|Kyodo)"
_NAME = r"[가-힣]{2,4}"
# "홍길동 기자", "김효정 김철선 기자", "조재완·김경록 기자", "박기록기자", "최인영 특파원"
_REPORTER = (
    rf"{_NAME}(?:[ ·,]{{1,2}}{_NAME}){{0,3}} ?"
    r"(?:(?:선임|수석|인턴|객원|전문|디지털팀|정치부|사회부) ?)?(?:기자|특파원|통신원)"
)
_EMAIL = r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,4}"

# -- datelines: where the lead starts ---------------------------------------------------

_DATELINE = re.compile(
    "|".join(
        (
            # "(서울=연합뉴스) 홍길동 기자 =", "[서울=뉴시스]홍길동 기자 =", "(평양 노동신문=뉴스1) =",
            # "[도쿄=AP/뉴시스]", "(워싱턴 AFP=뉴스1) 홍길동 기자 =", "(서울=-연합뉴스)"
            rf"[(\[【](?![^()\[\]【】=\n]{{0,25}}(?:제공|사진))\s?[^()\[\]【】=\n]{{1,25}}=\s?-?\s?"
            rf"(?:{_FOREIGN}\s?/\s?)?{_PUB}\s?[)\]】]"
            rf"(?:\s?{_REPORTER}\s?=|\s?=)?",
            # "[데일리안 = 홍길동 기자]", "[헤럴드경제=홍길동 기자]", "[이데일리 홍길동 기자]",
            # "[스포츠서울 | 홍길동 기자]", "【파이낸셜뉴스 울산=홍길동 기자】", "[뉴욕=이데일리 홍길동
            # 특파원]", "[더팩트ㅣ국회=홍길동 기자]", "[홍길동 디지털팀 기자 hong@example.com]"
            rf"[\[【]\s?(?:[^\[\]【】()=\n]{{1,20}}\s?[=|ㅣ│]\s?){{0,2}}"
            rf"(?:{_PUB}\s)?{_REPORTER}(?:\s?{_EMAIL})?\s?[\]】]",
            rf"[\[【]\s?[^\[\]【】()=\n]{{1,12}}(?:통신원|기자)\s?{_EMAIL}\s?[\]】]",
            # "[파이낸셜뉴스]", "[서울경제]", "[the300]"
            rf"[\[【]\s?{_PUB}\s?[\]】]",
            # a syndication note between the sub-headlines and the lead
            r"이 기사는\s[^.\n]{0,80}(?:게재된|제공된|제공하는|작성된)\s?기사입니다\.?",
        )
    )
)

# -- fragments removed wherever they are ----------------------------------------------

_CREDIT_WORDS = (
    r"(?:제공|캡처|화면|사진|촬영|자료사진|출처|그래픽|일러스트|재판매|재배포|DB\s?금지|"
    r"For Use Only|Redistribution|연합뉴스|뉴시스|뉴스1)"
)
# a stock caption: "기사 이해를 돕기 위한 AI 이미지", "이해를 돕기 위한 그래픽"
_STOCK_CAPTION = (
    r"(?:기사\s?)?이해를\s?돕기\s?위한\s?(?:AI\s?|인공지능\s?)?(?:생성\s?)?"
    r"(?:이미지|그래픽|사진|일러스트)(?:입니다)?\.?"
)
_FRAGMENTS = tuple(
    re.compile(p)
    for p in (
        # "[이 기사에 나온 스타트업에 대한 보다 다양한 기업정보는 …]"
        r"\[이 기사[^\[\]\n]{0,200}\]",
        _STOCK_CAPTION,
        # photo and source credits in brackets (square brackets may hold a parenthesis):
        # "[우리은행 제공]", "[조선중앙TV 화면]", "[대만 이란현 지진 (대만 중앙기상국=연합뉴스)]",
        # "[국내에서만 사용가능. 재배포 금지. For Use Only in the Republic of Korea. …]"
        rf"\[(?=[^\[\]\n]{{0,160}}?{_CREDIT_WORDS})[^\[\]\n]{{1,200}}\]",
        rf"\((?=[^()\n]{{0,80}}?{_CREDIT_WORDS})[^()\n]{{1,100}}\)",
        rf"【(?=[^【】\n]{{0,80}}?{_CREDIT_WORDS})[^【】\n]{{1,100}}】",
        # "사진=뉴스1", "사진 | 메디힐 골프단", "사진=청와대 제공"
        r"사진\s?[=|ㅣ:]\s?[^\s\[\]().,]{1,20}\s[^\s\[\]().,]{1,20}(?=\s?[\[(【]|$)",
        rf"사진\s?[=|ㅣ:]\s?(?:{_PUB}|[^\s\[\]().,]{{1,20}}(?:\s?제공)?)",
        # "2025.12.30/뉴스1", "AP/뉴시스", "/연합뉴스"
        rf"\s?/\s?(?:{_PUB})(?![가-힣])",
        # "<저작권자(c) 연합뉴스, 무단 전재-재배포 금지>", "저작권자 ⓒ 홍길동일보 무단전재 및 재배포 금지"
        r"<?\s?저작권자\s?(?:[(ⓒ©]|\(c\))[^>\n\]]{0,120}?(?:금지\s?>?|>|reserved\.?|(?=\n)|$)",
        # "ⓒ AFP=뉴스1", "ⓒ 연합뉴스", "Copyright ⓒ 한국경제. All rights reserved"
        r"(?:Copyright|COPYRIGHT)?\s?[ⓒ©]\s?(?:[A-Za-z가-힣]{1,15}\s?=\s?)?[A-Za-z0-9가-힣.]{0,20}"
        r"(?:\.?\s?All rights reserved\.?)?",
        # caption credits glued to the next sentence: "AFP 연합뉴스재러드 …", "조선중앙통신 연합뉴스북한이"
        rf"(?:(?:{_FOREIGN}|조선중앙통신|노동신문|조선중앙TV)\s?)?연합뉴스(?=[가-힣])"
        r"(?![은는이가을를의에와과도로만])",
        rf"(?:{_FOREIGN}|조선중앙통신|노동신문|조선중앙TV)\s연합뉴스(?=\s|$)",
        # copyright and redistribution lines
        r"[<(\[]?\s?(?:무단\s?전재|무단전재)[^>)\]\n]{0,60}?금지[.>)\]]*",
        r"\*?\s?재판매\s?및\s?DB\s?금지",
        r"(?:All rights reserved|ALL RIGHTS RESERVED)\.?",
        # reporter e-mail addresses, with the name that signs them
        rf"(?:{_REPORTER}\s?)?{_EMAIL}",
        # transcript cues of broadcast news
        r"[\[<【◀]\s?(?:앵커|앵커멘트|앵커 멘트|리포트|기자|기자멘트|인터뷰|녹취|현장음)\s?[\]>】▶]",
        # "* 아래 텍스트는 실제 방송 내용과 차이가 있을 수 있으니 … 확인하시기 바랍니다."
        r"\*?\s?아래 텍스트는 실제 방송 내용과[^\n]{0,120}?바랍니다\.?",
        # "▶ 인터뷰 : 홍길동 / 대변인- "…""
        r"▶\s?(?:인터뷰|녹취|현장음)\s?:\s?[^\-\"“\n]{0,40}-\s?",
        # "인용 시 [YTN 뉴스와이드] 명시해주시기 바랍니다."
        r"인용\s?시\s?[^.\n]{0,40}명시해\s?주시기\s?바랍니다\.?",
        # interview headers: "■ 진행 : 홍길동 앵커", "■ 출연 : …"
        r"■\s?(?:진행|출연|방송|대담|사회)\s?[:：][^■*\[\n]{0,80}?(?=■|\*|\[|  |$)",
        # the anchor's hand-off: "…, 홍길동 기자가 보도합니다.", "홍길동 기자입니다."
        rf"(?:(?<=[.?!])|^)[^.?!\n]{{0,80}}?{_NAME}\s?(?:기자|특파원)(?:가|이)\s?"
        r"(?:보도합니다|전합니다|취재했습니다|분석했습니다|짚어봤습니다|알아봤습니다)\.",
        rf"(?:(?<=[.?!])|^)\s?{_NAME}\s?(?:기자|특파원)입니다\.",
        # "이 기사는 국내 최대 해외 투자정보 플랫폼 한경 글로벌마켓에 게재된 기사입니다."
        r"이 기사는\s[^.\n]{0,80}(?:게재된|제공된|제공하는|작성된)\s?기사입니다\.?",
        # production credits: "(영상편집:염윤지)", "(촬영기자: 홍길동)"
        r"\((?:영상편집|영상취재|촬영기자|촬영|편집|그래픽|제작|영상|구성|취재|연출|자료)"
        r"\s?[:：][^()\n]{1,40}\)",
        # a programme tag before a cue: "[정오뉴스]", "<2>" series numbers are left alone
        r"\[(?:정오뉴스|뉴스데스크|뉴스투데이|뉴스와이드|뉴스나이트|8뉴스|뉴스9|지금뉴스|자막뉴스)\]",
        r"^핵심요약",
    )
)
# Caption date stamps, once the credits around them are gone: "… 있다. 2025.12.29" at the
# end of a line, or before a credit ("2025.11.21ⓒ AFP=뉴스1").
_STAMP = re.compile(
    r"(?<![\w.])20\d{2}\.\s?\d{1,2}\.\s?\d{1,2}\.?(?:\s?/\s?[^\s]{1,10})?(?=\s?$|\s?[ⓒ©*])"
)
# Tails: everything from one of these to the end of the line is a promo or a list.
_TAIL = re.compile(
    r"\s?(?:■\s?제보하기|※\s?['‘\"“]?당신의 제보가 뉴스가 됩니다|▶\s?자세한 뉴스|☞|"
    r"▷\s?(?:전화|이메일|카카오톡)|\[카카오톡\]|▶\s?(?:이메일|카카오톡|홈페이지|전화)|"
    r"[\[<■▶]?\s?관련\s?기사\s?[\]>:▶■]|(?:^|(?<=\s))관련\s?기사$|"
    r"(?:^|(?<=[\s.]))(?:제작|영상편집|영상취재|촬영기자)\s?[:：]\s?[가-힣·]{2,12}(?=\s|$))"
    r"[^\n]*"
)
# A caption in brackets that ends with its credit: "[대만 이란현 지진 (대만 중앙기상국=연합뉴스)]"
# (gone before datelines are looked for: its credit is not one).
_NESTED_CREDIT = re.compile(
    rf"\[[^\[\]\n]{{0,120}}\([^()\n]{{1,40}}=\s?(?:{_FOREIGN}\s?/\s?)?{_PUB}\s?\)\s?\]"
)
_PHOTO_MARK = re.compile(
    r"[\[(]\s?사진\s?[=:|ㅣ]\s?[^\[\]()\n]{1,20}[\])]"
    rf"|{_STOCK_CAPTION}"
    # a photographer's name glued to the lead after the caption: "… 쌓여 있다. 문호남 기자29일"
    rf"|(?<=있다\. ){_NAME} ?기자(?!회견|단|실|들|협회|간담회|회|석|증|명|님|가|입니|의|와|는|에게)"
    r"(?=[0-9가-힣A-Za-z“\"‘'])"
)
_MIN_LEAD_AFTER_CAPTION = 80
# A quoted phrase not followed by a particle ("…"라고, "…"며) is a sub-headline.
_QUOTED_SUBHEAD = re.compile(
    r"\s?([\"“][^\"“”\n]{5,100}[\"”](?:\s?[\"“][^\"“”\n]{5,100}[\"”]){0,3})\s(?![고며라란는은])"
)
_MAX_SUBHEADLINES = 5
_MAX_SUBHEADLINE_CHARS = 150
_SENTENCE_END = re.compile(r"(?:[다요죠까니][.?!]|[.?!…][\"'”’)\]]?)$")
_RELATED_HEADER = re.compile(r"^\s?[\[<■▶【]?\s?관련\s?기사\s?[\]>】:]?\s?$")
# A photo caption that opens the text: "▲ 김정은 국무위원장이 … 손을 잡고 있다. <the lead>"
_CAPTION_MARK = re.compile(r"^\s?[▲△]\s")  # "▲조선노동당 …" without a space is a list
_CAPTION_SENTENCE = re.compile(
    r"^[^.\n]{5,200}?(?:고 있다|모습|모습이다)\.\s"
    # or no full stop, ending on what a picture is: "▲ … 우주정거장 상상도 스탠리 큐브릭 …"
    r"|^[^.\n]{5,150}?(?:상상도|조감도|위치도|전경|모습|장면|포스터|이미지|일러스트|그래픽)\s"
)
# -- sub-headlines glued to the lead in flat text (no dateline, no line break) --------------
#
# Naver's text loses the page's line breaks: "美원잠 입항 이후 잇단 도발 북한 조선중앙통신은 29일
# … 밝혔다."  What precedes the lead there is told by its shape: a headline's marks (an
# ellipsis, a quote glued to the next phrase), a quoted sub-headline closing before the lead,
# a label repeated by the lead ("하나증권 보고서 하나증권은 …"), or a phrase that ends the way
# headlines end, on a bare verbal noun ("… 관련자 소환 검토 경찰이 …").  The lead itself must
# start like one: its subject (a word with 은/는/이/가) within its first few words.
_H = "\uac00-\ud7a3"
_H_SET = frozenset(chr(c) for c in range(0xAC00, 0xD7A4))


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SUBHEAD_WINDOW = 260
_MIN_LEAD_CHARS = 15
# How the lead's first sentence ends (a sub-headline may end on "…" or a quote alone).
_LEAD_END = re.compile(r"(?:[다요죠까니][.?!…]+|[?!])[\"'”’)\]]?$")
_SUBJECT_WINDOW = 5  # the lead's subject is looked for in its first five words
# The longest word ``_SUBJECT_WORD`` takes (30 characters and 께서, a quote or bracket before)
_MAX_SUBJECT_CHARS = 36
# What a word glued after a closing quote starts with when it continues the sentence
# ('"…"라고', '"…"며', "'…'의"): then the quote is not a sub-headline's end.
_CONTINUING = "이가은는을를의에와과도로라란고며면까만처하서"
_HEADLINE_MARK = re.compile(
    rf"…|⋯|\.{{2,}}|(?<=\S)[”\"’'](?=[{_H}A-Za-z0-9\u4e00-\u9fff])(?![{_CONTINUING}])"
    rf"|(?<=[{_H}])“"
)
_GLUED_QUOTE = re.compile(rf"[”\"][{_H}]")
_QUOTED_END = re.compile(r"[”\"]$")
_SAID_IN_QUOTES = re.compile(r"[.?!][”\"’']$")  # '"… 본격화되고 있다."강훈식 …' is the lead
_COLUMN_HEADER = re.compile(
    r"^■\s?(?:기고|특별기고|칼럼|시론|독자투고)\s?[-–:ㅣ|]\s?[^.\n]{2,60}?"
    r"(?:교수|위원|대표|연구원|원장|소장|회장|변호사|박사|의원)\s"
)
_SUBJECT_WORD = re.compile(rf"^[㈜{_H}A-Za-z0-9·)’』」(]{{2,30}}(?:은|는|이|가|께서)$")
# ... but not a verb's adnominal ending: 맞는, 하는, 있는, 높은, 같이
_NOT_SUBJECT = re.compile(
    r"(?:하|되|있|없|않|지)는$|[받높같많작좋넓깊낮늦적짧젊]은$|(?:같|많|깊|높|곧)이$"
)
# Words a Korean headline ends on (a verbal noun without its 하다, or a headline verb form).
_HEADLINE_FINAL = _word_set(
    """검토 점검 결정 의결 가능성 혐의 복원 강세 격화 주력 변수 도발 조사 참석 유지 논란 공개
    발표 추진 확대 축소 전망 우려 기대 주목 촉구 비판 반발 강조 합의 발견 개최 체결 출시 지원
    집중 확보 돌파 상승 하락 급증 급감 시사 거론 예고 제기 포섭 역할 필요 가능 어리둥절 나서
    모아 보여 커져 올라 가팔라 잇따라 듯 예정 방침 신년사 모습 전환 선정 수상 영입 출범 취임
    사퇴 별세 체포 구속 기소 석방 해임 파면 징계 경고 요구 제안 공세 압박 방점 달성 충돌 종용
    관여 반발"""
)
# Nouns that a verbal noun heads in a compound ("조사 결과가", "지원 사업은"): no cut before them.
_HEAD_NOUNS = _word_set(
    """결과 계획 방안 사업 방침 대상 과정 문제 결정 내용 소식 사실 여부 가능성 기간 규모 비용
    절차 사건 관계자 당국 측 요청 건수 실적"""
)
# -- sub-headlines glued to the lead inside one word ------------------------------------
#
# Flat text glues the last sub-headline to the lead with no space at all: "… 발표 주목도널드
# 트럼프 미국 대통령은 …", "… 호의적일본 국민들이 …", "… 잠정 달성올해 한국 수출이 …",
# "… 알게 돼2018년에는 …".  A word is cut inside when its first part ends the way headlines
# end (a word of ``_GLUED_FINAL``, or Hangul glued to a date) and what follows starts a lead:
# not a verb's or a particle's continuation, with its subject within a few words or a date
# word first ("올해", "지난", "29일").  The last such cut before the first sentence end wins
# (a block holds several sub-headlines).  A caption's full stop after a bare noun ("… 출품된
# 작품.전통채색화 …", "도널드 트럼프 미국 대통령. 재러드 …") ends a caption the same way.
_GLUED_FINAL = _HEADLINE_FINAL | _word_set(
    """달성 충돌 비교 종용 관여 대체 분석 대비 인식 방점 호의적 부정적 긍정적 우려도 가능성도
    본격화 가시화 공고화 체계화 정교화 구체화 현실화 장기화 돼 줘 보내 함께 상향 하향 급등 급락
    반등 마감 경신 기록 달해 넘어 육박"""
)
# Finals that are verb forms ("나서", "보여", "돼"): what is glued after them may be their
# ending ("나서면서", "보여준"), never taken for a lead.
_VERB_FINALS = _word_set("나서 모아 보여 커져 올라 가팔라 잇따라 돼 줘 보내 달해 넘어 함께 듯")
_ENDING_START = frozenset("면며고야서도자지기니나는은을를준줬주온와왔워졌져된될할한했해")
_GLUE_WINDOW = 400
_GLUED_SUBJECT_WINDOW = 8
_MIN_GLUED_LEAD_CHARS = 10  # "우려도그야말로 신드롬이다."
_MAX_PASSES = 2
_MAX_SECOND_HEAD_WORDS = 4
_BARE_REACH = 9  # how far the lead's subject may come after a bare noun-phrase sub-headline
_DATE_OPENER = re.compile(
    r"(?:올해|지난해|작년|지난|오늘|어제|내일|내년|이날|(?:19|20)\d\d년|\d{1,2}월|\d{1,2}일)"
    r"(?![가-힣])|(?:19|20)\d\d년|\d{1,2}일(?:\(|오전|오후|\s)"
)
# What a lead's first word does not start with: a verb's or a particle's continuation of
# the word before ("주목받으며", "공개했다", "공개적으로", "비교해", "검토결과를").
_CONTINUATION = re.compile(
    r"(?:하|한|할|함|합|했|해|되|된|될|됐|돼|됩|받|시키|시켜|적[으이인]|으로|으며|을|를|의|에|로|와|과|"
    r"은|는|들|만|까지|처럼|도[를가는의]|도$|이[다라며고자나]|가[ ]|세[가를는의]|율|률|권|액|량|자[가는를의]|"
    r"서[는도]?$|시[키켜]|[가-힣](?![가-힣]))"
)
_GLUED_DIGITS = re.compile(r"(?<=[가-힣])(?=\d{1,4}(?:년|월|일|개월|건|명))")
_CAPTION_STOP = re.compile(r"(?<=[가-힣])(?<![다요죠오네자지군나냐까라])\.(?=\s?[가-힣])")
_GLUED_WORD = re.compile(r"[^\s]{3,}")
_NONSPACE = re.compile(r"\S+")
# amounts and ranks, not counters ("1개 비행대대가" is one noun phrase)
_FIGURE = re.compile(r"^\d[\d,.·]*(?:억|만|조|원|%|위|배)$")
# a verb's adnominal or connective form: the text is a clause, not a label
_VERBAL = re.compile(r"(?:던|하는|되는|있는|없는|한|된|해|하고|하며|되며|하면|지만)$")
_DATE_WORDS = _word_set("지난 오는 올해 내년 작년 지난해 이날 오늘 어제 내일 매년 매달")


def _glued_cut(sentence: str) -> int:
    """Where the lead starts inside a word glued to the last sub-headline (0: nowhere);
    see the comment above ``_GLUED_FINAL``.  Constant work per character of a bounded
    window."""
    end = len(sentence)
    window = sentence[:_GLUE_WINDOW]
    quoted = quote_spans(sentence[: _GLUE_WINDOW * 2])
    candidates: list[tuple[int, bool]] = []  # (cut, whether a caption's stop made it)
    figures: list[int] = []
    for word in _GLUED_WORD.finditer(window):
        # the sub-headline's last word, whole, glued to the lead's first: "주목도널드"
        text = word.group()
        opening = len(text) - len(text.lstrip(_WORD_EDGES))
        for k in range(opening + 1, min(len(text) - 1, opening + 6)):
            left = text[opening:k]
            if (
                left in _GLUED_FINAL
                and text[k] in _H_SET
                and not (left in _VERB_FINALS and text[k] in _ENDING_START)
            ):
                candidates.append((word.start() + k, False))
        for k in _label_positions(window, word, opening):
            left = text[opening:k]
            if text[k] in _H_SET and _repeated_by_subject(left, window[word.start() + k :]):
                candidates.append((word.start() + k, False))
        for digits in _GLUED_DIGITS.finditer(text, opening + 1):
            left = text[opening : digits.start()]
            if left.isalpha() and left[-1] not in "년월일시분초" and left not in _DATE_WORDS:
                candidates.append((word.start() + digits.start(), False))
    candidates += [(m.end(), True) for m in _CAPTION_STOP.finditer(window)]
    for space in re.finditer(" ", window):
        before = window[: space.start()].rsplit(" ", 1)[-1]
        if (before.strip(_WORD_EDGES) in _GLUED_FINAL or before[-1:] in "’'”\"") and (
            _DATE_OPENER.match(window, space.end())
        ):
            candidates.append((space.end(), False))
        elif (
            _FIGURE.match(before)
            and _subject_position(window[space.end() :], window=1) == 0
            and not _has_subject(window[: space.start()])
            and not any(_VERBAL.search(w) for w in window[: space.start()].split())
        ):
            # a sub-headline ending on a figure: "… 개인 13억·법인 120억 국민건강보험공단(건보공단)이"
            figures.append(space.end())
    best = max((cut for cut in figures if end - cut >= _MIN_LEAD_CHARS), default=0)
    for cut, stop in sorted(candidates):
        if cut <= best or end - cut < _MIN_GLUED_LEAD_CHARS:
            continue
        prefix = sentence[:cut].rstrip()
        if len(prefix) < 4 or any(o < cut <= c for o, c in quoted) or not _closed(prefix):
            continue
        lead = sentence[cut : cut + _SUBHEAD_WINDOW].lstrip()
        first = lead.split(" ", 1)[0]
        if _DATE_OPENER.match(lead):
            if not _has_subject(prefix):
                best = cut
            continue
        if _CONTINUATION.match(first) or len(_bare_stem(first)) < 2 or _stem(first) in _HEAD_NOUNS:
            continue
        words = prefix.split()
        if len(words) >= 2 and words[-2].endswith("의") and not stop:
            continue
        if sentence[cut - 1] == " ":
            continue  # a space cut is only made before a date word or after a figure
        subject = _subject_position(lead, window=_GLUED_SUBJECT_WINDOW)
        # after a headline mark the text is plainly a block of sub-headlines
        marked = _HEADLINE_MARK.search(prefix) is not None
        if stop or subject >= 0 or marked:
            best = cut
    return best


# Korean case particles, longest first (a subject's 이/가/은/는 and the like); the summary's
# stemmer (bot.summary.extractive) adds endings of its own to these
CASE_PARTICLES = (
    "께서",
    "에서",
    "으로",
    "은",
    "는",
    "이",
    "가",
    "을",
    "를",
    "의",
    "에",
    "와",
    "과",
    "도",
    "로",
)
_WORD_EDGES = "\"'“”‘’()[],.·…"
_SPACES = re.compile(r"[ \t\u00a0\u3000]{2,}")
_STRAY = re.compile(r"^[\s=|ㅣ:·,*#-]+|[\s=|ㅣ:·,*#-]+$")


def has_hangul(text: str) -> bool:
    """True when ``text`` holds any Hangul syllable."""
    return bool(_HANGUL.search(text))


def is_korean(text: str, *, sample: int = 2000) -> bool:
    """True when most letters in the first ``sample`` characters of ``text`` are Hangul."""
    head = text[:sample]
    hangul = latin = 0
    for ch in head:
        if "\uac00" <= ch <= "\ud7a3":
            hangul += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
    # A Hangul syllable carries two or three letters' worth of a Latin word.
    return hangul * 3 > latin


def strip_korean_boilerplate(text: str, *, keep_subheadlines: bool = True, title: str = "") -> str:
    """``text`` without Korean datelines, bylines, e-mails, credits, copyright lines,
    "관련 기사" lists and broadcast promos (see the module docstring).

    Sub-headlines glued before a dateline at the start are put on a line of their own
    when ``keep_subheadlines`` (a matcher wants their words), else dropped (a summary
    must open with the lead).  The article's ``title``, when given, tells more of them:
    a lead restates the title's first words (see ``_title_restated``).  Text without Hangul is returned unchanged; paragraph
    structure is kept and paragraphs left empty disappear.
    """
    if not text or not has_hangul(text):
        return text
    text = unicodedata.normalize("NFC", text)
    text = _NESTED_CREDIT.sub(" ", text)
    dated = _DATELINE.search(text, 0, _LEAD_WINDOW) is not None
    head, text = _split_dateline(text)
    if dated and not keep_subheadlines:
        # past the lead's dateline, a byline signs a photo: its caption goes too
        text = _CREDITED_CAPTION.sub(" ", text)
    tag = _SECTION_TAG.match(text)
    if (
        tag is not None
        and not keep_subheadlines
        and len(text) - tag.end() >= _MIN_LEAD_AFTER_CAPTION
    ):
        text = text[tag.end() :]  # "[K-컬처] 배우 황신혜가 …": the page's section label
    paragraphs: list[str] = [head] if head and keep_subheadlines else []
    lead = True  # the first line with text: a photo caption may open it
    for block in re.split(r"\n\s*\n", text):
        lines: list[str] = []
        for line in block.split("\n"):
            if _RELATED_HEADER.match(line):
                break  # a "관련 기사" list: the rest of the paragraph is its headlines
            if cleaned := _clean_line(line, lead=lead, captions=not keep_subheadlines):
                lines.append(cleaned)
                lead = False
        if lines:
            paragraphs.append("\n".join(lines))
    lead_at = 1 if head and keep_subheadlines else 0
    if not keep_subheadlines:
        paragraphs = _without_leading_subheadlines(paragraphs)
    if len(paragraphs) > lead_at:
        paragraphs[lead_at] = _split_glued_subheadlines(
            paragraphs[lead_at], keep=keep_subheadlines, title=title
        )
    if not keep_subheadlines:
        paragraphs = [_drop_body_subheadlines(p) for p in paragraphs]
    return "\n\n".join(paragraphs)


# -- sub-headlines and captions inside the body -------------------------------------------
#
# Flat text glues a sub-headline between two paragraphs as it glues the first ones to the
# lead: "… 보이고 있다.원·달러 환율, 두달 만에 1420원대 마감29일 금융정보업체 …".  Inside the
# body only the plainest shapes are cut (a summary may pick any sentence, but a cut there
# must not eat a real one):
# * a caption before its photo credit, not ending like a sentence: "… 도모한다. 세곡6단지
#   위치도. [서울시 제공]세곡6단지는 …", "… 셀토스’ (사진=기아)29일 업계에 따르면 …";
# * after a paragraph joint ("다." glued to the next word), a phrase without a subject whose
#   Hangul is glued to the next paragraph's date ("… 1420원대 마감29일 …");
# * after a paragraph joint, a phrase without a subject ending on a headline's verb form
#   before the paragraph's subject ("… 몰래카메라도 반입시켜 이씨는 …");
# * a photographer's byline inside the text and the caption sentence it signs;
# * a section mark and the quoted sub-headline after it ("━ “표현의 자유…” 30일 …").
_BODY_CAPTION = re.compile(
    r"(?<=[.?!])\s?[^.?!\n\[\]()【】<>]{1,119}?[^\s.?!\[\]()【】<>](?<![다요죠까니])\.?\s?"
    r"(?=\[[^\[\]\n]{1,40}제공\s?\]|[\[(]\s?사진\s?[=:ㅣ|][^\[\]()\n]{1,30}[\])])"
)
# a photographer's byline inside the text, then the caption it signs: "… 전망도 나온다.
# [이데일리 홍길동 기자] 29일 서울 중구 하나은행 딜링룸 현황판에 환율 지수 등이 표시되고 있다."
_CREDITED_CAPTION = re.compile(
    rf"(?<=[.?!”’\"'] )[\[【]\s?(?:{_PUB}\s)?{_REPORTER}\s?[\]】]\s?[^.?!\n]{{5,200}}?"
    r"(?:있다|모습이다)\."
)
# a section label that opens the text ("[K-컬처]", "[뉴스분석]"), before the lead
_SECTION_TAG = re.compile(r"\s?\[[^\[\]\n=]{1,12}\]\s?")
_PARAGRAPH_JOINT = re.compile(r"(?<=[다요죠]\.)(?=[\w“\"‘'])")
_BODY_GLUED_DATE = re.compile(r"[^.?!\n]{4,80}?[가-힣](?=\d{1,2}일|(?:19|20)\d\d년)")
# verb forms a sub-headline ends on ("반입시켜", "알게 돼"): not 함께, 듯 (a sentence's own)
_BODY_VERB_FINAL = re.compile(r"(?:시켜|켜|줘|돼|보내|나서|올라|커져|잇따라)$")
_BODY_VERB_WORDS = 10
_SECTION_MARK = re.compile(r"━+\s?(?:[“\"][^”\"\n]{1,80}[”\"]\s?)?")


def _drop_body_subheadlines(paragraph: str) -> str:
    """``paragraph`` without the sub-headlines glued inside it (see the comment above)."""
    paragraph = _SECTION_MARK.sub("", paragraph)
    out: list[str] = []
    at = 0
    for joint in _PARAGRAPH_JOINT.finditer(paragraph):
        if joint.start() < at:
            continue
        cut = _body_cut(paragraph, joint.start())
        if cut:
            out.append(paragraph[at : joint.start()] + " ")
            at = cut
    out.append(paragraph[at:])
    return "".join(out)


def _body_cut(text: str, start: int) -> int:
    """Where the paragraph glued at ``start`` begins after its sub-headline (0: none)."""
    dated = _BODY_GLUED_DATE.match(text, start)
    if dated is not None:
        head = dated.group()
        last = head.rsplit(" ", 1)[-1]
        if (
            " " in head.strip()
            and not _has_subject(head)
            and last not in _DATE_WORDS
            and last[-1] not in "년월일시분초"
        ):
            return dated.end()
    words = text[start : start + _MAX_SUBHEADLINE_CHARS].split(" ")
    for position in range(2, min(_BODY_VERB_WORDS, len(words) - 1)):
        head = " ".join(words[:position])
        if _SENTENCE_END.search(head) or "." in head or not _closed(head):
            return 0
        if _BODY_VERB_FINAL.search(words[position - 1]):
            lead = " ".join(words[position:])
            if not _has_subject(head) and _subject_position(lead, window=1) == 0:
                return start + len(head) + 1
            return 0
    return 0


def _split_glued_subheadlines(paragraph: str, *, keep: bool, title: str = "") -> str:
    """The paragraph with the sub-headlines glued before its first sentence put on a line
    of their own (``keep``) or dropped: short pieces that the splitter cut at an ellipsis
    ('러 포병 관계자 “… 최악”…'), then the headline-shaped start of the first real sentence."""
    line, newline, rest = paragraph.partition("\n")
    sentences = split_sentences(line[: _SUBHEAD_WINDOW * 4])
    skip = 0
    while (
        skip < len(sentences) - 1
        and len(sentences[skip]) <= _MAX_SUBHEADLINE_CHARS
        and not _LEAD_END.search(sentences[skip])
    ):
        skip += 1
    if not sentences or not _LEAD_END.search(sentences[skip]):
        return paragraph
    subheadlines, lead = split_lead_subheadlines(sentences[skip], title=title)
    if not subheadlines and not skip:
        return paragraph
    at = line.find(lead[:40])
    if at < 0:
        return paragraph
    if keep:
        head = " ".join([*sentences[:skip], subheadlines]).strip()
        return head + "\n" + line[at:] + newline + rest
    return line[at:] + newline + rest


def _without_leading_subheadlines(paragraphs: list[str]) -> list[str]:
    """Drop the short lines that open the text without ending like a sentence, when a
    line that does end like one follows: a page's sub-headlines on lines of their own."""
    lines = [(i, line) for i, p in enumerate(paragraphs) for line in p.split("\n")]
    cut = 0
    for _, line in lines[:_MAX_SUBHEADLINES]:
        if len(line) > _MAX_SUBHEADLINE_CHARS or _SENTENCE_END.search(line):
            break
        cut += 1
    if cut == 0 or cut == len(lines):
        return paragraphs
    kept: dict[int, list[str]] = {}
    for i, line in lines[cut:]:
        kept.setdefault(i, []).append(line)
    return ["\n".join(group) for _, group in sorted(kept.items())]


def split_lead_subheadlines(sentence: str, *, title: str = "") -> tuple[str, str]:
    """(sub-headlines, lead) of the first sentence of a flat Korean text, where the page's
    sub-headlines are glued to the lead; ``("", sentence)`` when nothing before the lead
    has a headline's shape (see the comments above ``_HEADLINE_MARK`` and ``_GLUED_FINAL``).
    Linear: a bounded window at the start, each cut tested in constant work per word, and
    at most ``_MAX_PASSES`` passes."""
    heads: list[str] = []
    lead = sentence
    glued = _glued_cut(lead)
    if glued:
        heads.append(lead[:glued].strip())
        lead = lead[glued:].strip()
    for passes in range(_MAX_PASSES):
        head, rest = _split_shaped(lead, reach=3 + passes)
        if not head:
            break
        if passes and (len(head.split()) > _MAX_SECOND_HEAD_WORDS or _DATE_OPENER.search(head)):
            break  # a second cut takes off only a short label: "우크라식 DMZ가 변수"
        heads.append(head)
        lead = rest
    restated = _title_restated(lead, title) if title else 0
    if restated:
        heads.append(lead[:restated].strip())
        lead = lead[restated:].strip()
    if not heads:
        return "", sentence
    return " ".join(heads), lead


def _title_restated(sentence: str, title: str) -> int:
    """Where the lead starts in ``sentence`` when it restates the title's first two words
    after a run of sub-headlines (0: nowhere): "… 장교 출신 사촌동생 통해 현역 장교 포섭 북한
    공작원으로부터 비트코인을 받은 뒤 …" under the title "北 공작원으로부터 비트코인 받고 …"
    (ko-49, whose lead's subject comes 16 words in, too far for the rules by shape).  What
    comes before must read as sub-headlines: no subject, no date, no open quote, at most
    ``_MAX_SUBHEADLINE_CHARS``, and ending on a headline's final word ("포섭", "돼").  A
    bounded window and constant work per word."""
    wanted = [_title_word(w) for w in _TITLE_WORD.findall(_TITLE_TAG.sub("", title))[:2]]
    if len(wanted) < 2 or sum(len(w) for w in wanted) < 5:
        return 0
    spaces = [m.start() for m in re.finditer(" ", sentence[: _MAX_SUBHEADLINE_CHARS + 1])]
    words = sentence[: _MAX_SUBHEADLINE_CHARS + 1].split(" ")
    for position in range(2, len(words) - 2):
        if not all(_stem(words[position + i]) == wanted[i] for i in range(2)):
            continue
        cut = spaces[position - 1] + 1
        prefix = sentence[:cut].rstrip()
        last = prefix.rsplit(" ", 1)[-1].strip(_WORD_EDGES)
        if (
            last in _GLUED_FINAL
            and not _has_subject(prefix)
            and not _DATE_OPENER.search(prefix)
            and _closed(prefix)
            and not any(_SENTENCE_END.search(w) for w in prefix.split())
            and len(sentence) - cut >= _MIN_LEAD_CHARS
        ):
            return cut
        return 0  # the first place the title comes back decides
    return 0


# A title's tag ("[단독]", "[카드뉴스]") and its words (a quote or "…" between them).
_TITLE_TAG = re.compile(r"^\s?(?:[\[【<][^\]】>]{1,12}[\]】>]\s?)+")
_TITLE_WORD = re.compile(r"[^\s…⋯.,·'\"‘’“”()\[\]<>]+")
# The one-character Hanja a headline writes for a country or an institution, and the word
# its lead writes instead: "北" for 북한, "美" for 미국.
_HANJA_SHORT = {
    "北": "북한",
    "美": "미국",
    "中": "중국",
    "日": "일본",
    "韓": "한국",
    "英": "영국",
    "佛": "프랑스",
    "獨": "독일",
    "露": "러시아",
    "臺": "대만",
    "軍": "군",
    "與": "여당",
    "野": "야당",
    "檢": "검찰",
    "警": "경찰",
}


def _title_word(word: str) -> str:
    return _HANJA_SHORT.get(word, _stem(word))


_HANJA_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")  # a Hanja word


def spell_out_hanja(title: str) -> str:
    """A headline's Hanja short forms written out as the words a lead uses: "北, 동해상으로"
    becomes "북한, 동해상으로", "韓美 정상" "한국·미국 정상".  Only a run of Hanja made of short
    forms alone is written out; another Hanja word (北京) is left as it is, and 北韓 is 북한."""

    def spelled(match: re.Match[str]) -> str:
        run = match.group(0)
        if run == "北韓":  # North Korea in one word, as Taiwan's press writes it
            return "북한"
        if all(ch in _HANJA_SHORT for ch in run):
            return "·".join(_HANJA_SHORT[ch] for ch in run)
        return run

    return _HANJA_RUN.sub(spelled, title)


def _split_shaped(sentence: str, *, reach: int = 3) -> tuple[str, str]:
    """One cut of ``split_lead_subheadlines`` at a space or after a headline mark."""
    header = _COLUMN_HEADER.match(sentence)
    if header is not None:
        return sentence[: header.end()].strip(), sentence[header.end() :].strip()
    head = sentence[:_SUBHEAD_WINDOW]
    quoted = quote_spans(sentence[: _SUBHEAD_WINDOW * 3])  # a quote closes within 400

    def closed(cut: int) -> bool:
        return not any(opened < cut <= closing for opened, closing in quoted) and _closed(
            sentence[:cut]
        )

    start = 0  # after the last headline mark outside a quote
    for mark in _HEADLINE_MARK.finditer(head):
        if closed(mark.end()):
            start = mark.end()
        elif sentence[mark.start()] in '"“' and closed(mark.start()):
            start = mark.start()  # a quote glued to the phrase before it opens the lead
    cuts = [(start, start)] if start else []
    cuts += [(m.start(), m.end()) for m in re.finditer(" ", head) if m.start() > start]
    best: tuple[int, int, int] | None = None  # (subject position, cut start, cut end)
    for cut, after in cuts:
        prefix, lead = sentence[:cut].rstrip(), sentence[after : after + _SUBHEAD_WINDOW].lstrip()
        one_word = prefix in _HEADLINE_FINAL and len(prefix) >= 2  # "반발 국민의힘은 …"
        short = len(prefix) < 4 and not one_word
        if short or len(sentence) - after < _MIN_LEAD_CHARS or not closed(cut):
            continue
        if cut == after and lead[0] in _CONTINUING:
            continue
        subject = _subject_position(lead, window=_BARE_REACH + 1)
        if _SAID_IN_QUOTES.search(prefix) or not _cut_fits(
            sentence, start, cut, after, subject, reach=reach
        ):
            continue
        rank = subject if subject >= 0 else _SUBJECT_WINDOW
        repeated = (
            cut > start and subject >= 0 and _repeats_label(sentence[start:cut], lead, subject)
        )
        if repeated or best is None or rank < best[0]:
            best = (rank, cut, after)
        if repeated:
            break
    if best is None:
        return "", sentence
    return sentence[: best[1]].strip(), sentence[best[2] :].strip()


def _cut_fits(
    sentence: str, start: int, cut: int, after: int, subject: int, *, reach: int = 3
) -> bool:
    """The text before ``cut`` ends like a sub-headline and the lead after it starts well
    (its subject within ``reach`` words after a headline's final word)."""
    if cut == start:
        # right after a headline mark: the lead's subject comes first, or a quote closed
        # glued to it ('“… 추락”뉴진스에 이어 …')
        return subject == 0 or bool(_GLUED_QUOTE.match(sentence, cut - 1))
    if subject < 0:
        return False
    prefix = sentence[:cut].rstrip()
    if _QUOTED_END.search(prefix):
        return subject <= 3  # '…“28일 오전 8시께 발사” 북한은 28일 …'
    words = sentence[start:cut].split()
    last = words[-1].rstrip(",")
    if not _bare(last):
        return False
    lead = sentence[after : after + _SUBHEAD_WINDOW].split()
    if (
        len(words) >= 2
        and all(_bare(w) for w in words)
        and _repeats_label(sentence[start:cut], " ".join(lead), subject)
    ):
        return True
    # a sub-headline without a subject of its own may be followed by a longer one's start
    if not _has_subject(sentence[:cut]):
        reach += 1
        if len(words) >= 3 and not any(_VERBAL.search(w) for w in sentence[:cut].split()):
            reach = _BARE_REACH  # a bare noun phrase, plainly a sub-headline
    return (
        last in _HEADLINE_FINAL
        and subject <= reach
        and _stem(lead[0]) not in _HEAD_NOUNS
        and not (len(words) >= 2 and words[-2].endswith("의"))
        and (len(words) >= 2 or start > 0 or subject == 0)
    )


def _repeats_label(label: str, lead: str, subject: int) -> bool:
    """The lead's subject repeats the label before it: '정상혁 신한은행장 신년사 정상혁
    신한은행장이 …', '도널드 트럼프 미국 대통령 트럼프 미국 대통령이 …' (a photo label)."""
    words = label.split()
    if len(words) < 2 or not all(_bare(w) for w in words):
        return False
    stems = {_stem(w) for w in words}
    return all(_stem(w) in stems for w in lead[:_SUBHEAD_WINDOW].split()[: subject + 1])


def _subject_position(lead: str, *, window: int = _SUBJECT_WINDOW) -> int:
    """Which of the first words of ``lead`` carries 은/는/이/가 (-1: none)."""
    for position, word in enumerate(lead[:_SUBHEAD_WINDOW].split()[:window]):
        word = word.rstrip(",").lstrip("\"“‘'")
        if _SUBJECT_WORD.match(word) and not _NOT_SUBJECT.search(word):
            return position
    return -1


def strip_particle(word: str, particles: tuple[str, ...] = CASE_PARTICLES, *, keep: int = 2) -> str:
    """``word`` without the first of ``particles`` (longest first) it ends with, when at
    least ``keep`` characters are left."""
    for particle in particles:
        if word.endswith(particle) and len(word) - len(particle) >= keep:
            return word[: -len(particle)]
    return word


def _stem(word: str) -> str:
    return strip_particle(word.strip(_WORD_EDGES))


def _repeated_by_subject(label: str, lead: str) -> bool:
    """The lead's subject repeats ``label`` glued before it: "… 경제 5단체장최태원 대한상공회의소
    회장을 비롯한 경제 5단체장들이 …"."""
    if len(label) < 3 or label[-1] not in _H_SET:
        return False
    subject = _subject_position(lead, window=_GLUED_SUBJECT_WINDOW)
    if subject <= 0:
        return False
    word = lead[:_SUBHEAD_WINDOW].split()[subject].strip(_WORD_EDGES)
    return _bare_stem(word) == label or _bare_stem(word).rstrip("들") == label


def _label_positions(window: str, word: re.Match[str], opening: int) -> list[int]:
    """The cuts ``k`` inside ``word`` (a glued word of ``window``, its text from ``opening``)
    where ``_repeated_by_subject(text[opening:k], window[word.start() + k :])`` can hold,
    in increasing order: the same answers as trying every ``k`` in ``opening + 2 ..
    len(text) - 2``, with constant work per word instead of a 260-character split per
    character.

    The label must equal the stem of the lead's subject, one of the words after ``word``
    (the first, the rest of ``word`` itself, must not be the subject).  When those words
    lie within the lead's window whatever ``k`` is, the subject is the same word for every
    ``k`` and only the one or two ``k`` where the label spells its stem can hold.  Else
    (words so long that the window cuts one of them, which no real text has) every ``k``
    up to the longest stem a subject word can have is tried."""
    text = word.group()
    first, last = opening + 2, len(text) - 2
    if first > last:
        return []
    following = list(islice(_NONSPACE.finditer(window, word.end()), _GLUED_SUBJECT_WINDOW - 1))
    # the lead's window is shortest at the first k
    window_end = word.start() + first + _SUBHEAD_WINDOW
    subject = -1
    for position, match in enumerate(following):
        if match.end() > window_end:
            # a word the window may cut: try every k a subject's stem can reach
            return list(range(first, min(last, opening + _MAX_SUBJECT_CHARS) + 1))
        if _subject_position(match.group(), window=1) == 0:
            subject = position
            break
    if subject < 0:
        return []
    stem = _bare_stem(following[subject].group().strip(_WORD_EDGES))
    labels = {stem, stem.rstrip("들")}
    return sorted(
        opening + len(label)
        for label in labels
        if first <= opening + len(label) <= last and text.startswith(label, opening)
    )


def _has_subject(text: str) -> bool:
    """Whether a word of ``text`` carries a subject's 은/는/이/가 ("개선에는" does not)."""
    for word in text.split():
        word = word.strip(_WORD_EDGES)
        if (
            _SUBJECT_WORD.match(word)
            and not _NOT_SUBJECT.search(word)
            and not word.endswith(("에는", "에서는", "로는", "과는", "와는", "에선"))
        ):
            return True
    return False


def _bare_stem(word: str) -> str:
    """``word`` without its particle, however short what is left ("성을": "성")."""
    return strip_particle(word.strip(_WORD_EDGES), keep=1)


def _bare(word: str) -> bool:
    """No particle on ``word``: a headline's noun."""
    return _stem(word) == word.strip(_WORD_EDGES)


def _closed(text: str) -> bool:
    """Every single quote and parenthesis opened in ``text`` is closed in it."""
    return (
        text.count("‘") <= text.count("’")
        and text.count("'") % 2 == 0
        and text.count("(") == text.count(")")
    )


def _clean_line(line: str, *, lead: bool, captions: bool = False) -> str:
    line = line.strip()
    if not line:
        return ""
    if lead:
        line = _drop_opening_caption(line)
    line = _DATELINE.sub(" ", line)
    line = _TAIL.sub("", line)
    if captions:
        line = _BODY_CAPTION.sub(" ", line)
    for fragment in _FRAGMENTS:
        line = fragment.sub(" ", line)
    line = _tidy(_STAMP.sub("", _tidy(line)))
    return "" if _only_punctuation(line) else line


def _split_dateline(text: str) -> tuple[str, str]:
    """(sub-headlines, the rest): the text before a dateline near the start is the
    page's sub-headlines or a photo caption, whether glued to the lead or on lines of
    their own; they come back as one line each (cleaned), the dateline itself goes."""
    match = _DATELINE.search(text, 0, _LEAD_WINDOW)
    if match is None:
        # A photo credit after the opening caption: "… 관람하고 있다. [사진=뉴시스] <the lead>"
        # (but a photo item whose only text is its caption keeps it).
        match = _PHOTO_MARK.search(text, 0, _LEAD_WINDOW)
        if match is None or len(text) - match.end() < _MIN_LEAD_AFTER_CAPTION:
            return "", text
    head, rest = text[: match.start()], text[match.end() :]
    # A quoted sub-headline right after the byline: '[… 기자] "…의혹, 강력한 수사 필요" 장동혁 …'
    quoted = _QUOTED_SUBHEAD.match(rest)
    if quoted is not None:
        head, rest = head + "\n" + quoted.group(1), rest[quoted.end() :]
    head_lines = [_clean_line(line, lead=False) for line in head.split("\n")]
    return "\n".join(line for line in head_lines if line), rest


def _drop_opening_caption(line: str) -> str:
    marked = _CAPTION_MARK.match(line)
    if marked is None:
        return line
    rest = line[marked.end() :]
    caption = _CAPTION_SENTENCE.match(rest)
    if caption is not None and len(rest) > caption.end() + 20:
        return rest[caption.end() :]
    return rest


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text)
    return _STRAY.sub("", text).strip()


def _only_punctuation(text: str) -> bool:
    return not any(ch.isalnum() for ch in text)
