"""What every handler shares: the turn (chat, language, reply), who may change a chat,
channels named from a private chat, and the limits on what people type."""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.config.model import Config
from bot.config.reload import ReloadOutcome
from bot.delivery.telegram_sink import refuses_the_topic
from bot.errors import QueryError
from bot.i18n import N_, Translator, pick_language, translator
from bot.matching.aliases import builtin_aliases
from bot.matching.parser import lowercase_operators
from bot.service import chats
from bot.service.chats import ChatInfo
from bot.text import html_to_text
from storage.chats import Chat
from storage.store import Store

log = logging.getLogger(__name__)

MAX_ARGUMENT_CHARS = 1000  # longer arguments are refused before anything is parsed
MAX_REPLY_CHARS = 3900  # under Telegram's 4096, with room for markup
ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})

# A chat named in a command: @username (5-32 characters) or a numeric id (-100...).
_CHAT_REFERENCE = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}|-\d{6,}")
_COMMAND_ARGUMENT = re.compile(r"^/\S+\s*(.*)$", re.DOTALL)

Context = ContextTypes.DEFAULT_TYPE


def clip_plain(text: str, limit: int) -> str:
    """Plain ``text`` of at most ``limit`` characters (cut at a space when near, with "…").
    Clip before escaping: HTML must never be sliced (a cut entity breaks the message)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ", limit // 2)
    return (cut[:space] if space > 0 else cut).rstrip() + "…"


def why_shown(why: Sequence[str], limit: int) -> str:
    """What matched, as /test and /why show it: at most ``limit`` terms, then the learned
    model's verdict ("model 0.93", last in ``why``), which is never cut off."""
    model = [w for w in why if w.startswith("model")]
    terms = [w for w in why if not w.startswith("model")]
    return ", ".join([*terms[:limit], *model])


def score_shown(score: float) -> str:
    """A match's score as every reply shows it: two decimals ("1.48", "1.00")."""
    return f"{score:.2f}"


class Core(Protocol):
    """What the handlers use of the running bot (``bot.app.Core``, kept in ``bot_data``)."""

    config: Config
    store: Store

    async def reload(self) -> ReloadOutcome: ...

    def footer_for(self, chat: Chat) -> str: ...


def operator_hints(turn: Turn, query: str) -> list[str]:
    """A "did you mean AND?" line for each lower-case ``and``/``or``/``not`` between two
    words of ``query``: it stays a word the stories must contain (not an error)."""
    return [
        turn._(
            "Note: “{word}” is a word the stories must contain. Did you mean {operator}? "
            "Operators are written in capitals.",
            word=word,
            operator=operator,
        )
        for word, operator in lowercase_operators(query)
    ]


def core_of(context: Context) -> Core:
    return cast(Core, context.application.bot_data["core"])


