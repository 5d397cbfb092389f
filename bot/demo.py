"""``newsalert demo``: the whole pipeline once, offline, on the bundled sample feed."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from importlib import resources
from pathlib import Path

import click

from bot.app import Core
from bot.config.loader import config_from_dict
from bot.delivery.sinks import ConsoleSink
from bot.service.chats import ChatInfo
from bot.service.subscriptions import subscribe
from bot.text import plural
from storage.store import Store

DEMO_CHATS = (
    (1001, "alice", "korea-diplomacy"),
    (1002, "bob", "iran-nuclear"),
)


async def run_demo(*, keep_db: str | None = None, raw: bool = False) -> int:
    """Run one pass over the demo feed and print the alerts as a reader sees them (``raw``:
    the HTML that is sent); returns the exit status."""
    with contextlib.ExitStack() as stack:
        feed_path = stack.enter_context(
            resources.as_file(resources.files("bot.data") / "demo_feed.xml")
        )
        if keep_db:
            db_path = Path(keep_db)
        else:
            db_path = (
                Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="newsalert-demo-")))
                / "demo.db"
            )
        config = config_from_dict(
            {
                "storage": {"path": str(db_path)},
                "telegram": {"username": "newsalert_demo_bot"},
                "feeds": [{"url": feed_path.resolve().as_uri(), "name": "Demo world news"}],
            },
            env={},
        )
        store = Store.open(db_path)
        chats = []
        for chat_id, name, wanted in DEMO_CHATS:
            topic_id = (
                wanted
                if wanted in config.topics
                else next(t for t in sorted(config.topics) if t != "korea-diplomacy")
            )
            subscribe(
                store,
                config.topics,
                ChatInfo(chat_id=chat_id, username=name, title=name.title()),
                topic_id,
            )
            chats.append((chat_id, name, topic_id))
        # the alerts are the output; the level is given back (a caller in the same process)
        bot_logger = logging.getLogger("bot")
        stack.callback(bot_logger.setLevel, bot_logger.level)
        bot_logger.setLevel(logging.WARNING)
        sink = ConsoleSink(raw=raw)
        core = Core(config, store=store, sink=sink, alert_on_first_poll=True)
        click.echo("newsalert demo: offline, bundled sample feed, temporary database, console sink")
        for chat_id, name, topic_id in chats:
            click.echo(f"  chat {chat_id} ({name}) follows {topic_id}")
        click.echo("")
        try:
            results = await core.poll_all_once()
        finally:
            await core.fetcher.aclose()
            await core.workers.aclose()
        articles = sum(r.new_articles for r in results)
        errors = [r.error for r in results if r.error]
        click.echo("─" * 60)
        # new articles: on a kept database the sample is read again but nothing is new
        click.echo(
            f"{plural(articles, 'new article')}, {plural(len(sink.sent), 'alert')} sent"
            + (" (printed above)." if sink.sent else ".")
        )
        for chat_id, name, topic_id in chats:
            got = sum(1 for c, _ in sink.sent if c == chat_id)
            click.echo(f"  {name} ({topic_id}): {got} alert{'s' if got != 1 else ''}")
        if keep_db and not articles and not errors:
            click.echo(
                f"{keep_db} holds the sample's articles already (an article is alerted on "
                "once); remove the file, or give --keep-db a new one, to see the alerts again."
            )
        store.close()
        for error in errors:
            click.echo(f"error: {error}", err=True)
        return 1 if errors else 0
