"""Logs: one event per line (JSON on request), libraries quiet by default, and the token
never shown: not in messages, arguments, extra fields, tracebacks or library output."""

from __future__ import annotations

import io
import json
import logging
import signal
import subprocess
import sys
import threading
from urllib.parse import quote, quote_plus

import httpx
import pytest

from bot.ops.logs import THIRD_PARTY, add_secret, setup_logging
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers import TOKEN, config_head

SECRET_HALF = TOKEN.split(":", 1)[1]


@pytest.fixture
def logs(capsys):
    """Set logging up as the CLI does, give back a reader of stderr, and restore afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook, threading.excepthook)
    levels = {name: logging.getLogger(name).level for name in THIRD_PARTY}

    def setup(**kwargs):
        setup_logging(**kwargs)
        add_secret(TOKEN)

    yield setup, lambda: capsys.readouterr().err
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    sys.excepthook, threading.excepthook = saved[2], saved[3]
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(False)


class _Lines(logging.Handler):
    """A plain handler of the operator's own (journald, say): each record as logging's
    default formatter shows it, its logger's name first with ``named``."""

    def __init__(self, *, named: bool = False) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.named = named

    def emit(self, record: logging.LogRecord) -> None:
        line = logging.Formatter().format(record)
        self.lines.append(f"{record.name}: {line}" if self.named else line)


def _plain_lines(*, named: bool = False) -> list[str]:
    """The lines a plain handler added to the root logger gets (the ``logs`` fixture
    restores the root's handlers)."""
    handler = _Lines(named=named)
    logging.getLogger().addHandler(handler)
    return handler.lines


def _build_the_application(tmp_path, feeds: list[dict] | None = None) -> None:
    """Build a ``Core`` and the application as a script of the operator's own would,
    without the CLI, then close its store."""
    from bot.app import Core
    from bot.config.loader import config_from_dict
    from bot.telegram import build_application

    settings: dict = {
        "telegram": {"token": TOKEN},
        "storage": {"path": str(tmp_path / "db.sqlite")},
    }
    if feeds:
        settings["feeds"] = feeds
    config = config_from_dict(settings)
    core = Core(config)
    try:
        build_application(config, core)
    finally:
        core.store.close()


def assert_no_token(text: str) -> None:
    assert TOKEN not in text
    assert SECRET_HALF not in text


def test_human_lines_carry_time_level_logger_event_and_extras(logs):
    setup, read = logs
    setup()
    logging.getLogger("bot.app").info("feed %s polled", "x", extra={"feed": "BBC Asia", "n": 3})
    line = read().strip()
    assert line.endswith('INFO    bot.app: feed x polled feed="BBC Asia" n=3')
    assert line[:19].replace("-", "").replace(":", "").replace(" ", "").isdigit()


def test_json_lines_are_one_object_per_event_even_with_a_traceback(logs):
    setup, read = logs
    setup(json_lines=True)
    log = logging.getLogger("bot.pipeline")
    log.warning("two\nlines", extra={"feed": "f"})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    lines = read().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(x) for x in lines)
    assert first["event"] == "two\nlines" and first["level"] == "warning" and first["feed"] == "f"
    assert first["logger"] == "bot.pipeline" and first["time"].endswith("+00:00")
    assert "ValueError: boom" in second["exception"]


@pytest.mark.parametrize("json_lines", [False, True])
def test_the_token_never_appears_in_messages_arguments_extras_or_tracebacks(logs, json_lines):
    setup, read = logs
    setup(json_lines=json_lines)
    log = logging.getLogger("bot.telegram")
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    log.info("calling %s", url)
    log.info(f"half {SECRET_HALF} alone", extra={"url": url})
    log.info("encoded %s", url.replace(":", "%3A"))
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        log.exception("send failed")
    log.info("stack", stack_info=True)
    out = read()
    assert_no_token(out)
    assert out.count("***") >= 5


def test_an_uncaught_exception_is_logged_redacted(logs):
    setup, read = logs
    setup()
    try:
        raise RuntimeError(f"crash with {TOKEN}")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    out = read()
    assert "CRITICAL newsalert: uncaught exception" in out
    assert "RuntimeError: crash with ***" in out
    assert_no_token(out)


