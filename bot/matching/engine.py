"""The matching engine: every active query in one index, one pass per article.

How it works.  Each distinct query is compiled once into

* a *trigger set*: index keys (canonical words) one of which any article the
  query matches must contain: for ``a b`` the rarer of the two, for ``a OR b``
  both, for a phrase its rarest word, for a group all its members;
* a *required set*: keys every matching article contains (``a b`` -> both,
  ``"north korea"`` -> both words, ``a OR b`` -> none).

An inverted index maps each trigger key to the queries it wakes.  When a
query has one trigger and requires a second key, it is filed under the pair,
so that an article only wakes it when both are present (found with a C-level
set intersection rather than one Python check per query).  Matching an
article is then:

1. tokenise the article once (:func:`bot.matching.document.prepare_document`);
2. look up each distinct word of the article in the index: a hash lookup per
   word, the token-level equivalent of one Aho-Corasick pass, since the text
   is already cut into canonical words;
3. check the woken candidates only: a one-word query is matched by being
   woken, an AND of words by a subset test, anything else by its syntax tree;
   score and explain each distinct query once, however many subscribers share
   it, and hand out one :class:`~bot.records.Match` per subscriber.

Queries that can match without any particular word (``-sports``, ``NOT x OR
y``) have no trigger set; they are checked on every article.

Semantic terms (``~"missile launch"``) take part through keys of their own,
``~<threshold>|<phrase>``: each distinct phrase's vector is made once, all of
them sit in one matrix, and an article's vector multiplied by it gives every
phrase's similarity in one matrix product; the keys whose similarity reaches
their threshold are added to the article's keys before the index is read, so
a semantic term wakes its queries like a word does.

Adding or removing a subscription touches only its own keys; there is no
automaton to rebuild (``bench/matching.py`` times what rebuilding one would
cost), so changes are O(size of the query).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, cast

import numpy as np

from bot.matching.aliases import AliasGroup
from bot.matching.document import KEY_SEP, Document, prepare_document
from bot.matching.parser import parse_query
from bot.matching.syntax import (
    And,
    AnyOf,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    Semantic,
    Site,
    Term,
    semantic_terms,
)
from bot.matching.topics import TOPIC_QUERY_MAX_LENGTH, TOPIC_QUERY_MAX_TERMS, compile_topic
from bot.records import Article, Match, Topic

__all__ = ["MatchGroup", "Matcher", "match_topic", "model_match", "required_keys", "trigger_terms"]

# Words too common to be a good trigger when the query offers a rarer one.
_COMMON = frozenset(
    str.split(
        """a an and are as at be by for from has have he her his i in is it its of on or
        said say that the their they this to was we were who will with would you year new
        not but after over more than been one two also up out about into"""
    )
)

# Words found in most long news stories, though few queries name them ("time", "hand",
# "report"): a poor trigger, woken by nearly every article, so a query files itself under
# its other words when it has some (a speed choice only: the decisions are the same).
# Canonical forms (singular), from general English, not from any test set.
_FREQUENT = frozenset(
    str.split(
        """time people way day man woman thing world life hand part child eye place work
        week case point government company number group problem fact month lot right
        home country state city area water money story night end family side head house
        service friend power hour game line member law car name president team minute
        idea kid body information back parent face level office door health person art
        war history party result change morning reason research girl guy moment air
        force police official report news percent million billion top leader
        make take come give look use find tell ask seem feel try leave call keep let
        begin show hear play run move live believe bring happen write sit stand lose pay
        meet include continue set learn lead understand watch follow stop create speak
        read allow add spend grow open walk win offer remember consider appear buy wait
        serve die send expect build stay fall cut reach kill remain suggest raise pass
        sell require decide pull know think want get go see need mean put become turn
        start hold help talk went made said told took came gave found called
        good first last long great little own other old big high different small large
        next early young important few public bad same able best better sure free
        several whole real full late hard major clear recent likely local national
        many much most some any such only even still just well also very often
        however both each every since while where when there here now then today
        yesterday ago around during against under between through before after all so
        like off us second third dont didnt doesnt isnt wasnt cant wont what which why
        how added really thought something nothing anything everything never always
        later enough started three four five six seven eight nine ten hundred thousand
        half least less again already another away almost"""
    )
)
_SINGLE, _WORDS, _ANY_WORD, _GENERAL = 1, 2, 3, 4
_EMPTY: frozenset[str] = frozenset()


def _term_key(word: str, fields: tuple[str, ...] | None) -> str:
    if fields == ("source",):
        return f"source{KEY_SEP}{word}"
    return word


def semantic_key(node: Semantic) -> str:
    """The index key of a semantic term: present in an article whose similarity to the
    phrase reaches the term's threshold."""
    return f"~{node.threshold:.4f}{KEY_SEP}{node.phrase}"


