"""How a subscription is matched: the rules (key, query, threshold) the audience compiles."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bot.errors import QueryError
from bot.matching.document import Document
from bot.matching.engine import Matcher, model_match
from bot.matching.parser import parse_query
from bot.matching.syntax import And, Node, Query
from bot.matching.topics import compile_topic
from bot.records import Article, Match, Topic
from storage.subscriptions import Subscription

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AtLeast(Node):
    """Matches when ``child`` matches with a score of at least ``score`` on its own: a
    narrowed topic must still pass the topic's threshold, whatever the filter adds."""

    child: Node
    score: float

    def test(self, doc: Document) -> bool:
        return self.explain(doc, {})

    def explain(self, doc: Document, hits: dict[str, float]) -> bool:
        local: dict[str, float] = {}
        if not self.child.explain(doc, local) or sum(local.values()) < self.score:
            return False
        for label, weight in local.items():
            if hits.get(label, -1.0) < weight:
                hits[label] = weight
        return True

    def leaves(self) -> list[Any]:
        return self.child.leaves()


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of the matcher for a subscription: key, query, lowest score that counts.

    ``model``: a topic whose learned model must say yes as well (a followed learned
    topic, or one narrowed with /filter: the model AND the filter); its ``query`` is then
    the filter, or ``None`` when the model alone decides."""

    key: str
    query: Query | str | None
    threshold: float
    topic: Topic | None = None
    model: Topic | None = None


def topic_rule(topic: Topic) -> Rule:
    """A topic as defined: its learned model decides when it has one, else its query."""
    if topic.model:
        return Rule(topic.id, None, 0.0, topic, model=topic)
    return Rule(topic.id, topic.query, topic.threshold, topic)


def subscription_rules(sub: Subscription, topics: Mapping[str, Topic]) -> list[Rule]:
    """How a subscription is matched.

    A topic as defined (its id is the key, shared by all its followers); a chat's own
    query (``q:<id>``); a topic narrowed with /filter is the topic (still at its own
    threshold) AND the filter (``f:<id>``), and a widening is matched on its own
    (``w:<id>``).  A topic no longer in the config gives no rule.
    """
    if sub.query:
        return [Rule(sub.key, sub.query, 0.0)]
    topic = topics.get(sub.topic_id)
    if topic is None:
        return []
    learned = topic if topic.model else None
    if not sub.filtered:
        return [topic_rule(topic)]  # the key is the topic's id, shared by its followers
    try:
        narrow = parse_query(sub.narrow) if sub.narrow else None
        widen = parse_query(sub.widen) if sub.widen else None
    except QueryError as e:  # stored under an older grammar: the topic alone, and say so
        log.warning("subscription %d: its filter no longer parses (%s); topic alone", sub.id, e)
        if learned is not None:
            return [Rule(f"f:{sub.id}", None, 0.0, topic, model=learned)]
        return [Rule(f"f:{sub.id}", compile_topic(topic), topic.threshold, topic)]
    if learned is not None:  # the model decides the topic, the filter narrows it
        rules = [Rule(f"f:{sub.id}", narrow, 0.0, topic, model=learned)]
    else:
        base = compile_topic(topic)
        query = base
        if narrow is not None:
            root = And((AtLeast(base.root, topic.threshold), narrow.root))
            query = Query(text=f"({topic.query}) ({sub.narrow})", root=root)
        rules = [Rule(f"f:{sub.id}", query, topic.threshold, topic)]
    if widen is not None:
        rules.append(Rule(f"w:{sub.id}", widen, 0.0, topic))
    return rules


class RuleSet:
    """Rules decided together, the way alerts decide them: the queries in one matcher, a
    learned topic by its model (once per article, however many rules ask), a narrowed
    learned topic by its model AND its filter.  For /latest, /test and /why; the audience
    does the same over its index of every subscription."""

    def __init__(self) -> None:
        self.matcher = Matcher()
        self._models: dict[str, Topic] = {}  # key -> the topic whose model must say yes
        self._alone: list[str] = []  # keys the model alone decides (no query)

    def add(self, rule: Rule) -> Query | None:
        """Add ``rule``; its compiled query (a query that does not parse raises
        :class:`QueryError`), ``None`` when the model alone decides."""
        query = None
        if rule.query is not None:
            query = self.matcher.add(rule.key, rule.query, threshold=rule.threshold)
        if rule.model is not None:
            self._models[rule.key] = rule.model
            if rule.query is None:
                self._alone.append(rule.key)
        return query

    def __len__(self) -> int:
        return len(self.matcher) + len(self._alone)

    @property
    def needs_vectors(self) -> bool:
        """True when a semantic term or a learned model reads the articles' vectors."""
        return self.matcher.needs_vectors or any(map(reads_vectors, self._models.values()))

    def match(self, article: Article, *, vector: np.ndarray | None = None) -> list[Match]:
        """The rules ``article`` matches, with score and why, best first."""
        decisions: dict[str, Match] = {}
        out: list[Match] = []
        for m in self.matcher.match(article, vector=vector) if len(self.matcher) else ():
            topic = self._models.get(m.topic)
            if topic is None:
                out.append(m)
                continue
            decision = learned_decision(article, topic, decisions, vector)
            if decision.matched:
                out.append(
                    Match(m.article_id, m.topic, True, decision.score, (*m.why, *decision.why))
                )
        for key in self._alone:
            decision = learned_decision(article, self._models[key], decisions, vector)
            if decision.matched:
                out.append(replace(decision, topic=key))
        out.sort(key=lambda m: -m.score)
        return out

    def evaluate(self, key: str, article: Article, *, vector: np.ndarray | None = None) -> Match:
        """The decision of rule ``key`` on one article, matched or not."""
        topic = self._models.get(key)
        decision = learned_decision(article, topic, {}, vector) if topic is not None else None
        if decision is not None and (key in self._alone or not decision.matched):
            return replace(decision, topic=key)
        found = self.matcher.evaluate(key, article, vector=vector)
        if decision is None or not found.matched:
            return found
        return Match(found.article_id, key, True, decision.score, (*found.why, *decision.why))


def learned_decision(
    article: Article,
    topic: Topic,
    decided: dict[str, Match],
    vector: np.ndarray | None = None,
) -> Match:
    """``topic``'s model on ``article`` (``vector``: its stored meaning vector), decided
    once per article (``decided`` remembers)."""
    decision = decided.get(topic.id)
    if decision is None:
        decision = decided[topic.id] = model_match(article, topic, vector=vector)
    return decision


def passage_text(topic: Topic, article: Article) -> str | None:
    """The text whose e5 vector ``topic``'s model will make to decide ``article``, or None
    (no e5 block, or the gate rules the article out): see ``TopicModel.passage_text``."""
    from bot.matching.topic_model import model_for

    model = model_for(topic) if topic.model else None
    if model is None:
        return None
    return model.passage_text(article.title, article.summary, article.content, article.source)


def reads_vectors(topic: Topic) -> bool:
    """True when ``topic``'s learned model reads the article's meaning vector (the stored
    USE vector; an e5 block the model makes itself)."""
    from bot.matching.embed import parts
    from bot.matching.topic_model import model_for

    model = model_for(topic) if topic.model else None
    return model is not None and "use-m3" in parts(model.spec.embedder)
