"""Following and unfollowing: /subscribe, /unsubscribe (with a keyboard, and a confirmation
for all), /list, /filter."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import LANGUAGE_NAMES, Html
from bot.service import chats, subscriptions
from bot.service.chats import ChatInfo
from handlers.common import (
    Target,
    Turn,
    button,
    can_manage,
    chat_label,
    command,
    operator_hints,
    query_problem,
    split_chat_reference,
    target_chat,
)
from handlers.delivery import delivery_summary
from storage.chats import Chat
from storage.subscriptions import Subscription

MAX_BUTTONS = 20  # subscriptions offered as buttons by a bare /unsubscribe


def _code(text: str) -> Html:
    return Html(f"<code>{html.escape(text, quote=False)}</code>")


def describe(turn: Turn, sub: Subscription) -> str:
    """A subscription in one line (escaped): the topic's name, or the filter."""
    if sub.query:
        return turn._("your filter {query}", query=_code(sub.query))
    topic = turn.core.config.topics.get(sub.topic_id)
    name = topic.name_in(turn.tr.language) if topic else sub.topic_id
    return f"{html.escape(name, quote=False)} ({_code(sub.topic_id)})"


async def follow(turn: Turn, target: Target, argument: str) -> None:
    """Subscribe ``target`` to a topic id or a filter, and say how it went."""
    core = turn.core
    chat = core.store.chats.get(target.chat_id)
    info = ChatInfo(
        chat_id=target.chat_id,
        type=chat.type if chat else "private",
        title=chat.title if chat else "",
        username=chat.username if chat else "",
        language=turn.tr.language,
    )
    # written inside a forum topic: the alerts go there (not for a channel named from here)
    thread = turn.thread_id if target.chat_id == turn.chat_id else None
    result = subscriptions.subscribe(
        core.store, core.config.topics, info, argument, thread_id=thread
    )
    where = Html(chat_label(turn, target))
    if result.ok:
        if result.moved and result.topic is not None:
            text = turn._(
                "Done: “{name}” ({id}) now posts its alerts here.",
                name=result.topic.name_in(turn.tr.language),
                id=result.topic.id,
            )
        elif result.moved:
            text = turn._(
                "Done: your filter {query} now posts its alerts here.", query=_code(result.query)
            )
        elif result.topic is not None and result.created:
            text = turn._(
                "Done: you now follow “{name}” ({id}){where}. Alerts arrive as stories appear; "
                "/latest shows recent ones.",
                name=result.topic.name_in(turn.tr.language),
                id=result.topic.id,
                where=where,
            )
        elif result.topic is not None:
            text = turn._(
                "You already follow “{name}” ({id}){where}.",
                name=result.topic.name_in(turn.tr.language),
                id=result.topic.id,
                where=where,
            )
        elif result.created:
            text = turn._(
                "Done: you now follow your own filter{where}: {query}\n"
                "Try it on recent stories with /test, refine it with /filter.",
                query=_code(result.query),
                where=where,
            )
            text = "\n".join([text, *operator_hints(turn, result.query)])
            if subscriptions.plain_words(result.query):  # "없는주제": meant as a topic?
                text += "\n" + turn._(
                    "It is not one of the topics: it brings stories with these words. "
                    "/topics lists the topics."
                )
        else:
            text = turn._(
                "You already follow this filter{where}: {query}",
                query=_code(result.query),
                where=where,
            )
        await turn.reply(text)
        return
    if result.problem == "empty":
        text = turn._(
            "Which topic? Write its id after the command, for example:\n"
            "<code>/subscribe korea-diplomacy</code>\n"
            'or your own filter: <code>/subscribe "north korea" (talks OR summit)</code>\n'
            "See all topics with /topics."
        )
    elif result.problem == "unknown-topic":
        text = turn._(
            "There is no topic “{topic}”. Topics: {known}.\n"
            "For example: <code>/subscribe korea-diplomacy</code>",
            topic=result.detail[:64],
            known=", ".join(sorted(core.config.topics)),
        )
    elif result.problem == "close-to-topic" and result.topic is not None:
        words = subscriptions.name_words(argument)  # "Korea: diplomacy": without the colon
        phrase = _code(f'/subscribe "{" ".join(words)}"')
        if len(words) == 1:  # "technology" for the topic "Technology" (tech)
            instead = turn._(
                "To follow stories with the word itself instead, write it in quotes: {phrase}.",
                phrase=phrase,
            )
        else:
            instead = turn._(
                "To follow stories with these words instead, write them as a filter: "
                "{all_words} (all of them) or {phrase} (as a phrase).",
                all_words=_code("/subscribe " + " AND ".join(words)),
                phrase=phrase,
            )
        text = turn._(
            "“{words}” is not a topic id, but close to the topic “{name}”. Did you mean "
            "<code>/subscribe {id}</code>?",
            words=argument[:64],
            name=result.topic.name_in(turn.tr.language),
            id=result.topic.id,
        )
        text += "\n" + instead
    elif result.problem == "only-exclusions":
        text = turn._(
            "This filter only leaves things out, so it would send you nearly every story "
            "there is. Add the words you want to follow before it, for example:\n"
            '<code>/subscribe korea {filter}</code> or <code>/subscribe "north korea" {filter}</code>',
            filter=result.detail[:200],
        )
    elif result.problem == "too-many":
        text = turn._(
            "This chat already follows {limit} topics and filters, the most allowed. "
            "Drop one with /unsubscribe first; /list shows them.",
            limit=result.detail,
        )
    else:
        text = query_problem(turn, result.problem, result.detail, result.error)
    await turn.reply(text)


