"""A chat's settings: /settings (an inline keyboard), /pause, /resume, /language, /footer,
/template."""

from __future__ import annotations

import hashlib
import html
import logging

from telegram import BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError

from bot.config.durations import format_interval
from bot.config.template import PARTS, TemplateError, format_template
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, N_, Html, translator
from bot.service import chats, subscriptions
from bot.service import settings as chat_settings
from bot.service.chats import ChatInfo
from handlers.common import (
    Target,
    Turn,
    button,
    can_manage,
    chat_label,
    command,
    require_admin,
    target_chat,
)
from handlers.delivery import delivery_summary
from handlers.menu import command_menu
from handlers.subscriptions import settings_summary

log = logging.getLogger(__name__)

MAX_TOPIC_BUTTONS = 40
_LANGUAGE_WORDS = {
    "en": "en",
    "eng": "en",
    "english": "en",
    "영어": "en",
    "ko": "ko",
    "kr": "ko",
    "kor": "ko",
    "korean": "ko",
    "한국어": "ko",
    "한국말": "ko",
}


def _topic_ref(chat_id: int, topic_id: str) -> str:
    """The topic in button data: its id, or a short hash when the data would pass 64 bytes."""
    if len(f"s:{chat_id}:t:{topic_id}".encode()) <= 64:
        return topic_id
    return "#" + hashlib.sha1(topic_id.encode()).hexdigest()[:10]


def _topic_from_ref(turn: Turn, ref: str) -> str | None:
    topics = turn.core.config.topics
    if not ref.startswith("#"):
        return ref if ref in topics else None
    for topic_id in topics:
        if "#" + hashlib.sha1(topic_id.encode()).hexdigest()[:10] == ref:
            return topic_id
    return None


def settings_view(turn: Turn, target: Target) -> tuple[str, InlineKeyboardMarkup]:
    """The settings message and its keyboard for ``target``."""
    core = turn.core
    chat_id = target.chat_id
    chat = core.store.chats.get(chat_id)
    assert chat is not None
    plain = turn.tr.plain
    followed = {
        s.topic_id for s in subscriptions.list_subscriptions(core.store, chat_id) if not s.query
    }
    rows = []
    for topic in subscriptions.list_topics(core.config.topics)[:MAX_TOPIC_BUTTONS]:
        mark = "✅" if topic.id in followed else "➕"
        rows.append(
            [
                InlineKeyboardButton(
                    f"{mark} {topic.name_in(turn.tr.language)}"[:60],
                    callback_data=f"s:{chat_id}:t:{_topic_ref(chat_id, topic.id)}",
                )
            ]
        )
    mode = plain("Alerts: instant") if chat.alert_mode != "digest" else plain("Alerts: digest")
    # (the digest's schedule, time zone and quiet hours: /digest, /timezone, /quiet)
    preview_on = chats.link_preview_on(chat, core.config.alerts.link_preview)
    preview = plain("Link previews: on") if preview_on else plain("Link previews: off")
    language = plain("Language: {name}", name=LANGUAGE_NAMES.get(chat.language, chat.language))
    pause = plain("Resume alerts") if chat.paused else plain("Pause alerts")
    size = chats.image_size(chat, core.config.alerts.image)
    picture = {
        "large": plain("Pictures: large"),
        "small": plain("Pictures: small"),
    }.get(size, plain("Pictures: off"))
    # breaking news through quiet hours and digests, or with everything else
    breaking = (
        plain("Breaking news: at once")
        if chat.breaking_through
        else plain("Breaking news: as usual")
    )
    rows += [
        [
            InlineKeyboardButton(mode, callback_data=f"s:{chat_id}:m"),
            InlineKeyboardButton(preview, callback_data=f"s:{chat_id}:p"),
        ],
        [
            InlineKeyboardButton(picture, callback_data=f"s:{chat_id}:i"),
            InlineKeyboardButton(breaking, callback_data=f"s:{chat_id}:b"),
        ],
        [
            InlineKeyboardButton(language, callback_data=f"s:{chat_id}:l"),
            InlineKeyboardButton(pause, callback_data=f"s:{chat_id}:z"),
        ],
        [InlineKeyboardButton(plain("Done"), callback_data=f"s:{chat_id}:x")],
    ]
    # another chat (a channel managed from here) is named in the commands' examples
    where = (
        "" if chat_id == turn.chat_id else f"@{chat.username} " if chat.username else f"{chat_id} "
    )
    text = "\n".join(
        [
            turn._("<b>Settings{where}</b>", where=Html(chat_label(turn, target))),
            settings_summary(turn, chat),
            delivery_summary(turn, chat),
            "",
            turn._(
                "Press a topic to follow it (✅) or stop (➕ to follow again). Your own "
                "filters are in /list."
            ),
            # the keyboard has no buttons for these: they take a value
            turn._(
                "Time zone, digest time and quiet hours: <code>/timezone {zone}</code>, "
                "<code>/digest {digest}</code>, <code>/quiet {quiet}</code>.",
                zone=where + "Asia/Seoul",
                digest=where + "daily 08:00",
                quiet=where + "23:00-07:00",
            ),
        ]
    )
    return text, InlineKeyboardMarkup(rows)


