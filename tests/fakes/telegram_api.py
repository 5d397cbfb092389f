"""A fake Telegram Bot API server for tests, spoken to over real HTTP on 127.0.0.1.

python-telegram-bot (or any HTTP client) points at it with ``base_url``::

    async with FakeBotAPI(bot_username="newsalert_test_bot") as api:
        bot = telegram.Bot(api.token, base_url=api.base_url)
        api.inject_message(42, "/start")          # a user writes to the bot
        ...                                       # the code under test polls and replies
        [reply] = await api.wait_for_messages(42, 1)

What it does, in the shapes the real Bot API uses:

- ``/bot<token>/<method>`` over GET or POST, parameters from the query string, a JSON body,
  a urlencoded form or multipart form data (nested values such as ``reply_markup`` arrive as JSON
  strings and are decoded). Method names are case-insensitive, as on Telegram.
- Real long polling for ``getUpdates`` (``offset``, ``limit``, ``timeout``, ``allowed_updates``);
  confirmed updates are forgotten; a second concurrent poll ends the first with 409 Conflict.
- Methods: getMe, logOut, close, setWebhook, deleteWebhook, getWebhookInfo, getUpdates,
  set/get/deleteMyCommands, set/getMyDescription, set/getMyShortDescription, set/getMyName,
  set/getChatMenuButton, sendMessage, sendPhoto, editMessageText, editMessageReplyMarkup,
  deleteMessage, answerCallbackQuery, sendChatAction, getChat, getChatMember,
  getChatAdministrators, getChatMemberCount, leaveChat, pin/unpinChatMessage. Any other method
  answers 404 "Not Found: method not found", a wrong token 401 "Unauthorized".
- A record of every call (:attr:`FakeBotAPI.calls`), messages kept per chat with incrementing ids,
  and helpers that inject user messages, channel posts, ``my_chat_member`` changes and callback
  queries as real Update JSON.
- Forum supergroups (``add_chat(..., is_forum=True)``): messages injected into a topic carry
  ``message_thread_id`` and ``is_topic_message``; sends into a topic are stored with it, and
  :meth:`~FakeBotAPI.close_topic` / :meth:`~FakeBotAPI.delete_topic` make sends there answer
  Telegram's 400 "Bad Request: TOPIC_CLOSED" / "Bad Request: message thread not found".
- Faults on demand (:meth:`FakeBotAPI.fail_next`, :meth:`~FakeBotAPI.slow_next`,
  :meth:`~FakeBotAPI.block_chat`, :meth:`~FakeBotAPI.migrate_chat`), optional flood limits, and a
  check of ``parse_mode=HTML`` text against Telegram's HTML subset
  (:func:`validate_telegram_html`, usable on its own).

For synchronous callers (a CLI run in a subprocess, say) ``with FakeBotAPI.in_thread() as api:``
runs the server on its own event loop in a background thread; the helpers are thread-safe and
``wait_for`` there is a blocking call.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = [
    "Call",
    "FakeBotAPI",
    "HTMLParseError",
    "ParsedHTML",
    "ThreadedFakeBotAPI",
    "parse_telegram_html",
    "utf16_length",
    "validate_telegram_html",
]

DEFAULT_TOKEN = "123456:TEST-TOKEN"
DEFAULT_USER_ID = 1001  # the "from" user of injected group updates unless one is given
MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

JSONDict = dict[str, Any]


# --------------------------------------------------------------------------------------------
# Telegram's HTML subset
# --------------------------------------------------------------------------------------------


class HTMLParseError(ValueError):
    """Text is not valid Telegram HTML; the message is the one Telegram would put after
    "Bad Request: can't parse entities: "."""


@dataclass(frozen=True)
class ParsedHTML:
    """Text after entity parsing, and its entities (offsets in UTF-16 code units)."""

    text: str
    entities: list[JSONDict] = field(default_factory=list)


_SUPPORTED_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji"}
    | {"tg-time", "span", "pre", "code", "blockquote"}
)
_SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts offsets and limits in."""
    return len(text.encode("utf-16-le")) // 2