@command
async def subscribe(turn: Turn) -> None:
    """Follow a topic or a filter; ``@channel topic`` from a private chat attaches a channel."""
    picked = await target_chat(turn, turn.argument, change=True)
    if picked is None:
        return
    target, rest = picked
    if target.name and not rest:
        await turn.reply(
            turn._(
                "Which topic for {chat}? For example: <code>/subscribe {chat} korea-diplomacy</code>",
                chat=target.name,
            )
        )
        return
    await follow(turn, target, rest)


def _unsubscribe_keyboard(
    turn: Turn, chat_id: int, subs: list[Subscription]
) -> InlineKeyboardMarkup:
    rows = []
    for number, sub in enumerate(subs[:MAX_BUTTONS], start=1):
        label = sub.topic_id if not sub.query else sub.query
        text = f"{number}. {label}"
        rows.append([InlineKeyboardButton(text[:60], callback_data=f"u:{chat_id}:{sub.id}")])
    rows.append(
        [
            InlineKeyboardButton(turn.tr.plain("Stop all…"), callback_data=f"u:{chat_id}:all"),
            InlineKeyboardButton(turn.tr.plain("Cancel"), callback_data=f"u:{chat_id}:no"),
        ]
    )
    return InlineKeyboardMarkup(rows)


def _confirm_keyboard(turn: Turn, chat_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    turn.tr.plain("Yes, stop them all"), callback_data=f"u:{chat_id}:yes"
                ),
                InlineKeyboardButton(
                    turn.tr.plain("No, keep them"), callback_data=f"u:{chat_id}:no"
                ),
            ]
        ]
    )


async def _unsubscribed(turn: Turn, target: Target, result: subscriptions.UnsubscribeResult) -> str:
    where = Html(chat_label(turn, target))
    if result.ok and result.subscription is not None:
        return turn._(
            "Done: you no longer follow {what}{where}.",
            what=Html(describe(turn, result.subscription)),
            where=where,
        )
    if result.problem == "from-config":
        return turn._(
            "That one comes from the bot's configuration file; ask the bot's operator to change it."
        )
    return turn._(
        "This chat does not follow “{what}”. /list shows what it follows, numbered: "
        "<code>/unsubscribe 1</code> stops the first.",
        what=result.detail[:100],
    )


@command
async def unsubscribe(turn: Turn) -> None:
    """Stop one subscription (by topic id, number or filter), or ``all`` after a confirmation."""
    picked = await target_chat(turn, turn.argument, change=True)
    if picked is None:
        return
    target, rest = picked
    store = turn.core.store
    subs = subscriptions.list_subscriptions(store, target.chat_id)
    if not subs:
        await turn.reply(
            turn._(
                "This chat follows nothing{where}. /topics shows what you can follow.",
                where=Html(chat_label(turn, target)),
            )
        )
        return
    if rest.lower() in ("all", "everything", "전체", "모두"):
        await turn.reply(
            turn.n_(
                "Stop the {count} subscription{where}? Alerts stop at once.",
                "Stop all {count} subscriptions{where}? Alerts stop at once.",
                len(subs),
                where=Html(chat_label(turn, target)),
            ),
            keyboard=_confirm_keyboard(turn, target.chat_id),
        )
        return
    if not rest:
        await turn.reply(
            turn._(
                "Which one should I stop{where}? Press it below, or write "
                "<code>/unsubscribe korea-diplomacy</code> or <code>/unsubscribe all</code>.",
                where=Html(chat_label(turn, target)),
            ),
            keyboard=_unsubscribe_keyboard(turn, target.chat_id, subs),
        )
        return
    result = subscriptions.unsubscribe(store, target.chat_id, rest)
    await turn.reply(await _unsubscribed(turn, target, result))


