"""The filter query language: parser, syntax tree and evaluation.

The language is the one people know from web search::

    north korea talks            every word must appear (implicit AND)
    "north korea" talks          a quoted phrase: these words, in this order
    talks OR summit              either word; OR binds tighter than AND, so
                                 korea talks OR summit = korea (talks OR summit)
    korea -sports, korea NOT sports      exclude a word (or a phrase, a group)
    korea (talks OR summit)      parentheses group
    title:korea  summary:...  content:...  source:reuters  site:bbc.co.uk
                                 limit a word, phrase or group to one field;
                                 site: matches the link's host and its subdomains
    sanctions NEAR/5 korea       both, at most 5 words apart, in either order, in one
                                 field (NEAR alone = NEAR/10)
    @north-korea                 a named alias group (DPRK, Pyongyang, Kim Jong Un, 북한 ...)
    AND                          optional, for readability: korea AND talks

Operators are upper-case (``AND``, ``OR``, ``NOT``, ``NEAR``); lower-case
``and``/``or``/``not``/``near`` are ordinary words.  Matching is on whole
words, case- and accent-insensitive; plurals and possessives match the word
(talk = talks = talks'), British and American spellings are alike
(denuclearisation = denuclearization), and Korean words match with a trailing
particle (북한 finds 북한은, 북한의).  Words without a field search the title,
summary and content.

Scoring: every distinct matched word or phrase adds a weight by where it was
first found: title 3; summary 2; the content's first 50 words (its lead) 2, the
rest of its first 150 words 1; a summary or content word only beyond the first
150 words 0.5; source/site 1.  An @group counts as one term: its
best-placed member.  ``why`` lists what matched, strongest first.

Limits: a query is at most ``MAX_QUERY_LENGTH`` characters, ``MAX_TERMS``
terms and ``MAX_DEPTH`` nested parentheses; beyond that, or when malformed,
:func:`parse_query` raises :class:`~bot.errors.QueryError` with the position
and a hint.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.aliases import ALIAS_ID, AliasGroup, builtin_aliases, expand
from bot.errors import QueryError
from bot.boilerplate_ko import has_hangul, strip_korean_boilerplate
from bot.normalize_text import fold, tokenize, tokenize_with_variants
from bot.records import Article
from bot.text import html_to_text

__all__ = [
    "FIELDS",
    "MAX_DEPTH",
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "QUERY_HELP",
    "And",
    "AnyOf",
    "Document",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Query",
    "Site",
    "Term",
    "parse_query",
    "prepare_document",
]

QUERY_HELP = """\
Filters work like a web search:
  north korea talks          all of these words, anywhere in the article
  "north korea" talks        a quoted phrase, words in this order
  summit OR talks            either word (OR binds tighter than AND)
  korea -sports              leave out articles with a word (or NOT sports)
  "north korea" (talks OR summit) -sports      parentheses group
  title:korea                only in the title; also summary: content:
  source:reuters  site:bbc.co.uk               publisher name, link's website
  sanctions NEAR/5 korea     the two at most 5 words apart
  @north-korea talks         a named group: North Korea, DPRK, Pyongyang,
                             Kim Jong Un, 북한 ... (also @south-korea, @korea)
