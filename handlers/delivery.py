"""When alerts arrive: /digest (instant, hourly or daily), /timezone, /quiet (quiet hours).

The rules live in ``bot.service.settings`` and ``bot.delivery.digest``; these handlers parse, call
them, and say what changed."""

from __future__ import annotations

from bot.delivery.digest import chat_zone, zone_meant
from bot.delivery.labels import alert_labels
from bot.delivery.render import format_time
from bot.i18n import Html
from bot.records import utcnow
from bot.service import settings as chat_settings
from handlers.common import Target, Turn, chat_label, command, target_chat
from storage.chats import Chat


def delivery_summary(turn: Turn, chat: Chat) -> str:
    """How alerts reach the chat, in one line (escaped)."""
    if chat.alert_mode != "digest":
        mode = turn._("each alert at once")
    elif chat.digest_every == "hourly":
        mode = turn._("an hourly digest")
    else:
        mode = turn._("a daily digest at {time}", time=chat.digest_at)
    if chat.quiet_start and chat.quiet_end:
        quiet = (
            turn._(
                "quiet hours {start}–{end}, held until they end",
                start=chat.quiet_start,
                end=chat.quiet_end,
            )
            if chat.quiet_mode != "silent"
            else turn._(
                "quiet hours {start}–{end}, sent without a sound",
                start=chat.quiet_start,
                end=chat.quiet_end,
            )
        )
    else:
        quiet = turn._("no quiet hours")
    return turn._(
        "Delivery: {mode} · time zone {zone} · {quiet}",
        mode=Html(mode),
        zone=chat.timezone,
        quiet=Html(quiet),
    )


def _naming(turn: Turn, target: Target) -> str:
    """What a command's example puts before its value to name ``target``: nothing for
    the chat written in, else its @username (or its numeric id) and a space."""
    if target.chat_id == turn.chat_id:
        return ""
    return (target.name if target.name.startswith("@") else str(target.chat_id)) + " "


def _chat(turn: Turn, target: Target) -> Chat:
    chat = turn.core.store.chats.get(target.chat_id)
    assert chat is not None  # every chat that writes to us, or is named, is registered
    return chat


async def _done(
    turn: Turn,
    target: Target,
    result: chat_settings.SettingResult,
    *,
    clock: bool = False,
    now_there: bool = False,
) -> None:
    """Say what changed; ``clock``: the change set a time of day, which a chat that never
    chose a zone reads in UTC (a Seoul chat's "23:00" would be 08:00 there);
    ``now_there``: the time in the chat's zone, to check the zone is the one meant."""
    chat = result.chat or _chat(turn, target)
    text = (
        turn._("Done{where}.", where=Html(chat_label(turn, target)))
        + "\n"
        + delivery_summary(turn, chat)
    )
    if now_there:
        labels = alert_labels(turn.tr.language)
        text += "\n" + turn._(
            "It is {time} there now.", time=format_time(utcnow(), chat_zone(chat), labels)
        )
    if clock and chat.timezone == "UTC":
        text += "\n" + turn._(
            "These times are UTC. If you live elsewhere, set your time zone first, for "
            "example <code>/timezone {example}</code>.",
            example=_naming(turn, target) + "Asia/Seoul",
        )
    await turn.reply(text)


@command
async def digest(turn: Turn) -> None:
    """``/digest instant | hourly | daily [HH:MM]``."""
    picked = await target_chat(turn, turn.argument, change=True)
    if picked is None:
        return
    target, rest = picked
    usage = turn._(
        "<code>/digest daily 08:00</code> — one message a day with everything, at that "
        "local time\n<code>/digest hourly</code> — one message an hour\n"
        "<code>/digest instant</code> — each alert at once"
    )
    if not rest:
        await turn.reply(delivery_summary(turn, _chat(turn, target)) + "\n\n" + usage)
        return
    result = chat_settings.set_digest(turn.core.store, target.chat_id, rest)
    if result.ok:
        chat = result.chat
        await _done(
            turn,
            target,
            result,
            clock=chat is not None and chat.alert_mode == "digest" and chat.digest_every == "daily",
        )
    elif result.problem == "bad-time":
        await turn.reply(
            turn._(
                "“{time}” is not a time of day; write it like 08:00 or 19:30.",
                time=result.detail[:40],
            )
            + "\n\n"
            + usage
        )
    else:
        await turn.reply(
            turn._("I do not know “{mode}”.", mode=result.detail[:40]) + "\n\n" + usage
        )


@command
async def timezone(turn: Turn) -> None:
    """``/timezone Asia/Seoul`` (or ``UTC+9``): the clock of alerts, digests and quiet hours."""
    picked = await target_chat(turn, turn.argument, change=True)
    if picked is None:
        return
    target, rest = picked
    usage = turn._(
        "For example <code>/timezone Asia/Seoul</code>, <code>/timezone Europe/London</code> "
        "or <code>/timezone UTC+9</code>."
    )
    if not rest:
        chat = _chat(turn, target)
        await turn.reply(
            turn._(
                "Times in alerts and /latest, digest times and quiet hours here use {zone}.",
                zone=chat.timezone,
            )
            + "\n"
            + usage
        )
        return
    result = chat_settings.set_timezone(turn.core.store, target.chat_id, rest)
    if result.ok:
        await _done(turn, target, result, now_there=True)
    else:
        text = turn._("I do not know the time zone “{zone}”.", zone=result.detail[:60])
        meant = zone_meant(result.detail)
        if meant:
            text += " " + turn._(
                "Did you mean <code>/timezone {zone}</code>?",
                zone=_naming(turn, target) + meant,
            )
        await turn.reply(text + "\n" + usage)


@command
async def quiet(turn: Turn) -> None:
    """``/quiet 23:00-07:00 [silent]`` or ``/quiet off``."""
    picked = await target_chat(turn, turn.argument, change=True)
    if picked is None:
        return
    target, rest = picked
    usage = turn._(
        "<code>/quiet 23:00-07:00</code> — hold alerts at night and send them when it ends\n"
        "<code>/quiet 23:00-07:00 silent</code> — send them, but without a sound\n"
        "<code>/quiet off</code> — no quiet hours"
    )
    if not rest:
        await turn.reply(delivery_summary(turn, _chat(turn, target)) + "\n\n" + usage)
        return
    result = chat_settings.set_quiet_hours(turn.core.store, target.chat_id, rest)
    if result.ok:
        await _done(turn, target, result, clock=bool(result.chat and result.chat.quiet_start))
    elif result.problem == "same-time":
        await turn.reply(
            turn._(
                "Quiet hours need two different times: they would start and end at {time}. "
                "Write when they start, then when they end.",
                time=result.detail,
            )
            + "\n\n"
            + usage
        )
    else:
        await turn.reply(
            turn._("I cannot read “{range}” as quiet hours.", range=result.detail[:60])
            + "\n\n"
            + usage
        )
