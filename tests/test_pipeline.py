"""The pipeline's promises: nothing lost across a crash, full text for matched articles,
the optional LLM summary used (and the extractive one when it fails)."""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path

import pytest
from aiohttp import web

import bot.data
from bot.app import Core
from bot.config.loader import config_from_dict
from bot.config.model import Config
from bot.delivery.sinks import ConsoleSink
from bot.records import Article
from bot.service.chats import ChatInfo
from bot.service.subscriptions import subscribe
from storage.store import Store
from tests.helpers import STORY_PAGE, wait_until

TEASER_FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Wire</title><link>{base}/</link>
<item><title>North Korea and US envoys hold talks on denuclearisation</title>
<link>{base}/story.html</link><guid>story-1</guid>
<description>Envoys met.</description></item>
</channel></rss>"""


def make_config(tmp_path, feed_url: str, **extra):
    return config_from_dict(
        {
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "telegram": {"username": "test_bot"},
            "feeds": [{"url": feed_url, "name": "Wire"}],
            **extra,
        },
        env={},
    )


def subscribe_korea(store: Store, config) -> None:
    subscribe(store, config.topics, ChatInfo(chat_id=1), "korea-diplomacy")


async def test_articles_stored_before_a_crash_are_alerted_on_the_next_start(tmp_path):
    feed = (Path(bot.data.__file__).parent / "demo_feed.xml").as_uri()
    config = make_config(tmp_path, feed)
    store = Store.open(config.storage.path)
    subscribe_korea(store, config)
    registered = store.feeds.upsert(feed)
    # A crash right after storing: the article is in the database, its alert is not.
    store.articles.add_new(
        registered.id,
        [
            Article(
                id="k1",
                title="North Korea talks resume with US envoy in Seoul",
                summary="Talks on denuclearisation resumed.",
                link="https://news.example/k1",
            )
        ],
    )
    store.close()

    sink = ConsoleSink(io.StringIO())
    async with Core(config, sink=sink) as core:
        await core.start()
        await wait_until(lambda: sink.sent, what="the alert left over by the crash")
    assert len(sink.sent) == 1 and "North Korea talks resume" in sink.sent[0][1]


async def test_matched_teaser_gets_the_full_text_of_its_page(feed_server, tmp_path):
    base = feed_server.url("").rstrip("/")
    feed_server.set("/feed.xml", TEASER_FEED.format(base=base))
    feed_server.set("/story.html", STORY_PAGE, content_type="text/html; charset=utf-8")
    config = make_config(tmp_path, feed_server.url("/feed.xml"))
    store = Store.open(config.storage.path)
    subscribe_korea(store, config)
    sink = ConsoleSink(io.StringIO())
    async with Core(config, store=store, sink=sink, alert_on_first_poll=True) as core:
        await core.poll_all_once()
    [(_, message)] = sink.sent
    assert "Panmunjom" in message, message
    assert "Join our Telegram channel" not in message
    assert feed_server.hits("/story.html") == 1


async def test_full_text_can_be_switched_off_per_feed(feed_server, tmp_path):
    base = feed_server.url("").rstrip("/")
    feed_server.set("/feed.xml", TEASER_FEED.format(base=base))
    feed_server.set("/story.html", STORY_PAGE, content_type="text/html")
    config = config_from_dict(
        {
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "feeds": [{"url": feed_server.url("/feed.xml"), "full_text": False}],
        },
        env={},
    )
    store = Store.open(config.storage.path)
    subscribe_korea(store, config)
    sink = ConsoleSink(io.StringIO())
    async with Core(config, store=store, sink=sink, alert_on_first_poll=True) as core:
        await core.poll_all_once()
    assert len(sink.sent) == 1 and "Panmunjom" not in sink.sent[0][1]
    assert feed_server.hits("/story.html") == 0


async def llm_server(answer: str | None):
    """A local OpenAI-compatible endpoint: answers ``answer``, or 500 when None."""

    async def completions(request: web.Request) -> web.Response:
        if answer is None:
            return web.json_response({"error": "boom"}, status=500)
        return web.json_response(
            {"choices": [{"message": {"role": "assistant", "content": answer}}]}
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/v1"


async def run_with_llm(feed_server, tmp_path, answer: str | None) -> str:
    base = feed_server.url("").rstrip("/")
    feed_server.set("/feed.xml", TEASER_FEED.format(base=base))
    feed_server.set("/story.html", STORY_PAGE, content_type="text/html")
    runner, url = await llm_server(answer)
    try:
        config = make_config(
            tmp_path,
            feed_server.url("/feed.xml"),
            summary={"llm_base_url": url, "llm_model": "tiny"},
        )
        store = Store.open(config.storage.path)
        subscribe_korea(store, config)
        sink = ConsoleSink(io.StringIO())
        async with Core(config, store=store, sink=sink, alert_on_first_poll=True) as core:
            await core.poll_all_once()
    finally:
        await runner.cleanup()
    [(_, message)] = sink.sent
    return message


async def test_llm_summary_is_used_when_configured(feed_server, tmp_path):
    answer = "US and North Korean envoys met at Panmunjom and agreed to keep working on denuclearisation."
    assert answer in await run_with_llm(feed_server, tmp_path, answer)


async def test_llm_failure_falls_back_to_the_extractive_summary(feed_server, tmp_path):
    message = await run_with_llm(feed_server, tmp_path, None)
    assert "Panmunjom" in message


def test_a_key_that_comes_back_with_another_query_is_recompiled():
    from bot.matching.audience import Audience
    from storage.subscriptions import Subscription

    audience = Audience({})
    korea = Article(id="1", title="North Korea talks resume", summary="Envoys met in Seoul.")
    audience.load([Subscription(id=7, chat_id=1, topic_id="query", query="volcano")])
    assert audience.recipients(korea) == []
    # the same row id, reused after an unsubscribe, now holds another query
    audience.load([Subscription(id=7, chat_id=1, topic_id="query", query='"north korea" talks')])
    assert [r.chat_id for r in audience.recipients(korea)] == [1]


def _unprocessed(tmp_path: Path, articles: list[Article]) -> tuple[Config, Store]:
    """A store where chat 1 follows "north korea" and ``articles`` wait to be alerted."""
    feed = (Path(bot.data.__file__).parent / "demo_feed.xml").as_uri()
    config = make_config(tmp_path, feed)
    store = Store.open(config.storage.path)
    subscribe(store, config.topics, ChatInfo(chat_id=1), '"north korea"')
    store.articles.add_new(store.feeds.upsert(feed).id, articles)
    return config, store


async def test_an_article_that_fails_does_not_block_the_others(tmp_path, monkeypatch):
    config, store = _unprocessed(
        tmp_path,
        [
            Article(
                id="bad",
                title="North Korea story one that breaks the renderer",
                link="https://x.example/1",
            ),
            Article(
                id="good", title="North Korea story two renders fine", link="https://x.example/2"
            ),
        ],
    )
    async with Core(config, store=store, sink=ConsoleSink(io.StringIO())) as core:
        real = core.pipeline._render_for

        async def flaky(stored, recipients):
            if stored.article.id == "bad":
                raise RuntimeError("a bug on one odd article")
            return await real(stored, recipients)

        monkeypatch.setattr(core.pipeline, "_render_for", flaky)
        for _ in range(3):
            await core.pipeline.alert_unprocessed()
        assert [d.article_key for d in store.outbox.for_chat(1)] == [2]
        assert store.articles.unprocessed() == []  # given up after three passes, and logged


def _words(i: int) -> str:
    """Six words of article ``i``'s own (so that no two are one story)."""
    syllables = [f"{a}{b}" for a in "bcdfghklmnprstvz" for b in ("ora", "ime", "usk", "ant")]
    return " ".join(syllables[(i * 7 + k * 13) % len(syllables)] + str(i) for k in range(6))