@command
async def settings(turn: Turn) -> None:
    """The settings keyboard; in a group, only administrators may open it."""
    picked = await target_chat(turn, turn.argument, change=True)
    if picked is None:
        return
    target, _ = picked
    text, keyboard = settings_view(turn, target)
    await turn.reply(text, keyboard=keyboard)


def _target_for(turn: Turn, chat_id: int) -> Target:
    if chat_id == turn.chat_id:
        return Target(chat_id)
    chat = turn.core.store.chats.get(chat_id)
    name = str(chat_id)
    if chat is not None:
        name = f"@{chat.username}" if chat.username else (chat.title or name)
    return Target(chat_id, name)


@button
async def settings_button(turn: Turn, data: list[str]) -> None:
    """``s:<chat>:<t:topic|m|p|i|b|l|z|x>``: one press of the settings keyboard."""
    if len(data) < 3 or not (data[1].lstrip("-").isascii() and data[1].lstrip("-").isdecimal()):
        await turn.answer()
        return
    chat_id, op = int(data[1]), data[2]
    core = turn.core
    if core.store.chats.get(chat_id) is None:
        await turn.answer()
        return
    if not await can_manage(turn, chat_id):
        await turn.answer(
            turn.tr.plain("Only administrators can change this chat's settings."), alert=True
        )
        return
    target = _target_for(turn, chat_id)
    chat = core.store.chats.get(chat_id)
    assert chat is not None
    note = ""  # a pop-up to dismiss
    toast = ""  # a line that fades by itself
    if op == "x":
        await turn.answer()
        await turn.edit(
            "\n".join(
                [
                    turn._("<b>Settings{where}</b>", where=Html(chat_label(turn, target))),
                    settings_summary(turn, chat),
                ]
            )
        )
        return
    if op == "t" and len(data) >= 4:
        topic_id = _topic_from_ref(turn, ":".join(data[3:]))
        if topic_id is None:
            await turn.answer(turn.tr.plain("That topic is gone; here is the current list."))
        else:
            info = ChatInfo(
                chat_id=chat_id, type=chat.type, title=chat.title, username=chat.username
            )
            result = subscriptions.toggle_topic(core.store, core.config.topics, info, topic_id)
            if not result.ok and result.problem == "too-many":
                note = turn.tr.plain(
                    "This chat follows the most allowed ({limit}); stop one first.",
                    limit=subscriptions.MAX_SUBSCRIPTIONS_PER_CHAT,
                )
            elif not result.ok and result.problem == "from-config":
                note = turn.tr.plain("That one comes from the configuration file.")
    elif op == "m":
        every = "instant" if chat.alert_mode == "digest" else (chat.digest_every or "daily")
        chat_settings.set_digest(core.store, chat_id, every)
    elif op == "p":
        on = chats.link_preview_on(chat, core.config.alerts.link_preview)
        if not chat_settings.set_link_preview(core.store, chat_id, not on).ok:
            note = _set_in_the_config(turn)
    elif op == "b":
        at_once = not chat.breaking_through
        chat_settings.set_breaking_through(core.store, chat_id, at_once)
        toast = _breaking_toast(turn, at_once)
    elif op == "i":
        size = chats.image_size(chat, core.config.alerts.image)
        if not chat_settings.set_image(core.store, chat_id, chat_settings.next_image_size(size)).ok:
            note = _set_in_the_config(turn)
    elif op == "l":
        position = LANGUAGES.index(chat.language) if chat.language in LANGUAGES else 0
        language = LANGUAGES[(position + 1) % len(LANGUAGES)]
        chats.choose_language(core.store, chat_id, language)
        if chat_id == turn.chat_id:
            turn.tr = translator(language)
            await _set_chat_menu(turn, chat_id, language)
    elif op == "z":
        chats.set_paused(core.store, chat_id, not chat.paused)
    await turn.answer(note or toast, alert=bool(note))
    text, keyboard = settings_view(turn, target)
    await turn.edit(text, keyboard=keyboard)


