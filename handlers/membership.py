"""The bot's own membership: added to or removed from a group or channel, blocked or
unblocked by a person (``my_chat_member``), and a group that became a supergroup."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError

from bot.i18n import pick_language, translator
from bot.service import chats
from bot.service.chats import ChatInfo
from handlers.common import GROUP_TYPES, Context, core_of

log = logging.getLogger(__name__)

GONE = frozenset({ChatMemberStatus.LEFT, ChatMemberStatus.BANNED})


def _can_send(chat_type: str, status: str) -> bool:
    """Whether the bot can post in a chat where its status is ``status``."""
    if status in GONE:
        return False
    if chat_type == ChatType.CHANNEL:
        return status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
    return True


async def my_chat_member(update: Update, context: Context) -> None:
    """Stop sending where the bot was removed or blocked; start again where it is back."""
    change = update.my_chat_member
    if change is None:
        return
    core = core_of(context)
    chat = change.chat
    old = change.old_chat_member.status
    new = change.new_chat_member.status
    if not _can_send(chat.type, new):
        if chat.type == ChatType.PRIVATE:
            reason = "blocked by the user"
        elif new in GONE:
            reason = "bot removed from the chat"
        else:
            reason = "bot is not an administrator of the channel"
        chats.deactivate_chat(core.store, chat.id, reason)
        log.info("chat %s: %s; alerts stop", chat.id, reason)
        return
    user = change.from_user
    language = pick_language(user.language_code if user else None)
    chats.register_chat(
        core.store,
        ChatInfo(
            chat_id=chat.id,
            type=chat.type,
            title=chat.title or chat.full_name or "",
            username=chat.username or "",
            language=language,
        ),
        reactivate=True,
    )
    log.info("chat %s: the bot can send again (%s -> %s)", chat.id, old, new)
    if chat.type in GROUP_TYPES and old in GONE:
        tr = translator(language)
        text = tr._(
            "Hello! I send news alerts to this group. Its administrators choose what it "
            "follows: <code>/subscribe korea-diplomacy</code>, or /settings. /help explains "
            "everything."
        )
        try:
            await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)
        except TelegramError as e:  # a group that does not let the bot write yet
            log.info("could not greet chat %s: %s", chat.id, e)


async def chat_migrated(update: Update, context: Context) -> None:
    """A group became a supergroup: its subscriptions move to the new id."""
    message = update.effective_message
    if message is None or not message.migrate_to_chat_id:
        return
    core = core_of(context)
    core.store.chats.migrate(message.chat.id, message.migrate_to_chat_id)
    log.info("chat %s moved to %s", message.chat.id, message.migrate_to_chat_id)
