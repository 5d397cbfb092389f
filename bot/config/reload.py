"""/reload: re-read the config file and apply what can change while the bot runs.

Applied at once: feeds (new ones polled, removed ones stopped), topics, channels,
``[alerts]`` and ``telegram.admins``.  Anything else (the token, the database,
polling and fetch settings, ...) takes a restart: the running values stay and the
outcome names the keys.  A file that does not load leaves everything as it was.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config.loader import load_config
from bot.config.model import Config
from bot.errors import ConfigError
from bot.matching.audience import Audience
from bot.pipeline import sync_config

if TYPE_CHECKING:
    from bot.app import Core

log = logging.getLogger(__name__)

# Config sections applied while running; the rest is compared and reported.
LIVE_SECTIONS = frozenset({"feeds", "topics", "channels", "alerts", "source", "warnings"})
LIVE_TELEGRAM_KEYS = frozenset({"admins"})


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    ok: bool
    problem: str = ""  # why the current configuration was kept
    feeds: int = 0
    topics: int = 0
    channels: int = 0
    feeds_added: int = 0
    feeds_removed: int = 0
    topics_changed: tuple[str, ...] = ()
    needs_restart: tuple[str, ...] = ()  # keys that changed but apply only after a restart
    warnings: tuple[str, ...] = ()


def merge_live(old: Config, new: Config) -> tuple[Config, tuple[str, ...]]:
    """The configuration to run with: ``new``'s live sections on ``old``; and the keys of
    ``new`` that differ but need a restart."""
    restart: list[str] = []
    for f in dataclasses.fields(Config):
        if f.name in LIVE_SECTIONS or f.name == "telegram":
            continue
        if getattr(old, f.name) != getattr(new, f.name):
            restart.append(f.name)
    for f in dataclasses.fields(old.telegram):
        if f.name in LIVE_TELEGRAM_KEYS:
            continue
        if getattr(old.telegram, f.name) != getattr(new.telegram, f.name):
            restart.append(f"telegram.{f.name}")
    merged = dataclasses.replace(
        old,
        feeds=new.feeds,
        topics=new.topics,
        channels=new.channels,
        alerts=new.alerts,
        warnings=new.warnings,
        telegram=dataclasses.replace(old.telegram, admins=new.telegram.admins),
    )
    return merged, tuple(restart)


async def reload_core(core: Core) -> ReloadOutcome:
    """Re-read ``core.config.source`` and apply it (see the module docstring)."""
    old = core.config
    if not old.source:
        return ReloadOutcome(ok=False, problem="the bot was started without a config file")
    try:
        new = load_config(old.source, require_token=core.use_telegram)
    except ConfigError as e:
        log.warning("reload: kept the current configuration: %s", e)
        return ReloadOutcome(ok=False, problem=str(e))
    applied, restart = merge_live(old, new)
    before = {f.url: f for f in old.feeds}
    try:
        # the database first: if it fails (locked by a backup, say), nothing has changed
        states = sync_config(core.store, applied)  # drops the feeds no longer configured
    except Exception as e:
        log.exception("reload: could not apply the configuration; kept the current one")
        return ReloadOutcome(ok=False, problem=f"the database refused the change: {e}")
    core.config = applied
    pipeline = core.pipeline
    pipeline.config = applied
    pipeline.audience = Audience(applied.topics)
    pipeline.subscriptions_changed()
    # what to (un)schedule comes from the scheduler's own jobs, so feeds added with
    # `newsalert feeds add` while the bot ran are picked up too
    scheduled = core.scheduler.feed_ids()
    added_ids = {s.id for s in states if s.id not in scheduled}
    removed_ids = scheduled - {s.id for s in states}
    if core.scheduler.running:
        from bot.ingest.feed_health import poll_interval

        changed = {f.url for f in applied.feeds if f.url in before and before[f.url] != f}
        for state in states:
            if state.url in changed or state.id in added_ids:
                interval = poll_interval(state, pipeline.policy)
                first_in = 0.0 if state.id in added_ids else interval
                core.scheduler.add_feed(state.id, interval, core._poll_job, first_in=first_in)
        for feed_id in removed_ids:
            core.scheduler.remove_feed(feed_id)
    if core.application is not None:
        await core._resolve_channel_names(core.application.bot)
    topic_ids = set(old.topics) | set(applied.topics)
    topics_changed = tuple(
        sorted(t for t in topic_ids if old.topics.get(t) != applied.topics.get(t))
    )
    log.info(
        "reload: %d feeds (+%d -%d), topics changed: %s; restart needed for: %s",
        len(applied.feeds),
        len(added_ids),
        len(removed_ids),
        ", ".join(topics_changed) or "none",
        ", ".join(restart) or "nothing",
    )
    return ReloadOutcome(
        ok=True,
        feeds=len(applied.feeds),
        topics=len(applied.topics),
        channels=len(applied.channels),
        feeds_added=len(added_ids),
        feeds_removed=len(removed_ids),
        topics_changed=topics_changed,
        needs_restart=restart,
        warnings=applied.warnings,
    )
