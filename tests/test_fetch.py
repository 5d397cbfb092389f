"""Fetching against a real local feed server that misbehaves on demand."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path
from time import time

import httpx
import pytest

from bot.errors import FetchError, ParseError
from bot.ingest.fetch import (
    USER_AGENT,
    Fetcher,
    FetchResult,
    fetch_source,
    gunzip_if_needed,
    read_local,
)
from bot.ingest.parse import parse_feed
from tests.fakes.feed_server import FeedServer

pytestmark = pytest.mark.timeout(30)

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Loopback News</title><link>https://news.example/</link>
<item><title>Seoul and Washington resume talks</title>
<link>https://news.example/a/1?utm_source=rss</link><guid>https://news.example/a/1</guid>
<description>Envoys met in Seoul – café diplomacy.</description>
<pubDate>Mon, 29 Oct 2018 06:00:00 GMT</pubDate></item>
<item><title>Second story</title><link>https://news.example/a/2</link>
<pubDate>Mon, 29 Oct 2018 07:00:00 GMT</pubDate></item>
</channel></rss>
"""


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        srv.set("/feed.xml", RSS)
        yield srv


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    # Short timeouts so that every fault ends in well under a second.
    async with Fetcher(connect_timeout=0.5, read_timeout=0.5, max_bytes=1024 * 1024) as f:
        yield f


