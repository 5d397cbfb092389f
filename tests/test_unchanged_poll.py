"""An unchanged poll (a 304, or the same body again) is the cheap path: at 5,000 feeds
it is most of the polls (docs/SCALING.md).  It touches the feed's own row and nothing
else: no parse, no articles, no stories, no subscriptions, no outbox."""

from __future__ import annotations

import re

import pytest

from bot.config.loader import config_from_dict
from bot.ingest.fetch import Fetcher
from bot.ops.metrics import Metrics
from bot.pipeline import Pipeline
from bot.workers import WorkerPool
from storage.store import Store
from tests.fakes.feed_server import FeedServer
from tests.helpers import ERUPTION, VOLCANOES, follow_volcanoes, rss

TABLES = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+\"?(\w+)", re.IGNORECASE)


def _tables(statements: list[str]) -> set[str]:
    return {t.lower() for s in statements for t in TABLES.findall(s)}


@pytest.mark.parametrize("conditional", [True, False], ids=["304", "same-body"])
async def test_an_unchanged_poll_reads_and_writes_only_the_feeds_row(tmp_path, conditional):
    metrics = Metrics()
    store = Store.open(tmp_path / "bot.db")
    follow_volcanoes(store, 1)
    async with FeedServer() as server, Fetcher() as fetcher:
        server.set("/feed.xml", rss([("v-1", *ERUPTION)]), conditional=conditional)
        config = config_from_dict(
            {"storage": {"path": str(tmp_path / "bot.db")}, "topics": [VOLCANOES]}, env={}
        )
        pipeline = Pipeline(store, config, fetcher, workers=WorkerPool("inline", counter=metrics))
        feed = store.feeds.upsert(server.url("/feed.xml"))
        assert (await pipeline.poll(feed)).status == "primed"
        # a second poll that brings news, so that stories and the audience are in use
        server.set(
            "/feed.xml",
            rss(
                [("v-2", "Lava flows reach the coast", "Lava reached the sea."), ("v-1", *ERUPTION)]
            ),
            conditional=conditional,
        )
        news = await pipeline.poll(store.feeds.get(feed.id))  # type: ignore[arg-type]
        assert news.status == "new-articles" and news.alerts == 1, news
        parsed = metrics.registry.get_sample_value(
            "newsalert_worker_tasks_total", {"task": "parse_feed", "mode": "inline"}
        )
        assert parsed == 2

        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        try:
            result = await pipeline.poll(store.feeds.get(feed.id))  # type: ignore[arg-type]
        finally:
            store.db.conn.set_trace_callback(None)
    store.close()
    assert result.status == ("not-modified" if conditional else "unchanged"), result
    assert statements, "the poll recorded nothing"
    assert _tables(statements) == {"feeds"}, statements
    # no parse: the body was not handed to the worker pool again
    assert (
        metrics.registry.get_sample_value(
            "newsalert_worker_tasks_total", {"task": "parse_feed", "mode": "inline"}
        )
        == 2
    )


def test_the_table_names_are_read_from_the_statements():
    """The helper above sees the tables a statement names (else the test proves nothing)."""
    assert _tables(
        [
            "SELECT * FROM feeds WHERE id = ?",
            "INSERT INTO story_articles (a) VALUES (1)",
            'UPDATE "deliveries" SET x = 1',
            "SELECT a.x FROM articles a JOIN stories s ON s.id = a.story",
        ]
    ) == {"feeds", "story_articles", "deliveries", "articles", "stories"}
