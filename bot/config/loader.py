"""Loading and validating the operator's TOML configuration into ``bot.config.model``.

Every problem of a file is reported in one :class:`~bot.errors.ConfigError`: the
loader goes on after a mistake, and each problem names the key
(``feeds[2].interval``) and says what is wrong and what to write instead.
A key that is not in the file takes the default of its field in the model.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.config.addresses import parse_allow_private
from bot.config.durations import parse_interval
from bot.config.keys import unknown_key
from bot.config.model import (
    AlertsConfig,
    ChannelConfig,
    Config,
    DeliveryConfig,
    FeedConfig,
    FetchConfig,
    MetricsConfig,
    PerformanceConfig,
    PollingConfig,
    Secret,
    StorageConfig,
    SummaryConfig,
    TelegramConfig,
    secret_keys,
)
from bot.config.template import TemplateError, parse_template
from bot.credentials import (
    feed_key,
    has_credentials,
    masked_anywhere,
    public_feed_url,
    secret_values,
    twin_fragment,
)
from bot.errors import ConfigError, ConfigProblem
from bot.i18n import LANGUAGE_NAMES, LANGUAGES
from bot.records import Topic
from bot.text import redact_url, redact_urls

TOKEN_ENV = "NEWSALERT_TELEGRAM_TOKEN"
WEBHOOK_SECRET_ENV = "NEWSALERT_WEBHOOK_SECRET"
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
SHORT_INTERVAL_WARNING = 60.0
SHORT_INTERVALS_NAMED = 3  # beyond this many, one warning names the first few
_TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
# a bot token inside any text (a base_url with the token pasted after /bot, say)
_TOKEN_IN_TEXT = re.compile(r"\d+(?::|%3A|%3a)[A-Za-z0-9_-]{20,}")
# keys whose values are never shown in a problem (a Secret field of the model)
SECRET_KEYS = secret_keys()


def _token_problem(token: str) -> str:
    """What is wrong with a token of the wrong shape, without a word of the token itself:
    the two slips a copy makes (the "bot" of the Bot API's URLs, quotes kept) are named."""
    shape = (
        "does not look like a bot token (digits, a colon, then at least 20 letters, digits, _ or -)"
    )
    if token[:3].lower() == "bot" and _TOKEN_SHAPE.match(token[3:]):
        return (
            f"{shape}: it starts with 'bot', which the Bot API's URLs put before the token; "
            "write the token without it"
        )
    if len(token) > 1 and token[0] in "'\"" and _TOKEN_SHAPE.match(token.strip("'\"")):
        return f"{shape}: it is in quotes; write the token without them"
    return f"{shape}; copy it again from @BotFather"


# -- validation helpers -------------------------------------------------------------------------


class _Problems:
    """Every mistake found so far: the loader goes on after one, to report them all at once."""

    def __init__(self) -> None:
        self.items: list[ConfigProblem] = []

    def add(self, key: str, problem: str) -> None:
        self.items.append(ConfigProblem(key, hide_secrets(problem)))

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Record a :class:`ConfigError` raised inside, and go on after the block."""
        try:
            yield
        except ConfigError as e:
            self.items.extend(ConfigProblem(p.key, hide_secrets(p.problem)) for p in e.problems)

    def about(self, *keys: str) -> bool:
        """Whether a problem with one of ``keys`` is recorded already."""
        return any(p.key in keys for p in self.items)


def hide_secrets(text: str) -> str:
    """``text`` without what may be a credential: URLs lose their userinfo and query
    values, token-shaped strings become ***. Every problem goes through it, as a last
    guard; secret fields are never quoted in the first place."""
    return redact_urls(_TOKEN_IN_TEXT.sub("***", text))


class _Table:
    """Reads one TOML table, remembering which keys were used, to report unknown ones.

    A value of the wrong type is recorded as a problem and read as the default."""

    def __init__(self, data: Any, where: str, problems: _Problems) -> None:
        if not isinstance(data, dict):
            raise ConfigError(where, f"must be a table, got {_kind(data)}")
        self.data = data
        self.where = where
        self.problems = problems
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
            if self.key(name) in SECRET_KEYS:  # not even a part of it: it is a secret
                shown = "; its value is not shown, as it is a secret"
            else:
                shown = f" {value!r}"
            self.problems.add(self.key(name), f"must be {names}, got {_kind(value)}{shown}")
            return default
        return value

    def require(self, name: str, kind: type | tuple[type, ...]) -> Any:
        """The value, or None (a problem recorded) when it is missing or of the wrong type."""
        if name not in self.data:
            self.used.add(name)
            self.problems.add(self.key(name), "is required but missing")
            return None
        return self.get(name, kind)

    def interval(self, name: str, default: float | None) -> float | None:
        self.used.add(name)
        if name not in self.data:
            return default
        try:
            return parse_interval(self.data[name])
        except ValueError as e:
            self.problems.add(self.key(name), str(e))
            return default

    def done(self) -> None:
        for name in sorted(set(self.data) - self.used):
            self.problems.add(self.key(name), unknown_key(name, self.used))


def _default(model: type, name: str) -> Any:
    """The default of field ``name`` of the dataclass ``model`` (for the tables that also
    have required keys, so cannot be built empty)."""
    for f in dataclasses.fields(model):
        if f.name == name:
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            return f.default
    raise KeyError(name)


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


def check_url(key: str, url: str, *, allow_file: bool = False) -> str:
    """``url`` stripped, when it is http(s) (or ``file:`` if allowed); else a
    :class:`ConfigError` for ``key``."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        try:
            port = parts.port
        except ValueError:  # not a number, or over 65535
            port = 0
        if not parts.hostname:
            problem = "has no host name after the // (and after the user name and password)"
        elif port == 0:
            problem = "has a port that is not a number from 1 to 65535 after the host name"
        else:
            return url
        raise ConfigError(key, f"{redact_url(url)!r} {problem}; write e.g. https://host:8080/path")
    if allow_file and parts.scheme == "file" and parts.path:
        return url
    allowed = "http:// or https://" + (" (or file:// for a local file)" if allow_file else "")
    raise ConfigError(key, f"{redact_url(url)!r} is not a valid URL; it must start with {allowed}")


def _positive(key: str, value: float) -> float:
    if value <= 0:
        raise ConfigError(key, f"must be greater than zero, got {value}")
    return value


# -- sections -----------------------------------------------------------------------------------


def _telegram(data: Any, env: Mapping[str, str], problems: _Problems) -> TelegramConfig:
    t, d = _Table(data, "telegram", problems), TelegramConfig()
    token = t.get("token", str, d.token.get())
    base_url = t.get("base_url", str, d.base_url)
    admins_raw = t.get("admins", list, list(d.admins))
    username = t.get("username", str, d.username).lstrip("@")
    poll_timeout = t.interval("poll_timeout", d.poll_timeout)
    mode = t.get("mode", str, d.mode)
    webhook_url = t.get("webhook_url", str, d.webhook_url).strip()
    webhook_listen = t.get("webhook_listen", str, d.webhook_listen)
    webhook_secret = t.get("webhook_secret", str, d.webhook_secret.get())
    t.done()
    secret_key = "telegram.webhook_secret"
    if env.get(WEBHOOK_SECRET_ENV):
        webhook_secret, secret_key = (
            env[WEBHOOK_SECRET_ENV],
            from_env(WEBHOOK_SECRET_ENV, secret_key),
        )
    webhook_secret = webhook_secret.strip()
    _check_webhook(mode, webhook_url, webhook_listen, webhook_secret, problems, secret_key)
    token_key = "telegram.token"
    if env.get(TOKEN_ENV):
        token, token_key = env[TOKEN_ENV], from_env(TOKEN_ENV, token_key)
    token = token.strip()
    if token and not _TOKEN_SHAPE.match(token):
        # Do not echo the value: it is a secret even when it is malformed.
        problems.add(token_key, _token_problem(token))
    with problems.guard():
        check_url("telegram.base_url", base_url)
        if not base_url.rstrip("/").endswith("/bot"):
            raise ConfigError(
                "telegram.base_url",
                f"{base_url!r} must end with /bot, as python-telegram-bot expects, e.g. "
                "https://api.telegram.org/bot or http://127.0.0.1:8081/bot",
            )
    admins: list[int] = []
    for i, admin in enumerate(admins_raw):
        if isinstance(admin, bool) or not isinstance(admin, int):
            problems.add(
                f"telegram.admins[{i}]",
                f"must be a numeric Telegram user id, got {admin!r}; ask @userinfobot for yours",
            )
            continue
        admins.append(admin)
    return TelegramConfig(
        token=Secret(token),
        base_url=base_url.rstrip("/"),
        admins=tuple(admins),
        username=username,
        poll_timeout=poll_timeout or d.poll_timeout,
        mode=mode,
        webhook_url=webhook_url,
        webhook_listen=webhook_listen,
        webhook_secret=Secret(webhook_secret),
    )


def from_env(variable: str, key: str) -> str:
    """The key of a problem with a value that came from the environment ``variable``
    (which overrides ``key`` of the file): it names the variable, not the file."""
    return f"{variable} (environment variable, overrides {key})"


MIN_WEBHOOK_SECRET = 16  # Telegram takes 1 to 256; a shorter one is guessable
# the one rule every message about telegram.webhook_secret states (config.example.toml too)
WEBHOOK_SECRET_RULE = (
    f"{MIN_WEBHOOK_SECRET} to 256 letters, digits, _ and - (a random string, e.g. from "
    "`openssl rand -hex 32`)"
)


def _check_webhook(
    mode: str, url: str, listen: str, secret: str, problems: _Problems, secret_key: str
) -> None:
    if mode not in ("polling", "webhook"):
        problems.add("telegram.mode", f'must be "polling" or "webhook", got {mode!r}')
    with problems.guard():
        split_listen("telegram.webhook_listen", listen)
    if secret and not _WEBHOOK_SECRET.match(secret):
        # Do not echo it: it is a secret.
        problems.add(secret_key, f"must be {WEBHOOK_SECRET_RULE}")
    if mode != "webhook":
        return
    if not url:
        problems.add(
            "telegram.webhook_url",
            'is required when mode = "webhook": the public HTTPS URL that Telegram posts '
            'updates to, e.g. "https://bot.example.com/telegram"',
        )
    elif urlsplit(url).scheme != "https" or not urlsplit(url).netloc:
        problems.add(
            "telegram.webhook_url", f"{url!r} must be an https:// URL; Telegram posts only to HTTPS"
        )
    if not secret:
        if problems.about(secret_key):
            return  # one of the wrong type is not "missing" as well
        problems.add(
            "telegram.webhook_secret",
            f'is required when mode = "webhook" (or set {WEBHOOK_SECRET_ENV}): '
            f"{WEBHOOK_SECRET_RULE}",
        )
    elif len(secret) < MIN_WEBHOOK_SECRET:
        # a short secret is guessable, and too short to be redacted from logs safely
        problems.add(secret_key, f"is too short: it must be {WEBHOOK_SECRET_RULE}")


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


def _storage(data: Any, problems: _Problems) -> StorageConfig:
    t, d = _Table(data, "storage", problems), StorageConfig()
    path = t.get("path", str, d.path)
    t.used.add("retention")
    raw_retention = t.data.get("retention", d.retention)
    t.done()
    if not path.strip():
        problems.add("storage.path", "must not be empty; write a file path such as newsalert.db")
    retention: float | None = d.retention
    if raw_retention in (0, "0", "off", False):
        retention = None
    else:
        try:
            retention = parse_interval(raw_retention)
        except ValueError as e:
            problems.add("storage.retention", f'{e}, or "off" to keep everything')
        else:
            if retention < 86400:
                problems.add(
                    "storage.retention",
                    f'{raw_retention!r} is shorter than a day; keep at least "1d" (or "off")',
                )
    return StorageConfig(path=path, retention=retention)


def _metrics(data: Any, problems: _Problems) -> MetricsConfig:
    t, d = _Table(data, "metrics", problems), MetricsConfig()
    listen = t.get("listen", str, d.listen).strip()
    stale_after = t.interval("stale_after", d.stale_after) or d.stale_after
    t.done()
    if listen:
        with problems.guard():
            split_listen("metrics.listen", listen)
    return MetricsConfig(listen=listen, stale_after=stale_after)


WORKER_MODES = ("process", "thread", "inline")


def _performance(data: Any, problems: _Problems) -> PerformanceConfig:
    t, d = _Table(data, "performance", problems), PerformanceConfig()
    workers = t.get("workers", str, d.workers).strip()
    pool_size = t.get("pool_size", int, d.pool_size)
    task_timeout = t.interval("task_timeout", d.task_timeout) or 0.0
    t.done()
    if workers not in WORKER_MODES:
        problems.add(
            "performance.workers",
            f"{workers!r} is not a choice; write one of {', '.join(map(repr, WORKER_MODES))} "
            '("process", the default, keeps the bot responsive while feeds are parsed)',
        )
        workers = d.workers
    if pool_size < 0:
        problems.add("performance.pool_size", f"must be 0 (automatic) or more, got {pool_size}")
    with problems.guard():
        _positive("performance.task_timeout", task_timeout)
    return PerformanceConfig(workers=workers, pool_size=pool_size, task_timeout=task_timeout)


def _polling(data: Any, problems: _Problems) -> PollingConfig:
    t, d = _Table(data, "polling", problems), PollingConfig()
    cfg = PollingConfig(
        default_interval=t.interval("default_interval", d.default_interval) or 0,
        min_interval=t.interval("min_interval", d.min_interval) or 0,
        max_interval=t.interval("max_interval", d.max_interval) or 0,
        jitter=_jitter(t, d.jitter),
        max_backoff=t.interval("max_backoff", d.max_backoff) or 0,
        give_up_after=t.interval("give_up_after", d.give_up_after) or 0,
        start_rate=float(t.get("start_rate", (int, float), d.start_rate)),
    )
    t.done()
    with problems.guard():
        _positive("polling.start_rate", cfg.start_rate)
    if cfg.min_interval > cfg.max_interval:
        problems.add("polling.min_interval", "must not be longer than polling.max_interval")
    return cfg


def _jitter(t: _Table, default: float) -> float:
    t.used.add("jitter")
    if "jitter" not in t.data:
        return default
    value = t.data["jitter"]
    if value in (0, "0", "0s"):
        return 0.0
    try:
        return parse_interval(value)
    except ValueError as e:
        t.problems.add("polling.jitter", str(e))
        return default


def _fetch(data: Any, problems: _Problems) -> FetchConfig:
    t, d = _Table(data, "fetch", problems), FetchConfig()
    allow_private = d.allow_private
    with problems.guard():
        allow_private = _allow_private(t.get("allow_private", list, list(d.allow_private)))
    cfg = FetchConfig(
        connect_timeout=t.interval("connect_timeout", d.connect_timeout) or d.connect_timeout,
        read_timeout=t.interval("read_timeout", d.read_timeout) or d.read_timeout,
        max_bytes=t.get("max_bytes", int, d.max_bytes),
        per_host=t.get("per_host", int, d.per_host),
        full_text=t.get("full_text", bool, d.full_text),
        user_agent=t.get("user_agent", str, d.user_agent),
        allow_private=allow_private,
        full_text_deadline=t.interval("full_text_deadline", d.full_text_deadline)
        or d.full_text_deadline,
    )
    t.done()
    for key in ("max_bytes", "per_host"):
        with problems.guard():
            _positive(f"fetch.{key}", getattr(cfg, key))
    return cfg


def _allow_private(entries: list[Any]) -> tuple[str, ...]:
    for i, entry in enumerate(entries):
        if not isinstance(entry, str):
            raise ConfigError(
                f"fetch.allow_private[{i}]", f"must be a string, got {_kind(entry)} {entry!r}"
            )
    try:
        parse_allow_private(entries)
    except ValueError as e:
        raise ConfigError("fetch.allow_private", str(e)) from None
    return tuple(e.strip() for e in entries)


def _alerts(data: Any, problems: _Problems) -> AlertsConfig:
    t, d = _Table(data, "alerts", problems), AlertsConfig()
    cfg = AlertsConfig(
        footer=t.get("footer", str, d.footer),
        summary_chars=t.get("summary_chars", int, d.summary_chars),
        link_preview=t.get("link_preview", bool, d.link_preview),
        image=t.get("image", str, d.image),
        breaking_outlets=t.get("breaking_outlets", int, d.breaking_outlets),
        breaking_window=t.interval("breaking_window", d.breaking_window) or 0.0,
        template=_template("alerts.template", t.get("template", (list, str), None), problems)
        or d.template,
        feedback=t.get("feedback", bool, d.feedback),
        learn_across_chats=t.get("learn_across_chats", bool, d.learn_across_chats),
    )
    t.done()
    with problems.guard():
        _summary_chars("alerts.summary_chars", cfg.summary_chars)
    with problems.guard():
        _image_size("alerts.image", cfg.image)
    if cfg.breaking_outlets < 2:
        problems.add(
            "alerts.breaking_outlets",
            f"must be at least 2 (outlets carrying the same story), got {cfg.breaking_outlets}",
        )
    if cfg.breaking_window <= 0:
        problems.add("alerts.breaking_window", 'must be a positive duration, e.g. "30m"')
    return cfg


def _template(key: str, value: Any, problems: _Problems) -> tuple[str, ...]:
    """A template from the file (a list of part names, or one string), () when absent or
    wrong (the mistake recorded)."""
    if value is None:
        return ()
    try:
        return parse_template(value)
    except TemplateError as e:
        problems.add(key, f'{e}; e.g. template = ["title", "source", "summary", "button"]')
        return ()


IMAGE_SIZES = ("large", "small", "off")


def _image_size(key: str, value: str) -> str:
    if value not in IMAGE_SIZES:
        raise ConfigError(
            key,
            f'{value!r} is not an image size; write "large" (the article\'s picture above '
            'the text), "small" (a small one beside it) or "off" (no picture)',
        )
    return value


def _summary_chars(key: str, value: int) -> int:
    if not 80 <= value <= 3000:
        raise ConfigError(key, f"must be between 80 and 3000 characters, got {value}")
    return value


LLM_KEY_ENV = "NEWSALERT_LLM_API_KEY"


def _summary(data: Any, env: Mapping[str, str], problems: _Problems) -> SummaryConfig:
    t, d = _Table(data, "summary", problems), SummaryConfig()
    base_url = t.get("llm_base_url", str, d.llm_base_url).strip()
    model = t.get("llm_model", str, d.llm_model).strip()
    # trimmed: a key pasted with a newline would be an invalid header, and httpx would
    # quote it in the error
    key = (env.get(LLM_KEY_ENV) or t.get("llm_api_key", str, d.llm_api_key.get())).strip()
    t.used.add("llm_api_key")
    timeout = t.interval("llm_timeout", d.llm_timeout) or d.llm_timeout
    t.done()
    if base_url:
        with problems.guard():
            check_url("summary.llm_base_url", base_url)
        if not model:
            problems.add(
                "summary.llm_model",
                'is missing; name the model the server should use, e.g. "llama3.1:8b"',
            )
    elif model:
        problems.add(
            "summary.llm_base_url",
            "is missing; give the OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1",
        )
    return SummaryConfig(
        llm_base_url=base_url.rstrip("/"),
        llm_model=model,
        llm_api_key=Secret(key),
        llm_timeout=timeout,
    )


def _delivery(data: Any, problems: _Problems) -> DeliveryConfig:
    t, d = _Table(data, "delivery", problems), DeliveryConfig()
    number = (int, float)
    cfg = DeliveryConfig(
        messages_per_second=float(t.get("messages_per_second", number, d.messages_per_second)),
        max_attempts=t.get("max_attempts", int, d.max_attempts),
        per_chat_per_second=float(t.get("per_chat_per_second", number, d.per_chat_per_second)),
        per_chat_burst=t.get("per_chat_burst", int, d.per_chat_burst),
        group_messages_per_minute=t.get(
            "group_messages_per_minute", int, d.group_messages_per_minute
        ),
        paid_broadcast=t.get("paid_broadcast", bool, d.paid_broadcast),
        paid_messages_per_second=float(
            t.get("paid_messages_per_second", number, d.paid_messages_per_second)
        ),
        max_in_flight=t.get("max_in_flight", int, d.max_in_flight),
        send_timeout=t.interval("send_timeout", d.send_timeout) or d.send_timeout,
        retry_backoff=t.interval("retry_backoff", d.retry_backoff) or d.retry_backoff,
        story_window=t.interval("story_window", d.story_window) or 0.0,
        story_by_meaning=t.get("story_by_meaning", bool, d.story_by_meaning),
    )
    t.done()
    for key in ("messages_per_second", "per_chat_per_second", "paid_messages_per_second"):
        with problems.guard():
            _positive(f"delivery.{key}", getattr(cfg, key))
    for key in ("max_attempts", "per_chat_burst", "group_messages_per_minute", "max_in_flight"):
        if getattr(cfg, key) < 1:
            problems.add(f"delivery.{key}", f"must be at least 1, got {getattr(cfg, key)}")
    return cfg


_ENV_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _expand_env(key: str, url: str, env: Mapping[str, str]) -> str:
    """``url`` with each ``${NAME}`` replaced by the environment variable ``NAME`` (how a
    feed's credentials can stay out of the file); a variable that is not set is an error."""

    if "${" not in url:
        return url
    names = _ENV_REFERENCE.findall(url)
    for name in names:
        if not _ENV_NAME.fullmatch(name):
            raise ConfigError(
                key, f"${{{name}}} is not an environment variable name; write ${{NAME}}"
            )
    unset = list(dict.fromkeys(n for n in names if n not in env))  # each one, once
    if len(unset) == 1:
        raise ConfigError(
            key, f"the environment variable {unset[0]} (in ${{{unset[0]}}}) is not set"
        )
    if unset:
        listed = ", ".join(unset[:-1]) + " and " + unset[-1]
        raise ConfigError(key, f"the environment variables {listed} are not set")
    return _ENV_REFERENCE.sub(lambda m: env[m.group(1)], url)


# what a feed with a weak password or key is told (bot.credentials.masked_anywhere)
WEAK_SECRET_WARNING = (
    "its password or key is short or an ordinary word: it is hidden where the URL carries "
    "it, but not where a page, an entry or an error repeats it as a word (that would take "
    "the word out of every headline and log line); use a random one of 16 characters or "
    "more if the publisher lets you"
)


def _feeds(
    data: Any, env: Mapping[str, str], warnings: list[str], problems: _Problems
) -> tuple[FeedConfig, ...]:
    if not isinstance(data, list):
        raise ConfigError("feeds", "must be an array of tables: write each feed as [[feeds]]")
    feeds: list[FeedConfig] = []
    twins: dict[str, list[tuple[str, int]]] = {}  # public URL: (URL, index) of its feeds
    spelled: dict[str, int] = {}  # feed_key (scheme and host in lower case): index
    short: list[tuple[str, float]] = []  # (where, interval) of very short intervals
    for i, item in enumerate(data):
        where = f"feeds[{i}]"
        with problems.guard():
            t = _Table(item, where, problems)
            raw_url = t.require("url", str)
            name = t.get("name", str, _default(FeedConfig, "name")).strip()
            interval = t.interval("interval", _default(FeedConfig, "interval"))
            full_text = t.get("full_text", bool, _default(FeedConfig, "full_text"))
            t.done()
            if raw_url is None:
                continue
            url = check_url(
                f"{where}.url", _expand_env(f"{where}.url", raw_url, env), allow_file=True
            )
            # the database keeps a feed by its URL without credentials: two feeds must differ
            # in more than their credentials
            public = public_feed_url(url)
            for listed, other in twins.get(public, []):
                if listed == url:
                    raise ConfigError(
                        f"{where}.url", f"{redact_url(url)!r} is already listed as feeds[{other}]"
                    )
            other = spelled.setdefault(feed_key(url), i)
            if other != i:  # the same address, its scheme or host in other letters
                raise ConfigError(
                    f"{where}.url",
                    f"{redact_url(url)!r} is the same feed as feeds[{other}] (a scheme and host "
                    "are the same in any case); remove one of the two",
                )
            twins.setdefault(public, []).append((url, i))
            if interval is not None and interval < SHORT_INTERVAL_WARNING:
                short.append((where, interval))
            if not all(masked_anywhere(s) for s in secret_values(url)):
                warnings.append(f"{where}.url: {WEAK_SECRET_WARNING}")  # never the secret
            feeds.append(FeedConfig(url=url, name=name, interval=interval, full_text=full_text))
    for public, group in twins.items():
        _twin_problems(public, group, problems)
    if len(short) <= SHORT_INTERVALS_NAMED:
        warnings.extend(
            f"{where}.interval: {interval:g}s is very short; the feed will be polled that "
            "often as asked, which some publishers rate-limit"
            for where, interval in short
        )
    elif short:  # one line, not one per feed (5,000 lines at every start of a large list)
        named = ", ".join(where for where, _ in short[:SHORT_INTERVALS_NAMED])
        warnings.append(
            f"{len(short)} feeds have an interval under {SHORT_INTERVAL_WARNING:g}s ({named}, "
            f"and {len(short) - SHORT_INTERVALS_NAMED} more); they will be polled that often as "
            "asked, which some publishers rate-limit"
        )
    return tuple(feeds)


def _twin_problems(public: str, group: list[tuple[str, int]], problems: _Problems) -> None:
    """Feeds that differ only by their credentials would be one row in the database: each
    but the first is told the fragment to add, the one migration m021 gave such twins
    that an older version stored (the one without credentials, else the first, kept its
    URL), so that the twin keeps its history."""
    if len(group) < 2:
        return
    ranked = sorted(group, key=lambda listed: (has_credentials(listed[0]), listed[1]))
    first = ranked[0][1]
    for rank, (_url, i) in enumerate(ranked[1:], 2):
        problems.add(
            f"feeds[{i}].url",
            f"the same feed as feeds[{first}] apart from its credentials; newsalert keeps feeds "
            "by their URL without credentials, so tell them apart with a #fragment (never "
            f"sent to the server): write {twin_fragment(public, rank)!r} at the end of this "
            "one (the name an older version's twin got when upgrading, which keeps its history)",
        )


def _topics(data: Any, problems: _Problems) -> tuple[dict[str, Topic], set[str]]:
    """The topics (built-in ones, then the file's), and the ids of the file's topics that
    have a mistake, so that a channel naming one is not reported as well."""
    from bot.matching.topics import (
        TOPIC_LANGUAGES,
        builtin_topics,
        inherit_translations,
        read_translations,
    )

    builtin = builtin_topics()
    topics = dict(builtin)
    broken: set[str] = set()
    if not isinstance(data, list):
        raise ConfigError("topics", "must be an array of tables: write each topic as [[topics]]")
    seen: set[str] = set()
    for i, item in enumerate(data):
        where = f"topics[{i}]"
        before = len(problems.items)
        with problems.guard():
            t = _Table(item, where, problems)
            topic_id = (t.require("id", str) or "").strip()
            name = t.get("name", str, "").strip() or topic_id
            query = t.require("query", str)
            description = t.get("description", str, _default(Topic, "description"))
            threshold = float(t.get("threshold", (int, float), _default(Topic, "threshold")))
            model = t.get("model", str, "").strip()
            translations = read_translations(item, where)  # ko.name, ko.description
            t.used.update({*translations.keys, *TOPIC_LANGUAGES})
            for key, wrong in translations.problems:
                problems.add(key, wrong)
            t.done()
            if topic_id and not _TOPIC_ID.match(topic_id):
                problems.add(
                    f"{where}.id",
                    f"{topic_id!r} is not a valid topic id; use lowercase letters, digits and "
                    'hyphens, e.g. "korea-diplomacy"',
                )
            elif topic_id in seen:
                problems.add(f"{where}.id", f"topic {topic_id!r} is defined twice")
            seen.add(topic_id)
            if query is not None:
                with problems.guard():
                    _check_query(f"{where}.query", query)
            if model:
                from bot.matching.topic_model import check_model_ref

                problem = check_model_ref(model)
                if problem:
                    problems.add(f"{where}.model", problem)
            if len(problems.items) > before or query is None or not topic_id:
                broken.add(topic_id)
                continue
            topic = Topic(
                id=topic_id,
                name=name,
                query=query,
                description=description,
                threshold=threshold,
                model=model,
                translations=translations.texts,
            )
            topics[topic_id] = inherit_translations(topic, builtin.get(topic_id))
    return topics, broken


def _check_query(key: str, query: str) -> None:
    from bot.errors import QueryError
    from bot.matching.parser import parse_query

    try:
        parse_query(query)
    except QueryError as e:
        raise ConfigError(key, f"is not a valid query: {e}") from None


def _channels(
    data: Any, topics: Mapping[str, Topic], broken_topics: set[str], problems: _Problems
) -> tuple[ChannelConfig, ...]:
    if not isinstance(data, list):
        raise ConfigError(
            "channels", "must be an array of tables: write each channel as [[channels]]"
        )
    channels: list[ChannelConfig] = []
    for i, item in enumerate(data):
        where = f"channels[{i}]"
        with problems.guard():
            t = _Table(item, where, problems)
            chat_id = t.require("chat_id", (int, str))
            topic_ids = t.get("topics", list, list(_default(ChannelConfig, "topics")))
            footer = t.get("footer", str, _default(ChannelConfig, "footer"))
            link_preview = t.get("link_preview", bool, _default(ChannelConfig, "link_preview"))
            summary_chars = t.get("summary_chars", int, _default(ChannelConfig, "summary_chars"))
            image = t.get("image", str, None)
            thread_id = t.get("thread_id", int, None)
            language = t.get("language", str, None)
            template = _template(
                f"{where}.template", t.get("template", (list, str), None), problems
            )
            t.done()
            if thread_id is not None and thread_id <= 0:
                problems.add(
                    f"{where}.thread_id",
                    "must be a forum topic's id (a positive number, the message_thread_id of "
                    f"a message in that topic), got {thread_id}",
                )
            if image is not None:
                with problems.guard():
                    _image_size(f"{where}.image", image)
            if language is not None:
                language = language.strip().lower()
                if language not in LANGUAGES:
                    spoken = ", ".join(f"{c} ({LANGUAGE_NAMES[c]})" for c in LANGUAGES)
                    problems.add(
                        f"{where}.language",
                        f"newsalert does not speak {language!r}; a channel's alerts can be in "
                        f"{spoken}",
                    )
            if isinstance(chat_id, str):
                chat_id = chat_id.strip()
                if re.fullmatch(r"-?\d+", chat_id):
                    chat_id = int(chat_id)
                elif not re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,31}", chat_id):
                    problems.add(
                        f"{where}.chat_id",
                        f"{chat_id!r} is neither a numeric chat id (-1001234567890) nor a public "
                        "channel name (@my_channel)",
                    )
            if not topic_ids and not problems.about(f"{where}.topics"):  # not of a wrong type
                problems.add(f"{where}.topics", "lists no topics; name at least one topic id")
            for j, topic_id in enumerate(topic_ids):
                if topic_id in broken_topics:
                    continue  # its own mistake is reported under topics
                if not isinstance(topic_id, str) or topic_id not in topics:
                    known = ", ".join(sorted(topics))
                    problems.add(
                        f"{where}.topics[{j}]",
                        f"unknown topic {topic_id!r}; known topics: {known}",
                    )
            if summary_chars is not None:
                with problems.guard():
                    _summary_chars(f"{where}.summary_chars", summary_chars)
            if chat_id is None:
                continue
            channels.append(
                ChannelConfig(
                    chat_id=chat_id,
                    topics=tuple(topic_ids),
                    footer=footer,
                    link_preview=link_preview,
                    summary_chars=summary_chars,
                    image=image,
                    thread_id=thread_id,
                    template=template,
                    language=language,
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
    "performance",
    "feeds",
    "topics",
    "channels",
)

TokenRule = bool | Literal["if-needed"]


def config_from_dict(
    data: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    source: str = "",
    require_token: TokenRule = False,
) -> Config:
    """Validate a parsed TOML document into a :class:`Config`.

    Every section is checked, and a :class:`ConfigError` lists every problem found.
    ``require_token``: True when the caller will talk to Telegram; "if-needed" when it will
    only if the file names channels or admins (:attr:`Config.needs_telegram`)."""
    env = os.environ if env is None else env
    problems = _Problems()
    for name in sorted(set(data) - set(_SECTIONS)):
        close = difflib.get_close_matches(name, _SECTIONS, n=1)  # [[feed]] for [[feeds]]
        hint = f" did you mean {close[0]!r}?" if close else ""
        problems.add(name, f"unknown section;{hint} the sections are: {', '.join(_SECTIONS)}")
    warnings: list[str] = []
    parts: dict[str, Any] = {}

    def section(name: str, read: Any, *args: Any) -> None:
        with problems.guard():
            parts[name] = read(*args, problems)

    default_table: dict[str, Any] = {}
    section("telegram", _telegram, data.get("telegram", default_table), env)
    section("storage", _storage, data.get("storage", default_table))
    section("polling", _polling, data.get("polling", default_table))
    section("fetch", _fetch, data.get("fetch", default_table))
    section("alerts", _alerts, data.get("alerts", default_table))
    section("delivery", _delivery, data.get("delivery", default_table))
    section("metrics", _metrics, data.get("metrics", default_table))
    section("summary", _summary, data.get("summary", default_table), env)
    section("performance", _performance, data.get("performance", default_table))
    section("feeds", _feeds, data.get("feeds", []), env, warnings)
    section("topics", _topics, data.get("topics", []))
    topics, broken = parts.get("topics", ({}, set()))
    section("channels", _channels, data.get("channels", []), topics, broken)
    config = Config(
        telegram=parts.get("telegram", TelegramConfig()),
        storage=parts.get("storage", StorageConfig()),
        polling=parts.get("polling", PollingConfig()),
        fetch=parts.get("fetch", FetchConfig()),
        alerts=parts.get("alerts", AlertsConfig()),
        delivery=parts.get("delivery", DeliveryConfig()),
        summary=parts.get("summary", SummaryConfig()),
        metrics=parts.get("metrics", MetricsConfig()),
        performance=parts.get("performance", PerformanceConfig()),
        feeds=parts.get("feeds", ()),
        topics=topics,
        channels=parts.get("channels", ()),
        source=source,
        warnings=tuple(warnings),
    )
    needed = require_token is True or (require_token == "if-needed" and config.needs_telegram)
    # a token that is there but wrong is not also "missing"
    if needed and not problems.about("telegram.token", from_env(TOKEN_ENV, "telegram.token")):
        with problems.guard():
            check_token(config)
    if problems.items:
        raise ConfigError(problems=problems.items)
    return config


CONFIG_ENV = "NEWSALERT_CONFIG"
CONFIG_NAME = "config.toml"


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/newsalert/config.toml``, by default ``~/.config/newsalert/config.toml``."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME", "")
    # the XDG spec: a relative value is invalid and ignored
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "newsalert" / CONFIG_NAME


