"""Parsing feed bodies into normalised :class:`~bot.records.Article` records.

Pure: bytes and response headers in, records out, no I/O. feedparser reads
RSS 0.9x/1.0/2.0, Atom and RDF; :mod:`bot.ingest.jsonfeed` reads JSON Feed. Real
feeds are often broken, so a bozo flag is not fatal while entries come out,
and when feedparser finds none a few cheap repairs are tried before giving up.

Normalisation (DESIGN.md, issue 3):
- ``id``: the entry's guid/id, else its canonical link, else a sha1 of title
  and date.
- ``link``: canonical (relative links resolved, tracking parameters removed).
- ``published``: timezone-aware UTC; missing gives ``now`` (first seen), and a
  date more than a day ahead of ``now`` is clamped to ``now``.
- ``title`` tidied to one line; ``summary`` and ``content`` as plain text.
- A DOCTYPE that declares entities (``<!ENTITY``) is removed before parsing, as
  defusedxml forbids them: entity expansion ("billion laughs") turns a small feed into
  gigabytes. A UTF-16/32 feed that declares entities is refused.
- Size caps, so that no entry costs more than its share: the raw HTML of a field is cut
  before it is converted, the plain text after (``MAX_TITLE_CHARS``,
  ``MAX_SUMMARY_CHARS``, ``MAX_CONTENT_CHARS``; links and ids ``MAX_LINK_CHARS``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import html
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import feedparser.api
import feedparser.mixin

from bot.credentials import (
    public_feed_url,
    secret_values,
    text_without_secrets,
    without_secrets,
)
from bot.errors import ParseError
from bot.ingest.fastfeed import read_fast
from bot.ingest.fetch import gunzip_if_needed
from bot.ingest.jsonfeed import JsonFeed, looks_like_json, parse_json_feed
from bot.ingest.urls import canonical_url, image_url, is_http_url, looks_like_image
from bot.records import (
    MAX_AUTHOR_CHARS,
    MAX_CONTENT_CHARS,
    MAX_LINK_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    Article,
    as_utc,
    utcnow,
)
from bot.text import html_to_text, tidy_line, tidy_text

# feedparser reads XML through our expat driver, which hands it text in one piece per
# element instead of one per line (bot.ingest.sax_driver): the same result, faster.
_SAX_DRIVER = "bot.ingest.sax_driver"
if _SAX_DRIVER not in feedparser.api.PREFERRED_XML_PARSERS:
    feedparser.api.PREFERRED_XML_PARSERS.insert(0, _SAX_DRIVER)

# feedparser joins the document's base URI with every start tag's, the same two strings
# each time for most feeds: a pure function, remembered (a tenth of its time otherwise).
if not hasattr(feedparser.mixin.make_safe_absolute_uri, "cache_info"):
    feedparser.mixin.make_safe_absolute_uri = functools.lru_cache(maxsize=4096)(
        feedparser.mixin.make_safe_absolute_uri
    )

FUTURE_SLACK = timedelta(days=1)
_RAW_FACTOR = 4  # HTML kept before conversion: markup makes it longer than its text
_MAILED_NAME = re.compile(r"^[^\s@()]+@[^\s@()]+\s*\((.+)\)$")
_BARE_EMAIL = re.compile(r"^[^\s@()]+@[^\s@()]+$")
_MAX_BODY = 50 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
# the pieces of a DOCTYPE: quoted strings and comments (which may hold "]" or ">"), the
# internal subset's end, the declaration's end, and runs of anything else
_DOCTYPE_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?-->|\]|>|[^\"'\]<>]+|<", re.DOTALL)
_DOCTYPE_TOKEN_NO_COMMENT = re.compile(rb"\"[^\"]*\"|'[^']*'|\]|>|[^\"'\]<>]+|<")
_LEADING_WS = re.compile(rb"^(\xef\xbb\xbf)?[ \t\r\n]+(?=<)")
_BARE_AMP = re.compile(rb"&(?!(?:#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9._-]*);)")
_XML_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_PROLOG = re.compile(
    rb"(?:\xef\xbb\xbf)?(?:\s*<!--.*?-->)*\s*(?P<decl><\?xml.*?\?>+)?(?:\s*<!--.*?-->)*\s*",
    re.DOTALL,
)
_GOOD_DECL = re.compile(rb"<\?xml\s+version\s*=\s*[\"'][^\"']*[\"'][^<>?]*\?>")
_RSS_PREFIX = re.compile(rb"(</?|\s)rss:")
_HTML_HINT = re.compile(rb"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)
# Markup that survived one pass of html_to_text: the feed escaped its HTML twice.
_ESCAPED_MARKUP = re.compile(
    r"</?(?:p|br|div|span|a|img|b|i|em|strong|ul|ol|li|h[1-6]|figure|blockquote)\b[^<>]*>",
    re.IGNORECASE,
)
# An entity that survived decoding: the feed escaped "&" twice ("&amp;amp;").
_ESCAPED_ENTITY = re.compile(r"&(?:amp|quot|apos|lt|gt|nbsp|#[0-9]{2,6}|#x[0-9a-fA-F]{2,5});")
_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([^\"';\s]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed: its title and home link, its articles in document
    order, and feedparser's complaint (``bozo``) when the XML was not well
    formed (None when it was). ``format`` is e.g. ``rss20``, ``atom10``,
    ``json11``."""

    title: str
    link: str
    articles: tuple[Article, ...]
    bozo: str | None = None
    format: str = ""


