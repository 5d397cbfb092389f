"""Alerts that learn: the 👍/👎/❔ buttons under each alert, /why and /feedback."""

from __future__ import annotations

import asyncio
import html

from telegram import Message, MessageEntity, MessageOriginChannel
from telegram.constants import ChatType

from bot.i18n import Html
from bot.records import Delivery, utcnow
from bot.service import feedback
from handlers.common import Turn, button, can_manage, command, score_shown, why_shown

LISTED = 30  # /feedback lists this many votes, newest last
ALL_WORDS = ("all", "everything", "전체", "모두")  # /feedback clear all: the same as alone
VOTE_ANSWER_WITHIN = 3.0  # seconds: a 👍/👎 is answered by then, recorded or not yet
EXPLAIN_ANSWER_WITHIN = 3.0  # seconds: a ❔ is answered by then; a later reason is a message


@button
async def feedback_button(turn: Turn, data: list[str]) -> None:
    """``f:<delivery id>:+|-|?`` under an alert: more or fewer like this, or why it came."""
    if len(data) != 3 or not data[1].isdecimal() or data[2] not in "+-?":
        await turn.answer()
        return
    store = turn.core.store
    delivery = store.outbox.get(int(data[1]))
    if delivery is None or delivery.chat_id != turn.chat_id:
        await turn.answer(turn.tr.plain("That alert is no longer known."), alert=True)
        return
    if data[2] == "?":
        await _explain_button(turn, delivery)
        return
    if not turn.is_private and not await can_manage(turn, turn.chat_id):
        await turn.answer(
            turn.tr.plain("Only administrators can teach this chat what it wants."), alert=True
        )
        return
    value = 1 if data[2] == "+" else -1
    if value > 0:
        text = turn.tr.plain("👍 Noted: more like this. /feedback lists what you taught.")
    else:
        text = turn.tr.plain(
            "👎 Noted: fewer like this in this chat. /feedback lists and clears what you taught."
        )
    # the vote keeps the article's meaning: the first one after a start may load a model
    # for many seconds, and Telegram drops a button's answer that comes after about 15
    voting = asyncio.ensure_future(feedback.vote(store, delivery, value))
    await asyncio.wait({voting}, timeout=VOTE_ANSWER_WITHIN)
    if voting.done():
        stored = voting.result() is not None
    else:  # recorded when its meaning is made; the story is there, as vote() will find
        stored = store.articles.get(delivery.article_key) is not None
    if stored:
        await turn.answer(text)
    else:
        await turn.answer(turn.tr.plain("That story is no longer stored."), alert=True)
    await voting


async def _explain_button(turn: Turn, delivery: Delivery) -> None:
    """The ❔'s reason as a pop-up; when it takes long (the first after a start may load a
    model for many seconds, and Telegram drops a button's answer after about 15), a short
    pop-up at once and the reason as a reply to the alert once made."""
    explaining = asyncio.ensure_future(_explanation(turn, delivery, plain=True))
    await asyncio.wait({explaining}, timeout=EXPLAIN_ANSWER_WITHIN)
    if explaining.done():
        await turn.answer(explaining.result()[:200], alert=True)
        return
    await turn.answer(turn.tr.plain("Working it out… the reason follows in this chat."))
    text = await explaining
    await turn.reply(Html(html.escape(text, quote=False)), quote_pressed=True)


async def _explanation(turn: Turn, delivery: Delivery, *, plain: bool) -> str:
    found = await feedback.explain(
        turn.core.store, turn.core.config.topics, delivery, language=turn.tr.language
    )
    tr = turn.tr
    if found is None:
        return tr.plain("That story is no longer stored.")
    if not found.rule:
        text = tr.plain("None of this chat's subscriptions matches it any more.")
    else:
        text = tr.plain(
            "Sent for {rule}: matched {terms} (score {score}).",
            rule=found.rule,
            terms=why_shown(found.why, 6) or "-",
            score=score_shown(found.score),
        )
    if found.nearest is not None and found.nearest.vote:
        face = "👍" if found.nearest.vote > 0 else "👎"
        text += " " + tr.plain(
            "Closest thing you rated: {face} {title} (similarity {similarity}).",
            face=face,
            title=found.nearest.title[:60],
            similarity=f"{found.nearest.similarity:.2f}",
        )
    return text if plain else html.escape(text, quote=False)


@command
async def why(turn: Turn) -> None:
    """Why an alert was sent: the one replied to, else the chat's latest."""
    store = turn.core.store
    message = turn.update.effective_message
    replied = message.reply_to_message if message is not None else None
    # in a channel's discussion group the alert is the channel's post, forwarded there
    where, replied_id = _alert_of(turn, replied) if replied is not None else (turn.chat_id, 0)
    delivery = (
        store.outbox.by_message(where, replied_id)
        if replied is not None
        else store.outbox.last_sent(turn.chat_id)
    )
    if delivery is None and replied is not None and (days := _pruned_days(turn, replied)):
        await turn.reply(
            turn.n_(
                "This alert is older than the retention window ({days} day); its reasons are gone.",
                "This alert is older than the retention window ({days} days); its reasons "
                "are gone.",
                days,
                days=days,
            )
        )
        return
    if delivery is None and replied is not None:
        await turn.reply(
            turn._(
                "The message you replied to is not one of my alerts (or one too old to "
                "remember). Reply with /why to an alert, or write /why alone to hear about "
                "the latest alert here."
            )
        )
        return
    if delivery is None:
        await turn.reply(
            turn._("Reply to an alert with /why to see why it was sent; none was sent here yet.")
        )
        return
    await turn.reply(Html(await _explanation(turn, delivery, plain=False)))


