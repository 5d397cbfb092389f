"""Who wants an article: the active subscriptions compiled into one matcher.

Each matcher key is a topic id (shared by every chat that follows the topic)
or ``q:<subscription id>`` for a chat's own query.  A topic with a learned
model is not in the index: its model decides each article once, for all its
followers.  The index is rebuilt from
the store only when subscriptions changed (``invalidate``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from bot.match import Matcher, model_match
from bot.query import Query
from bot.records import Article, Match, Topic
from bot.service import subscription_rules
from storage.subscriptions import Subscription


@dataclass(frozen=True, slots=True)
class Recipient:
    """A chat that should get the article, and the match that decided it."""

    chat_id: int
    match: Match
    topic: Topic | None


class Audience:
    def __init__(self, topics: Mapping[str, Topic]) -> None:
        self.topics = dict(topics)
        self._matcher = Matcher()
        self._chats: dict[str, set[int]] = defaultdict(set)
        self._labels: dict[str, Topic | None] = {}  # keys of topics narrowed with /filter
        self._signatures: dict[str, tuple[str, float]] = {}  # what each matcher key compiles
        self._learned: dict[str, Topic] = {}  # followed topics decided by a learned model

    def load(self, subscriptions: list[Subscription]) -> None:
        """Replace the index with these subscriptions."""
        wanted: dict[str, tuple[str | Query, float]] = {}
        chats: dict[str, set[int]] = defaultdict(set)
        labels: dict[str, Topic | None] = {}
        learned: dict[str, Topic] = {}
        for sub in subscriptions:
            if sub.filtered:  # a topic narrowed or widened with /filter: keys of its own
                for rule in subscription_rules(sub, self.topics):
                    wanted[rule.key] = (rule.query, rule.threshold)
                    chats[rule.key].add(sub.chat_id)
                    labels[rule.key] = rule.topic
                continue
            if sub.query:
                wanted[sub.key] = (sub.query, 0.0)
            else:
                topic = self.topics.get(sub.topic_id)
                if topic is None:
                    continue  # a topic removed from the config: its followers get nothing
                if topic.model:
                    learned[sub.key] = topic  # decided by its model, not in the index
                else:
                    wanted[sub.key] = (topic.query, topic.threshold)
            chats[sub.key].add(sub.chat_id)
        # A key can come back with another query (a row id reused after a delete, a second
        # /filter): compare what each key compiles, not just the key.
        signatures = {
            key: (_signature(query), threshold) for key, (query, threshold) in wanted.items()
        }
        for key in set(self._signatures) - set(wanted):
            self._matcher.remove(key)
        for key, (query, threshold) in wanted.items():
            if self._signatures.get(key) != signatures[key]:
                if key in self._signatures:
                    self._matcher.remove(key)
                self._matcher.add(key, query, threshold=threshold)
        self._signatures = signatures
        self._chats = chats
        self._labels = labels
        self._learned = learned

    def recipients(self, article: Article) -> list[Recipient]:
        """The chats whose subscriptions match ``article``, one entry per chat
        (the best-scoring match wins when several of a chat's subscriptions match)."""
        best: dict[int, Recipient] = {}
        matches = self._matcher.match(article)
        # each followed learned topic decides once per article, whoever follows it
        for key, topic in self._learned.items():
            decision = model_match(article, topic, key=key)
            if decision.matched:
                matches.append(decision)
        for match in matches:
            if match.topic in self._labels:
                topic = self._labels[match.topic]
            else:
                topic = self.topics.get(match.topic) if not match.topic.startswith("q:") else None
            for chat_id in self._chats.get(match.topic, ()):
                prior = best.get(chat_id)
                if prior is None or match.score > prior.match.score:
                    best[chat_id] = Recipient(chat_id=chat_id, match=match, topic=topic)
        return [best[c] for c in sorted(best)]

    @property
    def size(self) -> int:
        return len(self._chats)


def _signature(query: str | Query) -> str:
    """What a query compiles to, to tell when a key's query changed."""
    return query if isinstance(query, str) else repr(query)
