"""Plain-text helpers shared by the pure stages: HTML to text, whitespace tidying, counts.

``html_to_text`` is on the hot path of every feed entry.  Well-formed fragments (the
usual case) are cut into tags and text with one C-level regex split; anything unusual
(a ``<`` that is not a tag, ``<script>``/``<style>`` whose content is raw text, CDATA,
declarations, a tag left open at the end) goes to ``html.parser``, the reference.  Both
give the same text: ``tests/test_text.py`` compares them on fixtures, on fuzzed input
and, when present, on every fragment of ../shared/data/feeds.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Collection
from html.parser import HTMLParser
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from bot.credentials import (
    MASK,
    URL_IN_TEXT,
    bare_secrets,
    is_credential_name,
    mask_secrets,
    masked_anywhere,
)

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg"})
_SPACE_CHARS = r" \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000"
_SPACES = re.compile(f"[{_SPACE_CHARS}]+")
# The runs _SPACES would change: not a single plain space (far the most common, and a
# no-op to replace); the same result, many times fewer matches.  (One branch that starts
# with the class, so that the engine skips ahead to a space in C: a space, then either
# it was no plain one or another follows.)
_SPACE_RUNS = re.compile(f"[{_SPACE_CHARS}](?:(?<! )|[{_SPACE_CHARS}])[{_SPACE_CHARS}]*")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# control characters, and the invisible ones a feed can use to disguise text: zero-width
# characters and marks (U+200B, U+200E-F), bidi embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069), the BOM (U+FEFF)
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]"
)
# The zero-width non-joiner and joiner (U+200C, U+200D) are letters' business in Persian,
# Hindi and the like (U+200C inside می‌خواهم) and glue emoji sequences (👨‍👩‍👧): kept between
# two characters of that kind, dropped elsewhere (inside a Latin word they hide it: b‌omb)
_JOINER = re.compile(r"[\u200c\u200d](?:(?![^\x00-\x7f\s])|(?<![^\x00-\x7f\s].))")


def strip_joiners(value: str) -> str:
    """``value`` without the zero-width (non-)joiners that join nothing (see _JOINER)."""
    if "\u200c" in value or "\u200d" in value:  # rare: the slower pass only then
        value = _JOINER.sub("", value)
    return value


def strip_controls(value: str) -> str:
    """``value`` without control and invisible characters (see _CONTROL and _JOINER)."""
    return strip_joiners(_CONTROL.sub("", value))


# Linear on any input: a tag may not contain "<", so a long run of "<a" (or of spaces
# after "<") is scanned once, not once per "<" (issue 14).
_LOOKS_LIKE_HTML = re.compile(r"<(?:\s*/)?\s*[a-zA-Z][^<>]*>|&[#a-zA-Z0-9]+;")
# The elements feeds really put in their text.  Anything else in angle brackets is words
# ("<Squid Game>", a Korean-style title mark): kept as text, not dropped as an unknown tag.
_HTML_ELEMENTS = frozenset(
    {
        *_BLOCK_TAGS,
        *_SKIP_TAGS,
        "a", "abbr", "acronym", "audio", "b", "bdi", "bdo", "big", "body", "button", "caption",
        "center", "cite", "code", "col", "colgroup", "data", "del", "details", "dfn", "em",
        "embed", "font", "form", "head", "html", "i", "img", "input", "ins", "kbd", "label",
        "link", "mark", "meta", "picture", "q", "rp", "rt", "ruby", "s", "samp", "small",
        "source", "span", "strike", "strong", "sub", "summary", "sup", "time", "title", "tt",
        "u", "var", "video", "wbr", "o:p",
    }
)  # fmt: skip
_TAG_START = re.compile(r"<(/?)\s*([A-Za-z][\w:-]*)")
# The names after "<", to tell in C whether _keep_bracketed_words has anything to do
# (usually not: its per-tag callback is then skipped)
_TAG_NAMES = re.compile(r"<(?:/?)\s*([A-Za-z][\w:-]*)")


def _keep_bracketed_words(value: str) -> str:
    """``<`` before a name that is no HTML element escaped, so the parser keeps it as text."""
    if "<" not in value:
        return value

    def escape(match: re.Match[str]) -> str:
        if match.group(2).lower() in _HTML_ELEMENTS:
            return match.group(0)
        return "&lt;" + match.group(0)[1:]

    return _TAG_START.sub(escape, value)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


# A start or end tag, or a comment.  A quoted attribute value holding ">" or an unclosed
# quote is left unmatched (html.parser then reads the fragment).  Group 1: "/" for an end tag; group 2: the tag name; group 3: "/" when the tag
# closes itself ("<br/>"); a comment has no name.
# (possessive: linear time whatever the input)
_ATTRS = r"""(?:[\s/](?:[^>"']++|"[^">]*+"|'[^'>]*+')*+)?+"""
_NAME_END = r"(?=[\t\n\r\f />\x00])"
_TAG = re.compile(
    r"<(?:(/?)([a-zA-Z][^\t\n\r\f />\x00]*+)(" + _ATTRS + r")>|!--.*?--\s*>)", re.DOTALL
)
# The same shape, for the tags that make a line break (used when every "<" starts a tag)
_BLOCK_TAG = re.compile(r"</?(?i:" + "|".join(sorted(_BLOCK_TAGS)) + ")" + _NAME_END + _ATTRS + ">")
# Fragments the two-pass path cannot take: comments, dropped elements, an entity that a
# tag cuts in two (html.parser decodes the text between tags piece by piece)
_NEEDS_LOOP = re.compile(
    r"<!--|&[#a-zA-Z0-9]*<|</?(?i:" + "|".join(sorted(_SKIP_TAGS)) + ")" + _NAME_END
)
# html.parser reads <script> and <style> as raw text up to their end tag; their
# content is dropped (they are _SKIP_TAGS), so the fast path removes them whole,
# leaving an empty comment so that the text on either side stays apart.
_RAW_TEXT_START = re.compile(r"<(?:script|style)(?=[\t\n\r\f />])", re.IGNORECASE)
_RAW_TEXT = re.compile(
    r"<(script|style)" + _NAME_END + _ATTRS + r"(?<!/)>.*?</\s*\1\s*>",
    re.IGNORECASE | re.DOTALL,
)
# what the split below does not read as html.parser does: CDATA and other marked
# sections, declarations, processing instructions
_UNUSUAL = re.compile(r"<(?:!\[|![a-zA-Z]|\?)")
# Any of _RAW_TEXT_START, _UNUSUAL and _NEEDS_LOOP, in one scan: most fragments have
# none of them, and are then read with one search instead of three.
_SPECIAL = re.compile(
    r"<(?:(?:script|style)(?=[\t\n\r\f />])|!\[|![a-zA-Z]|\?|!--|/?(?:"
    + "|".join(sorted(_SKIP_TAGS))
    + ")"
    + _NAME_END
    + r")|&[#a-zA-Z0-9]*<",
    re.IGNORECASE,
)


def _fast_text(value: str) -> str | None:
    """The text as :class:`_TextCollector` would collect it, or None when ``value``
    holds something only html.parser should judge."""
    if not _SPECIAL.search(value):  # the usual case: straight to the last check
        return _tags_only_text(value)
    if _RAW_TEXT_START.search(value):
        if "<!--" in value:
            return None  # a comment may hide the start of one, or one the end of a comment
        value = _RAW_TEXT.sub("<!---->", value)
        if _RAW_TEXT_START.search(value):
            return None  # left open, or <script/>
    if _UNUSUAL.search(value):
        return None
    if not _NEEDS_LOOP.search(value):
        return _tags_only_text(value)
    return _split_text(value)


def _tags_only_text(value: str) -> str | None:
    """``_fast_text`` of a fragment with no comment, dropped element or cut entity."""
    # every "<" starts a tag: line breaks for block tags, other tags dropped, in C
    tags = len(_TAG.findall(value))
    if tags == value.count("<"):
        text = _TAG.sub("", _BLOCK_TAG.sub("\n", value))
        return html.unescape(text) if "&" in text else text
    return _split_text(value)


def _split_text(value: str) -> str | None:
    """``_fast_text`` tag by tag: for fragments with comments, dropped elements or an
    entity that a tag cuts in two."""
    parts = _TAG.split(value)
    # parts: text, (slash, name, selfclose) x n, with text between them
    out: list[str] = []
    add = out.append
    skip = 0
    unescape = html.unescape
    for i in range(0, len(parts), 4):
        text = parts[i]
        if text:
            if "<" in text:
                return None  # not a tag we know how to read
            if not skip:
                add(unescape(text) if "&" in text else text)
        if i + 2 >= len(parts):
            break
        name = parts[i + 2]
        if name is None:
            continue  # a comment
        name = name.lower()
        if parts[i + 1]:  # an end tag
            if name in _SKIP_TAGS:
                skip = max(0, skip - 1)
            elif name in _BLOCK_TAGS:
                add("\n")
        elif parts[i + 3] and parts[i + 3][-1] == "/":  # <tag/>
            if name in _BLOCK_TAGS:
                add("\n")
        elif name in _SKIP_TAGS:
            skip += 1
        elif name in _BLOCK_TAGS:
            add("\n")
    return "".join(out)


def html_to_text(value: str) -> str:
    """Text of an HTML fragment: tags dropped, entities decoded, paragraphs kept
    as blank-line separated blocks, whitespace tidied.  Plain text passes through
    (tidied)."""
    if not value:
        return ""
    if not _LOOKS_LIKE_HTML.search(value):
        return tidy_text(value)
    if not _HTML_ELEMENTS.issuperset(map(str.lower, _TAG_NAMES.findall(value))):
        value = _keep_bracketed_words(value)  # "<Squid Game>": words, not a tag
    fast = _fast_text(value)
    if fast is not None:
        return tidy_text(fast)
    return _reference_html_to_text(value)


def _reference_html_to_text(value: str) -> str:
    """``html_to_text`` through html.parser (the reference, and the slow path)."""
    parser = _TextCollector()
    value = _keep_bracketed_words(value)
    try:
        parser.feed(value)
        parser.close()
    except Exception:  # HTMLParser is lenient, but never let bad markup through
        return tidy_text(re.sub(r"<[^>]*>", " ", html.unescape(value)))
    return tidy_text("".join(parser.parts))


def tidy_text(value: str) -> str:
    """Whitespace normalised: single spaces inside lines, paragraphs separated by
    one blank line, control characters removed, NFC form."""
    value = _SPACE_RUNS.sub(" ", unicodedata.normalize("NFC", strip_controls(value)))
    lines = [line.strip() for line in value.replace("\r\n", "\n").split("\n")]
    joined = "\n".join(lines)
    return _BLANK_LINES.sub("\n\n", joined).strip()


def tidy_line(value: str, *, markup: bool = True) -> str:
    """One line of text (a title): entities decoded, tags dropped, whitespace collapsed.
    ``markup=False``: ``value`` is plain text already (a feed's ``text/plain`` title),
    whose angle brackets are words."""
    text = value or ""
    if markup and _LOOKS_LIKE_HTML.search(text):
        text = html_to_text(text)
    return _SPACES.sub(" ", strip_controls(text).replace("\n", " ")).strip()


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` with the noun in the right number, for English text (the CLI, logs):
    ``plural(1, "channel")`` is "1 channel", ``plural(2, "entry", "entries")`` "2 entries".
    Chat replies count through :meth:`bot.i18n.Translator.n_`, which knows Korean too."""
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


# advice such as "USER:${FEED_PASSWORD}@": a placeholder for the environment is no secret
_PLACEHOLDER_USERINFO = re.compile(r"[A-Z]+:\$\{[A-Z][A-Z0-9_]*\}")


# secrets the configuration gives (feed keys and passwords, the token): a URL value equal
# to one is hidden whatever its parameter is called (bot.ops.logs.add_secret fills it)
_KNOWN_SECRETS: set[str] = set()
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def remember_secret(secret: str) -> None:
    """Hide ``secret`` wherever :func:`redact_url` finds it: as a query parameter's value,
    and anywhere else in a URL (or, for :func:`without_known_secrets`, in text) when it
    is not a weak one (``bot.credentials.masked_anywhere``)."""
    if secret:
        _KNOWN_SECRETS.add(secret)


def redact_url(url: str) -> str:
    """``url`` fit to show anyone: no userinfo (``user:password@`` becomes ``***@``), and
    ``***`` for the value of each query parameter whose name says it is a credential
    (``bot.credentials.is_credential_name``: ``key``, ``api_key``, ``token``,
    ``password``, ``sig``, ``auth``, ...), or that is a configured secret; harmless
    values stay (``?id=42``), and so do ``${VARIABLE}`` placeholders of advice.  A
    configured secret elsewhere in the URL (its path) is ``***`` too, unless it is a weak
    one (``bot.credentials.masked_anywhere``: a word in a path is not hidden)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return URL_IN_TEXT.sub("***", url) if "@" in url or "?" in url else url
    netloc = parts.netloc
    if "@" in netloc and not _PLACEHOLDER_USERINFO.fullmatch(netloc.rsplit("@", 1)[0]):
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(_redact_parameter(p) for p in parts.query.split("&")) if parts.query else ""
    shown = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    for secret in sorted(filter(masked_anywhere, _KNOWN_SECRETS), key=len, reverse=True):
        if secret in shown or quote(secret, safe="") in shown:
            shown = shown.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return shown


def _redact_parameter(parameter: str) -> str:
    name, eq, value = parameter.partition("=")
    if not eq:  # a value without a name (?K3yValue): a key, unless it is short
        return "***" if len(name) >= 6 and not _PLACEHOLDER.fullmatch(name) else name
    if not value or _PLACEHOLDER.fullmatch(value):
        return parameter
    if is_credential_name(name) or value in _KNOWN_SECRETS or unquote(value) in _KNOWN_SECRETS:
        return f"{name}=***"
    return parameter


def redact_urls(text: str) -> str:
    """Every URL in ``text`` through :func:`redact_url` (for logs and error messages)."""
    if "://" not in text:
        return text
    return URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


# ``name=value`` in free text (a request line, an error's words), the value up to a space,
# ``&``, a quote or a bracket: hidden when the name says it is a credential
_NAMED_VALUE = re.compile(r"(?<![\w.-])([A-Za-z_][\w.-]{0,63})=([^\s&'\"<>()\[\]]+)")


def named_credentials_masked(text: str) -> str:
    """``text`` with ``***`` for the value of each ``name=value`` outside a URL whose name
    says it is a credential (``bot.credentials.is_credential_name``): ``GET
    /rss?api_key=20240501 HTTP/1.1`` in an error's words, whatever the key looks like
    (a weak one is not masked as a word: ``bot.credentials.masked_anywhere``)."""
    if "=" not in text:
        return text

    def masked(m: re.Match[str]) -> str:
        name, value = m.group(1), m.group(2)
        if value == MASK or _PLACEHOLDER.fullmatch(value) or not is_credential_name(name):
            return m.group(0)
        return f"{name}={MASK}"

    return _NAMED_VALUE.sub(masked, text)


def without_known_secrets(text: str) -> str:
    """``text`` (an exception's words, a traceback) fit for a log or a stored error: every
    URL through :func:`redact_url`, and ``***`` for each configured secret
    (:func:`remember_secret`: the token, its secret half, feed keys) anywhere else in it,
    in any case (python-telegram-bot capitalises a 400's words: the rest, a token in them
    too, in lower case).  For the layers below ``bot.ops.logs``, whose ``redact`` does this
    and more."""
    text = named_credentials_masked(mask_secrets(redact_urls(text), _KNOWN_SECRETS))
    lowered = text.lower()
    for old, _mask in bare_secrets(_KNOWN_SECRETS):
        if old.lower() in lowered:
            text = re.sub(re.escape(old), MASK, text, flags=re.IGNORECASE)
            lowered = text.lower()
    return text


def traceback_without_secrets(error: BaseException, secrets: Collection[str] = ()) -> str:
    """``error``'s traceback (causes and notes too) without ``secrets`` (a feed's
    :func:`bot.credentials.secret_values`), then through :func:`without_known_secrets`:
    for a log line's message in place of ``exc_info``, which reaches every handler as it
    is (only ours redacts)."""
    import traceback

    text = "".join(traceback.format_exception(error)).rstrip("\n")
    return without_known_secrets(mask_secrets(text, secrets))
