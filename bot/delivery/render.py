"""Rendering alerts and digests as Telegram HTML: pure, everything from the feed escaped.

Telegram's HTML subset: <b>, <i>, <a href>, <code>, <pre>, <blockquote> ...; only
&lt; &gt; &amp; &quot; and numeric entities.  ``html.escape`` produces exactly those (its
&#x27; is a numeric entity).  Control characters are dropped and titles, sources and topic
names are kept to one line each, so the layout below always holds:

    <b><a href="LINK">TITLE</a></b>          line 0: the title, linked when the link is http(s)
    <i>SOURCE · 29 Oct 2018 04:30 UTC</i>     line 1: source and time, when there are any
    (Also: Reuters, Yonhap — see with_also)   added later, after line 0 or 1
    <blank>
    SUMMARY
    <blank>
    Topic: NAME
    FOOTER

Telegram counts a message's length in UTF-16 code units after entity parsing, at most 4096;
an alert stays within ``MAX_MESSAGE_CHARS - ALSO_RESERVE`` so that an "Also:" line always
fits later.  The summary gives way first, then the footer, then the title.

The fixed wording ("Topic:", "Also:", the default footer, digest headings, the "Read"
button) comes in an :class:`AlertLabels`, English unless the caller passes the chat's
(``bot.delivery.labels.alert_labels`` translates them).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from bot.records import Alert, Article, Summary, Topic, as_utc

MAX_MESSAGE_CHARS = 4096
ALSO_RESERVE = 200  # kept free in every alert for an "Also:" line
MAX_TITLE_CHARS = 300
MAX_ALSO_NAMES = 5
MAX_SOURCE_CHARS = 40
MAX_LINK_CHARS = 2048
MIN_SUMMARY_CHARS = 40  # a summary cut shorter than this is left out
DEFAULT_FOOTER = "Join {name} on Telegram and get the latest breaking news delivered to you."
READ_BUTTON = "Read"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
# invisible characters a feed can use to disguise its text (a reversed link, a hidden word):
# zero-width ones (U+200B-U+200F), bidi embeddings, overrides and isolates; taken out of
# titles, sources and summaries (an operator's footer keeps its emoji joiners)
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _clean(value: str) -> str:
    return _CONTROL.sub("", value)


def _one_line(value: str) -> str:
    return " ".join(_INVISIBLE.sub("", _clean(value)).split())


def _clip(value: str, limit: int, *, words: bool = False) -> str:
    """``value`` cut to at most ``limit`` UTF-16 units, ending with "…" when cut."""
    if utf16_len(value) <= limit:
        return value
    if limit <= 1:
        return ""
    out, used = [], 0
    for ch in value:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > limit - 1:
            break
        out.append(ch)
        used += size
    cut = "".join(out)
    if words and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def _esc(value: str) -> str:
    return html.escape(value, quote=False)


@dataclass(frozen=True, slots=True)
class AlertLabels:
    """The fixed wording of alerts and digests in one language (English by default).

    Each is plain text, a ``str.format`` template where it has ``{placeholders}``; the
    renderer escapes the result.  ``months`` are the short month names, January first.
    """

    topic: str = "Topic: {name}"
    read: str = READ_BUTTON
    also: str = "Also: {sources}"
    also_more: str = "Also: {sources} and {count} more"
    footer: str = DEFAULT_FOOTER
    footer_unnamed: str = "Join us on Telegram and get the latest breaking news delivered to you."
    untitled: str = "(untitled)"
    digest_hourly: str = "Your news digest, {time}: {stories}"
    digest_daily: str = "Your daily news digest, {date}: {stories}"
    story_one: str = "{count} story"
    story_many: str = "{count} stories"
    date: str = "{day} {month}"
    months: tuple[str, ...] = MONTHS
    continued: str = "{heading} (continued)"
    # Under a summary written in another language than the article, or than the reader's.
    translated_from: str = "(translated from {language})"
    in_language: str = "(summary in {language})"
    english: str = "English"
    korean: str = "Korean"

    def language_name(self, code: str) -> str:
        """The name of the language ``code`` ("en", "ko") in this wording's language."""
        return {"en": self.english, "ko": self.korean}.get(code, code)


ENGLISH = AlertLabels()


def summary_note(summary: Summary, reader_language: str, labels: AlertLabels = ENGLISH) -> str:
    """ "(translated from Korean)" under a translated summary, "(summary in Korean)" under
    one that is not in the reader's language, else ""."""
    if summary.method == "title":
        return ""
    if summary.source_language and summary.source_language != summary.language:
        return labels.translated_from.format(language=labels.language_name(summary.source_language))
    if summary.language and summary.language != reader_language:
        return labels.in_language.format(language=labels.language_name(summary.language))
    return ""