Whole words, any case or accent; plurals, possessives and British/American
spellings match (talk = talks = talks', defence = defense); Korean words match
with particles (북한 = 북한은). Operators AND OR NOT NEAR are upper-case.
At most 500 characters."""

MAX_QUERY_LENGTH = 500
MAX_TERMS = 50
MAX_DEPTH = 8
MAX_NEAR = 50
DEFAULT_NEAR = 10

FIELDS = ("title", "summary", "content", "source", "site")
TEXT_FIELDS = ("title", "summary", "content")
FIELD_WEIGHTS = {"title": 3.0, "summary": 2.0, "content": 1.0, "source": 1.0, "site": 1.0}
LEAD_WORDS = 50  # the first words of the content are its lead: they weigh as a summary
DEEP_AFTER = 150  # summary or content words beyond this position are "deep in the text"
DEEP_WEIGHT = 0.5
_W_TITLE, _W_SUMMARY, _W_CONTENT = (
    FIELD_WEIGHTS["title"],
    FIELD_WEIGHTS["summary"],
    FIELD_WEIGHTS["content"],
)
# Document.text_weight's cascade relies on this order
assert _W_TITLE > _W_SUMMARY > _W_CONTENT > DEEP_WEIGHT > 0

_KEY_SEP = "\x1f"  # separates a field name from a token in trigger keys


# --------------------------------------------------------------------------------------
# Documents


class FieldText:
    """One field of a document, tokenised: tokens in order, plus a term set."""

    __slots__ = ("_joined", "_positions", "extra", "terms", "tokens")

    def __init__(self, text: str) -> None:
        tokens, extra = tokenize_with_variants(text) if text else ([], [])
        self.tokens: list[str] = tokens
        self.extra: list[tuple[int, str]] = extra
        terms = frozenset(tokens)
        if extra:
            terms = terms.union(v for _, v in extra)
        self.terms: frozenset[str] = terms
        self._positions: dict[str, list[int]] | None = None
        self._joined: str | None = None

    def find_phrase(self, words: tuple[str, ...]) -> int:
        """Position of the first occurrence of ``words`` in a row, or -1."""
        terms = self.terms
        for w in words:
            if w not in terms:
                return -1
        if not self.extra:
            # no Korean variants: a substring search on " w1 w2 ... " is exact and C-fast
            if self._joined is None:
                self._joined = " " + " ".join(self.tokens) + " "
            at = self._joined.find(" " + " ".join(words) + " ")
            return -1 if at < 0 else self._joined.count(" ", 0, at)
        later = [set(self.positions(w)) for w in words[1:]]
        for start in self.positions(words[0]):
            if all(start + k in later[k - 1] for k in range(1, len(words))):
                return start
        return -1

    def positions(self, term: str) -> list[int]:
        """Sorted positions of ``term`` (built on first use: most matches never need them)."""
        if self._positions is None:
            index: dict[str, list[int]] = {}
            for i, token in enumerate(self.tokens):
                index.setdefault(token, []).append(i)
            for i, variant in self.extra:
                index.setdefault(variant, []).append(i)
            for plist in index.values():
                plist.sort()
            self._positions = index
        return self._positions.get(term, [])


def _host_suffixes(link: str) -> frozenset[str]:
    host = _host_of(link)
    if not host:
        return frozenset()
    parts = host.split(".")
    return frozenset(".".join(parts[i:]) for i in range(len(parts)))


def _host_of(value: str) -> str:
    value = value.strip().lower()
    if not value:
        return ""
    if "://" not in value:
        value = "http://" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return ""
    host = host.strip(".")
    if host.startswith("www."):
        host = host[4:]
    return host


def _first_terms(ft: FieldText, n: int) -> frozenset[str]:
    """The terms among the first ``n`` words of a field."""
    if len(ft.tokens) <= n:
        return ft.terms
    early = frozenset(ft.tokens[:n])
    if ft.extra:
        early = early.union(v for i, v in ft.extra if i < n)
    return early


def position_weight(field_name: str, position: int) -> float:
    """The weight of a hit at word ``position`` of a field (see the module docstring)."""
    if field_name == "title":
        return _W_TITLE
    if field_name == "summary":
        return _W_SUMMARY if position < DEEP_AFTER else DEEP_WEIGHT
    if field_name == "content":
        if position < LEAD_WORDS:
            return _W_SUMMARY
        return _W_CONTENT if position < DEEP_AFTER else DEEP_WEIGHT
    return FIELD_WEIGHTS[field_name]


_MARKUP = re.compile(r"<[A-Za-z/!]|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _plain(value: str) -> str:
    # Cheap tests first: most feed text reaching us is already plain ("AT&T" is).
    if ("<" in value or "&" in value) and _MARKUP.search(value):
        return html_to_text(value)
    return value


def _without_korean_boilerplate(value: str) -> str:
    if not has_hangul(value):
        return value  # the rules are for Korean pages; English text is left as it is
    # Sub-headlines stay (on a line of their own): their words are the story's.
    return strip_korean_boilerplate(_plain(value), keep_subheadlines=True)


class Document:
    """An article tokenised once, ready for any number of queries."""

    __slots__ = (
        "_early_content",
        "_early_summary",
        "_lead",
        "_title",
        "article_id",
        "fields",
        "keys",
        "site",
        "text_terms",
    )

    def __init__(
        self,
        article_id: str,
        *,
        title: str = "",
        summary: str = "",
        content: str = "",
        source: str = "",
        link: str = "",
    ) -> None:
        self.article_id = article_id
        self.fields: dict[str, FieldText] = {
            "title": FieldText(_plain(title)),
            "summary": FieldText(_plain(summary)),
            "content": FieldText(_plain(content)),
            "source": FieldText(source),
        }
        self.site: frozenset[str] = _host_suffixes(link)
        summary, content = self.fields["summary"], self.fields["content"]
        self.text_terms: frozenset[str] = self.fields["title"].terms | summary.terms | content.terms
        self._title = self.fields["title"].terms
        self._early_summary = _first_terms(summary, DEEP_AFTER)
        self._lead = _first_terms(content, LEAD_WORDS)
        self._early_content = _first_terms(content, DEEP_AFTER)
        prefixed = [f"source{_KEY_SEP}{t}" for t in self.fields["source"].terms]
        prefixed.extend(f"site{_KEY_SEP}{h}" for h in self.site)
        self.keys: frozenset[str] = self.text_terms.union(prefixed) if prefixed else self.text_terms

    def text_weight(self, term: str) -> float:
        """``term_weight(term, None)``: the best of title, summary and content, fast.

        The cascade relies on title > summary = lead > content > deep (checked at
        import).
        """
        if term in self._title:
            return _W_TITLE
        if term in self._early_summary or term in self._lead:
            return _W_SUMMARY
        if term in self._early_content:
            return _W_CONTENT
        if term in self.text_terms:
            return DEEP_WEIGHT
        return 0.0

    def term_weight(self, term: str, fields: tuple[str, ...] | None) -> float:
        """The weight of the best field holding ``term`` (0.0 if none)."""
        if fields is None:
            if term not in self.text_terms:
                return 0.0
            fields = TEXT_FIELDS
        best = 0.0
        for name in fields:
            if name == "site" or term not in self.fields[name].terms:
                continue
            if name == "summary":
                weight = _W_SUMMARY if term in self._early_summary else DEEP_WEIGHT
            elif name == "content":
                if term in self._lead:
                    weight = _W_SUMMARY
                elif term in self._early_content:
                    weight = _W_CONTENT
                else:
                    weight = DEEP_WEIGHT
            else:
                weight = FIELD_WEIGHTS[name]
            best = max(best, weight)
        return best


def prepare_document(article: Article) -> Document:
    """Tokenise an article's title, summary, content, source and link host once.

    HTML in the summary or content is reduced to text first; Korean publisher
    boilerplate (datelines, bylines, credits, "For Use Only in the Republic of Korea"
    redistribution notes, promos) is removed from them, so that it matches nothing.
    """
    return Document(
        article.id,
        title=article.title or "",
        summary=_without_korean_boilerplate(article.summary or ""),
        content=_without_korean_boilerplate(article.content or ""),
        source=article.source or "",
        link=article.link or "",
    )


# --------------------------------------------------------------------------------------
# Syntax tree
#
# Every node answers two questions: ``test`` (does it match? the fast path the
# matcher uses on candidates) and ``explain`` (does it match, and which leaves
# matched with which weight).  ``display`` is what a person typed, folded; it
# does not take part in equality, so identical queries written in another case
# compare equal (the matcher shares their work).


Hits = dict[str, float]


class Node:
    """Base class of the syntax tree."""

    __slots__ = ()

    def test(self, doc: Document) -> bool:
        raise NotImplementedError

    def explain(self, doc: Document, hits: Hits) -> bool:
        """True when the node matches; matched leaves are added to ``hits``."""
        raise NotImplementedError

    def leaves(self) -> list[Leaf]:
        return []


class Leaf(Node):
    """A node that finds spans of words: Term, Phrase, AnyOf."""

    __slots__ = ()

    def spans(self, doc: Document, field_name: str) -> list[tuple[int, int]]:
        raise NotImplementedError

    def field_names(self) -> tuple[str, ...]:
        raise NotImplementedError


def _field_names(fields: tuple[str, ...] | None) -> tuple[str, ...]:
    return TEXT_FIELDS if fields is None else fields


@dataclass(frozen=True, slots=True)
class Term(Leaf):
    """One canonical word, optionally limited to ``fields``."""

    word: str
    fields: tuple[str, ...] | None = None
    display: str = field(default="", compare=False)

    def test(self, doc: Document) -> bool:
        if self.fields is None:
            return self.word in doc.text_terms
        f = doc.fields
        return any(self.word in f[name].terms for name in self.fields)

    def explain(self, doc: Document, hits: Hits) -> bool:
        if self.fields is None:
            weight = doc.text_weight(self.word)
        else:
            weight = doc.term_weight(self.word, self.fields)
        if weight <= 0.0:
            return False
        label = self.display or self.word
        if hits.get(label, 0.0) < weight:
            hits[label] = weight
        return True

    def spans(self, doc: Document, field_name: str) -> list[tuple[int, int]]:
        return [(p, p + 1) for p in doc.fields[field_name].positions(self.word)]

    def field_names(self) -> tuple[str, ...]:
        return _field_names(self.fields)

    def leaves(self) -> list[Leaf]:
        return [self]


@dataclass(frozen=True, slots=True)
class Phrase(Leaf):
    """Consecutive canonical words, optionally limited to ``fields``."""

    words: tuple[str, ...]
    fields: tuple[str, ...] | None = None
    display: str = field(default="", compare=False)

    def _first_in(self, ft: FieldText) -> int:
        """Start of the first occurrence in ``ft``, or -1."""
        return ft.find_phrase(self.words)

    def test(self, doc: Document) -> bool:
        words = self.words
        if self.fields is None and not all(w in doc.text_terms for w in words):
            return False
        f = doc.fields
        return any(self._first_in(f[name]) >= 0 for name in _field_names(self.fields))

    def explain(self, doc: Document, hits: Hits) -> bool:
        best = 0.0
        for name in _field_names(self.fields):
            start = self._first_in(doc.fields[name])
            if start < 0:
                continue
            best = max(best, position_weight(name, start))
        if best <= 0.0:
            return False
        label = self.display or " ".join(self.words)
        if hits.get(label, 0.0) < best:
            hits[label] = best
        return True

    def spans(self, doc: Document, field_name: str) -> list[tuple[int, int]]:
        ft = doc.fields[field_name]
        if not all(w in ft.terms for w in self.words):
            return []
        later = [set(ft.positions(w)) for w in self.words[1:]]
        n = len(self.words)
        return [
            (s, s + n)
            for s in ft.positions(self.words[0])
            if all(s + k in later[k - 1] for k in range(1, n))
        ]

    def field_names(self) -> tuple[str, ...]:
        return _field_names(self.fields)

    def leaves(self) -> list[Leaf]:
        return [self]


@dataclass(frozen=True, slots=True)
class Site(Node):
    """The article's link host is ``host`` or one of its subdomains."""

    host: str
    display: str = field(default="", compare=False)

    def test(self, doc: Document) -> bool:
        return self.host in doc.site

    def explain(self, doc: Document, hits: Hits) -> bool:
        if self.host not in doc.site:
            return False
        hits[self.display or f"site:{self.host}"] = FIELD_WEIGHTS["site"]
        return True


@dataclass(frozen=True, slots=True)
class AnyOf(Leaf):
    """A named alias group: any of its members (Terms and Phrases)."""

    group: str
    members: tuple[Leaf, ...]
    fields: tuple[str, ...] | None = None

    def test(self, doc: Document) -> bool:
        return any(m.test(doc) for m in self.members)

    def explain(self, doc: Document, hits: Hits) -> bool:
        # A group is one concept: it scores its best-placed member; the other
        # members that matched are named in ``why`` but add nothing.
        local: Hits = {}
        for member in self.members:
            member.explain(doc, local)
        if not local:
            return False
        best = max(local, key=local.__getitem__)
        for label, weight in local.items():
            weight = weight if label == best else 0.0
            if hits.get(label, -1.0) < weight:
                hits[label] = weight
        return True

    def spans(self, doc: Document, field_name: str) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for member in self.members:
            out.extend(member.spans(doc, field_name))
        out.sort()
        return out

    def field_names(self) -> tuple[str, ...]:
        return _field_names(self.fields)

    def leaves(self) -> list[Leaf]:
        return list(self.members)


@dataclass(frozen=True, slots=True)
class Near(Node):
    """Two leaves within ``distance`` words of each other, in either order, in one field."""

    left: Leaf
    right: Leaf
    distance: int

    def _within(self, doc: Document) -> bool:
        fields = [n for n in self.left.field_names() if n in self.right.field_names()]
        for name in fields:
            left = self.left.spans(doc, name)
            if not left:
                continue
            right = self.right.spans(doc, name)
            if not right:
                continue
            starts = [s for s, _ in right]
            longest = max(e - s for s, e in right)
            for ls, le in left:
                # only right spans that start close enough can be within reach
                lo = bisect.bisect_left(starts, ls - self.distance - longest)
                hi = bisect.bisect_right(starts, le + self.distance)
                for rs, re_ in right[lo:hi]:
                    if re_ <= ls:
                        gap = ls - re_
                    elif le <= rs:
                        gap = rs - le
                    else:
                        gap = 0
                    if gap <= self.distance:
                        return True
        return False

    def test(self, doc: Document) -> bool:
        return self.left.test(doc) and self.right.test(doc) and self._within(doc)

    def explain(self, doc: Document, hits: Hits) -> bool:
        if not self.test(doc):
            return False
        self.left.explain(doc, hits)
        self.right.explain(doc, hits)
        return True

    def leaves(self) -> list[Leaf]:
        return [*self.left.leaves(), *self.right.leaves()]


@dataclass(frozen=True, slots=True)
class And(Node):
    children: tuple[Node, ...]

    def test(self, doc: Document) -> bool:
        return all(c.test(doc) for c in self.children)

    def explain(self, doc: Document, hits: Hits) -> bool:
        local: Hits = {}
        for child in self.children:
            if not child.explain(doc, local):
                return False
        for label, weight in local.items():
            if hits.get(label, -1.0) < weight:
                hits[label] = weight
        return True

    def leaves(self) -> list[Leaf]:
        return [leaf for c in self.children for leaf in c.leaves()]


@dataclass(frozen=True, slots=True)
class Or(Node):
    children: tuple[Node, ...]

    def test(self, doc: Document) -> bool:
        return any(c.test(doc) for c in self.children)

    def explain(self, doc: Document, hits: Hits) -> bool:
        found = False
        for child in self.children:
            if child.explain(doc, hits):
                found = True
        return found

    def leaves(self) -> list[Leaf]:
        return [leaf for c in self.children for leaf in c.leaves()]


@dataclass(frozen=True, slots=True)
class Not(Node):
    child: Node

    def test(self, doc: Document) -> bool:
        return not self.child.test(doc)

    def explain(self, doc: Document, hits: Hits) -> bool:
        return not self.child.test(doc)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query. ``text`` is what was typed; ``root`` the syntax tree."""

    text: str = field(compare=False)
    root: Node

    def matches(self, doc: Document) -> bool:
        """True when the query matches (no score): the fast path."""
        return self.root.test(doc)

    def evaluate(self, doc: Document) -> tuple[bool, float, tuple[str, ...]]:
        """``(matched, score, why)`` on a prepared document.

        ``score`` sums the weights of the distinct terms that matched (title 3,
        summary or the content's lead 2, content 1, deep text 0.5; an @group
        counts once); ``why`` names them, strongest first.  A query of only
        exclusions matches with score 0.
        """
        hits: Hits = {}
        if not self.root.explain(doc, hits):
            return False, 0.0, ()
        ordered = sorted(hits.items(), key=lambda kv: -kv[1])
        return True, float(sum(hits.values())), tuple(label for label, _ in ordered)


# --------------------------------------------------------------------------------------
# Lexer


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # WORD PHRASE ALIAS FIELD LPAREN RPAREN AND OR NOT NEAR EOF
    text: str
    pos: int
    value: int = 0  # NEAR distance


_FIELD_PREFIX = re.compile(r"([A-Za-z]+):")
_NEAR = re.compile(r"NEAR(?:/(\d+))?")
_STOP = frozenset(' \t\r\n\f\v()"\u201c\u201d\u3000')
_QUOTES = {'"': '"', "\u201c": "\u201d", "\u201d": "\u201d"}


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "(":
            toks.append(_Tok("LPAREN", c, i))
            i += 1
        elif c == ")":
            toks.append(_Tok("RPAREN", c, i))
            i += 1
        elif c in _QUOTES:
            close = _QUOTES[c]
            end = text.find(close, i + 1)
            if close != '"' and end < 0:
                end = text.find('"', i + 1)
            if end < 0:
                raise QueryError(
                    "unclosed quote",
                    position=i,
                    hint='Close the phrase with a second ", e.g. "north korea"',
                )
            toks.append(_Tok("PHRASE", text[i + 1 : end], i))
            i = end + 1
        elif c == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != ")":
            toks.append(_Tok("NOT", "-", i))
            i += 1
        elif c == "-":
            raise QueryError(
                "a lone '-'",
                position=i,
                hint="Put the minus right before the word to exclude, with no space: -sports",
            )
        else:
            start = i
            while i < n and text[i] not in _STOP and not text[i].isspace():
                i += 1
            word = text[start:i]
            m = _FIELD_PREFIX.match(word)
            if m and m.group(1).lower() in FIELDS:
                toks.append(_Tok("FIELD", m.group(1).lower(), start))
                rest = word[m.end() :]
                if rest:
                    if rest.startswith("-"):
                        raise QueryError(
                            "a field cannot hold an exclusion",
                            position=start + m.end(),
                            hint=f"Put the minus before the field: -{m.group(1)}:{rest[1:]}",
                        )
                    toks.append(_word_tok(rest, start + m.end()))
                elif i >= n or text[i] not in '("\u201c':
                    raise QueryError(
                        f"nothing after '{m.group(0)}'",
                        position=start,
                        hint=f"Write the word right after the colon: {m.group(0)}korea",
                    )
            elif m and m.end() < len(word) and m.group(1).isalpha() and len(m.group(1)) <= 12:
                known = ", ".join(f"{f}:" for f in FIELDS)
                raise QueryError(
                    f"unknown field '{m.group(1)}:'",
                    position=start,
                    hint=f"Fields are {known}",
                )
            else:
                toks.append(_word_tok(word, start))
    toks.append(_Tok("EOF", "", n))
    return toks


def _word_tok(word: str, pos: int) -> _Tok:
    if word in ("AND", "OR", "NOT"):
        return _Tok(word, word, pos)
    if word.startswith("NEAR"):
        m = _NEAR.fullmatch(word)
        if m:
            distance = int(m.group(1)) if m.group(1) else DEFAULT_NEAR
            if not 0 <= distance <= MAX_NEAR:
                raise QueryError(
                    f"NEAR distance {distance} is too large",
                    position=pos,
                    hint=f"Use NEAR/1 to NEAR/{MAX_NEAR}",
                )
            return _Tok("NEAR", word, pos, distance)
        if word.startswith("NEAR/"):
            raise QueryError(
                "NEAR needs a number", position=pos, hint="Write e.g. sanctions NEAR/5 korea"
            )
    if word.startswith("@"):
        return _Tok("ALIAS", word[1:], pos)
    return _Tok("WORD", word, pos)


# --------------------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(
        self, text: str, toks: list[_Tok], groups: Mapping[str, AliasGroup], max_terms: int
    ) -> None:
        self.text = text
        self.toks = toks
        self.i = 0
        self.groups = groups
        self.terms = 0
        self.max_terms = max_terms
        self.depth = 0
        self._alias_cache: dict[tuple[str, tuple[str, ...] | None], AnyOf] = {}

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def next(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.parse_and(None)
        tok = self.peek()
        if tok.kind == "RPAREN":
            raise QueryError(
                "unexpected ')'", position=tok.pos, hint="Remove it, or add the matching '('"
            )
        return node

    def parse_and(self, fields: tuple[str, ...] | None) -> Node:
        items = [self.parse_or(fields)]
        while True:
            tok = self.peek()
            if tok.kind in ("EOF", "RPAREN"):
                break
            if tok.kind == "AND":
                self.next()
                if self.peek().kind in ("EOF", "RPAREN", "AND", "OR"):
                    raise QueryError(
                        "AND needs something on both sides",
                        position=tok.pos,
                        hint="Write e.g. korea AND talks",
                    )
            items.append(self.parse_or(fields))
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_or(self, fields: tuple[str, ...] | None) -> Node:
        items = [self.parse_unary(fields)]
        while self.peek().kind == "OR":
            tok = self.next()
            if self.peek().kind in ("EOF", "RPAREN", "AND", "OR"):
                raise QueryError(
                    "OR needs something on both sides",
                    position=tok.pos,
                    hint="Write e.g. talks OR summit",
                )
            items.append(self.parse_unary(fields))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_unary(self, fields: tuple[str, ...] | None) -> Node:
        negations = 0
        first = self.peek()
        while self.peek().kind == "NOT":
            self.next()
            negations += 1
        if negations and self.peek().kind in ("EOF", "RPAREN", "AND", "OR", "NEAR"):
            raise QueryError(
                "nothing to exclude",
                position=first.pos,
                hint="Put the word to leave out right after NOT or -, e.g. -sports",
            )
        node = self.parse_near(fields)
        for _ in range(negations % 2):
            node = Not(node)
        return node

    def parse_near(self, fields: tuple[str, ...] | None) -> Node:
        left = self.parse_atom(fields)
        if self.peek().kind != "NEAR":
            return left
        tok = self.next()
        if self.peek().kind in ("EOF", "RPAREN", "AND", "OR", "NEAR", "NOT"):
            raise QueryError(
                "NEAR needs a word on both sides",
                position=tok.pos,
                hint="Write e.g. sanctions NEAR/5 korea",
            )
        right = self.parse_atom(fields)
        if not isinstance(left, Leaf) or not isinstance(right, Leaf):
            raise QueryError(
                "NEAR joins two words, phrases or @groups",
                position=tok.pos,
                hint='Write e.g. "north korea" NEAR/5 sanctions; use AND for the rest',
            )
        if self.peek().kind == "NEAR":
            raise QueryError(
                "one NEAR at a time",
                position=self.peek().pos,
                hint="Combine with AND: (a NEAR/5 b) (b NEAR/5 c)",
            )
        return Near(left, right, tok.value)

    def parse_atom(self, fields: tuple[str, ...] | None) -> Node:
        tok = self.next()
        if tok.kind == "FIELD":
            inner = self.peek()
            if inner.kind not in ("WORD", "PHRASE", "ALIAS", "LPAREN"):
                raise QueryError(
                    f"nothing after '{tok.text}:'",
                    position=tok.pos,
                    hint=f"Write the word right after the colon: {tok.text}:korea",
                )
            return self.parse_atom((tok.text,))
        if tok.kind == "LPAREN":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryError(
                    "too many nested parentheses",
                    position=tok.pos,
                    hint=f"Use at most {MAX_DEPTH} levels of parentheses",
                )
            if self.peek().kind == "RPAREN":
                raise QueryError(
                    "empty parentheses", position=tok.pos, hint="Put words inside, or remove them"
                )
            node = self.parse_and(fields)
            close = self.next()
            if close.kind != "RPAREN":
                raise QueryError("missing ')'", position=tok.pos, hint="Close every '(' with a ')'")
            self.depth -= 1
            return node
        if tok.kind == "WORD":
            return self.leaf(tok.text, tok.pos, fields, phrase=False)
        if tok.kind == "PHRASE":
            return self.leaf(tok.text, tok.pos, fields, phrase=True)
        if tok.kind == "ALIAS":
            return self.alias(tok, fields)
        if tok.kind == "RPAREN":
            raise QueryError(
                "unexpected ')'", position=tok.pos, hint="Remove it, or add the matching '('"
            )
        if tok.kind == "EOF":
            if tok.pos == 0 or not self.text.strip():
                raise QueryError(
                    "empty query", position=0, hint='Type at least one word, e.g. "north korea"'
                )
            raise QueryError(
                "the query ends too early", position=tok.pos, hint="Finish it with a word"
            )
        # AND / OR / NEAR where a word should be
        raise QueryError(
            f"{tok.text} needs a word before it",
            position=tok.pos,
            hint=f"Write e.g. talks {tok.text} summit",
        )

    def count_term(self, pos: int) -> None:
        self.terms += 1
        if self.terms > self.max_terms:
            raise QueryError(
                "too many terms",
                position=pos,
                hint=f"Use at most {self.max_terms} words; an @group counts as one",
            )

    def leaf(self, text: str, pos: int, fields: tuple[str, ...] | None, *, phrase: bool) -> Node:
        self.count_term(pos)
        if fields == ("site",):
            host = _host_of(text)
            if not host or " " in host:
                raise QueryError(
                    f"'{text}' is not a website", position=pos, hint="Write e.g. site:bbc.co.uk"
                )
            return Site(host, display=f"site:{host}")
        words = tokenize(text)
        if not words:
            if phrase:
                raise QueryError(
                    "empty phrase", position=pos, hint='Put words between the quotes: "north korea"'
                )
            raise QueryError(
                f"'{text}' has no letters or digits to search for",
                position=pos,
                hint="Remove it, or quote it with words around it",
            )
        display = fold(text).strip()
        if fields is not None:
            display = f"{fields[0]}:{display}"
        if len(words) == 1:
            return Term(words[0], fields, display=display)
        return Phrase(tuple(words), fields, display=display)

    def alias(self, tok: _Tok, fields: tuple[str, ...] | None) -> Node:
        self.count_term(tok.pos)
        name = tok.text.lower()
        if name not in self.groups or not ALIAS_ID.fullmatch(name):
            close = difflib.get_close_matches(name, list(self.groups), n=3)
            hint = (
                f"Did you mean {', '.join('@' + c for c in close)}?"
                if close
                else "Known groups: " + ", ".join("@" + g for g in sorted(self.groups)[:12])
            )
            raise QueryError(f"unknown group '@{tok.text}'", position=tok.pos, hint=hint)
        if fields == ("site",):
            raise QueryError(
                "site: takes a website, not a group",
                position=tok.pos,
                hint="Write e.g. site:bbc.co.uk",
            )
        key = (name, fields)
        cached = self._alias_cache.get(key)
        if cached is not None:
            return cached
        node = build_group(name, self.groups, fields)
        self._alias_cache[key] = node
        return node


def build_group(
    name: str, groups: Mapping[str, AliasGroup], fields: tuple[str, ...] | None = None
) -> AnyOf:
    """The ``AnyOf`` node of alias group ``name`` (members as Terms and Phrases)."""
    members: dict[Leaf, None] = {}
    for term in expand(name, groups):
        words = tokenize(term)
        if not words:
            continue
        display = fold(term).strip()
        leaf: Leaf
        if len(words) == 1:
            leaf = Term(words[0], fields, display=display)
        else:
            leaf = Phrase(tuple(words), fields, display=display)
        members.setdefault(leaf, None)
    return AnyOf(name, tuple(members), fields)


def parse_query(
    text: str,
    *,
    aliases: Mapping[str, AliasGroup] | None = None,
    max_length: int = MAX_QUERY_LENGTH,
    max_terms: int = MAX_TERMS,
) -> Query:
    """Parse ``text`` into a :class:`Query`.

    Raises :class:`~bot.errors.QueryError` (with ``position`` and ``hint``) for
    an empty, malformed or too long query.  ``aliases`` defaults to the
    built-in alias groups; operators' topic files may pass larger limits.
    """
    if not isinstance(text, str):
        raise QueryError("a query must be text", position=0, hint="Type words to search for")
    if len(text) > max_length:
        raise QueryError(
            f"the query is too long ({len(text)} characters)",
            position=max_length,
            hint=f"Keep it under {max_length} characters; an @group can stand for many words",
        )
    if not text.strip():
        raise QueryError(
            "empty query", position=0, hint='Type at least one word, e.g. "north korea"'
        )
    groups = builtin_aliases() if aliases is None else aliases
    toks = _lex(text)
    root = _Parser(text, toks, groups, max_terms).parse()
    return Query(text=text, root=root)
