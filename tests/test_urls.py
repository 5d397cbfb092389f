"""Canonical URLs: one spelling per address."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.urls import canonical_url, is_http_url, is_tracking_param


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.COM/Path?a=1#frag", "https://example.com/Path?a=1"),
        ("HTTP://example.com:80/x", "http://example.com/x"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com", "https://example.com/"),
        ("  https://example.com/a \n", "https://example.com/a"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
        ("https://example.com/a?id=7&utm_campaign=x&page=2", "https://example.com/a?id=7&page=2"),
        ("https://example.com/a?fbclid=IwAR0&gclid=1&mc_cid=2&mc_eid=3", "https://example.com/a"),
        ("https://example.com/a?UTM_Source=x&q=korea", "https://example.com/a?q=korea"),
        ("https://example.com/a?q=a%20b&empty=", "https://example.com/a?q=a%20b&empty="),
        ("https://example.com./a", "https://example.com/a"),
        ("https://user:pw@Example.com/a", "https://user:pw@example.com/a"),
        ("https://[2001:DB8::1]:8080/a", "https://[2001:db8::1]:8080/a"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("/news/1", "https://site.example/feeds/rss.xml", "https://site.example/news/1"),
        ("1.html", "https://site.example/feeds/rss.xml", "https://site.example/feeds/1.html"),
        ("../a", "https://site.example/x/y/z", "https://site.example/x/a"),
        ("//cdn.example/p", "https://site.example/", "https://cdn.example/p"),
        ("https://other.example/p", "https://site.example/", "https://other.example/p"),
    ],
)
def test_relative_urls_resolve_against_the_base(url, base, expected):
    assert canonical_url(url, base) == expected


@pytest.mark.parametrize("value", ["tag:example.org,2024:1", "mailto:a@b.example", "urn:uuid:1"])
def test_non_http_values_are_left_alone(value):
    assert canonical_url(value) == value


def test_empty_stays_empty_even_with_a_base():
    assert canonical_url("", "https://site.example/") == ""


def test_tracking_param_names():
    assert is_tracking_param("utm_content") and is_tracking_param("FBCLID")
    assert not is_tracking_param("id") and not is_tracking_param("page")


def test_is_http_url():
    assert is_http_url("https://a.example/x")
    assert not is_http_url("/tmp/feed.xml") and not is_http_url("file:///tmp/feed.xml")


@given(st.text(max_size=60))
def test_canonical_url_never_raises_and_is_idempotent(text):
    once = canonical_url(text)
    assert canonical_url(once) == once


@given(
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z]{1,10}\.[a-z]{2,5}", fullmatch=True),
    st.from_regex(r"(/[a-z0-9]{0,8}){0,3}", fullmatch=True),
    st.lists(st.sampled_from(["utm_source=x", "fbclid=1", "id=2", "page=3"]), max_size=4),
)
def test_tracking_parameters_never_survive(scheme, host, path, params):
    url = f"{scheme}://{host}{path}" + ("?" + "&".join(params) if params else "")
    result = canonical_url(url)
    assert "utm_" not in result and "fbclid" not in result
    assert all(p in result for p in params if p.startswith(("id=", "page=")))
