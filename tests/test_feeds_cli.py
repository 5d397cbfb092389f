"""`newsalert feeds ...`: list, add, remove, check, OPML import and export."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import pytest

from bot.app import Core
from bot.config.loader import load_config
from bot.delivery.sinks import ConsoleSink
from bot.ops.opml import OPMLError, OPMLFeed, read_opml, write_opml
from tests.helpers import REPO

DEMO = (REPO / "bot" / "data" / "demo_feed.xml").read_bytes()


async def newsalert(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
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


def test_export_to_a_folder_that_does_not_exist_says_so(config_file, tmp_path):
    from click.testing import CliRunner

    from bot.cli import cli

    target = tmp_path / "missing" / "feeds.opml"
    args = ["--config", str(config_file), "feeds", "export", str(target)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and not target.exists()
    assert f"error: cannot write {target}: No such file or directory" in result.stderr
    assert "Traceback" not in result.output


def test_an_empty_url_is_named_as_missing_not_taken_for_the_current_folder(config_file):
    from click.testing import CliRunner

    from bot.cli import cli

    runner = CliRunner()
    added = runner.invoke(cli, ["--config", str(config_file), "feeds", "add", ""])
    checked = runner.invoke(cli, ["feeds", "check", " "])
    parsed = runner.invoke(cli, ["parse", ""])
    assert added.exit_code == 2 and "not added: no URL given; write the feed's" in added.stderr
    assert checked.exit_code == 1 and "nothing given: write an http(s):// URL" in checked.stderr
    assert "nothing given" in parsed.stdout and "folder" not in added.output + checked.output


async def test_add_list_export_remove(feed_server, config_file, tmp_path):
    feed_server.set("/ok.xml", DEMO)
    url = feed_server.url("/ok.xml")
    status, out, err = await newsalert("--config", str(config_file), "feeds", "add", url)
    assert status == 0, err
    assert (
        "added: newsalert demo: world news (it lists 7 articles; `newsalert run` polls it)" in out
    )

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


def _config_with_feeds(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\npath = "{tmp_path / "db.sqlite"}"\n\n'
        '[[feeds]]\nurl = "https://a.example/rss"\nname = "A"\n\n'
        '[[feeds]]\nurl = "https://b.example/rss"\nname = "B"\n'
    )
    return path


async def test_import_skips_the_feeds_of_the_config_file(tmp_path):
    config = _config_with_feeds(tmp_path)
    opml = tmp_path / "out.opml"
    assert (await newsalert("--config", str(config), "feeds", "export", str(opml)))[0] == 0
    status, out, err = await newsalert("--config", str(config), "feeds", "import", str(opml))
    assert status == 0, err
    assert "0 feeds added, 2 skipped" in out
    assert "https://a.example/rss: already in config.toml" in out
    status, out, _ = await newsalert("--config", str(config), "feeds", "list")
    assert "from cli" not in out
    # once gone from the file, they are gone (not kept as feeds of the command line)
    config.write_text(f'[storage]\npath = "{tmp_path / "db.sqlite"}"\n')
    status, out, _ = await newsalert("--config", str(config), "feeds", "list")
    assert "a.example" not in out and "b.example" not in out
    # and `feeds add` of a config feed leaves it the file's
    config = _config_with_feeds(tmp_path)
    status, out, _ = await newsalert(
        "--config", str(config), "feeds", "add", "--no-check", "https://a.example/rss"
    )
    assert status == 0 and "already in" in out and "nothing added" in out
    status, out, _ = await newsalert("--config", str(config), "feeds", "list")
    assert "from cli" not in out


@pytest.mark.parametrize(
    "command",
    [
        ("feeds", "list"),
        ("feeds", "export"),
        ("feeds", "remove", "https://x.example/rss"),
        ("db", "prune"),
        ("doctor", "--timeout", "0.5"),
        ("topics",),
        ("check-config", "--dry-run"),
    ],
)
async def test_commands_that_only_read_create_no_database(tmp_path, command):
    config = _config_with_feeds(tmp_path)
    _status, out, err = await newsalert("--config", str(config), *command)
    assert "Traceback" not in err
    assert not (tmp_path / "db.sqlite").exists(), out + err
    if command[0] in ("feeds", "db") and command[1] != "export":
        assert "no database" in (out + err).lower() or "no feed" in err, out + err


async def test_feeds_add_and_feeds_list_tell_the_same_story(feed_server, config_file):
    feed_server.set("/ok.xml", DEMO)
    status, out, err = await newsalert(
        "--config", str(config_file), "feeds", "add", feed_server.url("/ok.xml")
    )
    assert status == 0, err
    assert "it lists 7 articles" in out and "polls it" in out
    status, out, _ = await newsalert("--config", str(config_file), "feeds", "list")
    # the bot has stored none of them yet: not "0 articles seen" beside "7 articles now"
    assert "not polled yet" in out and "0 articles seen" not in out


async def test_feeds_add_takes_a_plain_path_like_feeds_check(tmp_path, config_file):
    folder = tmp_path / "my feeds"
    folder.mkdir()
    (folder / "demo feed.xml").write_bytes(DEMO)
    status, out, err = await newsalert(
        "--config", str(config_file), "feeds", "add", "my feeds/demo feed.xml", cwd=tmp_path
    )
    assert status == 0, err
    assert "it lists 7 articles" in out
    status, out, _ = await newsalert("--config", str(config_file), "feeds", "list")
    url = (folder / "demo feed.xml").resolve().as_uri()
    assert url in out
    status, out, err = await newsalert("--config", str(config_file), "feeds", "check", url)
    assert status == 0 and "7 articles" in out, err  # the stored file:// URL reads back
    status, _, err = await newsalert("--config", str(config_file), "feeds", "add", str(folder))
    assert status == 2 and "is a folder" in err
    status, _, err = await newsalert("--config", str(config_file), "feeds", "add", "nosuch.xml")
    assert status == 2 and "neither an http(s):// URL nor an existing file" in err


async def test_adding_a_feed_again_keeps_its_name_and_interval(tmp_path, config_file):
    feed = tmp_path / "demo.xml"
    feed.write_bytes(DEMO)
    base = ("--config", str(config_file), "feeds")
    status, out, err = await newsalert(
        *base, "add", str(feed), "--name", "Mine", "--interval", "10m"
    )
    assert status == 0 and "added: Mine" in out, err
    again = await newsalert(*base, "add", str(feed))
    assert again[0] == 0 and "already added: Mine; nothing changed" in again[1], again
    renamed = await newsalert(*base, "add", feed.as_uri(), "--name", "Ours")
    assert "already added: Ours; updated its name" in renamed[1], renamed
    status, out, _ = await newsalert(*base, "list")
    assert "Ours" in out and "polled every 10m" in out, out


async def test_feeds_remove_takes_the_plain_path_feeds_add_took(tmp_path, config_file):
    feed = tmp_path / "demo.xml"
    feed.write_bytes(DEMO)
    base = ("--config", str(config_file), "feeds")
    assert (await newsalert(*base, "add", "demo.xml", cwd=tmp_path))[0] == 0
    status, out, err = await newsalert(*base, "remove", "demo.xml", cwd=tmp_path)
    assert status == 0 and "removed:" in out, err
    status, out, _ = await newsalert(*base, "list")
    assert "demo.xml" not in out


async def test_a_feed_spelled_in_capitals_or_with_a_trailing_slash_is_the_same_feed(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\npath = "{tmp_path / "db.sqlite"}"\n'
        '[[feeds]]\nurl = "https://www.straitstimes.com/news/asia/rss.xml"\n'
    )
    base = ("--config", str(config), "feeds", "add", "--no-check")
    loud = await newsalert(*base, "HTTPS://WWW.STRAITSTIMES.COM/news/asia/rss.xml")
    slash = await newsalert(*base, "https://www.straitstimes.com/news/asia/rss.xml/")
    assert "config.toml as https://www.straitstimes" in loud[1] and "nothing added" in loud[1]
    assert "without the trailing /" in slash[1] and "nothing added" in slash[1], slash
    assert (await newsalert(*base, "https://a.example/rss"))[0] == 0
    again = await newsalert(*base, "HTTPS://A.EXAMPLE/rss")
    assert "already added as https://a.example/rss" in again[1], again
    _, out, _ = await newsalert("--config", str(config), "feeds", "list")
    assert "A.EXAMPLE" not in out and "STRAITSTIMES" not in out
    gone = await newsalert("--config", str(config), "feeds", "remove", "HTTPS://A.EXAMPLE/rss")
    assert gone[0] == 0 and "removed" in gone[1], gone


async def test_import_skips_listed_feeds_in_any_spelling_same_feed_accepts(tmp_path):
    """An OPML file may spell a listed feed with its host in capitals or a trailing /:
    it is the config's feed (or the stored one) all the same, not a new one."""
    config = _config_with_feeds(tmp_path)
    base = ("--config", str(config), "feeds")
    assert (await newsalert(*base, "add", "--no-check", "https://c.example/rss"))[0] == 0
    opml = tmp_path / "in.opml"
    feeds = ["HTTPS://A.EXAMPLE/rss", "https://b.example/rss/", "https://C.example/rss/"]
    opml.write_text(write_opml([OPMLFeed(url, "") for url in feeds]))
    status, out, err = await newsalert(*base, "import", str(opml))
    assert status == 0, err
    assert "0 feeds added, 3 skipped" in out, out
    assert out.count("already in config.toml") == 2 and "already listed" in out, out
    _, out, _ = await newsalert(*base, "list")
    assert out.count("from cli") == 1 and "A.EXAMPLE" not in out and "rss/" not in out, out


