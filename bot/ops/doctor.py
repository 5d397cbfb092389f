"""``newsalert doctor``: check everything the bot needs, and say what to fix.

The checks, in order: the configuration; the database (it opens, its schema
is current, it passes SQLite's quick check); Telegram (the token works with
``getMe`` at ``telegram.base_url``, configured channels are reachable, the
webhook is as configured); each feed (it answers and parses); and, when
``metrics.listen`` is set, what a running bot says at ``/healthz``.

Nothing is changed: the database is opened read-only and no migration runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from bot.config.loader import load_config
from bot.config.model import Config
from bot.errors import ConfigError, FeedError, FetchError, StorageError
from bot.ops.logs import add_secret, redact, redacted_traceback
from bot.records import DeliveryState
from bot.text import plural
from storage.database import DatabaseInspection, inspect_database

log = logging.getLogger(__name__)

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Finding:
    """One check's verdict: ``status`` is ok, warn or FAIL; ``fix`` says what to do."""

    area: str
    subject: str
    status: str
    detail: str
    fix: str = ""


async def diagnose(
    config_path: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 15.0,
) -> list[Finding]:
    """Run every check and return the findings, in order. Never raises: a check that
    stops on an unexpected error becomes a FAIL finding with a short reason."""
    try:
        config = load_config(config_path, env=env)
    except ConfigError as e:
        fix = "fix that key (config.example.toml documents every one), then run doctor again"
        return [
            Finding(
                "config",
                f"{config_path}: {p.key}" if p.key else str(config_path),
                FAIL,
                p.problem,
                fix if p.key else "",
            )
            for p in e.problems
        ]
    except Exception as e:
        return [_unexpected("config", str(config_path), e)]
    add_secret(config.telegram.token.get())
    add_secret(config.telegram.webhook_secret.get())
    findings = [_config_finding(config)]
    findings += [Finding("config", config.source, WARN, w) for w in config.warnings]
    findings += await _guarded(
        "database", config.storage.path, asyncio.to_thread(_check_database, config)
    )
    telegram, feeds = await asyncio.gather(
        _guarded("telegram", config.telegram.base_url, _check_telegram(config, timeout)),
        _guarded("feed", "feeds", _check_feeds(config, timeout)),
    )
    findings += telegram + feeds
    if config.metrics.listen:
        findings += await _guarded("bot", config.metrics.listen, _one(_check_running(config)))
    return findings


def _unexpected(area: str, subject: str, error: BaseException) -> Finding:
    """A check stopped on an error nobody planned for (an odd answer, a bug): FAIL, briefly."""
    # its traceback as redacted text, not exc_info: that reaches every handler as it is
    log.debug(
        "doctor: the %s check of %s stopped\n%s", area, redact(subject), redacted_traceback(error)
    )
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if len(reason) > 200:
        reason = reason[:199] + "…"
    return Finding(
        area,
        subject,
        FAIL,
        f"the check stopped on an unexpected error ({reason})",
        "run `newsalert -v doctor` for the details; if it persists, report it with that output",
    )


async def _guarded(area: str, subject: str, check: Awaitable[list[Finding]]) -> list[Finding]:
    """The check's findings, or one FAIL finding when it raises."""
    try:
        return await check
    except Exception as e:
        return [_unexpected(area, subject, e)]


async def _one(check: Awaitable[Finding]) -> list[Finding]:
    return [await check]


def report(findings: list[Finding], out: IO[str]) -> int:
    """Print the findings for a person; returns the exit status (1 when something failed)."""
    for f in findings:
        print(f"{f.status:<5} {f.area:<9} {redact(f.subject)}: {redact(f.detail)}", file=out)
        if f.fix:
            print(f"{'':<16}fix: {redact(f.fix)}", file=out)
    failures = sum(f.status == FAIL for f in findings)
    warnings = sum(f.status == WARN for f in findings)
    if failures:
        print(f"\n{plural(failures, 'problem')} to fix, {plural(warnings, 'warning')}.", file=out)
    else:
        print(f"\nAll checks passed ({plural(warnings, 'warning')}).", file=out)
    return 1 if failures else 0


# -- config -----------------------------------------------------------------------------------


def _config_finding(config: Config) -> Finding:
    channels = len(config.channels)
    detail = (
        f"valid: {plural(len(config.feeds), 'feed')}, {plural(len(config.topics), 'topic')}, "
        f"{plural(channels, 'channel')}, "
        f"updates by {config.telegram.mode}"
    )
    if not config.feeds:
        return Finding(
            "config", config.source, WARN, detail, "add [[feeds]] tables, or nothing is polled"
        )
    return Finding("config", config.source, OK, detail)


# -- database ---------------------------------------------------------------------------------


