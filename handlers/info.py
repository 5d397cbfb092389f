"""Commands that show things: /start, /help, /topics, /feeds, /latest, /test; and the
answer to a command or message I do not understand."""

from __future__ import annotations

import difflib
import html
from datetime import datetime

from telegram import Update

from bot.delivery.digest import chat_zone
from bot.delivery.labels import alert_labels
from bot.delivery.render import format_time, safe_href
from bot.i18n import N_, Html
from bot.records import FeedStatus
from bot.service import reports, search, subscriptions
from bot.service.search import Found
from handlers.common import (
    Context,
    Target,
    Turn,
    can_manage,
    clip_plain,
    command,
    operator_hints,
    query_problem,
    score_shown,
    target_chat,
    why_shown,
)
from handlers.menu import COMMAND_INFO, help_text

MAX_TITLE_CHARS = 300  # a story's title in /latest and /test, clipped before it is escaped

# each feed status in words (translated where shown)
FEED_STATUS: dict[FeedStatus, str] = {
    FeedStatus.OK: N_("working"),
    FeedStatus.NEW: N_("not read yet"),
    FeedStatus.FAILING: N_("having trouble"),
    FeedStatus.BROKEN: N_("stopped: it keeps failing"),
    FeedStatus.GONE: N_("stopped: the address is gone"),
    FeedStatus.QUIET: N_("quiet lately"),
}


def when(turn: Turn, value: datetime | None) -> str:
    """A time as alerts and digests show it, in the reader's zone and language."""
    return format_time(value, chat_zone(turn.chat), alert_labels(turn.tr.language))


def found_lines(turn: Turn, number: int, found: Found, *, why: bool) -> list[str]:
    """One matching story: linked title; source, time, and what matched."""
    article = found.article
    title = html.escape(clip_plain(article.title or "(untitled)", MAX_TITLE_CHARS), quote=False)
    link = safe_href(article.link)  # as in an alert: no ?api_key=*** a reader cannot use
    head = (
        f'<b>{number}.</b> <a href="{html.escape(link)}">{title}</a>'
        if link
        else (f"<b>{number}.</b> {title}")
    )
    meta = " · ".join(
        p for p in (clip_plain(article.source, 100), when(turn, article.published)) if p
    )
    lines = [head]
    if meta:
        lines.append(f"<i>{html.escape(meta, quote=False)}</i>")
    if why and found.why:
        lines.append(
            turn._(
                "matched: {terms} (score {score})",
                terms=why_shown(found.why, 8),
                score=score_shown(found.score),
            )
        )
    elif found.label:
        lines.append(turn._("for: {label}", label=found.label))
    return lines


@command
async def start(turn: Turn) -> None:
    """Welcome; ``/start <topic-id>`` (a t.me deep link) follows that topic at once."""
    from handlers.subscriptions import follow

    payload = turn.argument
    topics = turn.core.config.topics
    if payload and payload.lower() in topics and await can_manage(turn, turn.chat_id):
        await follow(turn, Target(turn.chat_id), payload.lower())
        return
    lines = [
        turn._(
            "Hello! I send short news alerts, with a summary, when a story matches a topic "
            "you follow."
        ),
        "",
        turn._(
            "See the topics with /topics, then follow one, for example:\n"
            "<code>/subscribe korea-diplomacy</code>\n"
            'Or follow your own filter: <code>/subscribe "north korea" talks</code>'
        ),
        "",
        turn._("/help explains every command and the filter language."),
    ]
    if turn.is_group:
        lines += [
            "",
            turn._("In this group, its administrators choose what it follows."),
        ]
    if payload and payload.lower() not in topics:
        lines += [
            "",
            turn._(
                "There is no topic “{topic}”. /topics lists them.",
                topic=payload[:64],
            ),
        ]
    elif payload:
        lines += ["", turn._("Only this group's administrators can follow a topic here.")]
    await turn.reply("\n".join(lines))


@command
async def help_command(turn: Turn) -> None:
    """Every command with an example, and the filter language."""
    await turn.reply(help_text(turn.tr, operator=turn.is_operator))


