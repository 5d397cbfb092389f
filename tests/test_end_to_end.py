"""The first alert, end to end: real python-telegram-bot against the fake Bot API,
real HTTP to a local feed server, a real SQLite file, the real scheduler."""

from __future__ import annotations

from bot.app import Core
from bot.config.loader import config_from_dict
from storage.store import Store
from tests.helpers import (
    TOKEN,
    VOLCANOES,
    alerts_to,
    demo_feed,
    e2e_config,
    feed_with_items,
    wait_until,
)

ALICE = 111  # follows korea-diplomacy
BOB = 222  # follows another topic, which none of the stories matches
OTHER_TOPIC = VOLCANOES


async def test_korea_story_reaches_only_its_subscriber_once(telegram_api, feed_server, tmp_path):
    api = telegram_api
    feed_server.set("/asia.xml", feed_with_items(lambda item: "demo-chip-rally" in item))
    feed_url = feed_server.url("/asia.xml")
    db_path = tmp_path / "newsalert.db"
    config = e2e_config(api, feed_url, db_path)
    other_topic = OTHER_TOPIC["id"]

    async with Core(config) as core:
        await core.start()
        api.inject_message(ALICE, "/subscribe korea-diplomacy", user_id=ALICE, username="alice")
        api.inject_message(BOB, f"/subscribe {other_topic}", user_id=BOB, username="bob")
        await wait_until(
            lambda: api.sent_messages(ALICE) and api.sent_messages(BOB), what="replies"
        )
        assert "korea-diplomacy" in api.sent_messages(ALICE)[0]["text"]

        # The first poll records what is there without alerting.
        await wait_until(
            lambda: (f := core.store.feeds.get_by_url(feed_url)) and f.primed, what="prime"
        )
        assert alerts_to(api, ALICE) == [] and alerts_to(api, BOB) == []

        # The feed publishes the seed story and unrelated ones.
        feed_server.set("/asia.xml", demo_feed())
        await wait_until(lambda: alerts_to(api, ALICE), what="the Korea alert")
        polls = feed_server.hits("/asia.xml")
        await wait_until(lambda: feed_server.hits("/asia.xml") >= polls + 2, what="two more polls")
        await wait_until(
            lambda: core.store.outbox.counts().get("pending", 0) == 0, what="empty outbox"
        )

    alerts = alerts_to(api, ALICE)
    assert len(alerts) == 1, [a["text"] for a in alerts]
    alert = alerts[0]
    text = alert["text"]
    assert alert["parse_mode"] == "HTML"
    assert "Top US, South Korean officials seek to drive momentum in North Korea talks" in text
    # canonical link: tracking parameters removed
    assert 'href="https://www.straitstimes.com/asia/east-asia/top-us-south-korean-officials' in text
    assert "utm_source" not in text
    assert "denuclearisation" in text.lower()
    assert (
        "Share @newsalert_test_bot on Telegram with friends who want the latest breaking news"
        in text
    )
    assert "Join ST's Telegram channel" not in text and "Join ST&#x27;s" not in text
    assert "PHOTO: REUTERS" not in text
    assert alerts_to(api, BOB) == []

    # A restart on the same database sends nothing again.
    sent_before = len(api.sent_messages())
    async with Core(e2e_config(api, feed_url, db_path)) as core:
        await core.start()
        polls = feed_server.hits("/asia.xml")
        await wait_until(
            lambda: feed_server.hits("/asia.xml") >= polls + 2, what="polls after restart"
        )
    assert len(api.sent_messages()) == sent_before
    store = Store.open(db_path)
    try:
        assert [d.state for d in store.outbox.for_chat(ALICE)] == ["sent"]
        assert store.outbox.for_chat(BOB) == []
    finally:
        store.close()


async def test_command_menu_is_set_and_unknown_topic_is_explained(
    telegram_api, feed_server, tmp_path
):
    api = telegram_api
    feed_server.set("/asia.xml", demo_feed())
    async with Core(e2e_config(api, feed_server.url("/asia.xml"), tmp_path / "db.sqlite")) as core:
        await core.start()
        api.inject_message(ALICE, "/subscribe no-such-topic", user_id=ALICE)
        api.inject_message(BOB, "/subscribe", user_id=BOB)
        await wait_until(
            lambda: api.sent_messages(ALICE) and api.sent_messages(BOB), what="replies"
        )
    commands = api.calls_to("setMyCommands")
    assert commands, "the command menu was not set"
    assert "There is no topic “no-such-topic”" in api.sent_messages(ALICE)[0]["text"]
    assert "/subscribe korea-diplomacy" in api.sent_messages(BOB)[0]["text"]


async def test_configured_channels_get_their_topics_with_their_own_footer(
    telegram_api, feed_server, tmp_path
):
    api = telegram_api
    api.add_chat(-100777, "channel", title="Korea Watch", username="korea_watch")
    feed_server.set("/asia.xml", demo_feed())
    config = config_from_dict(
        {
            "telegram": {"token": TOKEN, "base_url": api.base_url, "poll_timeout": "1s"},
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "polling": {"jitter": 0},
            "alerts": {"footer": "Global footer."},
            "feeds": [{"url": feed_server.url("/asia.xml"), "interval": "1s"}],
            "topics": [OTHER_TOPIC],
            "channels": [
                {
                    "chat_id": "@korea_watch",
                    "topics": ["korea-diplomacy"],
                    "footer": "Join @korea_watch for more.",
                },
                {"chat_id": -100888, "topics": ["korea-diplomacy"]},
                {"chat_id": -100999, "topics": ["volcanoes"]},
            ],
        },
        env={},
    )
    async with Core(config, alert_on_first_poll=True) as core:
        await core.start()
        await wait_until(
            lambda: alerts_to(api, -100777) and alerts_to(api, -100888), what="channel alerts"
        )
    [own] = alerts_to(api, -100777)
    assert own["text"].endswith("Join @korea_watch for more.")
    [other] = alerts_to(api, -100888)
    assert other["text"].endswith("Global footer.")
    assert alerts_to(api, -100999) == []
