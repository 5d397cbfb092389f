"""The configuration as the bot runs with it: frozen dataclasses, one per TOML section.

Every default is written once, here, as a field's default; the loader
(``bot.config.loader``) and the parts that take these settings as arguments (the
fetcher, the rate limiter, the sender, feed health, ...) read it from the field.
The token is held in a :class:`Secret` so that it never shows in a repr, a log line or
an error message.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from bot.config.template import DEFAULT_TEMPLATE
from bot.credentials import feed_keys, has_credentials, match_feed, public_feed_url
from bot.records import Topic


class Secret:
    """A string that never shows itself in repr() or str()."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class TelegramConfig:
    token: Secret = field(default_factory=lambda: Secret(""))
    base_url: str = "https://api.telegram.org/bot"
    admins: tuple[int, ...] = ()
    username: str = ""
    poll_timeout: float = 30.0
    mode: str = "polling"  # polling | webhook
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1:8443"
    webhook_secret: Secret = field(default_factory=lambda: Secret(""))


@dataclass(frozen=True)
class StorageConfig:
    path: str = "newsalert.db"
    retention: float | None = 30 * 86400.0  # None: keep everything


@dataclass(frozen=True)
class MetricsConfig:
    listen: str = ""  # "host:port" of /healthz and /metrics; empty: off
    stale_after: float = 300.0


@dataclass(frozen=True)
class PollingConfig:
    default_interval: float = 900.0
    min_interval: float = 120.0
    max_interval: float = 6 * 3600.0
    jitter: float = 10.0
    max_backoff: float = 6 * 3600.0
    give_up_after: float = 2 * 86400.0
    # first polls after a start, at most this many a second (5,000 feeds: over 250 s)
    start_rate: float = 20.0


@dataclass(frozen=True)
class FetchConfig:
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    per_host: int = 2
    full_text: bool = True
    user_agent: str = ""
    # internal addresses (IPs, CIDR networks, host names) that links in feeds may reach
    allow_private: tuple[str, ...] = ()
    # how long a batch of matched articles waits for their pages' full text, all at once
    full_text_deadline: float = 10.0


@dataclass(frozen=True)
class AlertsConfig:
    footer: str = ""
    summary_chars: int = 450
    link_preview: bool = False
    image: str = "large"  # the article's picture above the text: large | small | off
    breaking_outlets: int = 3  # distinct outlets that make a story "Breaking" ...
    breaking_window: float = 30 * 60.0  # ... when they carry it within this many seconds
    template: tuple[str, ...] = DEFAULT_TEMPLATE  # the parts of an alert, in order
    # 👍/👎 buttons under alerts in private chats and groups; a chat's votes steer only its
    # own alerts unless the operator lets every chat learn from all (learn_across_chats)
    feedback: bool = True
    learn_across_chats: bool = False


@dataclass(frozen=True)
class SummaryConfig:
    """The optional LLM summariser (an OpenAI-compatible chat-completions endpoint)."""

    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: Secret = field(default_factory=lambda: Secret(""))
    llm_timeout: float = 10.0

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


@dataclass(frozen=True)
class DeliveryConfig:
    messages_per_second: float = 30.0
    max_attempts: int = 5
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    group_messages_per_minute: int = 20
    paid_broadcast: bool = False
    paid_messages_per_second: float = 1000.0
    max_in_flight: int = 4
    send_timeout: float = 30.0
    retry_backoff: float = 2.0
    story_window: float = 24 * 3600.0
    # Group stories by meaning too (article vectors, bot.ingest.stories.same_story), not
    # only by words: a reworded copy from another outlet becomes "Also: <outlet>".
    story_by_meaning: bool = True


@dataclass(frozen=True)
class PerformanceConfig:
    """Where the CPU-heavy work runs (``bot.workers``): parse, extract, summarise."""

    workers: str = "process"  # process | thread | inline
    pool_size: int = 0  # worker processes or threads; 0: one per core, at most 4
    task_timeout: float = 60.0  # seconds one task may take before it is given up


@dataclass(frozen=True)
class FeedConfig:
    url: str
    name: str = ""
    interval: float | None = None
    full_text: bool | None = None


@dataclass(frozen=True)
class ChannelConfig:
    chat_id: int | str
    topics: tuple[str, ...] = ()
    footer: str = ""
    link_preview: bool | None = None
    summary_chars: int | None = None
    image: str | None = None  # large | small | off; None: alerts.image
    thread_id: int | None = None  # a forum supergroup's topic (message_thread_id)
    template: tuple[str, ...] = ()  # the parts of its alerts, in order; (): alerts.template
    language: str | None = None  # en | ko, as /language; None: the channel's own choice


@dataclass(frozen=True)
class Config:
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    polling: PollingConfig = field(default_factory=PollingConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    summary: SummaryConfig = field(default_factory=SummaryConfig)
    performance: PerformanceConfig = field(default_factory=PerformanceConfig)
    feeds: tuple[FeedConfig, ...] = ()
    topics: Mapping[str, Topic] = field(default_factory=dict)
    channels: tuple[ChannelConfig, ...] = ()
    source: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def needs_telegram(self) -> bool:
        """True when the file expects to send somewhere: channels or admins are set."""
        return bool(self.channels or self.telegram.admins)

    @property
    def prune_after(self) -> float | None:
        """Seconds after which finished alerts and article texts are pruned (None: never):
        ``storage.retention``, but never less than ``delivery.story_window``, whose copies
        of a story are recognised through the alerts already sent."""
        if not self.storage.retention:
            return None
        return max(self.storage.retention, self.delivery.story_window)

    def lists_feed(self, url: str) -> bool:
        """Whether ``url`` is one of the file's feeds, compared by public URL (the
        database's key: with other credentials, or none, it is still the same feed) as
        ``same_feed`` compares them (scheme and host in any case, a trailing ``/``)."""
        return match_feed(public_feed_url(url), self._feed_keys) is not None

    def credentialed_feed_url(self, public: str) -> str | None:
        """The file's URL, credentials included, of the feed stored as ``public`` (the
        database keeps none; ``***@`` for a password it gave up), compared as
        :meth:`lists_feed` does; None when the file gives it none, or has no such feed."""
        match = match_feed(public_feed_url(public), self._feed_keys)
        url = self._feeds_by_public_url[match[0]] if match is not None else None
        return url if url is not None and has_credentials(url) else None

    @cached_property
    def _feeds_by_public_url(self) -> dict[str, str]:
        # built once per config (a reload makes a new one): asked for every OPML entry
        # and every fetch; the loader refuses two feeds with one public URL
        return {public_feed_url(f.url): f.url for f in self.feeds}

    @cached_property
    def _feed_keys(self) -> dict[str, str]:
        return feed_keys(self._feeds_by_public_url)


def secret_keys() -> frozenset[str]:
    """The TOML keys (``telegram.token``, ...) whose fields are a :class:`Secret`: the
    loader never shows their values, whatever is wrong with them."""
    keys: set[str] = set()
    for section in dataclasses.fields(Config):
        kind = typing.get_type_hints(Config)[section.name]
        if not dataclasses.is_dataclass(kind):
            continue
        hints = typing.get_type_hints(kind)
        keys.update(
            f"{section.name}.{f.name}" for f in dataclasses.fields(kind) if hints[f.name] is Secret
        )
    return frozenset(keys)