def _decode_html_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode an entity at ``text[pos] == "&"`` the way Telegram (tdlib) does.

    Returns (character, position after it) or (None, pos) when there is no entity Telegram
    knows; the trailing ';' is optional, as in tdlib.
    """
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        digits_start = end
        hexadecimal = end < n and text[end] in "xX"
        if hexadecimal:
            end += 1
            digits_start = end
            while end < n and text[end] in "0123456789abcdefABCDEF":
                end += 1
        else:
            while end < n and text[end].isdigit() and text[end].isascii():
                end += 1
        digits = text[digits_start:end]
        if not digits or end - pos >= 10:
            return None, pos
        code = int(digits, 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None, pos
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        char = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if char is None:
            return None, pos
    if end < n and text[end] == ";":
        end += 1
    return char, end


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_start: int
    expandable: bool = False
    attributes: dict[str, str] = field(default_factory=dict)
    # a <code class="language-x"> directly inside <pre> becomes the pre's language
    language: str | None = None
    merged_into_pre: bool = False


def parse_telegram_html(text: str, *, strict: bool = True) -> ParsedHTML:
    """Parse ``text`` as Telegram HTML and return the plain text with its entities.

    Follows tdlib's parser (the one behind the Bot API), including its error messages and byte
    offsets. With ``strict`` (the default) an ``&`` that starts no supported entity
    (``&lt; &gt; &amp; &quot;`` or numeric) is an error too: Telegram would show it literally,
    which for ``&nbsp;`` or a forgotten escape is a visible bug. Raises :class:`HTMLParseError`.
    """
    out: list[str] = []
    utf16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSONDict] = []
    n = len(text)
    i = 0

    def byte_offset(k: int) -> int:
        return len(text[:k].encode("utf-8", "surrogatepass"))

    def at(k: int) -> str:
        return text[k] if k < n else ""

    while i < n:
        c = text[i]
        if c == "&":
            char, end = _decode_html_entity(text, i)
            if char is not None:
                out.append(char)
                utf16 += utf16_length(char)
                i = end
                continue
            if strict:
                # Telegram would show it literally: a visible bug ("&nbsp;") or a missed escape.
                end = i + 1
                while end < n and (text[end].isalnum() or text[end] == "#"):
                    end += 1
                if end < n and text[end] == ";":
                    problem = f'Unsupported HTML entity "{text[i : end + 1]}"'
                else:
                    problem = 'Unescaped "&" (write &amp;)'
                raise HTMLParseError(f"{problem} at byte offset {byte_offset(i)}")
        if c != "<":
            out.append(c)
            utf16 += utf16_length(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            if i >= n:
                raise HTMLParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _SUPPORTED_TAGS:
                raise HTMLParseError(
                    f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}'
                )
            open_tag = _OpenTag(name=tag, argument="", utf16_start=utf16)
            while at(i) != ">":
                while i < n and text[i].isspace():
                    i += 1
                if at(i) == ">":
                    break
                if i >= n:
                    raise HTMLParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                name_start = i
                while i < n and not text[i].isspace() and text[i] not in "=>":
                    i += 1
                attribute = text[name_start:i].lower()
                if not attribute:
                    raise HTMLParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{byte_offset(begin)}"
                    )
                while i < n and text[i].isspace():
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attribute == "expandable":
                        open_tag.expandable = True
                        continue
                    raise HTMLParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {byte_offset(begin)}'
                    )
                i += 1
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise HTMLParseError(
                        f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                value_chars: list[str] = []
                if text[i] not in "'\"":
                    token_start = i
                    while i < n and text[i].isascii() and (text[i].isalnum() or text[i] in ".-"):
                        i += 1
                    value = text[token_start:i].lower()
                    if i < n and not text[i].isspace() and text[i] != ">":
                        raise HTMLParseError(
                            "Unexpected end of name token at byte offset "
                            f"{byte_offset(token_start)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            char, end = _decode_html_entity(text, i)
                            if char is not None:
                                value_chars.append(char)
                                i = end
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(value_chars)
                if i >= n:
                    raise HTMLParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                open_tag.attributes[attribute] = value
                if tag == "a" and attribute == "href":
                    open_tag.argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    open_tag.argument = value[len("language-") :]
                elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                    open_tag.argument = value[len("tg-") :]
                elif (tag, attribute) in (("tg-emoji", "emoji-id"), ("tg-time", "unix")):
                    open_tag.argument = value
            i += 1  # past '>'
            if tag == "span" and open_tag.argument != "spoiler":
                raise HTMLParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            if tag == "tg-emoji" and not open_tag.argument.isdigit():
                raise HTMLParseError(
                    f'Tag "tg-emoji" must have a numeric attribute "emoji-id" at byte offset '
                    f"{byte_offset(begin)}"
                )
            if tag == "tg-time" and not open_tag.argument.lstrip("-").isdigit():
                raise HTMLParseError(
                    f'Tag "tg-time" must have a numeric attribute "unix" at byte offset '
                    f"{byte_offset(begin)}"
                )
            if (
                tag == "code"
                and stack
                and stack[-1].name == "pre"
                and stack[-1].utf16_start == utf16
            ):
                open_tag.merged_into_pre = True
            stack.append(open_tag)
            continue

        # an end tag
        if not stack:
            raise HTMLParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        end_name = text[begin + 2 : i].lower()
        while i < n and text[i].isspace():
            i += 1
        if at(i) != ">":
            raise HTMLParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        top = stack[-1]
        if end_name and end_name != top.name:
            raise HTMLParseError(
                f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{top.name}>", '
                f'found "</{end_name}>"'
            )
        stack.pop()
        if top.merged_into_pre:
            if top.argument and stack:
                stack[-1].language = top.argument
            continue
        if utf16 > top.utf16_start:
            entity = _entity_for(top, utf16)
            if entity is not None:
                entities.append(entity)

    if stack:
        raise HTMLParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedHTML(text="".join(out), entities=entities)


def _entity_for(tag: _OpenTag, utf16_end: int) -> JSONDict | None:
    """The MessageEntity JSON for a closed tag (None when Telegram would drop it)."""
    base = {"offset": tag.utf16_start, "length": utf16_end - tag.utf16_start}
    if tag.name == "a":
        if not tag.argument:
            return None
        return {"type": "text_link", **base, "url": tag.argument}
    if tag.name == "blockquote":
        return {"type": "expandable_blockquote" if tag.expandable else "blockquote", **base}
    if tag.name == "tg-emoji":
        return {"type": "custom_emoji", **base, "custom_emoji_id": tag.argument}
    if tag.name == "tg-time":
        entity = {"type": "date_time", **base, "unix_time": int(tag.argument)}
        if tag.attributes.get("format"):
            entity["date_time_format"] = tag.attributes["format"]
        return entity
    if tag.name == "pre" and tag.language:
        return {"type": "pre", **base, "language": tag.language}
    if tag.name == "code" and tag.argument:
        return {"type": "code", **base}
    return {"type": _SIMPLE_ENTITY_TYPES[tag.name], **base}


def validate_telegram_html(text: str, *, strict: bool = True) -> str | None:
    """Check ``text`` as Telegram would for ``parse_mode=HTML``: None when it would be accepted,
    else the problem in Telegram's words.

    Checks the tag subset (b, strong, i, em, u, ins, s, strike, del, span class="tg-spoiler",
    tg-spoiler, a href, code, pre, blockquote, tg-emoji, tg-time), balanced tags, entities (see
    :func:`parse_telegram_html` for ``strict``), a non-blank result and its length after entity
    parsing (at most 4096 UTF-16 code units).
    """
    try:
        parsed = parse_telegram_html(text, strict=strict)
    except HTMLParseError as exc:
        return str(exc)
    return _text_problem(parsed.text, MAX_MESSAGE_LENGTH)


def _text_problem(text: str, limit: int) -> str | None:
    if not text.strip():
        return "message text is empty"
    length = utf16_length(text)
    if length > limit:
        return f"message is too long ({length} characters after entity parsing, limit {limit})"
    return None


# --------------------------------------------------------------------------------------------
# Records and errors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request the fake received.

    ``time`` is ``time.monotonic()`` at arrival; ``error_code`` is None when the call succeeded
    (for ``getUpdates``: when it was accepted; the long poll may still end otherwise).
    """

    method: str
    params: JSONDict
    time: float
    error_code: int | None = None


class _APIError(Exception):
    """An answer with ``ok: false``, as Telegram shapes it."""

    def __init__(
        self, error_code: int, description: str, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(problem: str) -> _APIError:
    return _APIError(400, f"Bad Request: {problem}")


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"


@dataclass
class _Fault:
    method: str  # lower-case
    error: _APIError
    chat_id: int | str | None
    times: int | None  # None: until cleared


@dataclass
class _Delay:
    method: str  # lower-case
    seconds: float
    times: int | None


# Parameters that are plain strings even when they look like JSON ("123", "true").
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "data",
        "url",
        "callback_query_id",
        "inline_message_id",
        "description",
        "short_description",
        "name",
        "language_code",
        "title",
        "query",
        "secret_token",
        "ip_address",
        "emoji",
        "question",
        "explanation",
        "switch_inline_query",
        "address",
        "first_name",
        "last_name",
        "phone_number",
        "vcard",
        "foursquare_id",
        "google_place_id",
        "custom_title",
        "sticker",
        "photo",
        "document",
        "video",
        "audio",
        "animation",
        "voice",
        "thumbnail",
        "message_effect_id",
        "business_connection_id",
        "invite_link",
        "author_signature",
        "action",
        "explanation_parse_mode",
        "caption_parse_mode",
    }
)

_DEFAULT_ALLOWED_UPDATES = None  # Telegram's default: every type but the three below
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_ADMIN_RIGHTS: JSONDict = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_post_messages": True,
    "can_edit_messages": True,
    "can_pin_messages": True,
}
_RESTRICTED_RIGHTS: JSONDict = {
    "is_member": True,
    "can_change_info": False,
    "can_invite_users": False,
    "can_pin_messages": False,
    "can_send_messages": False,
    "can_send_polls": False,
    "can_send_other_messages": False,
    "can_add_web_page_previews": False,
    "can_manage_topics": False,
    "until_date": 0,
    "can_send_audios": False,
    "can_send_documents": False,
    "can_send_photos": False,
    "can_send_videos": False,
    "can_send_video_notes": False,
    "can_send_voice_notes": False,
    "can_edit_tag": False,
}
_STATUSES = frozenset({"creator", "administrator", "member", "restricted", "left", "kicked"})


