"""Crediting the wire: "Reuters via The Straits Times" from the byline or the dateline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources

import pytest

from bot.delivery.credit import credit, dateline_wire
from bot.delivery.labels import alert_labels
from bot.delivery.render import render_alert
from bot.ingest.parse import parse_feed
from bot.records import Article, Summary
from storage.store import Store


@pytest.mark.parametrize(
    ("source", "author", "text", "expected"),
    [
        ("The Straits Times", "Reuters", "", "Reuters via The Straits Times"),
        ("The Straits Times", "By Reuters Staff", "", "Reuters via The Straits Times"),
        ("The Straits Times", "", "SEOUL (REUTERS) - The top US envoy", "Reuters via The Straits Times"),
        ("Korea Herald", "", "(서울=연합뉴스) 김기자 = 정부는", "Yonhap via Korea Herald"),
        ("NPR", "The Associated Press", "", "AP via NPR"),
        ("Reuters World News", "Reuters", "", "Reuters World News"),  # no "Reuters via Reuters"
        ("BBC News", "Jane Doe", "", "BBC News · Jane Doe"),
        ("BBC News", "BBC News", "", "BBC News"),
        ("The Guardian", "", "The talks (a first since 2019) resumed", "The Guardian"),
        ("", "Reuters", "", "Reuters"),
    ],
)  # fmt: skip
def test_credit(source, author, text, expected):
    assert credit(source, author, text) == expected


def test_a_dateline_further_in_is_not_a_dateline():
    far = "x " * 100 + "(Reuters)"
    assert dateline_wire(far) == ""
    assert dateline_wire("WASHINGTON, Oct 29 (AP) — The") == "AP"


def test_the_demo_feeds_dc_creator_is_kept():
    path = resources.files("bot.data") / "demo_feed.xml"
    [first, *_] = parse_feed(path.read_bytes(), url="file:///demo.xml").articles
    assert first.author == "Reuters"


def test_authors_from_rss_atom_and_json_feed():
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><guid>1</guid><title>One</title><author>desk@wire.example (Jane Doe)</author></item>
    <item><guid>2</guid><title>Two</title><author>desk@wire.example</author></item>
    </channel></rss>"""
    assert [a.author for a in parse_feed(rss, url="x").articles] == ["Jane Doe", ""]
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
    <entry><id>1</id><title>One</title><author><name>AFP</name></author></entry></feed>"""
    assert parse_feed(atom, url="x").articles[0].author == "AFP"
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "J",
           "items": [{"id": "1", "title": "One", "authors": [{"name": "Yonhap"}]}]}  # fmt: skip
    assert parse_feed(json.dumps(doc).encode(), url="x").articles[0].author == "Yonhap"


def test_the_alert_credits_the_wire_in_the_chats_language():
    article = Article(
        id="1",
        title="Talks",
        source="The Straits Times",
        author="Reuters",
        published=datetime(2018, 10, 29, 4, 30, tzinfo=UTC),
    )
    english = render_alert(
        chat_id=1, article_key=1, article=article, summary=Summary("1", "S"), topic=None, footer=""
    )
    assert "<i>Reuters via The Straits Times · 29 Oct 2018 04:30 UTC</i>" in english.html
    korean = render_alert(
        chat_id=1,
        article_key=1,
        article=article,
        summary=Summary("1", "S"),
        topic=None,
        footer="",
        labels=alert_labels("ko"),
    )
    assert "The Straits Times (출처: Reuters)" in korean.html


def test_the_author_is_stored(tmp_path):
    store = Store.open(tmp_path / "db.sqlite")
    [stored] = store.articles.add_new(None, [Article("1", "Talks", author="Reuters")])
    assert store.articles.get(stored.key).article.author == "Reuters"
    store.close()
