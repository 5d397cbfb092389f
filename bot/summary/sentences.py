"""Sentence splitting for news text: one regex pass plus a few careful rules.

The splitter looks for sentence-ending punctuation followed by whitespace and a
token that can start a sentence, then vetoes the boundary when the word before
the full stop is an abbreviation ("Mr.", "Oct. 29", "No. 1", "St. Louis"), an
initial ("J. R. R. Tolkien") or a dotted acronym ("U.S.", "a.m.") that is not
followed by a typical sentence opener.  Numbers ("3.5%", "$1.2bn") never match
because their full stop is not followed by whitespace.  A line break always ends
a sentence, except where a line is plainly wrapped mid-sentence.

It is tens of times faster than pysbd and good enough for ranking news
sentences; it does not try to be a linguistic parser.
"""

from __future__ import annotations

import re

__all__ = ["quote_spans", "quotes_closed", "split_sentences"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Titles and the like: a full stop after these never ends a sentence in news copy.
_TITLES = _words(
    """mr mrs ms mx dr prof sr jr st rev fr gen col lt capt cmdr adm maj sgt cpl pvt spc
    gov sen rep pres supt insp det hon messrs mme mlle msgr amb brig"""
)
# Abbreviations that usually precede a number ("Oct. 29", "No. 1", "p. 12") and may
# end a sentence otherwise.
_BEFORE_NUMBER = _words(
    """jan feb mar apr jun jul aug sep sept oct nov dec no nos vol art fig figs p pp ch sec
    para tel ext ref op"""
)
# Abbreviations that rarely end a sentence: split only before a typical opener.
_MID_SENTENCE = _words(
    """vs etc approx est inc ltd co corp bros dept univ ave rd blvd mt ft jan feb mar apr
    jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri sat sun al cf ca
    viz gov't int'l natl assn"""
)
# Dotted abbreviations that never end a sentence.
_NEVER_END = frozenset({"e.g", "i.e", "cf", "viz"})

# Words that typically open a sentence: after "U.S." or an initial they tip the
# balance towards a boundary ("... in the U.S. The company said ...").
_OPENERS = _words(
    """the a an he she it they we i you his her its their our this that these those there
    but and or so yet however meanwhile in on at for after before when while if as
    since although though because during with without by from to of about according some
    many most several one two three no not police officials authorities mr mrs ms dr
    what who why how where his last next earlier later also still now then"""
)

# Candidate boundary: terminal punctuation, optional closing quotes/brackets, then
# whitespace.  The capture groups are the punctuation and the closers.
_CANDIDATE = re.compile(
    r"(\.{2,}|…|[.!?]+)([\"'”’»)\]]*)(?=\s)"
    # Korean copy often glues sentences: "…밝혔습니다.통일연구원에 따르면 …", "…했다.[사진]"
    r"|(?<=[\uac00-\ud7a3])([.!?])(?=[\uac00-\ud7a3\[(“‘\"'0-9A-Z])"
)
# The syllables a Korean sentence ends with before its full stop: 했다. 합니다. 해요. 하죠.
# 하자. 하지. 하네. 하나.  (Others, as in "3.5" or "U.S.", never end in Hangul.)
_KO_FINAL = frozenset("다요죠오네자지군나냐까라")
_NEXT_TOKEN = re.compile(r"\s+([\"'“‘(\[«]*)(\S+)")
_INITIAL = re.compile(r"^[A-Z]$")
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")
_WRAPPED_LINE = re.compile(r"(?<=[a-z,;])[ \t]*\n[ \t]*(?=[a-z])")
# A quoted passage longer than this is not held together (a stray quote mark
# must not swallow a paragraph).
_MAX_QUOTE_CHARS = 400
_QUOTE = re.compile('["“”]')
_LINES = re.compile(r"\s*\n\s*")
# A broadcast transcript may glue two sentences with no full stop at all: "…밝히라고
# 촉구했습니다정희용 사무총장은 …" (ko-362).  A polite ending (-습니다, -입니다, -됩니다,
# -합니다) right before another Hangul syllable ends the sentence, unless it goes on as
# "-니다만" (but); the full stop the writer meant is put in.
_GLUED_POLITE = re.compile(r"(?:습|입|됩|합)니다(?=[\uac00-\ud7a3])(?!만)")


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, in order, each stripped of surrounding space.

    A paragraph or line break always ends a sentence (unless a line is wrapped
    mid-sentence: lowercase on both sides); within a line, sentences end at
    ``.``, ``!``, ``?`` or an ellipsis followed by a token that can start a
    sentence.  Never returns empty strings.
    """
    if not text:
        return []
    text = _WRAPPED_LINE.sub(" ", text)
    if "니다" in text:
        text = _GLUED_POLITE.sub(lambda m: m.group(0) + ". ", text)
    sentences: list[str] = []
    for line in _LINES.split(text):
        if line:
            _split_line(line.strip(), sentences)
    return sentences


def _split_line(line: str, out: list[str]) -> None:
    start = 0
    inside = _Quotes(quote_spans(line))
    for match in _CANDIDATE.finditer(line):
        end = match.end()
        if match.group(3):
            # glued Korean sentences: "…했다.이날 …" (not "3.5", "U.S." nor "…”고 말했다")
            if (
                (match.group(3) != "." or line[match.start() - 1] in _KO_FINAL)
                and not inside(end)
                and not _closes_single_quote(line, start, end)
            ):
                out.append(line[start:end].strip())
                start = end
            continue
        nxt = _NEXT_TOKEN.match(line, end)
        if nxt is None:
            continue
        if _is_boundary(line, match, nxt) and not inside(end):
            piece = line[start:end].strip()
            if piece:
                out.append(piece)
            start = nxt.start(1)
    tail = line[start:].strip()
    if tail:
        out.append(tail)


def _closes_single_quote(line: str, start: int, end: int) -> bool:
    """Whether ``line[end]`` closes a single quote opened in this sentence: "…'신통기획
    2.0 시행, 궁금증 해소!'가 주제다." is one sentence, its "!" inside the quoted slogan."""
    mark = line[end] if end < len(line) else ""
    if mark == "'":
        return line.count("'", start, end) % 2 == 1
    if mark == "\u2019":
        return line.count("\u2018", start, end) > line.count("\u2019", start, end)
    return False


def quote_spans(text: str, *, max_chars: int = _MAX_QUOTE_CHARS) -> list[tuple[int, int]]:
    """The double-quoted passages of ``text`` as (opening, closing) offsets, in order.

    A quote held together must close: the marks are paired by their shape in one pass,
    so that a stray mark does not flip every pair after it.  "“" always opens and "”"
    always closes; a straight '"' closes when a quote is open and opens otherwise,
    unless it stands after a word and before a space (a closing mark with nothing
    open, as in '…받아야" 이재명 대통령은').  A closing mark with nothing open is
    ignored, and so is an opening one that does not close within ``max_chars``.
    """
    return _pair_quotes(text, max_chars)[0]


def quotes_closed(text: str) -> bool:
    """True when no double quote opened in ``text`` is still open at its end."""
    return _pair_quotes(text, _MAX_QUOTE_CHARS)[1] < 0


def _pair_quotes(text: str, max_chars: int) -> tuple[list[tuple[int, int]], int]:
    spans: list[tuple[int, int]] = []
    opened = -1
    for match in _QUOTE.finditer(text):
        at = match.start()
        mark = text[at]
        if opened >= 0 and at - opened > max_chars:
            opened = -1  # it never closed: a stray mark
        if mark == "“":
            opened = at
        elif opened >= 0:
            spans.append((opened, at))
            opened = -1
        elif mark == '"' and not (
            at > 0
            and not text[at - 1].isspace()
            and (at + 1 == len(text) or text[at + 1].isspace())
        ):
            opened = at
    if opened >= 0 and len(text) - opened > max_chars:
        opened = -1
    return spans, opened


class _Quotes:
    """``inside(pos)`` for increasing positions: True within a quoted passage."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self._spans = spans
        self._next = 0

    def __call__(self, pos: int) -> bool:
        spans = self._spans
        while self._next < len(spans) and spans[self._next][1] < pos:
            self._next += 1
        return self._next < len(spans) and spans[self._next][0] < pos <= spans[self._next][1]


def _is_hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3"


def _korean_end(line: str, match: re.Match[str]) -> bool:
    """A sentence of Korean ends here when the word before the punctuation is Korean
    and ends like a sentence: "했다.", "합니다.", "할까?", "했다…", or any "?" / "!"."""
    before = line[match.start() - 1] if match.start() else ""
    if not _is_hangul(before):
        # "… in the U.S. 한국은 …" or "3.5. 다음": an English or numeric end before Korean
        return not before.isdigit() and match.group(1) != "."
    punct = match.group(1)
    if punct in ("…", "...") or punct.startswith(".."):
        return before in "다요죠까"
    if punct.startswith("."):
        return before in _KO_FINAL
    return True


def _is_boundary(line: str, match: re.Match[str], nxt: re.Match[str]) -> bool:
    opener, token = nxt.group(1), nxt.group(2)
    first = token[0]
    if first.islower():
        # '"Stop!" he said.' / 'at 5 p.m. on Friday' / 'etc. and more'
        return False
    punct = match.group(1)
    if _is_hangul(first) or (opener and _is_hangul(first)):
        return _korean_end(line, match)
    if not (first.isupper() or first.isdigit() or opener or not first.isalnum()):
        return False
    if punct != ".":
        # "!", "?", "?!", and ellipses: a capitalised next token starts a new sentence.
        return first.isupper() or bool(opener) or first.isdigit()
    if match.group(2):
        # A closing quote or bracket after the full stop: '... said." The'.
        return True
    cut = match.start()
    word = line[max(line.rfind(" ", 0, cut), line.rfind("\t", 0, cut)) + 1 : cut]
    word = word.lstrip("\"'“‘([«")
    if not word:
        return True
    low = word.lower()
    next_word = token.strip("\"'“”‘’()[]«»,;:").lower()
    if low in _TITLES:
        return False
    if low in _NEVER_END:
        return False
    if first.isdigit():
        # "Oct. 29", "No. 1", "p. 12"; otherwise a sentence may start with a number.
        return low not in _BEFORE_NUMBER
    if _INITIAL.match(word):
        # "J. R. R. Tolkien", "George W. Bush"; but "... vitamin C. The study".
        return next_word in _OPENERS
    if _DOTTED.match(word):
        # "U.S.", "U.N.", "a.m.", "p.m.": ambiguous; split before a typical opener.
        return next_word in _OPENERS
    if low in _MID_SENTENCE or low in _BEFORE_NUMBER:
        return next_word in _OPENERS
    return True