@dataclass(frozen=True, slots=True)
class _Raw:
    """An entry before normalisation, whatever format it came from."""

    id: str
    title: str
    link: str
    summary: str
    content: str
    published: datetime | None
    date_text: str
    images: tuple[str, ...] = ()  # the pictures it names, best first; the first usable is kept
    author: str = ""
    outlet: str = ""  # RSS 2.0 <source>: the outlet an aggregating feed took the item from
    title_is_text: bool = False  # the feed says the title is plain text (not HTML)

    def is_empty(self) -> bool:
        return not (self.id or self.title or self.link or self.summary or self.content)


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    source: str | None = None,
    now: datetime | None = None,
    fast: bool = True,
    secrets: Collection[str] = (),
) -> ParsedFeed:
    """Parse a feed body into normalised articles.

    ``url`` is where the body came from (recorded as ``Article.feed`` and used
    to resolve relative links, both without its credentials); ``headers`` are the HTTP response headers
    (charset, Content-Location); ``source`` names the publisher (default: the
    feed's title); ``now`` is the first-seen time for undated entries.

    Raises :class:`ParseError` for an empty body or a body that is not a feed
    (an HTML page, JSON that is not a JSON Feed, plain junk). A well-formed feed
    with no entries gives a ParsedFeed with no articles.

    ``fast=False`` reads an XML feed with feedparser alone (the reference) instead of
    trying :mod:`bot.ingest.fastfeed` first; the result is the same.

    ``secrets`` are the feed's credentials (:func:`bot.credentials.secret_values` of its
    URL), besides those ``url`` carries: a publisher may repeat them in its links, guids
    and pictures, which lose them (:func:`bot.credentials.without_secrets`), and in the
    links, pictures and text of its titles, summaries and content, which lose them
    before they are cut to size and again once they are text
    (:func:`bot.credentials.text_without_secrets`).
    """
    secrets = [*secret_values(url), *secrets]
    # the base of relative links: with its credentials, they would be copied into them
    url = public_feed_url(url)
    now = as_utc(now) if now is not None else utcnow()
    try:
        body = gunzip_if_needed(bytes(body), _MAX_BODY)
    except ValueError as e:
        raise ParseError(url, f"{url}: {e}") from e
    if not body.strip():
        raise ParseError(url, f"{url}: empty body, not a feed")
    try:
        if looks_like_json(body):
            doc = parse_json_feed(body, url=url)
            parsed = _from_json(doc, url=url, source=source, now=now, secrets=secrets)
        else:
            parsed = _from_xml(
                body,
                url=url,
                headers=headers or {},
                source=source,
                now=now,
                fast=fast,
                secrets=secrets,
            )
    except RecursionError:  # hostile nesting, whatever the format
        raise ParseError(url, f"{url}: nested too deeply to be a feed") from None
    return _without_secrets(parsed, secrets) if secrets else parsed


