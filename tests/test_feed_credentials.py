"""A feed URL's credentials (``user:password@``, ``?api_key=``) are shown to nobody: not in
/feeds (any user), not in /feedstatus (operators), not in the logs, not in `doctor`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from bot.ingest.urls import redact_url, redact_urls, url_host
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers import TOKEN

PASSWORD = "s3cretPassw0rd"
API_KEY = "K3yValue12345"
OPERATOR = 42


def test_urls_lose_userinfo_and_query_values():
    url = f"https://reader:{PASSWORD}@news.example:8443/rss?api_key={API_KEY}&x=1"
    assert redact_url(url) == "https://***@news.example:8443/rss?***"
    assert url_host(url) == "news.example:8443"
    text = f"feed {url} failed: HTTP 500 (see {url})"
    assert PASSWORD not in redact_urls(text) and API_KEY not in redact_urls(text)
    assert (
        redact_urls("plain https://news.example/a/b stays")
        == "plain https://news.example/a/b stays"
    )


def test_feeds_feedstatus_logs_and_doctor_never_show_feed_credentials(tmp_path):
    with FakeBotAPI.in_thread(token=TOKEN) as api, FeedServer.in_thread() as feeds:
        feeds.fault("/feed.xml", "status", code=500)
        url = feeds.url("/feed.xml").replace("http://", f"http://reader:{PASSWORD}@")
        url += f"?api_key={API_KEY}"
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[telegram]
base_url = "{api.base_url}"
poll_timeout = "1s"
admins = [{OPERATOR}]
[storage]
path = "{tmp_path / "bot.db"}"
[polling]
jitter = 0
[[feeds]]
url = "{url}"
interval = "1s"
"""
        )
        env = {**os.environ, "NEWSALERT_TELEGRAM_TOKEN": TOKEN}
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "-v", "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            api.wait_for(lambda: feeds.hits("/feed.xml") >= 2, timeout=60)  # failed twice
            api.inject_message(5, "/feeds", user_id=5)
            api.inject_message(OPERATOR, "/feedstatus", user_id=OPERATOR)
            [listing] = api.wait_for_messages(5, 1, timeout=20)
            [status] = api.wait_for_messages(OPERATOR, 1, timeout=20)
            doctor = subprocess.run(
                [sys.executable, "-m", "bot", "--config", str(config), "doctor"],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
            )
            check = subprocess.run(
                [sys.executable, "-m", "bot", "--config", str(config), "feeds", "check", url],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
            )
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
        finally:
            if bot.poll() is None:
                bot.kill()
        out, err = bot.communicate()
    assert f"127.0.0.1:{feeds.port}" in listing["text"]
    assert "HTTP 500" in status["text"]
    assert "HTTP 500" in doctor.stdout + doctor.stderr
    assert "feed" in err  # the failures were logged ...
    for text in (listing["text"], status["text"], out + err, doctor.stdout + doctor.stderr,
                 check.stdout + check.stderr):  # fmt: skip
        assert PASSWORD not in text and API_KEY not in text, text[-2000:]


def test_the_feeds_commands_never_show_feed_credentials(tmp_path):
    from bot.ops.opml import OPMLFeed, write_opml

    url = f"https://reader:{PASSWORD}@news.example/rss?api_key={API_KEY}"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "bot.db"}"\n')
    opml = tmp_path / "in.opml"
    opml.write_text(write_opml([OPMLFeed(url, ""), OPMLFeed(url.replace("https", "ftp"), "")]))

    def feeds(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "feeds", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout + done.stderr

    outputs = [
        feeds("add", "--no-check", url),
        feeds("list"),
        feeds("import", str(opml)),  # already listed, and one that is not a feed URL
        feeds("remove", url),
    ]
    config.write_text(config.read_text() + f'[[feeds]]\nurl = "{url}"\n')
    outputs += [feeds("add", "--no-check", url), feeds("list"), feeds("remove", url)]
    assert "added" in outputs[0] and "news.example" in outputs[1] and "removed" in outputs[3]
    assert "already in" in outputs[4] and "listed in" in outputs[6]
    for text in outputs:
        assert PASSWORD not in text and API_KEY not in text, text
