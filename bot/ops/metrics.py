"""The bot's counters and gauges, in Prometheus' terms, one set per :class:`~bot.app.Core`.

Each Core owns a :class:`Metrics` with its own ``CollectorRegistry`` (never the
global one), so several Cores can run in one process, as in the tests.  The
places that do the work call one method each (``poll_done``, ``alert_sent``,
``alert_failed``); what the database already knows (outbox depth, each feed's
last success) is read when ``/metrics`` is scraped, in :meth:`Metrics.refresh`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot import __version__
from bot.ingest.urls import redact_url
from bot.records import DeliveryState

if TYPE_CHECKING:
    from storage.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
POLL_STATUSES = ("new-articles", "unchanged", "not-modified", "primed", "error")
# Telegram answers in tens to hundreds of milliseconds; a flood wait can take seconds.
SEND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# How late the event loop's heartbeat woke up: a healthy loop stays in the first buckets.
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class PollOutcome(Protocol):
    """What :meth:`Metrics.poll_done` reads from a ``bot.pipeline.PollResult``."""

    @property
    def status(self) -> str: ...
    @property
    def new_articles(self) -> int: ...
    @property
    def alerts(self) -> int: ...
    @property
    def error_kind(self) -> str: ...


class Metrics:
    """Counters and gauges of one running bot; see the README for what each one means."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.info = Gauge(
            "newsalert_info", "Always 1; the version is a label.", ["version"], registry=r
        )
        self.info.labels(__version__).set(1)
        self.polls = Counter("newsalert_polls", "Feed polls, by outcome.", ["status"], registry=r)
        for status in POLL_STATUSES:
            self.polls.labels(status)
        self.fetch_errors = Counter(
            "newsalert_fetch_errors",
            "Feed polls that failed, by kind (timeout, http, rate_limited, parse, ...).",
            ["kind"],
            registry=r,
        )
        self.new_articles = Counter(
            "newsalert_new_articles", "Articles seen for the first time.", registry=r
        )
        self.matches = Counter(
            "newsalert_matches",
            "Alerts written to the outbox: one per matching article and subscribed chat.",
            registry=r,
        )
        self.alerts_sent = Counter("newsalert_alerts_sent", "Alerts Telegram accepted.", registry=r)
        self.alerts_failed = Counter(
            "newsalert_alerts_failed",
            "Alerts given up on (refused, or out of attempts); the reason is in the log.",
            registry=r,
        )
        self.send_latency = Histogram(
            "newsalert_send_latency_seconds",
            "Time for Telegram to accept one alert: the sendMessage call, waits for "
            "Telegram's flood limits included.",
            buckets=SEND_BUCKETS,
            registry=r,
        )
        self.outbox_pending = Gauge(
            "newsalert_outbox_pending", "Alerts waiting to be sent.", registry=r
        )
        self.feed_last_success = _FeedSuccesses()
        r.register(self.feed_last_success)
        self.telegram_last_contact = Gauge(
            "newsalert_telegram_last_contact_timestamp_seconds",
            "When Telegram last answered a call (Unix time); 0 before the first answer.",
            registry=r,
        )
        self.loop_lag = Histogram(
            "newsalert_event_loop_lag_seconds",
            "How late the event loop's heartbeat (every 0.1 s) ran: the time the loop was "
            "held by something that did not wait, during which no command was answered.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.loop_lag_max = Gauge(
            "newsalert_event_loop_lag_max_seconds",
            "The longest event-loop stall since the start.",
            registry=r,
        )
        self.worker_tasks = Counter(
            "newsalert_worker_tasks",
            "CPU-heavy tasks (parse, extract, summarise) by where they ran: "
            "process, thread or inline (on the event loop).",
            ["task", "mode"],
            registry=r,
        )
        self.worker_timeouts = Counter(
            "newsalert_worker_timeouts",
            "Tasks given up because they took longer than performance.task_timeout.",
            ["task"],
            registry=r,
        )
        self.last_telegram_contact = 0.0  # Unix time; 0 = never
        self.longest_stall = 0.0  # seconds

    # -- called where the work happens ----------------------------------------------------

    def poll_done(self, result: PollOutcome) -> None:
        """One feed poll finished."""
        self.polls.labels(result.status).inc()
        if result.status == "error":
            self.fetch_errors.labels(result.error_kind or "error").inc()
        if result.new_articles:
            self.new_articles.inc(result.new_articles)
        if result.alerts:
            self.matches.inc(result.alerts)

    def loop_lagged(self, seconds: float) -> None:
        """The event loop's heartbeat ran ``seconds`` late."""
        self.loop_lag.observe(seconds)
        if seconds > self.longest_stall:
            self.longest_stall = seconds
            self.loop_lag_max.set(seconds)

    def worker_task(self, task: str, mode: str) -> None:
        """A task was handed to the worker pool (``bot.workers``)."""
        self.worker_tasks.labels(task, mode).inc()

    def worker_timeout(self, task: str) -> None:
        """A task ran past its time limit."""
        self.worker_timeouts.labels(task).inc()

    def alert_sent(self, seconds: float) -> None:
        """Telegram accepted an alert after ``seconds``."""
        self.alerts_sent.inc()
        self.send_latency.observe(seconds)
        self.telegram_contact()

    def alert_failed(self) -> None:
        """An alert was given up on."""
        self.alerts_failed.inc()

    def telegram_contact(self, at: float | None = None) -> None:
        """Telegram answered (a send, getMe, ...)."""
        self.last_telegram_contact = time.time() if at is None else at
        self.telegram_last_contact.set(self.last_telegram_contact)

    # -- read at scrape time ----------------------------------------------------------------

    def refresh(self, store: Store) -> None:
        """Set the gauges that the database knows: outbox depth, feeds' last success."""
        self.outbox_pending.set(store.outbox.counts().get(DeliveryState.PENDING, 0))
        self.feed_last_success.refresh(store)

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)


class _FeedSuccesses(Collector):
    """``newsalert_feed_last_success_timestamp_seconds{feed}``, read from the database at
    each scrape (one narrow query; the labels remembered per URL): building a gauge child
    per feed from every feed's whole state held the loop 0.2 s a scrape at 5,000 feeds."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float]] = []
        self._labels: dict[str, str] = {}  # feed URL -> its label

    def refresh(self, store: Store) -> None:
        rows: list[tuple[str, float]] = []
        shown: set[str] = set()
        labels: dict[str, str] = {}  # this scrape's feeds only: removed ones are forgotten
        for feed_id, url, at in store.feeds.last_successes():
            # the URL as anyone may see it: feed URLs carry credentials (user:password@,
            # ?key=...), and /metrics is read by whoever scrapes it
            label = labels[url] = self._labels.get(url) or redact_url(url)
            if label in shown:
                label = f"{label} (feed {feed_id})"  # two URLs alike once redacted
            shown.add(label)
            rows.append((label, at.timestamp()))
        self._labels = labels
        self.rows = rows

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "newsalert_feed_last_success_timestamp_seconds",
            "When each feed last answered (Unix time); absent for a feed never reached.",
            labels=["feed"],
        )
        for label, value in self.rows:
            family.add_metric([label], value)
        yield family