def _check_database(config: Config) -> list[Finding]:
    path = Path(config.storage.path).expanduser()
    subject = str(path)
    if not path.exists():
        folder = path.resolve().parent
        if not folder.is_dir():
            return [
                Finding(
                    "database",
                    subject,
                    FAIL,
                    f"the folder {str(folder)!r} does not exist",
                    "create it, or point storage.path somewhere that exists",
                )
            ]
        return [Finding("database", subject, OK, "not created yet; the first run creates it")]
    try:
        found = inspect_database(path)
    except StorageError as e:
        return [
            Finding(
                "database",
                subject,
                FAIL,
                f"cannot be read: {e}",
                "check the file's permissions; if it is damaged, restore the latest backup",
            )
        ]
    verdict, applied, pending = found.quick_check, found.applied, found.pending
    unknown = [name for name in applied if name not in found.known]
    findings = []
    if verdict != "ok":
        findings.append(
            Finding(
                "database",
                subject,
                FAIL,
                f"SQLite's quick check failed: {verdict}",
                "stop the bot and restore the latest backup (newsalert db backup makes them)",
            )
        )
    if unknown:
        findings.append(
            Finding(
                "database",
                subject,
                FAIL,
                f"written by a newer newsalert (migrations {', '.join(unknown)})",
                "install that newer version again, or restore a backup made before the upgrade",
            )
        )
    elif pending and applied:
        findings.append(
            Finding(
                "database",
                subject,
                WARN,
                f"schema is {plural(len(pending), 'migration')} behind ({', '.join(pending)})",
                "nothing to do by hand: `newsalert run` applies them on start; take a backup "
                "first with `newsalert db backup FILE`",
            )
        )
    if not findings:
        state = f"schema current ({applied[-1]})" if applied else "empty; the first run sets it up"
        findings.append(Finding("database", subject, OK, f"{state}; {_db_counts(found)}"))
    return findings


def _db_counts(found: DatabaseInspection) -> str:
    if found.articles is None:
        return "no data yet"
    states = found.deliveries
    return (
        f"{found.articles} articles, {states.get(DeliveryState.SENT, 0)} alerts sent, "
        f"{states.get(DeliveryState.PENDING, 0)} waiting, "
        f"{states.get(DeliveryState.FAILED, 0)} failed"
    )


# -- Telegram ---------------------------------------------------------------------------------


async def _check_telegram(config: Config, timeout: float) -> list[Finding]:
    from telegram import Bot
    from telegram.request import HTTPXRequest

    base = config.telegram.base_url
    if not config.telegram.token:
        if config.needs_telegram:
            return [
                Finding(
                    "telegram",
                    base,
                    FAIL,
                    "no token, but channels or admins are configured",
                    "set NEWSALERT_TELEGRAM_TOKEN (or telegram.token) to the token from @BotFather",
                )
            ]
        return [Finding("telegram", base, OK, "no token: alerts go to the console (dry run)")]
    requests = (HTTPXRequest(connect_timeout=timeout, read_timeout=timeout), HTTPXRequest())
    bot = Bot(
        config.telegram.token.get(),
        base_url=base,
        base_file_url=base.removesuffix("/bot") + "/file/bot",
        request=requests[0],
        get_updates_request=requests[1],
    )
    try:
        return await _ask_telegram(bot, config)
    finally:
        for request in requests:
            await request.shutdown()


async def _ask_telegram(bot: Any, config: Config) -> list[Finding]:
    from telegram.error import InvalidToken, NetworkError, TelegramError

    base = config.telegram.base_url
    try:
        me = await bot.get_me()
    except InvalidToken:
        return [
            Finding(
                "telegram",
                base,
                FAIL,
                "Telegram refused the token (Unauthorized)",
                "copy the token again from @BotFather (/mybots, API Token) into "
                "NEWSALERT_TELEGRAM_TOKEN; a revoked token stops working at once",
            )
        ]
    except NetworkError as e:
        return [
            Finding(
                "telegram",
                base,
                FAIL,
                f"cannot reach the Bot API: {e}",
                "check this machine's network, DNS and proxy, and telegram.base_url",
            )
        ]
    except TelegramError as e:
        return [Finding("telegram", base, FAIL, f"getMe failed: {e}", "see the message above")]
    findings = [Finding("telegram", base, OK, f"the token works: @{me.username} (id {me.id})")]
    try:
        findings += await _check_webhook(bot, config)
    except TelegramError as e:
        findings.append(Finding("telegram", "webhook", WARN, f"the check could not finish: {e}"))
    except Exception as e:
        findings.append(_unexpected("telegram", "webhook", e))
    for channel in config.channels:
        # one channel's odd answer must not hide the others
        findings += await _guarded(
            "channel", str(channel.chat_id), _one(_check_channel(bot, me.id, channel.chat_id))
        )
    return findings


