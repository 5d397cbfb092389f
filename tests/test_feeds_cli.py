"""`newsalert feeds ...`: list, add, remove, check, OPML import and export."""

from __future__ import annotations

import asyncio
import io
import sys

import pytest

from bot.app import Core
from bot.config.loader import load_config
from bot.delivery.sinks import ConsoleSink
from bot.ops.opml import OPMLError, OPMLFeed, read_opml, write_opml
from tests.helpers import REPO

DEMO = (REPO / "bot" / "data" / "demo_feed.xml").read_bytes()


async def newsalert(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\npath = "{tmp_path / "db.sqlite"}"\n')
    return path


def test_opml_round_trip_keeps_urls_and_titles():
    feeds = [
        OPMLFeed("https://a.example/rss?x=1&y=2", "A & B"),
        OPMLFeed("https://b.example/atom", ""),
    ]
    assert read_opml(write_opml(feeds).encode()) == [
        OPMLFeed("https://a.example/rss?x=1&y=2", "A & B"),
        OPMLFeed("https://b.example/atom", "https://b.example/atom"),
    ]


def test_opml_nested_folders_and_duplicates():
    data = b"""<?xml version="1.0"?><opml version="1.0"><body>
      <outline text="News"><outline text="BBC" xmlUrl="https://bbc.example/rss"/>
      <outline text="BBC again" xmlUrl="https://bbc.example/rss"/></outline>
      <outline text="Folder only"/></body></opml>"""
    assert read_opml(data) == [OPMLFeed("https://bbc.example/rss", "BBC")]


@pytest.mark.parametrize("data", [b"not xml", b"<rss></rss>"])
def test_opml_errors_say_what_is_wrong(data):
    with pytest.raises(OPMLError):
        read_opml(data)


async def test_add_list_export_remove(feed_server, config_file, tmp_path):
    feed_server.set("/ok.xml", DEMO)
    url = feed_server.url("/ok.xml")
    status, out, err = await newsalert("--config", str(config_file), "feeds", "add", url)
    assert status == 0, err
    assert "added: newsalert demo: world news (7 articles now)" in out

    status, out, _ = await newsalert("--config", str(config_file), "feeds", "list")
    assert status == 0 and url in out and "from cli" in out

    opml = tmp_path / "feeds.opml"
    status, _, _ = await newsalert("--config", str(config_file), "feeds", "export", str(opml))
    assert status == 0 and [f.url for f in read_opml(opml.read_bytes())] == [url]

    status, out, _ = await newsalert("--config", str(config_file), "feeds", "remove", url)
    assert status == 0 and "removed" in out
    status, out, _ = await newsalert("--config", str(config_file), "feeds", "list")
    assert url not in out


async def test_add_refuses_what_is_not_a_feed(feed_server, config_file):
    feed_server.set(
        "/page.html", b"<html><body><p>Hello</p></body></html>", content_type="text/html"
    )
    status, _, err = await newsalert(
        "--config", str(config_file), "feeds", "add", feed_server.url("/page.html")
    )
    assert status == 1 and "not added" in err and "--no-check" in err
    status, _, err = await newsalert(
        "--config", str(config_file), "feeds", "add", "ftp://x.example/rss"
    )
    assert status == 2 and "http" in err


async def test_check_reports_articles_and_errors(feed_server):
    feed_server.set("/ok.xml", DEMO)
    feed_server.set("/broken.xml", DEMO)
    feed_server.fault("/broken.xml", "status", code=500)
    status, out, _ = await newsalert("feeds", "check", feed_server.url("/ok.xml"))
    assert status == 0 and "7 articles" in out
    status, _, err = await newsalert("feeds", "check", feed_server.url("/broken.xml"))
    assert status == 1 and "500" in err


async def test_import_opml_adds_new_feeds_and_skips_known(feed_server, config_file, tmp_path):
    opml = tmp_path / "in.opml"
    opml.write_text(
        write_opml([OPMLFeed("https://a.example/rss", "A"), OPMLFeed("ftp://bad.example/x", "Bad")])
    )
    status, out, err = await newsalert("--config", str(config_file), "feeds", "import", str(opml))
    assert status == 0, err
    assert "1 feed added, 1 skipped" in out
    status, out, _ = await newsalert("--config", str(config_file), "feeds", "import", str(opml))
    assert "0 feeds added, 2 skipped" in out and "already listed" in out


async def test_feeds_list_beside_a_config_toml_needs_no_option(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[storage]\npath = "db.sqlite"\n\n[[feeds]]\nurl = "https://a.example/rss"\nname = "A"\n'
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "feeds",
        "list",
        cwd=tmp_path,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "https://a.example/rss" in out.decode() and "not polled yet" in out.decode()


async def test_reload_schedules_a_feed_added_from_the_command_line(feed_server, tmp_path):
    feed_server.set(
        "/a.xml",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>A</title></channel></rss>',
    )
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\npath = "{tmp_path / "db.sqlite"}"\n\n[[feeds]]\nurl = "{feed_server.url("/a.xml")}"\n'
    )
    async with Core(load_config(path, env={}), sink=ConsoleSink(io.StringIO())) as core:
        await core.start()
        added = core.store.feeds.upsert(feed_server.url("/b.xml"), origin="cli")  # `feeds add`
        assert added.id not in core.scheduler.feed_ids()
        outcome = await core.reload()
        assert outcome.ok and outcome.feeds_added == 1
        assert added.id in core.scheduler.feed_ids()