def test_a_large_import_skips_known_feeds_in_any_spelling_in_linear_work(tmp_path, monkeypatch):
    """An OPML file of a thousand feeds into a database of a thousand: the stored ones
    (in another spelling: host in capitals, a trailing /) and the file's own repeats are
    skipped, the others added once; the feed keys worked out grow with the number of
    feeds, not with their product (counted, not timed)."""
    import bot.credentials as credentials
    from bot.ops.feed_admin import import_opml
    from storage.store import Store

    store = Store.open(tmp_path / "bot.db")
    for n in range(1000):
        store.feeds.upsert(f"https://stored{n}.example/news/rss", origin="cli")
    urls = [f"https://STORED{n}.example/news/rss/" for n in range(0, 1000, 2)]
    urls += [f"https://new{n}.example/rss" for n in range(500)]
    urls += [f"https://NEW{n}.example/rss" for n in range(0, 500, 5)]  # the file's repeats
    calls = 0
    real = credentials.feed_key

    def counted(url: str) -> str:
        nonlocal calls
        calls += 1
        return real(url)

    monkeypatch.setattr(credentials, "feed_key", counted)
    added, skipped = import_opml(store, write_opml([OPMLFeed(u, "") for u in urls]).encode())
    assert added == [f"https://new{n}.example/rss" for n in range(500)]
    assert len(skipped) == 600 and all(s.endswith("already listed") for s in skipped), skipped[:3]
    assert len(store.feeds.all()) == 1500
    store.close()
    assert calls <= 4 * (1000 + len(urls)), calls


async def test_a_feed_removed_from_the_command_line_leaves_the_scheduler(feed_server, tmp_path):
    # its job kept waking up every interval, for nothing, until a /reload
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>A</title></channel></rss>'
    feed_server.set("/a.xml", rss)
    feed_server.set("/b.xml", rss)
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\npath = "{tmp_path / "db.sqlite"}"\n\n[[feeds]]\nurl = "{feed_server.url("/a.xml")}"\n'
    )
    async with Core(load_config(path, env={}), sink=ConsoleSink(io.StringIO())) as core:
        await core.start()
        added = core.store.feeds.upsert(feed_server.url("/b.xml"), interval=0.2, origin="cli")
        assert (await core.reload()).feeds_added == 1
        assert core.store.feeds.remove(feed_server.url("/b.xml"))  # `feeds remove`
        for _ in range(100):
            if added.id not in core.scheduler.feed_ids():
                break
            await asyncio.sleep(0.05)
        assert added.id not in core.scheduler.feed_ids()
        assert len(core.scheduler.feed_ids()) == 1  # the config's feed is still polled
