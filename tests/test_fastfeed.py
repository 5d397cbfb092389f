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


NON_ASCII = '<rss version="2.0"><channel><item><title>Séoul — talks</title></item></channel></rss>'


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": t} for t in ("text/xml", "application/xml", "text/xml; charset=utf-8")]
    + [{"Content-Type": "application/rss+xml; charset=windows-1252"}, {}],
)
def test_charsets_and_media_types_read_the_same(headers: dict[str, str]) -> None:
    for body in (NON_ASCII.encode(), NON_ASCII.encode("cp1252", "replace")):
        got, ref = _both(body, "https://e.example/f", headers)
        assert got == ref


@pytest.mark.parametrize(
    "body",
    [
        b'<rss version="2.0"><channel><item><title>&nbsp;x &lol;</title></item></channel></rss>',
        b'<rss version="2.0"><channel><item><title>x</title></item></channel>',
        b'<rss version="2.0"><channel>' + b"<x>" * 5000 + b"</x>" * 5000 + b"</channel></rss>",
        b'<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel/></rss>',
        b'<rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude"><channel><item>'
        b'<xi:include href="file:///etc/passwd" parse="text"/></item></channel></rss>',
        # not UTF-8, though nothing says otherwise: lxml's one decoding refuses it
        b'<rss version="2.0"><channel><item><title>S\xe9oul</title></item></channel></rss>',
        b'<rss version="2.0"><channel><item><title>x</title></item></channel></rss>\xff',
        # UTF-16 and EBCDIC, which libxml2 would recognise by their first bytes
        NON_ASCII.encode("utf-16"),
        NON_ASCII.encode("utf-16-le"),
        NON_ASCII.encode("utf-32"),
        NON_ASCII.replace("<rss", '<?xml version="1.0"?><rss', 1).encode("cp037", "replace"),
    ],
    ids=[
        *("undefined-entity", "unclosed", "deep", "latin1", "xinclude", "not-utf8"),
        *("not-utf8-at-the-end", "utf16", "utf16le-no-bom", "utf32", "ebcdic"),
    ],
)
def test_what_the_fast_reader_does_not_take_reads_as_before(body: bytes) -> None:
    got, ref = _both(body, "https://e.example/f", {})
    assert got == ref
    if b"xi:include" not in body:
        assert why_not_fast(body, {"content-type": "application/xml"})


RSS = (
    '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
    ' xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Wire</title>'
    "<link>https://wire.example/</link>{channel}<item>{item}</item><item>"
    "<description>second item</description>{item}</item></channel></rss>"
)
ATOM = (
    '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"'
    " {attrs}><title>Wire</title><id>tag:wire.example,2026:feed</id>{channel}"
    "<entry {entry_attrs}><id>tag:wire.example,2026:1</id>{item}</entry></feed>"
)
T = "<title>Talks resume</title>"
D = "<description>&lt;p&gt;Officials met.&lt;/p&gt;</description>"
S = "<itunes:summary>Officials met in Seoul.</itunes:summary>"
C = "<content:encoded><![CDATA[<p>Officials met in <b>Seoul</b> on Monday.</p>]]></content:encoded>"
M = '<media:content url="https://img.example/a.jpg" medium="image">{inner}</media:content>'
CASES = {
    "description-then-itunes-summary": RSS.format(channel="", item=T + D + S),
    "itunes-summary-then-description": RSS.format(channel="", item=T + S + D),
    "feed-summary-then-description": RSS.format(
        channel="<itunes:summary>About</itunes:summary><description>About us</description>",
        item=T + D + S,
    ),
    "content-then-description": RSS.format(channel="", item=T + C + D),
    "two-contents": RSS.format(channel="", item=T + C + C.replace("Monday", "Tuesday, longer")),
    "media-description": RSS.format(
        channel="", item=T + M.format(inner="<media:description>A photo</media:description>")
    ),
    "media-description-first": RSS.format(
        channel="", item=M.format(inner="<media:description>A photo</media:description>") + D
    ),
    "media-title-after-title": RSS.format(
        channel="", item=T + M.format(inner="<media:title>Photo</media:title>")
    ),
    "two-authors": RSS.format(
        channel="",
        item=T + "<dc:creator>Jane Doe</dc:creator><author>desk@wire.example (Wire Desk)</author>",
    ),
    "guid-permalink": RSS.format(channel="", item=T + "<guid>/2026/talks</guid>"),
    "guid-not-permalink": RSS.format(
        channel="", item=T + '<guid isPermaLink="false">/2026/talks</guid>'
    ),
    "enclosure-image": RSS.format(
        channel="", item=T + '<enclosure url="https://img.example/b.png" type="image/png"/>'
    ),
    "atom-xml-base": ATOM.format(
        attrs='xml:base="https://wire.example/news/"',
        entry_attrs='xml:base="2026/"',
        channel='<link href="/"/>',
        item='<title type="html">Talks &amp;lt;b&amp;gt;resume</title><link href="talks"/>'
        '<summary>Short</summary><content type="html">&lt;p&gt;Long&lt;/p&gt;</content>'
        "<author><name>Jane</name><email>jane@wire.example</email></author>"
        "<author><name>Joe</name></author><updated>2026-05-01T10:00:00Z</updated>",
    ),
    "atom-link-from-id": ATOM.format(
        attrs="", entry_attrs="", channel="", item="<title>No link</title><summary>x</summary>"
    ),
}


@pytest.mark.parametrize("body", CASES.values(), ids=CASES.keys())
def test_what_feedparser_does_with_odd_orders_is_done_the_same(body: str) -> None:
    data = body.encode()
    assert why_not_fast(data, {"content-type": "application/xml"}) == ""
    got, ref = _both(data, "https://wire.example/feed.xml", {})
    assert got == ref


@pytest.mark.timeout(60)
def test_deeply_nested_junk_in_many_items_is_read_in_one_walk() -> None:
    junk = "<x>" * 200 + "</x>" * 200
    item = (
        "<item><title>t{n}</title><guid>https://e.example/{n}</guid>"
        '<media:content url="https://e.example/{n}.jpg" medium="image">'
        "<media:title>p</media:title>" + junk + "</media:content>" + junk + "</item>"
    )
    body = (
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>T'
        "</title>" + "".join(item.format(n=n) for n in range(300)) + "</channel></rss>"
    ).encode()
    assert why_not_fast(body, {"content-type": "application/xml"}) == ""
    got, ref = _both(body, "https://e.example/f", {})
    assert got == ref
