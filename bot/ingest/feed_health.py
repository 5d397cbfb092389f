"""Feed health and polling rhythm: pure decisions over a feed's stored state.

- A failing feed backs off exponentially, capped at ``max_backoff``; a 429/503
  ``Retry-After`` is honoured when longer.
- 410 Gone, or failures for longer than ``give_up_after``, stop regular polling
  ("gone" / "broken"); such a feed is probed once every ``max_backoff`` so that it
  can recover, and the operator is told once when it stops and once when it recovers.
- A feed that answers but has published nothing for far longer than its usual
  rhythm is "quiet".
- A feed without its own interval is polled at about half its usual gap between
  new entries, within ``min_interval``..``max_interval``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config.model import PollingConfig
from bot.records import FeedStatus
from storage.feeds import FeedState

STOPPED = frozenset({FeedStatus.GONE, FeedStatus.BROKEN})


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """``[polling]``'s rhythm and limits, and when a feed counts as quiet."""

    default_interval: float = PollingConfig.default_interval
    min_interval: float = PollingConfig.min_interval
    max_interval: float = PollingConfig.max_interval
    max_backoff: float = PollingConfig.max_backoff
    give_up_after: float = PollingConfig.give_up_after
    quiet_factor: float = 8.0
    quiet_minimum: float = 86400.0


def poll_interval(feed: FeedState, policy: HealthPolicy) -> float:
    """Seconds between polls: the feed's own interval as given, else adaptive."""
    if feed.interval is not None:
        return feed.interval
    if feed.avg_gap is None:
        return min(max(policy.default_interval, policy.min_interval), policy.max_interval)
    return min(max(feed.avg_gap / 2.0, policy.min_interval), policy.max_interval)


def backoff_delay(
    failures: int, interval: float, policy: HealthPolicy, retry_after: float | None = None
) -> float:
    """Seconds to wait after the ``failures``-th failure in a row (1 = the first)."""
    doublings = min(max(0, failures - 1), 64)  # past the cap long before; 2**n must fit a float
    delay = min(policy.max_backoff, interval * 2.0**doublings)
    delay = max(delay, min(interval, policy.max_backoff))
    if retry_after:
        delay = max(delay, retry_after)
    return delay


def is_broken(feed: FeedState, now: datetime, policy: HealthPolicy) -> bool:
    """Failing without a break for longer than ``give_up_after``."""
    return feed.first_failure_at is not None and (now - feed.first_failure_at) >= timedelta(
        seconds=policy.give_up_after
    )


def is_quiet(feed: FeedState, now: datetime, policy: HealthPolicy) -> bool:
    """Answers, but silent far longer than its usual rhythm."""
    if feed.avg_gap is None or feed.last_new_entry is None:
        return False
    limit = max(policy.quiet_factor * feed.avg_gap, policy.quiet_minimum)
    return (now - feed.last_new_entry).total_seconds() > limit


def due(feed: FeedState, now: datetime, policy: HealthPolicy) -> bool:
    """Whether a scheduled tick should really poll the feed now."""
    if feed.status in STOPPED:
        last = feed.last_polled
        return last is None or (now - last).total_seconds() >= policy.max_backoff
    # A healthy feed's rhythm is the scheduler's; only a failing one waits out its backoff.
    backing_off = feed.consecutive_failures > 0 and feed.next_poll is not None
    return not (backing_off and feed.next_poll is not None and feed.next_poll > now)


def first_polls(
    feeds: list[FeedState], now: datetime, policy: HealthPolicy, rate: float
) -> list[float]:
    """Seconds from ``now`` to each feed's first poll after a start, in ``feeds``' order.

    A feed resumes its rhythm: polled ``last_polled + interval`` (a failing one at its
    ``next_poll``), at once when that is past or it was never polled.  Then no two first
    polls come closer than ``1 / rate`` seconds (one pass over the feeds by due time): a
    restart with 5,000 feeds polled them all in one second, and every interval after it
    was a burst of 5,000 polls too."""
    due_in: list[float] = []
    for feed in feeds:
        at: datetime | None = None
        if feed.consecutive_failures > 0 and feed.next_poll is not None:
            at = feed.next_poll
        elif feed.last_polled is not None and feed.status not in STOPPED:
            at = feed.last_polled + timedelta(seconds=poll_interval(feed, policy))
        due_in.append(max(0.0, (at - now).total_seconds()) if at is not None else 0.0)
    gap = 1.0 / rate
    out = list(due_in)
    free = 0.0  # the earliest moment the next first poll may take
    for i in sorted(range(len(feeds)), key=due_in.__getitem__):
        out[i] = max(due_in[i], free)
        free = out[i] + gap
    return out
