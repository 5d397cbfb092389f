"""Large synthetic RSS feeds for load tests and benchmarks: no shared data needed.

``big_feed("wire-a", version=3)`` is an RSS 2.0 body of about 2 MB: ``items`` entries, each
with an HTML description of paragraphs, links, emphasis, an image and entities, like a
publisher's full-content feed.  Each new ``version`` puts one new entry on top and drops the
oldest, as a busy feed does between two polls, so the whole body is parsed again.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

_TEXT = (
    "government officials said talks would resume next week after a meeting in the capital "
    "where ministers discussed trade energy security and the economy while markets rose and "
    "analysts expected the central bank to hold rates steady amid rising prices and strong "
    "jobs data although critics warned that the plan lacked detail and funding for schools "
    "hospitals roads and housing in the regions most affected by the storms last month"
)
WORDS = tuple(_TEXT.split(" "))
START = datetime(2024, 5, 1, tzinfo=UTC)


def made_up_vocabulary(rng: random.Random, size: int) -> tuple[str, ...]:
    """About ``size`` made-up words of three or four syllables, sorted, drawn with ``rng``:
    text whose stories share few words, as different news stories do."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in ("a", "e", "i", "o", "u", "ai", "or")]
    words = {"".join(rng.choice(syllables) for _ in range(rng.randint(3, 4))) for _ in range(size)}
    return tuple(sorted(words))


def _paragraph(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    words[0] = words[0].capitalize()
    i = rng.randrange(3, n - 3)
    words[i] = f'<a href="https://news.example/topic/{words[i]}?utm_source=rss">{words[i]}</a>'
    words[i + 2] = f"<em>{words[i + 2]}</em>"
    return "<p>" + " ".join(words) + ". &ldquo;Quote&rdquo; &amp; more&hellip;</p>"


def _item(name: str, n: int, item_bytes: int) -> str:
    rng = random.Random(f"{name}-{n}")
    paragraphs = [
        f'<figure><img src="https://cdn.example/{name}/{n}.jpg" alt="photo"/>'
        "<figcaption>A photo caption</figcaption></figure>"
    ]
    size = 0
    while size < item_bytes:
        paragraphs.append(_paragraph(rng, rng.randrange(25, 60)))
        size += len(paragraphs[-1])
    when = format_datetime(START + timedelta(minutes=n))
    title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize()
    return (
        f"<item><title>{escape(title)} ({name} {n})</title>"
        f"<link>https://news.example/{name}/{n}?utm_medium=feed</link>"
        f'<guid isPermaLink="false">{name}-{n}</guid><pubDate>{when}</pubDate>'
        f"<description>{escape(''.join(paragraphs))}</description></item>"
    )


def big_feed(name: str, version: int = 0, *, items: int = 200, item_bytes: int = 9000) -> bytes:
    """An RSS body of about ``items * item_bytes`` bytes; see the module docstring."""
    newest = items + version
    body = "".join(_item(name, n, item_bytes) for n in range(newest, newest - items, -1))
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{name}</title><link>https://news.example/{name}</link>"
        f"<description>Synthetic feed {name}</description>{body}</channel></rss>"
    ).encode()