def _without_secrets(parsed: ParsedFeed, secrets: list[str]) -> ParsedFeed:
    """``parsed`` with the feed's credentials out of every URL its content gave, and out
    of its text (what an entity decoded: the raw HTML lost them in ``_normalise``)."""
    articles = tuple(
        a.replace(
            id=without_secrets(a.id, secrets),
            link=without_secrets(a.link, secrets),
            image=without_secrets(a.image, secrets),
            title=text_without_secrets(a.title, secrets),
            summary=text_without_secrets(a.summary, secrets),
            content=text_without_secrets(a.content, secrets),
            author=text_without_secrets(a.author, secrets),
            source=text_without_secrets(a.source, secrets),
        )
        for a in parsed.articles
    )
    return replace(
        parsed,
        title=text_without_secrets(parsed.title, secrets),
        link=without_secrets(parsed.link, secrets),
        articles=articles,
    )


# --- XML feeds through feedparser -------------------------------------------------------


def _without_entity_declarations(body: bytes, url: str) -> bytes:
    """``body`` without a DOCTYPE that declares entities (see the module doc)."""
    if (
        body[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
        or body[:2] in (b"\xff\xfe", b"\xfe\xff")
        or (len(body) > 3 and (body[1] == 0 or body[0] == 0))
    ):
        for codec in ("utf-32", "utf-16", "utf-16-le", "utf-16-be"):
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                continue
            if "<!ENTITY" in text:
                raise ParseError(url, f"{url}: the feed declares XML entities; refused")
            break
        return body
    if b"<!ENTITY" not in body:
        return body
    start = _DOCTYPE.search(body)
    if start is None:
        return body
    in_subset = False
    # A comment ends at the next "-->": from three bytes before the last one, none can,
    # and the rest is read without trying (each "<!--" there would be read to the end of
    # the body and then again from the next: quadratic in a run of unclosed comments)
    last_close = body.rfind(b"-->", start.end())
    pos = start.end()
    while True:
        pattern = _DOCTYPE_TOKEN if pos < last_close - 3 else _DOCTYPE_TOKEN_NO_COMMENT
        token = pattern.search(body, pos)
        if token is None:
            break
        pos = token.end()
        piece = token.group(0)
        if piece == b"[" or (
            not in_subset and b"[" in piece and not piece.startswith((b'"', b"'"))
        ):
            in_subset = True
        elif piece == b"]":
            in_subset = False
        elif piece == b">" and not in_subset:
            return body[: start.start()] + body[token.end() :]
    raise ParseError(url, f"{url}: a DOCTYPE declaration that never ends")


def _feedparser_headers(body: bytes, url: str, headers: Mapping[str, str]) -> dict[str, str]:
    out = {k.lower(): v for k, v in headers.items()}
    # The body is already decoded; these would only mislead.
    out.pop("content-encoding", None)
    out.pop("content-length", None)
    # Without a Content-Type feedparser flags every feed as bozo; a body that
    # reached us as XML is XML.
    out.setdefault("content-type", "application/xml")
    # feedparser resolves relative links and permalink guids against it (a guid's
    # resolution is part of the entry's identity: keep it as it is)
    if "content-location" not in out and is_http_url(url):
        out["content-location"] = url
    ctype = out.get("content-type", "")
    match = _CHARSET.search(ctype)
    declared = match.group(1).lower().replace("_", "-") if match else "utf-8"
    # A server that declares a legacy charset for a body that is valid UTF-8
    # with non-ASCII bytes is wrong: such byte sequences are next to impossible
    # in real Latin-1/Windows-1252 text. Trust the bytes.
    if declared not in ("utf-8", "utf8") and _is_utf8_not_ascii(body):
        out["content-type"] = _CHARSET.sub("; charset=utf-8", ctype, count=1)
    return out


def _is_utf8_not_ascii(body: bytes) -> bool:
    if body.isascii() or body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _feedparse(body: bytes, headers: dict[str, str]) -> Any:
    return feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )


def _repairs(body: bytes) -> list[bytes]:
    """Cheap rewrites of a broken body, most conservative first."""
    out = []
    fixed = _XML_CONTROL.sub(b"", _BARE_AMP.sub(b"&amp;", body))
    fixed = _clean_prolog(fixed)
    if b"xmlns:rss" not in fixed:
        # "<rss:item>" with no namespace declared: the prefix is noise.
        fixed = _RSS_PREFIX.sub(rb"\1", fixed)
    fixed = _close_cdata(fixed)
    if fixed != body:
        out.append(fixed)
    try:
        from lxml import etree

        parser = etree.XMLParser(recover=True, resolve_entities=False, huge_tree=True)
        root = etree.fromstring(fixed, parser)
        if root is not None:
            out.append(etree.tostring(root, encoding="utf-8", xml_declaration=True))
    except Exception:  # lxml gives up on some inputs; then so do we
        pass
    return out


_CDATA_OPEN = b"<![CDATA["
_ITEM_TAG = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>/]")  # an RSS item or Atom entry opening


def _close_cdata(body: bytes) -> bytes:
    """``body`` with each CDATA section that runs into the next one (or to the end)
    closed where its element ends: an unclosed one otherwise swallows every item after it."""
    out, pos = [], 0
    while (start := body.find(_CDATA_OPEN, pos)) >= 0:
        inner = start + len(_CDATA_OPEN)
        end = body.find(b"]]>", inner)
        following = body.find(_CDATA_OPEN, inner)
        if end >= 0 and (following < 0 or end < following):
            out.append(body[pos : end + 3])
            pos = end + 3
            continue
        close = body.find(b"</", inner)  # unclosed: it ends where its element does
        if close < 0:
            break
        out.append(body[pos:close] + b"]]>")
        pos = close
    out.append(body[pos:])
    return b"".join(out)


# what feedparser flags though every item was read: a charset or Content-Type it overrode
_HARMLESS_BOZO = ("CharacterEncodingOverride", "NonXMLContentType")


def malformed_reason(bozo: str | None) -> str | None:
    """feedparser's complaint for a person: ``SAXParseException: <unknown>:8:0: unclosed
    CDATA section`` is ``line 8: unclosed CDATA section``; None for none, or for one that
    loses nothing (an overridden charset)."""
    if not bozo or bozo.startswith(_HARMLESS_BOZO):
        return None
    text = bozo.split(": ", 1)[1] if ": " in bozo else bozo
    match = re.match(r"<unknown>:(\d+):\d+: (.*)", text, re.DOTALL)
    return f"line {match.group(1)}: {match.group(2)}" if match else text


def malformed_problem(reason: str) -> str:
    """The kind of problem of a :func:`malformed_reason` (as ``feeds.malformed`` keeps it,
    ``; 4 items read`` after it): without its line number or item count, which change as
    the feed grows: ``line 8: unclosed CDATA section; 2 items read`` is ``unclosed CDATA
    section``."""
    reason = re.sub(r"; \d+ items? read$", "", reason)
    return re.sub(r"^line \d+: ", "", reason)


def _clean_prolog(body: bytes) -> bytes:
    """Comments and junk before the XML declaration dropped; a malformed
    declaration dropped altogether."""
    match = _PROLOG.match(body)
    if not match:
        return body
    decl = match.group("decl")
    keep = decl if decl and _GOOD_DECL.fullmatch(decl) else b""
    return keep + body[match.end() :]


