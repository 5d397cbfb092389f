"""Korean publisher boilerplate, removed before summarising and before matching.

The English rules live in :mod:`bot.summary.boilerplate`; these are their Korean counterpart,
kept apart so that each set stays readable and is tested with its own real examples
(``tests/test_boilerplate_ko.py``, from Naver News and the agencies' own pages):

* datelines with bylines: ``(서울=연합뉴스) 홍길동 기자 =``, ``[서울=뉴시스]홍길동 기자 =``,
  ``(워싱턴=뉴스1) 홍길동 특파원 =``, ``[데일리안 = 홍길동 기자]``, ``【파이낸셜뉴스 울산=홍길동
  기자】``, ``[파이낸셜뉴스]``; whatever precedes a dateline at the start of the text is
  the page's sub-headlines (or a photo caption) glued to the lead: it is put on a line of
  its own (``keep_subheadlines=True``, for matching) or dropped (for a summary);
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

__all__ = ["has_hangul", "is_korean", "strip_korean_boilerplate"]

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
_FRAGMENTS = tuple(
    re.compile(p)
    for p in (
        # "[이 기사에 나온 스타트업에 대한 보다 다양한 기업정보는 …]"
        r"\[이 기사[^\[\]\n]{0,200}\]",
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
_PHOTO_MARK = re.compile(r"[\[(]\s?사진\s?[=:|ㅣ]\s?[^\[\]()\n]{1,20}[\])]")
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
_CAPTION_SENTENCE = re.compile(r"^[^.\n]{5,200}?(?:고 있다|모습|모습이다)\.\s")
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


def strip_korean_boilerplate(text: str, *, keep_subheadlines: bool = True) -> str:
    """``text`` without Korean datelines, bylines, e-mails, credits, copyright lines,
    "관련 기사" lists and broadcast promos (see the module docstring).

    Sub-headlines glued before a dateline at the start are put on a line of their own
    when ``keep_subheadlines`` (a matcher wants their words), else dropped (a summary
    must open with the lead).  Text without Hangul is returned unchanged; paragraph
    structure is kept and paragraphs left empty disappear.
    """
    if not text or not has_hangul(text):
        return text
    text = unicodedata.normalize("NFC", text)
    text = _NESTED_CREDIT.sub(" ", text)
    head, text = _split_dateline(text)
    paragraphs: list[str] = [head] if head and keep_subheadlines else []
    lead = True  # the first line with text: a photo caption may open it
    for block in re.split(r"\n\s*\n", text):
        lines: list[str] = []
        for line in block.split("\n"):
            if _RELATED_HEADER.match(line):
                break  # a "관련 기사" list: the rest of the paragraph is its headlines
            if cleaned := _clean_line(line, lead=lead):
                lines.append(cleaned)
                lead = False
        if lines:
            paragraphs.append("\n".join(lines))
    if not keep_subheadlines:
        paragraphs = _without_leading_subheadlines(paragraphs)
    return "\n\n".join(paragraphs)


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


def _clean_line(line: str, *, lead: bool) -> str:
    line = line.strip()
    if not line:
        return ""
    if lead:
        line = _drop_opening_caption(line)
    line = _DATELINE.sub(" ", line)
    line = _TAIL.sub("", line)
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