def test_an_exception_ending_a_thread_is_logged_redacted(logs):
    setup, read = logs
    setup()

    def crash() -> None:
        raise RuntimeError(f"thread crash with {TOKEN}")

    thread = threading.Thread(target=crash, name="worker")
    thread.start()
    thread.join()
    out = read()
    assert "uncaught exception in thread worker" in out and "thread crash with ***" in out
    assert_no_token(out)


async def test_httpx_is_quiet_by_default_and_redacted_when_loud(logs, telegram_api):
    setup, read = logs
    url = telegram_api.method_url("getMe")
    assert TOKEN in url
    setup(verbose=1)  # -v: our debug lines, libraries still at WARNING
    async with httpx.AsyncClient() as client:
        await client.get(url)
    assert "HTTP Request" not in read()
    setup(verbose=2)  # -vv: libraries at DEBUG too
    async with httpx.AsyncClient() as client:
        await client.get(url)
    out = read()
    assert "HTTP Request: GET http://127.0.0.1" in out
    assert "/bot***/getMe" in out
    assert_no_token(out)


async def test_python_telegram_bot_debug_output_is_redacted(logs, telegram_api):
    from telegram import Bot
    from telegram.error import NetworkError

    setup, read = logs
    setup(verbose=2)
    telegram_api.fail_next("getMe", error_code=500, description=f"Internal: bot{TOKEN} broke")
    bot = Bot(TOKEN, base_url=telegram_api.base_url)
    with pytest.raises(NetworkError) as caught:
        await bot.initialize()
    logging.getLogger("telegram.ext.Application").error("getMe failed", exc_info=caught.value)
    async with bot:
        await bot.send_message(5, f"the token {TOKEN} in a text")
    out = read()
    assert "telegram.Bot" in out and "getMe" in out and "sendMessage" in out
    assert "Internal: bot*** broke" in out
    assert_no_token(out)


def test_run_with_vv_and_json_logs_redacts_everything(tmp_path):
    """The real process at full verbosity: every stderr line is JSON, none holds the token."""
    with FakeBotAPI.in_thread(token=TOKEN) as api:
        config = tmp_path / "config.toml"
        config.write_text(config_head(api, tmp_path / "bot.db"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "-vv", "--log-json", "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"NEWSALERT_TELEGRAM_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
        )
        try:
            api.wait_for(lambda: len(api.calls_to("getUpdates")) >= 2, timeout=30)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in err.splitlines()]
    loggers = {e["logger"] for e in events}
    assert {"httpx", "bot.app"} <= loggers
    assert any("/bot***/getUpdates" in e["event"] for e in events)
    assert_no_token(out + err)


async def test_httpx_request_lines_reach_any_handler_redacted(logs, telegram_api):
    """At -vv httpx logs every request URL (a feed's key, the Bot API token): a plain
    handler of the operator's own on the root logger, beside ours, gets it redacted too."""
    setup, read = logs
    setup(verbose=2)
    lines = _plain_lines()
    url = telegram_api.method_url("getMe") + "?api_key=K3yValue12345"
    async with httpx.AsyncClient() as client:
        await client.get(url)
    requests = [line for line in lines if line.startswith("HTTP Request: GET http://127.0.0.1")]
    assert requests, lines
    assert "/bot***/getMe?api_key=***" in requests[0], requests
    for line in lines:
        assert "K3yValue12345" not in line
        assert_no_token(line)
    assert_no_token(read())