def _from_xml(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    source: str | None,
    now: datetime,
    fast: bool = True,
    secrets: Collection[str] = (),
) -> ParsedFeed:
    body = _without_entity_declarations(body, url)
    # A blank line before <?xml makes the declaration illegal and costs
    # feedparser every entry; dropping the blanks is always safe.
    body = _LEADING_WS.sub(lambda m: m.group(1) or b"", body, count=1)
    fp_headers = _feedparser_headers(body, url, headers)
    parsed: Any = read_fast(body, fp_headers) if fast else None
    if parsed is not None:
        return _parsed_feed(
            parsed.feed, parsed.entries, parsed.version, None, url, source, now, secrets
        )
    parsed = _feedparse(body, fp_headers)
    if parsed.bozo and len(_ITEM_TAG.findall(body)) > len(parsed.entries):
        # a repaired body that gives more items is used (its complaint is the original's:
        # the feed stays reported as malformed); tried only when the body has item tags
        # that were not read, so a feed merely flagged (a charset overridden) is parsed once
        complaint = parsed.get("bozo_exception")
        for repaired in _repairs(body):
            retry = _feedparse(repaired, fp_headers)
            if len(retry.entries) > len(parsed.entries):
                parsed = retry
                parsed["bozo"], parsed["bozo_exception"] = 1, complaint
                break
    version = parsed.get("version") or ""
    if not parsed.entries and not version:
        if _HTML_HINT.search(body[:4096]) or "html" in fp_headers.get("content-type", ""):
            raise ParseError(url, f"{url}: an HTML page, not a feed")
        reason = parsed.get("bozo_exception")
        detail = f" ({reason})" if reason else ""
        raise ParseError(url, f"{url}: not a feed{detail}")
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    return _parsed_feed(parsed.feed, parsed.entries, version, bozo, url, source, now, secrets)


def _parsed_feed(
    feed: Any,
    entries: list[Any],
    version: str,
    bozo: Any,
    url: str,
    source: str | None,
    now: datetime,
    secrets: Collection[str] = (),
) -> ParsedFeed:
    """A ParsedFeed from feedparser's feed and entry dicts (or bot.ingest.fastfeed's)."""
    feed_title = tidy_line(feed.get("title", "") or "")
    base = url if is_http_url(url) else ""
    feed_link = canonical_url(feed.get("link", "") or "", base or None)
    if not base and is_http_url(feed_link):
        base = feed_link
    raws = [_raw_from_entry(entry) for entry in entries]
    return ParsedFeed(
        title=feed_title,
        link=feed_link,
        articles=_normalise(
            raws, url=url, base=base, source=source or feed_title, now=now, secrets=secrets
        ),
        bozo=f"{type(bozo).__name__}: {bozo}" if bozo is not None else None,
        format=version,
    )


def _entry_link(entry: Any) -> str:
    link = entry.get("link") or ""
    if link:
        return link
    for candidate in entry.get("links") or ():
        href = candidate.get("href") or ""
        if href and candidate.get("rel", "alternate") == "alternate":
            return href
    guid = entry.get("id") or ""
    if entry.get("guidislink", True) and is_http_url(guid):
        return guid
    return ""


def _best_content(entry: Any) -> str:
    values = entry.get("content") or ()
    best = ""
    for value in values:
        text = value.get("value") or ""
        if len(text) > len(best):
            best = text
    return best


def _entry_date(entry: Any) -> tuple[datetime | None, str]:
    for key in ("published", "updated", "created"):
        struct = entry.get(f"{key}_parsed")
        if struct:
            try:
                return datetime(*struct[:6]).replace(tzinfo=UTC), entry.get(key, "")
            except (TypeError, ValueError):
                continue
    return None, entry.get("published") or entry.get("updated") or ""


def _entry_images(entry: Any) -> tuple[str, ...]:
    """The item's pictures: ``media:content`` (an image), ``media:thumbnail``, an image
    enclosure (by its type, else its file name), in that order (one that cannot be used,
    such as a ``data:`` URL, gives way to the next)."""
    found: list[str] = []
    for media in entry.get("media_content") or ():
        url = (media.get("url") or "").strip()
        kind = (media.get("type") or "").lower()
        medium = (media.get("medium") or "").lower()
        if url and (
            medium == "image"
            or kind.startswith("image/")
            or (not medium and not kind and looks_like_image(url))
        ):
            found.append(url)
    for thumb in entry.get("media_thumbnail") or ():
        if url := (thumb.get("url") or "").strip():
            found.append(url)
    for enclosure in [*(entry.get("enclosures") or ()), *(entry.get("links") or ())]:
        href = (enclosure.get("href") or "").strip()
        rel = enclosure.get("rel", "enclosure")
        kind = (enclosure.get("type") or "").strip().lower()
        # an enclosure that names no type is a picture when its file name says so
        if (
            href
            and rel == "enclosure"
            and (kind.startswith("image/") or (not kind and looks_like_image(href)))
        ):
            found.append(href)
    return tuple(found)


