"""Rendering an alert as Telegram HTML: pure, everything from the feed escaped.

Telegram's HTML subset: <b>, <i>, <a href>, <code>, <pre>, <blockquote> ...;
only &lt; &gt; &amp; &quot; entities.  ``html.escape`` produces exactly those
(plus &#x27;, which Telegram accepts as a numeric entity).
"""

from __future__ import annotations

import html
from datetime import datetime
from urllib.parse import urlsplit

from bot.records import Alert, Article, Summary, Topic, as_utc

MAX_MESSAGE_CHARS = 4096
DEFAULT_FOOTER = "Join {name} on Telegram and get the latest breaking news delivered to you."


def default_footer(name: str) -> str:
    """The footer for a chat that set none: names the channel, else the bot."""
    return DEFAULT_FOOTER.format(name=name or "us")


def choose_footer(*, chat_footer: str, global_footer: str, chat_name: str, bot_name: str) -> str:
    """The chat's own footer, else the operator's ``alerts.footer``, else the default
    naming the chat (a channel's @username) or the bot."""
    if chat_footer.strip():
        return chat_footer.strip()
    if global_footer.strip():
        return global_footer.strip()
    return default_footer(chat_name or bot_name)


def _safe_href(link: str) -> str:
    parts = urlsplit(link)
    return link if parts.scheme in ("http", "https") and parts.netloc else ""


def _when(published: datetime | None) -> str:
    return as_utc(published).strftime("%d %b %Y %H:%M UTC") if published else ""


def render_alert(
    *,
    chat_id: int,
    article_key: int,
    article: Article,
    summary: Summary,
    topic: Topic | None,
    footer: str,
    link_preview: bool = False,
) -> Alert:
    """One alert message: bold linked title, source and time, summary, topic, footer.

    Never longer than Telegram's 4096 characters: the summary gives way first.
    """

    def esc(value: str) -> str:
        return html.escape(value, quote=False)

    href = _safe_href(article.link)
    title = esc(article.title or "(untitled)")
    head = f'<b><a href="{html.escape(href)}">{title}</a></b>' if href else f"<b>{title}</b>"
    meta = " · ".join(p for p in (article.source, _when(article.published)) if p)
    topic_line = f"Topic: {topic.name}" if topic else ""

    def build(summary_text: str) -> tuple[str, str]:
        html_parts = [head]
        text_parts = [article.title or "(untitled)"]
        if meta:
            html_parts.append(f"<i>{esc(meta)}</i>")
            text_parts.append(meta)
        if summary_text:
            html_parts.append("")
            html_parts.append(esc(summary_text))
            text_parts.append("")
            text_parts.append(summary_text)
        tail_html = [esc(x) for x in (topic_line, footer) if x]
        tail_text = [x for x in (topic_line, footer) if x]
        if href:
            text_parts.append(href)
        if tail_html:
            html_parts.append("")
            html_parts.extend(tail_html)
            text_parts.append("")
            text_parts.extend(tail_text)
        return "\n".join(html_parts), "\n".join(text_parts)

    summary_text = summary.text
    message, plain = build(summary_text)
    while len(message) > MAX_MESSAGE_CHARS and summary_text:
        excess = len(message) - MAX_MESSAGE_CHARS
        summary_text = summary_text[: max(0, len(summary_text) - excess - 8)].rsplit(" ", 1)[0]
        summary_text = (summary_text + " …") if summary_text else ""
        message, plain = build(summary_text)
    if len(message) > MAX_MESSAGE_CHARS:  # a monstrous title: cut it, keep the markup valid
        message = f"<b>{esc(article.title[:3000])}</b>"
        plain = article.title[:3000]
    return Alert(
        chat_id=chat_id,
        article_key=article_key,
        topic=topic.id if topic else "",
        html=message,
        text=plain[:MAX_MESSAGE_CHARS],
        link=href,
        disable_preview=not link_preview,
    )