@command
async def topics(turn: Turn) -> None:
    """The topics with their descriptions."""
    lines = [turn._("<b>Topics you can follow</b>"), ""]
    language = turn.tr.language
    for topic in subscriptions.list_topics(turn.core.config.topics):
        lines.append(
            f"• <b>{html.escape(topic.name_in(language), quote=False)}</b> — "
            f"<code>{html.escape(topic.id, quote=False)}</code>"
        )
        if description := topic.description_in(language):
            lines.append("   " + html.escape(" ".join(description.split()), quote=False))
    lines += ["", turn._("Follow one with <code>/subscribe korea-diplomacy</code>.")]
    bot_name = turn.context.bot.username
    if bot_name:
        lines.append(
            turn._(
                "Share a topic as a link that follows it in one tap: {link}",
                link=f"https://t.me/{bot_name}?start=korea-diplomacy",
            )
        )
    await turn.reply_lines(lines)


@command
async def feeds(turn: Turn) -> None:
    """The news sources."""
    rows = reports.feed_rows(turn.core.store, turn.core.config.feeds)
    if not rows:
        await turn.reply(turn._("No news sources are configured yet."))
        return
    lines = [turn._("<b>News sources</b>"), ""]
    for row in rows:
        host = row.host  # never user:password@ nor a query string
        status = turn.tr.plain(FEED_STATUS.get(row.status, row.status))
        lines.append(
            f"• <b>{html.escape(row.name, quote=False)}</b> ({html.escape(host, quote=False)})"
            f" — {html.escape(status, quote=False)}"
        )
    await turn.reply_lines(lines)


@command
async def latest(turn: Turn) -> None:
    """The five latest stories that this chat's subscriptions (or a topic) match."""
    picked = await target_chat(turn, turn.argument, change=False)
    if picked is None:
        return
    target, rest = picked
    core = turn.core
    if rest:
        topic = core.config.topics.get(rest.lower())
        if topic is None:
            await turn.reply(
                turn._(
                    "There is no topic “{topic}”. Example: <code>/latest korea-diplomacy</code>; "
                    "/topics lists them.",
                    topic=rest[:64],
                )
            )
            return
        found = await search.latest_for_topic(core.store, topic, language=turn.tr.language)
        heading = turn._("<b>Latest for {name}</b>", name=topic.name_in(turn.tr.language))
    else:
        if not subscriptions.list_subscriptions(core.store, target.chat_id):
            await turn.reply(
                turn._(
                    "This chat follows nothing yet. See a topic's latest stories with "
                    "<code>/latest korea-diplomacy</code>, or follow one with /subscribe."
                )
            )
            return
        found = await search.latest_for_chat(
            core.store, core.config.topics, target.chat_id, language=turn.tr.language
        )
        heading = turn._("<b>Latest stories for this chat</b>")
    if not found:
        await turn.reply(
            turn._(
                "No recent story matches yet. I keep reading the sources; new matches "
                "arrive as alerts."
            )
        )
        return
    lines = [heading]
    for number, item in enumerate(found, start=1):
        lines.append("")
        lines.extend(found_lines(turn, number, item, why=False))
    await turn.reply_lines(lines)


