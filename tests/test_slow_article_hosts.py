"""One slow article host delays no other feed's alerts: the pages of a batch are fetched
at once under one deadline (``fetch.full_text_deadline``), and an article whose page is not
there by then is alerted on from its feed's own text."""

from __future__ import annotations

import asyncio
import io

from bot.app import Core
from bot.config.loader import config_from_dict
from bot.delivery.sinks import ConsoleSink
from bot.service.chats import ChatInfo
from bot.service.subscriptions import subscribe
from storage.store import Store
from tests.fakes.feed_server import FeedServer
from tests.helpers import STORY_PAGE

HEADLINES = [
    "North Korea fires missile as US envoy lands in Seoul",
    "Kim Jong Un hosts Chinese delegation in Pyongyang",
    "South Korea and Japan discuss sanctions on the North",
    "Panmunjom talks resume after months of silence",
    "US and South Korea scale back joint military drills",
    "Pyongyang warns Washington over denuclearisation deadline",
    "Moon Jae-in proposes rail link across the DMZ",
    "North Korean diplomats visit Hanoi ahead of a summit",
]
ITEM = """<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>
<description>{text}</description></item>"""


def feed(base: str, items: list[tuple[str, str, str, str]]) -> str:
    body = "".join(ITEM.format(guid=g, title=t, link=link, text=x) for g, t, link, x in items)
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title><link>{base}/</link>'
        f"{body}</channel></rss>"
    )


async def test_eight_links_to_a_host_that_never_answers_do_not_hold_up_another_feed(tmp_path):
    async with FeedServer() as slow, FeedServer() as fast:
        slow_base, fast_base = slow.url("").rstrip("/"), fast.url("").rstrip("/")
        stories = [
            (
                f"s{n}",
                HEADLINES[n],
                f"{slow_base}/page{n}",
                "Envoys met.",
            )
            for n in range(8)
        ]
        for n in range(8):
            slow.fault(f"/page{n}", "timeout", delay=60)
        slow.set("/feed.xml", feed(slow_base, stories))
        fast.set(
            "/feed.xml",
            feed(fast_base, [("f1", "Seoul and Pyongyang agree to denuclearisation talks",
                              f"{fast_base}/story.html", "Talks agreed.")]),
        )  # fmt: skip
        fast.set("/story.html", STORY_PAGE, content_type="text/html")
        config = config_from_dict(
            {
                "storage": {"path": str(tmp_path / "db.sqlite")},
                "fetch": {"read_timeout": "20s", "full_text_deadline": "1s"},
                "feeds": [
                    {"url": slow.url("/feed.xml"), "name": "Slow"},
                    {"url": fast.url("/feed.xml"), "name": "Fast"},
                ],
            },
            env={},
        )
        store = Store.open(config.storage.path)
        subscribe(store, config.topics, ChatInfo(chat_id=1), "korea-diplomacy")
        sink = ConsoleSink(io.StringIO())
        core = Core(config, store=store, sink=sink, alert_on_first_poll=True)
        try:
            # before: eight 20 s read timeouts one after the other; now one 1 s deadline
            await asyncio.wait_for(core.poll_all_once(), timeout=30)
        finally:
            await core.fetcher.aclose()
            store.close()
    texts = [text for _, text in sink.sent]
    assert len(texts) == 9
    assert sum("Envoys met." in t for t in texts) == 8  # from the feed's own text
    assert any("Panmunjom" in t for t in texts)  # the fast host's full text still came