# a [[channels]] chat's previews, pictures and template: every start and /reload sets them
_FROM_CONFIG = N_(
    "That one comes from the bot's configuration file; ask the bot's operator to change it."
)


def _set_in_the_config(turn: Turn) -> str:
    return turn.tr.plain(_FROM_CONFIG)


def _breaking_toast(turn: Turn, at_once: bool) -> str:
    """What the "Breaking news" button now means: the button's two words do not say."""
    if not at_once:
        return turn.tr.plain(
            "Breaking news now comes as your other alerts do: quiet hours and digests apply to it."
        )
    alerts = turn.core.config.alerts
    return turn.tr.plain(
        "Breaking news (a story {outlets} outlets carry within {window}) now comes at once, "
        "even in quiet hours or when this chat takes digests.",
        outlets=alerts.breaking_outlets,
        window=format_interval(alerts.breaking_window),
    )


async def _pause(turn: Turn, paused: bool) -> None:
    picked = await target_chat(turn, turn.argument, change=True)
    if picked is None:
        return
    target, _ = picked
    changed = chats.set_paused(turn.core.store, target.chat_id, paused)
    where = Html(chat_label(turn, target))
    if paused:
        text = (
            turn._("Alerts paused{where}. /resume starts them again.", where=where)
            if changed
            else turn._("Alerts are already paused{where}. /resume starts them again.", where=where)
        )
    else:
        text = (
            turn._("Alerts resumed{where}. New stories arrive as they appear.", where=where)
            if changed
            else turn._("Alerts are not paused{where}; /pause stops them for a while.", where=where)
        )
    await turn.reply(text)


@command
async def pause(turn: Turn) -> None:
    """Stop alerts for a while, keeping what the chat follows."""
    await _pause(turn, True)


@command
async def resume(turn: Turn) -> None:
    """Start alerts again."""
    await _pause(turn, False)


def _language_keyboard(chat_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=f"l:{chat_id}:{code}")
                for code in LANGUAGES
            ]
        ]
    )


async def _set_chat_menu(turn: Turn, chat_id: int, language: str) -> None:
    """Show this chat the command menu in its chosen language, whatever the app's language."""
    try:
        await turn.context.bot.set_my_commands(
            command_menu(language, operator=turn.is_operator and turn.is_private),
            scope=BotCommandScopeChat(chat_id),
        )
    except TelegramError as e:  # the menu is a nicety; the choice itself is saved
        log.info("could not set the command menu of chat %s: %s", chat_id, e)


async def _choose(turn: Turn, chat_id: int, language: str) -> str:
    chats.choose_language(turn.core.store, chat_id, language)
    await _set_chat_menu(turn, chat_id, language)
    turn.tr = translator(language)
    return (
        turn._("Done: I will answer in English here.")
        if language == "en"
        else turn._("Done: I will answer in Korean here.")
    )


@command
async def language(turn: Turn) -> None:
    """Choose the language of replies and of the command menu in this chat."""
    argument = turn.argument.strip().lower()
    if not argument:
        current = LANGUAGE_NAMES.get(turn.tr.language, turn.tr.language)
        await turn.reply(
            turn._(
                "I answer here in {language}. Choose a language, or write "
                "<code>/language ko</code> or <code>/language en</code>.",
                language=current,
            ),
            keyboard=_language_keyboard(turn.chat_id),
        )
        return
    chosen = _LANGUAGE_WORDS.get(argument)
    channel, _, word = argument.partition(" ")
    if chosen is None and channel.startswith("@") and len(channel) > 1:
        # /footer @mychannel ... works from here, so people try this too
        await turn.reply(
            turn._(
                "A channel's language is chosen in the channel: post "
                "<code>/language {language}</code> there (or set <code>language</code> in "
                "its <code>[[channels]]</code> entry of the config file).",
                language=_LANGUAGE_WORDS.get(word.strip(), "ko"),
            )
        )
        return
    if chosen is None:
        await turn.reply(
            turn._(
                "I speak English and Korean: <code>/language en</code> or "
                "<code>/language ko</code>."
            )
        )
        return
    if not await require_admin(turn):
        return
    await turn.reply(await _choose(turn, turn.chat_id, chosen))