@command
async def test_command(turn: Turn) -> None:
    """Which recent stories a filter (or a topic) would match, and why."""
    text = turn.argument
    core = turn.core
    result = await search.test_query(core.store, core.config.topics, text)
    if result.problem == "empty":
        await turn.reply(
            turn._(
                "Write a filter after the command to see which recent stories it matches, "
                'e.g. <code>/test "north korea" (talks OR summit)</code>'
            )
        )
        return
    if result.problem == "unknown-topic":
        await turn.reply(
            turn._("There is no topic “{topic}”. /topics lists them.", topic=result.detail[:64])
        )
        return
    if not result.ok:
        await turn.reply(
            query_problem(turn, result.problem, result.detail, result.error, command="test")
        )
        return
    if result.scanned == 0:
        await turn.reply(
            turn._(
                "I have not stored any stories yet, so there is nothing to test on. "
                "Try again after the sources have been read."
            )
        )
        return
    shown = clip_plain(
        result.topic.name_in(turn.tr.language) if result.topic else text, MAX_TITLE_CHARS
    )
    lines = [
        turn._(
            "<b>{matched} of the last {scanned} stories match</b> {query}",
            matched=result.matched,
            scanned=result.scanned,
            query=Html(f"<code>{html.escape(shown, quote=False)}</code>"),
        )
    ]
    for number, item in enumerate(result.found, start=1):
        lines.append("")
        lines.extend(found_lines(turn, number, item, why=True))
    if result.closest:
        lines.append("")
        lines.append(
            turn._(
                "<b>Closest in meaning</b> (USE similarity, which decides; 1 is the same meaning):"
            )
        )
        for article, similarity in result.closest:
            title = html.escape(article.title[:90], quote=False)
            lines.append(f"<code>{similarity:.2f}</code> {title}")
    lines.append("")
    if result.topic is None:
        lines.extend(operator_hints(turn, text))
    if result.matched == 0:
        lines.append(
            turn._(
                "Nothing matches. Try fewer words, OR between alternatives, or an @group "
                "such as @north-korea."
            )
        )
    follow_with = result.topic.id if result.topic else text
    lines.append(
        turn._(
            "Follow it with {command}",
            command=Html(
                f"<code>/subscribe {html.escape(clip_plain(follow_with, 1000), quote=False)}</code>"
            ),
        )
    )
    await turn.reply_lines(lines)


test_command.__dict__["__test__"] = False  # not a pytest test


# words people write for a command of mine (the README and /help say "follow")
COMMAND_SYNONYMS = {
    "follow": "subscribe",
    "sub": "subscribe",
    "unfollow": "unsubscribe",
    "unsub": "unsubscribe",
    "subscriptions": "list",
    "topic": "topics",
    "lang": "language",
}


def command_meant(name: str, *, operator: bool = False) -> str | None:
    """The command of mine that ``name`` (without its /) was most likely meant to be: one
    the writer may run (the operator's own only for ``operator``)."""
    name = name.lower()
    if name in COMMAND_SYNONYMS:
        return COMMAND_SYNONYMS[name]
    names = [c.name for c in COMMAND_INFO if operator or not c.operator]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    return close[0] if close else None


@command
async def unknown_command(turn: Turn) -> None:
    """A command I do not have, with the one that was meant when a word or a slip says it."""
    message = turn.update.effective_message
    text = (message.text or "") if message else ""
    word = text.split(maxsplit=1)[0] if text.strip() else ""
    name = word.split("@", 1)[0][:40] or "/"
    meant = command_meant(name[1:], operator=turn.is_operator)
    if meant is not None:
        await turn.reply(
            turn._(
                "I do not know {command}; did you mean /{meant}? "
                "/help lists what I can do, with examples.",
                command=name,
                meant=meant,
            )
        )
        return
    await turn.reply(
        turn._("I do not know {command}. /help lists what I can do, with examples.", command=name)
    )


async def other_command(update: Update, context: Context) -> None:
    """Any command no handler took: answer it in private chats, and in groups only when it
    is addressed to me (``/cmd@me``): a bare one may be meant for another bot."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or not message.text:
        return
    word = message.text.split(maxsplit=1)[0]
    _, _, addressee = word.partition("@")
    me = (context.bot.username or "").lower()
    if addressee and addressee.lower() != me:
        return  # for another bot
    if chat.type != "private" and not addressee:
        return
    await unknown_command(update, context)


@command
async def plain_text(turn: Turn) -> None:
    """A message that is not a command, in a private chat."""
    message = turn.update.effective_message
    text = (message.text or "").strip() if message else ""
    if text.lower() in turn.core.config.topics:
        await turn.reply(
            turn._(
                "To follow that topic, send <code>/subscribe {topic}</code>.",
                topic=text.lower(),
            )
        )
        return
    await turn.reply(
        turn._(
            "I understand commands. /help lists them; /topics shows what you can follow; "
            '<code>/test "north korea" talks</code> tries a filter.'
        )
    )