async def test_articles_that_failed_once_and_then_went_through_are_not_remembered(
    tmp_path, monkeypatch
):
    # their count of failed passes was kept for the life of the process
    config, store = _unprocessed(
        tmp_path,
        [
            Article(id=f"a{i}", title=f"North Korea {_words(i)}", link=f"https://x.example/{i}")
            for i in range(100)
        ],
    )
    async with Core(config, store=store, sink=ConsoleSink(io.StringIO())) as core:
        real = core.pipeline._render_for
        failed: set[str] = set()

        async def fails_once(stored, recipients):  # a bug that hits each article once
            if stored.article.id not in failed:
                failed.add(stored.article.id)
                raise RuntimeError("a passing fault")
            return await real(stored, recipients)

        monkeypatch.setattr(core.pipeline, "_render_for", fails_once)
        await core.pipeline.alert_unprocessed()  # every one fails
        await core.pipeline.alert_unprocessed()  # every one goes through
        assert len(store.outbox.for_chat(1)) == 100
        assert core.pipeline._failures == {}


async def test_a_feed_that_moved_keeps_its_identity_across_restarts(feed_server, tmp_path):
    """A 301 makes the bot fetch from the new place; the config's URL stays the feed's
    identity, so a restart neither re-primes it nor drops what was published meanwhile."""
    demo = (Path(bot.data.__file__).parent / "demo_feed.xml").read_text()
    first = re.sub(
        r"\s*<item>.*?</item>",
        lambda m: "" if "demo-st-korea" in m.group(0) else m.group(0),
        demo,
        flags=re.S,
    )
    feed_server.set("/new.xml", first)
    feed_server.fault("/old.xml", "redirect", to="/new.xml", code=301)
    config = make_config(tmp_path, feed_server.url("/old.xml"))

    async def one_pass() -> ConsoleSink:
        store = Store.open(config.storage.path)
        subscribe_korea(store, config)
        sink = ConsoleSink(io.StringIO())
        async with Core(config, store=store, sink=sink) as core:
            await core.poll_all_once()
        return sink

    assert (await one_pass()).sent == []  # first poll: primed
    feed_server.set("/new.xml", demo)  # the Korea story is published while the bot is down
    sink = await one_pass()  # a restart
    assert len(sink.sent) == 1 and "North Korea talks" in sink.sent[0][1]
    store = Store.open(config.storage.path)
    [feed] = store.feeds.all()
    assert feed.url == feed_server.url("/old.xml") and feed.moved_to == feed_server.url("/new.xml")
    store.close()