def default_footer(name: str, labels: AlertLabels = ENGLISH) -> str:
    """The footer for a chat that set none: names the channel, else the bot."""
    return labels.footer.format(name=name) if name else labels.footer_unnamed


def choose_footer(
    *,
    chat_footer: str,
    global_footer: str,
    chat_name: str,
    bot_name: str,
    labels: AlertLabels = ENGLISH,
) -> str:
    """The chat's own footer, else the operator's ``alerts.footer`` (both as written),
    else the default in ``labels``' language naming the chat (a channel's @username) or
    the bot."""
    if chat_footer.strip():
        return chat_footer.strip()
    if global_footer.strip():
        return global_footer.strip()
    return default_footer(chat_name or bot_name, labels)


def safe_href(link: str) -> str:
    """``link`` when it is an http(s) URL Telegram will take, else ""."""
    link = link.strip()
    if len(link) > MAX_LINK_CHARS or _CONTROL.search(link) or any(c.isspace() for c in link):
        return ""
    parts = urlsplit(link)
    return link if parts.scheme in ("http", "https") and parts.netloc else ""


def _when(published: datetime | None) -> str:
    return as_utc(published).strftime("%d %b %Y %H:%M UTC") if published else ""


@dataclass(frozen=True)
class _Layout:
    """An alert's parts, as plain text; ``html()`` and ``text()`` lay them out."""

    title: str
    href: str
    meta: str
    summary: str
    topic_line: str
    footer: str
    note: str = ""  # under the summary: "(translated from Korean)"

    def html(self) -> str:
        title = _esc(self.title)
        head = (
            f'<b><a href="{html.escape(self.href)}">{title}</a></b>'
            if self.href
            else f"<b>{title}</b>"
        )
        lines = [head]
        if self.meta:
            lines.append(f"<i>{_esc(self.meta)}</i>")
        if self.summary:
            lines += ["", _esc(self.summary)]
            if self.note:
                lines.append(f"<i>{_esc(self.note)}</i>")
        tail = [_esc(x) for x in (self.topic_line, self.footer) if x]
        if tail:
            lines += ["", *tail]
        return "\n".join(lines)

    def text(self) -> str:
        lines = [self.title]
        if self.meta:
            lines.append(self.meta)
        if self.summary:
            lines += ["", self.summary]
            if self.note:
                lines.append(self.note)
        if self.href:
            lines.append(self.href)
        tail = [x for x in (self.topic_line, self.footer) if x]
        if tail:
            lines += ["", *tail]
        return "\n".join(lines)

    def length(self) -> int:
        """The longer of the two versions, as Telegram counts it (the HTML after parsing
        is the plain text without the link line)."""
        return utf16_len(self.text())


def render_alert(
    *,
    chat_id: int,
    article_key: int,
    article: Article,
    summary: Summary,
    topic: Topic | None,
    footer: str,
    link_preview: bool = False,
    labels: AlertLabels = ENGLISH,
    reader_language: str = "en",
) -> Alert:
    """One alert message: bold linked title, source and time, summary, topic, footer.

    The title is the article's own, whatever the summary's language; under a summary
    translated for the reader, or left in the article's language when that is not the
    reader's (``reader_language``), a short note in ``labels``' wording says so.

    Always valid Telegram HTML, and never longer than ``MAX_MESSAGE_CHARS - ALSO_RESERVE``
    as Telegram counts: the summary gives way first, then the footer, then the title.
    ``Alert.link`` is the article's link when it is http(s) (the "Read" button's URL).
    The topic line is worded by ``labels``.
    """
    budget = MAX_MESSAGE_CHARS - ALSO_RESERVE
    topic_name = _clip(_one_line(topic.name), MAX_TITLE_CHARS) if topic else ""
    layout = _Layout(
        title=_clip(_one_line(article.title) or labels.untitled, MAX_TITLE_CHARS),
        href=safe_href(article.link),
        meta=" · ".join(
            p
            for p in (_clip(_one_line(article.source), MAX_SOURCE_CHARS), _when(article.published))
            if p
        ),
        # a summary that is only the title (the feed had no text) would say it twice
        summary=""
        if summary.method == "title"
        else _INVISIBLE.sub("", _clean(summary.text)).strip(),
        topic_line=_one_line(labels.topic.format(name=topic_name)) if topic else "",
        footer=_clean(footer).strip(),
        note=_one_line(summary_note(summary, reader_language, labels)),
    )
    layout = _fit(layout, budget)
    return Alert(
        chat_id=chat_id,
        article_key=article_key,
        topic=topic.id if topic else "",
        html=layout.html(),
        text=layout.text(),
        link=layout.href,
        disable_preview=not link_preview,
    )