@button
async def unsubscribe_button(turn: Turn, data: list[str]) -> None:
    """The keyboard of /unsubscribe: ``u:<chat>:<subscription id>|all|yes|no``."""
    if len(data) != 3 or not (data[1].lstrip("-").isascii() and data[1].lstrip("-").isdecimal()):
        await turn.answer()
        return
    chat_id, choice = int(data[1]), data[2]
    if not await can_manage(turn, chat_id):
        await turn.answer(
            turn.tr.plain("Only administrators can change what this chat follows."), alert=True
        )
        return
    target = Target(chat_id, "" if chat_id == turn.chat_id else _chat_name(turn, chat_id))
    store = turn.core.store
    if choice == "no":
        await turn.answer()
        await turn.edit(turn._("Nothing changed."))
    elif choice == "all":
        await turn.answer()
        count = len(subscriptions.list_subscriptions(store, chat_id))
        await turn.edit(
            turn.n_(
                "Stop the {count} subscription{where}? Alerts stop at once.",
                "Stop all {count} subscriptions{where}? Alerts stop at once.",
                count,
                where=Html(chat_label(turn, target)),
            ),
            keyboard=_confirm_keyboard(turn, chat_id),
        )
    elif choice == "yes":
        removed = subscriptions.unsubscribe_all(store, chat_id)
        await turn.answer()
        kept = len(subscriptions.list_subscriptions(store, chat_id))
        text = turn.n_(
            "Done: stopped {count} subscription{where}.",
            "Done: stopped {count} subscriptions{where}.",
            removed,
            where=Html(chat_label(turn, target)),
        )
        if kept:
            text += "\n" + turn.n_(
                "{count} from the bot's configuration file stays; the operator manages it.",
                "{count} from the bot's configuration file stay; the operator manages them.",
                kept,
            )
        await turn.edit(text)
    elif choice.isascii() and choice.isdecimal():
        result = subscriptions.remove_subscription(store, chat_id, int(choice))
        await turn.answer()
        await turn.edit(await _unsubscribed(turn, target, result))
    else:
        await turn.answer()


def _chat_name(turn: Turn, chat_id: int) -> str:
    chat = turn.core.store.chats.get(chat_id)
    if chat is None:
        return str(chat_id)
    return f"@{chat.username}" if chat.username else (chat.title or str(chat_id))


@command
async def list_command(turn: Turn) -> None:
    """What this chat follows, with filters, mode and pause state; anyone may read it."""
    picked = await target_chat(turn, turn.argument, change=False)
    if picked is None:
        return
    target, _ = picked
    core = turn.core
    subs = subscriptions.list_subscriptions(core.store, target.chat_id)
    chat = core.store.chats.get(target.chat_id)
    where = Html(chat_label(turn, target))
    if not subs:
        lines = [
            turn._(
                "This chat follows nothing yet{where}. Start with /topics, then "
                "<code>/subscribe korea-diplomacy</code>.",
                where=where,
            )
        ]
    else:
        lines = [turn._("<b>Followed{where}:</b>", where=where)]
        faults = core.store.chats.topic_faults(target.chat_id)
        for number, sub in enumerate(subs, start=1):
            line = f"{number}. {describe(turn, sub)}"
            if sub.from_config:
                line += " " + turn._("(from the configuration file)")
            if sub.thread_id is not None:
                line += " " + (
                    turn._("(posted in a forum topic that Telegram refuses now: in General)")
                    if sub.thread_id in faults
                    else turn._("(posted in a forum topic)")
                )
            lines.append(line)
            if sub.narrow:
                lines.append("   " + turn._("only with: {query}", query=_code(sub.narrow)))
            if sub.widen:
                lines.append("   " + turn._("also: {query}", query=_code(sub.widen)))
    if chat is not None:
        lines.append("")
        lines.append(settings_summary(turn, chat))
        lines.append(delivery_summary(turn, chat))
    await turn.reply_lines(lines)


def settings_summary(turn: Turn, chat: Chat) -> str:
    """Alerts: instant · link previews off · language · paused or not (escaped)."""
    assert isinstance(chat, Chat)
    if chat.alert_mode != "digest":
        mode = turn._("instant")
    elif chat.digest_every == "hourly":
        mode = turn._("hourly digest")
    else:
        mode = turn._("daily digest")
    preview_on = chats.link_preview_on(chat, turn.core.config.alerts.link_preview)
    preview = turn._("on") if preview_on else turn._("off")
    language = LANGUAGE_NAMES.get(chat.language, chat.language)
    state = turn._("paused (/resume)") if chat.paused else turn._("active")
    return turn._(
        "Alerts: {mode} · link previews {preview} · language {language} · {state}",
        mode=Html(mode),
        preview=Html(preview),
        language=language,
        state=Html(state),
    )


