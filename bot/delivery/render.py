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
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from bot.config.template import DEFAULT_TEMPLATE
from bot.credentials import link_for_readers
from bot.delivery.credit import credit
from bot.i18n import fill
from bot.records import Alert, Article, Summary, Topic, as_utc
from bot.text import strip_joiners

MAX_MESSAGE_CHARS = 4096
ALSO_RESERVE = 200  # kept free in every alert for an "Also:" line
MAX_TITLE_CHARS = 300
MAX_ALSO_NAMES = 5
MAX_SOURCE_CHARS = 40
MAX_CREDIT_CHARS = 100  # the outlet with its wire or byline
MAX_LINK_CHARS = 2048
MIN_SUMMARY_CHARS = 40  # a summary cut shorter than this is left out
DEFAULT_FOOTER = "Join {name} on Telegram and get the latest breaking news delivered to you."
READ_BUTTON = "Read"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
# invisible characters a feed can use to disguise its text (a reversed link, a hidden word):
# zero-width ones (U+200B, U+200E-F; the joiners U+200C-D only where they join nothing:
# bot.text.strip_joiners), bidi embeddings, overrides and isolates; taken out of titles,
# sources and summaries (an operator's footer keeps everything)
_INVISIBLE = re.compile(r"[\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _clean(value: str) -> str:
    return _CONTROL.sub("", value)


def _one_line(value: str) -> str:
    return " ".join(strip_joiners(_INVISIBLE.sub("", _clean(value))).split())


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
    matched: str = "Matched: {terms}"
    read: str = READ_BUTTON
    also: str = "Also: {sources}"
    also_more: str = "Also: {sources} and {count} more"
    footer: str = DEFAULT_FOOTER
    footer_unnamed: str = "Join us on Telegram and get the latest breaking news delivered to you."
    # a private chat already talks to the bot: invite the reader to pass it on instead
    footer_private: str = (
        "Share {name} on Telegram with friends who want the latest breaking news delivered to them."
    )
    footer_private_unnamed: str = "Share this bot on Telegram with friends who want the latest breaking news delivered to them."
    untitled: str = "(untitled)"
    digest_hourly: str = "Your news digest, {time}: {stories}"
    digest_daily: str = "Your daily news digest, {date}: {stories}"
    story_one: str = "{count} story"
    story_many: str = "{count} stories"
    date: str = "{day} {month}"
    when: str = "{day} {month} {year} {time} {zone}"  # every time a reader sees
    months: tuple[str, ...] = MONTHS
    continued: str = "{heading} (continued)"
    via: str = "{wire} via {source}"
    breaking: str = "Breaking · {sources}"  # the first " · " parts the bold word from the names
    breaking_more: str = "{sources} and {count} more"
    topic_closed: str = (
        "For this group's admins: a forum topic that alerts are posted in is closed, so "
        "Telegram does not let me post there. Its alerts come here to General until the "
        "topic is reopened; the subscriptions are kept. Reopen it, or /subscribe again "
        "inside another topic."
    )
    topic_gone: str = (
        "For this group's admins: a forum topic that alerts are posted in was deleted. Its "
        "alerts come here to General; the subscriptions are kept. To have them in a topic "
        "again, /subscribe inside a topic."
    )
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
        return fill(labels.translated_from, language=labels.language_name(summary.source_language))
    if summary.language and summary.language != reader_language:
        return fill(labels.in_language, language=labels.language_name(summary.language))
    return ""


def default_footer(name: str, labels: AlertLabels = ENGLISH) -> str:
    """The footer for a chat that set none: names the channel, else the bot."""
    return fill(labels.footer, name=name) if name else labels.footer_unnamed


def choose_footer(
    *,
    chat_footer: str,
    global_footer: str,
    chat_name: str,
    bot_name: str,
    labels: AlertLabels = ENGLISH,
    private: bool = False,
) -> str:
    """The chat's own footer, else the operator's ``alerts.footer`` (both as written),
    else the default in ``labels``' language naming the chat (a channel's @username) or
    the bot; in a ``private`` chat, where the reader already has the bot, the default asks
    them to share it instead."""
    if chat_footer.strip():
        return chat_footer.strip()
    if global_footer.strip():
        return global_footer.strip()
    if private:
        name = bot_name
        return fill(labels.footer_private, name=name) if name else labels.footer_private_unnamed
    return default_footer(chat_name or bot_name, labels)


def safe_href(link: str) -> str:
    """``link`` when it is an http(s) URL Telegram will take, else "": as a reader gets it,
    without the parameters that lost a feed's credentials (``bot.credentials.link_for_readers``:
    ``?api_key=***`` would be a broken link)."""
    link = link.strip()
    if len(link) > MAX_LINK_CHARS or _CONTROL.search(link) or any(c.isspace() for c in link):
        return ""
    parts = urlsplit(link)
    return link_for_readers(link) if parts.scheme in ("http", "https") and parts.netloc else ""


def zone_label(local: datetime) -> str:
    """The short name of ``local``'s time zone: "KST", "CET", "UTC", else "UTC+5:30"."""
    name = local.tzname() or "UTC"
    if name.startswith("UTC") and name != "UTC":  # a fixed offset: "UTC+09:00"
        name = name[3:]
    if name[:1] in "+-":
        sign, digits = name[0], name[1:].replace(":", "")
        hours, minutes = int(digits[:2] or 0), int(digits[2:4] or 0)
        if not hours and not minutes:
            return "UTC"
        return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
    return name


def format_time(moment: datetime | None, zone: tzinfo = UTC, labels: AlertLabels = ENGLISH) -> str:
    """A time as every message shows it, in the reader's zone and language:
    "29 Oct 2018 13:30 KST" ("" for None)."""
    if moment is None:
        return ""
    local = as_utc(moment).astimezone(zone)
    return fill(
        labels.when,
        day=local.day,
        month=labels.months[local.month - 1],
        year=local.year,
        time=f"{local:%H:%M}",
        zone=zone_label(local),
    )


@dataclass(frozen=True)
class _Layout:
    """An alert's parts, as plain text; ``html()`` and ``text()`` lay them out in the
    template's order (``parts``, see ``bot.config.template``)."""

    title: str
    href: str
    credit: str
    when: str
    summary: str
    topic_line: str
    footer: str
    terms_line: str = ""
    note: str = ""  # under the summary: "(translated from Korean)"
    parts: tuple[str, ...] = DEFAULT_TEMPLATE

    def _blocks(self) -> list[tuple[str, list[str]]]:
        """(kind, values) in the template's order; neighbours of one kind share a block."""
        values = {
            "title": self.title,
            "source": self.credit,
            "time": self.when,
            "summary": self.summary,
            "topic": self.topic_line,
            "terms": self.terms_line,
            "footer": self.footer,
        }
        blocks: list[tuple[str, list[str]]] = []
        for part in self.parts:
            kind = _KINDS.get(part)
            if kind is None or not values[part]:
                continue
            if blocks and blocks[-1][0] == kind and kind != "title":
                blocks[-1][1].append(values[part])
            else:
                blocks.append((kind, [values[part]]))
        return blocks

    def _lay_out(self, *, markup: bool) -> str:
        def esc(value: str) -> str:
            return _esc(value) if markup else value

        def italic(value: str) -> str:
            return f"<i>{_esc(value)}</i>" if markup else value

        blocks: list[list[str]] = []
        previous = ""
        linked = False
        for kind, values in self._blocks():
            if kind == "title":
                title = esc(values[0])
                if markup:
                    href = html.escape(self.href)
                    title = (
                        f'<b><a href="{href}">{title}</a></b>' if self.href else f"<b>{title}</b>"
                    )
                block = [title]
            elif kind == "meta":
                if previous == "title":  # source and time right under the title
                    blocks[-1].append(italic(" · ".join(values)))
                    previous = kind
                    continue
                block = [italic(" · ".join(values))]
            elif kind == "body":
                block = [esc(values[0])]
                if self.note:
                    block.append(italic(self.note))
                if not markup and self.href:
                    block.append(self.href)  # the plain version shows the link
                    linked = True
            else:
                block = [esc(v) for v in values]
            blocks.append(block)
            previous = kind
        if not markup and self.href and not linked:
            if blocks:
                blocks[0].append(self.href)
            else:
                blocks.append([self.href])
        return "\n\n".join("\n".join(block) for block in blocks)

    def html(self) -> str:
        return self._lay_out(markup=True)

    def text(self) -> str:
        return self._lay_out(markup=False)

    def length(self) -> int:
        """The longer of the two versions, as Telegram counts it (the HTML after parsing
        is the plain text without the link line)."""
        return utf16_len(self.text())


# the block each text part belongs to (image and button are no text)
_KINDS = {
    "title": "title",
    "source": "meta",
    "time": "meta",
    "summary": "body",
    "topic": "tail",
    "terms": "tail",
    "footer": "tail",
}


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
    image: str = "large",
    thread_id: int | None = None,
    zone: tzinfo = UTC,
    terms: Sequence[str] = (),
    reader_language: str = "en",
    parts: Sequence[str] = DEFAULT_TEMPLATE,
) -> Alert:
    """One alert message: bold linked title, source and time, summary, topic, footer.

    The title is the article's own, whatever the summary's language; under a summary
    translated for the reader, or left in the article's language when that is not the
    reader's (``reader_language``), a short note in ``labels``' wording says so.

    Always valid Telegram HTML, and never longer than ``MAX_MESSAGE_CHARS - ALSO_RESERVE``
    as Telegram counts: the summary gives way first, then the footer, then the title.
    ``parts`` (a template, ``bot.config.template``) chooses the parts and their order.
    ``Alert.link`` is the article's link when it is http(s) (the "Read" button's URL).
    The topic line is worded by ``labels`` and names the topic in ``reader_language``; ``terms`` (what a personal filter matched)
    make a "Matched: ..." line.  ``image`` (large | small | off) says how the
    article's picture, when it has one that passes the same checks as a link, is shown:
    as the message's link preview (``Alert.image``), which keeps the 4,096-character limit.
    """
    budget = MAX_MESSAGE_CHARS - ALSO_RESERVE
    topic_name = _clip(_one_line(topic.name_in(reader_language)), MAX_TITLE_CHARS) if topic else ""
    layout = _Layout(
        title=_clip(_one_line(article.title) or labels.untitled, MAX_TITLE_CHARS),
        href=safe_href(article.link),
        credit=_clip(
            _one_line(
                credit(
                    _clip(_one_line(article.source), MAX_SOURCE_CHARS),
                    _one_line(article.author),
                    article.summary or article.content,
                    via=labels.via,
                )
            ),
            MAX_CREDIT_CHARS,
        ),
        when=format_time(article.published, zone, labels),
        # a summary that is only the title (the feed had no text) would say it twice
        summary=""
        if summary.method == "title"
        else strip_joiners(_INVISIBLE.sub("", _clean(summary.text))).strip(),
        topic_line=_one_line(fill(labels.topic, name=topic_name)) if topic else "",
        footer=_clean(footer).strip(),
        terms_line=_terms_line(terms, labels),
        note=_one_line(summary_note(summary, reader_language, labels)),
        parts=tuple(parts),
    )
    layout = _fit(layout, budget)
    shown = image in ("large", "small") and "image" in parts
    picture = safe_href(article.image) if shown else ""
    return Alert(
        chat_id=chat_id,
        article_key=article_key,
        topic=topic.id if topic else "",
        html=layout.html(),
        text=layout.text(),
        link=layout.href,
        disable_preview=not link_preview,
        image=picture,
        image_size=image if picture else "",
        thread_id=thread_id,
        button="button" in parts,
    )


