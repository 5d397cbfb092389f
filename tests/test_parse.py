"""Parsing and normalising feeds: formats, broken XML, identities, links, dates, text."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.ingest.parse import ParsedFeed, parse_feed
from bot.records import Article

FIXTURES = Path(__file__).parent / "data" / "feeds"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def parse(name: str, **kwargs) -> ParsedFeed:
    kwargs.setdefault("url", f"https://feeds.example/{name}")
    kwargs.setdefault("now", NOW)
    return parse_feed((FIXTURES / name).read_bytes(), **kwargs)


def by_title(feed: ParsedFeed) -> dict[str, Article]:
    return {a.title: a for a in feed.articles}


# --- formats ------------------------------------------------------------------------------


def test_rss20_feed_and_entries():
    feed = parse("rss20.xml")
    assert feed.format == "rss20"
    assert feed.title == "The Straits Times & Friends"
    assert feed.link == "https://www.straitstimes.com/world"
    assert feed.bozo is None
    assert len(feed.articles) == 4
    first = feed.articles[0]
    assert first.id == "st-2018-10-29-korea"
    assert first.title == "US, South Korea to hold talks on North Korea’s denuclearisation"
    assert first.feed == "https://feeds.example/rss20.xml"
    assert first.source == "The Straits Times & Friends"


def test_atom_feed_and_entries():
    feed = parse("atom.xml")
    assert feed.format == "atom10"
    assert feed.title == "Example Blog"
    assert feed.link == "https://example.org/blog/"
    one, two = feed.articles
    assert one.id == "tag:example.org,2024:one"
    assert one.summary == "Summary with a link."
    assert one.content == "Full content here."
    assert two.content == "Just text & more text."


def test_rdf_rss10_feed():
    feed = parse("rdf.xml")
    assert feed.format == "rss10"
    assert [a.title for a in feed.articles] == ["RDF one", "RDF two"]
    assert feed.articles[0].published == datetime(2023, 3, 3, 20, 6, 7, tzinfo=UTC)


def test_rss091_latin1_feed():
    feed = parse("rss091.xml")
    assert feed.format.startswith("rss09")
    (article,) = feed.articles
    assert article.title == "Café opens"
    assert article.summary == "Naïve & fine"


def test_json_feed_11():
    feed = parse("jsonfeed11.json")
    assert feed.format == "json11"
    assert feed.title == "JSON News"
    first, second, third = feed.articles  # the non-object item is skipped
    assert first.id == "2347259"
    assert first.link == "https://json.example/2024/korea-talks"
    assert first.summary == "Envoys met."
    assert first.content == "Envoys met in Seoul & Washington."
    assert first.published == datetime(2024, 2, 3, 9, 5, 6, tzinfo=UTC)
    assert second.id == "17"
    assert second.title == "A post with no title and a numeric id."
    assert second.link == "https://feeds.example/relative/path"
    assert third.id == third.link == "https://elsewhere.example/story"


def test_json_feed_10_with_single_author():
    feed = parse("jsonfeed10.json")
    assert feed.format == "json10"
    (article,) = feed.articles
    assert (article.id, article.title, article.content) == ("a", "One", "Text")
    assert article.published == datetime(2017, 5, 17, 15, 2, 12, tzinfo=UTC)


def test_json_that_is_not_a_feed_is_a_parse_error():
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_feed(json.dumps({"hello": "world"}).encode(), url="https://x.example/api")


def test_gzip_body_is_detected():
    body = gzip.compress((FIXTURES / "rss20.xml").read_bytes())
    feed = parse_feed(body, url="https://feeds.example/rss.gz", now=NOW)
    assert len(feed.articles) == 4


def test_empty_channel_is_a_feed_with_no_articles():
    feed = parse("empty_channel.xml")
    assert feed.title == "Nothing yet"
    assert feed.articles == ()


# --- malformed input ----------------------------------------------------------------------


def test_newline_before_xml_declaration_is_repaired():
    feed = parse("leading_newline.xml")
    assert [a.title for a in feed.articles] == ["Survives the blank line", "Second"]


def test_bare_ampersand_still_yields_every_entry():
    feed = parse("bare_ampersand.xml")
    assert feed.bozo is not None  # reported, not fatal
    titles = by_title(feed)
    assert set(titles) == {"Salt & pepper", "Bread & butter"}
    assert titles["Salt & pepper"].summary == "Fish & chips © 2024"
    assert titles["Salt & pepper"].link == "https://amp.example/1?a=1&b=2"


def test_undeclared_prefixes_and_junk_prolog_are_repaired():
    body = (
        b"<!-- generated -->\n<?xml?xml version='1.0' ??>\n<rss rss:version=2.0><rss:channel>"
        b"<rss:title>Odd</rss:title><rss:item><rss:title>Found anyway</rss:title>"
        b"<rss:link>https://odd.example/1</rss:link></rss:item></rss:channel></rss>"
    )
    feed = parse_feed(body, url="https://odd.example/feed", now=NOW)
    assert [a.title for a in feed.articles] == ["Found anyway"]


def test_truncated_feed_keeps_the_entries_before_the_cut():
    body = (FIXTURES / "rss20.xml").read_bytes()
    cut = body.index(b"<item>", body.index(b"No guid, link only"))
    feed = parse_feed(body[:cut], url="https://feeds.example/cut.xml", now=NOW)
    assert [a.title for a in feed.articles][:2] == [
        "US, South Korea to hold talks on North Korea’s denuclearisation",
        "No guid, link only",
    ]


def test_control_character_does_not_lose_entries():
    body = (FIXTURES / "rss20.xml").read_bytes().replace(b"Only words.", b"Only\x02 words.")
    feed = parse_feed(body, url="https://feeds.example/ctl.xml", now=NOW)
    assert len(feed.articles) == 4
    assert by_title(feed)["No guid, no link, no date"].summary == "Only words."


@pytest.mark.parametrize("body", [b"", b"   \n\t ", gzip.compress(b"")])
def test_empty_body_is_a_parse_error(body):
    with pytest.raises(ParseError, match="empty"):
        parse_feed(body, url="https://feeds.example/empty")


def test_html_page_is_a_parse_error():
    page = b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>"
    with pytest.raises(ParseError, match="HTML page"):
        parse_feed(page, url="https://site.example/", headers={"content-type": "text/html"})


def test_plain_junk_is_a_parse_error():
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(b"this is not xml at all", url="https://site.example/robots.txt")


def test_legacy_charset_header_on_utf8_body_is_overruled():
    body = (FIXTURES / "rss20.xml").read_bytes().replace(b"Only words.", "Ünïcode – ok".encode())
    feed = parse_feed(
        body,
        url="https://feeds.example/x",
        headers={"Content-Type": "application/rss+xml; charset=ISO-8859-1"},
        now=NOW,
    )
    assert by_title(feed)["No guid, no link, no date"].summary == "Ünïcode – ok"


# --- normalisation --------------------------------------------------------------------------


def test_identity_prefers_guid_then_link_then_hash():
    articles = by_title(parse("rss20.xml"))
    assert articles["No guid, link only"].id == articles["No guid, link only"].link
    hashed = articles["No guid, no link, no date"].id
    assert hashed.startswith("sha1:") and len(hashed) == 45


def test_hash_identity_is_stable_across_polls():
    first = by_title(parse("rss20.xml", now=NOW))["No guid, no link, no date"]
    later = by_title(parse("rss20.xml", now=NOW + timedelta(hours=3)))["No guid, no link, no date"]
    assert first.id == later.id
    assert first.published != later.published  # first-seen time comes from `now`


def test_links_are_canonical_without_tracking_parameters():
    articles = by_title(parse("rss20.xml"))
    korea = articles["US, South Korea to hold talks on North Korea’s denuclearisation"]
    assert korea.link == "https://www.straitstimes.com/asia/east-asia/us-south-korea-talks?id=42"
    story = articles["No guid, link only"]
    assert story.link == "https://www.straitstimes.com/singapore/story?page=2"


def test_relative_links_resolve_against_xml_base():
    one, two = parse("atom.xml").articles
    assert one.link == "https://example.org/blog/posts/one.html"
    assert two.link == "https://cdn.example.net/other/two.html"


def test_relative_links_resolve_against_the_feed_url():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>R</title>'
        b"<item><title>Rel</title><link>../news/1.html?utm_source=a</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, url="https://host.example/feeds/main.xml", now=NOW)
    assert feed.articles[0].link == "https://host.example/news/1.html"


def test_relative_links_in_a_local_file_resolve_against_the_feed_link(tmp_path: Path):
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>L</title>'
        b"<link>https://local.example/home/</link>"
        b"<item><title>Rel</title><link>/story/9</link></item></channel></rss>"
    )
    feed = parse_feed(body, url=str(tmp_path / "feed.xml"), now=NOW)
    assert feed.articles[0].link == "https://local.example/story/9"


def test_dates_are_utc_aware():
    articles = by_title(parse("rss20.xml"))
    korea = articles["US, South Korea to hold talks on North Korea’s denuclearisation"]
    assert korea.published == datetime(2018, 10, 29, 6, 5, tzinfo=UTC)
    atom = parse("atom.xml").articles[0]
    assert atom.published == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    for article in parse("atom.xml").articles + parse("rss20.xml").articles:
        assert article.published is not None and article.published.utcoffset() == timedelta(0)


def test_missing_date_is_first_seen_time():
    assert by_title(parse("rss20.xml"))["No guid, no link, no date"].published == NOW


def test_far_future_date_is_clamped_to_now():
    assert by_title(parse("rss20.xml"))["From the future"].published == NOW


def test_slightly_future_date_is_kept():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>S</title>'
        b"<item><title>Soon</title><link>https://s.example/1</link>"
        b"<pubDate>Sat, 01 Jun 2024 18:00:00 GMT</pubDate></item></channel></rss>"
    )
    feed = parse_feed(body, url="https://s.example/feed", now=NOW)
    assert feed.articles[0].published == datetime(2024, 6, 1, 18, 0, tzinfo=UTC)


def test_html_in_descriptions_becomes_plain_text():
    korea = parse("rss20.xml").articles[0]
    assert korea.summary == (
        "WASHINGTON (REUTERS) - The United States and South Korea will hold talks on North Korea."
    )
    assert "<" not in korea.summary and "alert(1)" not in korea.summary
    assert korea.content == "First paragraph.\n\nSecond & last paragraph."


def test_html_escaped_twice_is_unescaped():
    (article,) = parse("double_escaped.xml").articles
    assert article.summary == "Hello world"
    assert article.title == "Tags shown"


def test_title_whitespace_and_entities_tidied():
    title = parse("rss20.xml").articles[0].title
    assert title == title.strip() and "  " not in title and "&#" not in title


def test_source_name_overrides_feed_title():
    feed = parse("rss20.xml", source="ST")
    assert {a.source for a in feed.articles} == {"ST"}


def test_response_headers_content_location_sets_the_base():
    body = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b'<entry><id>x</id><title>E</title><link href="e.html"/></entry></feed>'
    )
    feed = parse_feed(
        body,
        url="https://origin.example/feed",
        headers={"Content-Location": "https://mirror.example/a/feed.atom"},
        now=NOW,
    )
    assert feed.articles[0].link == "https://mirror.example/a/e.html"


def test_articles_serialise_to_the_json_lines_contract():
    data = parse("rss20.xml").articles[0].to_json()
    assert json.loads(json.dumps(data))["feed"] == "https://feeds.example/rss20.xml"
    assert data["published"] == "2018-10-29T06:05:00+00:00"


def test_entity_escaped_twice_is_decoded():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>E</title>'
        b"<item><title>Merck &amp;amp; Co. results</title><link>https://e.example/1</link>"
        b"<description>Merck &amp;amp; Co. said &amp;quot;fine&amp;quot;.</description></item>"
        b"</channel></rss>"
    )
    (article,) = parse_feed(body, url="https://e.example/feed", now=NOW).articles
    assert article.title == "Merck & Co. results"
    assert article.summary == 'Merck & Co. said "fine".'


def test_hollow_entries_are_not_articles():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>H</title>'
        b"<item><title>Real</title><link>https://h.example/1</link></item><item></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, url="https://h.example/feed", now=NOW)
    assert [a.title for a in feed.articles] == ["Real"]


def test_non_http_link_is_dropped_but_kept_as_identity():
    body = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>U</title>'
        b"<entry><id>urn:uuid:1234</id><title>No web link</title></entry></feed>"
    )
    (article,) = parse_feed(body, url="https://u.example/feed", now=NOW).articles
    assert article.id == "urn:uuid:1234"
    assert article.link == ""


def test_dc_creator_is_kept_as_the_author():
    from importlib import resources

    from bot.ingest.parse import parse_feed

    body = (resources.files("bot.data") / "demo_feed.xml").read_bytes()
    parsed = parse_feed(body, url="https://example.org/feed.xml")
    korea = next(a for a in parsed.articles if "North Korea talks" in a.title)
    assert korea.author == "Reuters"
    assert korea.to_json()["author"] == "Reuters"


def test_rss_author_email_and_atom_author_name():
    from bot.ingest.parse import parse_feed

    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>One</title><link>https://a.example/1</link>
    <author>desk@wire.example (Wire Desk)</author></item></channel></rss>"""
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
    <entry><title>Two</title><id>urn:2</id><link href="https://a.example/2"/>
    <author><name>Yonhap</name></author></entry></feed>"""
    assert parse_feed(rss, url="https://a.example/rss").articles[0].author == "Wire Desk"
    assert parse_feed(atom, url="https://a.example/atom").articles[0].author == "Yonhap"


def test_an_items_rss_source_names_its_outlet():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Aggregator</title>
    <item><title>Talks resume</title><link>https://example.org/a</link>
    <source url="https://www.straitstimes.com/rss.xml">The Straits Times</source></item>
    <item><title>Other story</title><link>https://example.org/b</link></item>
    </channel></rss>"""
    first, second = parse_feed(body, url="https://example.org/feed", source="My feed").articles
    assert first.source == "The Straits Times"
    assert second.source == "My feed"


def test_the_demo_story_is_credited_to_reuters_via_the_straits_times():
    from importlib import resources

    body = (resources.files("bot.data") / "demo_feed.xml").read_bytes()
    seed = parse_feed(body, url="file:///demo.xml", source="Demo world news").articles[0]
    assert (seed.source, seed.author) == ("The Straits Times", "Reuters")