def _raw_from_entry(entry: Any) -> _Raw:
    published, date_text = _entry_date(entry)
    return _Raw(
        id=(entry.get("id") or "").strip(),
        title=entry.get("title") or "",
        link=_entry_link(entry),
        summary=entry.get("summary") or "",
        content=_best_content(entry),
        published=published,
        date_text=date_text or "",
        images=_entry_images(entry),
        author=_entry_author(entry),
        outlet=_entry_outlet(entry),
        title_is_text=(entry.get("title_detail") or {}).get("type") == "text/plain",
    )


def _entry_outlet(entry: Any) -> str:
    """The outlet named by the item's RSS 2.0 ``<source>`` element, "" when none."""
    source = entry.get("source")
    title = source.get("title") if isinstance(source, Mapping) else None
    return tidy_line(title) if isinstance(title, str) else ""


def _entry_author(entry: Any) -> str:
    """dc:creator, <author> or Atom's author name ("Reuters"), without an RSS e-mail."""
    raw = str(entry.get("author") or "")
    mailed = _MAILED_NAME.match(raw.strip())  # RSS: "desk@wire.example (Wire Desk)"
    if mailed:
        return tidy_line(mailed.group(1))
    if _BARE_EMAIL.match(raw.strip()):
        return ""  # an address is no byline (and feedparser makes a "name" of its tail)
    detail = entry.get("author_detail") or {}
    return tidy_line(str(detail.get("name") or raw))


# --- JSON Feed --------------------------------------------------------------------------


def _from_json(
    doc: JsonFeed,
    *,
    url: str,
    source: str | None,
    now: datetime,
    secrets: Collection[str] = (),
) -> ParsedFeed:
    base = url if is_http_url(url) else (doc.feed_url or doc.home_page_url)
    raws = [
        _Raw(
            id=item.id,
            title=item.title,
            link=item.url or item.external_url,
            summary=item.summary,
            content=item.content_html or item.content_text,
            published=item.date_published or item.date_modified,
            date_text=item.date_text,
            images=(item.image,),
            author=", ".join(item.authors),
        )
        for item in doc.items
    ]
    title = tidy_line(doc.title)
    fmt = "json11" if doc.version.endswith("1.1") else "json10" if doc.version else "json"
    return ParsedFeed(
        title=title,
        link=canonical_url(doc.home_page_url, base or None),
        articles=_normalise(
            raws, url=url, base=base, source=source or title, now=now, secrets=secrets
        ),
        bozo=None,
        format=fmt,
    )


# --- normalisation ------------------------------------------------------------------------


def plain_text(value: str) -> str:
    """HTML (or text) to plain text; a second pass when the feed escaped its
    HTML twice and tags or entities show through the first."""
    text = html_to_text(value)
    if _ESCAPED_MARKUP.search(text):
        text = html_to_text(text)
    if "&" in text and _ESCAPED_ENTITY.search(text):
        text = tidy_text(html.unescape(text))
    return text


def _untitled(summary: str, link: str) -> str:
    if summary:
        first = summary.split("\n", 1)[0]
        return first if len(first) <= 120 else first[:117].rsplit(" ", 1)[0] + "…"
    return link or "(untitled)"


