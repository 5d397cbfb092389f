"""/reload: what a new config file changes while the bot runs, decided without touching it.

Applied at once: feeds (new ones polled, removed ones stopped), topics, channels,
``[alerts]`` and ``telegram.admins``.  Anything else (the token, the database,
polling and fetch settings, ...) takes a restart: the running values stay and the
outcome names the keys.  A file that does not load leaves everything as it was.

``plan_reload(old, new)`` is pure: it says what to run with and what changed; ``Core``
(``bot.app``) reads the file, applies the plan and reports a :class:`ReloadOutcome`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bot.config.model import Config

# Config sections applied while running; the rest is compared and reported.
LIVE_SECTIONS = frozenset({"feeds", "topics", "channels", "alerts", "source", "warnings"})
LIVE_TELEGRAM_KEYS = frozenset({"admins"})


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    ok: bool
    problem: str = ""  # why the current configuration was kept (every problem, one a line)
    problems: tuple[str, ...] = ()  # the file's mistakes, each "key: what to do"
    feeds: int = 0
    topics: int = 0
    channels: int = 0
    feeds_added: int = 0
    feeds_removed: int = 0
    topics_changed: tuple[str, ...] = ()
    needs_restart: tuple[str, ...] = ()  # keys that changed but apply only after a restart
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    """What a reload does: the configuration to run with, and what changed in it."""

    config: Config  # the new file's live sections on the running configuration
    needs_restart: tuple[str, ...]  # keys that differ but apply only after a restart
    feeds_changed: frozenset[str]  # urls of feeds still configured whose settings changed
    topics_changed: tuple[str, ...]  # topic ids added, removed or changed

    def outcome(self, *, feeds_added: int, feeds_removed: int) -> ReloadOutcome:
        """The outcome once applied, with the feeds the scheduler took on and dropped."""
        config = self.config
        return ReloadOutcome(
            ok=True,
            feeds=len(config.feeds),
            topics=len(config.topics),
            channels=len(config.channels),
            feeds_added=feeds_added,
            feeds_removed=feeds_removed,
            topics_changed=self.topics_changed,
            needs_restart=self.needs_restart,
            warnings=config.warnings,
        )


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    """The plan to go from the running ``old`` configuration to the file's ``new`` one."""
    applied, restart = merge_live(old, new)
    before = {f.url: f for f in old.feeds}
    feeds_changed = frozenset(
        f.url for f in applied.feeds if f.url in before and before[f.url] != f
    )
    topic_ids = set(old.topics) | set(applied.topics)
    topics_changed = tuple(
        sorted(t for t in topic_ids if old.topics.get(t) != applied.topics.get(t))
    )
    return ReloadPlan(
        config=applied,
        needs_restart=restart,
        feeds_changed=feeds_changed,
        topics_changed=topics_changed,
    )


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