async def test_library_records_at_vv_reach_any_handler_without_the_token(logs, telegram_api):
    """At -vv python-telegram-bot logs its Bot API URL ("Set Bot API URL: .../bot<token>")
    from ``telegram.ext.ExtBot``, a child of the ``telegram`` logger; httpcore, APScheduler
    and the other libraries log from child loggers too.  A plain handler of the operator's
    own on the root logger (journald, say) gets each record's message without the token or
    a feed's key, and the exception text of a library's record redacted as well."""
    from telegram.error import NetworkError
    from telegram.ext import ExtBot

    setup, read = logs
    setup(verbose=2)
    add_secret("K3yValue12345")  # a feed's key, as `newsalert run` adds it
    lines = _plain_lines(named=True)
    bot = ExtBot(TOKEN, base_url=telegram_api.base_url)
    async with bot:
        await bot.get_me()
    feed = "https://wire.example/rss?api_key=K3yValue12345"
    for name in ("httpcore.connection", "apscheduler.scheduler", "telegram.ext.Application"):
        logging.getLogger(name).debug("fetching %s with %s", feed, TOKEN)  # stand-ins
    try:
        raise NetworkError(f"httpx.ConnectError: {telegram_api.method_url('getUpdates')}")
    except NetworkError:
        logging.getLogger("telegram.ext.Application").exception("polling failed")
    [url] = [line for line in lines if "Set Bot API URL" in line]
    assert url.startswith("telegram.ext.ExtBot: Set Bot API URL: http://127.0.0.1:"), url
    assert url.endswith("/bot***"), url
    assert len([line for line in lines if "fetching https://wire.example" in line]) == 3, lines
    [failed] = [line for line in lines if "polling failed" in line]
    assert "NetworkError: httpx.ConnectError: http://127.0.0.1:" in failed, failed
    for line in lines:
        assert "K3yValue12345" not in line, line
        assert_no_token(line)
    assert_no_token(read())


# the loggers build_application quietens when nobody chose their level (embedded use)
_NOISY = ("telegram.ext.Updater", "apscheduler.executors.default")


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_vv_shows_the_updater_and_the_job_executor_and_less_keeps_them_quiet(
    logs, tmp_path, verbose
):
    """-vv is DEBUG for every library: once the Telegram application is built,
    ``telegram.ext.Updater`` and ``apscheduler.executors.default`` still log at DEBUG
    (their records are redacted as they are made) and a record of theirs reaches the
    handler; below -vv they log at WARNING, as every library does."""

    saved = {name: logging.getLogger(name).level for name in _NOISY}
    for name in _NOISY:  # as in a fresh process: nobody chose their level yet
        logging.getLogger(name).setLevel(logging.NOTSET)
    try:
        setup, read = logs
        setup(verbose=verbose)
        _build_the_application(tmp_path)
        for name in _NOISY:
            logging.getLogger(name).debug("%s says %s", name, TOKEN)
        out = read()
        wanted = logging.DEBUG if verbose >= 2 else logging.WARNING
        for name in _NOISY:
            assert logging.getLogger(name).getEffectiveLevel() == wanted, name
            assert (f"{name} says ***" in out) == (verbose >= 2), out
        assert_no_token(out)
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_an_embedding_script_without_our_logging_gets_the_noisy_loggers_quiet(tmp_path):
    """An operator's own script that builds the application without ``setup_logging``
    (its root logger at INFO, no level for any library): the Updater and APScheduler's job
    executor are set to WARNING, as before; a level the script chose for them is kept."""

    names = (*_NOISY, "telegram", "telegram.ext", "apscheduler", "apscheduler.executors")
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:  # as in a fresh process (other tests set up our logging)
        logging.getLogger(name).setLevel(logging.NOTSET)
    logging.getLogger("apscheduler").setLevel(logging.INFO)  # the script's own choice
    try:
        _build_the_application(tmp_path)
        assert logging.getLogger("telegram.ext.Updater").level == logging.WARNING
        assert logging.getLogger("apscheduler.executors.default").level == logging.NOTSET
        assert logging.getLogger("apscheduler.executors.default").getEffectiveLevel() == (
            logging.INFO
        )
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_a_secret_a_library_changed_the_case_of_is_redacted_too(logs):
    """python-telegram-bot lowers the case of a 400's words ("Bad Request: ..." becomes
    "...", capitalised), a token's secret half in them too: our handler and a plain one
    of the operator's own get it as ***, in whatever case it comes."""
    setup, read = logs
    setup(verbose=2)
    lines = _plain_lines()
    logging.getLogger("telegram.ext.Application").error("Odd: %s", SECRET_HALF.lower())
    logging.getLogger("bot.app").error("Odd: %s", SECRET_HALF.upper())
    out = read()
    assert "Odd: ***" in out and "Odd: ***" in lines[0], (out, lines)
    for text in (out, *lines[:1]):
        assert SECRET_HALF.lower() not in text.lower(), text


