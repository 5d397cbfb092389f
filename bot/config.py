"""Loading and validating the operator's TOML configuration.

Every problem is reported as a :class:`~bot.errors.ConfigError` that names the
key (``feeds[2].interval``) and says what is wrong and what to write instead.
The token is held in a :class:`Secret` so that it never shows in a repr, a log
line or an error message.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.errors import ConfigError
from bot.intervals import parse_interval
from bot.records import Topic

TOKEN_ENV = "NEWSALERT_TELEGRAM_TOKEN"
WEBHOOK_SECRET_ENV = "NEWSALERT_WEBHOOK_SECRET"
DEFAULT_RETENTION = 30 * 86400.0
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_FEED_INTERVAL = 900.0
SHORT_INTERVAL_WARNING = 60.0
_TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")


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
    base_url: str = DEFAULT_BASE_URL
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
    retention: float | None = DEFAULT_RETENTION  # None: keep everything


@dataclass(frozen=True)
class MetricsConfig:
    listen: str = ""  # "host:port" of /healthz and /metrics; empty: off
    stale_after: float = 300.0


@dataclass(frozen=True)
class PollingConfig:
    default_interval: float = DEFAULT_FEED_INTERVAL
    min_interval: float = 120.0
    max_interval: float = 6 * 3600.0
    jitter: float = 10.0
    max_backoff: float = 6 * 3600.0
    give_up_after: float = 2 * 86400.0


@dataclass(frozen=True)
class FetchConfig:
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    per_host: int = 2
    full_text: bool = True
    user_agent: str = ""


@dataclass(frozen=True)
class AlertsConfig:
    footer: str = ""
    summary_chars: int = 450
    link_preview: bool = False


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


# -- validation helpers -------------------------------------------------------------------------


class _Table:
    """Reads one TOML table, remembering which keys were used, to report unknown ones."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(where, f"must be a table, got {_kind(data)}")
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = " or ".join(_type_name(k) for k in kinds)
            raise ConfigError(self.key(name), f"must be {names}, got {_kind(value)} {value!r}")
        return value

    def require(self, name: str, kind: type | tuple[type, ...]) -> Any:
        if name not in self.data:
            raise ConfigError(self.key(name), "is required but missing")
        return self.get(name, kind)

    def interval(self, name: str, default: float | None) -> float | None:
        self.used.add(name)
        if name not in self.data:
            return default
        try:
            return parse_interval(self.data[name])
        except ValueError as e:
            raise ConfigError(self.key(name), str(e)) from None

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used))
            raise ConfigError(
                self.key(unknown[0]),
                f"unknown key; the keys allowed here are: {known}. Check the spelling "
                "against config.example.toml",
            )


def _type_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }.get(kind, kind.__name__)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _check_url(key: str, url: str, *, allow_file: bool = False) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    if allow_file and parts.scheme == "file" and parts.path:
        return url
    allowed = "http:// or https://" + (" (or file:// for a local file)" if allow_file else "")
    raise ConfigError(key, f"{url!r} is not a valid URL; it must start with {allowed}")


def _positive(key: str, value: float) -> float:
    if value <= 0:
        raise ConfigError(key, f"must be greater than zero, got {value}")
    return value


# -- sections -----------------------------------------------------------------------------------


