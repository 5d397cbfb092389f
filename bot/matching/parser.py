"""The filter query language: the lexer and parser that turn text into a syntax tree.

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
    ~"missile launch"  ~sanctions   by meaning: the article's title and lead mean something
                                 close to the phrase (cosine of their vectors at least
                                 DEFAULT_SIMILARITY), in any language (across languages
                                 similarities run lower: ~0.5"..." sets the threshold)
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

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import QueryError
from bot.i18n import N_
from bot.matching.aliases import ALIAS_ID, AliasGroup, builtin_aliases, expand
from bot.matching.document import FIELDS, host_of
from bot.matching.normalize import fold, tokenize
from bot.matching.syntax import (
    DEFAULT_SIMILARITY,
    And,
    AnyOf,
    Leaf,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    Semantic,
    Site,
    Term,
)

# the filter language in /help, translated where it is shown
QUERY_HELP = N_("""\
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
  ~"missile launch"          by meaning, in any language: title and lead
                             close to the phrase (similarity 0.61 or more;
                             ~0.5"..." for less, as across languages); /test
Whole words, any case or accent; plurals, possessives and British/American
spellings match (talk = talks = talks', defence = defense); Korean words match
with particles (북한 = 북한은). Operators AND OR NOT NEAR are upper-case.
At most 500 characters.""")


MAX_QUERY_LENGTH = 500


MAX_TERMS = 50


MAX_DEPTH = 8


MAX_NEAR = 50


DEFAULT_NEAR = 10


MAX_SEMANTIC = 5  # semantic terms in one query: each is one matrix row, and one phrase to embed


MAX_PHRASE_CHARS = 200


# ~0.6"phrase": a threshold only before a quote, so that ~2024 or ~10k stay words
_SEMANTIC = re.compile(r"~(?:(\d*\.?\d+)(?=[\"\u201c\u201d]))?")
_SIMILARITY = re.compile(r"\d*\.\d+")  # ~0.5 with no phrase after it


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # WORD PHRASE ALIAS FIELD LPAREN RPAREN AND OR NOT NEAR SEMANTIC EOF
    text: str
    pos: int
    value: int = 0  # NEAR distance
    threshold: float = -1.0  # SEMANTIC: the similarity asked for (-1: the default)


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
        elif c == "~":
            i = _lex_semantic(text, i, toks)
        elif c in _QUOTES:
            close = _QUOTES[c]
            end = text.find(close, i + 1)
            if close != '"' and end < 0:
                end = text.find('"', i + 1)
            if end < 0:
                raise QueryError(
                    N_("unclosed quote"),
                    position=i,
                    hint=N_('Close the phrase with a second ", e.g. "north korea"'),
                )
            toks.append(_Tok("PHRASE", text[i + 1 : end], i))
            i = end + 1
        elif c == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != ")":
            toks.append(_Tok("NOT", "-", i))
            i += 1
        elif c == "-":
            raise QueryError(
                N_("a lone '-'"),
                position=i,
                hint=N_("Put the minus right before the word to exclude, with no space: -sports"),
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
                if rest.startswith("~") or (not rest and text[i : i + 1] == "~"):
                    raise QueryError(
                        f"a field cannot hold a semantic term ('{m.group(0)}~')",
                        position=start,
                        hint='~"..." always reads the title and lead: write it without the field',
                    )
                inner = _FIELD_PREFIX.match(rest)
                if inner and inner.group(1).lower() in FIELDS:
                    outer, second = m.group(1).lower(), inner.group(1).lower()
                    after = rest[inner.end() :] or "korea"
                    example = f"{outer}:{after}"
                    if second != outer:
                        example += f" OR {second}:{after}"
                    raise QueryError(
                        N_("one field per term: '{token}' names two"),
                        position=start,
                        hint=N_("Write one field before the word: {example}"),
                        values={"token": word, "example": example},
                    )
                if rest:
                    if rest.startswith("-"):
                        raise QueryError(
                            N_("a field cannot hold an exclusion"),
                            position=start + m.end(),
                            hint=N_("Put the minus before the field: {example}"),
                            values={"example": f"-{m.group(1)}:{rest[1:]}"},
                        )
                    toks.append(_word_tok(rest, start + m.end()))
                elif i >= n or text[i] not in '("\u201c':
                    raise QueryError(
                        N_("nothing after '{token}'"),
                        position=start,
                        hint=N_("Write the word right after the colon: {example}"),
                        values={"token": m.group(0), "example": f"{m.group(0)}korea"},
                    )
            elif m and m.end() < len(word) and m.group(1).isalpha() and len(m.group(1)) <= 12:
                known = ", ".join(f"{f}:" for f in FIELDS)
                raise QueryError(
                    N_("unknown field '{field}:'"),
                    position=start,
                    hint=N_("Fields are {fields}"),
                    values={"field": m.group(1), "fields": known},
                )
            else:
                toks.append(_word_tok(word, start))
    toks.append(_Tok("EOF", "", n))
    return toks


def _lex_semantic(text: str, i: int, toks: list[_Tok]) -> int:
    """``~"phrase"``, ``~word`` or ``~0.6"phrase"`` at ``text[i]``; returns where it ends."""
    m = _SEMANTIC.match(text, i)
    assert m is not None  # the pattern matches a lone "~"
    threshold = float(m.group(1)) if m.group(1) else -1.0
    j = m.end()
    example = 'Write e.g. ~"missile launch", ~sanctions or ~0.6"missile launch"'
    if j < len(text) and text[j] in _QUOTES:
        close = _QUOTES[text[j]]
        end = text.find(close, j + 1)
        if close != '"' and end < 0:
            end = text.find('"', j + 1)
        if end < 0:
            raise QueryError("unclosed quote", position=j, hint=example)
        phrase, after = text[j + 1 : end], end + 1
    else:
        end = j
        while end < len(text) and text[end] not in _STOP and not text[end].isspace():
            end += 1
        phrase, after = text[j:end], end
    if not phrase.strip():
        raise QueryError("nothing after '~'", position=i, hint=example)
    if not m.group(1) and after == end and _SIMILARITY.fullmatch(phrase):
        # ~0.5 alone: a similarity that lost its phrase, not a search for the text "0.5"
        raise QueryError(
            N_("a similarity needs its phrase: '~{number}'"),
            position=i,
            hint=N_("Write the phrase in quotes right after the number: {example}"),
            values={"number": phrase, "example": f'~{phrase}"missile launch"'},
        )
    if m.group(1) and not 0.0 < threshold < 1.0:
        raise QueryError(
            f"similarity {m.group(1)} is out of range",
            position=i,
            hint='Give a number between 0 and 1, e.g. ~0.6"missile launch"',
        )
    toks.append(_Tok("SEMANTIC", phrase, i, threshold=threshold))
    return after


def _word_tok(word: str, pos: int) -> _Tok:
    if word in ("AND", "OR", "NOT"):
        return _Tok(word, word, pos)
    if word.startswith("NEAR"):
        m = _NEAR.fullmatch(word)
        if m:
            distance = int(m.group(1)) if m.group(1) else DEFAULT_NEAR
            if not 0 <= distance <= MAX_NEAR:
                raise QueryError(
                    N_("NEAR distance {distance} is too large"),
                    position=pos,
                    hint=N_("Use NEAR/1 to NEAR/{max}"),
                    values={"distance": distance, "max": MAX_NEAR},
                )
            return _Tok("NEAR", word, pos, distance)
        if word.startswith("NEAR/"):
            raise QueryError(
                N_("NEAR needs a number"),
                position=pos,
                hint=N_("Write e.g. sanctions NEAR/5 korea"),
            )
    if word.startswith("@"):
        return _Tok("ALIAS", word[1:], pos)
    return _Tok("WORD", word, pos)


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
        self.semantic = 0
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
                N_("unexpected ')'"),
                position=tok.pos,
                hint=N_("Remove it, or add the matching '('"),
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
                        N_("AND needs something on both sides"),
                        position=tok.pos,
                        hint=N_("Write e.g. korea AND talks"),
                    )
            items.append(self.parse_or(fields))
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_or(self, fields: tuple[str, ...] | None) -> Node:
        items = [self.parse_unary(fields)]
        while self.peek().kind == "OR":
            tok = self.next()
            if self.peek().kind in ("EOF", "RPAREN", "AND", "OR"):
                raise QueryError(
                    N_("OR needs something on both sides"),
                    position=tok.pos,
                    hint=N_("Write e.g. talks OR summit"),
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
                N_("nothing to exclude"),
                position=first.pos,
                hint=N_("Put the word to leave out right after NOT or -, e.g. -sports"),
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
                N_("NEAR needs a word on both sides"),
                position=tok.pos,
                hint=N_("Write e.g. sanctions NEAR/5 korea"),
            )
        right = self.parse_atom(fields)
        if not isinstance(left, Leaf) or not isinstance(right, Leaf):
            raise QueryError(
                N_("NEAR joins two words, phrases or @groups"),
                position=tok.pos,
                hint=N_('Write e.g. "north korea" NEAR/5 sanctions; use AND for the rest'),
            )
        if self.peek().kind == "NEAR":
            raise QueryError(
                N_("one NEAR at a time"),
                position=self.peek().pos,
                hint=N_("Combine with AND: (a NEAR/5 b) (b NEAR/5 c)"),
            )
        return Near(left, right, tok.value)

    def parse_atom(self, fields: tuple[str, ...] | None) -> Node:
        tok = self.next()
        if tok.kind == "FIELD":
            inner = self.peek()
            if inner.kind == "SEMANTIC":
                raise QueryError(
                    f"a field cannot hold a semantic term ('{tok.text}:~')",
                    position=tok.pos,
                    hint='~"..." always reads the title and lead: write it without the field',
                )
            if inner.kind not in ("WORD", "PHRASE", "ALIAS", "LPAREN"):
                raise QueryError(
                    N_("nothing after '{token}'"),
                    position=tok.pos,
                    hint=N_("Write the word right after the colon: {example}"),
                    values={"token": f"{tok.text}:", "example": f"{tok.text}:korea"},
                )
            return self.parse_atom((tok.text,))
        if tok.kind == "LPAREN":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryError(
                    N_("too many nested parentheses"),
                    position=tok.pos,
                    hint=N_("Use at most {max} levels of parentheses"),
                    values={"max": MAX_DEPTH},
                )
            if self.peek().kind == "RPAREN":
                raise QueryError(
                    N_("empty parentheses"),
                    position=tok.pos,
                    hint=N_("Put words inside, or remove them"),
                )
            node = self.parse_and(fields)
            close = self.next()
            if close.kind != "RPAREN":
                raise QueryError(
                    N_("missing ')'"), position=tok.pos, hint=N_("Close every '(' with a ')'")
                )
            self.depth -= 1
            return node
        if tok.kind == "WORD":
            return self.leaf(tok.text, tok.pos, fields, phrase=False)
        if tok.kind == "PHRASE":
            return self.leaf(tok.text, tok.pos, fields, phrase=True)
        if tok.kind == "ALIAS":
            return self.alias(tok, fields)
        if tok.kind == "SEMANTIC":
            return self.semantic_term(tok, fields)
        if tok.kind == "RPAREN":
            raise QueryError(
                N_("unexpected ')'"),
                position=tok.pos,
                hint=N_("Remove it, or add the matching '('"),
            )
        if tok.kind == "EOF":
            if tok.pos == 0 or not self.text.strip():
                raise QueryError(
                    N_("empty query"),
                    position=0,
                    hint=N_('Type at least one word, e.g. "north korea"'),
                )
            raise QueryError(
                N_("the query ends too early"), position=tok.pos, hint=N_("Finish it with a word")
            )
        # AND / OR / NEAR where a word should be
        raise QueryError(
            N_("{operator} needs a word before it"),
            position=tok.pos,
            hint=N_("Write e.g. talks {operator} summit"),
            values={"operator": tok.text},
        )

    def count_term(self, pos: int) -> None:
        self.terms += 1
        if self.terms > self.max_terms:
            raise QueryError(
                N_("too many terms"),
                position=pos,
                hint=N_("Use at most {max} words; an @group counts as one"),
                values={"max": self.max_terms},
            )

    def leaf(self, text: str, pos: int, fields: tuple[str, ...] | None, *, phrase: bool) -> Node:
        self.count_term(pos)
        if fields == ("site",):
            host = host_of(text)
            if not host or " " in host:
                raise QueryError(
                    N_("'{text}' is not a website"),
                    position=pos,
                    hint=N_("Write e.g. site:bbc.co.uk"),
                    values={"text": text},
                )
            return Site(host, display=f"site:{host}")
        words = tokenize(text)
        if not words:
            if phrase:
                raise QueryError(
                    N_("empty phrase"),
                    position=pos,
                    hint=N_('Put words between the quotes: "north korea"'),
                )
            raise QueryError(
                N_("'{text}' has no letters or digits to search for"),
                position=pos,
                hint=N_("Remove it, or quote it with words around it"),
                values={"text": text},
            )
        display = fold(text).strip()
        if fields is not None:
            display = f"{fields[0]}:{display}"
        if len(words) == 1:
            return Term(words[0], fields, display=display)
        return Phrase(tuple(words), fields, display=display)

    def semantic_term(self, tok: _Tok, fields: tuple[str, ...] | None) -> Node:
        self.count_term(tok.pos)
        self.semantic += 1
        if self.semantic > MAX_SEMANTIC:
            raise QueryError(
                "too many semantic terms",
                position=tok.pos,
                hint=f"Use at most {MAX_SEMANTIC} ~terms in one filter",
            )
        if fields is not None:
            raise QueryError(
                f"a field cannot hold a semantic term ('{fields[0]}:~')",
                position=tok.pos,
                hint='~"..." always reads the title and lead: write it outside the field',
            )
        phrase = " ".join(tok.text.split())
        if len(phrase) > MAX_PHRASE_CHARS:
            raise QueryError(
                "the phrase after '~' is too long",
                position=tok.pos,
                hint=f"Describe the story in at most {MAX_PHRASE_CHARS} characters",
            )
        threshold = tok.threshold if tok.threshold > 0 else DEFAULT_SIMILARITY
        shown = f"{tok.threshold:g}" if tok.threshold > 0 else ""
        return Semantic(phrase, threshold, display=f'~{shown}"{phrase}"')

    def alias(self, tok: _Tok, fields: tuple[str, ...] | None) -> Node:
        self.count_term(tok.pos)
        name = tok.text.lower()
        if name not in self.groups or not ALIAS_ID.fullmatch(name):
            close = difflib.get_close_matches(name, list(self.groups), n=3)
            if close:
                hint, groups = N_("Did you mean {groups}?"), ", ".join("@" + c for c in close)
            else:
                hint = N_("Known groups: {groups}")
                groups = ", ".join("@" + g for g in sorted(self.groups))  # all of them
            raise QueryError(
                N_("unknown group '@{group}'"),
                position=tok.pos,
                hint=hint,
                values={"group": tok.text, "groups": groups},
            )
        if fields == ("site",):
            raise QueryError(
                N_("site: takes a website, not a group"),
                position=tok.pos,
                hint=N_("Write e.g. site:bbc.co.uk"),
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
        raise QueryError(
            N_("a query must be text"), position=0, hint=N_("Type words to search for")
        )
    if len(text) > max_length:
        raise QueryError(
            N_("the query is too long ({count} characters)"),
            position=max_length,
            hint=N_("Keep it under {max} characters; an @group can stand for many words"),
            values={"count": len(text), "max": max_length},
        )
    if not text.strip():
        raise QueryError(
            N_("empty query"), position=0, hint=N_('Type at least one word, e.g. "north korea"')
        )
    groups = builtin_aliases() if aliases is None else aliases
    toks = _lex(text)
    root = _Parser(text, toks, groups, max_terms).parse()
    return Query(text=text, root=root)


_LOWER_OPERATORS = {"and": "AND", "or": "OR", "not": "NOT"}
_NO_TERM_BEFORE = frozenset({"EOF", "LPAREN", "AND", "OR", "NOT", "NEAR"})


def lowercase_operators(text: str) -> list[tuple[str, str]]:
    """(word, operator) for each ``and``/``or``/``not`` written in lower case between two
    terms of ``text`` (``korea and japan``): a required word, as the syntax says, that was
    perhaps meant as the operator; for a hint, never an error.  Quoted words are left alone."""
    try:
        toks = _lex(text)
    except QueryError:
        return []
    found: list[tuple[str, str]] = []
    for before, tok, after in zip(toks, toks[1:], toks[2:], strict=False):
        operator = _LOWER_OPERATORS.get(tok.text) if tok.kind == "WORD" else None
        between = before.kind not in _NO_TERM_BEFORE and after.kind not in ("EOF", "RPAREN")
        if operator and between and (tok.text, operator) not in found:
            found.append((tok.text, operator))
    return found
