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
from dataclasses import dataclass

import numpy as np

from bot.matching.engine import MatchGroup
from bot.matching.rules import Rule, RuleSet, group_match, subscription_rules
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
    """The active subscriptions as one rule set, and who follows each of its keys."""

    def __init__(self, topics: Mapping[str, Topic]) -> None:
        self.topics = dict(topics)
        self._rules = RuleSet()
        self._chats: dict[str, set[int]] = defaultdict(set)
        self._labels: dict[str, Topic | None] = {}  # keys of topics narrowed with /filter
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
        rules: dict[str, Rule] = {}
        chats: dict[str, set[int]] = defaultdict(set)
        labels: dict[str, Topic | None] = {}
        threads: dict[tuple[str, int], int] = {}
        for sub in subscriptions:
            for rule in subscription_rules(sub, self.topics):  # none: a topic removed
                rules[rule.key] = rule
                chats[rule.key].add(sub.chat_id)
                if sub.filtered:
                    labels[rule.key] = rule.topic
                if sub.thread_id is not None:
                    threads[(rule.key, sub.chat_id)] = sub.thread_id
        self._rules.load(rules.values())  # compiles again only the keys that changed
        self._chats = chats
        self._labels = labels
        self._threads = threads
        if generation is not None:
            self._generation = generation

    @property
    def needs_vectors(self) -> bool:
        """True when some subscription has a semantic term (``~"..."``), or follows a
        learned topic whose model reads the article's vector."""
        return self._rules.needs_vectors

    def passage_texts(self, article: Article, *, vector: np.ndarray | None = None) -> list[str]:
        """The texts whose e5 vectors the followed learned topics' models will make to
        decide ``article`` (an e5 block, the article past the gate): made first off the
        event loop, ``recipients`` then finds them made (``passages.remembered``)."""
        return self._rules.passage_texts(article, vector=vector)

    def recipients(self, article: Article, *, vector: np.ndarray | None = None) -> list[Recipient]:
        """The chats whose subscriptions match ``article`` (its meaning ``vector`` for the
        semantic terms), one entry per chat (the best-scoring match wins when several of a
        chat's subscriptions match; the first of equals)."""
        # A Match record is made only for the chats that get the article, not for every
        # subscription.
        chosen: dict[int, tuple[float, str, MatchGroup | Match]] = {}
        chats = self._chats
        for keys, score, found in self._rules.decisions(article, vector=vector):
            for key in keys:
                for chat_id in chats.get(key, ()):
                    prior = chosen.get(chat_id)
                    if prior is None or score > prior[0]:
                        chosen[chat_id] = (score, key, found)
        return [
            Recipient(
                chat_id=chat_id,
                match=group_match(article, key, found),
                topic=self._topic_of(key),
                thread_id=self._threads.get((key, chat_id)),
            )
            for chat_id, (_, key, found) in sorted(chosen.items())
        ]

    def _topic_of(self, key: str) -> Topic | None:
        if key in self._labels:
            return self._labels[key]
        return self.topics.get(key) if not key.startswith("q:") else None

    @property
    def size(self) -> int:
        return len(self._chats)