def test_an_embedding_script_at_debug_gets_library_records_and_feed_keys_redacted(tmp_path):
    """A script of the operator's own that builds a ``Core`` and the application without
    the CLI or ``setup_logging``, with its own plain handler and python-telegram-bot at
    DEBUG: the "Set Bot API URL" line reaches it without the token, and a feed's key that
    comes back in an error's words is hidden from what is logged and stored."""
    from bot.text import without_known_secrets

    key = "EmbedKey-7731-xyz-Q"  # a feed's key no other test has registered
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)  # as in a fresh process
    root, telegram_logger = logging.getLogger(), logging.getLogger("telegram")
    saved = (root.level, telegram_logger.level)
    handler = _Lines()
    lines = handler.lines
    root.addHandler(handler)
    telegram_logger.setLevel(logging.DEBUG)  # the script's own choice
    try:
        _build_the_application(tmp_path, [{"url": f"https://wire.example/rss?api_key={key}"}])
        words = without_known_secrets(f"no article text found (only 'Key {key} expired')")
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        telegram_logger.setLevel(saved[1])
        logging.setLogRecordFactory(factory)
    [url] = [line for line in lines if "Set Bot API URL" in line]
    assert url.endswith("/bot***"), url
    for line in lines:
        assert_no_token(line)
    assert key not in words and "(only 'Key *** expired')" in words, words


@pytest.mark.parametrize("where", ["root", "httpx"])
async def test_an_embedding_scripts_own_httpx_debug_handler_gets_no_token_or_feed_key(
    tmp_path, telegram_api, feed_server, where
):
    """A script of the operator's own that turns httpx's logging on at DEBUG with its own
    plain handler (``logging.basicConfig(level=logging.DEBUG)`` and httpx at DEBUG, or a
    handler on the "httpx" logger), without ``setup_logging``, then builds a ``Core``
    that polls a feed with a key and the application, whose long poll goes through httpx
    with the token in its URL: each request line the handler formats names the request,
    with neither the key nor the token."""
    from bot.app import Core
    from bot.config.loader import config_from_dict
    from bot.delivery.sinks import ConsoleSink
    from bot.telegram import build_application
    from tests.helpers import QUIET_FEED, rss

    key = "ScriptKey-4417-abc-Z"  # a feed's key no other test has registered
    feed_server.set("/feed.xml", rss(QUIET_FEED))
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)  # as in a fresh process
    root, httpx_logger = logging.getLogger(), logging.getLogger("httpx")
    saved = (root.level, httpx_logger.level)
    handler = _Lines(named=True)
    (root if where == "root" else httpx_logger).addHandler(handler)
    if where == "root":
        root.setLevel(logging.DEBUG)
    httpx_logger.setLevel(logging.DEBUG)  # the script's own choice
    try:
        config = config_from_dict(
            {
                "telegram": {"token": TOKEN, "base_url": telegram_api.base_url},
                "storage": {"path": str(tmp_path / "db.sqlite")},
                "feeds": [{"url": feed_server.url("/feed.xml") + f"?api_key={key}"}],
            }
        )
        async with Core(config, sink=ConsoleSink(io.StringIO())) as core:
            await core.poll_all_once()
            async with build_application(config, core) as application:
                assert await application.bot.get_updates(timeout=0) == ()
    finally:
        (root if where == "root" else httpx_logger).removeHandler(handler)
        root.setLevel(saved[0])
        httpx_logger.setLevel(saved[1])
        logging.setLogRecordFactory(factory)
    requests = [line for line in handler.lines if line.startswith("httpx: HTTP Request:")]
    [feed] = [line for line in requests if "/feed.xml" in line]
    assert "/feed.xml?api_key=*** " in feed, feed
    [poll] = [line for line in requests if "getUpdates" in line]
    assert f"POST {telegram_api.base_url}***/getUpdates " in poll, poll
    for line in handler.lines:
        assert_no_token(line)
        assert key not in line, line