@button
async def language_button(turn: Turn, data: list[str]) -> None:
    """``l:<chat>:<language>``."""
    if (
        len(data) != 3
        or not (data[1].lstrip("-").isascii() and data[1].lstrip("-").isdecimal())
        or data[2] not in LANGUAGES
    ):
        await turn.answer()
        return
    chat_id = int(data[1])
    if not await can_manage(turn, chat_id):
        await turn.answer(
            turn.tr.plain("Only administrators can change this chat's settings."), alert=True
        )
        return
    text = await _choose(turn, chat_id, data[2])
    await turn.answer()
    await turn.edit(text)


@command
async def footer(turn: Turn) -> None:
    """The line under each alert in this chat (a channel's own, say); ``clear`` for the default."""
    picked = await target_chat(turn, turn.argument, change=True)
    if picked is None:
        return
    target, rest = picked
    core = turn.core
    where = Html(chat_label(turn, target))
    if not rest:
        chat = core.store.chats.get(target.chat_id)
        current = core.footer_for(chat) if chat else ""
        await turn.reply(
            turn._(
                "Alerts{where} end with: {footer}\n"
                "Change it with <code>/footer Join @mychannel for more news</code>, or go back "
                "to the default with <code>/footer clear</code>.",
                where=where,
                footer=Html(f"<i>{html.escape(current, quote=False)}</i>"),
            )
        )
        return
    result = chats.set_footer(core.store, target.chat_id, rest)
    if result.ok:
        text = (
            turn._("Done: alerts{where} now end with: {footer}", where=where, footer=result.footer)
            if result.footer
            else turn._("Done: alerts{where} end with the default footer again.", where=where)
        )
    elif result.problem == "too-long":
        text = turn._("That footer is too long: at most {limit} characters.", limit=result.detail)
    else:
        text = turn._(
            "This chat's footer is set in the bot's configuration file; ask the bot's "
            "operator to change it."
        )
    await turn.reply(text)


def _template_problem(turn: Turn, error: TemplateError | None) -> str:
    """What is wrong with a template, in the reader's language."""
    if error is not None and error.kind == "unknown":
        return turn._("There is no part “{part}”.", part=error.part[:40])
    if error is not None and error.kind == "twice":
        return turn._("“{part}” is named twice; name each part once.", part=error.part)
    return turn._("A template needs “title” or “summary”: a message needs text.")


@command
async def template(turn: Turn) -> None:
    """``/template title, source, summary, button`` (or ``default``): the parts of alerts."""
    picked = await target_chat(turn, turn.argument, change=True)
    if picked is None:
        return
    target, rest = picked
    core = turn.core
    where = Html(chat_label(turn, target))
    usage = turn._(
        "The parts: {parts}.\n"
        "For example <code>/template title, source, summary, button</code>, or "
        "<code>/template default</code> for the usual layout.",
        parts=format_template(PARTS),
    )
    if not rest:
        chat = core.store.chats.get(target.chat_id)
        current = (chat.template if chat else "") or format_template(core.config.alerts.template)
        await turn.reply(
            turn._("Alerts{where} show: {template}", where=where, template=_code(current))
            + "\n"
            + usage
        )
        return
    result = chat_settings.set_template(core.store, target.chat_id, rest)
    if result.ok:
        chat = result.chat or core.store.chats.get(target.chat_id)
        shown = (chat.template if chat else "") or format_template(core.config.alerts.template)
        await turn.reply(
            turn._("Done: alerts{where} now show: {template}", where=where, template=_code(shown))
        )
        return
    if result.problem == "from-config":
        await turn.reply(turn._(_FROM_CONFIG))
        return
    await turn.reply(_template_problem(turn, result.error) + "\n" + usage)


def _code(text: str) -> Html:
    return Html(f"<code>{html.escape(text, quote=False)}</code>")
