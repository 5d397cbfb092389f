"""`newsalert run` as an operator runs it: a real process, SIGTERM stops it cleanly,
and the token never shows in its output."""

from __future__ import annotations

import signal
import subprocess
import sys
from importlib import resources
from pathlib import Path

from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers import TOKEN, bot_process, config_head


def wait_for_exit(proc: subprocess.Popen[str], timeout: float) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_run_answers_commands_and_stops_on_sigterm(tmp_path):
    feed = (resources.files("bot.data") / "demo_feed.xml").read_bytes()
    with FakeBotAPI.in_thread(token=TOKEN) as api, FeedServer.in_thread() as feeds:
        feeds.set("/feed.xml", feed)
        config = tmp_path / "config.toml"
        config.write_text(
            config_head(api, tmp_path / "bot.db", admins=(42,))
            + f"""
[[feeds]]
url = "{feeds.url("/feed.xml")}"
interval = "2s"
"""
        )
        env_token = {"NEWSALERT_TELEGRAM_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}
        proc = bot_process(config, "-v", env=env_token)
        try:
            api.wait_for(lambda: api.calls_to("getUpdates"), timeout=30)
            api.inject_message(5, "/start", user_id=5)
            api.wait_for_messages(5, 1, timeout=15)
            feeds_polled = feeds.hits("/feed.xml")
            assert feeds_polled >= 1
            proc.send_signal(signal.SIGTERM)
            status = wait_for_exit(proc, timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        out, err = proc.communicate()
    assert status == 0, err
    assert "Hello!" in api.sent_messages(5)[0]["text"]
    assert "newsalert stopped" in err
    assert TOKEN not in out + err
    assert TOKEN.split(":")[1] not in out + err


def test_run_without_token_but_with_admins_exits_2(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[telegram]\nadmins = [42]\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "telegram.token" in result.stderr and "--dry-run" in result.stderr


def test_run_says_clearly_when_telegram_cannot_be_reached(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\nbase_url = "http://127.0.0.1:{port}/bot"\n\n[storage]\npath = "{tmp_path / "b.db"}"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NEWSALERT_TELEGRAM_TOKEN": TOKEN},
    )
    assert result.returncode == 1
    assert f"cannot reach Telegram at http://127.0.0.1:{port}/bot" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Unclosed client session" not in result.stderr  # the failed getMe's is closed
    assert TOKEN.split(":")[1] not in result.stderr


def test_run_says_first_that_a_first_poll_records_without_alerting(tmp_path):
    feed = resources.files("bot.data") / "demo_feed.xml"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\npath = "{tmp_path / "bot.db"}"\n'
        f'[[feeds]]\nurl = "{Path(str(feed)).as_uri()}"\n'
        f'[[feeds]]\nurl = "{(tmp_path / "other.xml").as_uri()}"\n'
    )
    (tmp_path / "other.xml").write_bytes(feed.read_bytes())
    proc = bot_process(config, run=("--dry-run",), env=None)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        proc.send_signal(signal.SIGTERM)
        wait_for_exit(proc, timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert first.startswith(
        "first poll of 2 feeds: articles recorded, alerts start with the next new article"
    ), first
