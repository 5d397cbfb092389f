"""What the 👍/👎/❔ buttons, /why and /feedback do (no SQL, no Telegram)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.matching import vectors
from bot.matching.feedback import Verdict, judge
from bot.matching.rules import RuleSet, subscription_rules
from bot.records import Delivery, Topic
from bot.service.search import vector_of
from storage.feedback import Vote
from storage.store import Store


def vote(store: Store, delivery: Delivery, value: int) -> Vote | None:
    """The chat's 👍 (+1) or 👎 (-1) on one of its alerts, kept with the article's meaning;
    ``None`` when the article is gone (pruned)."""
    stored = store.articles.get(delivery.article_key)
    if stored is None:
        return None
    vector = vector_of(store, stored)
    return store.feedback.record(
        delivery.chat_id,
        delivery.topic,
        stored.key,
        value,
        title=stored.article.title,
        vector=vectors.to_blob(vector) if vector is not None else None,
    )


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why an alert went to a chat: the subscription that matched, what matched in it
    (``why``: words, groups, ~terms with their similarity), and the chat's nearest vote."""

    title: str
    rule: str  # the topic's name, or the chat's own filter
    why: tuple[str, ...]
    score: float
    nearest: Verdict | None = None


def explain(store: Store, topics: Mapping[str, Topic], delivery: Delivery) -> Explanation | None:
    """Re-run the chat's subscriptions on the alert's article (``None`` if it is gone)."""
    stored = store.articles.get(delivery.article_key)
    if stored is None:
        return None
    ruleset = RuleSet()
    labels: dict[str, str] = {}
    for sub in store.subscriptions.for_chat(delivery.chat_id):
        for rule in subscription_rules(sub, topics):
            try:
                ruleset.add(rule)
            except Exception:  # a filter that no longer parses explains nothing
                continue
            labels[rule.key] = rule.topic.name if rule.topic else str(sub.query or rule.query)
    vector = vector_of(store, stored) if ruleset.needs_vectors or store.feedback.count() else None
    matches = ruleset.match(stored.article, vector=vector)
    votes = [
        (v.vote, blob, v.title)
        for v in store.feedback.for_chat(delivery.chat_id)
        if v.topic == delivery.topic and v.article_id != stored.key
        and (blob := vectors.from_blob(v.vector)) is not None
    ]  # fmt: skip
    nearest = judge(vector, votes) if votes and vector is not None else None
    if not matches:
        return Explanation(stored.article.title, "", (), 0.0, nearest)
    best = matches[0]
    return Explanation(
        stored.article.title, labels.get(best.topic, best.topic), best.why, best.score, nearest
    )


def taught(store: Store, chat_id: int) -> list[Vote]:
    """What the chat taught, oldest first."""
    return store.feedback.for_chat(chat_id)


def forget(store: Store, chat_id: int, number: int | None = None) -> int:
    """Forget every vote of the chat, or its ``number``-th (1-based, as /feedback lists)."""
    if number is None:
        return store.feedback.clear(chat_id)
    votes = store.feedback.for_chat(chat_id)
    if not 1 <= number <= len(votes):
        return 0
    return store.feedback.clear(chat_id, votes[number - 1].id)
