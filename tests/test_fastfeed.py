"""The fast lxml reader (bot.ingest.fastfeed) gives the same articles as feedparser alone
(the reference), or leaves the feed to feedparser: on the fixtures and, when present, on
every feed file of ../shared/data/feeds."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.ingest import parse
from bot.ingest.fastfeed import read_fast, why_not_fast
from bot.ingest.fetch import read_local
from tests.helpers import REPO, SHARED

NOW = datetime(2026, 6, 1, tzinfo=UTC)
FIXTURES = sorted((REPO / "tests" / "data" / "feeds").glob("*.xml"))
FEEDS = SHARED / "data" / "feeds"
HEADERS = [
    {},
    {"Content-Type": "application/rss+xml; charset=UTF-8"},
    {"Content-Type": "text/xml; charset=utf-8"},
    {"Content-Type": "text/xml"},
    {"Content-Type": "application/atom+xml; charset=iso-8859-1"},
]


def _both(body: bytes, url: str, headers: dict[str, str]) -> tuple[object, object]:
    def one(fast: bool) -> object:
        try:
            return parse.parse_feed(body, url=url, headers=headers, now=NOW, fast=fast)
        except ParseError as e:
            return str(e)

    return one(True), one(False)


def _fast_taken(body: bytes, url: str) -> bool:
    body = parse._without_entity_declarations(parse.gunzip_if_needed(body, 10**8), url)
    return read_fast(body, parse._feedparser_headers(body, url, {})) is not None


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("headers", HEADERS, ids=range(len(HEADERS)))
def test_fixtures_read_the_same_both_ways(path: Path, headers: dict[str, str]) -> None:
    got, ref = _both(path.read_bytes(), "https://news.example.com/feed.xml", headers)
    assert got == ref


def test_a_plain_rss_feed_takes_the_fast_path() -> None:
    assert _fast_taken((REPO / "tests/data/feeds/rss20.xml").read_bytes(), "https://e.example/f")


def _shared_feeds() -> list[Path]:
    index = FEEDS / "INDEX.csv"
    if not index.is_file():
        return []
    with index.open(newline="", encoding="utf-8") as handle:
        return [FEEDS / row["file"] for row in csv.DictReader(handle) if row["format"] != "json"]


@pytest.mark.skipif(not _shared_feeds(), reason="../shared/data/feeds is absent")
def test_every_shared_feed_reads_the_same_both_ways() -> None:
    fast = 0
    differ = []
    feeds = _shared_feeds()
    for path in feeds:
        body = read_local(path).body
        url = "https://feeds.example.com/" + path.parent.name + "/" + path.name
        got, ref = _both(body, url, {})
        if got != ref:
            differ.append(path.name)
        fast += _fast_taken(body, url)
    assert differ == []
    # the fast path is really taken (most of the corpus is plain RSS 2.0 and Atom)
    assert fast >= len(feeds) // 2


@pytest.mark.skipif(not _shared_feeds(), reason="../shared/data/feeds is absent")
def test_shared_feeds_read_the_same_without_a_base_url() -> None:
    for path in _shared_feeds()[::7]:
        body = read_local(path).body
        got, ref = _both(body, str(path), {})
        assert got == ref, path.name


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<rss version="2.0"><channel><title>T</title><item><title>&b;</title></item></channel></rss>"""


def test_a_doctype_goes_to_feedparser_without_expansion() -> None:
    assert why_not_fast(LAUGHS, {"content-type": "application/xml"})
    feed = parse.parse_feed(LAUGHS, url="https://e.example/f", now=NOW)
    assert "aaaaaaaaaa" not in feed.articles[0].title


@pytest.mark.parametrize(
    "body",
    [
        b'<rss version="2.0"><channel><item><title>&nbsp;x &lol;</title></item></channel></rss>',
        b'<rss version="2.0"><channel><item><title>x</title></item></channel>',
        b'<rss version="2.0"><channel>' + b"<x>" * 5000 + b"</x>" * 5000 + b"</channel></rss>",
        b'<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel/></rss>',
        b'<rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude"><channel><item>'
        b'<xi:include href="file:///etc/passwd" parse="text"/></item></channel></rss>',
    ],
    ids=["undefined-entity", "unclosed", "deep", "latin1", "xinclude"],
)
def test_what_the_fast_reader_does_not_take_reads_as_before(body: bytes) -> None:
    got, ref = _both(body, "https://e.example/f", {})
    assert got == ref
    if b"xi:include" not in body:
        assert why_not_fast(body, {"content-type": "application/xml"})
