"""Article pages to their main text: the story kept, the page furniture and the
publisher's boilerplate dropped."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import pytest

from bot.errors import ExtractError, FetchError
from bot.ingest.extract import ExtractedPage, FullText, extract_article
from bot.ingest.fetch import Fetcher
from tests.fakes.feed_server import FeedServer

STORY = [
    "The top American envoy for North Korea said on Monday he was confident that Washington "
    "and Seoul could work together to reach their shared goal of a nuclear-free peninsula.",
    "Speaking after talks with his South Korean counterpart, the envoy said both allies would "
    "coordinate closely on sanctions, inter-Korean projects and the timing of a second summit.",
    "Officials in Seoul said the two sides also discussed humanitarian aid and the return of "
    "remains of soldiers killed during the 1950-53 Korean War, a gesture seen as building trust.",
    "Analysts said the visit was meant to keep momentum in negotiations that have stalled "
    "since the summer, as Pyongyang presses for an easing of sanctions before it disarms.",
]

PAGE = f"""<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>US, South Korea envoys meet on North Korea talks | The Daily Example</title>
<meta property="og:title" content="US, South Korea envoys meet on North Korea talks">
</head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/asia">Asia</a>
<a href="/business">Business</a> <a href="/sport">Sport</a></nav></header>
<main><article>
<h1>US, South Korea envoys meet on North Korea talks</h1>
<figure><img src="/photo.jpg" alt="">
<figcaption>The two envoys shake hands before their meeting in Seoul. PHOTO: REUTERS</figcaption>
</figure>
<p>SEOUL (REUTERS) - {STORY[0]}</p>
<p>{STORY[1]}</p>
<p>{STORY[2]}</p>
<p>{STORY[3]}</p>
<p>Join ST's Telegram channel and get the latest breaking news delivered to you.</p>
</article></main>
<aside><h2>Most read</h2><ul><li><a href="/a">Celebrity chef opens restaurant</a></li>
<li><a href="/b">Ten tips for a better night's sleep</a></li></ul></aside>
<section id="comments"><h3>Comments</h3><p>Great article, thanks for sharing!!!</p></section>
<footer><p>Copyright 2018 The Daily Example. All rights reserved.</p>
<a href="/privacy">Privacy policy</a> <a href="/terms">Terms of use</a></footer>
</body></html>
"""


def test_extracts_the_story_paragraphs():
    page = extract_article(PAGE, url="https://daily.example/world/envoys")
    assert isinstance(page, ExtractedPage)
    for paragraph in STORY[1:]:
        assert paragraph in page.text
    assert STORY[0] in page.text


def test_paragraphs_are_separated_by_blank_lines():
    text = extract_article(PAGE).text
    assert "\n\n" in text and "\n\n\n" not in text


def test_page_furniture_is_dropped():
    text = extract_article(PAGE).text
    for clutter in ("Most read", "Privacy policy", "Great article", "All rights reserved", "Home"):
        assert clutter not in text


def test_publisher_boilerplate_is_stripped():
    pytest.importorskip("bot.summary.boilerplate")
    text = extract_article(PAGE).text
    assert "Telegram channel" not in text
    assert "PHOTO: REUTERS" not in text
    assert not text.startswith("SEOUL (REUTERS)")


def test_title_prefers_open_graph():
    assert extract_article(PAGE).title == "US, South Korea envoys meet on North Korea talks"


def test_gzip_bytes_are_accepted():
    page = extract_article(gzip.compress(PAGE.encode()), url="https://daily.example/x")
    assert STORY[1] in page.text


def test_non_utf8_page_is_decoded():
    html = PAGE.replace('<meta charset="utf-8">', '<meta charset="windows-1252">')
    html = html.replace("Speaking after talks", "Speaking after café talks")
    page = extract_article(html.encode("cp1252"))
    assert "café talks" in page.text


@pytest.mark.parametrize("html", ["", "   ", b"", gzip.compress(b"")])
def test_empty_page_is_an_error(html):
    with pytest.raises(ExtractError):
        extract_article(html)


def test_page_without_text_is_an_error():
    with pytest.raises(ExtractError, match="no article text"):
        extract_article("<html><body><nav><a href='/'>Home</a></nav></body></html>")


# --- fetching pages with a cache ---------------------------------------------------------------


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        srv.set("/story.html", PAGE, content_type="text/html; charset=utf-8")
        srv.set("/empty.html", "<html><body></body></html>", content_type="text/html")
        yield srv


async def test_full_text_fetches_once_and_caches(server):
    async with Fetcher(read_timeout=2) as fetcher:
        full = FullText(fetcher)
        first = await full.get(server.url("/story.html"), feed_urls=(server.url("/feed.xml"),))
        second = await full.get(server.url("/story.html"), feed_urls=(server.url("/feed.xml"),))
    assert first == second and STORY[2] in first.text
    assert server.hits("/story.html") == 1


async def test_full_text_asked_twice_at_once_fetches_once(server):
    import asyncio

    server.fault("/story.html", "timeout", delay=0.3)  # slow: the second ask comes meanwhile
    async with Fetcher(read_timeout=5) as fetcher:
        full = FullText(fetcher)
        feed = (server.url("/feed.xml"),)  # the page is on its feed's own origin
        first, second = await asyncio.gather(
            full.get(server.url("/story.html"), feed_urls=feed),
            full.get(server.url("/story.html"), feed_urls=feed),
        )
    assert first == second and STORY[2] in first.text
    assert server.hits("/story.html") == 1


async def test_full_text_caches_failures_too(server):
    server.fault("/gone.html", "status", code=404)
    async with Fetcher(read_timeout=2) as fetcher:
        full = FullText(fetcher)
        for _ in range(2):
            with pytest.raises(FetchError):
                await full.get(server.url("/gone.html"), feed_urls=(server.url("/feed.xml"),))
            with pytest.raises(ExtractError):
                await full.get(server.url("/empty.html"), feed_urls=(server.url("/feed.xml"),))
    assert server.hits("/gone.html") == 1 and server.hits("/empty.html") == 1


async def test_full_text_cache_is_bounded(server):
    async with Fetcher(read_timeout=2) as fetcher:
        full = FullText(fetcher, max_entries=1)
        await full.get(server.url("/story.html"), feed_urls=(server.url("/feed.xml"),))
        await full.get(server.url("/story.html?v=2"), feed_urls=(server.url("/feed.xml"),))
        await full.get(server.url("/story.html"), feed_urls=(server.url("/feed.xml"),))
    assert server.hits("/story.html") == 3


OLD_KEY, NEW_KEY = "K3yValue12345", "N3wKeyValue67890"


async def test_full_text_fetches_again_with_a_feeds_new_key(server):
    """A page of a feed with a key is asked for by its link as stored (``api_key=***``):
    after the operator gives the feed a new key (/reload), the failure kept from the old
    key is not served, the page is fetched with the new one; what each key got is kept
    apart (asked again, neither is fetched again), and no key is in the cache in clear."""
    feed = server.url("/feed.xml?api_key=***")
    link = server.url("/story.html?api_key=***")
    with_key = {key: server.url(f"/feed.xml?api_key={key}") for key in (OLD_KEY, NEW_KEY)}
    server.fault("/story.html", "status", code=403)  # the server refuses the old key
    async with Fetcher(read_timeout=2) as fetcher:
        full = FullText(fetcher)
        with pytest.raises(FetchError, match="403"):
            await full.get(link, feed_urls=(feed,), credentials=with_key[OLD_KEY])
        server.clear_fault("/story.html")  # and takes the new one
        page = await full.get(link, feed_urls=(feed,), credentials=with_key[NEW_KEY])
        again = await full.get(link, feed_urls=(feed,), credentials=with_key[NEW_KEY])
        with pytest.raises(FetchError, match="403"):  # what the old key got, kept
            await full.get(link, feed_urls=(feed,), credentials=with_key[OLD_KEY])
        kept = repr(list(full._cache))
    assert STORY[2] in page.text and again == page
    paths = [r.path for r in server.requests]
    assert paths == [f"/story.html?api_key={OLD_KEY}", f"/story.html?api_key={NEW_KEY}"], paths
    assert OLD_KEY not in kept and NEW_KEY not in kept, kept


async def test_full_text_asked_at_once_with_two_keys_fetches_with_each(server):
    """Two asks for one stored link at the same time, with the feed's old and new key (a
    /reload between two polls): each is fetched with its own key, neither waits for the
    other's answer."""
    import asyncio

    server.fault("/story.html", "timeout", delay=0.3)  # slow: the second ask comes meanwhile
    feed = server.url("/feed.xml?api_key=***")
    link = server.url("/story.html?api_key=***")
    async with Fetcher(read_timeout=5) as fetcher:
        full = FullText(fetcher)
        first, second = await asyncio.gather(
            *(
                full.get(link, feed_urls=(feed,), credentials=server.url(f"/feed.xml?api_key={k}"))
                for k in (OLD_KEY, NEW_KEY)
            )
        )
    assert first == second and STORY[2] in first.text
    paths = sorted(r.path for r in server.requests)
    assert paths == [f"/story.html?api_key={k}" for k in (OLD_KEY, NEW_KEY)], paths
