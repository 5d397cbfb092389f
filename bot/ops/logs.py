"""Logging set-up: one event per line, third-party chatter quiet, secrets never shown.

* Human lines by default (``2025-01-31 12:00:00Z INFO    bot.app: message key=value``);
  with ``--log-json`` one JSON object per line: ``time``, ``level``, ``logger``,
  ``event``, any ``extra=`` fields, and ``exception`` (the traceback, as one string).
  A human line's traceback follows it, indented; use JSON where a collector
  needs exactly one line per event.
* Secrets are removed from the finished line, whatever part of it they came from
  (message, arguments, extra fields, traceback): the configured token, its secret
  half, the webhook secret, the feeds' keys (each as written and in every spelling a URL
  may give it: %-encoded, ``+`` for a space), and anything shaped like a bot token.
* httpx, python-telegram-bot, APScheduler and friends log at WARNING unless ``-vv``:
  httpx logs every request URL, and a Bot API URL holds the token.  Their records (of
  every logger under ``THIRD_PARTY``) are redacted as they are made, so that any other
  handler gets them redacted too.
* Uncaught exceptions (the main thread's and other threads') go through the same
  handler, so their tracebacks are redacted too.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from bot.credentials import bare_secrets, secret_values
from bot.ingest.urls import redact_urls
from bot.text import named_credentials_masked, remember_secret, traceback_without_secrets

# A bot token anywhere, e.g. inside a Bot API URL: digits, a colon (maybe %-encoded), 30+ chars.
_TOKEN_PATTERN = re.compile(r"\d{5,}(?::|%3A|%3a)[A-Za-z0-9_-]{30,}")
THIRD_PARTY = (
    "httpx",
    "httpcore",
    "telegram",
    "apscheduler",
    "hpack",
    "aiohttp",
    "tornado",
    "asyncio",
    "trafilatura",
    "htmldate",
    "courlan",
    "justext",
    "charset_normalizer",
    "py.warnings",
)
# Libraries that log an ERROR for what we report ourselves (trafilatura: "not valid HTML"
# beside extract's own "not an HTML page"): shown only at -vv.
REPORTED_BY_US = ("trafilatura",)
# LogRecord's own attributes; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class Redactor:
    """Replaces secrets (the configured ones, in any case and in each spelling a URL may
    give them, and anything shaped like a bot token) with ***, and the userinfo and query
    strings of URLs (where feed credentials are)."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self.secrets: list[str] = []
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Redact ``secret`` from now on, as written and as a URL may spell it (%-encoded
        in either case of hex, ``+`` for a space: ``bot.credentials.bare_secrets``), outside
        a URL too (an exception's words); a token's secret half is redacted on its own too.
        A weak secret (``bot.credentials.masked_anywhere``: short, or one ordinary word) is
        redacted only where a credential goes in a URL, not wherever the word is."""
        spellings = [text for text, _mask in bare_secrets(_parts(secret))]
        found = [p for p in spellings if p not in self.secrets]
        if found:  # a new list, not sorted in place: another thread may be redacting
            self.secrets = sorted([*self.secrets, *found], key=len, reverse=True)

    def redact(self, text: str) -> str:
        lowered = text.lower()
        for secret in self.secrets:  # in any case: PTB lowers the case of a 400's words
            if secret.lower() in lowered:
                text = re.sub(re.escape(secret), "***", text, flags=re.IGNORECASE)
                lowered = text.lower()
        # feed URLs may carry credentials: userinfo and query strings go (issue 14); so
        # does a credential-named value outside a URL (a request line: ?api_key=...)
        return named_credentials_masked(redact_urls(_TOKEN_PATTERN.sub("***", text)))


def _parts(secret: str) -> list[str]:
    """``secret``, and a token's secret half (after ``digits:``)."""
    parts = [secret] if secret else []
    if re.fullmatch(r"\d+:.+", secret or ""):
        parts.append(secret.split(":", 1)[1])
    return parts


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _utc(record: logging.LogRecord) -> datetime:
    return datetime.fromtimestamp(record.created, UTC)


class HumanFormatter(logging.Formatter):
    """``time LEVEL logger: event key=value ...``, then an indented traceback, if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{_utc(record):%Y-%m-%d %H:%M:%SZ} {record.levelname:<7} {record.name}: "
            f"{record.getMessage()}"
        )
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={_short(v)}" for k, v in extras.items())
        details = []
        if record.exc_info:
            details.append(self.formatException(record.exc_info))
        elif record.exc_text:  # a library's record: its traceback redacted as it was made
            details.append(record.exc_text)
        if record.stack_info:
            details.append(self.formatStack(record.stack_info))
        for detail in details:
            line += "\n" + "\n".join("    " + x for x in detail.splitlines())
        return line


def _short(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _utc(record).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in _extras(record).items():
            data.setdefault(key, value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:  # a library's record: its traceback redacted as it was made
            data["exception"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """Formats with ``inner``, then takes the secrets out of the finished text."""

    def __init__(self, inner: logging.Formatter, redactor: Redactor) -> None:
        super().__init__()
        self.inner = inner
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(self.inner.format(record))


_redactor = Redactor()


# The libraries' records (THIRD_PARTY and their children: "telegram.ext.ExtBot" logs the
# Bot API URL, token and all, at -vv; httpx each request URL, a feed's key in it) are
# redacted where they are made, for every handler: ours redacts the finished line, a handler
# of the operator's own (journald, say) would not.  Not a logger filter: a logger's filter
# misses what its children log, and a library's loggers are its children's.
_LIBRARY_LOGGER = re.compile("(?:" + "|".join(map(re.escape, THIRD_PARTY)) + r")(?:\.|$)")


def _redacting(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """``make`` (the record factory in place), redacting the message and the traceback of a
    library's records."""

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if isinstance(record.name, str) and _LIBRARY_LOGGER.match(record.name):
            try:
                message = record.getMessage()
            except Exception:  # a bad format: shown as it came, redacted, not raw by handleError
                message = f"{record.msg!r} % {record.args!r}"
            record.msg, record.args = _redactor.redact(message), None
            error = record.exc_info[1] if record.exc_info else None
            if error is not None:  # what formatters show in place of exc_info, which goes:
                record.exc_text = redacted_traceback(error)  # a handler may format it itself
                record.exc_info = None
        return record

    make_record.redacts = True  # type: ignore[attr-defined]
    return make_record


def setup_logging(
    *, verbose: int | bool = 0, json_lines: bool = False, secrets: list[str] | None = None
) -> None:
    """Log to stderr: INFO; DEBUG for newsalert with ``verbose`` 1; DEBUG for every
    library too with ``verbose`` 2 (httpx, telegram, ...), otherwise they log at WARNING
    (``REPORTED_BY_US`` at CRITICAL: their errors are ours to tell)."""
    for secret in secrets or []:
        _redactor.add(secret)
    handler = logging.StreamHandler(sys.stderr)
    inner: logging.Formatter = JsonFormatter() if json_lines else HumanFormatter()
    handler.setFormatter(RedactingFormatter(inner, _redactor))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    level = int(verbose)
    root.setLevel(logging.DEBUG if level >= 1 else logging.INFO)
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(logging.DEBUG if level >= 2 else logging.WARNING)
    if level < 2:
        for name in REPORTED_BY_US:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    install_redacting_factory()
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_exception


def install_redacting_factory() -> None:
    """Have the libraries' log records redacted as they are made (once per process): by
    :func:`setup_logging`, and by what a script of the operator's own builds without it
    (``bot.app.Core``, ``bot.telegram.build_application``)."""
    if not getattr(logging.getLogRecordFactory(), "redacts", False):
        logging.setLogRecordFactory(_redacting(logging.getLogRecordFactory()))


def add_config_secrets(config: Any) -> None:
    """Redact a configuration's secrets from now on: the bot token, the webhook secret,
    the LLM key and each feed's credentials (``bot.credentials.secret_values``: they may
    come back in its links or errors).  At start (the CLI, ``bot.app.Core``) and when a
    ``/reload`` brings new ones."""
    add_secret(config.telegram.token.get())
    add_secret(config.telegram.webhook_secret.get())
    add_secret(config.summary.llm_api_key.get())
    for feed in config.feeds:
        for secret in secret_values(feed.url):
            add_secret(secret)


def add_secret(secret: str) -> None:
    """Also redact ``secret`` from now on (the token once the config is read)."""
    if secret:
        _redactor.add(secret)
        for part in _parts(secret):  # and wherever a URL is shown (redact_url)
            remember_secret(part)


def redact(text: str) -> str:
    """``text`` with every known secret and token-shaped string replaced by ***."""
    return _redactor.redact(text)


def redacted_traceback(error: BaseException, secrets: Collection[str] = ()) -> str:
    """``error``'s traceback, with its causes and notes, as ``log.exception`` would show it,
    without ``secrets`` (a feed's :func:`bot.credentials.secret_values`) and every known
    secret (:func:`redact`): an exception's text may hold what it was given, and a record's
    ``exc_info`` reaches every handler as it is (only ours redacts).  For the message of a
    record logged without ``exc_info``."""
    return redact(traceback_without_secrets(error, secrets))


def _log_uncaught(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, tb)
        return
    logging.getLogger("newsalert").critical("uncaught exception", exc_info=(kind, error, tb))


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    error = args.exc_value
    logging.getLogger("newsalert").critical(
        "uncaught exception in thread %s",
        args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, error, args.exc_traceback) if error is not None else None,
    )
