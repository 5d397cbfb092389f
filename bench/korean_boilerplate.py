"""Korean summaries: boilerplate left in them, and lost first sentences.

On the ``ko-`` items of ../shared/data/topics/korea-diplomacy-train.jsonl (Naver News
and newspapers' posts), every summary ``newsalert summarize`` makes is searched for
the patterns of issue 18: datelines and bylines, reporter e-mails, photo and source
credits, copyright and redistribution lines, "관련 기사" lists, broadcast promos and
cues, caption date stamps.  The detectors here are deliberately broader than the
cleaning rules in ``bot/boilerplate_ko.py`` (written apart from them), so that a
rule that misses a variant shows up as a hit.

A summary "starts with a sub-headline" when the text before its first Korean sentence
end shows a headline's or a caption's shape (written apart from ``split_lead_subheadlines``,
checked against a hand-read list of the 300 items): an ellipsis or a closing quote followed
by more text ("… 최악”… 전장서 …", "“… 추락”뉴진스에 …"), a year glued to a word ("알게
돼2018년에는"), a label said twice ("도널드 트럼프 미국 대통령 도널드 트럼프 미국 대통령이"),
the headline itself repeated before the lead, a headline's final word glued to the lead's
first ("… 발표 주목도널드 트럼프 …", "충돌미국에서"), a one-word sub-headline ("반발
국민의힘은"), a caption's full stop after a bare noun ("… 대통령. 재러드 …"), a photographer
glued to the lead ("… 쌓여 있다. 홍길동 기자29일 …"), a stock caption ("기사 이해를 돕기
위한 AI 이미지"), a quoted label before a dated lead ("'막전 막후' 3일(현지시간) …"), or a
run of bare words ending on a headline's noun before a quote.

A summary "lost its first sentence" when the article's first real sentence (the text
after any dateline, up to the first Korean sentence end; its last 12 characters) does not
appear in it.

    .venv/bin/python bench/korean_boilerplate.py                    # after (this checkout)
    git archive 1f2499e bot | tar -x -C /tmp/before   # the code before issue 18 (or any commit)
    .venv/bin/python bench/korean_boilerplate.py --before /tmp/before   # before and after
    .venv/bin/python bench/korean_boilerplate.py --sample 20        # the hand-check list
    .venv/bin/python bench/korean_boilerplate.py --budget           # the Korean budget share
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import SHARED  # noqa: E402
from bot.records import Article  # noqa: E402
from bot.summary.extractive import DEFAULT_MAX_CHARS, summarize  # noqa: E402
from bot.summary.sentences import split_sentences  # noqa: E402

DATA = SHARED / "data" / "topics" / "korea-diplomacy-train.jsonl"
FRANK = SHARED / "data" / "summarization" / "frank" / "frank_articles_references.jsonl"

_AGENCY = r"(?:연합뉴스|뉴시스|뉴스1|[가-힣A-Za-z]{2,10}(?:일보|경제|뉴스|신문|TV|데일리))"
# Format tags of a title that end on 뉴스 like a newsroom's name (a programme's tag, "[정오뉴스]",
# is a broadcast cue the cleaning removes: it stays a hit)
_TAGS = r"(?:카드|포토)뉴스"
PATTERNS = {
    "dateline/byline": re.compile(
        r"[(\[【][^()\[\]【】]{0,25}=\s?-?[^\d()\[\]【】][^()\[\]【】]{0,24}[)\]】]"
        r"|(?:기자|특파원|통신원)\s?=|(?:기자|특파원|통신원)\s?[\]】]"
        # "[파이낸셜뉴스]", "[서울경제]"; not a title's format tag ("[카드뉴스]" in ko-734's
        # title, the whole of its summary): no newsroom signs it
        rf"|[\[【]\s?(?!{_TAGS}\s?[\]】]){_AGENCY}\s?[\]】]"
    ),
    "e-mail": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z.]+"),
    "photo/source credit": re.compile(
        r"제공\s?[\])】]|사진\s?[=|ㅣ]|캡처\s?[\])】]|화면\s?[\])】]|/\s?(?:연합뉴스|뉴시스|뉴스1)"
        r"|(?:AFP|AP|EPA|로이터|조선중앙통신)\s?연합뉴스|[ⓒ©]"
    ),
    # 재배포/재판매 as a verb is the story's own word ("표를 확보해 재판매한 암표상", ko-527),
    # not a redistribution line
    "copyright": re.compile(
        r"저작권|무단\s?전재|재배포(?!하|한|할|했|해|된|되)|재판매(?!하|한|할|했|해|된|되)|DB\s?금지"
        r"|For Use Only|Redistribution|All rights reserved"
    ),
    "related articles": re.compile(r"관련\s?기사"),
    "broadcast promo/cue": re.compile(
        r"제보하기|당신의 제보|채널 추가|[\[<【◀]\s?(?:앵커|리포트)|앵커멘트|자세한 뉴스|기자가 보도합니다"
    ),
    "caption date stamp": re.compile(r"20\d\d\.\s?\d{1,2}\.\s?\d{1,2}"),
}
# The first real sentence: after a dateline ("… 기자 =", "(서울=연합뉴스)", "[파이낸셜뉴스]"),
# up to the first Korean full stop.
_LEAD_START = re.compile(
    r"^.{0,300}?(?:(?:기자|특파원|통신원)\s?=|[(\[【][^()\[\]【】]{1,25}=[^()\[\]【】]{1,25}[)\]】]"
    r"|(?:기자|특파원)\s?[\]】])\s?"
)
_FIRST_END = re.compile(r"(?:다|요|죠)\.")
# The shapes of a sub-headline before the lead (see the module docstring).
_SUBHEAD_SHAPES = (
    re.compile(r"^[^.!?]{2,200}?(?:…|⋯)\s?[가-힣“\"‘']"),
    re.compile(
        r"^[^.!?]{4,200}?[가-힣0-9%]”(?:\s|[가-힣](?<![라고며는은이가을를의에와과도로면서]))"
    ),
    re.compile(r"^[^.!?]{0,200}?[가-힣](?:19|20)\d\d년"),
    re.compile(r"^(\S+ \S+(?: \S+){0,2}) \1"),
    # a caption's full stop after a bare noun: "도널드 트럼프 미국 대통령. 재러드 …",
    # "… 회원전에 출품된 작품.전통채색화 …"
    re.compile(r"^[^.!?()]{2,120}?[가-힣](?<![다요죠까니라자지])\.\s?[가-힣]"),
    # a photographer's credit or a stock caption: "문호남 기자29일", "AI 이미지함께"
    re.compile(r"^[^.!?]{0,200}?(?:[가-힣]{2,4} ?기자\d|이해를\s?돕기\s?위한)"),
    # the last sub-headline's final word glued to the lead's first word: "주목도널드 트럼프
    # 미국 대통령은", "호의적일본 국민들이", "충돌미국에서", "출시파리바게뜨는", "달성올해"
    re.compile(
        r"^[^.!?]{0,300}?(?:^|[\s…⋯,”’'\"])(?:주목|출시|충돌|공개|달성|호의적|함께|종용|관여|발견|"
        r"검토|비교|분석|대체|전환|확대|참여|소개|참석|포섭|우려도|강조|촉구|비판|반발|논란|합의|돌파|"
        r"가능성|필요|예고|발표|줘|돼)"
        r"(?![하했한할해되된됐될됩받적을를의에으은는이가과와로성세자률율액량권측안사제금시장차면며고서회])"
        r"(?!도[\s를가는의이])"
        r"[가-힣]{2,}"
    ),
    # a one-word sub-headline before the lead's subject: "반발 국민의힘은 29일 …"
    re.compile(
        r"^(?:반발|주목|논란|우려|비판|강조|촉구|공개|발표|전망|경고) [가-힣()]{2,20}[은는이가] "
    ),
    # a run of six or more bare words (no particle, no verb ending) ending on a headline's
    # final noun before a quote: "내년 또 ‘특검 3개’ 가동 가능성 ‘서해 …"
    re.compile(
        r"^(?:[^\s.!?]*[^\s.!?은는이가을를의에도로서고며면다요한된던해]\s){5,}?"
        r"(?:가능성|변수|방점|포섭|참석|논란|우려)\s[‘'“\"]"
    ),
    # a sub-headline's final verb form or noun with the next phrase after it: "… 현역 장교 포섭
    # 북한 공작원으로부터 …", "… 실현하는데 방점 글로벌 …"
    re.compile(r"^[^.!?]{4,200}?\s(?:포섭|방점|가팔라|잇따라|변수)\s"),
    # a quoted label before a dated lead: "… 체포 작전 '막전 막후' 3일(현지시간) 새벽 2시, …"
    re.compile(r"^[^.!?]{4,120}?[’']\s\d{1,2}일\("),
    # a caption ending on what the picture is: "… 바퀴 모양 우주정거장 상상도 스탠리 …"
    re.compile(r"^[^.!?]{2,150}?\s(?:상상도|조감도|위치도)\s"),
    # a sub-headline ending on a figure before the lead's subject: "… 법인 120억 국민건강보험공단이"
    re.compile(
        r"^[^.!?]{4,120}?,[^.!?]{0,60}\s\d[\d,.·]*(?:억|만|조|원|%|위)\s[^\s]{3,30}[이가은는]\s"
    ),
)


# a caption sentence, then its photographer glued to the lead: "… 쌓여 있다. 문호남 기자29일"
_CAPTION_THEN_CREDIT = re.compile(r"^[^.!?]{10,200}?있다\.\s[가-힣]{2,4} ?기자\S")


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if r["id"].startswith("ko-")]


def article(row: dict) -> Article:
    return Article(id=row["id"], title=row["title"], content=row.get("text") or "")


def summaries_here(rows: list[dict], max_chars: int) -> dict[str, str]:
    return {r["id"]: summarize(article(r), max_chars=max_chars).text for r in rows}


def summaries_from(src: Path, rows: list[dict], max_chars: int) -> dict[str, str]:
    """Summaries made by the code in ``src`` (e.g. ``git archive main bot``)."""
    script = (
        "import json,sys\n"
        "from bot.records import Article\n"
        "try:\n    from bot.summarize import summarize\n"
        "except ImportError:\n    from bot.summary.extractive import summarize\n"
        "for line in sys.stdin:\n"
        "    r=json.loads(line)\n"
        "    a=Article(id=r['id'],title=r['title'],content=r.get('text') or '')\n"
        f"    print(json.dumps({{'id':r['id'],'s':summarize(a,max_chars={max_chars}).text}}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", script],
        input="".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
        capture_output=True,
        text=True,
        env=env,
        cwd=src,
    )
    if out.returncode:
        raise SystemExit(f"the code in {src} failed:\n{out.stderr}")
    return {d["id"]: d["s"] for d in map(json.loads, out.stdout.splitlines())}


def hits(text: str) -> list[str]:
    return [name for name, pattern in PATTERNS.items() if pattern.search(text)]


def first_sentence_key(text: str) -> str:
    """The last 12 characters before the first sentence end of the lead ("" when none):
    short enough that the sub-headlines glued before a short lead ("… 가능성” 대출금리가
    다시 고개를 들었다.") are not in it."""
    lead = _LEAD_START.sub("", text, count=1)
    end = _FIRST_END.search(lead)
    if end is None:
        return ""
    return lead[max(0, end.start() - 12) : end.start()].strip()


def starts_with_subheadline(summary: str, title: str) -> bool:
    """The summary opens with a sub-headline (see the module docstring); a summary that is
    only the headline (an item without a body) does not count."""
    said, headline = (unicodedata.normalize("NFKC", t).strip() for t in (summary, title))
    if len(said) < len(headline) + 10 and (said in headline or headline in said):
        return False
    end = _FIRST_END.search(summary)
    first = summary[: end.end()] if end else summary
    if any(shape.search(first) for shape in _SUBHEAD_SHAPES):
        return True
    if _CAPTION_THEN_CREDIT.search(summary):
        return True
    headline = re.sub(r"^\[[^\]]{1,12}\]\s?", "", title).strip()
    return len(headline) >= 12 and first.startswith(headline) and len(first) > len(headline) + 20


def report(name: str, rows: list[dict], summaries: dict[str, str]) -> None:
    with_text = [r for r in rows if r.get("text")]
    flagged = {r["id"]: hits(summaries[r["id"]]) for r in rows}
    carrying = [i for i, h in flagged.items() if h]
    by_kind: dict[str, int] = {}
    for h in flagged.values():
        for kind in h:
            by_kind[kind] = by_kind.get(kind, 0) + 1
    lost = [
        r["id"]
        for r in with_text
        if (key := first_sentence_key(r["text"])) and key not in summaries[r["id"]]
    ]
    checked = sum(1 for r in with_text if first_sentence_key(r["text"]))
    chars = [len(summaries[r["id"]]) for r in with_text]
    subheaded = [
        r["id"] for r in with_text if starts_with_subheadline(summaries[r["id"]], r["title"])
    ]
    print(
        f"{name}: {len(carrying)} of {len(rows)} summaries carry a pattern "
        f"({len([i for i in carrying if i in {r['id'] for r in with_text}])} of the "
        f"{len(with_text)} with text); first sentence missing in {len(lost)} of {checked}; "
        f"median {statistics.median(chars):.0f} chars"
    )
    for kind, count in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"    {kind}: {count}")
    if carrying:
        print("    e.g. " + ", ".join(carrying[:12]))
    if lost:
        print("    first sentence missing: " + ", ".join(lost[:20]))
    print(f"    starts with a sub-headline: {len(subheaded)} of {len(with_text)}")
    if subheaded:
        print("        " + ", ".join(subheaded[:30]))