def _telegram(data: Any, env: Mapping[str, str]) -> TelegramConfig:
    t = _Table(data, "telegram")
    token = t.get("token", str, "")
    base_url = t.get("base_url", str, DEFAULT_BASE_URL)
    admins_raw = t.get("admins", list, [])
    username = t.get("username", str, "").lstrip("@")
    poll_timeout = t.interval("poll_timeout", 30.0)
    mode = t.get("mode", str, "polling")
    webhook_url = t.get("webhook_url", str, "").strip()
    webhook_listen = t.get("webhook_listen", str, "127.0.0.1:8443")
    webhook_secret = t.get("webhook_secret", str, "")
    t.done()
    webhook_secret = (env.get(WEBHOOK_SECRET_ENV) or webhook_secret).strip()
    _check_webhook(mode, webhook_url, webhook_listen, webhook_secret)
    if env.get(TOKEN_ENV):
        token = env[TOKEN_ENV]
    token = token.strip()
    if token and not _TOKEN_SHAPE.match(token):
        # Do not echo the value: it is a secret even when it is malformed.
        raise ConfigError(
            "telegram.token",
            "does not look like a bot token (digits, a colon, then letters); copy it again from "
            "@BotFather",
        )
    _check_url("telegram.base_url", base_url)
    if not base_url.rstrip("/").endswith("/bot"):
        raise ConfigError(
            "telegram.base_url",
            f"{base_url!r} must end with /bot, as python-telegram-bot expects, e.g. "
            "https://api.telegram.org/bot or http://127.0.0.1:8081/bot",
        )
    admins: list[int] = []
    for i, admin in enumerate(admins_raw):
        if isinstance(admin, bool) or not isinstance(admin, int):
            raise ConfigError(
                f"telegram.admins[{i}]",
                f"must be a numeric Telegram user id, got {admin!r}; ask @userinfobot for yours",
            )
        admins.append(admin)
    return TelegramConfig(
        token=Secret(token),
        base_url=base_url.rstrip("/"),
        admins=tuple(admins),
        username=username,
        poll_timeout=poll_timeout or 30.0,
        mode=mode,
        webhook_url=webhook_url,
        webhook_listen=webhook_listen,
        webhook_secret=Secret(webhook_secret),
    )


def _check_webhook(mode: str, url: str, listen: str, secret: str) -> None:
    if mode not in ("polling", "webhook"):
        raise ConfigError("telegram.mode", f'must be "polling" or "webhook", got {mode!r}')
    split_listen("telegram.webhook_listen", listen)
    if secret and not _WEBHOOK_SECRET.match(secret):
        # Do not echo it: it is a secret.
        raise ConfigError(
            "telegram.webhook_secret",
            "may hold only letters, digits, _ and - (1 to 256 of them), as Telegram requires",
        )
    if mode != "webhook":
        return
    if not url:
        raise ConfigError(
            "telegram.webhook_url",
            'is required when mode = "webhook": the public HTTPS URL that Telegram posts '
            'updates to, e.g. "https://bot.example.com/telegram"',
        )
    if urlsplit(url).scheme != "https" or not urlsplit(url).netloc:
        raise ConfigError(
            "telegram.webhook_url", f"{url!r} must be an https:// URL; Telegram posts only to HTTPS"
        )
    if not secret:
        raise ConfigError(
            "telegram.webhook_secret",
            f'is required when mode = "webhook" (or set {WEBHOOK_SECRET_ENV}): a random string '
            "of letters, digits, _ and -, e.g. from `openssl rand -hex 32`",
        )
    if len(secret) < 16:
        # a short secret is guessable, and too short to be redacted from logs safely
        raise ConfigError(
            "telegram.webhook_secret",
            "is too short; use at least 16 random characters, e.g. from `openssl rand -hex 32`",
        )


def split_listen(key: str, value: str) -> tuple[str, int]:
    """``"host:port"`` (``"[::1]:9464"``, ``":9464"`` for every interface) as (host, port);
    port 0 picks a free port."""
    host, sep, port_text = value.strip().rpartition(":")
    if (
        not sep
        or not port_text.isdecimal()
        or not port_text.isascii()
        or not 0 <= int(port_text) < 65536
    ):
        raise ConfigError(key, f'{value!r} is not "host:port", e.g. "127.0.0.1:9464"')
    return host.strip("[]"), int(port_text)


def _storage(data: Any) -> StorageConfig:
    t = _Table(data, "storage")
    path = t.get("path", str, "newsalert.db")
    t.used.add("retention")
    raw_retention = t.data.get("retention", DEFAULT_RETENTION)
    t.done()
    if not path.strip():
        raise ConfigError(
            "storage.path", "must not be empty; write a file path such as newsalert.db"
        )
    retention: float | None
    if raw_retention in (0, "0", "off", False):
        retention = None
    else:
        try:
            retention = parse_interval(raw_retention)
        except ValueError as e:
            raise ConfigError("storage.retention", f'{e}, or "off" to keep everything') from None
        if retention < 86400:
            raise ConfigError(
                "storage.retention",
                f'{raw_retention!r} is shorter than a day; keep at least "1d" (or "off")',
            )
    return StorageConfig(path=path, retention=retention)


