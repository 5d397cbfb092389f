"""How a subscription is matched: the rules (key, query, threshold) the audience compiles."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import QueryError
from bot.matching.document import Document
from bot.matching.parser import parse_query
from bot.matching.syntax import And, Node, Query
from bot.matching.topics import compile_topic
from bot.records import Topic
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
    """One entry of the matcher for a subscription: key, query, lowest score that counts."""

    key: str
    query: Query | str
    threshold: float
    topic: Topic | None = None


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
    if not sub.filtered:
        return [Rule(sub.key, topic.query, topic.threshold, topic)]
    base = compile_topic(topic)
    try:
        narrow = parse_query(sub.narrow) if sub.narrow else None
        widen = parse_query(sub.widen) if sub.widen else None
    except QueryError as e:  # stored under an older grammar: the topic alone, and say so
        log.warning("subscription %d: its filter no longer parses (%s); topic alone", sub.id, e)
        return [Rule(f"f:{sub.id}", base, topic.threshold, topic)]
    query = base
    if narrow is not None:
        root = And((AtLeast(base.root, topic.threshold), narrow.root))
        query = Query(text=f"({topic.query}) ({sub.narrow})", root=root)
    rules = [Rule(f"f:{sub.id}", query, topic.threshold, topic)]
    if widen is not None:
        rules.append(Rule(f"w:{sub.id}", widen, 0.0, topic))
    return rules