def _alert_of(turn: Turn, replied: Message) -> tuple[int, int]:
    """(chat, message id) of the alert that ``replied`` is: itself, or, in a channel's
    discussion group, the channel post that Telegram forwarded there."""
    origin = replied.forward_origin
    if replied.is_automatic_forward and isinstance(origin, MessageOriginChannel):
        return origin.chat.id, origin.message_id
    return turn.chat_id, replied.message_id


def _by_us(turn: Turn, replied: Message) -> bool:
    """Whether the bot may have posted ``replied``: its own message in a chat or group; in
    a channel (and forwarded from it to its discussion group) every post is signed by the
    channel, the bot's as the administrators', so the alert's look must tell."""
    sender = replied.from_user
    if replied.is_automatic_forward and isinstance(replied.forward_origin, MessageOriginChannel):
        return True
    if sender is None:
        chat = replied.sender_chat
        return chat is not None and chat.id == turn.chat_id and chat.type == ChatType.CHANNEL
    return sender.id == turn.context.bot.id


def _pruned_days(turn: Turn, replied: Message) -> int:
    """The retention window in days when ``replied`` is an alert of ours older than it (its
    delivery pruned: storage.retention); else 0.  An alert is the bot's own message (in a
    channel, or forwarded from one to its discussion group: a post signed by the channel)
    with its 👍/👎/❔ buttons, or a linked title where it has none (channels)."""
    window = turn.core.config.prune_after
    if not window or not _by_us(turn, replied):
        return 0
    if (utcnow() - replied.date).total_seconds() <= window:
        return 0
    markup = replied.reply_markup
    buttons = [b for row in markup.inline_keyboard for b in row] if markup else []
    ours = any(str(b.callback_data or "").startswith("f:") for b in buttons)
    entities = replied.entities or replied.caption_entities or ()
    linked = any(e.type == MessageEntity.TEXT_LINK and e.offset == 0 for e in entities)
    return max(1, round(window / 86400)) if ours or linked else 0


@command
async def feedback_command(turn: Turn) -> None:
    """/feedback lists what the chat taught; /feedback clear [N|all] forgets all, or one."""
    store = turn.core.store
    words = turn.argument.split()
    if words and words[0].lower() in ("clear", "reset", "지우기"):
        if not turn.is_private and not await can_manage(turn, turn.chat_id):
            await turn.reply(turn._("Only administrators can change what this chat taught."))
            return
        which = words[1] if len(words) > 1 else ""
        number: int | None = None
        if which and which.lower() not in ALL_WORDS:
            if not (which.isascii() and which.isdecimal()):
                await turn.reply(
                    turn._(
                        "“{what}” is not a number from the list. /feedback lists what this "
                        "chat taught, numbered: <code>/feedback clear 1</code> forgets the "
                        "first, <code>/feedback clear</code> forgets everything.",
                        what=which[:40],
                    )
                )
                return
            number = int(which)
            count = len(feedback.taught(store, turn.chat_id))
            if not 1 <= number <= count:
                await turn.reply(
                    turn.n_(
                        "There is no #{number}: this chat taught {count} thing; nothing was "
                        "forgotten. /feedback lists it.",
                        "There is no #{number}: this chat taught {count} things; nothing was "
                        "forgotten. /feedback lists them.",
                        count,
                        number=number,
                    )
                )
                return
        removed = feedback.forget(store, turn.chat_id, number)
        await turn.reply(turn._("Forgotten: {count} of your 👍/👎.", count=removed))
        return
    votes = feedback.taught(store, turn.chat_id)
    if not votes:
        await turn.reply(
            turn._(
                "You have not rated any alert here yet. Press 👍 or 👎 under an alert: "
                "later stories close in meaning to a 👎 are not sent to this chat."
            )
        )
        return
    lines = [turn._("<b>What this chat taught</b> ({count}):", count=len(votes))]
    start = max(0, len(votes) - LISTED)
    for number, vote in enumerate(votes[start:], start=start + 1):
        face = "👍" if vote.vote > 0 else "👎"
        title = html.escape(vote.title[:80], quote=False)
        topic = f" <i>({html.escape(vote.topic, quote=False)})</i>" if vote.topic else ""
        lines.append(f"{number}. {face} {title}{topic}")
    lines.append("")
    lines.append(
        turn._(
            "Forget one with {one}, all with {all}.",
            one=Html("<code>/feedback clear 1</code>"),
            all=Html("<code>/feedback clear</code>"),
        )
    )
    await turn.reply_lines(lines)
