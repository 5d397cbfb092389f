"""Reading what matched: /latest and /test over the recently stored articles.

The three steps of each: read the recent articles (on the caller's thread, the store's
one connection), decide them (pure work over those records: queries, learned models, the
vectors of articles stored before vectors existed; run in a thread by the async entry
points so that a command never holds the event loop), then store the vectors made."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.errors import QueryError
from bot.i18n import DEFAULT_LANGUAGE
from bot.matching import vectors
from bot.matching.rules import Rule, RuleSet, subscription_rules, topic_rule
from bot.matching.syntax import semantic_terms
from bot.records import Article, Topic, as_utc
from bot.service.subscriptions import MAX_QUERY_CHARS, check_query, looks_like_topic_id
from storage.articles import StoredArticle
from storage.store import Store

LATEST_COUNT = 5  # /latest shows this many


SCAN_ARTICLES = 300  # /latest and /test look at this many recent articles


@dataclass(frozen=True, slots=True)
class Found:
    """A stored article that matched, with why."""

    article: Article
    score: float
    why: tuple[str, ...]
    label: str  # the topic's name (in the reader's language), or the query


@dataclass(slots=True)
class ArticleVectors:
    """The meaning (USE) vectors of stored articles: the stored ones, and the ones made now
    (in one batch, pure work for a thread) for articles stored before vectors, to be
    stored afterwards with :meth:`keep`."""

    rows: dict[int, np.ndarray] = field(default_factory=dict)
    made: dict[int, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, articles: Sequence[StoredArticle]) -> ArticleVectors:
        out = cls()
        missing: list[StoredArticle] = []
        for stored in articles:
            row = vectors.from_blob(stored.vector)
            if row is not None:
                out.rows[stored.key] = row
            else:
                missing.append(stored)
        if missing and vectors.available():
            made = vectors.article_vectors([s.article for s in missing])
            for stored, row in zip(missing, made, strict=True):
                out.rows[stored.key] = row
                out.made[stored.key] = vectors.to_blob(row)
        return out

    def keep(self, store: Store) -> None:
        """Store the vectors made now."""
        for key, blob in self.made.items():
            store.articles.set_vector(key, blob)


def _newest_first(articles: Iterable[StoredArticle]) -> list[StoredArticle]:
    # the newest stored first, then by when they were published: a feed's first poll stores
    # its entries in the feed's order, so storage order alone would list older ones first
    return sorted(articles, key=lambda s: as_utc(s.article.published or s.first_seen), reverse=True)


def _label(rule: Rule, language: str = DEFAULT_LANGUAGE) -> str:
    if rule.topic is not None:
        return rule.topic.name_in(language)
    return str(rule.query if isinstance(rule.query, str) else getattr(rule.query, "text", ""))


def _scan(
    articles: Sequence[StoredArticle],
    rules: Iterable[Rule],
    *,
    limit: int,
    language: str = DEFAULT_LANGUAGE,
) -> tuple[list[Found], ArticleVectors]:
    """The newest ``limit`` of ``articles`` that match a rule (pure work, any thread)."""
    ruleset = RuleSet()
    labels: dict[str, str] = {}
    for rule in rules:
        ruleset.add(rule)
        labels[rule.key] = _label(rule, language)
    if not len(ruleset):
        return [], ArticleVectors()
    ordered = _newest_first(articles)
    found_vectors = ArticleVectors.of(ordered) if ruleset.needs_vectors else ArticleVectors()
    found: list[Found] = []
    for stored in ordered:
        if len(found) >= limit:
            break
        matches = ruleset.match(stored.article, vector=found_vectors.rows.get(stored.key))
        if matches:
            best = matches[0]
            found.append(Found(stored.article, best.score, best.why, labels[best.topic]))
    return found, found_vectors


async def latest_for_chat(
    store: Store,
    topics: Mapping[str, Topic],
    chat_id: int,
    *,
    limit: int = LATEST_COUNT,
    language: str = DEFAULT_LANGUAGE,
) -> list[Found]:
    """The newest stored articles that the chat's subscriptions match, newest first
    (labelled with the topic's name in ``language``)."""
    rules = [
        rule
        for sub in store.subscriptions.for_chat(chat_id)
        for rule in subscription_rules(sub, topics)
    ]
    return await _latest(store, rules, limit=limit, language=language)


async def latest_for_topic(
    store: Store, topic: Topic, *, limit: int = LATEST_COUNT, language: str = DEFAULT_LANGUAGE
) -> list[Found]:
    """The newest stored articles that ``topic`` matches, newest first."""
    return await _latest(store, [topic_rule(topic)], limit=limit, language=language)


async def _latest(store: Store, rules: list[Rule], *, limit: int, language: str) -> list[Found]:
    if not rules:
        return []
    articles = store.articles.latest(SCAN_ARTICLES)
    found, made = await asyncio.to_thread(_scan, articles, rules, limit=limit, language=language)
    made.keep(store)
    return found


@dataclass(frozen=True, slots=True)
class TestResult:
    ok: bool
    scanned: int = 0
    matched: int = 0
    found: tuple[Found, ...] = ()
    topic: Topic | None = None
    problem: str = ""  # empty | too-long | bad-query | unknown-topic
    detail: str = ""
    error: QueryError | None = None
    # a query with semantic terms: the recent stories closest in meaning, with the best
    # similarity of any of its terms, closest first
    closest: tuple[tuple[Article, float], ...] = ()


def test_rule(
    topics: Mapping[str, Topic], text: str
) -> tuple[Rule | None, Topic | None, TestResult | None]:
    """The rule ``/test text`` tries, or the refusal (a result with a ``problem``)."""
    text = text.strip()
    if not text:
        return None, None, TestResult(ok=False, problem="empty")
    topic = topics.get(text.lower())
    if topic is not None:
        return topic_rule(topic), topic, None
    if looks_like_topic_id(text):
        return None, None, TestResult(ok=False, problem="unknown-topic", detail=text)
    if len(text) > MAX_QUERY_CHARS:
        return None, None, TestResult(ok=False, problem="too-long", detail=str(MAX_QUERY_CHARS))
    error = check_query(text)
    if error is not None:
        return None, None, TestResult(ok=False, problem="bad-query", detail=str(error), error=error)
    return Rule("test", text, 0.0), None, None


async def test_query(
    store: Store,
    topics: Mapping[str, Topic],
    text: str,
    *,
    show: int = LATEST_COUNT,
    scan: int = SCAN_ARTICLES,
) -> TestResult:
    """Which of the last ``scan`` stored articles a query (or a topic id) matches, and why."""
    rule, topic, refused = test_rule(topics, text)
    if rule is None:
        assert refused is not None
        return refused
    articles = store.articles.latest(scan)
    result, made = await asyncio.to_thread(test_over, articles, rule, topic, show=show)
    made.keep(store)
    return result


test_query.__dict__["__test__"] = False  # not a pytest test


CLOSEST_SHOWN = 8  # /test ~"...": this many recent stories with their similarity


def test_over(
    articles: Sequence[StoredArticle], rule: Rule, topic: Topic | None, *, show: int
) -> tuple[TestResult, ArticleVectors]:
    """The /test result of ``rule`` over ``articles`` (pure work, any thread), and the
    vectors made for articles that had none."""
    ruleset = RuleSet()
    query = ruleset.add(rule)
    phrases = [t.phrase for t in semantic_terms(query.root)] if query is not None else []
    found: list[Found] = []
    closest: list[tuple[Article, float]] = []
    matched = 0
    label = _label(rule)
    available = vectors.available()
    if not available:
        phrases = []
    matrix = vectors.phrase_vectors(phrases) if phrases else None
    # made once for the scan: for the semantic terms, and for a learned model that reads them
    found_vectors = (
        ArticleVectors.of(articles) if available and ruleset.needs_vectors else ArticleVectors()
    )
    for stored in articles:
        vector = found_vectors.rows.get(stored.key)
        if vector is not None and matrix is not None:
            closest.append((stored.article, float(np.max(matrix @ vector))))
        decision = ruleset.evaluate(rule.key, stored.article, vector=vector)
        if not decision.matched:
            continue
        matched += 1
        if len(found) < show:
            found.append(Found(stored.article, decision.score, decision.why, label))
    closest.sort(key=lambda pair: -pair[1])
    result = TestResult(
        ok=True,
        scanned=len(articles),
        matched=matched,
        found=tuple(found),
        topic=topic,
        closest=tuple(closest[:CLOSEST_SHOWN]),
    )
    return result, found_vectors


test_over.__dict__["__test__"] = False
test_rule.__dict__["__test__"] = False