async def test_two_feeds_with_the_same_article_at_once_fetch_its_page_once(
    feed_server, tmp_path, caplog
):
    import asyncio
    import logging

    from bot.pipeline import sync_config

    base = feed_server.url("").rstrip("/")
    feed_server.set("/a.xml", TEASER_FEED.format(base=base))
    feed_server.set("/b.xml", TEASER_FEED.format(base=base).replace("<title>Wire", "<title>B"))
    feed_server.set("/story.html", STORY_PAGE, content_type="text/html; charset=utf-8")
    # a slow page: the second feed's poll runs while the first one waits for it
    feed_server.fault("/story.html", "timeout", delay=0.5)
    config = config_from_dict(
        {
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "feeds": [{"url": feed_server.url("/a.xml")}, {"url": feed_server.url("/b.xml")}],
        },
        env={},
    )
    store = Store.open(config.storage.path)
    subscribe_korea(store, config)
    core = Core(config, store=store, sink=ConsoleSink(io.StringIO()), alert_on_first_poll=True)
    caplog.set_level(logging.INFO, logger="bot.pipeline")
    try:
        a, b = sync_config(store, config)
        first, second = await asyncio.gather(core.pipeline.poll(a), core.pipeline.poll(b))
    finally:
        await core.fetcher.aclose()
    assert feed_server.hits("/story.html") == 1
    # the feeds are parsed in worker processes: either may store the article first
    if first.new_articles == 0:
        (a, first), (b, second) = (b, second), (a, first)
    assert (first.new_articles, first.alerts) == (1, 1)
    assert (second.new_articles, second.alerts) == (0, 0)  # a copy: "Also: ..." on the alert
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.pipeline"]
    assert f"feed {a.url}: 1 new article, 1 alert" in lines
    assert f"feed {b.url}: 0 new articles, 0 alerts" in lines


async def test_core_as_a_context_manager_closes_its_parts_started_or_not(tmp_path):
    config = make_config(tmp_path, "https://wire.example/rss")
    async with Core(config, sink=ConsoleSink(io.StringIO())) as idle:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        idle.store.feeds.all()  # the database is closed
    async with Core(config, sink=ConsoleSink(io.StringIO())) as core:
        await core.start()
        assert core.scheduler.running
    assert not core.scheduler.running
    with pytest.raises(sqlite3.ProgrammingError):
        core.store.feeds.all()
    await core.stop()  # a second stop does nothing