def _metrics(data: Any) -> MetricsConfig:
    t = _Table(data, "metrics")
    listen = t.get("listen", str, "").strip()
    stale_after = t.interval("stale_after", 300.0) or 300.0
    t.done()
    if listen:
        split_listen("metrics.listen", listen)
    return MetricsConfig(listen=listen, stale_after=stale_after)


def _polling(data: Any) -> PollingConfig:
    t = _Table(data, "polling")
    cfg = PollingConfig(
        default_interval=t.interval("default_interval", DEFAULT_FEED_INTERVAL) or 0,
        min_interval=t.interval("min_interval", 120.0) or 0,
        max_interval=t.interval("max_interval", 6 * 3600.0) or 0,
        jitter=_jitter(t),
        max_backoff=t.interval("max_backoff", 6 * 3600.0) or 0,
        give_up_after=t.interval("give_up_after", 2 * 86400.0) or 0,
    )
    t.done()
    if cfg.min_interval > cfg.max_interval:
        raise ConfigError("polling.min_interval", "must not be longer than polling.max_interval")
    return cfg


def _jitter(t: _Table) -> float:
    t.used.add("jitter")
    if "jitter" not in t.data:
        return 10.0
    value = t.data["jitter"]
    if value in (0, "0", "0s"):
        return 0.0
    try:
        return parse_interval(value)
    except ValueError as e:
        raise ConfigError("polling.jitter", str(e)) from None


def _fetch(data: Any) -> FetchConfig:
    t = _Table(data, "fetch")
    cfg = FetchConfig(
        connect_timeout=t.interval("connect_timeout", 10.0) or 10.0,
        read_timeout=t.interval("read_timeout", 20.0) or 20.0,
        max_bytes=int(_positive("fetch.max_bytes", t.get("max_bytes", int, 10 * 1024 * 1024))),
        per_host=int(_positive("fetch.per_host", t.get("per_host", int, 2))),
        full_text=t.get("full_text", bool, True),
        user_agent=t.get("user_agent", str, ""),
    )
    t.done()
    return cfg


def _alerts(data: Any) -> AlertsConfig:
    t = _Table(data, "alerts")
    cfg = AlertsConfig(
        footer=t.get("footer", str, ""),
        summary_chars=_summary_chars("alerts.summary_chars", t.get("summary_chars", int, 450)),
        link_preview=t.get("link_preview", bool, False),
    )
    t.done()
    return cfg


def _summary_chars(key: str, value: int) -> int:
    if not 80 <= value <= 3000:
        raise ConfigError(key, f"must be between 80 and 3000 characters, got {value}")
    return value


LLM_KEY_ENV = "NEWSALERT_LLM_API_KEY"


def _summary(data: Any, env: Mapping[str, str]) -> SummaryConfig:
    t = _Table(data, "summary")
    base_url = t.get("llm_base_url", str, "").strip()
    model = t.get("llm_model", str, "").strip()
    # trimmed: a key pasted with a newline would be an invalid header, and httpx would
    # quote it in the error
    key = (env.get(LLM_KEY_ENV) or t.get("llm_api_key", str, "")).strip()
    t.used.add("llm_api_key")
    timeout = t.interval("llm_timeout", 10.0) or 10.0
    t.done()
    if base_url:
        _check_url("summary.llm_base_url", base_url)
        if not model:
            raise ConfigError(
                "summary.llm_model",
                'is missing; name the model the server should use, e.g. "llama3.1:8b"',
            )
    elif model:
        raise ConfigError(
            "summary.llm_base_url",
            "is missing; give the OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1",
        )
    return SummaryConfig(
        llm_base_url=base_url.rstrip("/"),
        llm_model=model,
        llm_api_key=Secret(key),
        llm_timeout=timeout,
    )