def _filter_in_words(turn: Turn, result: subscriptions.FilterResult) -> str:
    """What a /filter of plain words did, said in words ("now leaves out stories that
    mention “x”"); "" when the filter is more than words (fields, groups, brackets)."""
    if result.action not in ("narrow", "widen") or result.before is None:
        return ""
    kind, terms = subscriptions.filter_terms(result.change)
    if not terms or (kind == "without" and result.action == "widen"):
        return ""
    quoted = [f"“{html.escape(term, quote=False)}”" for term in terms]
    listed = quoted[0]
    for term in quoted[1:]:
        if kind == "without":
            listed = turn._("{first} or {second}", first=Html(listed), second=Html(term))
        else:
            listed = turn._("{first} and {second}", first=Html(listed), second=Html(term))
    what = Html(describe(turn, result.before))
    if kind == "without":
        return turn._(
            "Done: {what} now leaves out stories that mention {terms}.",
            what=what,
            terms=Html(listed),
        )
    if result.action == "widen":
        return turn._(
            "Done: {what} now also brings stories that mention {terms}.",
            what=what,
            terms=Html(listed),
        )
    return turn._(
        "Done: {what} now brings only the stories that also mention {terms}.",
        what=what,
        terms=Html(listed),
    )


@command
async def filter_command(turn: Turn) -> None:
    """Narrow (``-sports``), widen (``OR kaesong``) or ``clear`` one subscription's filter."""
    picked = await target_chat(turn, turn.argument, change=True)
    if picked is None:
        return
    target, rest = picked
    reference, _, expression = rest.partition(" ")
    # what the examples of a reply write: the chat as it was named, then the reference
    example_ref = " ".join(p for p in (split_chat_reference(turn.argument)[0], reference) if p)
    store = turn.core.store
    if not reference:
        subs = subscriptions.list_subscriptions(store, target.chat_id)
        listing = "\n".join(f"{n}. {describe(turn, s)}" for n, s in enumerate(subs, start=1))
        text = turn._(
            "Narrow or widen something you follow: name it (its number in /list or its "
            "topic id), then the filter.\n"
            "<code>/filter korea-diplomacy -sports</code> — only stories without “sports”\n"
            "<code>/filter korea-diplomacy OR kaesong</code> — also stories about Kaesong\n"
            "<code>/filter 1 clear</code> — back to the topic as defined"
        )
        await turn.reply(text + ("\n\n" + listing if listing else ""))
        return
    result = subscriptions.apply_filter(
        store, target.chat_id, reference, expression, topics=turn.core.config.topics
    )
    if result.ok and result.subscription is not None:
        sub = result.subscription
        in_words = _filter_in_words(turn, result)
        if in_words:
            text = in_words
        elif result.action == "clear":
            text = turn._(
                "Done: {what} follows the topic as defined again.", what=Html(describe(turn, sub))
            )
        elif sub.query:
            text = turn._("Done: your filter is now {query}", query=_code(sub.query))
        else:
            text = turn._("Done: {what} is now:", what=Html(describe(turn, sub)))
            if sub.narrow:
                text += "\n   " + turn._("only with: {query}", query=_code(sub.narrow))
            if sub.widen:
                text += "\n   " + turn._("also: {query}", query=_code(sub.widen))
        text += "\n" + turn._("Check what it would catch with /latest.")
        await turn.reply(text)
        return
    problem = result.problem
    if problem == "not-found":
        text = turn._(
            "This chat does not follow “{what}”. /list shows what it follows, numbered: "
            "<code>/filter 1 -sports</code> narrows the first.",
            what=result.detail[:100],
        )
    elif problem == "no-expression":
        text = turn._(
            "What should change? For example <code>/filter {ref} -sports</code> to leave "
            "out sports, <code>/filter {ref} OR kaesong</code> to add stories about Kaesong.",
            ref=example_ref,
        )
    elif problem == "from-config":
        text = turn._(
            "That one comes from the bot's configuration file; ask the bot's operator to change it."
        )
    elif problem == "nothing-to-clear":
        text = turn._(
            "There is no extra filter on that one to clear. To change your own filter, "
            "/unsubscribe it and /subscribe the new one."
        )
    elif problem == "already" and result.subscription is not None:
        text = turn._(
            "{what} already has {query}: nothing changed. /list shows its filters.",
            what=Html(describe(turn, result.subscription)),
            query=_code(result.detail),
        )
    elif problem == "in-topic" and result.subscription is not None:
        what, query = Html(describe(turn, result.subscription)), _code(result.detail)
        if result.action == "widen":
            text = turn._(
                "{what} already brings stories with {query}: it is part of the topic's own "
                "query, so nothing changed.",
                what=what,
                query=query,
            )
        else:
            text = turn._(
                "{what} already asks for {query}: it is part of the topic's own query, so "
                "nothing changed.",
                what=what,
                query=query,
            )
    elif problem == "duplicate":
        text = turn._("You already follow exactly that filter; /list shows it.")
    else:
        text = query_problem(turn, problem, result.detail, result.error, filter_of=example_ref)
    await turn.reply(text)
