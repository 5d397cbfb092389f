"""The fast tokeniser gives exactly the tokens of the one it replaced.

``tokenize`` now splits most text as it is written and looks each word's canonical form
up in a dict, instead of folding the whole text first.  The shipped topic model and
every query depend on the canonical tokens, so they must not move: the reference
below is the previous implementation, frozen, and both are compared on built-in edge
cases, random text over a mixed alphabet, and (when ../shared is there) the news
articles, titles and the labelled Korean items of the shared data.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching import normalize as nz
from tests.helpers import SHARED


def _reference_raw_tokens(text: str) -> list[str]:
    folded = nz.fold(text)
    if folded.isascii():
        spaced = folded.translate(nz._ASCII_SEPARATORS)
        if "'" in spaced:
            spaced = f" {spaced} "
            while " '" in spaced or "' " in spaced:
                spaced = spaced.replace(" '", " ").replace("' ", " ")
        return spaced.split()
    return nz._TOKEN.findall(folded)


def reference_tokenize(text: str) -> list[str]:
    return [nz._normalize_uncached(r) for r in _reference_raw_tokens(text)]


def reference_with_variants(text: str) -> tuple[list[str], list[tuple[int, str]]]:
    tokens = reference_tokenize(text)
    extra: list[tuple[int, str]] = []
    if text.isascii() or nz._HANGUL.search(text) is None:
        return tokens, extra
    for i, token in enumerate(tokens):
        if not token.isascii() and nz.is_hangul(token):
            extra.extend((i, v) for v in nz.korean_variants(token))
    return tokens, extra


EDGE_CASES = [
    "",
    " ",
    "'",
    "''",
    "' '",
    "'s 's' ''s'' s' it's' 'tis 'n' rock'n'roll",
    "'quoted' words and talks' end, Korea's o'brien rock'n'roll ''double'' 'x",
    "Don't STOP: U.S. talks' ALLIES, crises, women & children; 'Programmes' DEFENCE",
    "O`Brien said `maybe` (ascii backtick)",
    "O\u2019Brien\u2019s \u2018quote\u2019 \u201cdouble\u201d \u2014 dash\u2013en \u2026 "
    "\u00a0nbsp \u00a3100 \u20ac5 \u02bcmodifier\u00b4acute",
    "O`Brien \u2019 backtick turns into an apostrophe once the text is not ASCII",
    "Corée du Nord, Pyongyang's Señor Müller naïve café façade",
    "\u0149 (n preceded by apostrophe) Stra\u00dfe \u0130stanbul \ufb01nance \u00bd \u2460",
    "\u2018\u2019 \u2019\u2019 x\u2019 \u2019x \u2019 \u2018",
    "北한은 북한의 정상회의에서는 미국과 북한이 회담을 열었다. 한국, 일본, 中国 东京",
    "Kim Jong Un (김정은) met Moon Jae-in (문재인) at Panmunjom (판문점) on 27 April.",
    "日本語のテキストとカタカナ、ひらがな。漢字",
    "tabs\tand\nnewlines\r\nand_underscores and-dashes and/slashes 3.14 1,000 #tag @user",
    "emoji 🚀 rocket 👍🏽 and zero\u200bwidth joiner\u200d and \ufeffbom",
    "Ελληνικά κείμενα και Русский текст с ударе\u0301нием",
    "ALL CAPS HEADLINE: IRAN'S NUCLEAR PROGRAMME TALKS RESUME",
    "x" * 300 + "'s",
]


def _shared_texts() -> Iterator[str]:
    data = SHARED / "data"
    frank = data / "summarization" / "frank" / "frank_articles_references.jsonl"
    if frank.exists():
        with frank.open(encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= 300:
                    break
                yield json.loads(line).get("article") or ""
    ag = data / "topics" / "ag_news" / "test.csv"
    if ag.exists():
        with ag.open(encoding="utf-8") as f:
            for i, row in enumerate(csv.reader(f)):
                if i >= 2000:
                    break
                yield f"{row[1]} {row[2]}"
    for name in ("korea-diplomacy-train.jsonl", "korea-diplomacy-dev.jsonl"):
        path = data / "topics" / name
        if path.exists():
            with path.open(encoding="utf-8") as f:
                for line in f:
                    row = json.loads(line)
                    yield row.get("title") or ""
                    yield row.get("text") or ""
    korea = data / "feeds" / "korea_entries.csv"
    if korea.exists():
        with korea.open(encoding="utf-8") as f:
            for row in csv.reader(f):
                yield " ".join(row)


def _check(text: str) -> None:
    assert nz.tokenize(text) == reference_tokenize(text), repr(text)
    assert nz.tokenize_with_variants(text) == reference_with_variants(text), repr(text)
    # and again, with the word memo warm
    assert nz.tokenize(text) == reference_tokenize(text), repr(text)


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases_tokenise_as_before(text: str) -> None:
    _check(text)


_ALPHABET = st.sampled_from(
    list("abcXYZ019 '.,-_`\t\n")
    + list("\u2019\u2018\u02bc\u00b4\u2014\u2013\u201c\u201d\u2026\u00a0\u00a3\u20ac")
    + list("éüß\u0149\u0130\ufb01\u00bd\u0301\u200b")
    + list("북한은의에서는가日本中テ")
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_random_text_tokenises_as_before(text: str) -> None:
    _check(text)


def test_shared_corpus_tokenises_as_before() -> None:
    texts = list(_shared_texts())
    if not texts:
        pytest.skip("no ../shared data beside the checkout (set NEWSALERT_SHARED)")
    korean = sum(1 for t in texts if nz._HANGUL.search(t))
    assert korean > 0 or not (SHARED / "data" / "feeds" / "korea_entries.csv").exists()
    for text in texts:
        _check(text)