UNCLOSED_CDATA = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>https://t.example/</link>
<item><title>One</title><link>https://t.example/1</link><description>first</description></item>
<item><title>Two</title><link>https://t.example/2</link><description><![CDATA[cut</description></item>
<item><title>Three</title><link>https://t.example/3</link><description>third</description></item>
<item><title>Four</title><link>https://t.example/4</link><description>fourth</description></item>
</channel></rss>"""


async def test_a_malformed_feed_that_grows_is_logged_once_per_kind_of_problem(
    tmp_path, feed_server, caplog
):
    """The item count (and the line of the fault) change as the feed grows: the same
    problem, logged once; `feeds list` shows the count of the last poll; another kind of
    problem is a new message."""
    import logging

    from bot.pipeline import sync_config

    feed_server.set("/broken.xml", UNCLOSED_CDATA)
    config = make_config(tmp_path, feed_server.url("/broken.xml"))
    store = Store.open(config.storage.path)
    core = Core(config, store=store, sink=ConsoleSink(io.StringIO()))
    caplog.set_level(logging.WARNING, logger="bot.pipeline")
    newer = b"<item><title>Zero</title><link>https://t.example/0</link></item>\n"
    grown = UNCLOSED_CDATA.replace(b"<item>", newer + b"<item>", 1)
    mismatched = grown.replace(b"<title>Zero</title>", b"<title>Zero</titel>")
    try:
        (feed,) = sync_config(store, config)
        for body in (UNCLOSED_CDATA, grown, UNCLOSED_CDATA, grown, mismatched):
            feed_server.set("/broken.xml", body)
            await core.pipeline.poll(store.feeds.get(feed.id))  # type: ignore[arg-type]
            if body is grown:
                assert store.feeds.get(feed.id).malformed.endswith("; 5 items read")  # type: ignore[union-attr]
    finally:
        await core.fetcher.aclose()
    warned = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warned) == 2, warned
    assert "unclosed CDATA section; 4 items read" in warned[0]
    assert "unclosed CDATA" not in warned[1]
    store.close()


async def test_a_reload_forgets_what_was_logged_of_the_malformed_feeds_it_removed(
    tmp_path, feed_server
):
    # which problems were logged, per feed, stayed for every feed ever polled
    from bot.config.reload import plan_reload
    from bot.pipeline import sync_config

    for i in range(20):
        feed_server.set(f"/broken{i}.xml", UNCLOSED_CDATA)
    feeds = [{"url": feed_server.url(f"/broken{i}.xml")} for i in range(20)]
    config = config_from_dict(
        {"storage": {"path": str(tmp_path / "db.sqlite")}, "feeds": feeds}, env={}
    )
    store = Store.open(config.storage.path)
    async with Core(config, store=store, sink=ConsoleSink(io.StringIO())) as core:
        for feed in sync_config(store, config):
            await core.pipeline.poll(feed)
        assert len(core.pipeline._malformed_logged) == 20
        fewer = config_from_dict(
            {"storage": {"path": str(tmp_path / "db.sqlite")}, "feeds": feeds[:2]}, env={}
        )
        assert (await core.apply_reload(plan_reload(config, fewer))).ok
        assert len(core.pipeline._malformed_logged) == 2


async def test_a_malformed_feed_is_reported_once_and_its_later_items_recovered(
    tmp_path, feed_server, caplog
):
    import logging

    from click.testing import CliRunner

    from bot.cli import cli
    from bot.pipeline import sync_config

    feed_server.set("/broken.xml", UNCLOSED_CDATA)
    config = make_config(tmp_path, feed_server.url("/broken.xml"))
    store = Store.open(config.storage.path)
    core = Core(config, store=store, sink=ConsoleSink(io.StringIO()))
    caplog.set_level(logging.WARNING, logger="bot.pipeline")
    try:
        (feed,) = sync_config(store, config)
        result = await core.pipeline.poll(feed)
        feed_server.set("/broken.xml", UNCLOSED_CDATA.replace(b"fourth", b"4th"))  # changed
        await core.pipeline.poll(store.feeds.get(feed.id))
    finally:
        await core.fetcher.aclose()
    assert result.new_articles == 4  # the two items after the unclosed CDATA too
    warned = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warned) == 1 and "line 7: unclosed CDATA section; 4 items read" in warned[0]
    store.close()
    toml = tmp_path / "config.toml"
    toml.write_text(f'[storage]\npath = "{tmp_path / "db.sqlite"}"\n')
    listed = CliRunner().invoke(cli, ["--config", str(toml), "feeds", "list"])
    assert "malformed: line 7: unclosed CDATA section; 4 items read" in listed.output
