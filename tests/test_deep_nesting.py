"""Deeply nested input is the project's own error, never a RecursionError: a JSON Feed is a
parse error recorded on the feed (not "new" for ever), `feeds check` says so without a
traceback, a TOML file is a ConfigError; and any unexpected exception in a poll is recorded
as a failed poll."""

from __future__ import annotations

import asyncio
import io
import sys

import pytest

import bot.pipeline
from bot.app import Core
from bot.config.loader import config_from_dict, load_config
from bot.delivery.sinks import ConsoleSink
from bot.errors import ConfigError, ParseError
from bot.ingest.parse import parse_feed


async def newsalert(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


DEPTH = 200_000
DEEP_JSON = (
    '{"version": "https://jsonfeed.org/version/1.1", "title": "Deep", "items": ['
    + "[" * DEPTH
    + "]" * DEPTH
    + "]}"
)


def test_a_deeply_nested_json_feed_is_a_parse_error():
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_feed(DEEP_JSON.encode(), url="https://deep.example/feed.json")


async def poll(tmp_path, url: str) -> tuple[object, object]:
    config = config_from_dict(
        {"storage": {"path": str(tmp_path / "db.sqlite")}, "feeds": [{"url": url}]}, env={}
    )
    core = Core(config, sink=ConsoleSink(io.StringIO()))
    try:
        [result] = await core.poll_all_once()
        return result, core.store.feeds.get_by_url(url)
    finally:
        await core.fetcher.aclose()
        core.store.close()


async def test_a_deeply_nested_json_feed_is_a_failed_poll(feed_server, tmp_path):
    feed_server.set("/feed.json", DEEP_JSON, content_type="application/feed+json")
    result, state = await poll(tmp_path, feed_server.url("/feed.json"))
    assert result.status == "error" and result.error_kind == "parse"
    assert state.status == "failing" and "nested too deeply" in state.last_error
    status, out, err = await newsalert("feeds", "check", feed_server.url("/feed.json"))
    assert status == 1 and "nested too deeply" in out + err
    assert "Traceback" not in out + err


async def test_an_unexpected_error_in_a_poll_is_a_failed_poll(feed_server, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in parsing")

    monkeypatch.setattr(bot.pipeline, "parse_feed", broken)
    feed_server.set("/feed.xml", "<rss version='2.0'><channel><title>x</title></channel></rss>")
    result, state = await poll(tmp_path, feed_server.url("/feed.xml"))
    assert result.status == "error"
    assert state.status == "failing" and "RuntimeError: a bug in parsing" in state.last_error


@pytest.mark.parametrize(
    "nested", ["x = " + "[" * 5000 + "]" * 5000, "x = " + "{a = " * 5000 + "1" + "}" * 5000]
)
def test_deeply_nested_toml_is_a_config_error(tmp_path, nested):
    path = tmp_path / "config.toml"
    path.write_text(nested + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path)
