"""Chats as the commands see them: registering, leaving, language, pause, footer, operators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.chats import Chat
from storage.store import Store

MAX_FOOTER_CHARS = 200
CLEAR_WORDS = frozenset({"clear", "off", "reset", "none"})


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """The chat a command came from, as the core needs it."""

    chat_id: int
    type: str = "private"
    title: str = ""
    username: str = ""
    language: str = "en"


def register_chat(store: Store, chat: ChatInfo, *, reactivate: bool = True) -> Chat:
    """Remember the chat; a chat that talks to us again is active again."""
    return store.chats.ensure(
        chat.chat_id,
        type=chat.type,
        title=chat.title,
        username=chat.username,
        language=chat.language,
        reactivate=reactivate,
    )


def deactivate_chat(store: Store, chat_id: int, reason: str) -> None:
    """The bot was removed or blocked: nothing more is sent there until it is back, and
    what was queued is skipped (old news is not sent when it comes back)."""
    store.chats.deactivate(chat_id, reason)
    store.outbox.skip_chat(chat_id, reason)


def note_language(store: Store, chat_id: int, language: str) -> None:
    """The language a user's app reports; it applies until one is chosen with /language."""
    store.chats.note_language(chat_id, language)


def choose_language(store: Store, chat_id: int, language: str) -> None:
    store.chats.choose_language(chat_id, language)


def set_paused(store: Store, chat_id: int, paused: bool) -> bool:
    """Pause or resume; False when it already was so."""
    chat = store.chats.get(chat_id)
    if chat is None or chat.paused == paused:
        return False
    store.chats.set_paused(chat_id, paused)
    return True


def link_preview_on(chat: Chat, default: bool) -> bool:
    """Whether alerts to ``chat`` show link previews (its own choice, else the config's)."""
    return default if chat.link_preview is None else chat.link_preview


def image_size(chat: Chat, default: str) -> str:
    """How alerts to ``chat`` show the article's picture: large, small or off."""
    return chat.image or default


@dataclass(frozen=True, slots=True)
class FooterResult:
    ok: bool
    footer: str = ""
    problem: str = ""  # too-long | from-config
    detail: str = ""


def set_footer(store: Store, chat_id: int, text: str) -> FooterResult:
    """The chat's own footer under each alert; ``clear`` (or ``off``) goes back to the default."""
    chat = store.chats.get(chat_id)
    if chat is not None and chat.from_config:
        return FooterResult(ok=False, problem="from-config")
    footer = " ".join(text.split())
    if footer.lower() in CLEAR_WORDS:
        footer = ""
    if len(footer) > MAX_FOOTER_CHARS:
        return FooterResult(ok=False, problem="too-long", detail=str(MAX_FOOTER_CHARS))
    store.chats.set_footer(chat_id, footer)
    return FooterResult(ok=True, footer=footer)


def attach_chat(store: Store, chat: ChatInfo, added_by: int) -> Chat:
    """A channel or group attached from a private chat by one of its administrators."""
    register_chat(store, chat, reactivate=True)
    store.chats.set_added_by(chat.chat_id, added_by)
    found = store.chats.get(chat.chat_id)
    assert found is not None
    return found


def is_operator(admins: Sequence[int], user_id: int | None) -> bool:
    """True for the users listed in ``telegram.admins``."""
    return user_id is not None and user_id in admins
