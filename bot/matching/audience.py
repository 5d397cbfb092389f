"""Who wants an article: the active subscriptions compiled into one matcher.

Each matcher key is a topic id (shared by every chat that follows the topic)
or ``q:<subscription id>`` for a chat's own query.  The index is rebuilt from
the store only when the store's subscription generation moved (``refresh``), so
a write by anyone (a chat command, the sender, the CLI in another process) is
seen on the next article without anybody telling the audience; a rebuild recompiles
only the keys whose query changed.  A topic with a learned model is not in the
index: its model decides each article once, for all its followers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from bot.matching.document import prepare_document
from bot.matching.engine import Matcher, MatchGroup
from bot.matching.rules import learned_decision, passage_text, reads_vectors, subscription_rules
from bot.matching.syntax import Query
from bot.records import Article, Match, Topic
from storage.subscriptions import Subscription, SubscriptionStore


@dataclass(frozen=True, slots=True)
class Recipient:
    """A chat that should get the article, and the match that decided it."""

    chat_id: int
    match: Match
    topic: Topic | None
    thread_id: int | None = None  # the forum topic of the subscription that matched


class Audience:
    """The active subscriptions as one matcher, and who follows each of its keys."""

    def __init__(self, topics: Mapping[str, Topic]) -> None:
        self.topics = dict(topics)
        self._matcher = Matcher()
        self._chats: dict[str, set[int]] = defaultdict(set)
        self._labels: dict[str, Topic | None] = {}  # keys of topics narrowed with /filter
        self._signatures: dict[str, tuple[str, float]] = {}  # what each matcher key compiles
        self._learned: dict[str, Topic] = {}  # followed topics decided by a learned model
        self._gated: dict[str, Topic] = {}  # narrowed learned topics: filter AND model
        self._threads: dict[tuple[str, int], int] = {}  # (key, chat) -> forum topic

        self._generation: int | None = None  # the store's generation the index was loaded at

    def refresh(self, subscriptions: SubscriptionStore) -> None:
        """Reload the index from the store's active subscriptions if they changed since
        the last load (one cheap read of the store's generation number when not)."""
        generation = subscriptions.generation()  # read first: a write after it loads again
        if generation != self._generation:
            self.load(subscriptions.active())
            self._generation = generation

    def load(self, subscriptions: list[Subscription], *, generation: int | None = None) -> None:
        """Replace the index with these subscriptions (read at the store's ``generation``,
        when given: :meth:`refresh` loads again only when it moved from there)."""
        wanted: dict[str, tuple[str | Query, float]] = {}
        chats: dict[str, set[int]] = defaultdict(set)
        labels: dict[str, Topic | None] = {}
        learned: dict[str, Topic] = {}
        threads: dict[tuple[str, int], int] = {}
        gated: dict[str, Topic] = {}
        for sub in subscriptions:
            for rule in subscription_rules(sub, self.topics):  # none: a topic removed
                if rule.query is None:
                    if rule.model is not None:  # decided by its model, not in the index
                        learned[rule.key] = rule.model
                else:
                    wanted[rule.key] = (rule.query, rule.threshold)
                    if rule.model is not None:
                        gated[rule.key] = rule.model  # the filter AND the topic's model
                chats[rule.key].add(sub.chat_id)
                if sub.filtered:
                    labels[rule.key] = rule.topic
                if sub.thread_id is not None:
                    threads[(rule.key, sub.chat_id)] = sub.thread_id
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
        self._gated = gated
        self._threads = threads
        if generation is not None:
            self._generation = generation

    @property
    def needs_vectors(self) -> bool:
        """True when some subscription has a semantic term (``~"..."``), or follows a
        learned topic whose model reads the article's vector."""
        return self._matcher.needs_vectors or any(
            map(reads_vectors, (*self._learned.values(), *self._gated.values()))
        )

    def passage_texts(self, article: Article) -> list[str]:
        """The texts whose e5 vectors the followed learned topics' models will make to
        decide ``article`` (an e5 block, the article past the gate): made first off the
        event loop, ``recipients`` then finds them made (``passages.remembered``)."""
        topics = {t.id: t for t in (*self._learned.values(), *self._gated.values())}
        texts = (passage_text(t, article) for t in topics.values())
        return list(dict.fromkeys(t for t in texts if t))

    def recipients(self, article: Article, *, vector: np.ndarray | None = None) -> list[Recipient]:
        """The chats whose subscriptions match ``article`` (its meaning ``vector`` for the
        semantic terms), one entry per chat (the best-scoring match wins when several of a
        chat's subscriptions match)."""
        # Groups come best first, so a chat's first group is its best; a Match record is
        # made only for the chats that get the article, not for every subscription.
        doc = prepare_document(article)
        doc.vector = vector
        chosen: dict[int, tuple[float, str, MatchGroup | Match]] = {}
        chats = self._chats
        gated = self._gated
        decided: dict[str, Match] = {}  # a learned topic decides once per article
        for group in self._matcher.match_groups(doc):
            for key in group.keys:
                found: MatchGroup | Match = group
                score = group.score
                if gated and key in gated:  # a narrowed learned topic: its model too
                    decision = learned_decision(article, gated[key], decided, vector)
                    if not decision.matched:
                        continue
                    score = decision.score
                    found = Match(article.id, key, True, score, (*group.why, *decision.why))
                for chat_id in chats.get(key, ()):
                    if chat_id not in chosen:
                        chosen[chat_id] = (score, key, found)
        # each followed learned topic decides once per article, whoever follows it
        for key, learned in self._learned.items():
            decision = replace(learned_decision(article, learned, decided, vector), topic=key)
            if decision.matched:
                for chat_id in chats.get(key, ()):
                    prior = chosen.get(chat_id)
                    if prior is None or decision.score > prior[0]:
                        chosen[chat_id] = (decision.score, key, decision)
        out = []
        for chat_id in sorted(chosen):
            score, key, found = chosen[chat_id]
            match = (
                found
                if isinstance(found, Match)
                else Match(article.id, key, True, score, found.why)
            )
            out.append(
                Recipient(
                    chat_id=chat_id,
                    match=match,
                    topic=self._topic_of(key),
                    thread_id=self._threads.get((key, chat_id)),
                )
            )
        return out

    def _topic_of(self, key: str) -> Topic | None:
        if key in self._labels:
            return self._labels[key]
        return self.topics.get(key) if not key.startswith("q:") else None

    @property
    def size(self) -> int:
        return len(self._chats)


def _signature(query: str | Query) -> str:
    """What a query compiles to, to tell when a key's query changed."""
    return query if isinstance(query, str) else repr(query)
