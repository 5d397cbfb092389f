"""Canonical URLs: one spelling per address, so that the same article found
through two feeds (or twice in one) is recognised as the same.

What changes: surrounding whitespace is dropped, relative references are
resolved against a base, scheme and host are lowercased, default ports and the
fragment are removed, an empty path becomes ``/``, and tracking parameters
(``utm_*``, ``fbclid``, ``gclid``, ``mc_cid`` ...) are removed from the query.
What does not change: the path, the order and spelling of the other query
parameters, and anything that is not an http(s) URL (``tag:`` URIs, ``mailto:``).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

# in bot.text, so that the config loader (a layer below) hides credentials too
from bot.credentials import DEFAULT_PORTS, url_origin
from bot.credentials import feed_key as feed_key
from bot.credentials import same_feed as same_feed
from bot.text import redact_url as redact_url
from bot.text import redact_urls as redact_urls

# Parameters that only say how a reader arrived, never which page it is.
_TRACKING_EXACT = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        "vero_id",
        "vero_conv",
        "wt_mc",
        "wt.mc_id",
        "xtor",
        "ocid",
        "ncid",
        "cmpid",
        "sr_share",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "__twitter_impression",
        "ref_src",
        "ref_url",
        "spm",
        "si",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "ga_", "hmb_", "itm_")
_WS = re.compile(r"\s+")


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter name is a known tracking parameter."""
    key = name.lower()
    return key in _TRACKING_EXACT or key.startswith(_TRACKING_PREFIXES)


def _clean_query(query: str) -> str:
    if not query:
        return ""
    kept = []
    for part in query.split("&"):
        if not part:
            continue
        name = part.split("=", 1)[0]
        if not is_tracking_param(name):
            kept.append(part)
    return "&".join(kept)


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical spelling of ``url``, resolved against ``base`` when relative.

    Never raises: a value that cannot be split as a URL is returned stripped.
    An empty ``url`` gives an empty string (not the base).
    """
    url = (url or "").strip()
    if not url:
        return ""
    # Whitespace inside a URL is always an accident of feed formatting.
    url = _WS.sub("", url) if _WS.search(url) else url  # (\s is str.isspace, in C)
    if base:
        try:
            url = urljoin(base.strip(), url)
        except ValueError:
            return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host
    if parts.username is not None:
        userinfo = parts.username
        if parts.password is not None:
            userinfo += ":" + parts.password
        netloc = f"{userinfo}@{netloc}"
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))


def url_host(url: str) -> str:
    """The host (and a port that is not the default) of ``url``: what /feeds shows."""
    try:
        _scheme, host, port = url_origin(urlsplit(url))
    except ValueError:
        return ""
    return host if port is None else f"{host}:{port}"


def is_http_url(value: str) -> bool:
    """Whether ``value`` is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


MAX_IMAGE_URL = 2048
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".bmp")


def image_url(value: str, base: str | None = None) -> str:
    """An image's address as Telegram may be given it: resolved against ``base`` when
    relative, http(s) with a host, no spaces or control characters, at most 2,048
    characters; else "".  Unlike an article link its query is kept as it is (image CDNs
    sign their URLs), and it is never fetched here: Telegram fetches it for the preview."""
    value = (value or "").strip()
    if not value or len(value) > MAX_IMAGE_URL:
        return ""
    if base:
        try:
            value = urljoin(base.strip(), value)
        except ValueError:
            return ""
    if any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        return ""
    if len(value) > MAX_IMAGE_URL or not is_http_url(value):
        return ""
    return value


def looks_like_image(url: str) -> bool:
    """Whether a URL's path ends like a picture file (for media tags that name no type)."""
    try:
        path = urlsplit(url).path.lower()
    except ValueError:
        return False
    return path.endswith(_IMAGE_SUFFIXES)
