"""`newsalert doctor`: every check against real local servers (the fake Bot API, the feed
server), with a line saying what to fix for each problem, and exit status 0 or 1."""

from __future__ import annotations

import sqlite3
from importlib import resources

import pytest
import sqlite_utils
from click.testing import CliRunner

from bot.cli import cli
from storage.migrations import MIGRATIONS
from storage.store import Store
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers import TOKEN

DEMO_FEED = (resources.files("bot.data") / "demo_feed.xml").read_bytes()
CHANNEL = -1001234567890


@pytest.fixture(scope="module")
def servers():
    with FakeBotAPI.in_thread(token=TOKEN) as api, FeedServer.in_thread() as feeds:
        feeds.set("/feed.xml", DEMO_FEED)
        feeds.fault("/missing.xml", "status", code=404)
        feeds.fault("/page.xml", "html")
        api.add_chat(CHANNEL, "channel", title="Korea News")
        api.add_chat(-1009, "channel", title="Not ours")
        api.set_chat_member(-1009, api.bot_id, "member")
        yield api, feeds


def write_config(tmp_path, api, feeds, *, token=TOKEN, paths=("/feed.xml",), extra=""):
    feed_tables = "".join(f'[[feeds]]\nurl = "{feeds.url(p)}"\n' for p in paths)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "{token}"\nbase_url = "{api.base_url}"\n'
        f'[storage]\npath = "{tmp_path / "bot.db"}"\n{extra}\n{feed_tables}'
    )
    return config


def doctor(config) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor", "--timeout", "5"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def lines_for(output: str, area: str) -> list[str]:
    return [x for x in output.splitlines() if x.split()[1:2] == [area]]


def test_a_healthy_setup_passes_every_check(tmp_path, servers):
    api, feeds = servers
    Store.open(tmp_path / "bot.db").close()
    config = write_config(
        tmp_path,
        api,
        feeds,
        extra=f"[[channels]]\nchat_id = {CHANNEL}\ntopics = ['korea-diplomacy']",
    )
    status, out = doctor(config)
    assert status == 0, out
    assert "All checks passed" in out
    assert lines_for(out, "config")[0].startswith("ok")
    assert "schema current" in lines_for(out, "database")[0]
    assert "the token works: @newsalert_test_bot" in lines_for(out, "telegram")[0]
    assert "answers: " in lines_for(out, "feed")[0] and "entries" in out
    assert lines_for(out, "channel")[0].startswith("ok") and "Korea News" in out
    assert TOKEN not in out


def test_problems_are_named_with_what_to_fix_and_exit_1(tmp_path, servers):
    api, feeds = servers
    bad_token = "123456:WRONG-TOKEN-abcdefghijklmnopqrstuvwxyz"
    config = write_config(
        tmp_path,
        api,
        feeds,
        token=bad_token,
        paths=("/feed.xml", "/missing.xml", "/page.xml"),
    )
    status, out = doctor(config)
    assert status == 1, out
    telegram = lines_for(out, "telegram")[0]
    assert telegram.startswith("FAIL") and "refused the token" in telegram
    assert "fix: copy the token again from @BotFather" in out
    feed_lines = {x.split()[2].rstrip(":"): x for x in lines_for(out, "feed")}
    assert feed_lines[feeds.url("/feed.xml")].startswith("ok")
    assert "HTTP 404" in feed_lines[feeds.url("/missing.xml")]
    assert feed_lines[feeds.url("/page.xml")].startswith("FAIL")
    assert "find the RSS or Atom link" in out
    assert "2 problems to fix" in out or "3 problems to fix" in out
    assert bad_token not in out and bad_token.split(":")[1] not in out


def test_a_database_behind_the_code_is_a_warning_and_one_ahead_a_failure(tmp_path, servers):
    api, feeds = servers
    config = write_config(tmp_path, api, feeds)
    db = sqlite_utils.Database(sqlite3.connect(tmp_path / "bot.db"))
    last = MIGRATIONS.pending(db)[-1].name
    MIGRATIONS.apply(db, stop_before=last)
    db.close()
    status, out = doctor(config)
    assert status == 0, out
    line = lines_for(out, "database")[0]
    assert line.startswith("warn") and f"1 migration behind ({last})" in line
    assert "newsalert run` applies them on start" in out
    assert [m.name for m in MIGRATIONS.pending(sqlite_utils.Database(tmp_path / "bot.db"))] == [
        last
    ]  # doctor changed nothing

    db = sqlite_utils.Database(tmp_path / "bot.db")
    MIGRATIONS.apply(db)
    db["_sqlite_migrations"].insert(
        {"migration_set": "newsalert", "name": "m999_from_the_future", "applied_at": "x"}
    )
    db.close()
    status, out = doctor(config)
    assert status == 1
    assert "written by a newer newsalert (migrations m999_from_the_future)" in out