def _key_cost(key: str, postings: Mapping[str, Sized]) -> tuple[bool, bool, int, int]:
    bucket = postings.get(key)
    size = len(bucket) if bucket is not None else 0
    return (key in _COMMON, key in _FREQUENT, size, -len(key))


def trigger_terms(node: Node, postings: Mapping[str, Sized] | None = None) -> frozenset[str] | None:
    """Index keys one of which any document matching ``node`` must contain.

    ``None`` means no such set exists (the node can match an article without
    any particular word, e.g. ``NOT sports``).  ``postings`` (current index
    sizes) steers the choice towards rarer words.
    """
    postings = postings or {}

    def cost(keys: frozenset[str]) -> tuple[int, int, int]:
        common = sum(1 for k in keys if k in _COMMON)
        frequent = sum(1 for k in keys if k in _FREQUENT)
        size = 0
        for k in keys:
            bucket = postings.get(k)
            size += len(bucket) if bucket is not None else 0
        return (common, frequent, size + len(keys))

    def union(children: tuple[Node, ...]) -> frozenset[str] | None:
        out: set[str] = set()
        for child in children:
            sub = walk(child)
            if sub is None:
                return None
            out |= sub
        return frozenset(out)

    def walk(n: Node) -> frozenset[str] | None:
        if isinstance(n, Term):
            return frozenset((_term_key(n.word, n.fields),))
        if isinstance(n, Phrase):
            keys = [_term_key(w, n.fields) for w in n.words]
            return frozenset((min(keys, key=lambda k: _key_cost(k, postings)),))
        if isinstance(n, Site):
            return frozenset((f"site{KEY_SEP}{n.host}",))
        if isinstance(n, Semantic):
            return frozenset((semantic_key(n),))
        if isinstance(n, AnyOf):
            return union(n.members)
        if isinstance(n, Or):
            return union(n.children)
        if isinstance(n, Near | And):
            children = (n.left, n.right) if isinstance(n, Near) else n.children
            options = [s for s in (walk(c) for c in children) if s is not None]
            return min(options, key=cost) if options else None
        return None  # Not, or an unknown node: no word is certain

    return walk(node)


def _required(node: Node, leaf: Callable[[Node], frozenset[Any] | None]) -> frozenset[Any]:
    """What every document matching ``node`` holds, from what ``leaf`` says of the leaves
    (``None``: not a leaf it knows): all of it under AND and NEAR, what every branch holds
    under OR, nothing under NOT."""
    own = leaf(node)
    if own is not None:
        return own
    if isinstance(node, Near):
        return _required(node.left, leaf) | _required(node.right, leaf)
    if isinstance(node, And):
        out: frozenset[Any] = frozenset()
        for child in node.children:
            out |= _required(child, leaf)
        return out
    if isinstance(node, Or | AnyOf):
        children = node.children if isinstance(node, Or) else node.members
        sets = [_required(c, leaf) for c in children]
        return frozenset.intersection(*sets) if sets else frozenset()
    return frozenset()  # Not, or a leaf ``leaf`` does not count


def _key_leaf(node: Node) -> frozenset[str] | None:
    if isinstance(node, Term):
        return frozenset((_term_key(node.word, node.fields),))
    if isinstance(node, Phrase):
        return frozenset(_term_key(w, node.fields) for w in node.words)
    if isinstance(node, Site):
        return frozenset((f"site{KEY_SEP}{node.host}",))
    if isinstance(node, Semantic):
        return frozenset((semantic_key(node),))
    return None


def _phrase_leaf(node: Node) -> frozenset[tuple[str, ...]] | None:
    if isinstance(node, Phrase):
        return frozenset((node.words,)) if len(node.words) > 1 else frozenset()
    if isinstance(node, Term | Site | Semantic):
        return frozenset()
    return None


def required_keys(node: Node) -> frozenset[str]:
    """Index keys that every document matching ``node`` contains."""
    return _required(node, _key_leaf)


