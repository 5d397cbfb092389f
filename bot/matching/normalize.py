"""Text normalisation shared by the query parser and the matching engine.

Both sides of a match go through the same functions, so a query word and a
document word meet in one canonical form:

* case and accents folded (``Pyongyang`` = ``pyongyang``, ``Corée`` = ``coree``);
* possessives dropped (``Korea's``, ``talks'``) and plurals reduced to the
  singular with a light, conservative stemmer (``talks`` = ``talk``,
  ``allies`` = ``ally``); short words and a few traps (``news``, ``series``)
  are left alone;
* British spellings mapped to American ones (``denuclearisation`` =
  ``denuclearization``, ``defence`` = ``defense``, ``programme`` = ``program``);
* Chinese and Japanese characters become one token each (they are written
  without spaces), so a multi-character word is matched as a phrase;
* Korean words keep their form, and a document word also yields its forms with
  trailing particles removed (``북한은``, ``북한의`` -> ``북한``): a query for
  ``북한`` finds them all, while a query for ``북한의`` stays that precise.

The canonical forms are internal: what a person sees (``why``) is the text they
typed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import cast

__all__ = [
    "fold",
    "is_hangul",
    "korean_variants",
    "normalize_word",
    "plain_ascii",
    "tokenize",
    "tokenize_with_variants",
]


def _words(text: str) -> list[str]:
    return text.split()


_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A token is a single CJK character, or a run of other letters/digits that may
# hold inner apostrophes (o'brien, korea's).
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:'[^\W_{_CJK}]+)*")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_APOSTROPHES = ("\u2019", "\u2018", "\u02bc", "`", "\u00b4")
_COMMON_PUNCTUATION = (
    "\u2014",
    "\u2013",
    "\u201c",
    "\u201d",
    "\u2026",
    "\u00a0",
    "\u00a3",
    "\u20ac",
)
_PUNCTUATION = re.compile("[\u00a0-\u00bf\u00d7\u00f7\u2000-\u206f\u20a0-\u20cf\u3000-\u3003]")
# ASCII text after folding: everything but a-z, 0-9 and the apostrophe separates words
_ASCII_SEPARATORS = str.maketrans(
    {chr(i): " " for i in range(128) if not (chr(i).isalnum() or chr(i) == "'")}
)
_HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")

# Words whose final "s" is not a plural ending (or whose stem would collide).
_NO_STEM = frozenset(
    _words(
        "news series species always perhaps whereas various besides sometimes afterwards "
        "towards thanks christmas olympics lens"
    )
)
_IRREGULAR = {"crises": "crisis", "theses": "thesis", "women": "woman", "children": "child"}

# British -> American, for whole words (after the plural is removed).
_SPELLING = {
    "defence": "defense",
    "offence": "offense",
    "licence": "license",
    "pretence": "pretense",
    "programme": "program",
    "catalogue": "catalog",
    "dialogue": "dialog",
    "analogue": "analog",
    "grey": "gray",
    "ageing": "aging",
    "aluminium": "aluminum",
    "sceptic": "skeptic",
    "sceptical": "skeptical",
    "scepticism": "skepticism",
    "manoeuvre": "maneuver",
    "manoeuvres": "maneuvers",
    "manoeuvred": "maneuvered",
    "jewellery": "jewelry",
    "mould": "mold",
    "plough": "plow",
    "judgement": "judgment",
    "acknowledgement": "acknowledgment",
    "enrol": "enroll",
    "fulfil": "fulfill",
    "skilful": "skillful",
    "wilful": "willful",
    "kerb": "curb",
    "tyre": "tire",
    "draught": "draft",
    "storey": "story",
    "paediatric": "pediatric",
    "anaesthetic": "anesthetic",
    "oestrogen": "estrogen",
    "foetus": "fetus",
    "haemorrhage": "hemorrhage",
    "leukaemia": "leukemia",
    "diarrhoea": "diarrhea",
    "encyclopaedia": "encyclopedia",
}
_OUR_STEMS = _words(
    "colo harbo hono favo labo neighbo behavio humo rumo vapo vigo armo endeavo savo "
    "flavo odo parlo splendo tumo valo rigo clamo cando glamo ardo "
)
_RE_STEMS = _words("cent theat fib lit calib spect somb lust meag sab met manoeuv")
_LL_STEMS = _words(
    "travel cancel label model fuel signal counsel level marvel channel tunnel "
    "quarrel total dial duel equal rival pencil shovel libel grovel jewel unravel "
    "enamel spiral initial panel tunnel funnel "
)


def _build_spelling() -> dict[str, str]:
    table = dict(_SPELLING)
    for stem in _OUR_STEMS:
        for suffix in ("", "ed", "ing", "able", "ite", "ites", "er", "ers", "ful", "less"):
            table[stem + "ur" + suffix] = stem + "r" + suffix
        table[stem + "ural"] = stem + "ral"
    for stem in _RE_STEMS:
        table[stem + "re"] = stem + "er"
    for stem in _LL_STEMS:
        for suffix in ("ed", "ing", "er", "ers", "or", "ors"):
            table[stem + "l" + suffix] = stem + suffix
    return table


_SPELLING_TABLE = _build_spelling()
_IZE = re.compile(r"^(.{3,}[^aeiou])is(e|ed|es|ing|er|ers|ation|ations|ational)$")
_YZE = re.compile(r"^(.+)lys(e|ed|es|ing|er|ers)$")

# Korean particles (josa), longest first so that 에서는 is removed before 는.
_PARTICLES = tuple(
    sorted(
        _words(
            "에서부터 으로부터 로부터 에게서 한테서 에서는 에서도 에서의 으로는 으로도 으로의 "
            "이라는 에게는 에게도 에게 한테 께서 에서 으로 부터 까지 처럼 보다 마저 조차 "
            "이나 이랑 이라 에는 에도 에의 과의 와의 로의 로는 로도 "
            "은 는 이 가 을 를 의 에 와 과 도 로 만 나 랑 께"
        ),
        key=len,
        reverse=True,
    )
)

_cache: dict[str, str] = {}
_CACHE_LIMIT = 200_000


def fold(text: str) -> str:
    """``text`` lower-cased (casefold), accents removed, apostrophes unified.

    Hangul syllables survive: they decompose to jamo under NFKD and are
    recomposed by NFC after the combining marks are dropped.
    """
    text = text.casefold()
    if text.isascii():
        return text
    for mark in _APOSTROPHES:  # str.replace is C-fast; str.translate with a dict is not
        if mark in text:
            text = text.replace(mark, "'")
    # Typographic punctuation (dashes, quotes, £, €) separates words like a space;
    # removing it first lets most news text take the ASCII fast path.  The usual
    # few are replaced one by one (C-fast); the regex catches the rest.
    for mark in _COMMON_PUNCTUATION:
        if mark in text:
            text = text.replace(mark, " ")
    if text.isascii():
        return text
    text = _PUNCTUATION.sub(" ", text)
    if text.isascii():
        return text
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return unicodedata.normalize("NFC", text)


def is_hangul(token: str) -> bool:
    """True when ``token`` holds Korean script."""
    return _HANGUL.search(token) is not None


def _singular(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or word in _NO_STEM or not word.endswith("s"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    return word[:-1]


def _american(word: str) -> str:
    mapped = _SPELLING_TABLE.get(word)
    if mapped is not None:
        return mapped
    if "is" in word:
        m = _IZE.match(word)
        if m:
            return f"{m.group(1)}iz{m.group(2)}"
    if "lys" in word:
        m = _YZE.match(word)
        if m:
            return f"{m.group(1)}lyz{m.group(2)}"
    return word


def _normalize_uncached(token: str) -> str:
    if "'" in token:
        # possessive: korea's -> korea; other apostrophes vanish: o'brien -> obrien
        if token.endswith("'s"):
            token = token[:-2]
        token = token.replace("'", "")
    if not token.isascii() and is_hangul(token):
        return token
    if token.isdigit():
        return token
    return _american(_singular(token))


def normalize_word(token: str) -> str:
    """The canonical form of one already folded token (see module docstring)."""
    value = _cache.get(token)
    if value is None:
        value = _normalize_uncached(token)
        if len(_cache) < _CACHE_LIMIT:
            _cache[token] = value
    return value


def _raw_tokens(text: str) -> list[str]:
    folded = fold(text)
    if folded.isascii():
        # str.translate + split is ~4x faster than a regex on plain ASCII text
        spaced = folded.translate(_ASCII_SEPARATORS)
        if "'" in spaced:
            # quotes around words ('like this', talks') are not part of them
            spaced = f" {spaced} "
            while " '" in spaced or "' " in spaced:
                spaced = spaced.replace(" '", " ").replace("' ", " ")
        return spaced.split()
    # trailing apostrophes (talks') are not matched by the pattern, so they vanish here
    return _TOKEN.findall(folded)


class _Written(dict[str, str]):
    """The canonical form of each word as it is written (case, outer quotes and all) in
    text that is ASCII once its typographic marks are replaced (most news text): one
    dict lookup a word instead of folding the text first, worked out on a miss.  "" for
    a word that is only quotes.  Bounded like ``_cache``; the values are the same
    either way."""

    __slots__ = ()

    def __missing__(self, word: str) -> str:
        # " 'x" and "x' " lose their quotes in _raw_tokens: the word's outer quotes
        folded = word.lower().strip("'")
        value = normalize_word(folded) if folded else ""
        if len(self) < _WRITTEN_LIMIT:
            self[word] = value
        return value


_written = _Written()
_WRITTEN_LIMIT = 300_000


def _ascii_marked(text: str) -> str | None:
    """``text`` with the apostrophes and common punctuation :func:`fold` replaces
    replaced, or None when it is not ASCII then."""
    if text.isascii():
        return text
    # the same replacements as fold(), which makes them after casefold(); the marks
    # have no case, so the order does not matter when the result is ASCII
    for mark in _APOSTROPHES:
        if mark in text:
            text = text.replace(mark, "'")
    for mark in _COMMON_PUNCTUATION:
        if mark in text:
            text = text.replace(mark, " ")
    return text if text.isascii() else None


def plain_ascii(text: str) -> bool:
    """True when ``text`` is ASCII but for typographic quotes, dashes and the like (so
    it holds no Hangul): a cheaper test than a search of the whole text."""
    return _ascii_marked(text) is not None


def _ascii_words(text: str) -> list[str] | None:
    """The words of ``text`` as written (not folded), split where :func:`fold` and
    :func:`_raw_tokens` would split them, or None when ``text`` is not ASCII once
    :func:`fold` has replaced its apostrophes and common punctuation.

    Folding commutes with this split here: the marks have no case, ASCII casefolds
    to its lower case, and the separators are the same in either case.
    """
    marked = _ascii_marked(text)
    return None if marked is None else marked.translate(_ASCII_SEPARATORS).split()


def _tokenize(text: str) -> tuple[list[str], bool]:
    """(canonical tokens, whether ``text`` is known to hold no Hangul)."""
    words = _ascii_words(text)
    if words is None:
        raw = _raw_tokens(text)
        out = list(map(_cache.get, raw))
        if None in out:
            out = [normalize_word(r) if v is None else v for r, v in zip(raw, out, strict=True)]
        return cast(list[str], out), False  # no None left
    tokens = list(map(_written.__getitem__, words))
    if "" in tokens:  # a word of quotes only (a quote mark between spaces)
        tokens = list(filter(None, tokens))
    return tokens, True


def tokenize(text: str) -> list[str]:
    """Canonical tokens of ``text``, in order (no Korean particle variants)."""
    return _tokenize(text)[0]


def korean_variants(token: str) -> tuple[str, ...]:
    """Forms of a Korean word with one or two trailing particles removed.

    ``북한은`` -> (``북한``,); ``정상회의에서는`` -> (``정상회의``, ``정상회``).
    The word itself is not included.  A stem keeps at least one syllable.
    """
    out: list[str] = []
    current = token
    for _ in range(2):
        for particle in _PARTICLES:
            if current.endswith(particle) and len(current) > len(particle):
                current = current[: -len(particle)]
                out.append(current)
                break
        else:
            break
    return tuple(out)


def tokenize_with_variants(text: str) -> tuple[list[str], list[tuple[int, str]]]:
    """Canonical tokens of ``text`` plus the Korean particle-free variants.

    Returns ``(tokens, extra)`` where ``extra`` holds ``(position, variant)``
    pairs: the variant stands at the same position as the token it came from.
    """
    tokens, no_hangul = _tokenize(text)
    extra: list[tuple[int, str]] = []
    if no_hangul or _HANGUL.search(text) is None:
        return tokens, extra
    for i, token in enumerate(tokens):
        if not token.isascii() and is_hangul(token):
            for variant in korean_variants(token):
                extra.append((i, variant))
    return tokens, extra
