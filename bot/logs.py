"""Logging set-up: one event per line, third-party chatter quiet, the token never shown."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# A bot token anywhere in a message, e.g. inside a Bot API URL: digits, colon, 30+ chars.
_TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


class RedactTokens(logging.Filter):
    """Replaces bot tokens (the configured one, and anything shaped like one) with ***."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _TOKEN_PATTERN.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


def setup_logging(
    *, verbose: bool = False, json_lines: bool = False, secrets: list[str] | None = None
) -> None:
    """Log to stderr at INFO (DEBUG when verbose); httpx and friends at WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactTokens(secrets))
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"
            )
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in (
        "httpx",
        "httpcore",
        "telegram",
        "apscheduler",
        "hpack",
        "trafilatura",
        "charset_normalizer",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)


def add_secret(secret: str) -> None:
    """Also redact ``secret`` from now on (the token once the config is read)."""
    for handler in logging.getLogger().handlers:
        for f in handler.filters:
            if isinstance(f, RedactTokens) and secret and secret not in f.secrets:
                f.secrets.append(secret)
