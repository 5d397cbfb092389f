"""Reading what matched: /latest and /test over the recently stored articles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from bot.errors import QueryError
from bot.matching import vectors
from bot.matching.engine import Matcher, model_match
from bot.matching.rules import Rule, subscription_rules
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
    label: str  # the topic's name, or the query


def vector_of(store: Store, stored: StoredArticle) -> np.ndarray | None:
    """The article's stored vector; one made now (and stored) for an article from before
    vectors, or ``None`` when the model is missing."""
    if stored.vector is not None:
        return vectors.from_blob(stored.vector)
    if not vectors.available():
        return None
    vector = vectors.article_vector(stored.article)
    store.articles.set_vector(stored.key, vectors.to_blob(vector))
    return vector


def _scan(store: Store, rules: Iterable[Rule], *, limit: int, scan: int) -> tuple[int, list[Found]]:
    """(articles looked at, the newest ``limit`` that match a rule)."""
    matcher = Matcher()
    labels: dict[str, str] = {}
    for rule in rules:
        matcher.add(rule.key, rule.query, threshold=rule.threshold)
        labels[rule.key] = (
            rule.topic.name
            if rule.topic
            else str(rule.query if isinstance(rule.query, str) else rule.query.text)
        )
    if not len(matcher):
        return 0, []
    # the newest stored first, then by when they were published: a feed's first poll stores
    # its entries in the feed's order, so storage order alone would list older ones first
    articles = sorted(
        store.articles.latest(scan),
        key=lambda s: as_utc(s.article.published or s.first_seen),
        reverse=True,
    )
    found: list[Found] = []
    semantic = matcher.needs_vectors
    for stored in articles:
        vector = vector_of(store, stored) if semantic else None
        matches = matcher.match(stored.article, vector=vector)
        if matches and len(found) < limit:
            best = matches[0]
            found.append(Found(stored.article, best.score, best.why, labels[best.topic]))
    return len(articles), found


def latest_for_chat(
    store: Store, topics: Mapping[str, Topic], chat_id: int, *, limit: int = LATEST_COUNT
) -> list[Found]:
    """The newest stored articles that the chat's subscriptions match, newest first."""
    rules = [
        rule
        for sub in store.subscriptions.for_chat(chat_id)
        for rule in subscription_rules(sub, topics)
    ]
    return _scan(store, rules, limit=limit, scan=SCAN_ARTICLES)[1]


def latest_for_topic(store: Store, topic: Topic, *, limit: int = LATEST_COUNT) -> list[Found]:
    """The newest stored articles that ``topic`` matches, newest first."""
    rule = Rule(topic.id, topic.query, topic.threshold, topic)
    return _scan(store, [rule], limit=limit, scan=SCAN_ARTICLES)[1]


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


def test_query(
    store: Store,
    topics: Mapping[str, Topic],
    text: str,
    *,
    show: int = LATEST_COUNT,
    scan: int = SCAN_ARTICLES,
) -> TestResult:
    """Which of the last ``scan`` stored articles a query (or a topic id) matches, and why."""
    text = text.strip()
    if not text:
        return TestResult(ok=False, problem="empty")
    topic = topics.get(text.lower())
    if topic is not None:
        rule = Rule(topic.id, topic.query, topic.threshold, topic)
    elif looks_like_topic_id(text):
        return TestResult(ok=False, problem="unknown-topic", detail=text)
    elif len(text) > MAX_QUERY_CHARS:
        return TestResult(ok=False, problem="too-long", detail=str(MAX_QUERY_CHARS))
    else:
        error = check_query(text)
        if error is not None:
            return TestResult(ok=False, problem="bad-query", detail=str(error), error=error)
        rule = Rule("test", text, 0.0)
    scanned, matched, found, closest = _count_and_show(store, rule, show=show, scan=scan)
    return TestResult(
        ok=True,
        scanned=scanned,
        matched=matched,
        found=tuple(found),
        topic=topic,
        closest=tuple(closest),
    )


CLOSEST_SHOWN = 8  # /test ~"...": this many recent stories with their similarity


def _count_and_show(
    store: Store, rule: Rule, *, show: int, scan: int
) -> tuple[int, int, list[Found], list[tuple[Article, float]]]:
    matcher = Matcher()
    query = matcher.add(rule.key, rule.query, threshold=rule.threshold)
    phrases = [t.phrase for t in semantic_terms(query.root)]
    articles = store.articles.latest(scan)
    found: list[Found] = []
    closest: list[tuple[Article, float]] = []
    matched = 0
    label = rule.topic.name if rule.topic else str(rule.query)
    if phrases and vectors.available():
        matrix = vectors.phrase_vectors(phrases)
    else:
        phrases = []
    learned = rule.topic if rule.topic is not None and rule.topic.model else None
    for stored in articles:
        vector = vector_of(store, stored) if phrases else None
        if vector is not None:
            closest.append((stored.article, float(np.max(matrix @ vector))))
        if learned is not None and rule.key == learned.id:  # the topic's model decides
            decision = model_match(stored.article, learned)
        else:
            decision = matcher.evaluate(rule.key, stored.article, vector=vector)
        if not decision.matched:
            continue
        matched += 1
        if len(found) < show:
            found.append(Found(stored.article, decision.score, decision.why, label))
    closest.sort(key=lambda pair: -pair[1])
    return len(articles), matched, found, closest[:CLOSEST_SHOWN]


test_query.__dict__["__test__"] = False  # not a pytest test
