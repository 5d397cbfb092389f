"""Every real feed file of ../shared/data/feeds, served over the local feed server,
fetched and parsed: no exception, and at least as many articles as feedparser's
own entry count recorded in INDEX.csv (JSON Feeds, which feedparser cannot read,
must give at least one). Skipped when ../shared is absent."""

from __future__ import annotations

import asyncio
import csv
import json
from dataclasses import dataclass
from pathlib import Path

import feedparser
import pytest

from bot.errors import NewsalertError
from bot.ingest.fetch import Fetcher, read_local
from bot.ingest.parse import parse_feed
from tests.fakes.feed_server import FeedServer
from tests.helpers import SHARED

FEEDS = SHARED / "data" / "feeds"
INDEX = FEEDS / "INDEX.csv"

pytestmark = [
    pytest.mark.skipif(not INDEX.is_file(), reason="../shared/data/feeds is absent"),
    pytest.mark.timeout(180),
]


def _rows() -> list[dict[str, str]]:
    if not INDEX.is_file():
        return []
    with INDEX.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


ROWS = _rows()


@dataclass(frozen=True)
class Outcome:
    articles: int = -1
    error: str = ""


def _content_type(row: dict[str, str]) -> str:
    # No charset parameter: the XML declaration (or the bytes) must decide,
    # as it does for most real servers sending application/xml.
    if row["format"] == "json":
        return "application/feed+json"
    return "application/xml"


def _is_json_feed(path: Path) -> bool:
    try:
        data = json.loads(path.read_bytes())
    except ValueError:
        return False
    return isinstance(data, dict) and (
        "jsonfeed.org" in str(data.get("version", "")) or isinstance(data.get("items"), list)
    )


async def _ingest_all(rows: list[dict[str, str]]) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    limit = asyncio.Semaphore(16)
    async with FeedServer() as server, Fetcher(per_host=16, read_timeout=10) as fetcher:
        for row in rows:
            # Served raw: the one gzip file goes out without Content-Encoding.
            server.set(
                "/" + row["file"],
                (FEEDS / row["file"]).read_bytes(),
                content_type=_content_type(row),
            )

        async def one(row: dict[str, str]) -> None:
            async with limit:
                try:
                    result = await fetcher.fetch(server.url("/" + row["file"]))
                    parsed = parse_feed(result.body, url=result.final_url, headers=result.headers)
                    outcomes[row["file"]] = Outcome(articles=len(parsed.articles))
                except NewsalertError as e:
                    outcomes[row["file"]] = Outcome(error=f"{type(e).__name__}: {e}")

        await asyncio.gather(*(one(row) for row in rows))
    return outcomes


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    return asyncio.run(_ingest_all(ROWS))


def test_index_lists_the_files():
    assert len(ROWS) >= 300
    assert all((FEEDS / row["file"]).is_file() for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_feed_parses_with_at_least_feedparsers_entries(outcomes, row):
    outcome = outcomes[row["file"]]
    expected = int(row["entries"] or 0)
    if row["format"] == "json" and _is_json_feed(FEEDS / row["file"]):
        expected = max(expected, 1)
    if expected == 0 and outcome.error.startswith("ParseError"):
        # feedparser found nothing either (e.g. a feed cut off before its
        # first item): a clear parse error is an acceptable answer.
        return
    assert not outcome.error, outcome.error
    if outcome.articles < expected:
        # parse_feed drops the hollow entries (no title, link, id or text) that
        # feedparser makes of illegally nested items: they are not articles.
        expected -= _hollow_entries(FEEDS / row["file"])
    assert outcome.articles >= expected


def _hollow_entries(path: Path) -> int:
    parsed = feedparser.parse(read_local(path).body)
    keys = ("title", "link", "id", "summary", "content")
    return sum(1 for entry in parsed.entries if not any(entry.get(k) for k in keys))