def _delivery(data: Any) -> DeliveryConfig:
    t = _Table(data, "delivery")
    rate = float(t.get("messages_per_second", (int, float), 30.0))
    attempts = t.get("max_attempts", int, 5)
    cfg = DeliveryConfig(
        messages_per_second=rate,
        max_attempts=attempts,
        per_chat_per_second=float(t.get("per_chat_per_second", (int, float), 1.0)),
        per_chat_burst=t.get("per_chat_burst", int, 3),
        group_messages_per_minute=t.get("group_messages_per_minute", int, 20),
        paid_broadcast=t.get("paid_broadcast", bool, False),
        paid_messages_per_second=float(t.get("paid_messages_per_second", (int, float), 1000.0)),
        max_in_flight=t.get("max_in_flight", int, 4),
        send_timeout=t.interval("send_timeout", 30.0) or 30.0,
        retry_backoff=t.interval("retry_backoff", 2.0) or 2.0,
        story_window=t.interval("story_window", 24 * 3600.0) or 0.0,
    )
    t.done()
    for key in ("messages_per_second", "per_chat_per_second", "paid_messages_per_second"):
        _positive(f"delivery.{key}", getattr(cfg, key))
    for key in ("max_attempts", "per_chat_burst", "group_messages_per_minute", "max_in_flight"):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"delivery.{key}", f"must be at least 1, got {getattr(cfg, key)}")
    return cfg


def _feeds(data: Any, warnings: list[str]) -> tuple[FeedConfig, ...]:
    if not isinstance(data, list):
        raise ConfigError("feeds", "must be an array of tables: write each feed as [[feeds]]")
    feeds: list[FeedConfig] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(data):
        where = f"feeds[{i}]"
        t = _Table(item, where)
        url = _check_url(f"{where}.url", t.require("url", str), allow_file=True)
        name = t.get("name", str, "").strip()
        interval = t.interval("interval", None)
        full_text = t.get("full_text", bool, None)
        t.done()
        if url in seen:
            raise ConfigError(f"{where}.url", f"{url!r} is already listed as feeds[{seen[url]}]")
        seen[url] = i
        if interval is not None and interval < SHORT_INTERVAL_WARNING:
            warnings.append(
                f"{where}.interval: {interval:g}s is very short; the feed will be polled that "
                "often as asked, which some publishers rate-limit"
            )
        feeds.append(FeedConfig(url=url, name=name, interval=interval, full_text=full_text))
    return tuple(feeds)


def _topics(data: Any) -> dict[str, Topic]:
    from bot.topics import builtin_topics

    topics = dict(builtin_topics())
    if not isinstance(data, list):
        raise ConfigError("topics", "must be an array of tables: write each topic as [[topics]]")
    seen: set[str] = set()
    for i, item in enumerate(data):
        where = f"topics[{i}]"
        t = _Table(item, where)
        topic_id = t.require("id", str).strip()
        name = t.get("name", str, "").strip() or topic_id
        query = t.require("query", str)
        description = t.get("description", str, "")
        threshold = float(t.get("threshold", (int, float), 0.0))
        model = t.get("model", str, "").strip()
        t.done()
        if not _TOPIC_ID.match(topic_id):
            raise ConfigError(
                f"{where}.id",
                f"{topic_id!r} is not a valid topic id; use lowercase letters, digits and "
                'hyphens, e.g. "korea-diplomacy"',
            )
        if topic_id in seen:
            raise ConfigError(f"{where}.id", f"topic {topic_id!r} is defined twice")
        seen.add(topic_id)
        _check_query(f"{where}.query", query)
        if model:
            from bot.topic_model import check_model_ref

            problem = check_model_ref(model)
            if problem:
                raise ConfigError(f"{where}.model", problem)
        topics[topic_id] = Topic(
            id=topic_id,
            name=name,
            query=query,
            description=description,
            threshold=threshold,
            model=model,
        )
    return topics


def _check_query(key: str, query: str) -> None:
    from bot.errors import QueryError
    from bot.query import parse_query

    try:
        parse_query(query)
    except QueryError as e:
        raise ConfigError(key, f"is not a valid query: {e}") from None