def required_phrases(node: Node) -> frozenset[tuple[str, ...]]:
    """Word sequences of two or more words that every document matching ``node`` holds
    in a row in one of its fields (``Document.has_phrase``): a cheap test that rules out
    most candidates woken by common words (``google all-time``) before the syntax tree."""
    return _required(node, _phrase_leaf)


@dataclass(slots=True, eq=False)
class _Compiled:
    """One distinct query and the subscriptions (keys -> thresholds) that share it.

    ``kind`` picks the cheapest check, for the shapes most queries take:
    ``_SINGLE`` one unscoped word (woken means matched); ``_WORDS`` unscoped
    words, all required, some maybe excluded (``a b -c``: set tests);
    ``_ANY_WORD`` unscoped words joined by OR (woken means matched);
    ``_GENERAL`` anything else (the syntax tree, after a subset test of
    ``required``).  Scores and why are exactly those of ``Query.evaluate``.
    """

    query: Query
    triggers: frozenset[str] | None
    required: frozenset[str]
    kind: int
    labels: tuple[tuple[str, str], ...] = ()  # (word, label) of the positive words
    excluded: frozenset[str] = _EMPTY  # _WORDS: words that must be absent
    second: str | None = None  # the pair key this query is filed under, if any
    seq: int = 0  # creation order: a stable order for equal scores
    keys: dict[str, float] = field(default_factory=dict)
    max_threshold: float = 0.0  # the highest threshold among ``keys``
    distinct: bool = True  # no label repeats in ``labels`` (computed after init)
    words: tuple[str, ...] = ()  # the words of ``labels``, for fast scoring
    wordset: frozenset[str] = _EMPTY
    why1: tuple[str, ...] | None = None  # _SINGLE: the why, always the same
    # _GENERAL: word sequences every matching article holds as a phrase in some field
    phrases: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        self.distinct = len({label for _, label in self.labels}) == len(self.labels)
        self.words = tuple(word for word, _ in self.labels)
        self.wordset = frozenset(self.words)
        self.why1 = (self.labels[0][1],) if self.kind == _SINGLE else None

    def score_words(
        self, weight: Callable[[str], float], terms: frozenset[str]
    ) -> tuple[float, tuple[str, ...]]:
        """Score and why from the positive words present in ``terms``."""
        if self.distinct:
            hits = [(weight(word), label) for word, label in self.labels if word in terms]
            if len(hits) == 1:
                return hits[0][0], (hits[0][1],)
            hits.sort(key=_first, reverse=True)  # stable: ties keep the query's order
            return float(sum(h[0] for h in hits)), tuple(h[1] for h in hits)
        best: dict[str, float] = {}
        for word, label in self.labels:
            if word in terms:
                w = weight(word)
                if best.get(label, -1.0) < w:
                    best[label] = w
        why = tuple(sorted(best, key=lambda k: -best[k]))
        return float(sum(best.values())), why


class MatchGroup(tuple):  # type: ignore[type-arg]
    """One distinct query an article matched: its score and why, and the keys of the
    subscriptions that share the query and pass their threshold (iterate ``keys``; it
    may be a live view of the index, valid until the next change).

    A light record: the tuple ``(-score, seq, compiled query, why or None, document)``
    the matcher sorted, made into a group in C (no ``__init__`` to run for each of the
    hundreds of groups a busy article has).  ``why`` is worked out when first asked
    for, and kept on the document: most groups are only counted or mapped to chats,
    and never explained."""

    __slots__ = ()

    @property
    def score(self) -> float:
        return -cast(float, self[0])

    @property
    def keys(self) -> Iterable[str]:
        compiled: _Compiled = self[2]
        score = -cast(float, self[0])
        if score >= compiled.max_threshold:  # the common case: everyone gets it
            return compiled.keys
        return [k for k, threshold in compiled.keys.items() if score >= threshold]

    @property
    def why(self) -> tuple[str, ...]:
        why: tuple[str, ...] | None = self[3]
        if why is not None:
            return why
        compiled: _Compiled = self[2]
        doc: Document = self[4]
        known = doc.whys.get(compiled)
        if known is None:
            known = compiled.score_words(doc.text_weight, doc.text_terms)[1]
            doc.whys[compiled] = known
        return known

    def __repr__(self) -> str:
        return f"MatchGroup(score={self.score}, why={self.why}, keys={list(self.keys)})"