async def fetch_error(fetcher: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(url)
    return info.value


# --- the happy path and caching ---------------------------------------------------------


async def test_fetch_returns_body_headers_and_validators(server, fetcher):
    result = await fetcher.fetch(server.url("/feed.xml"))
    assert isinstance(result, FetchResult)
    assert result.status == 200
    assert result.body == RSS.encode()
    assert result.url == result.final_url == server.url("/feed.xml")
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert result.etag and result.last_modified
    assert len(result.body_hash) == 64
    assert not result.not_modified and result.permanent_url is None


async def test_user_agent_names_the_bot(server, fetcher):
    await fetcher.fetch(server.url("/feed.xml"))
    ua = server.requests[-1].headers["User-Agent"]
    assert ua == USER_AGENT
    assert ua.startswith("newsalert/") and "Telegram" in ua


async def test_conditional_get_with_etag_gives_not_modified(server, fetcher):
    first = await fetcher.fetch(server.url("/feed.xml"))
    again = await fetcher.fetch(server.url("/feed.xml"), etag=first.etag)
    assert again.not_modified and again.status == 304 and again.body == b""
    assert again.etag == first.etag
    assert server.requests[-1].headers["If-None-Match"] == first.etag


async def test_conditional_get_with_last_modified_only(server, fetcher):
    first = await fetcher.fetch(server.url("/feed.xml"))
    again = await fetcher.fetch(server.url("/feed.xml"), last_modified=first.last_modified)
    assert again.not_modified
    assert again.last_modified == first.last_modified


async def test_changed_body_is_fetched_again_with_a_new_hash(server, fetcher):
    first = await fetcher.fetch(server.url("/feed.xml"))
    server.set("/feed.xml", RSS.replace("Second story", "Second story, updated"))
    again = await fetcher.fetch(
        server.url("/feed.xml"), etag=first.etag, last_modified=first.last_modified
    )
    assert not again.not_modified and again.status == 200
    assert again.body_hash != first.body_hash
    assert again.etag != first.etag


async def test_same_body_without_validators_has_same_hash(server, fetcher):
    server.set("/plain.xml", RSS, conditional=False)
    first = await fetcher.fetch(server.url("/plain.xml"))
    again = await fetcher.fetch(server.url("/plain.xml"))
    assert first.etag is None and again.status == 200
    assert again.body_hash == first.body_hash


async def test_fetch_page_asks_for_html(server, fetcher):
    server.set("/story.html", "<html><body><p>Hi</p></body></html>", content_type="text/html")
    result = await fetcher.fetch_page(server.url("/story.html"))
    assert result.body.startswith(b"<html>")
    assert server.requests[-1].headers["Accept"].startswith("text/html")


# --- redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 308])
async def test_permanent_redirect_reports_the_new_url(server, fetcher, code):
    server.fault("/old.xml", "redirect", to="/feed.xml", code=code)
    result = await fetcher.fetch(server.url("/old.xml"))
    assert result.body == RSS.encode()
    assert result.url == server.url("/old.xml")
    assert result.final_url == server.url("/feed.xml")
    assert result.permanent_url == server.url("/feed.xml")


@pytest.mark.parametrize("code", [302, 303, 307])
async def test_temporary_redirect_keeps_the_stored_url(server, fetcher, code):
    server.fault("/moved.xml", "redirect", to="/feed.xml", code=code)
    result = await fetcher.fetch(server.url("/moved.xml"))
    assert result.final_url == server.url("/feed.xml")
    assert result.permanent_url is None


async def test_permanent_then_temporary_redirect_stores_the_permanent_target(server, fetcher):
    server.fault("/a.xml", "redirect", to="/b.xml", code=301)
    server.fault("/b.xml", "redirect", to="/feed.xml", code=302)
    result = await fetcher.fetch(server.url("/a.xml"))
    assert result.final_url == server.url("/feed.xml")
    assert result.permanent_url == server.url("/b.xml")


async def test_redirect_loop_ends_in_redirects_error(server, fetcher):
    server.fault("/loop.xml", "redirect_loop")
    error = await fetch_error(fetcher, server.url("/loop.xml"))
    assert error.kind == "redirects"
    assert server.hits("/loop.xml") <= 6


async def test_more_than_five_redirects_is_an_error(server, fetcher):
    for i in range(7):
        server.fault(f"/hop{i}", "redirect", to=f"/hop{i + 1}")
    server.set("/hop7", RSS)
    error = await fetch_error(fetcher, server.url("/hop0"))
    assert error.kind == "redirects"
    assert server.hits("/hop6") == 0  # gave up after five hops


async def test_five_redirects_are_followed(server, fetcher):
    for i in range(5):
        server.fault(f"/step{i}", "redirect", to=f"/step{i + 1}")
    server.set("/step5", RSS)
    result = await fetcher.fetch(server.url("/step0"))
    assert result.final_url == server.url("/step5")


# --- faults from issue 3 -----------------------------------------------------------------


async def test_timeout_before_headers(server, fetcher):
    server.fault("/slow.xml", "timeout", delay=30)
    error = await fetch_error(fetcher, server.url("/slow.xml"))
    assert error.kind == "timeout"


async def test_timeout_in_the_middle_of_the_body(server, fetcher):
    server.fault("/stall.xml", "timeout", after_headers=True, delay=30)
    server.set("/stall.xml", RSS)
    error = await fetch_error(fetcher, server.url("/stall.xml"))
    assert error.kind == "timeout"


async def test_slow_but_within_timeout_succeeds(server, fetcher):
    server.fault("/feed.xml", "timeout", delay=0.1)
    result = await fetcher.fetch(server.url("/feed.xml"))
    assert result.body == RSS.encode()


async def test_total_timeout_bounds_a_trickling_server(server):
    server.fault("/feed.xml", "timeout", delay=0.3)
    async with Fetcher(read_timeout=5, total_timeout=0.1) as fetcher:
        error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert error.kind == "timeout"


@pytest.mark.parametrize(("code", "kind"), [(500, "http"), (404, "http"), (502, "http")])
async def test_error_status(server, fetcher, code, kind):
    server.fault("/broken.xml", "status", code=code)
    error = await fetch_error(fetcher, server.url("/broken.xml"))
    assert (error.kind, error.status) == (kind, code)


async def test_unknown_path_is_404(server, fetcher):
    error = await fetch_error(fetcher, server.url("/nothing-here.xml"))
    assert (error.kind, error.status) == ("http", 404)


async def test_410_is_gone(server, fetcher):
    server.fault("/dead.xml", "status", code=410)
    error = await fetch_error(fetcher, server.url("/dead.xml"))
    assert (error.kind, error.status) == ("gone", 410)


@pytest.mark.parametrize("code", [429, 503])
async def test_retry_after_seconds_is_honoured(server, fetcher, code):
    server.fault("/busy.xml", "status", code=code, retry_after=120)
    error = await fetch_error(fetcher, server.url("/busy.xml"))
    assert error.kind == "rate_limited" and error.status == code
    assert error.retry_after == 120


async def test_retry_after_as_http_date(server, fetcher):
    server.fault("/busy.xml", "status", code=429, retry_after=formatdate(time() + 600, usegmt=True))
    error = await fetch_error(fetcher, server.url("/busy.xml"))
    assert error.kind == "rate_limited"
    assert error.retry_after is not None and 590 <= error.retry_after <= 601


async def test_503_without_retry_after_is_a_plain_http_error(server, fetcher):
    server.fault("/down.xml", "status", code=503)
    error = await fetch_error(fetcher, server.url("/down.xml"))
    assert (error.kind, error.status, error.retry_after) == ("http", 503, None)


@pytest.mark.parametrize("declare", [False, True])
async def test_50_mb_body_stops_at_the_cap(server, fetcher, declare):
    server.fault("/huge.xml", "huge", size=50 * 1024 * 1024, content_length=declare)
    error = await fetch_error(fetcher, server.url("/huge.xml"))
    assert error.kind == "too_large"


async def test_body_under_the_cap_is_accepted(server):
    server.fault("/big.xml", "huge", size=200_000)
    async with Fetcher(max_bytes=300_000) as fetcher:
        result = await fetcher.fetch(server.url("/big.xml"))
    assert 200_000 < len(result.body) < 300_000


async def test_gzip_bomb_is_too_large(server, fetcher):
    server.fault("/bomb.xml", "gzip_bomb", size=16 * 1024 * 1024)
    error = await fetch_error(fetcher, server.url("/bomb.xml"))
    assert error.kind == "too_large"


async def test_gzip_bomb_without_header_is_too_large(server, fetcher):
    server.fault("/bomb.xml", "gzip_bomb", size=16 * 1024 * 1024, header=False)
    error = await fetch_error(fetcher, server.url("/bomb.xml"))
    assert error.kind == "too_large"


async def test_gzip_with_content_encoding_is_decoded(server, fetcher):
    server.set("/gz.xml", gzip.compress(RSS.encode()), headers={"Content-Encoding": "gzip"})
    result = await fetcher.fetch(server.url("/gz.xml"))
    assert result.body == RSS.encode()
    assert "gzip" in server.requests[-1].headers["Accept-Encoding"]


@pytest.mark.parametrize("wrapped", [True, False])
async def test_deflate_zlib_wrapped_or_raw_is_decoded(server, fetcher, wrapped):
    if wrapped:
        data = zlib.compress(RSS.encode())
    else:
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        data = packer.compress(RSS.encode()) + packer.flush()
    server.set("/deflate.xml", data, headers={"Content-Encoding": "deflate"})
    result = await fetcher.fetch(server.url("/deflate.xml"))
    assert result.body == RSS.encode()


async def test_gzip_body_without_header_is_decoded(server, fetcher):
    server.fault("/feed.xml", "gzip_no_header")
    result = await fetcher.fetch(server.url("/feed.xml"))
    assert result.body == RSS.encode()
    assert len(parse_feed(result.body, url=result.url).articles) == 2


async def test_a_body_of_many_tiny_gzip_members_is_decoded_in_one_pass(server):
    # 300,000 empty members (about 6 MB, under the default 10 MB cap) before the feed:
    # each read once (linear time)
    body = gzip.compress(b"") * 300_000 + gzip.compress(RSS.encode())
    server.set("/many.xml", body, headers={"Content-Encoding": "gzip"})
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(server.url("/many.xml"))
    assert result.body == RSS.encode()
    assert gunzip_if_needed(body) == RSS.encode()


async def test_corrupt_gzip_is_a_decode_error(server, fetcher):
    server.set("/bad.xml", b"\x1f\x8b\x08\x00garbage", headers={"Content-Encoding": "gzip"})
    error = await fetch_error(fetcher, server.url("/bad.xml"))
    assert error.kind == "decode"


async def test_body_cut_short_is_a_network_error(server, fetcher):
    server.fault("/feed.xml", "truncated", at=100)
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert error.kind == "network"


async def test_truncated_but_complete_response_still_yields_entries(server, fetcher):
    # A server error cut the feed after the first item but the response was well formed.
    cut = RSS.index("<item><title>Second")
    server.fault("/feed.xml", "truncated", at=cut, declare_full=False)
    result = await fetcher.fetch(server.url("/feed.xml"))
    parsed = parse_feed(result.body, url=result.url, headers=result.headers)
    assert [a.title for a in parsed.articles] == ["Seoul and Washington resume talks"]


async def test_wrong_declared_charset_still_reads_the_text(server, fetcher):
    server.fault("/feed.xml", "wrong_charset", declared="iso-8859-1")
    result = await fetcher.fetch(server.url("/feed.xml"))
    assert "iso-8859-1" in result.headers["content-type"]
    parsed = parse_feed(result.body, url=result.url, headers=result.headers)
    assert parsed.articles[0].summary == "Envoys met in Seoul – café diplomacy."


async def test_latin1_body_declared_as_utf8_is_still_read(server, fetcher):
    text = RSS.replace('encoding="utf-8"', 'encoding="utf-8"').replace(" – ", " - ")
    server.fault("/feed.xml", "wrong_charset", declared="utf-8", actual="latin-1", text=text)
    result = await fetcher.fetch(server.url("/feed.xml"))
    parsed = parse_feed(result.body, url=result.url, headers=result.headers)
    assert parsed.articles[0].summary == "Envoys met in Seoul - café diplomacy."


async def test_empty_body_is_fetched_but_does_not_parse(server, fetcher):
    server.fault("/feed.xml", "empty")
    result = await fetcher.fetch(server.url("/feed.xml"))
    assert result.body == b""
    with pytest.raises(ParseError, match="empty"):
        parse_feed(result.body, url=result.url, headers=result.headers)


async def test_html_page_is_fetched_but_is_not_a_feed(server, fetcher):
    server.fault("/feed.xml", "html")
    result = await fetcher.fetch(server.url("/feed.xml"))
    with pytest.raises(ParseError, match="HTML"):
        parse_feed(result.body, url=result.url, headers=result.headers)


async def test_connection_refused_is_a_network_error():
    async with FeedServer() as srv:
        url = srv.url("/feed.xml")
    async with Fetcher(connect_timeout=0.5, read_timeout=0.5) as fetcher:
        error = await fetch_error(fetcher, url)
    assert error.kind == "network"


async def test_faults_do_not_affect_other_feeds(server, fetcher):
    faults = {
        "/timeout": ("timeout", {}),
        "/500": ("status", {"code": 500}),
        "/410": ("status", {"code": 410}),
        "/loop": ("redirect_loop", {}),
        "/huge": ("huge", {}),
        "/bomb": ("gzip_bomb", {}),
    }
    for path, (kind, options) in faults.items():
        server.fault(path, kind, **options)
    urls = [server.url(p) for p in faults] + [server.url("/feed.xml")]
    results = await asyncio.gather(*(fetcher.fetch(u) for u in urls), return_exceptions=True)
    kinds = [r.kind if isinstance(r, FetchError) else "ok" for r in results]
    assert kinds == ["timeout", "http", "gone", "redirects", "too_large", "too_large", "ok"]
    assert results[-1].body == RSS.encode()


# --- concurrency, transport, local files ----------------------------------------------------


async def test_per_host_limit_caps_concurrent_requests(server):
    server.fault("/feed.xml", "timeout", delay=0.15)
    async with Fetcher(per_host=2) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url("/feed.xml")) for _ in range(6)))
    assert all(r.status == 200 for r in results)
    assert server.max_in_flight == 2