MAX_TERMS_SHOWN = 6
MAX_TERM_CHARS = 100  # one matched term; a longer phrase is shortened inside its quotes
MAX_TERMS_LINE = 300

# a quoted term and what follows its closing quote: ~"phrase" 0.45, ~0.6"phrase" 0.61, "a b"
_QUOTED_TERM = re.compile(r"""(?s)(?P<head>[^"']*)(?P<q>["'])(?P<inner>.*)(?P=q)(?P<tail>[^"']*)""")


def _whole_term(term: str) -> str:
    """A matched term as the line shows it: whole when it fits; a long phrase shortened
    inside its quotes, keeping the closing quote and a semantic term's similarity."""
    if utf16_len(term) <= MAX_TERM_CHARS:
        return term
    quoted = _QUOTED_TERM.fullmatch(term)
    if quoted is None:
        return _clip(term, MAX_TERM_CHARS, words=True)
    head, q, tail = quoted["head"], quoted["q"], quoted["tail"]
    room = MAX_TERM_CHARS - utf16_len(head) - utf16_len(tail) - 2
    return f"{head}{q}{_clip(quoted['inner'], max(room, 2), words=True)}{q}{tail}"


def _terms_line(terms: Sequence[str], labels: AlertLabels) -> str:
    """ "Matched: north korea, talks": why a personal filter sent the alert ("" for none).
    Terms are never cut in the middle (a semantic term keeps its closing quote and its
    similarity, ``~"missile launch" 0.45``): those that do not fit are left out, "…" says so."""
    shown = [t for t in dict.fromkeys(_whole_term(_one_line(t)) for t in terms) if t]
    if not shown:
        return ""
    for count in range(min(len(shown), MAX_TERMS_SHOWN), 0, -1):
        listed = ", ".join(shown[:count]) + (", …" if count < len(shown) else "")
        line = _one_line(fill(labels.matched, terms=listed))
        if utf16_len(line) <= MAX_TERMS_LINE:
            return line
    return ""