def _someone_passes(score: float, compiled: _Compiled) -> bool:
    """True when ``score`` reaches the threshold of one of the query's subscriptions."""
    if score >= compiled.max_threshold:
        return True
    return any(score >= threshold for threshold in compiled.keys.values())


def _first(item: tuple[float, str]) -> float:
    return item[0]


class _Bucket:
    """The queries one trigger key wakes."""

    __slots__ = (
        "any_word",
        "many",
        "minus",
        "minus_by",
        "minus_keys",
        "one",
        "or2",
        "or2_all",
        "or2_keys",
        "pair_keys",
        "pairs",
        "rare",
        "single",
    )

    def __init__(self) -> None:
        self.single: _Compiled | None = None  # the query that is just this word
        self.one: dict[int, _Compiled] = {}  # only trigger, nothing else required
        self.pairs: dict[str, dict[int, _Compiled]] = {}  # only trigger; also requires key
        # the keys of ``pairs`` as a set: set & set walks the smaller side in C
        # (dict_keys & frozenset does not, and is ~100x slower here)
        self.pair_keys: set[str] = set()
        self.many: dict[int, _Compiled] = {}  # several triggers: may be woken twice
        # several triggers, an OR of distinct words: matched when woken, scored apart
        self.any_word: dict[int, _Compiled] = {}
        # ``this OR other`` (two distinct words): matched when woken and scored in bulk,
        # this word's weight plus the other's when the article holds it too.  By the
        # other word, and all of them; values (seq, query)
        self.or2: dict[str, dict[int, tuple[int, _Compiled]]] = {}
        self.or2_keys: set[str] = set()
        self.or2_all: dict[int, tuple[int, _Compiled]] = {}
        # ``this -other -more`` (one word, some excluded): matched when woken unless an
        # excluded word is there, scored in bulk.  All of them, and by excluded word
        self.minus: dict[int, tuple[int, _Compiled]] = {}
        self.minus_by: dict[str, dict[int, tuple[int, _Compiled]]] = {}
        self.minus_keys: set[str] = set()
        # anything but pairs (most buckets hold only pairs): one test per woken bucket
        self.rare = False

    def refresh(self) -> None:
        """Recompute ``rare`` after a change."""
        self.rare = bool(
            self.single is not None
            or self.one
            or self.many
            or self.any_word
            or self.or2_all
            or self.minus
        )

    def __len__(self) -> int:
        paired = sum(len(d) for d in self.pairs.values()) if self.pairs else 0
        many = len(self.many) + len(self.any_word) + len(self.or2_all) + len(self.minus)
        return (self.single is not None) + len(self.one) + paired + many


def _is_minus(compiled: _Compiled) -> bool:
    """One plain word less some plain words (``iraq -sports``)."""
    return (
        compiled.kind == _WORDS
        and len(compiled.words) == 1
        and bool(compiled.excluded)
        and compiled.triggers == compiled.required == compiled.wordset
    )


def _is_or2(compiled: _Compiled) -> bool:
    """An OR of two distinct plain words (``iraq OR iran``), each its own label."""
    return (
        compiled.kind == _ANY_WORD
        and compiled.distinct
        and len(compiled.words) == 2
        and len(compiled.wordset) == 2
        and compiled.triggers == compiled.wordset
    )


def _plain_word(node: Node) -> bool:
    return isinstance(node, Term) and node.fields is None


def _label(term: Term) -> tuple[str, str]:
    return (term.word, term.display or term.word)


def _compile(query: Query, postings: Mapping[str, Sized]) -> _Compiled:
    root = query.root
    triggers = trigger_terms(root, postings)
    required = required_keys(root)
    if isinstance(root, Term) and root.fields is None:
        return _Compiled(query, triggers, required, _SINGLE, (_label(root),))
    if isinstance(root, And) and triggers is not None:
        positive = [c for c in root.children if isinstance(c, Term) and _plain_word(c)]
        negative = [c.child for c in root.children if isinstance(c, Not) and _plain_word(c.child)]
        if len(positive) + len(negative) == len(root.children):
            labels = tuple(_label(t) for t in positive)
            excluded = frozenset(t.word for t in negative if isinstance(t, Term)) or _EMPTY
            return _Compiled(query, triggers, required, _WORDS, labels, excluded)
    if isinstance(root, Or) and all(_plain_word(c) for c in root.children):
        labels = tuple(_label(c) for c in root.children if isinstance(c, Term))
        return _Compiled(query, triggers, required, _ANY_WORD, labels)
    compiled = _Compiled(query, triggers, required, _GENERAL)
    compiled.phrases = tuple(sorted(required_phrases(root)))
    return compiled