async def test_the_per_host_limit_counts_a_host_with_and_without_a_password_once_and_is_let_go(
    server,
):
    server.fault("/feed.xml", "timeout", delay=0.15)
    plain = server.url("/feed.xml")
    keyed = plain.replace("://", "://reader:s3cret@", 1)
    async with Fetcher(per_host=2) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(u) for u in [plain, keyed] * 3))
        assert fetcher._hosts == {}  # no host kept once its requests ended, no password
    assert all(r.status == 200 for r in results)
    assert server.max_in_flight == 2


async def test_injected_transport_is_used():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=RSS.encode(), headers={"ETag": '"x"'})

    async with Fetcher(transport=httpx.MockTransport(handler)) as fetcher:
        result = await fetcher.fetch("https://feeds.example/rss")
    assert result.etag == '"x"' and result.body == RSS.encode()


def test_read_local_plain_and_gzip(tmp_path: Path):
    plain = tmp_path / "feed.xml"
    plain.write_text(RSS, encoding="utf-8")
    packed = tmp_path / "feed.xml.gz"
    packed.write_bytes(gzip.compress(RSS.encode()))
    for path in (plain, packed):
        result = read_local(path)
        assert result.status == 200 and result.body == RSS.encode()
        assert result.url == str(path)


def test_read_local_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FetchError) as info:
        read_local(tmp_path / "nope.xml")
    assert info.value.kind == "file" and "nope.xml" in str(info.value)


