"""Per-chat delivery settings, as core functions for the chat commands (and the CLI):
``/digest``, ``/timezone``, ``/quiet``, link previews, and a chat coming back.

Each setter takes the command's argument as typed, validates it, stores it and returns a
:class:`SettingResult`; wording the reply is the caller's job.  Nobody needs to tell the
sender: every write here moves the store's delivery generation, and the sender looks again.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.template import TemplateError, format_template, parse_template
from bot.delivery.digest import DIGEST_EVERY, QUIET_MODES, canonical_zone, parse_time_of_day
from bot.service.chats import CLEAR_WORDS
from storage.chats import Chat
from storage.store import Store


@dataclass(frozen=True, slots=True)
class SettingResult:
    """What a setter did.  ``problem`` when not ok: unknown-chat | bad-mode | bad-time |
    bad-zone | bad-range | same-time; ``detail`` holds the offending text.  ``chat``: the
    chat after."""

    ok: bool
    problem: str = ""
    detail: str = ""
    chat: Chat | None = None
    error: TemplateError | None = None  # problem "bad-template": what is wrong with it


def _done(store: Store, chat_id: int) -> SettingResult:
    chat = store.chats.get(chat_id)
    return SettingResult(ok=chat is not None, problem="" if chat else "unknown-chat", chat=chat)


def set_digest(store: Store, chat_id: int, argument: str) -> SettingResult:
    """``/digest``: "instant" (or "off": every alert at once), "hourly", or "daily [HH:MM]"
    (local time, default 08:00).  Going back to instant sends the held alerts now."""
    words = argument.strip().lower().split()
    if not words:
        return SettingResult(ok=False, problem="bad-mode", detail="")
    mode, rest = words[0], words[1:]
    chat = store.chats.get(chat_id)
    if chat is None:
        return SettingResult(ok=False, problem="unknown-chat")
    if mode in ("instant", "off", "none", "now"):
        store.chats.set_alert_mode(chat_id, "instant")
        store.outbox.release_held(chat_id)
        return _done(store, chat_id)
    if mode not in DIGEST_EVERY:
        return SettingResult(ok=False, problem="bad-mode", detail=words[0])
    at = chat.digest_at
    if rest:
        moment = parse_time_of_day(" ".join(w for w in rest if w != "at"))
        if moment is None:
            return SettingResult(ok=False, problem="bad-time", detail=" ".join(rest))
        at = f"{moment:%H:%M}"
    with store.atomic():
        store.chats.set_digest_schedule(chat_id, mode, at)
        store.chats.set_alert_mode(chat_id, "digest")
    return _done(store, chat_id)


def set_timezone(store: Store, chat_id: int, argument: str) -> SettingResult:
    """``/timezone``: an IANA name ("Asia/Seoul", "Europe/London"), "UTC", or an offset
    ("UTC+9", "+05:30").  Quiet hours and digest times are read in it."""
    zone = canonical_zone(argument)
    if zone is None:
        return SettingResult(ok=False, problem="bad-zone", detail=argument.strip())
    if not store.chats.set_timezone(chat_id, zone):
        return SettingResult(ok=False, problem="unknown-chat")
    store.outbox.release_quiet(chat_id)  # held until a time computed in the old zone
    return _done(store, chat_id)


_RANGE_SEPARATORS = ("-", "–")  # and "to", in any case


def _separator_at(text: str, at: int) -> int:
    """The length of the range separator ("-", "–", "to") at ``text[at]``, 0 if none."""
    if text.startswith(_RANGE_SEPARATORS, at):
        return 1
    return 2 if text[at : at + 2].lower() == "to" else 0


def quiet_range(text: str) -> tuple[str, str, str | None] | None:
    """``(start, end, mode or None)`` of a quiet-hours range ("23:00-07:00 silent",
    "22:30 to 6"), or None: the start is the shortest first run of non-blanks that a
    separator follows, the end one word, the mode ("hold" or "silent") one more.

    In one pass: every separator in the first word is a place the start could end, and
    what comes after it is judged from the words counted once (a pattern that tried each
    place would read the rest again from each: quadratic in a long word of dashes)."""
    text = text.strip()
    first = text.split(maxsplit=1)[0] if text else ""
    later = text[len(first) :].split()  # the words after the first
    if len(later) <= 2:
        modes = [word.lower() in QUIET_MODES for word in later]
        for cut in range(1, len(first)):
            size = _separator_at(first, cut)
            if not size:
                continue
            # the end of the first word after the separator (sliced only when taken)
            rest = cut + size < len(first)
            words = len(later) + rest
            if words == 1 or (words == 2 and modes[-1]):
                end = first[cut + size :] if rest else later[0]
                return first[:cut], end, later[-1].lower() if words == 2 else None
    # the separator opens the second word: the start is the whole first word
    second = text[len(first) :].lstrip()
    size = _separator_at(second, 0) if first and second else 0
    if size:
        tail = second[size:].split()
        if len(tail) == 1:
            return first, tail[0], None
        if len(tail) == 2 and tail[1].lower() in QUIET_MODES:
            return first, tail[0], tail[1].lower()
    return None


def set_quiet_hours(store: Store, chat_id: int, argument: str) -> SettingResult:
    """``/quiet``: "23:00-07:00" (local time; alerts are held until the end), with "silent"
    after it to send them without a sound instead; "off" to end quiet hours."""
    text = argument.strip()
    if store.chats.get(chat_id) is None:
        return SettingResult(ok=False, problem="unknown-chat")
    if text.lower() in ("off", "none", "no"):
        store.chats.set_quiet_hours(chat_id, "", "", "hold")
        store.outbox.release_quiet(chat_id)
        return _done(store, chat_id)
    found = quiet_range(text)
    if found is None:
        return SettingResult(ok=False, problem="bad-range", detail=text)
    start, end = parse_time_of_day(found[0]), parse_time_of_day(found[1])
    if start is None or end is None:
        return SettingResult(ok=False, problem="bad-time", detail=text)
    if start == end:  # no time at all (or the whole day: ambiguous either way)
        return SettingResult(ok=False, problem="same-time", detail=f"{start:%H:%M}")
    mode = found[2] or "hold"
    store.chats.set_quiet_hours(chat_id, f"{start:%H:%M}", f"{end:%H:%M}", mode)
    store.outbox.release_quiet(chat_id)
    return _done(store, chat_id)


def _from_config(store: Store, chat_id: int) -> SettingResult | None:
    """A refusal for a ``[[channels]]`` chat: its link previews, pictures and template
    come from the config file, which every start and /reload writes again (a change
    made here would be lost then)."""
    chat = store.chats.get(chat_id)
    if chat is not None and chat.from_config:
        return SettingResult(ok=False, problem="from-config")
    return None


def set_link_preview(store: Store, chat_id: int, enabled: bool | None) -> SettingResult:
    """Link previews under this chat's alerts: on, off, or None for the operator's default
    (``alerts.link_preview``).  Applies to alerts written from now on."""
    if refused := _from_config(store, chat_id):
        return refused
    if not store.chats.set_link_preview(chat_id, enabled):
        return SettingResult(ok=False, problem="unknown-chat")
    return _done(store, chat_id)


IMAGE_SIZES = ("large", "small", "off")


def set_image(store: Store, chat_id: int, size: str | None) -> SettingResult:
    """The article's picture in this chat's alerts: large (above the text), small, off, or
    None for the operator's default (``alerts.image``).  Applies to alerts written from now
    on."""
    if size is not None and size not in IMAGE_SIZES:
        return SettingResult(ok=False, problem="bad-image", detail=size)
    if refused := _from_config(store, chat_id):
        return refused
    if not store.chats.set_image(chat_id, size):
        return SettingResult(ok=False, problem="unknown-chat")
    return _done(store, chat_id)


def set_template(store: Store, chat_id: int, argument: str) -> SettingResult:
    """``/template``: the parts of this chat's alerts, in order ("title, summary, button");
    "default" (or "clear") for the operator's.  Applies to alerts written from now on.  A
    template that cannot be used: ``problem`` "bad-template", ``error`` the TemplateError."""
    text = argument.strip()
    if text.lower() in CLEAR_WORDS | {"default"}:
        stored = ""
    else:
        try:
            stored = format_template(parse_template(text))
        except TemplateError as e:
            return SettingResult(ok=False, problem="bad-template", detail=text, error=e)
    if refused := _from_config(store, chat_id):
        return refused
    if not store.chats.set_template(chat_id, stored):
        return SettingResult(ok=False, problem="unknown-chat")
    return _done(store, chat_id)


def set_breaking_through(store: Store, chat_id: int, enabled: bool) -> SettingResult:
    """Breaking news (``alerts.breaking_*``) at once, even during quiet hours or when the
    chat takes digests."""
    if not store.chats.set_breaking_through(chat_id, enabled):
        return SettingResult(ok=False, problem="unknown-chat")
    return _done(store, chat_id)


def next_image_size(current: str) -> str:
    """The size after ``current`` on the settings button: large → small → off → large."""
    position = IMAGE_SIZES.index(current) if current in IMAGE_SIZES else 0
    return IMAGE_SIZES[(position + 1) % len(IMAGE_SIZES)]


def reactivate_chat(
    store: Store,
    chat_id: int,
    *,
    type: str = "private",
    title: str = "",
    username: str = "",
) -> bool:
    """The chat talks to the bot again (/start) or re-added it (``my_chat_member``): make it
    active.  Returns True when it had been inactive (its subscriptions match again: the
    store's subscription generation moved)."""
    before = store.chats.get(chat_id)
    store.chats.ensure(chat_id, type=type, title=title, username=username, reactivate=True)
    return before is not None and not before.active