_Woken = tuple[list[_Compiled], list[_Compiled], Iterable[_Compiled], list[tuple[str, _Bucket]]]


class _Similarities:
    """Every registered phrase's similarity to one article, looked up by phrase."""

    __slots__ = ("rows", "sims")

    def __init__(self, rows: dict[str, int], sims: np.ndarray) -> None:
        self.rows = rows
        self.sims = sims

    def get(self, phrase: str) -> float | None:
        i = self.rows.get(phrase)
        return None if i is None else float(self.sims[i])


class _SemanticIndex:
    """The semantic terms of every active query: one matrix row per distinct phrase,
    one (row, threshold) per distinct key; rebuilt lazily after a change."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray] | None = None) -> None:
        self._embed = embed
        self.phrases: dict[str, int] = {}  # phrase -> how many keys use it
        self.keys: dict[str, list[Any]] = {}  # key -> [phrase, threshold, uses]
        self._dirty = True
        self._rows: dict[str, int] = {}
        self._matrix = np.zeros((0, 0), np.float32)
        self._key_rows = np.zeros(0, np.intp)
        self._key_cut = np.zeros(0, np.float32)
        self._key_names: list[str] = []

    def add(self, terms: list[Semantic]) -> None:
        for term in terms:
            key = semantic_key(term)
            entry = self.keys.get(key)
            if entry is None:
                self.keys[key] = [term.phrase, term.threshold, 1]
                self.phrases[term.phrase] = self.phrases.get(term.phrase, 0) + 1
                self._dirty = True
            else:
                entry[2] += 1

    def remove(self, terms: list[Semantic]) -> None:
        for term in terms:
            key = semantic_key(term)
            entry = self.keys.get(key)
            if entry is None:
                continue
            entry[2] -= 1
            if entry[2] <= 0:
                del self.keys[key]
                left = self.phrases[term.phrase] - 1
                if left:
                    self.phrases[term.phrase] = left
                else:
                    del self.phrases[term.phrase]
                self._dirty = True

    def _build(self) -> None:
        phrases = list(self.phrases)
        if self._embed is not None:
            matrix = self._embed(phrases)
        else:
            from bot.matching.vectors import phrase_vectors

            matrix = phrase_vectors(phrases)
        self._matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self._rows = {p: i for i, p in enumerate(phrases)}
        names = list(self.keys)
        self._key_names = names
        self._key_rows = np.array([self._rows[self.keys[k][0]] for k in names], np.intp)
        self._key_cut = np.array([self.keys[k][1] for k in names], np.float32)
        self._dirty = False

    def active(self, vector: np.ndarray) -> tuple[list[str], _Similarities]:
        """The keys the article's vector turns on, and every phrase's similarity."""
        if self._dirty:
            self._build()
        if len(self._matrix) == 0 or self._matrix.shape[1] != len(vector):
            return [], _Similarities({}, np.zeros(0, np.float32))
        sims = self._matrix @ vector.astype(np.float32, copy=False)
        on = np.flatnonzero(sims[self._key_rows] >= self._key_cut)
        names = self._key_names
        return [names[i] for i in on], _Similarities(self._rows, sims)


class Matcher:
    """All active subscriptions' queries in one index.

    ``add``/``remove`` are incremental; ``match`` returns the subscriptions an
    article matches (score at or above their threshold), best score first;
    equal scores keep a stable order (roughly the order queries were added).
    Identical queries are evaluated once, whoever subscribed to them.
    """

    def __init__(
        self,
        *,
        aliases: Mapping[str, AliasGroup] | None = None,
        embed: Callable[[list[str]], np.ndarray] | None = None,
    ) -> None:
        self._aliases = aliases
        # ``embed`` (phrases -> unit vectors) defaults to bot.matching.vectors
        self._semantic = _SemanticIndex(embed)
        self._by_key: dict[str, _Compiled] = {}
        self._by_root: dict[Node, _Compiled] = {}
        self._postings: dict[str, _Bucket] = {}
        # the keys of ``_postings`` as a set: an article's keys & this set is one C pass
        self._triggered: set[str] = set()
        self._always: dict[int, _Compiled] = {}
        self._sets: dict[frozenset[str], frozenset[str]] = {}
        self._seq = 0
        # the queries some subscriber of which wants a minimum score (max_threshold > 0)
        self._thresholded: dict[int, _Compiled] = {}

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
            # many queries share their key sets: keep one copy of each (the table is
            # cleared when removals have left it mostly stale; sharing just restarts)
            if len(self._sets) > 2 * len(self._by_root) + 1024:
                self._sets.clear()
            intern = self._sets.setdefault
            compiled.required = intern(compiled.required, compiled.required)
            if compiled.triggers is not None:
                compiled.triggers = intern(compiled.triggers, compiled.triggers)
            self._seq += 1
            compiled.seq = self._seq
            self._by_root[parsed.root] = compiled
            self._index(compiled)
            self._semantic.add(semantic_terms(parsed.root))
        compiled.keys[key] = float(threshold)
        compiled.max_threshold = max(compiled.max_threshold, float(threshold))
        if compiled.max_threshold > 0.0:
            self._thresholded[id(compiled)] = compiled
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
                self._triggered.add(term)
            if compiled.kind == _SINGLE:
                bucket.single = compiled
            elif len(triggers) > 1:
                if _is_or2(compiled):
                    (other,) = compiled.wordset - {term}
                    bucket.or2.setdefault(other, {})[ident] = (compiled.seq, compiled)
                    bucket.or2_keys.add(other)
                    bucket.or2_all[ident] = (compiled.seq, compiled)
                elif compiled.kind == _ANY_WORD and compiled.distinct:
                    bucket.any_word[ident] = compiled
                else:
                    bucket.many[ident] = compiled
            else:
                others = compiled.required - triggers
                if not others and _is_minus(compiled):
                    entry = (compiled.seq, compiled)
                    bucket.minus[ident] = entry
                    for word in compiled.excluded:
                        bucket.minus_by.setdefault(word, {})[ident] = entry
                        bucket.minus_keys.add(word)
                elif not others:
                    bucket.one[ident] = compiled
                else:
                    # file it under the second key too: both must be in the article
                    second = min(others, key=lambda k: _key_cost(k, postings))
                    compiled.second = second
                    bucket.pairs.setdefault(second, {})[ident] = compiled
                    bucket.pair_keys.add(second)
                    continue  # only pairs leave ``rare`` as it was
            bucket.rare = True

    def remove(self, key: str) -> None:
        """Drop subscription ``key`` (no error if it is not there)."""
        compiled = self._by_key.pop(key, None)
        if compiled is None:
            return
        threshold = compiled.keys.pop(key)
        if compiled.keys:
            if threshold >= compiled.max_threshold:
                compiled.max_threshold = max(compiled.keys.values())
                if compiled.max_threshold <= 0.0:
                    self._thresholded.pop(id(compiled), None)
            return
        self._thresholded.pop(id(compiled), None)
        del self._by_root[compiled.query.root]
        self._semantic.remove(semantic_terms(compiled.query.root))
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
            bucket.any_word.pop(ident, None)
            if bucket.minus.pop(ident, None) is not None:
                for word in compiled.excluded:
                    excluded = bucket.minus_by[word]
                    del excluded[ident]
                    if not excluded:
                        del bucket.minus_by[word]
                        bucket.minus_keys.discard(word)
            if bucket.or2_all.pop(ident, None) is not None:
                (other,) = compiled.wordset - {term}
                group = bucket.or2[other]
                del group[ident]
                if not group:
                    del bucket.or2[other]
                    bucket.or2_keys.discard(other)
            if compiled.second is not None:
                paired = bucket.pairs.get(compiled.second)
                if paired is not None:
                    paired.pop(ident, None)
                    if not paired:
                        del bucket.pairs[compiled.second]
                        bucket.pair_keys.discard(compiled.second)
            if not bucket:
                del self._postings[term]
                self._triggered.discard(term)
            else:
                bucket.refresh()

    def _woken(self, doc: Document) -> _Woken:
        """(one-word queries matched by being woken, other candidates to check, ORs of
        distinct words matched by being woken, the woken buckets with ``a OR b`` queries)."""
        keys = doc.keys
        postings = self._postings
        singles: list[_Compiled] = []
        to_check: list[_Compiled] = []
        woken_many: dict[int, _Compiled] = {}
        woken_any: dict[int, _Compiled] = {}
        or2: list[tuple[str, _Bucket]] = []
        for term in keys & self._triggered:
            bucket = postings[term]
            if bucket.pairs:
                pairs = bucket.pairs
                for second in keys & bucket.pair_keys:
                    to_check.extend(pairs[second].values())
            if not bucket.rare:
                continue
            if bucket.single is not None:
                singles.append(bucket.single)
            if bucket.one:
                to_check.extend(bucket.one.values())
            if bucket.many:
                woken_many.update(bucket.many)
            if bucket.any_word:
                woken_any.update(bucket.any_word)
            if bucket.or2_all or bucket.minus:
                or2.append((term, bucket))
        to_check.extend(woken_many.values())
        to_check.extend(self._always.values())
        return singles, to_check, woken_any.values(), or2

    def candidates(self, doc: Document) -> list[_Compiled]:
        """The distinct queries the document wakes (for benchmarks and debugging)."""
        singles, to_check, any_words, or2 = self._woken(doc)
        pairs = {id(c): c for _, bucket in or2 for _, c in bucket.or2_all.values()}
        pairs.update((id(c), c) for _, bucket in or2 for _, c in bucket.minus.values())
        return singles + to_check + list(any_words) + list(pairs.values())

    @property
    def needs_vectors(self) -> bool:
        """True when some query has a semantic term: articles need their vectors."""
        return bool(self._semantic.keys)

    def match_groups(self, doc: Document) -> list[MatchGroup]:
        """What ``doc`` matches (``doc.vector`` set for the semantic terms), one
        :class:`MatchGroup` per distinct query, best score first, listing the
        subscriptions that share the query and whose threshold the score reaches.  No
        per-subscription record is made: a caller that needs one per subscriber
        (:meth:`match_document`) makes it, one that maps subscriptions to chats
        (``bot.matching.audience``) does not."""
        if doc.vector is not None and self._semantic.keys:
            woken, similarities = self._semantic.active(doc.vector)
            doc.set_similarities(similarities)
            if woken:
                doc.keys = doc.keys.union(woken)
        keys = doc.keys
        terms = doc.text_terms
        weight = doc.text_weight
        # a word's weight, worked out once per article (a dict that fills itself)
        wget = doc.weights.__getitem__
        has_phrase = doc.has_phrase
        singles, to_check, any_words, or2 = self._woken(doc)
        # (-score, seq, query, why, doc): plain tuples sort in C; seq is unique, so the
        # comparison never reaches the last three.  why is None when it can be worked
        # out later from the words (MatchGroup.why).
        scored: list[tuple[float, int, _Compiled, tuple[str, ...] | None, Document]] = []
        add_scored = scored.append
        for compiled in singles:  # woken by its only word: matched
            add_scored((-wget(compiled.words[0]), compiled.seq, compiled, compiled.why1, doc))
        for compiled in any_words:  # woken by one of its words: matched
            present = compiled.wordset & terms
            add_scored((-sum(map(wget, present)), compiled.seq, compiled, None, doc))
        more = scored.extend
        for word, bucket in or2:  # ``word OR other``, ``word -other``: scored in bulk
            alone = -wget(word)
            if bucket.minus:
                out = bucket.minus_keys & terms
                if not out:  # the usual case: none of the excluded words is there
                    more([(alone, seq, c, None, doc) for seq, c in bucket.minus.values()])
                else:
                    gone: set[int] = set()
                    for other in out:
                        gone.update(bucket.minus_by[other])
                    items = bucket.minus.items()
                    more([(alone, seq, c, None, doc) for i, (seq, c) in items if i not in gone])
                if not bucket.or2_all:
                    continue
            both_there = bucket.or2_keys & terms
            if not both_there:  # the usual case: none of the other words is there
                more([(alone, seq, c, None, doc) for seq, c in bucket.or2_all.values()])
                continue
            seen: set[int] = set()
            for other in both_there:
                group = bucket.or2[other]
                seen.update(group)
                if word < other:  # scored once, from the bucket of the first word
                    both = -(wget(word) + wget(other))
                    more([(both, seq, c, None, doc) for seq, c in group.values()])
            items = bucket.or2_all.items()
            more([(alone, seq, c, None, doc) for i, (seq, c) in items if i not in seen])
        for compiled in to_check:
            kind = compiled.kind
            if kind == _WORDS:
                if compiled.required <= terms and not (
                    compiled.excluded and not compiled.excluded.isdisjoint(terms)
                ):
                    if compiled.distinct:  # every word present, each its own label
                        add_scored(
                            (-sum(map(wget, compiled.words)), compiled.seq, compiled, None, doc)
                        )
                    else:
                        score, why = compiled.score_words(weight, terms)
                        add_scored((-score, compiled.seq, compiled, why, doc))
            elif kind == _ANY_WORD:  # woken by one of its words: matched
                if compiled.distinct:
                    present = compiled.wordset & terms
                    add_scored((-sum(map(wget, present)), compiled.seq, compiled, None, doc))
                else:
                    score, why = compiled.score_words(weight, terms)
                    add_scored((-score, compiled.seq, compiled, why, doc))
            elif compiled.required <= keys:
                if compiled.phrases and not all(map(has_phrase, compiled.phrases)):
                    continue  # a phrase it needs is not there (most candidates here)
                # most candidates that pass these tests match: explain them directly
                # rather than testing first and explaining after
                matched, score, why = compiled.query.evaluate(doc)
                if matched:
                    add_scored((-score, compiled.seq, compiled, why, doc))
        scored.sort()
        if self._thresholded:  # some subscriptions want a minimum score: drop the groups
            scored = [s for s in scored if _someone_passes(-s[0], s[2])]  # nobody passes
        return list(map(MatchGroup, scored))

    def match_document(self, doc: Document) -> list[Match]:
        """Like :meth:`match`, on an already prepared document (``doc.vector`` set for
        the semantic terms)."""
        article_id = doc.article_id
        out: list[Match] = []
        for group in self.match_groups(doc):
            score, why = group.score, group.why
            out.extend([Match(article_id, key, True, score, why) for key in group.keys])
        return out

    def match(self, article: Article, *, vector: np.ndarray | None = None) -> list[Match]:
        """The subscriptions ``article`` matches, with score and why, best first
        (``vector``: the article's, from bot.matching.vectors, for semantic terms)."""
        doc = prepare_document(article)
        doc.vector = vector
        return self.match_document(doc)

    def evaluate(
        self, key: str, article: Article | Document, *, vector: np.ndarray | None = None
    ) -> Match:
        """The decision of subscription ``key`` on one article, matched or not
        (``vector``: the article's, for semantic terms)."""
        compiled = self._by_key[key]
        doc = article if isinstance(article, Document) else prepare_document(article)
        if vector is not None:
            doc.vector = vector
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

    def semantic_stats(self) -> dict[str, int]:
        """Sizes of the semantic side: distinct phrases (matrix rows) and (phrase,
        threshold) keys."""
        return {"phrases": len(self._semantic.phrases), "keys": len(self._semantic.keys)}


@lru_cache(maxsize=256)
def _compiled_topic(topic: Topic) -> Query:
    return compile_topic(topic)


def match_topic(article: Article | Document, topic: Topic) -> Match:
    """The decision of one topic on one article.

    A topic with a learned model (``topic.model``) is decided by the model
    (an :class:`Article` is needed: the model reads its text); ``score`` is
    then the model's probability and ``why`` the query's matched terms
    followed by ``"model 0.93"`` (``"model 0.02, first stage"`` when a cascade's first
    head settled it without the e5 vector).  Otherwise the query decides, its score
    checked against the topic's threshold.
    """
    if topic.model and isinstance(article, Article):
        return model_match(article, topic)
    doc = article if isinstance(article, Document) else prepare_document(article)
    matched, score, why = _compiled_topic(topic).evaluate(doc)
    return Match(doc.article_id, topic.id, matched and score >= topic.threshold, score, why)


def model_match(
    article: Article,
    topic: Topic,
    *,
    key: str | None = None,
    vector: np.ndarray | None = None,
) -> Match:
    """The decision of ``topic``'s learned model on ``article`` (see :func:`match_topic`);
    ``vector``: the article's stored meaning vector, for a model that reads one (else
    the model makes it)."""
    from bot.matching.topic_model import model_for

    model = model_for(topic)
    if model is None:
        return match_topic(article, replace(topic, model=""))
    d = model.decide(article.title, article.summary, article.content, article.source, vector=vector)
    if d.gated:
        stage = "model: no anchor term"
    elif d.first_head:  # the cascade's first head settled it: no e5 vector made
        stage = f"model {d.score:.2f}, first stage"
    else:
        stage = f"model {d.score:.2f}"
    why = (*d.why, stage)
    return Match(article.id, key or topic.id, d.matched, d.score, why)
