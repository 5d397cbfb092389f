"""Chat commands: parse the update, call the core (``bot.service``), reply in plain words."""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot import service
from bot.service import ChatInfo

if TYPE_CHECKING:
    from bot.app import Core

log = logging.getLogger(__name__)

# (command, menu description); every command here has help text (a test checks it).
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Welcome, and how to get alerts"),
    ("help", "How to use the bot, with examples"),
    ("topics", "The topics you can follow"),
    ("subscribe", "Follow a topic or your own filter"),
    ("unsubscribe", "Stop following a topic"),
    ("list", "What this chat follows"),
)

HELP_TEXT = """<b>newsalert</b> sends you a short alert, with a summary, when a news story matches a topic or filter you follow.

<b>Commands</b>
/topics — the topics you can follow
/subscribe <i>topic-id</i> — follow a topic, e.g. <code>/subscribe korea-diplomacy</code>
/subscribe <i>filter</i> — follow your own filter, e.g. <code>/subscribe "north korea" (talks OR summit) -sports</code>
/unsubscribe <i>topic-id</i> — stop, e.g. <code>/unsubscribe korea-diplomacy</code>; <code>/unsubscribe query</code> drops your own filters
/list — what this chat follows
/help — this message

<b>Filters</b>
{query_help}"""


def _core(context: ContextTypes.DEFAULT_TYPE) -> Core:
    return context.application.bot_data["core"]  # type: ignore[no-any-return]


def _chat_info(update: Update) -> ChatInfo:
    chat = update.effective_chat
    user = update.effective_user
    assert chat is not None
    return ChatInfo(
        chat_id=chat.id,
        type=chat.type,
        title=chat.title or chat.full_name or "",
        username=chat.username or "",
        language=(user.language_code or "en") if user else "en",
    )


async def _reply(update: Update, text: str, *, markup: bool = False) -> None:
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(
        text,
        parse_mode=ParseMode.HTML if markup else None,
        disable_web_page_preview=True,
    )


def _argument(context: ContextTypes.DEFAULT_TYPE) -> str:
    return " ".join(context.args or []).strip()


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Welcome the chat; ``/start <topic-id>`` (a deep link) follows that topic at once."""
    core = _core(context)
    info = _chat_info(update)
    service.register_chat(core.store, info)
    argument = _argument(context)
    if argument and argument in core.config.topics:
        await _subscribe(update, context, argument)
        return
    await _reply(
        update,
        "Hello! I send short news alerts, with a summary, when a story matches a topic you follow.\n\n"
        "See the topics with /topics, then follow one, for example:\n"
        "/subscribe korea-diplomacy\n\n"
        "/help explains filters and every command.",
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain every command and the filter language, with examples."""
    from bot.query import QUERY_HELP

    await _reply(update, HELP_TEXT.format(query_help=html.escape(QUERY_HELP)), markup=True)


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the topics with their descriptions."""
    core = _core(context)
    lines = ["<b>Topics you can follow</b>"]
    for topic in service.list_topics(core.config.topics):
        desc = f" — {html.escape(topic.description)}" if topic.description else ""
        lines.append(f"• <code>{html.escape(topic.id)}</code>: {html.escape(topic.name)}{desc}")
    lines.append("\nFollow one with /subscribe <i>topic-id</i>, e.g. /subscribe korea-diplomacy")
    await _reply(update, "\n".join(lines), markup=True)


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Follow a topic or a filter query."""
    await _subscribe(update, context, _argument(context))


async def _subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE, argument: str) -> None:
    core = _core(context)
    result = service.subscribe(core.store, core.config.topics, _chat_info(update), argument)
    if result.ok:
        core.subscriptions_changed()
        if result.topic is not None:
            name = result.topic.name
            text = (
                f"You now follow “{name}” ({result.topic.id}). Alerts arrive here as stories appear."
                if result.created
                else f"You already follow “{name}” ({result.topic.id})."
            )
        else:
            text = (
                f"You now follow your own filter: {result.query}"
                if result.created
                else f"You already follow this filter: {result.query}"
            )
        await _reply(update, text)
        return
    if result.problem == "empty":
        text = (
            "Which topic? Write its id after the command, for example:\n"
            "/subscribe korea-diplomacy\n\nSee all topics with /topics."
        )
    elif result.problem == "unknown-topic":
        known = ", ".join(sorted(core.config.topics))
        text = (
            f"There is no topic “{result.detail}”. Topics: {known}.\n"
            "For example: /subscribe korea-diplomacy"
        )
    elif result.problem == "too-many":
        text = (
            f"This chat already follows {result.detail} topics and filters, the most allowed. "
            "Drop one with /unsubscribe first; /list shows them."
        )
    else:
        text = (
            f"That filter cannot be read: {result.detail}\n"
            'Example: /subscribe "north korea" (talks OR summit) -sports'
        )
    await _reply(update, text)


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop following a topic."""
    core = _core(context)
    argument = _argument(context)
    if not argument:
        await _reply(
            update,
            "Which topic? For example: /unsubscribe korea-diplomacy\n/list shows what you follow.",
        )
        return
    if service.unsubscribe(core.store, update.effective_chat.id, argument):  # type: ignore[union-attr]
        core.subscriptions_changed()
        await _reply(update, f"Done: you no longer follow {argument}.")
    else:
        await _reply(
            update, f"This chat does not follow “{argument}”. /list shows what it follows."
        )


async def list_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show what this chat follows."""
    core = _core(context)
    subs = service.subscriptions(core.store, update.effective_chat.id)  # type: ignore[union-attr]
    if not subs:
        await _reply(
            update,
            "This chat follows nothing yet. Start with /topics, then /subscribe korea-diplomacy.",
        )
        return
    lines = ["This chat follows:"]
    for sub in subs:
        if sub.query:
            lines.append(f"• filter: {sub.query}")
        else:
            topic = core.config.topics.get(sub.topic_id)
            lines.append(f"• {topic.name if topic else sub.topic_id} ({sub.topic_id})")
    await _reply(update, "\n".join(lines))


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception first, then tell the user something short and useful."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message:
        try:
            await update.effective_message.reply_text(
                "Sorry, something went wrong on my side. Please try again in a minute."
            )
        except Exception:  # the reply itself may be what failed
            log.debug("could not tell the user about the error", exc_info=True)


CALLBACKS = {
    "start": start,
    "help": help_command,
    "topics": topics,
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    "list": list_command,
}