def test_a_library_records_exception_is_redacted_for_a_handler_that_formats_it_itself(logs):
    """A JSON handler of the operator's own often formats ``record.exc_info`` itself: a
    library's record has its traceback redacted in ``exc_text`` and no raw ``exc_info``
    left, and our own formatters still show that traceback."""
    import traceback

    from telegram.error import NetworkError

    setup, read = logs
    setup(verbose=2)
    seen: list[str] = []

    class OwnJson(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            error = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
            seen.append(json.dumps({"msg": record.getMessage(), "error": error or record.exc_text}))

    logging.getLogger().addHandler(OwnJson())  # the fixture restores the root's handlers
    try:
        raise NetworkError(f"https://api.telegram.org/bot{TOKEN}/getMe failed")
    except NetworkError:
        logging.getLogger("telegram.ext.Application").exception("network loop error")
    [line] = [s for s in seen if "network loop error" in s]
    assert "NetworkError" in line and "/bot***/getMe failed" in line, line
    assert_no_token(line)
    out = read()
    assert "/bot***/getMe failed" in out, out  # our handler shows the traceback too
    assert_no_token(out)


def test_a_library_record_that_cannot_be_formatted_shows_no_token(logs):
    """A library's record whose arguments do not fit its format: logging's error report
    would print the arguments raw on stderr; the record comes redacted instead."""
    setup, read = logs
    setup(verbose=2)
    logging.getLogger("telegram.ext.Application").error("bad %d", TOKEN)
    out = read()
    assert "bad %d" in out and "Logging error" not in out, out
    assert_no_token(out)


def test_a_weak_key_in_a_request_line_is_hidden_from_logs_and_stored_errors(logs):
    """A weak key (a date: masked only where a credential goes) quoted outside a URL, in a
    request line a server's error repeats, is hidden by its parameter's name; other values
    stay."""
    from bot.ops.logs import redact
    from bot.text import without_known_secrets

    setup, _read = logs
    setup()
    add_secret("20240501")
    line = "illegal request line: b'GET /rss?api_key=20240501&id=42 HTTP/1.1' on 20240501"
    for shown in (redact(line), without_known_secrets(line)):
        assert "api_key=***&id=42 HTTP/1.1' on 20240501" in shown, shown


@pytest.mark.parametrize("json_lines", [False, True])
def test_a_feed_key_is_hidden_from_log_lines_in_every_spelling_a_url_gives_it(logs, json_lines):
    """A feed key quoted outside a URL (an exception's words, an argument, a traceback) is
    hidden in each spelling a URL may give it: as written, %-encoded in upper or lower case
    hex, with + for a space; whether the config writes it %-encoded or as it is.  The
    token %-encoded goes whole, not only its secret half."""
    from bot.config.loader import config_from_dict
    from bot.ops.logs import add_config_secrets

    setup, read = logs
    setup(json_lines=json_lines)
    encoded_in_config = "Ab1/Cd2+Ef3=Gh4 xyz"  # written %-encoded in the url
    raw_in_config = "Zz9/Yy8+Xx7:Ww6"  # written as it is (a query may hold / and :)
    config = config_from_dict(
        {
            "telegram": {"token": TOKEN},
            "feeds": [
                {"url": "https://a.example/rss?api_key=Ab1%2FCd2%2BEf3%3DGh4%20xyz"},
                {"url": f"https://b.example/rss?token={raw_in_config}"},
            ],
        }
    )
    add_config_secrets(config)
    spellings = [
        spelling
        for key in (encoded_in_config, raw_in_config)
        for spelling in (
            key,
            quote(key, safe=""),
            quote(key, safe="").lower(),
            quote_plus(key, safe=""),
            quote_plus(key, safe="").lower(),
        )
    ]
    spellings += [TOKEN.replace(":", "%3A"), TOKEN.replace(":", "%3a")]
    log = logging.getLogger("bot.ingest.fetch")
    for spelling in spellings:
        log.warning("odd value %r in the answer", spelling)
        try:
            raise ValueError(f"invalid query value '{spelling}'")
        except ValueError as error:
            log.exception("poll failed: %s", error)
    out = read()
    assert "odd value '***' in the answer" in out and "invalid query value '***'" in out
    for spelling in spellings:
        assert spelling.lower() not in out.lower(), spelling
    assert TOKEN.split(":")[0] + "%3" not in out  # the bot's id goes with the rest
