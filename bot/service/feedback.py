"""What the 👍/👎/❔ buttons, /why and /feedback do (no SQL, no Telegram)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.i18n import DEFAULT_LANGUAGE
from bot.matching import passages, vectors
from bot.matching.feedback import Rated, Verdict, decide, needs_passage
from bot.matching.rules import RuleSet, subscription_rules
from bot.records import Article, Delivery, Topic
from bot.service.search import ArticleVectors
from storage.articles import StoredArticle
from storage.feedback import Vote
from storage.store import Store


def passages_of(articles: Sequence[Article]) -> np.ndarray:
    """The e5 vectors of articles (bot.matching.passages), each made once: the pipeline's
    vector of an alert is the one its 👍/👎 and /why read.  Slow (tens of ms an article):
    call it in a worker thread."""
    return passages.remembered([vectors.article_text(a) for a in articles])


def rated(votes: Iterable[Vote], topic: str, *, leave_out: int | None = None) -> list[Rated]:
    """The votes on ``topic`` as the learning rule reads them (their vectors unpacked)."""
    return [
        Rated(v.vote, v.title, vectors.from_blob(v.vector), vectors.from_blob(v.passage))
        for v in votes
        if v.topic == topic and (leave_out is None or v.article_id != leave_out)
    ]


def _made(stored: StoredArticle, passage: bool) -> tuple[ArticleVectors, np.ndarray | None]:
    """The article's USE vector (stored, else made) and its e5 vector (pure work)."""
    sharp = passages_of([stored.article])[0] if passage and passages.available() else None
    return ArticleVectors.of([stored]), sharp


async def _meanings(
    store: Store, stored: StoredArticle, passage: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Both vectors of the article, made in a worker thread; a USE vector made now (an
    article from before vectors) is stored with it."""
    found, sharp = await asyncio.to_thread(_made, stored, passage)
    found.keep(store)
    return found.rows.get(stored.key), sharp


async def vote(store: Store, delivery: Delivery, value: int) -> Vote | None:
    """The chat's 👍 (+1) or 👎 (-1) on one of its alerts, kept with the article's meaning
    (both vectors, made in a worker thread when needed); ``None`` when the article is gone
    (pruned)."""
    stored = store.articles.get(delivery.article_key)
    if stored is None:
        return None
    vector, passage = await _meanings(store, stored, True)
    return store.feedback.record(
        delivery.chat_id,
        delivery.topic,
        stored.key,
        value,
        title=stored.article.title,
        vector=vectors.to_blob(vector) if vector is not None else None,
        passage=vectors.to_blob(passage) if passage is not None else None,
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


async def explain(
    store: Store,
    topics: Mapping[str, Topic],
    delivery: Delivery,
    *,
    language: str = DEFAULT_LANGUAGE,
) -> Explanation | None:
    """Re-run the chat's subscriptions on the alert's article (``None`` if it is gone),
    naming the topic in ``language``; vectors that are missing are made in a worker thread."""
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
            labels[rule.key] = (
                rule.topic.name_in(language) if rule.topic else str(sub.query or rule.query)
            )
    votes = rated(store.feedback.for_chat(delivery.chat_id), delivery.topic, leave_out=stored.key)
    vector, passage = None, None
    if ruleset.needs_vectors or votes:
        vector, passage = await _meanings(store, stored, needs_passage(votes))
    texts = ruleset.passage_texts(stored.article, vector=vector) if passages.available() else []
    if texts:  # a learned topic's e5 block: made in a thread, not on the loop
        await asyncio.to_thread(passages.remembered, texts)
    matches = ruleset.match(stored.article, vector=vector)
    nearest = decide(vector, passage, votes) if votes else None
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