def _channels(data: Any, topics: Mapping[str, Topic]) -> tuple[ChannelConfig, ...]:
    if not isinstance(data, list):
        raise ConfigError(
            "channels", "must be an array of tables: write each channel as [[channels]]"
        )
    channels: list[ChannelConfig] = []
    for i, item in enumerate(data):
        where = f"channels[{i}]"
        t = _Table(item, where)
        chat_id = t.require("chat_id", (int, str))
        topic_ids = t.get("topics", list, [])
        footer = t.get("footer", str, "")
        link_preview = t.get("link_preview", bool, None)
        summary_chars = t.get("summary_chars", int, None)
        t.done()
        if isinstance(chat_id, str):
            chat_id = chat_id.strip()
            if re.fullmatch(r"-?\d+", chat_id):
                chat_id = int(chat_id)
            elif not re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,31}", chat_id):
                raise ConfigError(
                    f"{where}.chat_id",
                    f"{chat_id!r} is neither a numeric chat id (-1001234567890) nor a public "
                    "channel name (@my_channel)",
                )
        if not topic_ids:
            raise ConfigError(f"{where}.topics", "lists no topics; name at least one topic id")
        for j, topic_id in enumerate(topic_ids):
            if not isinstance(topic_id, str) or topic_id not in topics:
                known = ", ".join(sorted(topics))
                raise ConfigError(
                    f"{where}.topics[{j}]",
                    f"unknown topic {topic_id!r}; known topics: {known}",
                )
        if summary_chars is not None:
            _summary_chars(f"{where}.summary_chars", summary_chars)
        channels.append(
            ChannelConfig(
                chat_id=chat_id,
                topics=tuple(topic_ids),
                footer=footer,
                link_preview=link_preview,
                summary_chars=summary_chars,
            )
        )
    return tuple(channels)


_SECTIONS = (
    "telegram",
    "storage",
    "polling",
    "fetch",
    "alerts",
    "delivery",
    "metrics",
    "summary",
    "feeds",
    "topics",
    "channels",
)


def config_from_dict(
    data: Mapping[str, Any], *, env: Mapping[str, str] | None = None, source: str = ""
) -> Config:
    """Validate a parsed TOML document into a :class:`Config`."""
    env = os.environ if env is None else env
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigError(unknown[0], f"unknown section; the sections are: {', '.join(_SECTIONS)}")
    warnings: list[str] = []
    topics = _topics(data.get("topics", []))
    return Config(
        telegram=_telegram(data.get("telegram", {}), env),
        storage=_storage(data.get("storage", {})),
        polling=_polling(data.get("polling", {})),
        fetch=_fetch(data.get("fetch", {})),
        alerts=_alerts(data.get("alerts", {})),
        delivery=_delivery(data.get("delivery", {})),
        summary=_summary(data.get("summary", {}), env),
        metrics=_metrics(data.get("metrics", {})),
        feeds=_feeds(data.get("feeds", []), warnings),
        topics=topics,
        channels=_channels(data.get("channels", []), topics),
        source=source,
        warnings=tuple(warnings),
    )


def load_config(
    path: str | Path, *, env: Mapping[str, str] | None = None, require_token: bool = False
) -> Config:
    """Read and validate the TOML file at ``path``.

    ``require_token``: the caller will talk to Telegram, so a missing token is an error.
    Raises :class:`ConfigError` naming the key and the problem.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "", f"config file {str(path)!r} not found; copy config.example.toml and edit it"
        ) from None
    except OSError as e:
        raise ConfigError("", f"cannot read config file {str(path)!r}: {e.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("", f"{path} is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("", f"{path} is not valid TOML: {e}") from None
    config = config_from_dict(data, env=env, source=str(path))
    if require_token:
        check_token(config)
    return config


def check_token(config: Config) -> None:
    """Raise :class:`ConfigError` when the configuration has no bot token."""
    if not config.telegram.token:
        raise ConfigError(
            "telegram.token",
            f"is missing; set it in the file or in the environment variable {TOKEN_ENV} "
            "(get one from @BotFather), or run with --dry-run to print alerts instead",
        )