def test_a_missing_database_folder_and_a_channel_without_admin_rights_fail(tmp_path, servers):
    api, feeds = servers
    config = write_config(
        tmp_path, api, feeds, extra="[[channels]]\nchat_id = -1009\ntopics = ['korea-diplomacy']"
    )
    config.write_text(config.read_text().replace(str(tmp_path / "bot.db"), "/nonexistent/x.db"))
    status, out = doctor(config)
    assert status == 1
    assert "folder '/nonexistent' does not exist" in out
    channel = lines_for(out, "channel")[0]
    assert channel.startswith("FAIL") and "not an administrator" in channel


def test_a_broken_config_is_reported_with_its_key(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = ""\n')
    status, out = doctor(config)
    assert status == 1
    assert "storage.path" in out and "fix:" in out


def test_every_mistake_of_the_config_is_a_fail_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = ""\n[alerts]\nsummary_chars = 50\n')
    status, out = doctor(config)
    assert status == 1
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 2
    assert "storage.path" in fails[0] and "alerts.summary_chars" in fails[1]


def test_no_token_without_channels_is_a_dry_run_not_a_problem(tmp_path, servers):
    _, feeds = servers
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\npath = "{tmp_path / "bot.db"}"\n[[feeds]]\nurl = "{feeds.url("/feed.xml")}"\n'
    )
    result = CliRunner(env={"NEWSALERT_TELEGRAM_TOKEN": ""}).invoke(
        cli, ["--config", str(config), "doctor"]
    )
    assert result.exit_code == 0, result.output
    assert "no token: alerts go to the console" in result.output
    assert "not created yet" in result.output


async def test_doctor_asks_a_running_bot_how_it_is(tmp_path, feed_server):
    import socket

    from bot.app import Core
    from bot.config.loader import load_config
    from bot.ops.doctor import diagnose

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\npath = "{tmp_path / "bot.db"}"\n[metrics]\nlisten = "127.0.0.1:{port}"\n'
    )
    before = [f for f in await diagnose(config, env={}) if f.area == "bot"]
    assert before[0].status == "warn" and "not running" in before[0].detail
    async with Core(load_config(config, env={}), dry_run=True) as core:
        await core.start()
        running = [f for f in await diagnose(config, env={}) if f.area == "bot"]
    assert running[0].status == "ok" and "reports healthy" in running[0].detail


def test_an_unexpected_answer_is_a_fail_line_not_a_traceback(tmp_path):
    with FakeBotAPI.in_thread(token=TOKEN) as api, FeedServer.in_thread() as feeds:
        feeds.set("/feed.xml", DEMO_FEED)
        api.add_chat(CHANNEL, "channel", title="Korea News")
        api.add_chat(-1009, "channel", title="Second")
        api.answer_oddly("getChat", {"id": CHANNEL})  # no "type": python-telegram-bot chokes
        config = write_config(
            tmp_path,
            api,
            feeds,
            extra=f"[[channels]]\nchat_id = {CHANNEL}\ntopics = ['korea-diplomacy']\n"
            "[[channels]]\nchat_id = -1009\ntopics = ['korea-diplomacy']",
        )
        status, out = doctor(config)
    assert status == 1
    assert "Traceback" not in out
    channels = lines_for(out, "channel")
    assert len(channels) == 2, out  # the first channel's odd answer does not hide the second
    assert all(line.startswith("FAIL") for line in channels)
    assert "the check stopped on an unexpected error" in channels[0]
    # the other checks still ran
    assert lines_for(out, "telegram")[0].startswith("ok")
    assert lines_for(out, "feed")[0].startswith("ok")
    assert lines_for(out, "database")


def test_a_feed_check_that_raises_is_a_fail_line(tmp_path, monkeypatch):
    import bot.ingest.parse as parse_module

    def broken(*args, **kwargs):
        raise RuntimeError("parser exploded")

    with FeedServer.in_thread() as feeds:
        feeds.set("/feed.xml", DEMO_FEED)
        monkeypatch.setattr(parse_module, "parse_feed", broken)
        config = tmp_path / "config.toml"
        config.write_text(
            f'[storage]\npath = "{tmp_path / "bot.db"}"\n'
            f'[[feeds]]\nurl = "{feeds.url("/feed.xml")}"\n'
        )
        status, out = doctor(config)
    assert status == 1
    feed = lines_for(out, "feed")[0]
    assert feed.startswith("FAIL") and "RuntimeError: parser exploded" in feed