@dataclass
class Turn:
    """One update being answered: where it came from, who sent it, in which language."""

    update: Update
    context: Context
    core: Core
    chat: Chat
    tr: Translator
    # the forum topic written in refused a reply (closed, or gone): answer in General
    in_general: bool = False

    # -- who and where -------------------------------------------------------------------------

    @property
    def chat_id(self) -> int:
        return self.chat.chat_id

    @property
    def user_id(self) -> int | None:
        user = self.update.effective_user
        return user.id if user else None

    @property
    def is_private(self) -> bool:
        return self.chat.type == ChatType.PRIVATE

    @property
    def is_group(self) -> bool:
        return self.chat.type in GROUP_TYPES

    @property
    def is_operator(self) -> bool:
        return chats.is_operator(self.core.config.telegram.admins, self.user_id)

    @property
    def thread_id(self) -> int | None:
        """The forum topic the message was written in (None: not in a topic, or General)."""
        message = self.update.effective_message
        if message is None or not message.is_topic_message:
            return None
        return message.message_thread_id

    @property
    def argument(self) -> str:
        """What follows the command (``/cmd@bot``), as typed: quotes and spacing kept."""
        message = self.update.effective_message
        text = (message.text or "") if message else ""
        found = _COMMAND_ARGUMENT.match(text)
        return found.group(1).strip() if found else ""

    def _(self, message: str, /, **values: Any) -> str:
        return self.tr._(message, **values)

    def n_(self, singular: str, plural: str, count: int, /, **values: Any) -> str:
        return self.tr.n_(singular, plural, count, **values)

    # -- answering -----------------------------------------------------------------------------

    async def reply(
        self,
        text: str,
        *,
        keyboard: InlineKeyboardMarkup | None = None,
        quote_pressed: bool = False,
    ) -> Message | None:
        """Answer in the chat the update came from (Telegram HTML); when Telegram refuses the
        markup, the same answer goes as plain text.  ``quote_pressed``: after a button, as a
        reply to the message that carries it."""
        try:
            return await self._reply(
                text, keyboard=keyboard, html_mode=True, quote_pressed=quote_pressed
            )
        except BadRequest as e:
            if not self.in_general and self.thread_id is not None and refuses_the_topic(e.message):
                # the command was written in a topic the bot may not post in (closed: only
                # admins write there): the answer goes to General rather than nowhere
                log.warning(
                    "chat %d: topic %d refused a reply (%s); answering in General",
                    self.chat_id, self.thread_id, e.message,
                )  # fmt: skip
                self.in_general = True
                return await self.reply(text, keyboard=keyboard, quote_pressed=quote_pressed)
            if "can't parse entities" not in e.message.lower():
                raise
            log.warning("Telegram refused a reply's HTML (%s); sending it as plain text", e.message)
            return await self._reply(
                html_to_text(text), keyboard=keyboard, html_mode=False, quote_pressed=quote_pressed
            )

    async def _reply(
        self,
        text: str,
        *,
        keyboard: InlineKeyboardMarkup | None,
        html_mode: bool,
        quote_pressed: bool = False,
    ) -> Message | None:
        parse_mode = ParseMode.HTML if html_mode else None
        message = self.update.effective_message
        if message is None:
            return None
        # In a group the answer quotes the command, so it is clear whom it answers.
        quote = self.is_group and self.update.callback_query is None
        pressed = self.update.callback_query is not None
        # in General, a reply to the command would go into its topic again
        if pressed or self.in_general:
            replied = (
                ReplyParameters(message.message_id, allow_sending_without_reply=True)
                if pressed and quote_pressed
                else None
            )
            return await self.context.bot.send_message(
                chat_id=self.chat_id,
                message_thread_id=None if self.in_general else self.thread_id,
                text=text,
                parse_mode=parse_mode,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=keyboard,
                reply_parameters=replied,
            )
        return await message.reply_text(
            text,
            parse_mode=parse_mode,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            reply_markup=keyboard,
            do_quote=quote,
            allow_sending_without_reply=True,  # the command may be deleted by then
        )

    async def reply_lines(self, lines: Iterable[str]) -> None:
        """Answer with ``lines`` (HTML), split into several messages when they would be too
        long.  HTML is never sliced: a line too long for one message goes as its plain text,
        clipped, then escaped."""
        chunk: list[str] = []
        size = 0
        for line in lines:
            if len(line) > MAX_REPLY_CHARS:
                line = html.escape(
                    clip_plain(html_to_text(line), MAX_REPLY_CHARS // 2), quote=False
                )
            if chunk and size + len(line) + 1 > MAX_REPLY_CHARS:
                await self.reply("\n".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line) + 1
        if chunk:
            await self.reply("\n".join(chunk))

    async def edit(self, text: str, *, keyboard: InlineKeyboardMarkup | None = None) -> None:
        """Replace the text (and keyboard) of the message whose button was pressed."""
        query = self.update.callback_query
        if query is None:
            await self.reply(text, keyboard=keyboard)
            return
        try:
            await query.edit_message_text(
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=keyboard,
            )
        except BadRequest as e:
            if "not modified" not in e.message.lower():
                raise

    async def answer(self, text: str = "", *, alert: bool = False) -> None:
        """Answer the pressed button (a short pop-up, or nothing)."""
        query = self.update.callback_query
        if query is None:
            return
        try:
            await query.answer(text[:200] or None, show_alert=alert)
        except BadRequest as e:  # pressed long ago: Telegram no longer takes the answer
            log.debug("callback answer refused: %s", e.message)

    # -- setup -------------------------------------------------------------------------------------

    @classmethod
    async def begin(cls, update: Update, context: Context) -> Turn | None:
        """Remember the chat (a chat that writes to us is active again) and pick the language."""
        chat = update.effective_chat
        if chat is None:
            return None
        core = core_of(context)
        user = update.effective_user
        user_language = pick_language(user.language_code) if user else None
        stored = chats.register_chat(
            core.store,
            ChatInfo(
                chat_id=chat.id,
                type=chat.type,
                title=chat.title or chat.full_name or "",
                username=chat.username or "",
                language=user_language or "en",
            ),
            reactivate=True,
        )
        if stored.language_chosen or user_language is None:
            language = stored.language
        else:
            language = user_language
            if chat.type == ChatType.PRIVATE and stored.language != language:
                chats.note_language(core.store, chat.id, language)
        return cls(update, context, core, stored, translator(language))


Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


def command(func: Callable[[Turn], Awaitable[None]]) -> Handler:
    """A command callback: builds the turn, refuses over-long arguments, then runs ``func``."""

    @functools.wraps(func)
    async def run(update: Update, context: Context) -> None:
        turn = await Turn.begin(update, context)
        if turn is None:
            return
        if len(turn.argument) > MAX_ARGUMENT_CHARS:
            await turn.reply(
                turn._(
                    "That is too long ({length} characters); I read at most {limit}. "
                    "/help shows what each command takes.",
                    length=len(turn.argument),
                    limit=MAX_ARGUMENT_CHARS,
                )
            )
            return
        await func(turn)

    return run


def button(func: Callable[[Turn, list[str]], Awaitable[None]]) -> Handler:
    """An inline-button callback: builds the turn and hands over the data's fields."""

    @functools.wraps(func)
    async def run(update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None or not query.data:
            return
        turn = await Turn.begin(update, context)
        if turn is None:
            await query.answer()
            return
        await func(turn, query.data.split(":"))

    return run


# -- who may change a chat -----------------------------------------------------------------------


async def can_manage(turn: Turn, chat_id: int) -> bool:
    """May the person behind this update change ``chat_id``'s subscriptions and settings?

    Anyone in their own private chat; in a group or channel, its administrators
    (asked of Telegram with getChatMember), an anonymous group admin, and a
    channel's own posts (only its administrators can post)."""
    update = turn.update
    if chat_id == turn.chat_id:
        if turn.is_private:
            return True
        if update.channel_post is not None:
            return True
        message = update.message
        if message is not None and message.sender_chat and message.sender_chat.id == chat_id:
            return True  # an anonymous administrator of the group
    user_id = turn.user_id
    if user_id is None:
        return False
    try:
        member = await turn.context.bot.get_chat_member(chat_id, user_id)
    except TelegramError as e:
        log.info("could not check the member %s of %s: %s", user_id, chat_id, e)
        return False
    return member.status in ADMIN_STATUSES


async def require_admin(turn: Turn) -> bool:
    """True when the sender may change this chat; otherwise says so politely."""
    if await can_manage(turn, turn.chat_id):
        return True
    await turn.reply(
        turn._(
            "Only this group's administrators can change what it follows or its settings. "
            "Anyone can see them with /list and read the latest alerts with /latest."
        )
    )
    return False


# -- another chat named from a private chat ----------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The chat a command acts on, and how to name it in a reply ('' for this chat)."""

    chat_id: int
    name: str = ""


def split_chat_reference(argument: str) -> tuple[str, str]:
    """(``@channel`` or ``-100…`` or '', the rest) of an argument; an @alias group such as
    ``@north-korea`` or ``@korea`` is part of a filter, not a chat."""
    head, _, rest = argument.strip().partition(" ")
    if _CHAT_REFERENCE.fullmatch(head) and head[1:].lower() not in builtin_aliases():
        return head, rest.strip()
    return "", argument.strip()


def _chat_key(reference: str) -> int | str:
    return (
        int(reference)
        if reference.lstrip("-").isascii() and reference.lstrip("-").isdecimal()
        else reference
    )


async def resolve_target(turn: Turn, reference: str) -> Target | None:
    """The channel or group ``reference`` names, once Telegram confirms that the sender
    and the bot are both its administrators; otherwise says what is missing and
    returns None."""
    bot = turn.context.bot
    shown = reference
    try:
        chat = await bot.get_chat(_chat_key(reference))
    except TelegramError:
        await turn.reply(
            turn._(
                "I cannot find {chat}. Add me to it as an administrator first, then send "
                "this again. Example: /subscribe @mychannel korea-diplomacy",
                chat=shown,
            )
        )
        return None
    if chat.type == ChatType.PRIVATE:
        await turn.reply(turn._("{chat} is a person, not a channel or a group.", chat=shown))
        return None
    shown = f"@{chat.username}" if chat.username else (chat.title or reference)
    user_id = turn.user_id
    try:
        member = await bot.get_chat_member(chat.id, user_id) if user_id else None
    except TelegramError:
        member = None
    if member is None or member.status not in ADMIN_STATUSES:
        await turn.reply(
            turn._(
                "Only administrators of {chat} can do that, and Telegram says you are not one.",
                chat=shown,
            )
        )
        return None
    try:
        me = await bot.get_chat_member(chat.id, bot.id)
    except TelegramError:
        me = None
    can_post = (
        me is not None
        and me.status in ADMIN_STATUSES
        and getattr(me, "can_post_messages", None) is not False
    )
    if chat.type != ChatType.CHANNEL:
        can_post = me is not None and me.status not in (
            ChatMemberStatus.LEFT,
            ChatMemberStatus.BANNED,
        )
    if not can_post:
        await turn.reply(
            turn._(
                "I am not an administrator of {chat} yet. Add me as an administrator "
                "allowed to post messages, then send this again.",
                chat=shown,
            )
        )
        return None
    chats.attach_chat(
        turn.core.store,
        ChatInfo(
            chat_id=chat.id,
            type=chat.type,
            title=chat.title or "",
            username=chat.username or "",
            language=turn.tr.language,
        ),
        added_by=user_id or 0,
    )
    return Target(chat.id, shown)


async def target_chat(turn: Turn, argument: str, *, change: bool) -> tuple[Target, str] | None:
    """The chat a command acts on, and the rest of its argument.

    ``@channel …`` from a private chat: that channel, after the admin checks; in a
    group, changes need an administrator (``change``); reading does not."""
    reference, rest = split_chat_reference(argument)
    if reference:
        if not turn.is_private:
            await turn.reply(
                turn._(
                    "To manage {chat}, write to me in a private chat, e.g. "
                    "<code>/subscribe {chat} korea-diplomacy</code>",
                    chat=reference,
                )
            )
            return None
        target = await resolve_target(turn, reference)
        return (target, rest) if target is not None else None
    if change and not await require_admin(turn):
        return None
    return Target(turn.chat_id), rest


# -- shared wording --------------------------------------------------------------------------------


# where in a filter the parser stopped, after its (translated) complaint
_AT_POSITION = N_("(at position {position})")


def query_problem(
    turn: Turn,
    problem: str,
    detail: str,
    error: QueryError | None = None,
    *,
    filter_of: str = "",
    command: str = "subscribe",
) -> str:
    """The reply for a filter that cannot be used: what is wrong, where (the parser's
    message names the position and gives a hint), and an example; in the reader's
    language when the parser's ``error`` is at hand.  ``filter_of``: the subscription a
    /filter named (its number or topic id), whose example is then a /filter of it;
    otherwise the example is of ``command``, the one the writer used (/subscribe, /test)."""
    if error is not None:
        detail = error.describe(turn.tr.plain, _AT_POSITION)
    if problem == "too-long":
        return turn._(
            "That filter is too long: at most {limit} characters. Use fewer words or an "
            "@group; /help lists the groups.",
            limit=detail,
        )
    if filter_of:
        return turn._(
            "I cannot read that filter: {detail}\n"
            "Example: <code>/filter {ref} -sports</code> leaves out sports, "
            "<code>/filter {ref} OR kaesong</code> adds stories about Kaesong.",
            detail=detail,
            ref=filter_of,
        )
    return turn._(
        "I cannot read that filter: {detail}\n"
        'Example: <code>/{command} "north korea" (talks OR summit) -sports</code>',
        detail=detail,
        command=command,
    )


def chat_label(turn: Turn, target: Target) -> str:
    """' in @channel' when acting on another chat, '' for this one (already escaped)."""
    return turn._(" in {chat}", chat=target.name) if target.name else ""