async def test_fetch_source_dispatches_on_url_or_path(server, fetcher, tmp_path: Path):
    local = tmp_path / "feed.xml"
    local.write_text(RSS, encoding="utf-8")
    by_url = await fetch_source(server.url("/feed.xml"), fetcher)
    by_path = await fetch_source(str(local), fetcher)
    by_file_url = await fetch_source(local.as_uri(), fetcher)
    assert by_url.body == by_path.body == by_file_url.body == RSS.encode()


@pytest.mark.parametrize("value", ["/no/such/feed.xml", "ftp://example.com/feed.xml", "feed"])
async def test_fetch_source_rejects_what_it_cannot_read(fetcher, value):
    with pytest.raises(FetchError) as info:
        await fetch_source(value, fetcher)
    assert info.value.kind in ("file", "invalid_url")
    assert value in str(info.value)


def test_feed_server_runs_in_a_thread_for_synchronous_callers():
    with FeedServer.in_thread() as srv:
        srv.set("/feed.xml", RSS)
        srv.fault("/slow.xml", "timeout", delay=30)
        response = httpx.get(srv.url("/feed.xml"), timeout=5)
        assert response.status_code == 200 and response.content == RSS.encode()
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(srv.url("/slow.xml"), timeout=0.2)
    # Leaving the block stopped the server even with a request still hanging.
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url("/feed.xml"), timeout=1)