def _fit(layout: _Layout, budget: int) -> _Layout:
    excess = layout.length() - budget
    if excess <= 0:
        return layout
    summary_room = utf16_len(layout.summary) - excess
    if summary_room >= MIN_SUMMARY_CHARS:
        return replace(layout, summary=_clip(layout.summary, summary_room, words=True))
    layout = replace(layout, summary="", note="")
    for part in ("footer", "terms_line", "topic_line", "href", "title"):
        excess = layout.length() - budget
        if excess <= 0:
            break
        value: str = getattr(layout, part)
        room = utf16_len(value) - excess
        if part == "href":  # a link cannot be cut: drop it, the title stays unlinked
            layout = replace(layout, href="")
        elif part == "terms_line":  # half a term would misinform: the line goes whole
            layout = replace(layout, terms_line="")
        else:
            cut: dict[str, Any] = {part: _clip(value, max(room, 0))}
            layout = replace(layout, **cut)
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
        return _one_line(fill(labels.also_more, sources=shown, count=more))
    return _one_line(fill(labels.also, sources=shown))


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


def breaking_line(outlets: Sequence[str], labels: AlertLabels = ENGLISH) -> str:
    """ "Breaking · Reuters, AP, Yonhap": the outlets that carried a breaking story."""
    names = [n for n in dict.fromkeys(_clip(_one_line(s), MAX_SOURCE_CHARS) for s in outlets) if n]
    shown = ", ".join(names[:MAX_ALSO_NAMES])
    more = len(names) - MAX_ALSO_NAMES
    if more > 0:
        shown = fill(labels.breaking_more, sources=shown, count=more)
    return _clip(_one_line(fill(labels.breaking, sources=shown)), ALSO_RESERVE - 10)


def with_breaking(
    html_text: str, plain: str, outlets: Sequence[str], labels: AlertLabels = ENGLISH
) -> tuple[str, str]:
    """An alert rendered by :func:`render_alert` marked as breaking news: a first line
    "🔴 Breaking · Reuters, AP, Yonhap" naming the outlets (it stands in for "Also:")."""
    line = breaking_line(outlets, labels)
    head, _, rest = line.partition(" · ")
    marked = f"🔴 <b>{_esc(head)}</b>" + (f" · {_esc(rest)}" if rest else "")
    return f"{marked}\n{html_text}", f"🔴 {line}\n{plain}"


# -- digests ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestLine:
    """One alert in a digest: its outbox id, title, link and source."""

    id: int
    title: str
    link: str = ""
    source: str = ""
    time: str = ""  # when it was published, as format_time writes it


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
        title = _one_line(fill(labels.continued, heading=heading)) if continued else heading
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
        meta = " · ".join(p for p in (source, _one_line(item.time)) if p)
        item_html = f"• {linked}" + (f" — <i>{_esc(meta)}</i>" if meta else "")
        item_text = f"• {title}" + (f" — {meta}" if meta else "") + (f"\n  {href}" if href else "")
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
