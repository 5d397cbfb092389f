"""The article's picture: found in the feed (or the page's og:image), checked like a link,
sent as the message's link preview, large above the text, small, or off per chat."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.config.loader import ConfigError, config_from_dict
from bot.delivery.render import render_alert
from bot.delivery.sinks import Outgoing
from bot.delivery.telegram_sink import preview_options
from bot.ingest.extract import extract_article
from bot.ingest.parse import parse_feed
from bot.records import Article, Summary
from bot.service import settings as chat_settings
from storage.store import Store

FEED = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Wire</title><link>https://wire.example/</link>
<item><guid>a</guid><title>A</title><link>https://wire.example/a</link>
  <media:content url="https://img.example/a.jpg?sig=x&amp;w=800" medium="image"/></item>
<item><guid>b</guid><title>B</title><link>https://wire.example/b</link>
  <media:content url="https://video.example/b.mp4" medium="video"/>
  <media:thumbnail url="/thumbs/b.png"/></item>
<item><guid>c</guid><title>C</title><link>https://wire.example/c</link>
  <enclosure url="https://wire.example/c.mp3" type="audio/mpeg" length="1"/>
  <enclosure url="https://wire.example/c.jpg" type="image/jpeg" length="1"/></item>
<item><guid>d</guid><title>D</title><link>https://wire.example/d</link>
  <enclosure url="javascript:alert(1)" type="image/jpeg" length="1"/></item>
<item><guid>e</guid><title>E</title><link>https://wire.example/e</link>
  <media:content url="data:image/png;base64,AAAA" medium="image"/></item>
</channel></rss>"""


def test_pictures_come_from_media_content_thumbnail_and_image_enclosures():
    images = {
        a.title.lower(): a.image for a in parse_feed(FEED, url="https://wire.example/feed").articles
    }
    assert images == {
        "a": "https://img.example/a.jpg?sig=x&w=800",  # the query kept: CDNs sign them
        "b": "https://wire.example/thumbs/b.png",  # a video's thumbnail, resolved
        "c": "https://wire.example/c.jpg",  # the image enclosure, not the audio one
        "d": "",  # not http(s): no picture
        "e": "",
    }


def test_a_picture_that_cannot_be_used_gives_way_to_the_items_next_one():
    feed = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Wire</title><link>https://wire.example/</link>
<item><guid>a</guid><title>A</title><link>https://wire.example/a</link>
  <media:content url="data:image/png;base64,AAAA" medium="image"/>
  <media:thumbnail url="https://img.example/a-thumb.jpg"/></item>
<item><guid>b</guid><title>B</title><link>https://wire.example/b</link>
  <media:content url="https://img.example/My Photo.jpg" type="image/jpeg"/>
  <enclosure url="https://wire.example/b.jpg" type="image/jpeg" length="1"/></item>
</channel></rss>"""
    images = [a.image for a in parse_feed(feed, url="https://wire.example/feed").articles]
    assert images == ["https://img.example/a-thumb.jpg", "https://wire.example/b.jpg"]


def test_an_enclosure_without_a_type_is_a_picture_when_its_file_name_says_so():
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>
<link>https://w.example/</link>
<item><guid>a</guid><title>A</title><link>https://w.example/a</link>
  <enclosure url="https://w.example/a.jpg" length="0"/></item>
<item><guid>b</guid><title>B</title><link>https://w.example/b</link>
  <enclosure url="https://w.example/b.mp3" length="0"/></item>
<item><guid>c</guid><title>C</title><link>https://w.example/c</link>
  <enclosure url="https://w.example/c.JPEG?w=1" type="" length="0"/></item>
<item><guid>d</guid><title>D</title><link>https://w.example/d</link>
  <enclosure url="https://w.example/d.jpg" type="audio/mpeg" length="0"/></item>
</channel></rss>"""
    images = [a.image for a in parse_feed(feed, url="https://w.example/feed").articles]
    assert images == ["https://w.example/a.jpg", "", "https://w.example/c.JPEG?w=1", ""]