def sample(rows: list[dict], summaries: dict[str, str], n: int, seed: int) -> None:
    pool = [r for r in rows if r.get("text")]
    for r in random.Random(seed).sample(pool, n):
        print(f"== {r['id']} {r['title']}")
        print(f"   text:    {r['text'][:160]}")
        print(f"   summary: {summaries[r['id']][:160]}")


def budget(rows: list[dict]) -> None:
    """The Korean share of an English budget, measured two ways."""
    from babel.messages.pofile import read_po

    ko_sentences = [
        len(s)
        for r in rows
        if r.get("text")
        for s in split_sentences(r["text"])
        if s.endswith(("다.", "요.", "죠.")) and len(s) >= 25
    ]
    en_sentences: list[int] = []
    if FRANK.exists():
        with FRANK.open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                if row.get("hash", "").startswith("xsum") or "article" not in row:
                    continue
                en_sentences += [len(s) for s in split_sentences(row["article"]) if len(s) >= 25]
    ko_med = statistics.median(ko_sentences)
    print(f"Korean news sentences: median {ko_med:.0f} chars over {len(ko_sentences)}")
    if en_sentences:
        en_med = statistics.median(en_sentences)
        print(f"English news sentences (CNN/DailyMail): median {en_med:.0f} chars over "
              f"{len(en_sentences)}; Korean/English {ko_med / en_med:.2f}")  # fmt: skip
    po = ROOT / "bot" / "locale" / "ko" / "LC_MESSAGES" / "newsalert.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    strip = re.compile(r"<[^>]+>|\{\w+\}|&\w+;")
    pairs = [
        (len(strip.sub("", str(m.id))), len(strip.sub("", str(m.string))))
        for m in catalog
        if m.id and m.string and isinstance(m.id, str) and len(m.id) >= 30
    ]
    en = sum(p[0] for p in pairs)
    ko = sum(p[1] for p in pairs)
    print(f"the bot's own catalog: {len(pairs)} messages, Korean/English characters {ko / en:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS)
    parser.add_argument("--before", type=Path, help="a source tree of the code before")
    parser.add_argument("--sample", type=int, default=0, help="print N items to check by hand")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--budget", action="store_true", help="measure the Korean budget share")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"no data at {args.data}: ../shared/data is not beside this checkout")
        return 0
    rows = load(args.data)
    if args.budget:
        budget(rows)
        return 0
    after = summaries_here(rows, args.max_chars)
    if args.before:
        report("before", rows, summaries_from(args.before.resolve(), rows, args.max_chars))
    report("after", rows, after)
    if args.sample:
        sample(rows, after, args.sample, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
