"""Reading what matched: /latest and /test over the recently stored articles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.errors import QueryError
from bot.matching.engine import Matcher
from bot.matching.rules import Rule, subscription_rules
from bot.records import Article, Topic, as_utc
from bot.service.subscriptions import MAX_QUERY_CHARS, check_query, looks_like_topic_id
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
    for stored in articles:
        matches = matcher.match(stored.article)
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
    scanned, matched, found = _count_and_show(store, rule, show=show, scan=scan)
    return TestResult(ok=True, scanned=scanned, matched=matched, found=tuple(found), topic=topic)


def _count_and_show(
    store: Store, rule: Rule, *, show: int, scan: int
) -> tuple[int, int, list[Found]]:
    matcher = Matcher()
    matcher.add(rule.key, rule.query, threshold=rule.threshold)
    # the newest stored first, then by when they were published: a feed's first poll stores
    # its entries in the feed's order, so storage order alone would list older ones first
    articles = sorted(
        store.articles.latest(scan),
        key=lambda s: as_utc(s.article.published or s.first_seen),
        reverse=True,
    )
    found: list[Found] = []
    matched = 0
    label = rule.topic.name if rule.topic else str(rule.query)
    for stored in articles:
        decision = matcher.evaluate(rule.key, stored.article)
        if not decision.matched:
            continue
        matched += 1
        if len(found) < show:
            found.append(Found(stored.article, decision.score, decision.why, label))
    return len(articles), matched, found


test_query.__dict__["__test__"] = False  # not a pytest test