def clip(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters, cut at a space when one is near, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ", limit // 2)
    return (cut[:space] if space > 0 else cut).rstrip() + "…"


def capped_article(article: Article) -> Article:
    """``article`` (built from outside input: `newsalert match`, `summarize`) with each
    field clipped to what a feed's article may hold, so every entry point reads the same."""
    return dataclasses.replace(
        article,
        id=article.id[:MAX_LINK_CHARS],
        title=clip(article.title, MAX_TITLE_CHARS),
        link=article.link[:MAX_LINK_CHARS],
        summary=clip(article.summary, MAX_SUMMARY_CHARS),
        content=clip(article.content, MAX_CONTENT_CHARS),
        source=clip(article.source, MAX_TITLE_CHARS),
        author=article.author[:MAX_AUTHOR_CHARS],
    )


def _capped_html(value: str, limit: int) -> str:
    return value if len(value) <= limit * _RAW_FACTOR else value[: limit * _RAW_FACTOR]


def _normalise(
    raws: list[_Raw],
    *,
    url: str,
    base: str,
    source: str,
    now: datetime,
    secrets: Collection[str] = (),
) -> tuple[Article, ...]:
    limit = now + FUTURE_SLACK
    articles = []
    for raw in raws:
        if raw.is_empty():
            # Illegally nested items make feedparser emit hollow entries: no
            # title, link, id or text. They are not articles.
            continue
        if secrets:  # before the HTML is cut: a secret cut in two would be half kept
            raw = _text_without_secrets(raw, secrets)
        link = canonical_url(raw.link[:MAX_LINK_CHARS], base or None)
        if not is_http_url(link) or len(link) > MAX_LINK_CHARS:
            link = ""  # a "urn:" id or an unresolvable relative path is no link
        summary = clip(plain_text(_capped_html(raw.summary, MAX_SUMMARY_CHARS)), MAX_SUMMARY_CHARS)
        content = (
            clip(plain_text(_capped_html(raw.content, MAX_CONTENT_CHARS)), MAX_CONTENT_CHARS)
            if raw.content and raw.content != raw.summary
            else ""
        )
        if raw.content and raw.content == raw.summary:
            content = summary
        title = tidy_line(_capped_html(raw.title, MAX_TITLE_CHARS), markup=not raw.title_is_text)
        if _ESCAPED_MARKUP.search(title):
            title = tidy_line(title)
        if "&" in title and _ESCAPED_ENTITY.search(title):
            title = tidy_line(html.unescape(title))
        title = clip(title, MAX_TITLE_CHARS)
        published = raw.published
        if published is None or published > limit:
            published = now
        ident = raw.id or link
        if len(ident) > MAX_LINK_CHARS:
            ident = "sha1:" + hashlib.sha1(ident.encode("utf-8", "replace")).hexdigest()
        if not ident:
            seed = f"{title}\n{raw.date_text}".encode()
            ident = "sha1:" + hashlib.sha1(seed).hexdigest()
        articles.append(
            Article(
                id=ident,
                title=title or _untitled(summary or content, link),
                link=link,
                summary=summary,
                content=content,
                published=published,
                source=clip(raw.outlet, MAX_TITLE_CHARS) or source,
                feed=url,
                image=next(
                    (url for name in raw.images if (url := image_url(name, base or None))), ""
                ),
                author=_author(raw.author)[:MAX_AUTHOR_CHARS],
            )
        )
    return tuple(articles)


def _text_without_secrets(raw: _Raw, secrets: Collection[str]) -> _Raw:
    """``raw`` with the feed's secrets out of its HTML: the hrefs and srcs of its links and
    pictures, and its text (ids, links and pictures are cleaned in ``_without_secrets``)."""
    return replace(
        raw,
        title=text_without_secrets(raw.title, secrets),
        summary=text_without_secrets(raw.summary, secrets),
        content=text_without_secrets(raw.content, secrets),
        author=text_without_secrets(raw.author, secrets),
        outlet=text_without_secrets(raw.outlet, secrets),
    )


def _author(value: str) -> str:
    """A byline as one short line of text ("" for an e-mail-only or empty one)."""
    text = tidy_line(html_to_text(value)) if "<" in value or "&" in value else tidy_line(value)
    # RSS <author> is an e-mail address, often "news@example.com (Jane Doe)"
    if "@" in text:
        inner = re.search(r"\(([^()@]+)\)", text)
        text = inner.group(1).strip() if inner else ""
    return re.sub(r"^by\s+", "", text, flags=re.IGNORECASE).strip()
