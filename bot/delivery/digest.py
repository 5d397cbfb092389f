"""When a chat's alerts go out: instantly, in hourly or daily digests, and around quiet hours.

Pure decisions over a chat's settings and the time (:func:`quiet_state`,
:func:`digest_slot`, :func:`digest_due`), and :func:`make_due_digests`, the periodic job that
turns the alerts held for a digest into digest messages in the outbox (split at Telegram's
4096 characters), which the sender then sends like any alert.

Times of day ("23:00", "08:00") are local to the chat's time zone (``Chat.timezone``, an
IANA name such as "Asia/Seoul", or a fixed offset such as "UTC+05:30").
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.delivery.labels import alert_labels
from bot.delivery.render import ENGLISH, AlertLabels, DigestLine, format_time, render_digest
from bot.i18n import fill
from bot.records import utcnow
from bot.text import plural
from storage.chats import Chat
from storage.outbox import HeldAlert
from storage.store import Store

log = logging.getLogger(__name__)

DIGEST_EVERY = ("hourly", "daily")
QUIET_MODES = ("hold", "silent")
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_HHMM = re.compile(r"^([01]?\d|2[0-3])[:.h]?([0-5]\d)?$")


def parse_time_of_day(value: str) -> time | None:
    """ "07:00", "7:00", "7", "0730", "19.30" as a time of day; None when it is not one."""
    value = value.strip().lower()
    compact = re.fullmatch(r"(\d{1,2})(\d{2})", value)
    if compact:
        value = f"{compact.group(1)}:{compact.group(2)}"
    match = _HHMM.match(value)
    if not match:
        return None
    return time(int(match.group(1)), int(match.group(2) or 0))


def zone_of(name: str) -> tzinfo | None:
    """The time zone for an IANA name ("Asia/Seoul", "UTC") or an offset ("UTC+9",
    "+05:30"); None when it is neither."""
    name = name.strip()
    if not name:
        return None
    match = _OFFSET.match(name)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(-offset if sign == "-" else offset)
    if name.upper() in ("UTC", "GMT", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder
        pass
    key = _zone_key(name)
    return ZoneInfo(key) if key else None


@functools.cache
def _zone_keys() -> dict[str, list[str]]:
    """Every IANA zone name by its lower-case spelling and by its lower-case city (the
    last part: "seoul" for "Asia/Seoul"), read once, when a name is first not found."""
    keys: dict[str, list[str]] = {}
    for key in sorted(available_timezones()):
        keys.setdefault(key.lower(), []).append(key)
        if "/" in key:
            keys.setdefault(key.rsplit("/", 1)[1].lower(), []).append(key)
    return keys


def _spelling(name: str) -> str:
    """``name`` as :func:`_zone_keys` spells its keys ("new york" -> "new_york"); "" when
    too long to be a zone's name."""
    spelled = re.sub(r"\s+", "_", name.strip()).lower()
    return "" if len(spelled) > 64 else spelled


def _zone_key(name: str) -> str:
    """The IANA name a person meant when not written exactly: "asia/seoul", "Seoul",
    "new york" (one zone of that city only); "" when none or several."""
    spelled = _spelling(name)
    if not spelled:
        return ""
    found = _zone_keys().get(spelled, [])
    exact = [k for k in found if k.lower() == spelled]
    return exact[0] if exact else found[0] if len(found) == 1 else ""


def zone_meant(name: str) -> str:
    """The IANA zone closest to a name :func:`zone_of` does not know ("Asia/Seol",
    "Seol"): the one to suggest, or "" when none is close."""
    spelled = _spelling(name)
    if not spelled:
        return ""
    close = difflib.get_close_matches(spelled, _zone_keys(), n=1, cutoff=0.8)
    found = _zone_keys()[close[0]] if close else []
    return found[0] if len(found) == 1 else ""


def canonical_zone(name: str) -> str | None:
    """The spelling to store for a zone :func:`zone_of` accepts: the IANA name, "UTC", or
    "UTC+05:30" for an offset."""
    zone = zone_of(name)
    if zone is None:
        return None
    if isinstance(zone, ZoneInfo):
        return zone.key
    if zone is UTC:
        return "UTC"
    offset = zone.utcoffset(None) or timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def chat_zone(chat: Chat) -> tzinfo:
    """The chat's time zone (UTC when its setting cannot be read)."""
    return _zone(chat)


def _zone(chat: Chat) -> tzinfo:
    return zone_of(chat.timezone) or UTC


