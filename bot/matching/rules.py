"""How a subscription is matched: the rules (key, query, threshold) the audience compiles."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bot.errors import QueryError
from bot.matching.document import Document, prepare_document
from bot.matching.engine import Matcher, MatchGroup, model_match
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


def _place_model(rule: Rule, gated: dict[str, Topic], alone: dict[str, Topic]) -> None:
    """Put ``rule``'s model where :class:`RuleSet` keeps it: in ``alone`` when it decides
    alone, in ``gated`` when the query must match too; the key leaves its old place."""
    gated.pop(rule.key, None)
    alone.pop(rule.key, None)
    if rule.model is not None:
        (alone if rule.query is None else gated)[rule.key] = rule.model


class RuleSet:
    """Rules decided together, the way alerts decide them: the queries in one matcher, a
    learned topic by its model (once per article, however many rules ask), a narrowed
    learned topic by its model AND its filter.  The audience keeps every subscription's
    rules in one (see :meth:`load`); /latest, /test and /why build one of a chat's."""

    def __init__(self) -> None:
        self.matcher = Matcher()
        self._gated: dict[str, Topic] = {}  # key -> the topic whose model must say yes too
        self._alone: dict[str, Topic] = {}  # key -> the topic whose model alone decides
        self._signatures: dict[str, tuple[str, float]] = {}  # what each matcher key compiles

    def add(self, rule: Rule) -> Query | None:
        """Add (or replace) ``rule``; its compiled query (a query that does not parse
        raises :class:`QueryError`, and the set stays as it was), ``None`` when the model
        alone decides."""
        query = None
        if rule.query is not None:
            query = self.matcher.add(rule.key, rule.query, threshold=rule.threshold)
            self._signatures[rule.key] = (_signature(rule.query), rule.threshold)
        elif rule.key in self._signatures:
            self.matcher.remove(rule.key)
            del self._signatures[rule.key]
        _place_model(rule, self._gated, self._alone)
        return query

    def load(self, rules: Iterable[Rule]) -> None:
        """Make the set exactly ``rules`` (a key given twice: its last rule), compiling
        again only the keys whose query or threshold changed."""
        wanted: dict[str, tuple[Query | str, float]] = {}
        gated: dict[str, Topic] = {}
        alone: dict[str, Topic] = {}
        for rule in rules:
            wanted.pop(rule.key, None)
            if rule.query is not None:
                wanted[rule.key] = (rule.query, rule.threshold)
            _place_model(rule, gated, alone)
        # A key can come back with another query (a row id reused after a delete, a second
        # /filter): compare what each key compiles, not just the key.
        signatures = {
            key: (_signature(query), threshold) for key, (query, threshold) in wanted.items()
        }
        for key in set(self._signatures) - set(wanted):
            self.matcher.remove(key)
        for key, (query, threshold) in wanted.items():
            if self._signatures.get(key) != signatures[key]:
                self.matcher.add(key, query, threshold=threshold)  # replaces the old one
        self._signatures = signatures
        self._gated = gated
        self._alone = alone

    def __len__(self) -> int:
        return len(self.matcher) + len(self._alone)

    @property
    def needs_vectors(self) -> bool:
        """True when a semantic term or a learned model reads the articles' vectors."""
        return self.matcher.needs_vectors or any(
            map(reads_vectors, (*self._gated.values(), *self._alone.values()))
        )

    def passage_texts(self, article: Article, *, vector: np.ndarray | None = None) -> list[str]:
        """The texts whose e5 vectors the learned models will make to decide ``article``
        (see :func:`passage_text`; ``vector``: its stored meaning vector), each once."""
        topics = {t.id: t for t in (*self._gated.values(), *self._alone.values())}
        texts = (passage_text(t, article, vector) for t in topics.values())
        return list(dict.fromkeys(t for t in texts if t))

    def decisions(
        self, article: Article, *, vector: np.ndarray | None = None
    ) -> Iterator[tuple[Iterable[str], float, MatchGroup | Match]]:
        """The rules ``article`` matches, as ``(keys, score, found)``: first the
        matcher's groups, best first (a key whose topic's model must agree only when it
        does, on its own at the model's score), then each key a model alone decides.
        ``found`` is the :class:`MatchGroup` itself when the query alone decided (make a
        key's Match with :func:`group_match` only when needed: most are only mapped to
        chats)."""
        decided: dict[str, Match] = {}  # a learned topic decides once per article
        if len(self.matcher):
            doc = prepare_document(article)
            doc.vector = vector
            gated = self._gated
            for group in self.matcher.match_groups(doc):
                keys = group.keys
                if not gated or gated.keys().isdisjoint(keys):
                    yield keys, group.score, group
                    continue
                plain = [key for key in keys if key not in gated]
                if plain:
                    yield plain, group.score, group
                for key in keys:  # a narrowed learned topic: its model too
                    if key in gated:
                        decision = learned_decision(article, gated[key], decided, vector)
                        if decision.matched:
                            score = decision.score
                            why = (*group.why, *decision.why)
                            yield (key,), score, Match(article.id, key, True, score, why)
        for key, topic in self._alone.items():
            decision = learned_decision(article, topic, decided, vector)
            if decision.matched:
                yield (key,), decision.score, replace(decision, topic=key)

    def match(self, article: Article, *, vector: np.ndarray | None = None) -> list[Match]:
        """The rules ``article`` matches, with score and why, best first."""
        out = [
            group_match(article, key, found)
            for keys, _, found in self.decisions(article, vector=vector)
            for key in keys
        ]
        out.sort(key=lambda m: -m.score)
        return out

    def evaluate(self, key: str, article: Article, *, vector: np.ndarray | None = None) -> Match:
        """The decision of rule ``key`` on one article, matched or not."""
        topic = self._alone.get(key, self._gated.get(key))
        decision = learned_decision(article, topic, {}, vector) if topic is not None else None
        if decision is not None and (key in self._alone or not decision.matched):
            return replace(decision, topic=key)
        found = self.matcher.evaluate(key, article, vector=vector)
        if decision is None or not found.matched:
            return found
        return Match(found.article_id, key, True, decision.score, (*found.why, *decision.why))


def group_match(article: Article, key: str, found: MatchGroup | Match) -> Match:
    """The Match of one key of :meth:`RuleSet.decisions`."""
    if isinstance(found, Match):
        return found
    return Match(article.id, key, True, found.score, found.why)


def _signature(query: str | Query) -> str:
    """What a query compiles to, to tell when a key's query changed."""
    return query if isinstance(query, str) else repr(query)


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


def passage_text(topic: Topic, article: Article, vector: np.ndarray | None = None) -> str | None:
    """The text whose e5 vector ``topic``'s model will make to decide ``article``, or None
    (no e5 block, the gate rules the article out, or the cascade's first head settles it,
    reading ``vector``, the stored meaning vector): see ``TopicModel.passage_text``."""
    from bot.matching.topic_model import model_for

    model = model_for(topic) if topic.model else None
    if model is None:
        return None
    return model.passage_text(
        article.title, article.summary, article.content, article.source, vector=vector
    )


def reads_vectors(topic: Topic) -> bool:
    """True when ``topic``'s learned model reads the article's meaning vector (the stored
    USE vector; an e5 block the model makes itself)."""
    from bot.matching.embed import parts
    from bot.matching.topic_model import model_for

    model = model_for(topic) if topic.model else None
    return model is not None and "use-m3" in parts(model.spec.embedder)