def _fit(layout: _Layout, budget: int) -> _Layout:
    excess = layout.length() - budget
    if excess <= 0:
        return layout
    summary_room = utf16_len(layout.summary) - excess
    if summary_room >= MIN_SUMMARY_CHARS:
        return replace(layout, summary=_clip(layout.summary, summary_room, words=True))
    layout = replace(layout, summary="", note="")
    for part in ("footer", "topic_line", "href", "title"):
        excess = layout.length() - budget
        if excess <= 0:
            break
        value = getattr(layout, part)
        room = utf16_len(value) - excess
        if part == "href":  # a link cannot be cut: drop it, the title stays unlinked
            layout = replace(layout, href="")
        else:
            layout = replace(layout, **{part: _clip(value, max(room, 0))})
    if not layout.title:
        layout = replace(layout, title="…")
    return layout


def also_line(sources: Sequence[str], labels: AlertLabels = ENGLISH) -> str:
    """ "Also: Reuters, Yonhap" for the other sources of a story ("" when none), in
    ``labels``' language."""
    names = [_clip(_one_line(s), MAX_SOURCE_CHARS) for s in sources]
    names = [n for n in dict.fromkeys(names) if n]
    if not names:
        return ""
    shown = ", ".join(names[:MAX_ALSO_NAMES])
    more = len(names) - MAX_ALSO_NAMES
    if more > 0:
        return _one_line(labels.also_more.format(sources=shown, count=more))
    return _one_line(labels.also.format(sources=shown))


def with_also(
    html_text: str, plain: str, sources: Sequence[str], labels: AlertLabels = ENGLISH
) -> tuple[str, str]:
    """An alert rendered by :func:`render_alert` with "Also: ..." under its title and source
    line, in both versions; unchanged when there are no other sources."""
    line = also_line(sources, labels)
    if not line:
        return html_text, plain
    html_lines = html_text.split("\n")
    text_lines = plain.split("\n")
    at = 2 if len(html_lines) > 1 and html_lines[1].startswith("<i>") else 1
    html_lines.insert(at, f"<i>{_esc(line)}</i>")
    text_lines.insert(min(at, len(text_lines)), line)
    return "\n".join(html_lines), "\n".join(text_lines)


# -- digests ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestLine:
    """One alert in a digest: its outbox id, title, link and source."""

    id: int
    title: str
    link: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class DigestPart:
    """One digest message and the outbox ids of the alerts it lists."""

    ids: tuple[int, ...]
    html: str
    text: str


def render_digest(
    items: Sequence[DigestLine], *, heading: str, footer: str, labels: AlertLabels = ENGLISH
) -> list[DigestPart]:
    """The digest as few messages as fit Telegram's limit: a bold heading, one line per
    alert (linked title and source), the footer under the last one.  Later parts' headings
    say "(continued)" in ``labels``' language."""
    heading = _clip(_one_line(heading), MAX_TITLE_CHARS) or "Digest"
    footer = _clean(footer).strip()
    footer_len = utf16_len(footer) + 2 if footer else 0
    parts: list[DigestPart] = []
    ids: list[int] = []
    html_lines: list[str] = []
    text_lines: list[str] = []

    def start(continued: bool) -> None:
        title = _one_line(labels.continued.format(heading=heading)) if continued else heading
        html_lines[:] = [f"<b>{_esc(title)}</b>", ""]
        text_lines[:] = [title, ""]

    def close() -> None:
        parts.append(DigestPart(tuple(ids), "\n".join(html_lines), "\n".join(text_lines)))
        ids.clear()

    start(False)
    for item in items:
        title = _clip(_one_line(item.title) or labels.untitled, MAX_TITLE_CHARS)
        source = _clip(_one_line(item.source), MAX_SOURCE_CHARS)
        href = safe_href(item.link)
        linked = f'<a href="{html.escape(href)}">{_esc(title)}</a>' if href else _esc(title)
        item_html = f"• {linked}" + (f" — <i>{_esc(source)}</i>" if source else "")
        item_text = (
            f"• {title}" + (f" — {source}" if source else "") + (f"\n  {href}" if href else "")
        )
        size = utf16_len(item_text) + 1
        used = utf16_len("\n".join(text_lines))
        if ids and used + size + footer_len > MAX_MESSAGE_CHARS:
            close()
            start(True)
        html_lines.append(item_html)
        text_lines.append(item_text)
        ids.append(item.id)
    if footer:
        html_lines += ["", _esc(footer)]
        text_lines += ["", footer]
        if utf16_len("\n".join(text_lines)) > MAX_MESSAGE_CHARS:  # a monstrous footer
            room = MAX_MESSAGE_CHARS - utf16_len("\n".join(text_lines[:-1]))
            clipped = _clip(footer, max(room, 0))
            html_lines[-1], text_lines[-1] = _esc(clipped), clipped
    if ids:
        close()
    return parts