async def _check_webhook(bot: Any, config: Config) -> list[Finding]:
    info = await bot.get_webhook_info()
    mode = config.telegram.mode
    if mode == "polling":
        if info.url:
            return [
                Finding(
                    "telegram",
                    "webhook",
                    WARN,
                    f"a webhook is set ({info.url}) but mode is polling",
                    "nothing to do if that is intended: `newsalert run` deletes it on start",
                )
            ]
        return []
    if info.url and info.url != config.telegram.webhook_url:
        return [
            Finding(
                "telegram",
                "webhook",
                WARN,
                f"Telegram posts to {info.url}, the config says {config.telegram.webhook_url}",
                "`newsalert run` registers the configured URL on start",
            )
        ]
    if info.last_error_message:
        return [
            Finding(
                "telegram",
                "webhook",
                FAIL,
                f"Telegram's last delivery failed: {info.last_error_message} "
                f"({info.pending_update_count} updates waiting)",
                "check that webhook_url is reachable from the internet over HTTPS and that the "
                "proxy forwards it to telegram.webhook_listen",
            )
        ]
    return [Finding("telegram", "webhook", OK, f"{info.url or 'set on start'}")]


async def _check_channel(bot: Any, bot_id: int, chat_id: int | str) -> Finding:
    from telegram.error import TelegramError

    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat.id, bot_id)
    except TelegramError as e:
        return Finding(
            "channel",
            str(chat_id),
            FAIL,
            f"not reachable: {e}",
            "check the id or @name, and add the bot to the channel as an administrator",
        )
    if chat.type == "channel" and member.status != "administrator":
        return Finding(
            "channel",
            str(chat_id),
            FAIL,
            f"the bot is {member.status} there, not an administrator",
            "make the bot an administrator of the channel with the right to post messages",
        )
    return Finding("channel", str(chat_id), OK, f"{chat.title or chat.id}: the bot can post")


# -- feeds ------------------------------------------------------------------------------------

_FEED_FIXES = {
    "http": "open the URL in a browser; if the feed moved, put its new address in feeds.url",
    "gone": "the publisher removed this feed (410 Gone): remove it from the config",
    "timeout": "the server is slow or down; try again later, or raise fetch.read_timeout",
    "network": "cannot connect: check the host name, and this machine's network and DNS",
    "rate_limited": "the server asks for fewer requests: give this feed a longer interval",
    "parse": "this URL is not a feed (a web page?): find the RSS or Atom link on the site",
    "too_large": "the body is over fetch.max_bytes: raise it, or use a smaller feed",
    "redirects": "the URL redirects badly: use the final address of the feed instead",
    "invalid_url": "the URL is malformed: copy it again",
    "unauthorized": "put the feed's credentials in feeds.url, as the message says (check "
    "them with the publisher when the server refused them)",
    "forbidden": "the server refuses access: check the feed's credentials in feeds.url (or "
    "ask the publisher for a key), as the message says",
    "file": "the file cannot be read: check the path and its permissions",
}


async def _check_feeds(config: Config, timeout: float) -> list[Finding]:
    from bot.ingest.fetch import USER_AGENT, Fetcher

    async with Fetcher(
        user_agent=config.fetch.user_agent or USER_AGENT,
        connect_timeout=min(config.fetch.connect_timeout, timeout),
        read_timeout=min(config.fetch.read_timeout, timeout),
        max_bytes=config.fetch.max_bytes,
        per_host=config.fetch.per_host,
    ) as fetcher:
        checks = (_guarded("feed", f.url, _one(_check_feed(fetcher, f.url))) for f in config.feeds)
        return [finding for found in await asyncio.gather(*checks) for finding in found]


async def _check_feed(fetcher: Any, url: str) -> Finding:
    from bot.ingest.fetch import fetch_source
    from bot.ingest.parse import parse_feed

    try:
        result = await fetch_source(url, fetcher)
        parsed = parse_feed(result.body, url=result.final_url or url, headers=result.headers)
    except FeedError as e:
        message = str(e).removeprefix(f"{url}: ")  # the URL is the finding's subject already
        if isinstance(e, FetchError) and e.status and str(e.status) not in message:
            message = f"HTTP {e.status}: {message}"
        return Finding("feed", url, FAIL, message, _FEED_FIXES.get(e.kind, "check the URL"))
    if not parsed.articles:
        return Finding("feed", url, WARN, "answers, but lists no entries", "check it is the feed")
    moved = ""
    if result.permanent_url and result.permanent_url != url:
        moved = f"; it moved for good to {result.permanent_url}: update feeds.url"
    return Finding(
        "feed",
        url,
        WARN if moved else OK,
        f"answers: {plural(len(parsed.articles), 'entry', 'entries')} "
        f"({parsed.format or 'feed'}){moved}",
    )


# -- a running bot ----------------------------------------------------------------------------


async def _check_running(config: Config) -> Finding:
    from bot.config.loader import split_listen

    host, port = split_listen("metrics.listen", config.metrics.listen)
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://{host}:{port}/healthz"
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(url)
        data = response.json()
    except (httpx.HTTPError, ValueError):
        return Finding("bot", url, WARN, "no bot answers there (not running?)")
    if response.status_code == 200:
        return Finding("bot", url, OK, "the running bot reports healthy")
    problems = "; ".join(data.get("problems", [])) or f"HTTP {response.status_code}"
    return Finding(
        "bot",
        url,
        FAIL,
        f"the running bot reports: {problems}",
        "read the bot's log (journalctl -u newsalert) for the cause",
    )