def test_json_feed_image_and_banner_image():
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {"id": "1", "title": "One", "url": "https://j.example/1", "image": "/i/1.jpg"},
            {"id": "2", "title": "Two", "url": "https://j.example/2", "banner_image": "https://j.example/b.jpg"},
            {"id": "3", "title": "Three", "url": "https://j.example/3", "image": "ftp://j.example/x.jpg"},
        ],
    }  # fmt: skip
    parsed = parse_feed(json.dumps(doc).encode(), url="https://j.example/feed.json")
    assert [a.image for a in parsed.articles] == [
        "https://j.example/i/1.jpg",
        "https://j.example/b.jpg",
        "",
    ]


def test_og_image_of_the_page():
    page = (
        "<html><head><meta property='og:image' content='/pics/lead.jpg'></head><body><article>"
        + "<p>Word after word makes an article body worth reading here.</p>" * 5
        + "</article></body></html>"
    )
    got = extract_article(page, url="https://news.example/story")
    assert got.image == "https://news.example/pics/lead.jpg"


def _article(image: str) -> Article:
    return Article(
        id="1",
        title="Volcano erupts",
        link="https://news.example/a",
        source="Wire",
        published=datetime(2024, 5, 1, 12, tzinfo=UTC),
        image=image,
    )


def _render(image: str, size: str = "large"):
    return render_alert(
        chat_id=1,
        article_key=1,
        article=_article(image),
        summary=Summary("1", "Ash rose five kilometres."),
        topic=None,
        footer="F",
        image=size,
    )


def test_render_keeps_the_picture_only_when_it_passes_the_link_checks():
    assert _render("https://img.example/a.jpg").image == "https://img.example/a.jpg"
    assert _render("https://img.example/a.jpg").image_size == "large"
    assert _render("https://img.example/a.jpg", "small").image_size == "small"
    assert _render("https://img.example/a.jpg", "off").image == ""
    for bad in ("javascript:alert(1)", "https://img.example/a b.jpg", "//img.example/a.jpg"):
        assert _render(bad).image == "" and _render(bad).image_size == ""
    # the text is the same with or without the picture (no caption limit)
    assert _render("https://img.example/a.jpg").html == _render("").html


def test_preview_options_large_small_and_none():
    base = Outgoing(chat_id=1, html="x", text="x", button_url="https://news.example/a")
    large = preview_options(Outgoing(**{**_fields(base), "image": "https://i/x.jpg"}))
    assert large.to_dict() == {
        "url": "https://i/x.jpg",
        "prefer_large_media": True,
        "show_above_text": True,
    }
    small = preview_options(
        Outgoing(**{**_fields(base), "image": "https://i/x.jpg", "image_size": "small"})
    )
    assert small.to_dict() == {"url": "https://i/x.jpg", "prefer_small_media": True}
    assert preview_options(base).to_dict() == {"is_disabled": True}  # today's behaviour


def _fields(message: Outgoing) -> dict:
    return {name: getattr(message, name) for name in message.__dataclass_fields__}


def test_config_image_keys_are_checked():
    cfg = config_from_dict({"alerts": {"image": "small"}}, env={})
    assert cfg.alerts.image == "small"
    assert config_from_dict({}, env={}).alerts.image == "large"
    with pytest.raises(ConfigError) as err:
        config_from_dict({"alerts": {"image": "huge"}}, env={})
    assert "alerts.image" in str(err.value) and '"large"' in str(err.value)
    topics = [{"id": "t", "name": "T", "query": "x"}]
    with pytest.raises(ConfigError) as err:
        config_from_dict(
            {"topics": topics, "channels": [{"chat_id": -1001, "topics": ["t"], "image": 1}]},
            env={},
        )
    assert "channels[0].image" in str(err.value)
    cfg = config_from_dict(
        {"topics": topics, "channels": [{"chat_id": -1001, "topics": ["t"], "image": "off"}]},
        env={},
    )
    assert cfg.channels[0].image == "off"


def test_chat_image_setting_cycles_and_is_stored(tmp_path):
    store = Store.open(tmp_path / "db.sqlite")
    store.chats.ensure(5)
    assert store.chats.get(5).image is None
    assert chat_settings.set_image(store, 5, "small").ok
    assert store.chats.get(5).image == "small"
    assert not chat_settings.set_image(store, 5, "huge").ok
    assert [chat_settings.next_image_size(s) for s in ("large", "small", "off")] == [
        "small",
        "off",
        "large",
    ]
