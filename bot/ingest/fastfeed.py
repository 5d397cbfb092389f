"""A fast reader for plain, well-formed RSS 2.0 and Atom 1.0 feeds, with feedparser as the
fallback and the reference.

feedparser hands every element of a feed to Python through SAX, several calls each; for a
large feed that is most of the ingest cost.  This reader parses the body with lxml (in C)
and walks only the elements that make an entry, producing the same entry dicts feedparser
would (``feedparser.FeedParserDict``, the keys ``bot.ingest.parse`` reads), through
feedparser's own helpers where it has them (dates, URL joins, author e-mails, HTML
sniffing, author details), and in the order feedparser applies them (which of several
descriptions, summaries and contents wins; xml:base per element).  It gives up (returns
None, and feedparser reads the feed) on anything it does not fully understand: a
DOCTYPE, an encoding other than UTF-8, an XML error, RSS 0.9x/1.0, an element feedparser
gives meaning to that is not handled here, a title or link given twice, markup inside a
text field, Atom XHTML or base64 content, and so on.  ``tests/test_fastfeed.py`` checks
that both give the same articles on every feed of ../shared/data/feeds (about four in
five take this path) and on the odd orders handled here.

The XML parser is hardened as for every other input (issue 14): no entity expansion, no
DTD or network loading, no huge-tree mode (libxml2's own depth and size limits hold), and
a DOCTYPE of any kind sends the feed to feedparser's path, which removes entity
declarations first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict
from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# libxml2's limits hold (no huge_tree): 256 levels deep, 10 MB in one text node
_PARSER_OPTIONS: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "recover": False,
    "remove_comments": False,
    "remove_pis": True,
    "strip_cdata": True,
}
# feedparser's names for the namespaces it knows ("" for RSS and Atom themselves)
_NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_HTML_TYPES = _FeedParserMixin.html_types
_map_type = _FeedParserMixin.map_content_type
_looks_like_html = _FeedParserMixin.looks_like_html
_XML_TYPES = re.compile(r"^application/(?:[\w.+-]+\+)?xml$|^text/(?:[\w.+-]+\+)?xml$")
_DECL_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
# first bytes that libxml2 reads as UTF-16, UTF-32 or EBCDIC rather than UTF-8 (and NULs)
_OTHER_ENCODINGS = (b"\xfe\xff", b"\xff\xfe", b"\x4c\x6f\xa7\x94")
_CP1252_RANGE = re.compile("[\x80-\x9f]")
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_FEEDPARSER_NAMES = frozenset(
    name.split("_", 2)[2]
    for name in dir(_FeedParserMixin)
    if name.startswith(("_start_", "_end_")) and name.count("_") >= 2
)

# Entry elements feedparser gives meaning to that cannot change the fields read here.
_HARMLESS = frozenset(
    {
        "category",
        "dc_subject",
        "media_category",
        "media_keywords",
        "media_rating",
        "media_credit",
        "media_restriction",
        "media_license",
        "media_player",
        "media_group",
        "itunes_duration",
        "itunes_explicit",
        "itunes_keywords",
        "itunes_block",
        "itunes_image",
        "itunes_episode",
        "itunes_season",
        "itunes_episodetype",
        "language",
        "rights",
        "subtitle",
        "tagline",
        "itunes_subtitle",
        "dc_publisher",
        "webmaster",
        "dc_rights",
        "dc_language",
        "georss_point",
        "geo_lat",
        "geo_long",
    }
)
# the keys read from an entry, and the names FeedParserDict maps onto other keys: an
# unknown element of such a name would land in a field
_ENTRY_KEYS = frozenset(
    {
        "id", "title_detail", "links", "guidislink", "summary", "content", "published_parsed",
        "updated_parsed", "created_parsed", "enclosures", "author_detail", "authors",
        "summary_detail", "content_detail",
        *FeedParserDict.keymap,
    }
) - _FEEDPARSER_NAMES  # fmt: skip
_READ_ATTRS = frozenset(
    {"href", "url", "uri", "rel", "type", "medium", "ispermalink", "base", "lang", "mode"}
    | {"src", "version", "lastmod", "about", "term", "label", "scheme"}
)
_MEDIA_TITLE = frozenset({"media_title"})
_MEDIA_CHILD = frozenset({""})  # check_inert: the element itself is checked too
# description-like elements: feedparser's _start_description / _start_summary
_SUMMARIES = frozenset({"description", "dc_description", "itunes_summary", "summary"})
_CONTENTS = frozenset({"content_encoded", "content", "fullitem", "body", "xhtml_body"})
_FEED_FIELDS = frozenset({"title", "link", "media_description", *_SUMMARIES, *_CONTENTS})
_IMAGE_FIELDS = frozenset({"title", "link", "description"})  # an image's own, kept apart
_REPEATABLE = frozenset({"enclosure", "media_content", "media_thumbnail", "content_encoded"})
_REPEATABLE |= _SUMMARIES | {"author", "dc_creator", "dc_author", "itunes_author"}
_ATOM_REPEATABLE = frozenset(
    {"link", "media_content", "media_thumbnail", "summary", "content", "author"}
)
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
_UPDATED = frozenset({"updated", "modified", "dc_date", "dcterms_modified", "lastbuilddate"})
_CREATED = frozenset({"created", "dcterms_created"})


class _Unsupported(Exception):
    """Something this reader does not handle: feedparser reads the feed."""


@dataclass(frozen=True, slots=True)
class FastFeed:
    """What ``bot.ingest.parse`` reads of a feedparser result."""

    version: str
    feed: Any  # FeedParserDict: title, link
    entries: list[Any]  # FeedParserDicts


def read_fast(body: bytes, headers: Mapping[str, str]) -> FastFeed | None:
    """The feed as feedparser would read it, or None when this reader cannot tell.

    ``headers`` are the ones given to feedparser (lower-case keys, ``content-location``
    the base for relative links)."""
    result = _read(body, headers)
    return result if isinstance(result, FastFeed) else None


def why_not_fast(body: bytes, headers: Mapping[str, str]) -> str:
    """Why :func:`read_fast` leaves this feed to feedparser ("" when it does not)."""
    result = _read(body, headers)
    return "" if isinstance(result, FastFeed) else result


def _read(body: bytes, headers: Mapping[str, str]) -> FastFeed | str:
    if not _plain_utf8(body, headers):
        return "not a plain UTF-8 XML body without a DOCTYPE"
    try:
        # a parser per call: an lxml parser is not to be shared between threads
        root = etree.fromstring(body, etree.XMLParser(**_PARSER_OPTIONS))
    except (etree.XMLSyntaxError, ValueError) as e:
        return f"XML error: {e}"
    reader = _Reader(headers.get("content-location", ""))
    try:
        if root.tag == "rss" and not root.nsmap.get(None):
            return reader.rss(root)
        if root.tag == f"{{{ATOM}}}feed":
            return reader.atom(root)
    except _Unsupported as e:
        return str(e)
    return f"root element {root.tag}"


def _plain_utf8(body: bytes, headers: Mapping[str, str]) -> bool:
    """A body declared UTF-8 (or not at all) and served as XML, with no DOCTYPE, that
    lxml reads as UTF-8: feedparser then reads it without complaint and as UTF-8 (bytes
    that are not UTF-8 are lxml's XML error, a refusal too)."""
    ctype, _, params = headers.get("content-type", "application/xml").partition(";")
    ctype = ctype.strip().lower()
    if not _XML_TYPES.match(ctype):
        return False
    charset = params.strip().lower()
    if charset and charset.replace('"', "").replace("'", "") not in ("charset=utf-8",):
        return False
    is_ascii = body.isascii()
    if not charset and ctype.startswith("text/") and not is_ascii:
        return False  # text/xml without a charset is US-ASCII (RFC 3023): feedparser objects
    if b"<!DOCTYPE" in body or b"<!doctype" in body or b"<!ENTITY" in body:
        return False
    if body.startswith(b"\xef\xbb\xbf"):
        return False
    decl = _DECL_ENCODING.match(body)
    if decl and decl.group(1).lower() not in (b"utf-8", b"utf8"):
        return False
    # The body is decoded once, by lxml: as UTF-8 (declared so, or not at all), refusing
    # bytes that are not UTF-8 (an XML error: feedparser's path), unless its first bytes
    # are a signature libxml2 takes for another encoding (UTF-16/32, EBCDIC).
    return is_ascii or not (body.startswith(_OTHER_ENCODINGS) or b"\0" in body[:4])


def _all_read(root: Any, read: int, why: str) -> None:
    """Every item or entry anywhere in the document was read (``read`` of them), or the
    feed goes to feedparser, which reads entries wherever they are."""
    if read != sum(1 for _ in root.iter("item", "{*}item", "{*}entry", "entry")):
        raise _Unsupported(why)


def _text_of(element: Any) -> str:
    """An element's text: no child elements, comments or processing instructions."""
    if len(element):
        raise _Unsupported("markup inside a text element")
    return element.text or ""


def _finish(value: str) -> str:
    """What feedparser's ``pop`` does to the text of every element, for a UTF-8 feed:
    stripped, mis-decoded UTF-8 repaired, Windows-1252 controls mapped."""
    if not value.isascii():
        try:
            value = value.encode("iso-8859-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        if _CP1252_RANGE.search(value):
            value = value.translate(_cp1252)
    return value


class _Reader:
    def __init__(self, base: str) -> None:
        self.base = base
        self.bases = False
        self.has_content = False  # feedparser's hasContent, across the feed

    def key(self, element: Any) -> str:
        """feedparser's name for an element: its namespace's prefix (feedparser's own
        for a namespace it knows, the document's otherwise), "_", the lower-case name."""
        tag = element.tag
        if not isinstance(tag, str):
            return ""  # a comment
        if tag[0] != "{":
            return tag.lower()
        uri, local = tag[1:].split("}", 1)
        lower = uri.lower()
        if "backend.userland.com/rss" in lower:
            lower = "http://backend.userland.com/rss"
        prefix = _NAMESPACES.get(lower)
        if prefix is None:
            prefix = element.prefix or ""
        return f"{prefix}_{local.lower()}" if prefix else local.lower()

    def attrs(self, element: Any) -> dict[str, str]:
        """Attributes as feedparser hands them to its handlers (names and rel/type values
        in lower case); an attribute in a namespace is not handled here."""
        out = {}
        for name, value in element.attrib.items():
            if name in (_XML_LANG, _XML_BASE):
                continue  # no field read here depends on the language; see base_of
            if name[0] == "{":
                # feedparser files it under its local name too: harmless unless that
                # is a name read here
                if name.rsplit("}", 1)[1].lower() in _READ_ATTRS:
                    raise _Unsupported(f"the attribute {name}")
                continue
            name = name.lower()
            out[name] = value.lower() if name in ("rel", "type") else value
        return out

    def check_tree(self, root: Any) -> None:
        """Note whether any element sets a base URI (xml:base), which then has to be
        worked out per element."""
        self.bases = bool(root.xpath("boolean(//@xml:base|//@base)"))

    def base_of(self, element: Any) -> str:
        """The base URI feedparser resolves an element's links against: the document's,
        changed by the xml:base of the element and of each of its ancestors."""
        if not self.bases:
            return self.base
        chain = []
        while element is not None:
            chain.append(element)
            element = element.getparent()
        base = self.base
        for node in reversed(chain):
            given = node.get(_XML_BASE) or node.get("base") or base
            joined = make_safe_absolute_uri(base, given) if base else _urljoin(base, given)
            base = joined or base
        return base

    # --- RSS 2.0 ------------------------------------------------------------------------

    def rss(self, root: Any) -> FastFeed:
        version = root.get("version", "")
        if not version.startswith("2.") or set(self.attrs(root)) - {"version"}:
            raise _Unsupported("not RSS 2.x")
        channels = [child for child in root if isinstance(child.tag, str)]
        if len(channels) != 1 or channels[0].tag != "channel" or self.attrs(channels[0]):
            raise _Unsupported("not one plain channel")
        channel = channels[0]
        self.check_tree(root)
        feed = FeedParserDict()
        items = []
        entries = []
        for child in channel:
            key = self.key(child)
            if key == "item":
                items.append(child)
                entries.append(self.rss_item(child))
            elif key in _SUMMARIES or key in _CONTENTS:
                self.feed_summary(feed, key)
            elif key == "title":
                if "title" in feed or self.attrs(child):
                    raise _Unsupported("feed title")
                feed["title"] = _finish(_text_of(child).strip())
            elif key == "link":
                self.feed_link(feed, child)
            elif key in ("entry", "dc_title", "media_title", "source", "feed", "channel"):
                raise _Unsupported(f"feed element {key}")
            else:
                self.check_feed_element(child, key)
        _all_read(root, len(items), "items elsewhere than in the channel")
        return FastFeed(version="rss20", feed=feed, entries=entries)

    def feed_summary(self, feed: Any, key: str) -> None:
        """A feed-level description, summary or content: what it leaves of feedparser's
        state that changes how the next entry's are read (``hasContent``, reset only at
        the end of an entry; a summary already there)."""
        if key not in ("content_encoded", *_SUMMARIES):
            raise _Unsupported(f"feed-level {key}")
        if key == "content_encoded" or ("summary" in feed and not self.has_content):
            self.has_content = True  # feedparser reads it as content, copied to summary
            feed.setdefault("summary", "")
        elif key in ("summary", "itunes_summary"):
            feed["summary"] = ""  # a description goes to the subtitle instead

    def check_feed_element(self, element: Any, key: str) -> None:
        """A feed-level element skipped here: no entry in it, and no title or link that
        could be taken for the feed's own (an image's or a text input's are not)."""
        for inner in element.iter():
            name = self.key(inner)
            if name in ("item", "entry") or (
                name in _FEED_FIELDS
                and not (key in ("image", "textinput") and name in _IMAGE_FIELDS)
            ):
                raise _Unsupported(f"{name} inside {key}")

    def check_inert(self, element: Any, allow: frozenset[str] = frozenset()) -> None:
        """An element skipped here: it must not be one feedparser reads into an entry
        field under another name, nor hold one (but those in ``allow``)."""
        for inner in element.iter():
            key = self.key(inner)
            if key in allow:
                continue  # (what it holds is checked by this same walk)
            if (
                key in _FEEDPARSER_NAMES
                and key not in _HARMLESS
                and (inner is not element or "" in allow)
            ):
                raise _Unsupported(f"{key} inside {self.key(element)}")
            if key in _ENTRY_KEYS:
                raise _Unsupported(f"an element named like an entry field: {key}")

    def feed_link(self, feed: Any, element: Any) -> None:
        attrs = self.attrs(element)
        if len(element):
            raise _Unsupported("markup in a link")
        if "href" in attrs or "url" in attrs or "uri" in attrs:
            self.atom_link(feed, attrs, element)
            return
        if attrs:
            raise _Unsupported("a link with attributes and no href")
        value = _text_of(element).strip()
        if value:
            value = _urljoin(self.base_of(element), value)
        value = _finish(value)
        value = _LINK_ENTITY.sub(r"&\g<1>", value)
        feed["link"] = value

    def atom_link(self, context: Any, attrs: dict[str, str], element: Any) -> None:
        """feedparser's ``_start_link`` for a link with an address."""
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        attrs = _FeedParserMixin._enforce_href(attrs)
        if "href" not in attrs:
            raise _Unsupported("a link without an address")
        attrs["href"] = _urljoin(self.base_of(element), attrs["href"])
        context.setdefault("links", []).append(FeedParserDict(attrs))
        if attrs.get("rel") == "alternate" and _map_type(attrs.get("type")) in _HTML_TYPES:
            context["link"] = attrs["href"]

    def new_entry(self, element: Any, what: str) -> _Entry:
        """An entry to fill from ``element`` (an RSS item or an Atom entry, ``what``)."""
        if self.attrs(element):
            raise _Unsupported(f"{what} attributes")
        state = _Entry(FeedParserDict(), self.has_content)
        self.has_content = False  # reset by feedparser at the end of the entry
        return state

    def fields(self, element: Any, repeatable: frozenset[str]) -> Iterator[tuple[Any, str]]:
        """The children of an entry with their keys, comments left out; a field given
        twice (but the ``repeatable``) is skipped when harmless, else unsupported."""
        seen: set[str] = set()
        for child in element:
            key = self.key(child)
            if not key:
                continue  # a comment between fields
            if key in seen and key not in repeatable:
                if key in _HARMLESS or key not in _FEEDPARSER_NAMES:
                    self.check_inert(child)
                    continue
                raise _Unsupported(f"{key} twice")
            seen.add(key)
            yield child, key

    def rss_item(self, item: Any) -> Any:
        state = self.new_entry(item, "item")
        entry = state.entry
        guidislink = False
        for child, key in self.fields(item, _REPEATABLE):
            if key == "title":
                if self.attrs(child):
                    raise _Unsupported("title attributes")
                value = _text_of(child).strip()
                kind = "text/html" if _looks_like_html(value) else "text/plain"
                entry["title"] = _finish(value)
                entry["title_detail"] = FeedParserDict(type=kind)
            elif key == "link":
                if self.attrs(child):
                    raise _Unsupported("link attributes in an RSS item")
                value = _text_of(child).strip()
                if not value:
                    raise _Unsupported("empty link")
                value = _finish(_urljoin(self.base_of(child), value))
                value = _LINK_ENTITY.sub(r"&\g<1>", value.replace("&amp;", "&"))
                entry.setdefault("links", []).append(
                    FeedParserDict(rel="alternate", type="text/html", href=value)
                )
                entry["link"] = value
            elif key == "guid":
                attrs = self.attrs(child)
                if set(attrs) - {"ispermalink"}:
                    raise _Unsupported("guid attributes")
                guidislink = attrs.get("ispermalink", "true") == "true"
                value = _text_of(child).strip()
                if value and guidislink:
                    value = _urljoin(self.base_of(child), value)
                entry["id"] = _finish(value)
                entry.setdefault("guidislink", guidislink and "link" not in entry)
                if guidislink:
                    entry.setdefault("link", entry["id"])
            elif key in _SUMMARIES:
                if self.attrs(child):
                    raise _Unsupported("description attributes")
                state.summary(_finish(_text_of(child).strip()), 1)
            elif key == "content_encoded":
                if self.attrs(child):
                    raise _Unsupported("content attributes")
                state.content(_finish(_text_of(child).strip()))
            elif key in _PUBLISHED or key in _UPDATED or key in _CREATED:
                self.date(entry, key, child)
            elif key in ("author", "dc_creator", "dc_author", "itunes_author"):
                self.text_author(entry, child)
            elif key == "enclosure":
                self.check_inert(child)  # feedparser reads what it holds as the item's
                attrs = _FeedParserMixin._enforce_href(self.attrs(child))
                attrs["rel"] = "enclosure"
                entry.setdefault("links", []).append(FeedParserDict(attrs))
            elif key in ("media_content", "media_thumbnail", "media_group"):
                self.media(state, child, key, 1)
            elif key == "source":
                attrs = self.attrs(child)
                if set(attrs) - {"url"}:
                    raise _Unsupported("source attributes")
                source = FeedParserDict()
                if "url" in attrs:
                    source["href"] = attrs["url"]
                value = _finish(_text_of(child).strip())
                if value:
                    source["title"] = value
                entry["source"] = source
            elif key in _HARMLESS or key not in _FEEDPARSER_NAMES:
                self.check_inert(child)
            else:
                raise _Unsupported(f"item element {key}")
        return entry

    def date(self, entry: Any, key: str, element: Any) -> None:
        if self.attrs(element):
            raise _Unsupported("date attributes")
        name = "published" if key in _PUBLISHED else "updated" if key in _UPDATED else "created"
        value = _finish(_text_of(element).strip())
        entry[name] = value
        entry[f"{name}_parsed"] = _parse_date(value)

    def text_author(self, entry: Any, element: Any) -> None:
        """feedparser's ``_start_author`` and ``_end_author`` for an author as text; a
        second one replaces the first's text but not its details, as there."""
        if self.attrs(element):
            raise _Unsupported("author attributes")
        entry.setdefault("authors", []).append(FeedParserDict())
        entry["author"] = _finish(_text_of(element).strip())
        _FeedParserMixin._sync_author_detail(_Context(entry))

    def media(self, state: _Entry, element: Any, key: str, depth: int) -> None:
        """media:group, media:content, media:thumbnail at ``depth`` below the entry."""
        entry = state.entry
        attrs = self.attrs(element)
        # a media:title after the item's own title is ignored by feedparser (it keeps
        # the shallowest title it has read); before it, or with none, it is the title
        allow = _MEDIA_TITLE if entry.get("title") and "source" not in entry else frozenset()
        if key == "media_group":
            if attrs:
                raise _Unsupported("media:group attributes")
            for child in element:
                inner = self.key(child)
                if not inner:
                    continue
                if inner in ("media_content", "media_thumbnail"):
                    self.media(state, child, inner, depth + 1)
                elif inner == "media_description":
                    self.media_description(state, child, depth + 1)
                elif inner in allow or inner in _HARMLESS or inner not in _FEEDPARSER_NAMES:
                    self.check_inert(child, allow)
                else:
                    raise _Unsupported(f"media:group element {inner}")
            return
        if key == "media_content":
            thumbnails = []
            for child in element:
                inner = self.key(child)
                if inner == "media_description":
                    self.media_description(state, child, depth + 1)
                elif inner == "media_thumbnail":
                    thumbnails.append(child)  # the entry's, after this media:content
                else:  # media:title (but as above), ... would go to the entry
                    self.check_inert(child, allow | _MEDIA_CHILD)
            entry.setdefault("media_content", []).append(attrs)
            for child in thumbnails:
                self.media(state, child, "media_thumbnail", depth + 1)
            return
        entry.setdefault("media_thumbnail", []).append(attrs)
        url = _text_of(element).strip()  # feedparser reads it as a "url" element: resolved
        url = _finish(_urljoin(self.base_of(element), url) if url else url)
        if url.strip() and "url" not in attrs:
            attrs["url"] = url

    def media_description(self, state: _Entry, element: Any, depth: int) -> None:
        if set(self.attrs(element)) - {"type"}:
            raise _Unsupported("media:description attributes")
        state.summary(_finish(_text_of(element).strip()), depth)

    # --- Atom 1.0 -----------------------------------------------------------------------

    def atom(self, root: Any) -> FastFeed:
        if set(self.attrs(root)) - {"version"} or root.get("version"):
            raise _Unsupported("feed attributes")
        self.check_tree(root)
        feed = FeedParserDict()
        entries = []
        for child in root:
            key = self.key(child)
            if key == "entry":
                entries.append(self.atom_entry(child))
            elif key in _SUMMARIES or key in _CONTENTS:
                self.feed_summary(feed, key)
            elif key == "title":
                if "title" in feed:
                    raise _Unsupported("two feed titles")
                feed["title"] = self.atom_text(child)[0]
            elif key == "link":
                attrs = self.attrs(child)
                if len(child) or not attrs:
                    raise _Unsupported("feed link")
                self.atom_link(feed, attrs, child)
            elif key == "id":
                if self.attrs(child) or "id" in feed:
                    raise _Unsupported("feed id")
                value = _text_of(child).strip()
                feed["id"] = _finish(_urljoin(self.base_of(child), value) if value else value)
                feed.setdefault("link", feed["id"])  # feedparser: the id is a link...
            elif key in ("dc_title", "media_title", "source", "item", "channel", "feed"):
                raise _Unsupported(f"feed element {key}")
            else:
                self.check_feed_element(child, key)
        _all_read(root, len(entries), "entries elsewhere")
        return FastFeed(version="atom10", feed=feed, entries=entries)

    def atom_text(self, element: Any, default: str = "text/plain") -> tuple[str, str]:
        """A text construct: its value as feedparser gives it, and its type."""
        attrs = self.attrs(element)
        if set(attrs) - {"type"}:
            raise _Unsupported("text construct attributes")
        kind = _map_type(attrs.get("type", default))
        if kind not in ("text/plain", "text/html"):
            raise _Unsupported(f"{kind} text")
        return _finish(_text_of(element).strip()), kind

    def atom_entry(self, element: Any) -> Any:
        state = self.new_entry(element, "entry")
        entry = state.entry
        for child, key in self.fields(element, _ATOM_REPEATABLE):
            if key == "title":
                value, kind = self.atom_text(child)
                entry["title"] = value
                entry["title_detail"] = FeedParserDict(type=kind)
            elif key == "link":
                attrs = self.attrs(child)
                if len(child) or not attrs:
                    raise _Unsupported("entry link")
                self.atom_link(entry, attrs, child)
            elif key == "id":
                if self.attrs(child):
                    raise _Unsupported("id attributes")
                value = _text_of(child).strip()
                if value:
                    value = _urljoin(self.base_of(child), value)
                entry["id"] = _finish(value)
                entry.setdefault("guidislink", "link" not in entry)
                entry.setdefault("link", entry["id"])
            elif key == "summary":
                state.summary(self.atom_text(child)[0], 1)
            elif key == "content":
                state.content(self.atom_text(child)[0])
            elif key in _PUBLISHED or key in _UPDATED or key in _CREATED:
                self.date(entry, key, child)
            elif key == "author":
                self.atom_author(entry, child)
            elif key in ("media_content", "media_thumbnail", "media_group"):
                self.media(state, child, key, 1)
            elif key in _HARMLESS or key not in _FEEDPARSER_NAMES:
                self.check_inert(child)
            else:
                raise _Unsupported(f"entry element {key}")
        return entry

    def atom_author(self, entry: Any, element: Any) -> None:
        """feedparser's author handlers, called in the order it calls them (several
        authors leave a mixture, as there)."""
        if self.attrs(element):
            raise _Unsupported("author attributes")
        entry.setdefault("authors", []).append(FeedParserDict())
        if (element.text or "").strip():
            raise _Unsupported("text in an author")
        context = _Context(entry)
        for child in element:
            key = self.key(child)
            if not key:
                continue
            if key not in ("name", "email", "uri"):
                if key in _FEEDPARSER_NAMES:
                    raise _Unsupported(f"author element {key}")
                self.check_inert(child)  # e.g. Blogger's gd:image
                continue
            if self.attrs(child):
                raise _Unsupported(f"author element {key} with attributes")
            if (child.tail or "").strip():
                raise _Unsupported("text in an author")
            value = _text_of(child).strip()
            if key == "uri":
                key, value = (
                    "href",
                    _finish(_urljoin(self.base_of(child), value) if value else value),
                )
            _FeedParserMixin._save_author(context, key, value)
        entry["author"] = ""
        _FeedParserMixin._sync_author_detail(context)


class _Entry:
    """An entry being read, and what feedparser remembers while it reads one: whether
    it has had content (or the feed before it, see ``feed_summary``), and how deep the
    element was that gave its summary."""

    def __init__(self, entry: Any, has_content: bool) -> None:
        self.entry = entry
        self.has_content = has_content
        self.summary_depth: int | None = None

    def summary(self, value: str, depth: int) -> None:
        """A description or summary ``depth`` below the entry (``_start_description``):
        a second one before any content is taken as content."""
        if "summary" in self.entry and not self.has_content:
            self.content(value)
            return
        if self.summary_depth is None or depth <= self.summary_depth:
            self.entry["summary"] = value
            self.summary_depth = depth

    def content(self, value: str) -> None:
        """Content as text or HTML (``_start_content``, ``_end_content``)."""
        self.has_content = True
        self.entry.setdefault("content", []).append(FeedParserDict(value=value))
        self.entry.setdefault("summary", value)


class _Context:
    """Enough of a feedparser parser for its author helpers: the entry being built."""

    def __init__(self, entry: Any) -> None:
        self.entry = entry

    def _get_context(self) -> Any:
        return self.entry

    def _sync_author_detail(self, key: str = "author") -> None:
        _FeedParserMixin._sync_author_detail(self, key)
