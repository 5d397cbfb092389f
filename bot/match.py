"""The matching engine: every active query in one index, one pass per article.

How it works.  Each query is reduced to a *trigger set*: words such that any
article the query matches must contain at least one of them (for ``a b`` the
rarer of the two, for ``a OR b`` both, for a phrase its rarest word, for a
group all its members).  An inverted index maps each trigger word to the
queries it wakes.  Matching an article is then:

1. tokenise the article once (:func:`bot.query.prepare_document`);
2. look up each distinct word of the article in the index (a hash lookup per
   word: the token-level equivalent of one Aho-Corasick pass, since the text
   is already cut into canonical words);
3. run the boolean check of the woken candidates only; score and explain the
   ones that match, once per distinct query however many subscribers share it.

Queries that can match without any word being present (``-sports``, ``NOT
x OR y``) have no trigger set; they are checked on every article.

Adding or removing a subscription touches only its own trigger words: there is
no automaton to rebuild, so changes are O(size of the query).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from bot.aliases import AliasGroup
from bot.query import (
    _KEY_SEP,
    And,
    AnyOf,
    Document,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    Site,
    Term,
    parse_query,
    prepare_document,
)
from bot.records import Article, Match, Topic
from bot.topics import TOPIC_QUERY_MAX_LENGTH, TOPIC_QUERY_MAX_TERMS, compile_topic

__all__ = ["Matcher", "match_topic", "trigger_terms"]

# Words too common to be a good trigger when the query offers a rarer one.
_COMMON = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "said",
        "that",
        "the",
        "their",
        "they",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "new",
        "year",
        "say",
        "would",
        "not",
        "but",
        "after",
        "over",
        "more",
        "than",
        "been",
        "who",
        "one",
        "two",
        "also",
        "up",
        "out",
        "about",
        "into",
        "we",
        "i",
        "you",
        "year",
    ]
)


_SINGLE, _WORDS, _GENERAL = 1, 2, 3


@dataclass(slots=True, eq=False)
class _Compiled:
    """One distinct query and the subscriptions (keys -> thresholds) that share it.

    ``kind`` picks the cheapest check: ``_SINGLE`` is one unscoped word (woken
    means matched), ``_WORDS`` an AND of unscoped words (a subset test),
    ``_GENERAL`` anything else (the syntax tree).
    """

    query: Query
    triggers: frozenset[str] | None
    kind: int
    words: frozenset[str]
    labels: tuple[tuple[str, str], ...]  # (word, label) for _SINGLE and _WORDS
    seq: int = 0  # creation order: a stable order for equal scores
    keys: dict[str, float] = field(default_factory=dict)

    def score_words(self, weight: Callable[[str], float]) -> tuple[float, tuple[str, ...]]:
        """Score and why of a ``_WORDS`` query, exactly as ``Query.evaluate`` computes them."""
        hits: dict[str, float] = {}
        for word, label in self.labels:
            w = weight(word)
            if hits.get(label, -1.0) < w:
                hits[label] = w
        why = tuple(sorted(hits, key=lambda k: -hits[k]))
        return float(sum(hits.values())), why


class _Bucket:
    """The queries one trigger word wakes."""

    __slots__ = ("many", "one", "single")

    def __init__(self) -> None:
        self.single: _Compiled | None = None  # the query that is just this word
        self.one: dict[int, _Compiled] = {}  # this word is their only trigger
        self.many: dict[int, _Compiled] = {}  # several triggers: may be woken twice

    def __len__(self) -> int:
        return (self.single is not None) + len(self.one) + len(self.many)


def _term_key(word: str, fields: tuple[str, ...] | None) -> str:
    if fields == ("source",):
        return f"source{_KEY_SEP}{word}"
    return word


def _word_cost(word: str, postings: Mapping[str, object]) -> tuple[int, int, int]:
    bucket = postings.get(word)
    size = len(bucket) if bucket is not None else 0  # type: ignore[arg-type]
    return (word in _COMMON, size, -len(word))


def trigger_terms(
    node: Node, postings: Mapping[str, object] | None = None
) -> frozenset[str] | None:
    """Index keys one of which any document matching ``node`` must contain.

    ``None`` means no such set exists (the node can match an article without
    any particular word, e.g. ``NOT sports``).  ``postings`` (current index
    sizes) steers the choice towards rarer words.
    """
    postings = postings or {}

    def cost(keys: frozenset[str]) -> tuple[int, int]:
        common = sum(1 for k in keys if k in _COMMON)
        size = 0
        for k in keys:
            bucket = postings.get(k)
            size += len(bucket) if bucket is not None else 0  # type: ignore[arg-type]
        return (common, size + len(keys))

    def walk(n: Node) -> frozenset[str] | None:
        if isinstance(n, Term):
            return frozenset((_term_key(n.word, n.fields),))
        if isinstance(n, Phrase):
            best = min(n.words, key=lambda w: _word_cost(_term_key(w, n.fields), postings))
            return frozenset((_term_key(best, n.fields),))
        if isinstance(n, Site):
            return frozenset((f"site{_KEY_SEP}{n.host}",))
        if isinstance(n, AnyOf):
            out: set[str] = set()
            for m in n.members:
                sub = walk(m)
                if sub is None:
                    return None
                out |= sub
            return frozenset(out)
        if isinstance(n, Near):
            left, right = walk(n.left), walk(n.right)
            options = [s for s in (left, right) if s is not None]
            return min(options, key=cost) if options else None
        if isinstance(n, And):
            options = [s for s in (walk(c) for c in n.children) if s is not None]
            return min(options, key=cost) if options else None
        if isinstance(n, Or):
            out = set()
            for c in n.children:
                sub = walk(c)
                if sub is None:
                    return None
                out |= sub
            return frozenset(out)
        if isinstance(n, Not):
            return None
        return None

    return walk(node)


def _compile(query: Query, postings: Mapping[str, object]) -> _Compiled:
    root = query.root
    triggers = trigger_terms(root, postings)
    if isinstance(root, Term) and root.fields is None:
        labels = ((root.word, root.display or root.word),)
        return _Compiled(query, triggers, _SINGLE, frozenset((root.word,)), labels)
    if isinstance(root, And) and all(
        isinstance(c, Term) and c.fields is None for c in root.children
    ):
        terms = [c for c in root.children if isinstance(c, Term)]
        labels = tuple((c.word, c.display or c.word) for c in terms)
        return _Compiled(query, triggers, _WORDS, frozenset(w for w, _ in labels), labels)
    return _Compiled(query, triggers, _GENERAL, frozenset(), ())


class Matcher:
    """All active subscriptions' queries in one index.

    ``add``/``remove`` are incremental; ``match`` returns the subscriptions an
    article matches (score at or above their threshold), best score first;
    equal scores keep a stable order (roughly the order queries were added).
    Identical queries are evaluated once, whoever subscribed to them.
    """

    def __init__(self, *, aliases: Mapping[str, AliasGroup] | None = None) -> None:
        self._aliases = aliases
        self._by_key: dict[str, _Compiled] = {}
        self._by_root: dict[Node, _Compiled] = {}
        self._postings: dict[str, _Bucket] = {}
        self._always: dict[int, _Compiled] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def keys(self) -> Iterator[str]:
        return iter(self._by_key)

    def query(self, key: str) -> Query:
        """The query of subscription ``key`` (``KeyError`` if unknown)."""
        return self._by_key[key].query

    def add(self, key: str, query: str | Query, *, threshold: float = 0.0) -> Query:
        """Add (or replace) subscription ``key``; a string is parsed first.

        Strings are parsed with the generous limits of topic files: the
        shorter limits for chat input are enforced where that input arrives.
        Raises ``QueryError`` for a malformed query string, leaving the
        matcher unchanged.  Returns the parsed query.
        """
        if isinstance(query, Query):
            parsed = query
        else:
            parsed = parse_query(
                query,
                aliases=self._aliases,
                max_length=TOPIC_QUERY_MAX_LENGTH,
                max_terms=TOPIC_QUERY_MAX_TERMS,
            )
        if key in self._by_key:
            self.remove(key)
        compiled = self._by_root.get(parsed.root)
        if compiled is None:
            compiled = _compile(parsed, self._postings)
            self._seq += 1
            compiled.seq = self._seq
            self._by_root[parsed.root] = compiled
            self._index(compiled)
        compiled.keys[key] = float(threshold)
        self._by_key[key] = compiled
        return compiled.query

    def _index(self, compiled: _Compiled) -> None:
        ident = id(compiled)
        triggers = compiled.triggers
        if triggers is None:
            self._always[ident] = compiled
            return
        postings = self._postings
        for term in triggers:
            bucket = postings.get(term)
            if bucket is None:
                bucket = postings[term] = _Bucket()
            if compiled.kind == _SINGLE:
                bucket.single = compiled
            elif len(triggers) == 1:
                bucket.one[ident] = compiled
            else:
                bucket.many[ident] = compiled

    def remove(self, key: str) -> None:
        """Drop subscription ``key`` (no error if it is not there)."""
        compiled = self._by_key.pop(key, None)
        if compiled is None:
            return
        del compiled.keys[key]
        if compiled.keys:
            return
        del self._by_root[compiled.query.root]
        ident = id(compiled)
        if compiled.triggers is None:
            self._always.pop(ident, None)
            return
        for term in compiled.triggers:
            bucket = self._postings.get(term)
            if bucket is None:
                continue
            if bucket.single is compiled:
                bucket.single = None
            bucket.one.pop(ident, None)
            bucket.many.pop(ident, None)
            if not bucket:
                del self._postings[term]

    def candidates(self, doc: Document) -> list[_Compiled]:
        """The distinct queries woken by the document's words (plus trigger-less ones)."""
        found: dict[int, _Compiled] = dict(self._always)
        for term in doc.keys:
            bucket = self._postings.get(term)
            if bucket is not None:
                if bucket.single is not None:
                    found[id(bucket.single)] = bucket.single
                found.update(bucket.one)
                found.update(bucket.many)
        return list(found.values())

    def match_document(self, doc: Document) -> list[Match]:
        """Like :meth:`match`, on an already prepared document."""
        terms = doc.text_terms
        weight = doc.text_weight
        postings = self._postings
        scored: list[tuple[float, tuple[str, ...], _Compiled]] = []
        to_check: list[_Compiled] = []
        woken_many: dict[int, _Compiled] = {}
        for term in doc.keys:
            bucket = postings.get(term)
            if bucket is None:
                continue
            single = bucket.single
            if single is not None:  # woken by its only word: matched
                scored.append((weight(term), (single.labels[0][1],), single))
            if bucket.one:
                to_check.extend(bucket.one.values())
            if bucket.many:
                woken_many.update(bucket.many)
        to_check.extend(woken_many.values())
        to_check.extend(self._always.values())
        for compiled in to_check:
            if compiled.kind == _WORDS:
                if compiled.words <= terms:
                    score, why = compiled.score_words(weight)
                    scored.append((score, why, compiled))
            elif compiled.query.matches(doc):
                matched, score, why = compiled.query.evaluate(doc)
                if matched:
                    scored.append((score, why, compiled))
        scored.sort(key=lambda item: (-item[0], item[2].seq))
        article_id = doc.article_id
        out: list[Match] = []
        append = out.append
        for score, why, compiled in scored:
            for key, threshold in compiled.keys.items():
                if score >= threshold:
                    append(Match(article_id, key, True, score, why))
        return out

    def match(self, article: Article) -> list[Match]:
        """The subscriptions ``article`` matches, with score and why, best first."""
        return self.match_document(prepare_document(article))

    def evaluate(self, key: str, article: Article | Document) -> Match:
        """The decision of subscription ``key`` on one article, matched or not."""
        compiled = self._by_key[key]
        doc = article if isinstance(article, Document) else prepare_document(article)
        matched, score, why = compiled.query.evaluate(doc)
        threshold = compiled.keys[key]
        return Match(doc.article_id, key, matched and score >= threshold, score, why)

    def stats(self) -> dict[str, int]:
        """Sizes of the index, for benchmarks and /status."""
        return {
            "subscriptions": len(self._by_key),
            "distinct_queries": len(self._by_root),
            "trigger_terms": len(self._postings),
            "always_checked": len(self._always),
        }


@lru_cache(maxsize=256)
def _compiled_topic(topic: Topic) -> Query:
    return compile_topic(topic)


def match_topic(article: Article | Document, topic: Topic) -> Match:
    """The decision of one topic on one article (score checked against its threshold)."""
    doc = article if isinstance(article, Document) else prepare_document(article)
    matched, score, why = _compiled_topic(topic).evaluate(doc)
    return Match(doc.article_id, topic.id, matched and score >= topic.threshold, score, why)
