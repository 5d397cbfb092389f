"""A sample of the stored articles for an operator to label: ``newsalert topics sample``.

A learned topic is judged on kinds of news it was not trained on, and falls short on some
(README, "How well it holds on news it was not trained on"). What it lacks is labelled news
of the operator's own sources. This picks the articles worth labelling from the database,
writes them as the JSON Lines ``topics train --data`` reads (each with ``"label": null`` to
fill in), and the operator trains a model of their own with them
(``bench/topic_adaptation.py`` measures what a sample buys).

Which articles: the most recent ones (at most ``scan``, first seen within ``days``). For a
topic with a learned model, those the model's anchor gate lets through, the most uncertain
first (the probability closest to the threshold); the gate rules the others out whatever
their label, so labelling them teaches nothing. For a topic decided by its query, the ones
it matches and as many it does not, at random (seeded), to give both labels.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from bot.matching.engine import match_topic
from bot.matching.topic_model import model_for
from bot.matching.topic_model.spec import model_text
from bot.matching.vectors import from_blob
from bot.records import Topic
from storage.articles import StoredArticle
from storage.database import to_db_time
from storage.store import Store

# the source group of the sample in `topics train` (the id's prefix before "-"): its
# leave-one-source-out row is how the model does on the operator's own news
GROUP = "own"
SCAN_DEFAULT = 5000
DAYS_DEFAULT = 30
LIMIT_DEFAULT = 200


@dataclass(frozen=True, slots=True)
class Candidate:
    stored: StoredArticle
    matched: bool
    score: float
    gated: bool  # ruled out by the model's anchor gate before it ran


@dataclass(frozen=True, slots=True)
class Sample:
    rows: list[dict[str, Any]]
    scanned: int
    gated: int  # of those scanned, ruled out by the gate (not offered)
    matched: int  # of those scanned, what the topic decides for today
    threshold: float | None  # the model's, when a model decides
    how: str  # "uncertain first" or "matched and not matched"


def recent_articles(store: Store, *, now: datetime, days: int, scan: int) -> list[StoredArticle]:
    """The ``scan`` most recent stored articles first seen within ``days`` of ``now``."""
    since = to_db_time(now - timedelta(days=days))
    return store.articles.recent(since=since, limit=scan)


def _decisions(topic: Topic, articles: Sequence[StoredArticle]) -> Iterator[Candidate]:
    model = model_for(topic)
    for stored in articles:
        a = stored.article
        if model is None:
            m = match_topic(a, topic)
            yield Candidate(stored, m.matched, m.score, gated=False)
            continue
        d = model.decide(a.title, a.summary, a.content, a.source, vector=from_blob(stored.vector))
        yield Candidate(stored, d.matched, d.score, gated=d.gated)


def row_of(c: Candidate) -> dict[str, Any]:
    """One line of the sample: what ``topics train`` reads, with the label to fill in."""
    a = c.stored.article
    title, lead = model_text(a.title, a.summary, a.content)
    return {
        "id": f"{GROUP}-{c.stored.key}",
        "title": title,
        "summary": lead,
        "source": a.source,
        "link": a.link,
        "published": a.published.isoformat() if a.published else None,
        "score": round(c.score, 4),
        "matched": c.matched,
        "label": None,
    }


def build_sample(
    store: Store,
    topic: Topic,
    *,
    now: datetime,
    limit: int = LIMIT_DEFAULT,
    days: int = DAYS_DEFAULT,
    scan: int = SCAN_DEFAULT,
    seed: int = 0,
) -> Sample:
    """The articles to label for ``topic`` (see the module's docstring)."""
    articles = recent_articles(store, now=now, days=days, scan=scan)
    decided = list(_decisions(topic, articles))
    model = model_for(topic)
    matched = sum(c.matched for c in decided)
    gated = sum(c.gated for c in decided)
    if model is not None:
        threshold = model.threshold
        open_ = [c for c in decided if not c.gated]
        open_.sort(key=lambda c: (abs(c.score - threshold), -c.stored.key))
        chosen = open_[:limit]
        rows = [row_of(c) for c in chosen]
        return Sample(rows, len(decided), gated, matched, threshold, "uncertain first")
    rng = random.Random(seed)
    yes = [c for c in decided if c.matched]
    no = [c for c in decided if not c.matched]
    take_yes = yes[: max(limit // 2, limit - len(no))]
    rest = limit - len(take_yes)
    take_no = rng.sample(no, min(rest, len(no)))
    chosen = [*take_yes, *take_no]
    rows = [row_of(c) for c in chosen]
    return Sample(rows, len(decided), gated, matched, None, "matched and not matched")


def write_sample(sample: Sample, out: IO[str]) -> None:
    for row in sample.rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