def find_config(
    explicit: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Path:
    """The configuration file to use: ``explicit`` (``--config``), else ``$NEWSALERT_CONFIG``,
    else ``./config.toml``, else :func:`user_config_path`. Raises :class:`ConfigError` that
    names every place it looked when there is none."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
        if path.is_dir():
            raise ConfigError(
                "",
                f"{CONFIG_ENV} names {str(path)!r}, which is a folder, not a configuration file; "
                f"set it to the file itself, e.g. {str(path / CONFIG_NAME)!r}",
            )
        if not path.is_file():
            raise ConfigError(
                "",
                f"config file {str(path)!r} (from {CONFIG_ENV}) not found; fix the variable, "
                "or write one there with newsalert example-config",
            )
        return path
    here = (cwd or Path.cwd()) / CONFIG_NAME
    user = user_config_path(env)
    for candidate in (here, user):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "",
        f"no configuration file found; looked for --config FILE, then {CONFIG_ENV}, then "
        f"{here}, then {user}. Write one to one of those places with "
        "newsalert example-config FILE and edit it, "
        "or pass --config FILE",
    )


def load_config(
    path: str | Path, *, env: Mapping[str, str] | None = None, require_token: TokenRule = False
) -> Config:
    """Read and validate the TOML file at ``path``.

    ``require_token`` as for :func:`config_from_dict`. Raises :class:`ConfigError` listing
    every problem, each with its key.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "",
            f"config file {str(path)!r} not found; write one with newsalert example-config "
            f"{str(path)!r} and edit it",
        ) from None
    except OSError as e:
        raise ConfigError("", f"cannot read config file {str(path)!r}: {e.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("", "not UTF-8 text; save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("", toml_problem(str(e))) from None  # the caller names the file
    except RecursionError:
        raise ConfigError("", "arrays or tables nested too deeply") from None
    try:
        return config_from_dict(data, env=env, source=str(path), require_token=require_token)
    except RecursionError:
        raise ConfigError("", f"{path}: values nested too deeply") from None


# what to do about tomllib's most common complaints (its words stay in the message)
_TOML_HINTS = (
    ("Illegal character '\\n'", 'a quoted text is not closed on its line: end it with "'),
    ("Unterminated string", 'a quoted text is not closed: end it with "'),
    ('Expected "\'"', "a text in single quotes is not closed: end it with '"),
    ("Unescaped '\\'", 'a \\ in "..." starts an escape: write \\\\, or use single quotes'),
    ("Cannot overwrite a value", "this key (or section) is given twice here; keep one"),
    ("Cannot declare", "this [section] is written twice; keep one (a list is [[feeds]])"),
    ("Invalid value", 'write the value as "text", a number, true or false, or a [list]'),
    ("Expected '=' after a key", "write one key = value per line"),
    ("Expected newline or end of document", 'write one key = value per line; text needs "quotes"'),
    ("Unclosed array", "a [list] is not closed: end it with ]"),
    ("Unclosed inline table", "a { table } is not closed: end it with }"),
    ("Expected ']' at the end of a table", "a [section] name is not closed: end it with ]"),
)


def toml_problem(message: str) -> str:
    """tomllib's error, with the line first and what to do."""
    found = re.fullmatch(r"(.*) \((at line \d+, column \d+|at end of document)\)", message)
    what, where = (found.group(1), found.group(2)) if found else (message, "")
    hint = next((h for start, h in _TOML_HINTS if what.startswith(start)), "")
    hint = hint or "see config.example.toml for how each key is written"
    return f"not valid TOML{' ' + where if where else ''}: {what}; {hint}"


def check_token(config: Config) -> None:
    """Raise :class:`ConfigError` when the configuration has no bot token."""
    if not config.telegram.token:
        raise ConfigError(
            "telegram.token",
            f"is missing; set it in the file or in the environment variable {TOKEN_ENV} "
            "(get one from @BotFather), or run with --dry-run to print alerts instead",
        )