def _at(day: datetime, moment: time, zone: tzinfo) -> datetime:
    """``moment`` on ``day``'s date in ``zone``, as UTC."""
    return datetime.combine(day.date(), moment, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class QuietState:
    """Whether a chat is in its quiet hours now, until when, and what it wants then."""

    quiet: bool
    until: datetime | None = None  # UTC end of the current quiet hours
    mode: str = "hold"

    @property
    def hold(self) -> bool:
        return self.quiet and self.mode == "hold"

    @property
    def silent(self) -> bool:
        return self.quiet and self.mode == "silent"


def quiet_state(chat: Chat, now: datetime | None = None) -> QuietState:
    """The chat's quiet hours at ``now``: quiet from ``quiet_start`` to ``quiet_end`` (local;
    "23:00"-"07:00" spans midnight)."""
    start, end = parse_time_of_day(chat.quiet_start), parse_time_of_day(chat.quiet_end)
    if start is None or end is None or start == end:
        return QuietState(False)
    zone = _zone(chat)
    local = (now or utcnow()).astimezone(zone)
    t = local.time().replace(tzinfo=None)
    quiet = start <= t < end if start < end else (t >= start or t < end)
    if not quiet:
        return QuietState(False, mode=chat.quiet_mode)
    until = _at(local, end, zone)
    if until <= (now or utcnow()):
        until = _at(local + timedelta(days=1), end, zone)
    return QuietState(True, until, chat.quiet_mode)


def digest_slot(chat: Chat, now: datetime | None = None) -> datetime:
    """The latest scheduled digest time at or before ``now`` (UTC): the top of the local
    hour for hourly digests, today's (else yesterday's) ``digest_at`` for daily ones."""
    zone = _zone(chat)
    now = now or utcnow()
    local = now.astimezone(zone)
    if chat.digest_every == "hourly":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    moment = parse_time_of_day(chat.digest_at) or time(8, 0)
    slot = _at(local, moment, zone)
    return slot if slot <= now else _at(local - timedelta(days=1), moment, zone)


def digest_due(chat: Chat, oldest_held: datetime, now: datetime | None = None) -> bool:
    """True when a digest slot has passed since the oldest held alert arrived and since the
    last digest was made."""
    slot = digest_slot(chat, now)
    if oldest_held >= slot:
        return False
    return chat.last_digest_at is None or chat.last_digest_at < slot


def digest_heading(
    chat: Chat, count: int, now: datetime | None = None, labels: AlertLabels = ENGLISH
) -> str:
    """The heading of a digest of ``count`` alerts made at ``now`` (the chat's local time:
    "Your news digest, 14:00: 3 stories", "Your daily news digest, 29 Oct: 1 story"),
    worded by ``labels``."""
    local = (now or utcnow()).astimezone(_zone(chat))
    stories = fill(labels.story_one if count == 1 else labels.story_many, count=count)
    if chat.digest_every == "hourly":
        return fill(labels.digest_hourly, time=f"{local:%H:%M}", stories=stories)
    date = fill(labels.date, day=local.day, month=labels.months[local.month - 1])
    return fill(labels.digest_daily, date=date, stories=stories)


def make_due_digests(
    store: Store,
    *,
    footer_for: Callable[[Chat], str] = lambda chat: "",
    now: datetime | None = None,
) -> int:
    """Make the digests that are due: each chat's held alerts become digest messages in
    the outbox (pending), worded in the chat's language.  Alerts held for a chat that went
    back to instant alerts become pending again.  Returns the number of digest messages
    made."""
    now = now or utcnow()
    store.outbox.release_held()
    made = 0
    for chat_id in store.outbox.chats_with_held():
        chat = store.chats.get(chat_id)
        if chat is None or not chat.active or chat.paused:
            continue  # a paused chat keeps its held alerts until /resume
        held = store.outbox.held(chat_id)
        if not held or not digest_due(chat, held[0].created_at, now):
            continue
        labels = alert_labels(chat.language)
        zone = _zone(chat)
        # a forum's alerts go to the topics their subscriptions were made in: one digest
        # each, carried by one of its own rows (a carrier takes its row's topic)
        by_thread: dict[int | None, list[HeldAlert]] = {}
        for h in held:
            by_thread.setdefault(h.thread_id, []).append(h)
        parts = [
            part
            for alerts in by_thread.values()
            for part in render_digest(
                [
                    DigestLine(
                        h.id, h.title, h.link, h.source, format_time(h.published, zone, labels)
                    )
                    for h in alerts
                ],
                heading=digest_heading(chat, len(alerts), now, labels),
                footer=footer_for(chat),
                labels=labels,
            )
        ]
        with store.atomic():
            store.outbox.make_digest([(p.ids, p.html, p.text) for p in parts])
            store.chats.mark_digest_made(chat_id, now)
        log.info(
            "digest for chat %d: %s in %s",
            chat_id,
            plural(len(held), "alert"),
            plural(len(parts), "message"),
        )
        made += len(parts)
    return made
