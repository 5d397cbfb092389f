"""html_to_text's fast path gives exactly what html.parser gives (the reference), on
fixtures, on fuzzed markup and, when present, on every fragment of the shared feeds;
and feedparser's faster SAX driver changes no parsed article."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import feedparser
import feedparser.api
import feedparser.mixin
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest import parse as parse_module
from bot.ingest.fetch import read_local
from bot.text import _LOOKS_LIKE_HTML, _fast_text, _reference_html_to_text, html_to_text, tidy_text

FIXTURES = [
    "<p>One</p><p>Two &amp; three</p>",
    "Intro<div>block</div>tail <b>bold</b>",
    "a<br>b<br/>c<BR />d",
    "<a href=\"https://x.example/?a=1&amp;b=2\" title='q > r'>link</a> after",
    "<p>unclosed <p>second",
    "<script>var x = '<p>not text</p>';</script>visible<style>p{}</style>",
    "<SCRIPT type=text/javascript>if (a < b) {}</SCRIPT>after",
    "<iframe src=x></iframe>kept<iframe/>also kept",
    "<!-- a <p> comment -->text<!---->more",
    "<!--<script></script>",
    "<!-- <script> -->shown<script>x</script>",
    "x < y and y > z",
    "&am<b>p;",
    "<![CDATA[hidden]]>shown",
    "<!DOCTYPE html><html><body><p>doc</p></body></html>",
    "fish &amp chips &#8217; &nbsp;&nbsp;spaced",
    '<source src="a.mp3="audio/mpeg" />broken quote<p>after</p>',
    "<svg><text>drawn</text></svg>caption<figure><img src=a.jpg><figcaption>cap</figcaption></figure>",
    "<ul><li>one<li>two</ul><table><tr><td>cell</td></tr></table>",
    "trailing <b",
    "<p>\u00a0non\u2003breaking\u3000spaces\t\tand tabs</p>",
    "<P CLASS=x>Upper</P><Div>Mixed</Div>",
]


def reference(value: str) -> str:
    if not value:
        return ""
    if not _LOOKS_LIKE_HTML.search(value):
        return tidy_text(value)
    return _reference_html_to_text(value)


@pytest.mark.parametrize("fragment", FIXTURES)
def test_fast_path_equals_html_parser(fragment: str) -> None:
    assert html_to_text(fragment) == reference(fragment)


def test_well_formed_fragments_take_the_fast_path() -> None:
    assert _fast_text("<p>One</p><p>Two <a href='x'>three</a></p>") is not None
    assert _fast_text("<script>x</script><p>y</p>") is not None
    assert _fast_text("x < y") is None  # html.parser decides
    assert _fast_text("<![CDATA[x]]>") is None


_pieces = st.sampled_from(
    [
        "<p>", "</p>", "<div class='a'>", "</div>", "<br>", "<br/>", "<b>", "</b>",
        '<a href="u?x=1&amp;y=2">', "</a>", "<script>", "</script>", "<style>", "</style>",
        "<iframe>", "</iframe>", "<svg/>", "<!-- c -->", "<!--", "-->", "&amp;", "&#8217;",
        "&nbsp;", "&am", "p;", "<", ">", "'", '"', "\n", "  ", "\u00a0", "word", "Text.",
        "<li>", "<td x=1>", "</ td>", "<P>", "</DIV >", "<img src='a>b'>", "<x-y>", "</>",
        "<![CDATA[", "]]>", "<?pi?>", "<!doctype html>",
    ]
)  # fmt: skip


@settings(max_examples=1000, deadline=None)
@given(st.lists(_pieces, max_size=25).map("".join))
def test_fast_path_equals_html_parser_on_fuzzed_markup(fragment: str) -> None:
    assert html_to_text(fragment) == reference(fragment)


def test_every_fragment_of_the_shared_feeds(shared_data) -> None:
    checked = 0
    for row in csv.DictReader((shared_data / "feeds" / "INDEX.csv").open(encoding="utf-8")):
        if row["format"] == "json":
            continue
        body = read_local(shared_data / "feeds" / row["file"]).body
        parsed = parse_module._feedparse(body, parse_module._feedparser_headers(body, "", {}))
        for entry in parsed.entries:
            raw = parse_module._raw_from_entry(entry)
            for value in (raw.summary, raw.content, raw.title):
                assert html_to_text(value) == reference(value), (row["file"], value[:200])
                checked += 1
    assert checked > 10_000


def stock_feedparse(body: bytes, headers: dict[str, str]):
    """feedparser as shipped: its default SAX driver, no remembered URI joins."""
    drivers = feedparser.api.PREFERRED_XML_PARSERS
    saved, joiner = list(drivers), feedparser.mixin.make_safe_absolute_uri
    drivers[:] = [d for d in drivers if not d.startswith("bot.")]
    feedparser.mixin.make_safe_absolute_uri = joiner.__wrapped__
    try:
        return feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    finally:
        drivers[:] = saved
        feedparser.mixin.make_safe_absolute_uri = joiner


def test_the_sax_driver_changes_no_entry(shared_data) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    url = "https://feeds.example.com/path/feed.xml"
    compared = 0
    for row in csv.DictReader((shared_data / "feeds" / "INDEX.csv").open(encoding="utf-8")):
        if row["format"] == "json" or not int(row["entries"] or 0):
            continue
        body = read_local(shared_data / "feeds" / row["file"]).body
        headers = parse_module._feedparser_headers(body, url, {})
        ours = parse_module._feedparse(body, headers)
        stock = stock_feedparse(body, headers)
        assert ours.entries == stock.entries, row["file"]
        assert ours.feed == stock.feed, row["file"]
        compared += 1
    assert compared > 250
    # and parse_feed itself still reads a feed
    assert parse_module.parse_feed(body, url=url, now=now).articles
