"""Extractive summaries of news articles, sized for a phone screen.

The summary is made of whole sentences of the article, in article order, within
a character budget.  Sentences are ranked the way news is written: the lead
carries the key facts, so position weighs most, but a later sentence that is
central to the story (shares many content words with the rest of it, and with
the headline) can win a place.  Near-duplicates, the headline repeated and
publisher boilerplate never make it in.

Pure and fast: no I/O, a few regex passes and set operations per article.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bot.config.model import AlertsConfig
from bot.records import Article, Summary
from bot.summary.boilerplate import strip_boilerplate
from bot.summary.boilerplate_ko import (
    CASE_PARTICLES,
    is_korean,
    strip_korean_boilerplate,
    strip_particle,
)
from bot.summary.sentences import split_sentences
from bot.text import html_to_text

DEFAULT_MAX_CHARS = AlertsConfig.summary_chars
# The budget is set in characters of English; a summary in another language gets the
# share of it that carries as much: a Korean syllable block packs about twice what a
# Latin letter does.  Measured by ``bench/korean_boilerplate.py --budget`` (median
# sentence length of Korean news against English news, and the bot's own English and
# Korean message catalog): see the README.
BUDGET_SHARE = {"en": 1.0, "ko": 0.6}

# Below this many words the full text is likely a teaser or a stub: prefer the
# feed's summary if that is longer.
_SUBSTANTIAL_WORDS = 60
# Longer texts are cut (at a line break) before splitting: far beyond any lead.
_MAX_BODY_CHARS = 40_000
_MIN_SENTENCE_CHARS = 25
# A Korean sentence says as much in fewer characters and words (see BUDGET_SHARE): a
# first sentence that ends like one ("대출금리가 다시 고개를 들었다.", "그야말로
# 신드롬이다.", leads once their sub-headlines are cut off) is the lead from this length.
_KO_MIN_SENTENCE_CHARS = 10
_KO_FULL_SENTENCE = re.compile(r"[다요죠][.?!][\"'”’]?$")
_MIN_SENTENCE_WORDS = 4
_DUPLICATE_OVERLAP = 0.6
_ELLIPSIS = "…"
# Ranking weights (see _rank): the lead prior is flat for about three sentences,
# then falls off with the cube of the position.
_LEAD_WEIGHT = 0.15
_LEAD_SPAN = 3.5
_CENTRAL_WEIGHT = 0.2
_HEADLINE_WEIGHT = 0.1


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_STOPWORDS = _words(
    """a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in into is
    it its itself just let me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    said says say told tell according mr mrs ms dr one two new also would could may might must
    year years time last first like get got make made just even still many much well back way
    s t"""
)
# An e-mail address is looked for from its "@" only, and neither side may hold another "@":
# linear on any input (``\S+@\S+`` was cubic on a run of "@", issue 14).
_LINKY = re.compile(r"https?://|www\.|pic\.twitter\.com/|(?<=[^\s@])@[^\s@]+?\.\w")
_QUOTE_OPENERS = "\"“‘'«"


@dataclass(frozen=True, slots=True)
class _Sentence:
    index: int
    text: str
    terms: frozenset[str]
    words: int


def article_language(article: Article) -> str:
    """ "ko" for an article written in Korean, else "en" (the languages the bot speaks)."""
    sample = " ".join(
        (article.title or "", (article.content or "")[:1500], (article.summary or "")[:500])
    )
    return "ko" if is_korean(sample) else "en"


def budget_for(language: str, max_chars: int = DEFAULT_MAX_CHARS) -> int:
    """The characters a summary in ``language`` may use, for a budget of ``max_chars``
    characters of English (see ``BUDGET_SHARE``)."""
    return max(1, round(int(max_chars) * BUDGET_SHARE.get(language, 1.0)))


def summarize(article: Article, *, max_chars: int = DEFAULT_MAX_CHARS) -> Summary:
    """A plain-text summary of ``article`` of at most ``max_chars`` characters.

    Uses the full text when it is substantial, else the feed's summary (HTML
    allowed), else the title.  The text is never empty and, when the article
    has any body, never just the title again: whole sentences in article order,
    or, when not even one sentence fits, the first one cut at a word boundary
    and ended with "…".  ``method`` is "extractive", or "title" when only the
    title was there to use (a renderer that already shows the title may then
    leave the summary out).  Raises ValueError for a budget below 1.
    """
    max_chars = int(max_chars)
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    language = article_language(article)
    max_chars = budget_for(language, max_chars)
    title = html_to_text(article.title or "").replace("\n", " ").strip()
    body = _choose_body(article)
    sentences = _candidate_sentences(body, title, korean=language == "ko")
    if language == "ko":
        sentences = _without_cut_tail(sentences)
    if not sentences:
        fallback = _first_non_title_sentence(body, title)
        if fallback:
            return Summary(article.id, _truncate(fallback, max_chars), language=language)
        return Summary(
            article.id,
            _truncate(title or article.id or "(untitled)", max_chars),
            method="title",
            language=language,
        )
    scores = _rank(sentences, title)
    if language == "ko":
        # Korean news is written as an inverted pyramid more strictly still: the first
        # sentence is the story (the weights above were fitted on English, where the
        # first three share the lead); it goes in first whenever it fits.
        scores[0] = max(scores) + 1.0
    chosen = _select(sentences, scores, max_chars)
    if not chosen:
        return Summary(article.id, _truncate(sentences[0].text, max_chars), language=language)
    text = " ".join(s.text for s in sorted(chosen, key=lambda s: s.index))
    return Summary(article.id, text, language=language)


# How a Korean sentence ends on the page; a last "sentence" without one was cut off
# (a feed's description stops mid-word: "… 전망이 나온다. 북").
_KO_SENTENCE_END = re.compile(r"[.?!…\"'”’」』)\]]$")


def _without_cut_tail(sentences: list[_Sentence]) -> list[_Sentence]:
    if len(sentences) > 1 and not _KO_SENTENCE_END.search(sentences[-1].text):
        return sentences[:-1]
    return sentences


def article_text(article: Article) -> str:
    """The text a summary is made from: the full text when substantial, else the
    feed's summary, as plain text cleaned of boilerplate ("" when there is none)."""
    return _choose_body(article)