def _decode_param(name: str, value: str) -> Any:
    """Undo python-telegram-bot's form encoding: non-string values arrive JSON-dumped."""
    if name in _STRING_PARAMS or not value:
        return value
    if value[0] in '{["-0123456789' or value in ("true", "false", "null"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _chat_key(value: Any) -> int | str | None:
    """A chat_id parameter as an int where it is one, else the string (e.g. '@channel')."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


def _update_type(update: JSONDict) -> str:
    return next((key for key in update if key != "update_id"), "")


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

Handler = Callable[[JSONDict], Any]


class FakeBotAPI:
    """A Telegram Bot API server on 127.0.0.1 with a random port; see the module docstring.

    All public helpers are synchronous and thread-safe except :meth:`start`, :meth:`stop`,
    :meth:`wait_for` and :meth:`wait_for_messages`, which are coroutines.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "newsalert_test_bot",
        bot_id: int | None = None,
        bot_first_name: str = "Newsalert Test",
        can_join_groups: bool = True,
        can_read_all_group_messages: bool = False,
        supports_inline_queries: bool = False,
        enforce_limits: bool = False,
        global_per_second: int = 30,
        per_chat_per_second: float = 1,
        per_chat_burst: int = 3,
        per_group_per_minute: int = 20,
        validate_html: bool = True,
        strict_html: bool = True,
    ) -> None:
        """Configure the bot that getMe describes and the optional checks.

        With ``enforce_limits`` every send (sendMessage, sendPhoto) is counted in sliding
        windows: at most ``global_per_second`` in any second; per chat, ``per_chat_burst``
        within ``per_chat_burst / per_chat_per_second`` seconds; per group or channel (negative
        id), ``per_group_per_minute`` in any minute. A send over a limit answers 429 with the
        seconds until the window frees up as ``retry_after`` and adds one to ``flood_errors``.
        ``validate_html`` checks parse_mode=HTML text (see :func:`parse_telegram_html` for
        ``strict_html``).
        """
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = bot_id if bot_id is not None else (int(prefix) if prefix.isdigit() else 1)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.can_join_groups = can_join_groups
        self.can_read_all_group_messages = can_read_all_group_messages
        self.supports_inline_queries = supports_inline_queries
        self.enforce_limits = enforce_limits
        self.global_per_second = global_per_second
        self.per_chat_per_second = per_chat_per_second
        self.per_chat_burst = per_chat_burst
        self.per_group_per_minute = per_group_per_minute
        self.validate_html = validate_html
        self.strict_html = strict_html
        self.flood_errors = 0

        # One lock around all state: handlers run on the server's loop, helpers may be called
        # from another thread (in_thread mode). It is never held across an await.
        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._sent: list[tuple[int | str, JSONDict]] = []
        self._updates: deque[JSONDict] = deque()
        self._next_update_id = 10_000
        self._allowed_updates: list[str] | None = _DEFAULT_ALLOWED_UPDATES
        self._poll_generation = 0
        self._webhook: JSONDict = {"url": ""}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._profile: dict[tuple[str, str], str] = {}
        self._menu_buttons: dict[int | None, JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._members: dict[tuple[int, int], JSONDict] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._last_message_id: dict[int, int] = {}
        self._callback_queries: dict[str, JSONDict] = {}
        self._next_callback_id = 1
        self._faults: list[_Fault] = []
        self._odd_answers: dict[str, Any] = {}  # method -> a raw "result" (answer_oddly)
        self._delays: list[_Delay] = []
        self._blocked: dict[int, str | None] = {}
        self._migrated: dict[int, int] = {}
        self._topics: dict[tuple[int, int], str] = {}  # (chat, thread) -> open | closed | deleted
        self._flood_global: deque[float] = deque()
        self._flood_chat: dict[int, deque[float]] = {}
        self._flood_group: dict[int, deque[float]] = {}

        self._methods: dict[str, tuple[str, Handler]] = {}
        for name in _METHOD_NAMES:
            self._methods[name.lower()] = (name, getattr(self, "_m_" + name))

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._updates_event: asyncio.Event | None = None
        self._closing: asyncio.Event | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port."""
        if self._runner is not None:
            raise RuntimeError("FakeBotAPI already started")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._updates_event = asyncio.Event()
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        # handler_cancellation: a long poll whose client went away ends, as on Telegram.
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=1.0,
            handler_cancellation=True,
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Answer pending long polls and slow calls at once, then close the server."""
        if self._runner is None:
            return
        assert self._closing is not None
        self._closing.set()
        self._fire_updates_event()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def in_thread(cls, **kwargs: Any) -> Iterator[ThreadedFakeBotAPI]:
        """Run a FakeBotAPI (built with ``kwargs``) on its own loop in a background thread.

        Yields a :class:`ThreadedFakeBotAPI`: the same helpers, with blocking ``wait_for``.
        """
        api = cls(**kwargs)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fake-telegram", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(api.start(), loop).result(timeout=10)
            yield ThreadedFakeBotAPI(api)
        finally:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(api.stop(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not started; await api.start() first")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What python-telegram-bot takes as ``base_url``: ``http://127.0.0.1:PORT/bot``."""
        return f"{self.url}/bot"

    def method_url(self, method: str) -> str:
        """The full URL of a Bot API method with this fake's token."""
        return f"{self.base_url}{self.token}/{method}"

    # ---- inspection ------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method (name compared case-insensitively)."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def forward_to_discussion(self, channel_id: int, message_id: int, group_id: int) -> int:
        """Telegram copies a channel's post into its linked discussion group (an automatic
        forward, signed by the channel); returns the copy's message id in the group."""
        with self._lock:
            post = self._messages[(channel_id, message_id)]
            channel = post["chat"]
            group = self._chat_for_injection(group_id, "supergroup", "Discussion", None)
            fields = {k: v for k, v in post.items() if k not in ("message_id", "chat", "date")}
            copy = self._store_message(
                group,
                {
                    **fields,
                    "sender_chat": channel,
                    "is_automatic_forward": True,
                    "forward_origin": {
                        "type": "channel",
                        "chat": channel,
                        "message_id": message_id,
                        "date": post["date"],
                    },
                },
            )
            copy["date"] = post["date"]
            return int(copy["message_id"])

    def age_message(self, chat_id: int, message_id: int, seconds: float) -> None:
        """Make a stored message ``seconds`` older (its ``date``, as replies to it show it)."""
        with self._lock:
            self._messages[(chat_id, message_id)]["date"] -= int(seconds)

    def clear_calls(self) -> None:
        """Forget the record of calls and sent messages (the chats' messages stay)."""
        with self._lock:
            self._calls.clear()
            self._sent.clear()

    def sent_messages(self, chat_id: int | str | None = None) -> list[JSONDict]:
        """Parameters of each successful sendMessage, plus its ``message_id`` (and ``chat_id``
        resolved to a number), oldest first; only those to ``chat_id`` when given."""
        with self._lock:
            key = self._resolve_quiet(chat_id) if chat_id is not None else None
            return [dict(params) for chat, params in self._sent if key is None or chat == key]

    def message(self, chat_id: int | str, message_id: int) -> JSONDict | None:
        """The current Message JSON (after edits) of a message in a chat; None if deleted."""
        with self._lock:
            key = self._resolve_quiet(chat_id)
            message = self._messages.get((key, message_id)) if isinstance(key, int) else None
            return json.loads(json.dumps(message)) if message is not None else None

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates injected and not yet confirmed with a getUpdates offset."""
        with self._lock:
            return list(self._updates)

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """The commands set with setMyCommands for a scope (default scope when None)."""
        with self._lock:
            return list(self._commands.get((_scope_key(scope), language_code), []))

    @property
    def webhook_url(self) -> str:
        return str(self._webhook.get("url", ""))

    @property
    def bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10.0,
        *,
        message: str | None = None,
    ) -> Any:
        """Re-check ``predicate`` (sync or async) until it is truthy and return its value.

        Raises TimeoutError after ``timeout`` seconds, naming the condition and the last calls.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(self._timeout_message(predicate, timeout, message))
            await asyncio.sleep(0.01)

    async def wait_for_messages(
        self, chat_id: int | str, count: int, timeout: float = 10.0
    ) -> list[JSONDict]:
        """Wait until at least ``count`` messages were sent to ``chat_id``; return them all."""
        await self.wait_for(
            lambda: len(self.sent_messages(chat_id)) >= count,
            timeout,
            message=f"{count} message(s) sent to chat {chat_id}",
        )
        return self.sent_messages(chat_id)

    def _timeout_message(
        self, predicate: Callable[[], Any], timeout: float, message: str | None
    ) -> str:
        what = message or getattr(predicate, "__qualname__", repr(predicate))
        recent = self.calls[-8:]
        summary = ", ".join(
            f"{call.method}({_short_params(call.params)})"
            + (f" -> {call.error_code}" if call.error_code else "")
            for call in recent
        )
        return (
            f"condition not met within {timeout:g}s: {what}. "
            f"{len(self.calls)} call(s) so far; last: {summary or 'none'}"
        )

    # ---- chats, users, members ---------------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        chat_type: str,
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        is_forum: bool = False,
    ) -> JSONDict:
        """Register a chat (private, group, supergroup or channel) and return its Chat JSON.

        Unregistered ids still work: positive ones are private chats, ``-100…`` supergroups,
        other negative ones groups.  ``is_forum``: a supergroup with topics.
        """
        if chat_type not in ("private", "group", "supergroup", "channel"):
            raise ValueError(f"unknown chat type {chat_type!r}")
        chat: JSONDict = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name or f"User {chat_id}"
        else:
            chat["title"] = title or f"{chat_type.title()} {chat_id}"
        if username:
            chat["username"] = username.lstrip("@")
        if is_forum:
            if chat_type != "supergroup":
                raise ValueError("only a supergroup can be a forum")
            chat["is_forum"] = True
        with self._lock:
            self._chats[chat_id] = chat
        return dict(chat)

    def open_topic(self, chat_id: int, thread_id: int) -> None:
        """A topic ``thread_id`` exists (again) in the forum ``chat_id`` and is open."""
        with self._lock:
            self._topics[(chat_id, thread_id)] = "open"

    def close_topic(self, chat_id: int, thread_id: int) -> None:
        """An admin closed the topic: sends into it answer 400 "Bad Request: TOPIC_CLOSED"."""
        with self._lock:
            self._topics[(chat_id, thread_id)] = "closed"

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """The topic is gone: sends into it answer 400 "Bad Request: message thread not found"."""
        with self._lock:
            self._topics[(chat_id, thread_id)] = "deleted"

    def set_chat_member(self, chat_id: int, user_id: int, status: str, **fields: Any) -> None:
        """Make getChatMember answer ``status`` for (chat, user); ``fields`` override the
        ChatMember JSON (e.g. ``can_post_messages=False``). The bot's own status in a chat also
        decides whether it may send there ('left'/'kicked': 403; 'member' of a channel: 400)."""
        if status not in _STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {sorted(_STATUSES)}")
        with self._lock:
            self._members[(chat_id, user_id)] = {"status": status, **fields}

    def block_chat(self, chat_id: int, description: str | None = None) -> None:
        """Every send to ``chat_id`` answers 403 until :meth:`unblock_chat` ("bot was blocked by
        the user" in private chats, the kicked/not-a-member wording elsewhere)."""
        with self._lock:
            self._blocked[chat_id] = description

    def unblock_chat(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.pop(chat_id, None)

    def migrate_chat(self, chat_id: int, new_chat_id: int) -> None:
        """The group ``chat_id`` became supergroup ``new_chat_id``: sends to the old id answer
        400 with ``migrate_to_chat_id`` from now on."""
        with self._lock:
            self._migrated[chat_id] = new_chat_id
            if new_chat_id not in self._chats:
                old = self._chats.get(chat_id, {})
                self._chats[new_chat_id] = {
                    "id": new_chat_id,
                    "type": "supergroup",
                    "title": old.get("title", f"Supergroup {new_chat_id}"),
                }

    # ---- faults ----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        chat_id: int | str | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id`` only, when given) with
        an error in Telegram's shape; ``times=None`` until :meth:`clear_faults`.

        Descriptions default to Telegram's: 429 "Too Many Requests: retry after N" with
        ``parameters.retry_after``; 400 with ``migrate_to_chat_id`` "Bad Request: group chat was
        upgraded to a supergroup chat"; 400 "Bad Request: chat not found"; 403 "Forbidden: bot
        was blocked by the user"; 502 "Bad Gateway"; and so on.
        """
        parameters: JSONDict = {}
        if error_code == 429:
            retry_after = 1 if retry_after is None else retry_after
            parameters["retry_after"] = retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        elif retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
            description = description or _MIGRATED
        if description is None:
            description = _DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
        fault = _Fault(
            method=method.lower(),
            error=_APIError(error_code, description, parameters or None),
            chat_id=_chat_key(chat_id) if chat_id is not None else None,
            times=times,
        )
        with self._lock:
            self._faults.append(fault)

    def slow_next(self, method: str, seconds: float, *, times: int | None = 1) -> None:
        """Delay the answer to the next ``times`` calls of ``method`` by ``seconds``.

        The call takes effect at once and only the answer is late, as when Telegram is slow to
        respond: a client that times out and retries may send the same message twice.
        """
        with self._lock:
            self._delays.append(_Delay(method.lower(), seconds, times))

    def answer_oddly(self, method: str, result: Any) -> None:
        """Answer every call of ``method`` with ``ok: true`` and this raw ``result`` (not the
        shape the Bot API documents) until :meth:`clear_faults`: a client must not crash."""
        with self._lock:
            self._odd_answers[method.lower()] = result

    def clear_faults(self) -> None:
        """Drop every pending fail_next, slow_next and answer_oddly."""
        with self._lock:
            self._faults.clear()
            self._delays.clear()
            self._odd_answers.clear()

    # ---- injecting updates -----------------------------------------------------------------

    def inject_update(self, update: JSONDict) -> int:
        """Queue a raw Update (without ``update_id``) for getUpdates; returns its update_id."""
        with self._lock:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, **update})
        self._wake_pollers()
        return update_id

    def inject_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        username: str | None = "alice",
        first_name: str = "Alice",
        language_code: str | None = "en",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> int:
        """A user writes ``text`` in a chat; returns the update_id.

        A leading "/command" (with an optional "@botname") gets its ``bot_command`` entity. The
        user is the private chat's owner, else ``DEFAULT_USER_ID``, unless ``user_id`` is given.
        ``message_thread_id``: written inside that topic of a forum (registered as chat_type
        "supergroup" with ``is_forum``); the topic is opened if the fake did not know it.
        """
        if user_id is None:
            user_id = chat_id if chat_type == "private" else DEFAULT_USER_ID
        user = self._remember_user(user_id, first_name, username, language_code)
        with self._lock:
            chat = self._chat_for_injection(chat_id, chat_type, chat_title, user)
            fields: JSONDict = {"from": user, "text": text}
            if message_thread_id is not None:
                fields["message_thread_id"] = message_thread_id
                if chat.get("is_forum"):
                    fields["is_topic_message"] = True
                    self._topics.setdefault((chat_id, message_thread_id), "open")
            message = self._store_message(chat, fields)
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_length(command)}
                ]
            if reply_to_message_id is not None:
                replied = self._messages.get((chat_id, reply_to_message_id))
                if replied is not None:
                    message["reply_to_message"] = replied
            payload = json.loads(json.dumps(message))
        return self.inject_update({"message": payload})

    def inject_channel_post(
        self, chat_id: int, text: str, title: str = "News Channel", *, username: str | None = None
    ) -> int:
        """A post appears in a channel the bot is in; returns the update_id."""
        with self._lock:
            chat = self._chat_for_injection(chat_id, "channel", title, None, username=username)
            message = self._store_message(chat, {"sender_chat": chat, "text": text})
            payload = json.loads(json.dumps(message))
        return self.inject_update({"channel_post": payload})

    def inject_my_chat_member(
        self,
        chat_id: int,
        *,
        chat_type: str,
        old_status: str,
        new_status: str,
        user_id: int | None = None,
        chat_title: str | None = None,
    ) -> int:
        """The bot's membership in a chat changes (added to a channel, blocked by a user, ...);
        returns the update_id. The bot's status there changes too, so later sends to a chat it
        left or was blocked in answer 403, as on Telegram."""
        for status in (old_status, new_status):
            if status not in _STATUSES:
                raise ValueError(f"unknown status {status!r}; one of {sorted(_STATUSES)}")
        if user_id is None:
            user_id = chat_id if chat_type == "private" else DEFAULT_USER_ID
        user = self._remember_user(user_id, "Alice", "alice", "en")
        with self._lock:
            chat = self._chat_for_injection(chat_id, chat_type, chat_title, user)
            self._members[(chat_id, self.bot_id)] = {"status": new_status}
            payload = {
                "chat": chat,
                "from": user,
                "date": int(time.time()),
                "old_chat_member": _member_json(self.bot_user, old_status, {}),
                "new_chat_member": _member_json(self.bot_user, new_status, {}),
            }
        return self.inject_update({"my_chat_member": payload})

    def inject_callback_query(self, chat_id: int, user_id: int, data: str, message_id: int) -> int:
        """A user presses an inline button with ``data`` under message ``message_id``; returns
        the update_id. The query's id is accepted by answerCallbackQuery once."""
        user = self._remember_user(user_id, "Alice", "alice", "en")
        with self._lock:
            query_id = str(self._next_callback_id)
            self._next_callback_id += 1
            message = self._messages.get((chat_id, message_id))
            if message is None:  # Telegram's InaccessibleMessage
                message = {"chat": self._chat_json(chat_id), "message_id": message_id, "date": 0}
            query = {
                "id": query_id,
                "from": user,
                "chat_instance": str(abs(chat_id) * 7919 + 1),
                "message": message,
                "data": data,
            }
            self._callback_queries[query_id] = query
            payload = json.loads(json.dumps(query))
        return self.inject_update({"callback_query": payload})

    def _remember_user(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        with self._lock:
            self._users[user_id] = user
        return dict(user)

    def _chat_for_injection(
        self,
        chat_id: int,
        chat_type: str,
        title: str | None,
        user: JSONDict | None,
        *,
        username: str | None = None,
    ) -> JSONDict:
        known = self._chats.get(chat_id)
        if known is not None and known["type"] == chat_type and title is None:
            return dict(known)
        if chat_type == "private" and user is not None:
            return self.add_chat(
                chat_id, "private", first_name=user["first_name"], username=user.get("username")
            )
        return self.add_chat(chat_id, chat_type, title=title, username=username)

    # ---- request handling ------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error_response(_APIError(404, "Not Found"))

    async def _handle(self, request: web.Request) -> web.Response:
        arrival = time.monotonic()
        name = request.match_info["method"]
        try:
            params = await _read_params(request)
        except ValueError as exc:
            return _error_response(_bad_request(str(exc)))
        pending: Awaitable[Any] | None = None
        with self._lock:
            method, handler = self._methods.get(name.lower(), (name, None))
            delay = self._take_delay(method)
            try:
                if request.match_info["token"] != self.token:
                    raise _APIError(401, "Unauthorized")
                if handler is None:
                    raise _APIError(404, "Not Found: method not found")
                fault = self._take_fault(method, params)
                if fault is not None:
                    raise fault
                if method.lower() in self._odd_answers:
                    result = self._odd_answers[method.lower()]
                else:
                    result = handler(params)
                if inspect.isawaitable(result):
                    pending, result = result, None
                error: _APIError | None = None
            except _APIError as exc:
                error = exc
            self._calls.append(Call(method, params, arrival, error.error_code if error else None))
        if pending is not None:
            try:
                result = await pending
            except _APIError as exc:
                error = exc
        if delay:
            await self._sleep(delay)
        if error is not None:
            return _error_response(error)
        return web.json_response({"ok": True, "result": result})

    async def _sleep(self, seconds: float) -> None:
        assert self._closing is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    def _take_delay(self, method: str) -> float:
        wanted = method.lower()
        for delay in self._delays:
            if delay.method == wanted:
                if delay.times is not None:
                    delay.times -= 1
                    if delay.times <= 0:
                        self._delays.remove(delay)
                return delay.seconds
        return 0.0

    def _take_fault(self, method: str, params: JSONDict) -> _APIError | None:
        wanted = method.lower()
        chat = _chat_key(params.get("chat_id"))
        for fault in self._faults:
            if fault.method != wanted:
                continue
            if fault.chat_id is not None and fault.chat_id != chat:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            return fault.error
        return None

    # ---- chat helpers used by the methods ----------------------------------------------------

    def _resolve_quiet(self, chat_id: Any) -> int | str | None:
        key = _chat_key(chat_id)
        if isinstance(key, str) and key.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username", "").lower() == key[1:].lower():
                    return int(chat["id"])
        return key

    def _resolve(self, params: JSONDict, name: str = "chat_id") -> int:
        if params.get(name) in (None, ""):
            raise _bad_request(f"{name} is empty")
        key = self._resolve_quiet(params[name])
        if not isinstance(key, int):
            raise _bad_request("chat not found")
        return key

    def _chat_json(self, chat_id: int) -> JSONDict:
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            user = self._users.get(chat_id)
            chat = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
            if user is not None:
                chat["first_name"] = user["first_name"]
                if user.get("username"):
                    chat["username"] = user["username"]
            return chat
        if str(chat_id).startswith("-100"):
            return {"id": chat_id, "type": "supergroup", "title": f"Supergroup {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}

    def _user_json(self, user_id: int) -> JSONDict:
        if user_id == self.bot_id:
            return self.bot_user
        return dict(
            self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "User"}
        )

    def _member_status(self, chat_id: int, user_id: int) -> JSONDict:
        member = self._members.get((chat_id, user_id))
        if member is not None:
            return member
        if user_id == self.bot_id and self._chat_json(chat_id)["type"] == "channel":
            return {"status": "administrator"}  # a bot can only post in channels it administers
        return {"status": "member"}

    def _check_can_write(self, chat_id: int) -> JSONDict:
        """Raise what Telegram answers to a send into a chat the bot may not write to."""
        if chat_id in self._migrated:
            raise _APIError(400, _MIGRATED, {"migrate_to_chat_id": self._migrated[chat_id]})
        chat = self._chat_json(chat_id)
        kind = chat["type"]
        if chat_id in self._blocked:
            raise _APIError(403, self._blocked[chat_id] or _forbidden_description(kind, "kicked"))
        status = self._member_status(chat_id, self.bot_id)["status"]
        if status in ("left", "kicked"):
            raise _APIError(403, _forbidden_description(kind, status))
        if kind == "channel" and status == "member":
            raise _bad_request("need administrator rights in the channel chat")
        return chat

    def _check_flood(self, chat_id: int) -> None:
        if not self.enforce_limits:
            return
        now = time.monotonic()
        chat_window = self.per_chat_burst / self.per_chat_per_second
        windows = [
            (self._flood_global, self.global_per_second, 1.0),
            (self._flood_chat.setdefault(chat_id, deque()), self.per_chat_burst, chat_window),
        ]
        if chat_id < 0:
            windows.append(
                (self._flood_group.setdefault(chat_id, deque()), self.per_group_per_minute, 60.0)
            )
        for stamps, limit, window in windows:
            while stamps and stamps[0] <= now - window:
                stamps.popleft()
            if len(stamps) >= limit:
                self.flood_errors += 1
                retry_after = max(1, math.ceil(stamps[0] + window - now))
                raise _APIError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
        for stamps, _limit, _window in windows:
            stamps.append(now)

    def _store_message(self, chat: JSONDict, fields: JSONDict) -> JSONDict:
        chat_id = int(chat["id"])
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message = {"message_id": message_id, **fields, "chat": chat, "date": int(time.time())}
        self._messages[(chat_id, message_id)] = message
        return message

    def _parse_text(self, params: JSONDict, key: str, limit: int) -> tuple[str, list[JSONDict]]:
        """The text as Telegram stores it, and its entities; raise Telegram's 400s."""
        raw = params.get(key)
        text = "" if raw is None else str(raw)
        parse_mode = params.get("parse_mode") or ""
        entities = params.get("entities" if key == "text" else "caption_entities") or []
        if parse_mode and str(parse_mode).lower() not in ("html", "markdown", "markdownv2"):
            raise _bad_request(f"unsupported parse_mode {parse_mode!r}")
        if str(parse_mode).lower() == "html" and self.validate_html:
            try:
                parsed = parse_telegram_html(text, strict=self.strict_html)
            except HTMLParseError as exc:
                raise _bad_request(f"can't parse entities: {exc}") from None
            text, entities = parsed.text, parsed.entities
        if key == "text" and not text.strip():
            raise _bad_request("message text is empty")
        if utf16_length(text) > limit:
            raise _bad_request(f"message {'' if key == 'text' else 'caption '}is too long")
        return text, list(entities)

    # ---- Bot API methods: each takes the decoded params and returns the result -------------

    def _m_getMe(self, p: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": self.can_join_groups,
            "can_read_all_group_messages": self.can_read_all_group_messages,
            "supports_inline_queries": self.supports_inline_queries,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_logOut(self, p: JSONDict) -> bool:
        return True

    def _m_close(self, p: JSONDict) -> bool:
        return True

    def _m_setWebhook(self, p: JSONDict) -> bool:
        url = str(p.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {
            "url": url,
            "max_connections": int(p.get("max_connections") or 40),
            "allowed_updates": p.get("allowed_updates"),
        }
        self._fire_updates_event_threadsafe()  # a pending long poll must now answer 409
        return True

    def _m_deleteWebhook(self, p: JSONDict) -> bool:
        self._webhook = {"url": ""}
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_getWebhookInfo(self, p: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if info["url"]:
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook.get("allowed_updates"):
                info["allowed_updates"] = self._webhook["allowed_updates"]
        return info

    def _m_getUpdates(self, p: JSONDict) -> Awaitable[list[JSONDict]]:
        if self._webhook.get("url"):
            raise _APIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(p.get("offset") or 0)
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = max(float(p.get("timeout") or 0), 0.0)
        allowed = p.get("allowed_updates")
        if allowed is not None:
            # Telegram keeps the setting for later calls; an empty list means the default.
            self._allowed_updates = list(allowed) or None
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        self._poll_generation += 1
        generation = self._poll_generation
        self._fire_updates_event_threadsafe()  # an older poll still waiting ends with 409
        return self._long_poll(generation, limit, timeout)

    async def _long_poll(self, generation: int, limit: int, timeout: float) -> list[JSONDict]:
        assert self._closing is not None
        deadline = time.monotonic() + timeout
        while True:
            event = self._updates_event
            assert event is not None
            with self._lock:
                if generation != self._poll_generation:
                    raise _APIError(409, _DEFAULT_DESCRIPTIONS[409])
                batch = self._deliverable(limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._closing.is_set():
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _deliverable(self, limit: int) -> list[JSONDict]:
        allowed = self._allowed_updates
        kept: deque[JSONDict] = deque()
        for update in self._updates:
            kind = _update_type(update)
            if (kind in allowed) if allowed else (kind not in _OPT_IN_UPDATES):
                kept.append(update)
        self._updates = kept  # Telegram does not keep updates of types the bot did not ask for
        return [json.loads(json.dumps(update)) for update in list(kept)[:limit]]

    def _wake_pollers(self) -> None:
        with self._lock:
            self._fire_updates_event_threadsafe()

    def _fire_updates_event_threadsafe(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self._fire_updates_event()
        else:
            loop.call_soon_threadsafe(self._fire_updates_event)

    def _fire_updates_event(self) -> None:
        # A fresh Event per wake-up: every waiter re-checks, and none misses a later wake-up.
        event, self._updates_event = self._updates_event, asyncio.Event()
        if event is not None:
            event.set()

    def _m_setMyCommands(self, p: JSONDict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("commands must be a list of at most 100 BotCommand")
        for command in commands:
            name = str(command.get("command", ""))
            if not (
                1 <= len(name) <= 32
                and all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name)
            ):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(p.get("scope")), str(p.get("language_code") or ""))
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _m_getMyCommands(self, p: JSONDict) -> list[JSONDict]:
        key = (_scope_key(p.get("scope")), str(p.get("language_code") or ""))
        return list(self._commands.get(key, []))

    def _m_deleteMyCommands(self, p: JSONDict) -> bool:
        key = (_scope_key(p.get("scope")), str(p.get("language_code") or ""))
        self._commands.pop(key, None)
        return True

    def _profile_setter(self, field_name: str, p: JSONDict, limit: int) -> bool:
        value = str(p.get(field_name) or "")
        if len(value) > limit:
            raise _bad_request(f"{field_name} is too long")
        self._profile[(field_name, str(p.get("language_code") or ""))] = value
        return True

    def _profile_getter(self, field_name: str, p: JSONDict) -> JSONDict:
        lang = str(p.get("language_code") or "")
        value = self._profile.get((field_name, lang), self._profile.get((field_name, ""), ""))
        if field_name == "name" and not value:
            value = self.bot_first_name
        return {field_name: value}

    def _m_setMyDescription(self, p: JSONDict) -> bool:
        return self._profile_setter("description", p, 512)

    def _m_getMyDescription(self, p: JSONDict) -> JSONDict:
        return self._profile_getter("description", p)

    def _m_setMyShortDescription(self, p: JSONDict) -> bool:
        return self._profile_setter("short_description", p, 120)

    def _m_getMyShortDescription(self, p: JSONDict) -> JSONDict:
        return self._profile_getter("short_description", p)

    def _m_setMyName(self, p: JSONDict) -> bool:
        return self._profile_setter("name", p, 64)

    def _m_getMyName(self, p: JSONDict) -> JSONDict:
        return self._profile_getter("name", p)

    def _m_setChatMenuButton(self, p: JSONDict) -> bool:
        chat = _chat_key(p.get("chat_id"))
        self._menu_buttons[chat if isinstance(chat, int) else None] = p.get("menu_button") or {
            "type": "default"
        }
        return True

    def _m_getChatMenuButton(self, p: JSONDict) -> JSONDict:
        chat = _chat_key(p.get("chat_id"))
        key = chat if isinstance(chat, int) else None
        return self._menu_buttons.get(key) or self._menu_buttons.get(None) or {"type": "commands"}

    def _check_thread(self, chat: JSONDict, p: JSONDict, fields: JSONDict) -> None:
        """A send into a forum topic: refused as Telegram does when the topic is closed or gone;
        otherwise the message is in the topic."""
        thread = p.get("message_thread_id")
        if thread is None:
            return
        if not isinstance(thread, int):
            raise _bad_request("invalid message thread identifier specified")
        state = self._topics.get((int(chat["id"]), thread))
        if not chat.get("is_forum"):
            if chat["type"] != "supergroup":
                return  # ignored outside supergroups, as Telegram does
            raise _bad_request("message thread not found")
        if state is None or state == "deleted":
            raise _bad_request("message thread not found")
        if state == "closed":
            raise _bad_request("TOPIC_CLOSED")
        fields["message_thread_id"] = thread
        fields["is_topic_message"] = True

    def _m_sendMessage(self, p: JSONDict) -> JSONDict:
        chat_id = self._resolve(p)
        chat = self._check_can_write(chat_id)
        self._check_flood(chat_id)
        text, entities = self._parse_text(p, "text", MAX_MESSAGE_LENGTH)
        markup = _check_reply_markup(p.get("reply_markup"))
        fields = self._sender_fields(chat)
        self._check_thread(chat, p, fields)
        fields["text"] = text
        if entities:
            fields["entities"] = entities
        if isinstance(p.get("link_preview_options"), dict):
            fields["link_preview_options"] = _check_preview_options(p["link_preview_options"])
        if markup is not None and "inline_keyboard" in markup:
            fields["reply_markup"] = markup
        self._attach_reply(chat_id, p, fields)
        message = self._store_message(chat, fields)
        self._sent.append((chat_id, {**p, "chat_id": chat_id, "message_id": message["message_id"]}))
        return message

    def _m_sendPhoto(self, p: JSONDict) -> JSONDict:
        chat_id = self._resolve(p)
        chat = self._check_can_write(chat_id)
        self._check_flood(chat_id)
        if not p.get("photo"):
            raise _bad_request("there is no photo in the request")
        fields = self._sender_fields(chat)
        fields["photo"] = [
            {"file_id": f"photo-{chat_id}", "file_unique_id": "p1", "width": 90, "height": 60}
        ]
        if p.get("caption"):
            caption, entities = self._parse_text(p, "caption", MAX_CAPTION_LENGTH)
            fields["caption"] = caption
            if entities:
                fields["caption_entities"] = entities
        self._attach_reply(chat_id, p, fields)
        return self._store_message(chat, fields)

    def _sender_fields(self, chat: JSONDict) -> JSONDict:
        # A bot's post in a channel is signed by the channel, not by the bot.
        if chat["type"] == "channel":
            return {"sender_chat": chat}
        return {"from": self.bot_user}

    def _attach_reply(self, chat_id: int, p: JSONDict, fields: JSONDict) -> None:
        reply = p.get("reply_parameters") or {}
        reply_to = reply.get("message_id") if isinstance(reply, dict) else None
        reply_to = reply_to or p.get("reply_to_message_id")
        if reply_to:
            replied = self._messages.get((chat_id, int(reply_to)))
            if replied is None:
                allow = reply.get("allow_sending_without_reply") if isinstance(reply, dict) else 0
                if not (allow or p.get("allow_sending_without_reply")):
                    raise _bad_request("message to be replied not found")
            else:
                fields["reply_to_message"] = replied

    def _find_own_message(self, p: JSONDict, action: str) -> tuple[int, JSONDict]:
        chat_id = self._resolve(p)
        message_id = p.get("message_id")
        message = self._messages.get((chat_id, int(message_id))) if message_id else None
        if message is None:
            raise _bad_request(f"message to {action} not found")
        return chat_id, message

    def _m_editMessageText(self, p: JSONDict) -> JSONDict | bool:
        if p.get("inline_message_id"):
            self._parse_text(p, "text", MAX_MESSAGE_LENGTH)
            return True
        chat_id, message = self._find_own_message(p, "edit")
        self._check_can_write(chat_id)
        if message.get("from", {}).get("id") != self.bot_id and "sender_chat" not in message:
            raise _bad_request("message can't be edited")
        text, entities = self._parse_text(p, "text", MAX_MESSAGE_LENGTH)
        markup = _check_reply_markup(p.get("reply_markup"))
        new_markup = markup if markup and "inline_keyboard" in markup else None
        if (
            text == message.get("text")
            and entities == message.get("entities", [])
            and new_markup == message.get("reply_markup")
        ):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        message.pop("reply_markup", None)
        if new_markup is not None:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        return json.loads(json.dumps(message))

    def _m_editMessageReplyMarkup(self, p: JSONDict) -> JSONDict | bool:
        if p.get("inline_message_id"):
            return True
        _chat_id, message = self._find_own_message(p, "edit")
        markup = _check_reply_markup(p.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.pop("reply_markup", None)
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return json.loads(json.dumps(message))

    def _m_deleteMessage(self, p: JSONDict) -> bool:
        chat_id, message = self._find_own_message(p, "delete")
        del self._messages[(chat_id, message["message_id"])]
        return True

    def _m_answerCallbackQuery(self, p: JSONDict) -> bool:
        query_id = str(p.get("callback_query_id") or "")
        if self._callback_queries.pop(query_id, None) is None:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(p.get("text") or "")) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        return True

    def _m_sendChatAction(self, p: JSONDict) -> bool:
        chat_id = self._resolve(p)
        self._check_can_write(chat_id)
        if not p.get("action"):
            raise _bad_request("wrong parameter action in request")
        return True

    def _m_getChat(self, p: JSONDict) -> JSONDict:
        chat = self._chat_json(self._resolve(p))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _m_getChatMember(self, p: JSONDict) -> JSONDict:
        chat_id = self._resolve(p)
        user_id = p.get("user_id")
        if not isinstance(user_id, int):
            raise _bad_request("invalid user_id specified")
        member = self._member_status(chat_id, user_id)
        return _member_json(self._user_json(user_id), member["status"], member)

    def _m_getChatAdministrators(self, p: JSONDict) -> list[JSONDict]:
        chat_id = self._resolve(p)
        if self._chat_json(chat_id)["type"] == "private":
            raise _bad_request("there are no administrators in the private chat")
        admins = []
        user_ids = {user for chat, user in self._members if chat == chat_id} | {self.bot_id}
        for user_id in sorted(user_ids):
            member = self._member_status(chat_id, user_id)
            if member["status"] in ("creator", "administrator"):
                admins.append(_member_json(self._user_json(user_id), member["status"], member))
        return admins

    def _m_getChatMemberCount(self, p: JSONDict) -> int:
        chat_id = self._resolve(p)
        present = [
            member
            for (chat, _user), member in self._members.items()
            if chat == chat_id and member["status"] not in ("left", "kicked")
        ]
        return max(len(present), 2)

    def _m_leaveChat(self, p: JSONDict) -> bool:
        chat_id = self._resolve(p)
        self._members[(chat_id, self.bot_id)] = {"status": "left"}
        return True

    def _m_pinChatMessage(self, p: JSONDict) -> bool:
        self._find_own_message(p, "pin")
        return True

    def _m_unpinChatMessage(self, p: JSONDict) -> bool:
        self._resolve(p)
        return True


_METHOD_NAMES = [
    name[3:]
    for name, value in vars(FakeBotAPI).items()
    if name.startswith("_m_") and callable(value)
]


def _scope_key(scope: Any) -> str:
    if not scope:
        scope = {"type": "default"}
    return json.dumps(scope, sort_keys=True)


def _member_json(user: JSONDict, status: str, overrides: JSONDict) -> JSONDict:
    """ChatMember JSON with the fields python-telegram-bot requires for each status."""
    extra = {k: v for k, v in overrides.items() if k != "status"}
    if status == "creator":
        base: JSONDict = {"is_anonymous": False}
    elif status == "administrator":
        base = dict(_ADMIN_RIGHTS)
    elif status == "restricted":
        base = dict(_RESTRICTED_RIGHTS)
    elif status == "kicked":
        base = {"until_date": 0}
    else:
        base = {}
    return {"status": status, "user": user, **base, **extra}


def _forbidden_description(chat_type: str, status: str) -> str:
    if chat_type == "private":
        return "Forbidden: bot was blocked by the user"
    if chat_type == "channel":
        return "Forbidden: bot is not a member of the channel chat"
    if status == "left":
        return f"Forbidden: bot is not a member of the {chat_type} chat"
    return f"Forbidden: bot was kicked from the {chat_type} chat"


_PREVIEW_FIELDS = frozenset(
    {"is_disabled", "url", "prefer_small_media", "prefer_large_media", "show_above_text"}
)


def _check_preview_options(options: JSONDict) -> JSONDict:
    """LinkPreviewOptions as Telegram reads them: known fields only, booleans where booleans
    go, both media sizes at once refused."""
    unknown = set(options) - _PREVIEW_FIELDS
    if unknown:
        raise _bad_request(f"can't parse link preview options: unknown field {sorted(unknown)[0]}")
    for name in _PREVIEW_FIELDS - {"url"}:
        if name in options and not isinstance(options[name], bool):
            raise _bad_request(f"can't parse link preview options: {name} must be a boolean")
    if options.get("prefer_small_media") and options.get("prefer_large_media"):
        raise _bad_request("can't use both prefer_small_media and prefer_large_media")
    url = options.get("url")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise _bad_request("can't parse link preview URL")
    return dict(options)


def _check_reply_markup(markup: Any) -> JSONDict | None:
    """Reject what Telegram rejects in an inline keyboard; return the markup."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            if not str(button.get("text", "")):
                raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
                raise _bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    return markup


async def _read_params(request: web.Request) -> JSONDict:
    """Parameters from the query string and the body, decoded as Telegram does."""
    params: JSONDict = {k: _decode_param(k, v) for k, v in request.query.items()}
    if request.method != "POST" or not request.can_read_body:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise ValueError("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise ValueError("can't parse JSON object")
            params.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                content = value.file.read()
                params[key] = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "size": len(content),
                }
            else:
                params[key] = _decode_param(key, str(value))
    return params


def _error_response(error: _APIError) -> web.Response:
    return web.json_response(error.body(), status=error.error_code)


def _short_params(params: JSONDict) -> str:
    parts = []
    for key in ("chat_id", "text", "offset", "timeout"):
        if key in params:
            value = str(params[key])
            parts.append(f"{key}={value[:30] + '…' if len(value) > 30 else value}")
    return ", ".join(parts)


class ThreadedFakeBotAPI:
    """A :class:`FakeBotAPI` running in a background thread (see :meth:`FakeBotAPI.in_thread`).

    Every helper of the wrapped ``api`` is available as an attribute; ``wait_for`` and
    ``wait_for_messages`` are blocking here.
    """

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 10.0, *, message: str | None = None
    ) -> Any:
        """Re-check ``predicate`` until truthy and return its value; TimeoutError after
        ``timeout`` seconds, naming the condition and the last calls."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(self.api._timeout_message(predicate, timeout, message))
            time.sleep(0.01)

    def wait_for_messages(
        self, chat_id: int | str, count: int, timeout: float = 10.0
    ) -> list[JSONDict]:
        """Block until at least ``count`` messages were sent to ``chat_id``; return them all."""
        self.wait_for(
            lambda: len(self.api.sent_messages(chat_id)) >= count,
            timeout,
            message=f"{count} message(s) sent to chat {chat_id}",
        )
        return self.api.sent_messages(chat_id)
