"""Issue 16 end to end, through the real Core and python-telegram-bot against the fake Bot
API and a local feed server: the picture as the link preview, alerts into a forum topic (and
to General when the topic is closed), breaking news by velocity, local times."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from bot.app import Core
from bot.config.loader import config_from_dict
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers import TOKEN, VOLCANOES, alerts_to, wait_until

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def item(
    guid: str,
    title: str,
    text: str,
    *,
    site: str = "https://wire.example",
    image: str = "",
    creator: str = "",
    when: datetime = WHEN,
) -> str:
    extra = f"<media:content url={quoteattr(image)} medium='image'/>" if image else ""
    extra += f"<dc:creator>{escape(creator)}</dc:creator>" if creator else ""
    return (
        f"<item><guid>{escape(guid)}</guid><title>{escape(title)}</title>"
        f"<link>{site}/{escape(guid)}</link><description>{escape(text)}</description>"
        f"<pubDate>{format_datetime(when)}</pubDate>{extra}</item>"
    )


def feed(title: str, *items: str, site: str = "https://wire.example") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{escape(title)}</title><link>{site}</link><description>news</description>"
        + "".join(items)
        + "</channel></rss>"
    )


CALM = item("calm-1", "Markets steady as traders await data", "Shares were flat.")
ERUPTION = item(
    "eruption-1",
    "Volcano erupts on Indonesian island, thousands of villagers flee",
    "An Indonesian volcano erupted on Sunday, spewing ash five kilometres into the sky.",
    image="https://img.wire.example/eruption.jpg?w=1200&sig=abc",
)


def config(api: FakeBotAPI, urls: list[tuple[str, str]], db: Path, **extra: Any) -> Any:
    data: dict[str, Any] = {
        "telegram": {"token": TOKEN, "base_url": api.base_url, "poll_timeout": "1s"},
        "storage": {"path": str(db)},
        "polling": {"jitter": 0},
        "fetch": {"full_text": False},
        "delivery": {"per_chat_per_second": 10, "per_chat_burst": 5, "retry_backoff": "0.2s"},
        "feeds": [{"url": url, "name": name, "interval": "1s"} for url, name in urls],
        "topics": [VOLCANOES],
    }
    for section, values in extra.items():
        data[section] = {**data.get(section, {}), **values} if isinstance(values, dict) else values
    return config_from_dict(data, env={})


@asynccontextmanager
async def running(
    api: FakeBotAPI, feed_server: FeedServer, tmp_path: Path, feeds: int = 1, **extra: Any
) -> AsyncIterator[Core]:
    """A running bot over ``feeds`` feeds (/f0.xml ...), each primed with a calm story."""
    urls = []
    for n in range(feeds):
        feed_server.set(f"/f{n}.xml", feed(f"Outlet {n}", CALM))
        urls.append((feed_server.url(f"/f{n}.xml"), f"Outlet {n}"))
    core = Core(config(api, urls, tmp_path / "bot.db", **extra))
    await core.start()
    try:
        for url, _ in urls:
            await wait_until(
                lambda url=url: (f := core.store.feeds.get_by_url(url)) and f.primed,
                what="first poll",
            )
        yield core
    finally:
        await core.stop()


def follow(core: Core, chat_id: int, chat_type: str = "private") -> None:
    core.store.chats.ensure(chat_id, type=chat_type)
    core.store.subscriptions.add(chat_id, "volcanoes")


async def test_an_item_with_a_picture_is_sent_with_it_as_a_large_preview_above_the_text(
    feed_server, tmp_path
):
    async with FakeBotAPI(token=TOKEN) as api, running(api, feed_server, tmp_path) as core:
        follow(core, 41)
        core.store.chats.ensure(42)
        core.store.subscriptions.add(42, "volcanoes")
        core.store.chats.set_image(42, "off")
        feed_server.set("/f0.xml", feed("Outlet 0", CALM, ERUPTION))
        await wait_until(lambda: alerts_to(api, 41) and alerts_to(api, 42), what="two alerts")
    [alert] = alerts_to(api, 41)
    assert alert["link_preview_options"] == {
        "url": "https://img.wire.example/eruption.jpg?w=1200&sig=abc",
        "prefer_large_media": True,
        "show_above_text": True,
    }
    [plain] = alerts_to(api, 42)  # this chat chose no pictures: today's behaviour
    assert plain["link_preview_options"] == {"is_disabled": True}


FORUM = -1007700


def forum_api() -> FakeBotAPI:
    api = FakeBotAPI(token=TOKEN)
    api.add_chat(FORUM, "supergroup", title="Volcano forum", is_forum=True)
    api.set_chat_member(FORUM, 1001, "administrator")  # the default user of group messages
    return api


async def test_subscribe_inside_a_forum_topic_posts_the_alerts_there(feed_server, tmp_path):
    async with forum_api() as api, running(api, feed_server, tmp_path) as core:
        api.inject_message(
            FORUM, "/subscribe volcanoes", chat_type="supergroup", message_thread_id=77
        )
        [reply] = await api.wait_for_messages(FORUM, 1)
        assert reply["message_thread_id"] == 77  # the answer is in the topic too
        await wait_until(lambda: core.store.subscriptions.for_chat(FORUM), what="subscribed")
        assert core.store.subscriptions.for_chat(FORUM)[0].thread_id == 77
        feed_server.set("/f0.xml", feed("Outlet 0", CALM, ERUPTION))
        await wait_until(lambda: alerts_to(api, FORUM), what="the alert")
        before = len(api.sent_messages(FORUM))
        api.inject_message(FORUM, "/list", chat_type="supergroup", message_thread_id=77)
        await api.wait_for_messages(FORUM, before + 1)
    [alert] = alerts_to(api, FORUM)
    assert alert["message_thread_id"] == 77
    assert api.message(FORUM, alert["message_id"])["is_topic_message"] is True
    assert "(posted in a forum topic)" in api.sent_messages(FORUM)[-1]["text"]


async def test_a_command_in_a_topic_the_bot_may_not_post_in_is_answered_in_general(
    feed_server, tmp_path
):
    async with forum_api() as api, running(api, feed_server, tmp_path) as core:
        api.close_topic(FORUM, 77)  # an admin may still write there; the bot may not
        api.inject_message(
            FORUM, "/subscribe volcanoes", chat_type="supergroup", message_thread_id=77
        )
        [reply] = await api.wait_for_messages(FORUM, 1)
        [sub] = core.store.subscriptions.for_chat(FORUM)
    assert "message_thread_id" not in reply  # in General, not lost
    assert "now follow “Volcanoes”" in reply["text"]
    assert sub.thread_id == 77  # alerts try the topic, and go to General while it is closed
    refused = [c for c in api.calls_to("sendMessage") if c.error_code == 400]
    assert len(refused) == 1  # the topic once, then General: no apology for an error


async def test_a_closed_topic_sends_to_general_once_tells_the_admins_and_keeps_the_subscription(
    feed_server, tmp_path
):
    second = item("eruption-2", "Lava reaches the sea in Hawaii", "Kilauea lava met the ocean.")
    third = item("eruption-3", "Etna eruption shuts Catania airport", "Flights were diverted.")
    async with forum_api() as api, running(api, feed_server, tmp_path) as core:
        api.inject_message(
            FORUM, "/subscribe volcanoes", chat_type="supergroup", message_thread_id=77
        )
        await wait_until(lambda: core.store.subscriptions.for_chat(FORUM), what="subscribed")
        # the reply goes into the topic after the subscription is stored: close it only then
        await wait_until(lambda: api.sent_messages(FORUM), what="the reply in the topic")
        api.close_topic(FORUM, 77)
        feed_server.set("/f0.xml", feed("Outlet 0", CALM, ERUPTION))
        await wait_until(lambda: alerts_to(api, FORUM), what="the alert in General")
        await wait_until(lambda: len(api.sent_messages(FORUM)) == 3, what="the admins' notice")
        feed_server.set("/f0.xml", feed("Outlet 0", CALM, ERUPTION, second))
        await wait_until(lambda: len(alerts_to(api, FORUM)) == 2, what="the second alert")
        api.open_topic(FORUM, 77)  # reopened: alerts go back into the topic
        feed_server.set("/f0.xml", feed("Outlet 0", CALM, ERUPTION, second, third))
        await wait_until(lambda: len(alerts_to(api, FORUM)) == 3, what="the third alert")
        await wait_until(lambda: not core.store.chats.topic_faults(FORUM), what="fault cleared")
        await wait_until(
            lambda: [r.state for r in core.store.outbox.for_chat(FORUM)] == ["sent"] * 3,
            what="all marked sent",
        )
        [sub] = core.store.subscriptions.for_chat(FORUM)
        assert sub.thread_id == 77  # kept
        assert core.store.chats.get(FORUM).active
        rows = core.store.outbox.for_chat(FORUM)
    first, later, back = alerts_to(api, FORUM)
    assert "message_thread_id" not in first and "message_thread_id" not in later
    assert back["message_thread_id"] == 77
    notices = [m for m in api.sent_messages(FORUM) if "admins" in m["text"]]
    assert len(notices) == 1 and "closed" in notices[0]["text"]
    assert [r.state for r in rows] == ["sent", "sent", "sent"]
    assert "topic 77 refused" in rows[0].reason and "topic_closed" in rows[0].reason.lower()
    refused = [c for c in api.calls_to("sendMessage") if c.error_code == 400]
    assert len(refused) == 2  # each alert tried the topic once, then went to General once


async def test_a_configured_channel_thread_id_posts_into_that_topic(feed_server, tmp_path):
    async with forum_api() as api:
        api.open_topic(FORUM, 5)
        channels = [{"chat_id": FORUM, "topics": ["volcanoes"], "thread_id": 5}]
        async with running(api, feed_server, tmp_path, channels=channels):
            feed_server.set("/f0.xml", feed("Outlet 0", CALM, ERUPTION))
            await wait_until(lambda: alerts_to(api, FORUM), what="the alert")
    assert alerts_to(api, FORUM)[0]["message_thread_id"] == 5


async def test_a_chat_in_seoul_sees_kst_times_in_alerts_and_latest_newest_first(
    feed_server, tmp_path
):
    older = item(
        "eruption-0",
        "Lava flows toward a village on La Palma",
        "The eruption went on.",
        when=WHEN - timedelta(hours=3),
    )
    async with FakeBotAPI(token=TOKEN) as api, running(api, feed_server, tmp_path):
        api.inject_message(51, "/timezone Asia/Seoul")
        api.inject_message(51, "/subscribe volcanoes")
        await api.wait_for_messages(51, 2)
        # the feed lists the newer story first, as feeds do
        feed_server.set("/f0.xml", feed("Outlet 0", CALM, ERUPTION, older))
        await wait_until(lambda: len(alerts_to(api, 51)) == 2, what="two alerts")
        api.inject_message(51, "/latest")
        await api.wait_for_messages(51, 5)
    texts = {m["text"].split("\n")[0]: m["text"] for m in alerts_to(api, 51)}
    assert "<i>Outlet 0 · 1 May 2024 21:00 KST</i>" in next(
        t for title, t in texts.items() if "Indonesian" in title
    )
    latest = api.sent_messages(51)[-1]["text"]
    assert "1 May 2024 21:00 KST" in latest and "1 May 2024 18:00 KST" in latest
    assert latest.index("Indonesian") < latest.index("La Palma")  # newest first


async def test_an_alert_from_a_personal_filter_says_what_matched(feed_server, tmp_path):
    async with FakeBotAPI(token=TOKEN) as api, running(api, feed_server, tmp_path):
        api.inject_message(61, "/subscribe volcano indonesian")
        await api.wait_for_messages(61, 1)
        feed_server.set("/f0.xml", feed("Outlet 0", CALM, ERUPTION))
        await wait_until(lambda: alerts_to(api, 61), what="the alert")
    [alert] = alerts_to(api, 61)
    assert "\nMatched: volcano, indonesian\n" in alert["text"]
    assert "Topic:" not in alert["text"]


OUTLETS = [f"Outlet {n}" for n in range(4)]


async def test_four_outlets_within_a_minute_make_one_alert_marked_breaking(feed_server, tmp_path):
    async with FakeBotAPI(token=TOKEN) as api, running(api, feed_server, tmp_path, feeds=4) as core:
        follow(core, 71)
        for n in range(4):  # the same story, each outlet with its own link
            site = f"https://outlet{n}.example"
            story = item(
                "eruption-1",
                "Volcano erupts on Indonesian island, thousands of villagers flee",
                "An Indonesian volcano erupted on Sunday, spewing ash five kilometres into the sky.",
                site=site,
            )
            feed_server.set(f"/f{n}.xml", feed(f"Outlet {n}", CALM, story, site=site))
            if n == 0:
                await wait_until(lambda: alerts_to(api, 71), what="the first alert")

        def shown() -> str:
            [alert] = alerts_to(api, 71)
            return api.message(71, alert["message_id"])["text"]

        def breaking_names(text: str) -> list[str]:
            head = text.split("\n", 1)[0]  # the outlets in the order their copies came
            return head.removeprefix("🔴 Breaking · ").split(", ") if "Breaking" in head else []

        await wait_until(
            lambda: sorted(breaking_names(shown())) == OUTLETS,
            what="the edit marked Breaking, naming all four",
        )
        [row] = core.store.outbox.for_chat(71)
        assert row.breaking
    assert len(alerts_to(api, 71)) == 1  # one alert, edited
    names = breaking_names(shown())
    assert names[0] == "Outlet 0" and sorted(names) == OUTLETS  # the first copy's outlet first
    edits = api.calls_to("editMessageText")
    assert (
        edits[-1].params["text"].startswith(f"🔴 <b>Breaking</b> · {', '.join(names)}\n<b><a href=")
    )
    assert "Also:" not in edits[-1].params["text"]


async def test_a_channels_template_shapes_its_alerts(feed_server, tmp_path):
    async with FakeBotAPI(token=TOKEN) as api:
        api.add_chat(-1008800, "channel", title="Headlines")
        channels = [{"chat_id": -1008800, "topics": ["volcanoes"], "template": "title, time"}]
        async with running(api, feed_server, tmp_path, channels=channels):
            feed_server.set("/f0.xml", feed("Outlet 0", CALM, ERUPTION))
            await wait_until(lambda: api.sent_messages(-1008800), what="the alert")
    [alert] = api.sent_messages(-1008800)
    assert alert["text"] == (
        '<b><a href="https://wire.example/eruption-1">'
        "Volcano erupts on Indonesian island, thousands of villagers flee</a></b>\n"
        "<i>1 May 2024 12:00 UTC</i>"
    )
    assert "reply_markup" not in alert  # no button in this template
    assert alert["link_preview_options"] == {"is_disabled": True}  # nor the picture


async def test_a_fetched_pages_og_image_is_the_picture_when_the_feed_has_none(
    feed_server, tmp_path
):
    site = feed_server.url("").rstrip("/")
    page = (
        "<html><head><meta property='og:image' content='/pics/lava.jpg'>"
        "<title>Volcano</title></head><body><article>"
        + "<p>The volcano erupted on Sunday and villagers fled the ash and the lava.</p>" * 12
        + "</article></body></html>"
    )
    feed_server.set("/news/eruption-1", page, content_type="text/html; charset=utf-8")
    teaser = item(
        "eruption-1",
        "Volcano erupts on Indonesian island, thousands of villagers flee",
        "An Indonesian volcano erupted.",
        site=f"{site}/news",
    )
    async with (
        FakeBotAPI(token=TOKEN) as api,
        running(api, feed_server, tmp_path, fetch={"full_text": True}) as core,
    ):
        follow(core, 81)
        feed_server.set("/f0.xml", feed("Outlet 0", CALM, teaser, site=site))
        await wait_until(lambda: alerts_to(api, 81), what="the alert")
    [alert] = alerts_to(api, 81)
    assert alert["link_preview_options"]["url"] == f"{site}/pics/lava.jpg"
    assert alert["link_preview_options"]["show_above_text"] is True


async def test_reload_turning_the_feedback_buttons_off_takes_them_off_the_next_alerts(
    feed_server, tmp_path
):
    from bot.config.loader import load_config

    feed_server.set("/f0.xml", feed("Outlet 0", CALM))
    path = tmp_path / "config.toml"

    def write(alerts: str) -> None:
        path.write_text(
            f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{api.base_url}"\npoll_timeout = "1s"\n'
            f'[storage]\npath = "{tmp_path / "bot.db"}"\n[polling]\njitter = 0\n'
            "[fetch]\nfull_text = false\n[alerts]\n" + alerts + "\n"
            f'[[feeds]]\nurl = "{feed_server.url("/f0.xml")}"\nname = "Outlet 0"\ninterval = "1s"\n'
            '[[topics]]\nid = "volcanoes"\nname = "Volcanoes"\nquery = "volcano OR eruption"\n'
        )

    async with FakeBotAPI(token=TOKEN) as api:
        write("feedback = true")
        async with Core(load_config(path)) as core:
            await core.start()
            url = feed_server.url("/f0.xml")
            await wait_until(lambda: (f := core.store.feeds.get_by_url(url)) and f.primed)
            follow(core, 61)
            write("feedback = false")
            outcome = await core.reload()
            feed_server.set("/f0.xml", feed("Outlet 0", CALM, ERUPTION))
            await wait_until(lambda: alerts_to(api, 61), what="the alert")
    assert outcome.ok
    [alert] = alerts_to(api, 61)
    rows = alert.get("reply_markup", {}).get("inline_keyboard", [])
    assert [button["text"] for row in rows for button in row] == ["Read"]  # no 👍 / 👎 / ❔