def _choose_body(article: Article) -> str:
    content = _clean(_head(html_to_text(article.content or "")), article.title)
    summary = _clean(_head(html_to_text(article.summary or "")), article.title)
    if len(content.split()) >= _SUBSTANTIAL_WORDS or len(content) >= len(summary):
        return content or summary
    return summary


def _clean(text: str, title: str = "") -> str:
    # Korean rules first (they only touch text with Hangul): a summary opens with the
    # lead, so the sub-headlines glued before a dateline go (the title helps tell them).
    return strip_boilerplate(strip_korean_boilerplate(text, keep_subheadlines=False, title=title))


def _head(text: str) -> str:
    """The first ``_MAX_BODY_CHARS`` of ``text``, cut at a paragraph or line break: the
    lead carries the story, and a runaway page must not cost seconds."""
    if len(text) <= _MAX_BODY_CHARS:
        return text
    cut = text.rfind("\n", 0, _MAX_BODY_CHARS)
    return text[: cut if cut > _MAX_BODY_CHARS // 2 else _MAX_BODY_CHARS]


def terms_of(text: str) -> frozenset[str]:
    """Content words of ``text``, lowercased and crudely stemmed."""
    out = set()
    for word in _WORD.findall(text.lower()):
        if "\uac00" <= word[-1] <= "\ud7a3":
            out.add(_korean_stem(word))
            continue
        word = word.replace("’", "'")
        if word.endswith("'s"):
            word = word[:-2]
        if word in _STOPWORDS or len(word) < 2:
            continue
        out.add(_stem(word))
    return frozenset(out)


# Trailing particles and endings of Korean words, longest first: 북한은 = 북한의 = 북한에서 =
# 북한 (the case particles of boilerplate_ko, and endings a stem for ranking drops too).
_KO_PARTICLES = tuple(
    sorted(
        {
            *CASE_PARTICLES,
            *("에게", "까지", "부터", "보다", "처럼", "만", "이나", "나", "이라고", "라고"),
            *("라며", "이라며", "에는", "에서는", "으로는", "로는", "과의", "와의", "에도"),
            *("에서도", "이다", "였다", "했다", "한다"),
        },
        key=lambda p: (-len(p), p),
    )
)


def _korean_stem(word: str) -> str:
    return strip_particle(word, _KO_PARTICLES)


def _stem(word: str) -> str:
    # Enough to match "talk/talks/talking" and "deny/denies/denied"; not a real stemmer.
    if len(word) > 4:
        if word.endswith("ies"):
            return word[:-3] + "y"
        if word.endswith("ied"):
            return word[:-3] + "y"
        if word.endswith("ing") and len(word) > 5:
            return word[:-3]
        if word.endswith("ed") and len(word) > 5:
            return word[:-2]
        if word.endswith("es") and word[-3] in "sxz":
            return word[:-2]
        if word.endswith("s") and not word.endswith("ss"):
            return word[:-1]
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _candidate_sentences(body: str, title: str, *, korean: bool = False) -> list[_Sentence]:
    title_terms = terms_of(title)
    title_key = _normal(title)
    out: list[_Sentence] = []
    for index, text in enumerate(split_sentences(body)):
        words = len(text.split())
        korean_lead = (
            korean
            and index == 0
            and len(text) >= _KO_MIN_SENTENCE_CHARS
            and bool(_KO_FULL_SENTENCE.search(text))
        )
        if (len(text) < _MIN_SENTENCE_CHARS or words < _MIN_SENTENCE_WORDS) and not korean_lead:
            continue
        if _LINKY.search(text):
            continue  # embed remnants and "more at https://..." prompts read badly in an alert
        terms = terms_of(text)
        if not terms:
            continue
        if _same_as_title(text, title_key) or _repeats(terms, title_terms):
            continue
        out.append(_Sentence(len(out), text, terms, words))
    return out


def _first_non_title_sentence(body: str, title: str) -> str:
    title_key = _normal(title)
    for text in split_sentences(body):
        if not _same_as_title(text, title_key):
            return text
    return ""


def _same_as_title(text: str, title_key: str) -> bool:
    """The sentence is the headline, or a piece of it (a teaser that links the title)."""
    key = _normal(text)
    return bool(title_key) and (key == title_key or (len(key) > 0 and key in title_key))


def _normal(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _repeats(terms: frozenset[str], title_terms: frozenset[str]) -> bool:
    """True when a sentence says nothing beyond the headline."""
    if not title_terms or not terms:
        return False
    return len(terms - title_terms) <= 1 and len(terms & title_terms) >= 0.8 * len(terms)


def _rank(sentences: list[_Sentence], title: str) -> list[float]:
    """A score per sentence, roughly the share of its words that a reader's summary
    of the story would use: position first, then centrality and headline overlap.

    The weights come from a linear model of that share fitted on news articles
    with human highlights (CNN/DailyMail), rounded, with the position steps
    smoothed into one curve; they encode habits of news writing rather than
    of one collection: the first three or four sentences carry the facts, then
    value falls off quickly; a sentence sharing many words with the rest of
    the story is central; quotes, questions, fragments and very long sentences
    are weaker picks.  The score is per character, so picking greedily by it
    fills the budget with the densest facts.
    """
    title_terms = terms_of(title)
    frequency: dict[str, int] = {}
    for sentence in sentences:
        for term in sentence.terms:
            frequency[term] = frequency.get(term, 0) + 1
    centrality = []
    for sentence in sentences:
        # How much of the rest of the story this sentence's words cover.
        shared = sum(math.log1p(frequency[t] - 1) for t in sentence.terms)
        centrality.append(shared / math.sqrt(len(sentence.terms) + 4))
    top = max(centrality) or 1.0
    scores = []
    for sentence, central in zip(sentences, centrality, strict=True):
        score = _LEAD_WEIGHT / (1.0 + (sentence.index / _LEAD_SPAN) ** 3)
        score += _CENTRAL_WEIGHT * central / top
        if title_terms:
            score += _HEADLINE_WEIGHT * len(sentence.terms & title_terms) / len(title_terms)
        if sentence.text[0] in _QUOTE_OPENERS:
            score -= 0.04
        if sentence.text.rstrip("\"”’'») ").endswith("?"):
            score -= 0.07
        if sentence.words < 8:
            score -= 0.05
        score -= 0.02 * min(len(sentence.text), 400) / 100
        scores.append(score)
    return scores


def _select(sentences: list[_Sentence], scores: list[float], max_chars: int) -> list[_Sentence]:
    """Best-scoring sentences that fit the budget together, skipping near-duplicates."""
    order = sorted(range(len(sentences)), key=lambda i: -scores[i])
    chosen: list[_Sentence] = []
    used = 0
    for i in order:
        sentence = sentences[i]
        cost = len(sentence.text) + (1 if chosen else 0)
        if used + cost > max_chars:
            continue
        if any(_near_duplicate(sentence.terms, other.terms) for other in chosen):
            continue
        chosen.append(sentence)
        used += cost
    return chosen


def _near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return False
    overlap = len(a & b)
    return overlap >= _DUPLICATE_OVERLAP * min(len(a), len(b))


def _truncate(text: str, max_chars: int) -> str:
    """``text`` cut at a word boundary to fit ``max_chars``, with "…" when cut."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - len(_ELLIPSIS)]
    space = cut.rfind(" ")
    if space > max_chars // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + _ELLIPSIS
