"""The work bench/offload.py runs, at module level so that worker processes can import it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from bot.records import Article

TITLES = (
    "North Korea fires ballistic missile into East Sea, Seoul says",
    "US and South Korea hold talks on North Korea denuclearisation",
    "Samsung posts record quarterly profit on chip demand",
    "Kim Jong Un inspects a munitions factory",
    "북한, 동해상으로 탄도미사일 발사…합참 '추가 도발 경계'",
    "Seoul and Tokyo agree to resume shuttle diplomacy",
)
LEAD = (
    "Officials said the talks, the first in months, covered sanctions, the joint exercises "
    "planned for the spring and the humanitarian situation, and that both sides agreed to "
    "meet again. Analysts cautioned that little had changed on the ground. "
) * 3


def articles(n: int) -> list[Article]:
    return [
        Article(
            id=f"a{k}",
            title=f"{TITLES[k % len(TITLES)]} ({k})",
            summary=LEAD,
            link=f"https://news.example/{k}",
            source="Example Wire",
        )
        for k in range(n)
    ]


@cache
def _feed() -> bytes:
    from tests.fakes.synthetic_feeds import big_feed

    return big_feed("wire-a")


def parse_big_feed() -> int:
    from bot.ingest.parse import parse_feed

    return len(parse_feed(_feed(), url="https://wire.example/feed.xml").articles)


def embed_64() -> int:
    from bot.matching import vectors

    return len(vectors.article_vectors(articles(64)))


def decide_300() -> int:
    from bot.matching.engine import model_match
    from bot.matching.topics import builtin_topics

    topic = builtin_topics()["korea-diplomacy"]
    return sum(model_match(a, topic).matched for a in articles(300))


def summarize_50() -> int:
    from bot.summary.extractive import summarize

    return sum(len(summarize(a, max_chars=300).text) for a in articles(50))


KINDS: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "parse a 2 MB feed": (parse_big_feed, ()),
    "embed 64 articles": (embed_64, ()),
    "topic model on 300 articles": (decide_300, ()),
    "summarise 50 articles": (summarize_50, ()),
}


def warm(kind: str) -> int:
    fn, args = KINDS[kind]
    return int(fn(*args))
