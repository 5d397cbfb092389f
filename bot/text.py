"""Plain-text helpers shared by the pure stages: HTML to text, whitespace tidying, counts."""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

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
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# control characters, and the invisible ones a feed can use to disguise text: zero-width
# characters and marks (U+200B-U+200F), bidi embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069), the BOM (U+FEFF)
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]"
)
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


def html_to_text(value: str) -> str:
    """Text of an HTML fragment: tags dropped, entities decoded, paragraphs kept
    as blank-line separated blocks, whitespace tidied.  Plain text passes through
    (tidied)."""
    if not value:
        return ""
    if not _LOOKS_LIKE_HTML.search(value):
        return tidy_text(value)
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
    value = unicodedata.normalize("NFC", _CONTROL.sub("", value))
    lines = [_SPACES.sub(" ", line).strip() for line in value.replace("\r\n", "\n").split("\n")]
    joined = "\n".join(lines)
    return _BLANK_LINES.sub("\n\n", joined).strip()


def tidy_line(value: str, *, markup: bool = True) -> str:
    """One line of text (a title): entities decoded, tags dropped, whitespace collapsed.
    ``markup=False``: ``value`` is plain text already (a feed's ``text/plain`` title),
    whose angle brackets are words."""
    text = value or ""
    if markup and _LOOKS_LIKE_HTML.search(text):
        text = html_to_text(text)
    return _SPACES.sub(" ", _CONTROL.sub("", text).replace("\n", " ")).strip()


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` with the noun in the right number, for English text (the CLI, logs):
    ``plural(1, "channel")`` is "1 channel", ``plural(2, "entry", "entries")`` "2 entries".
    Chat replies count through :meth:`bot.i18n.Translator.n_`, which knows Korean too."""
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"
