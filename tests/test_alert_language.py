"""Alerts and digests in the chat's language: the topic line, the "Read" button, the "Also:"
line, digest headings and the default footer are Korean for a Korean chat, English for the
rest; a footer someone configured stays as written."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Bot

from bot.app import Core
from bot.delivery.digest import digest_heading, make_due_digests
from bot.delivery.labels import alert_labels
from bot.delivery.render import (
    AlertLabels,
    DigestLine,
    also_line,
    choose_footer,
    render_alert,
    render_digest,
    with_also,
)
from bot.delivery.sender import Sender
from bot.delivery.telegram_sink import TelegramSink
from bot.records import Article, Summary, Topic, utcnow
from bot.service import settings as chat_settings
from storage.chats import Chat
from storage.store import Store
from tests.chatbot import running_bot
from tests.fakes.telegram_api import validate_telegram_html
from tests.helpers import (
    ERUPTION,
    QUIET_FEED,
    TOKEN,
    Outbox,
    alerts_to,
    config_for,
    demo_feed,
    e2e_config,
    fast_api,
    feed_with_items,
    follow_volcanoes,
    rss,
    wait_until,
)

KOREAN = alert_labels("ko")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
TOPIC = Topic(id="korea-diplomacy", name="Korea diplomacy", query="korea")


def button(message: dict[str, Any]) -> dict[str, Any]:
    return message["reply_markup"]["inline_keyboard"][0][0]


# -- the wording ---------------------------------------------------------------------------------


def test_english_wording_is_the_renderers_default():
    assert alert_labels("en") == AlertLabels()
    assert alert_labels("fr") == AlertLabels()  # a language we do not speak


def test_every_label_has_korean_wording():
    for field in dataclasses.fields(AlertLabels):
        korean, english = getattr(KOREAN, field.name), getattr(AlertLabels(), field.name)
        assert korean != english, field.name
        for text in korean if isinstance(korean, tuple) else (korean,):
            assert HANGUL.search(text), (field.name, text)
    assert KOREAN.months[0] == "1월" and KOREAN.months[11] == "12월"


def test_a_korean_alert_has_a_korean_topic_line():
    article = Article(id="1", title="Talks resume", link="https://news.example/a", source="AP")
    alert = render_alert(
        chat_id=1,
        article_key=1,
        article=article,
        summary=Summary("1", "Envoys met."),
        topic=TOPIC,
        footer="F",
        labels=KOREAN,
    )
    assert "\n주제: Korea diplomacy\nF" in alert.html and "Topic:" not in alert.html
    untitled = render_alert(
        chat_id=1,
        article_key=1,
        article=Article(id="2", title=""),
        summary=Summary("2", ""),
        topic=None,
        footer="",
        labels=KOREAN,
    )
    assert untitled.html == "<b>(제목 없음)</b>"


def test_the_also_line_in_korean():
    article = Article(id="1", title="Talks resume", link="https://news.example/a", source="AP")
    alert = render_alert(
        chat_id=1, article_key=1, article=article, summary=Summary("1", ""), topic=None, footer=""
    )
    html, text = with_also(alert.html, alert.text, ["Yonhap", "Reuters"], KOREAN)
    assert html.split("\n")[2] == "<i>다른 보도: Yonhap, Reuters</i>"
    assert text.split("\n")[2] == "다른 보도: Yonhap, Reuters"
    assert also_line([f"Outlet {i}" for i in range(8)], KOREAN) == (
        "다른 보도: Outlet 0, Outlet 1, Outlet 2, Outlet 3, Outlet 4 외 3곳"
    )


def test_the_default_footer_follows_the_language_but_a_configured_one_stays_as_written():
    def footer(chat: str, configured: str = "", mine: str = "") -> str:
        return choose_footer(
            chat_footer=mine, global_footer=configured, chat_name=chat, bot_name="@b", labels=KOREAN
        )

    assert (
        footer("@korea_watch") == "텔레그램 @korea_watch에 참여하고 최신 속보를 바로 받아 보세요."
    )
    assert footer("") == "텔레그램 @b에 참여하고 최신 속보를 바로 받아 보세요."
    assert footer("@c", configured="Join us for more.") == "Join us for more."
    assert footer("@c", configured="Ours.", mine="Mine.") == "Mine."


def test_digest_headings_in_korean_and_in_english():
    now = datetime(2024, 10, 28, 20, 5, tzinfo=UTC)  # 29 Oct 05:05 in Seoul
    daily = Chat(chat_id=1, digest_every="daily", timezone="Asia/Seoul")
    hourly = Chat(chat_id=1, digest_every="hourly", timezone="Asia/Seoul")
    assert digest_heading(daily, 3, now, KOREAN) == "10월 29일 일일 뉴스 요약: 기사 3건"
    assert digest_heading(hourly, 1, now, KOREAN) == "05:05 뉴스 요약: 기사 1건"
    assert digest_heading(daily, 3, now) == "Your daily news digest, 29 Oct: 3 stories"
    assert digest_heading(hourly, 1, now) == "Your news digest, 05:05: 1 story"


def test_a_long_korean_digest_says_continued_in_korean():
    lines = [DigestLine(i, f"Story {i} " + "x" * 250, f"https://x.example/{i}") for i in range(60)]
    parts = render_digest(lines, heading="10월 29일 일일 뉴스 요약", footer="F", labels=KOREAN)
    assert len(parts) > 1
    assert parts[1].html.startswith("<b>10월 29일 일일 뉴스 요약 (계속)</b>")
    assert all(validate_telegram_html(p.html) is None for p in parts)


# -- through the fake Bot API --------------------------------------------------------------------

SEOUL_READER, LONDON_READER = 333, 444


async def test_a_korean_chats_alert_is_korean_and_an_english_chats_unchanged(
    telegram_api, feed_server, tmp_path
):
    api = telegram_api
    feed_server.set("/asia.xml", feed_with_items(lambda item: "demo-chip-rally" in item))
    feed_url = feed_server.url("/asia.xml")
    async with Core(e2e_config(api, feed_url, tmp_path / "newsalert.db")) as core:
        await core.start()
        api.inject_message(SEOUL_READER, "/subscribe korea-diplomacy", language_code="ko")
        api.inject_message(LONDON_READER, "/subscribe korea-diplomacy", language_code="en")
        await wait_until(
            lambda: api.sent_messages(SEOUL_READER) and api.sent_messages(LONDON_READER),
            what="replies",
        )
        await wait_until(
            lambda: (f := core.store.feeds.get_by_url(feed_url)) and f.primed, what="prime"
        )
        assert core.store.chats.get(SEOUL_READER).language == "ko"
        feed_server.set("/asia.xml", demo_feed())
        await wait_until(
            lambda: alerts_to(api, SEOUL_READER) and alerts_to(api, LONDON_READER),
            what="both alerts",
        )

    [korean] = alerts_to(api, SEOUL_READER)
    assert "North Korea talks" in korean["text"]  # the story itself is the feed's
    assert "\n주제: 한반도 외교·안보\n" in korean["text"]  # the built-in topic's Korean name
    # private chats: the default footer asks the reader to share the bot (issue 16)
    assert korean["text"].endswith(
        "최신 속보를 바로 받아 보고 싶은 친구에게 텔레그램 @newsalert_test_bot을(를) 공유해 주세요."
    )
    assert "Topic:" not in korean["text"] and "Join " not in korean["text"]
    assert button(korean)["text"] == "기사 읽기"

    [english] = alerts_to(api, LONDON_READER)
    assert "\nTopic: Korea: diplomacy and security\n" in english["text"]
    assert english["text"].endswith(
        "Share @newsalert_test_bot on Telegram with friends who want the latest breaking news delivered to them."
    )
    assert not HANGUL.search(english["text"].split("\n")[-1])
    assert button(english)["text"] == "Read"
    assert button(english)["url"] == button(korean)["url"]


async def test_the_also_edit_of_a_korean_chats_alert_is_korean(feed_server, tmp_path):
    async with fast_api() as api:
        feed_server.set("/reuters.xml", rss(QUIET_FEED, site="https://reuters.example"))
        feed_server.set("/yonhap.xml", rss(QUIET_FEED, site="https://yonhap.example"))
        feeds = [
            (feed_server.url("/reuters.xml"), "Reuters"),
            (feed_server.url("/yonhap.xml"), "Yonhap"),
        ]
        async with Core(config_for(api, feeds, tmp_path / "bot.db")) as core:
            follow_volcanoes(core.store, 61)
            core.store.chats.choose_language(61, "ko")
            await core.start()
            await wait_until(
                lambda: all(core.store.feeds.get_by_url(u).primed for u, _ in feeds), what="prime"
            )
            title, text = ERUPTION
            feed_server.set(
                "/reuters.xml",
                rss([*QUIET_FEED, ("r1", title, text)], site="https://reuters.example"),
            )
            await wait_until(lambda: api.sent_messages(61), what="the alert")
            copy_title = "Volcano erupts on Indonesia island; thousands of villagers flee"
            feed_server.set(
                "/yonhap.xml",
                rss([*QUIET_FEED, ("y1", copy_title, text)], site="https://yonhap.example"),
            )
            await wait_until(lambda: api.calls_to("editMessageText"), what="the edit")
    [alert] = api.sent_messages(61)
    message = api.message(61, alert["message_id"])
    assert "\n다른 보도: Yonhap\n" in message["text"] and "Also:" not in message["text"]
    assert "\n주제: Volcanoes\n" in message["text"]
    assert button(message) == {"text": "기사 읽기", "url": "https://reuters.example/r1"}
    edit = api.calls_to("editMessageText")[-1]
    assert "\n<i>다른 보도: Yonhap</i>\n" in edit.params["text"]


async def test_a_korean_chats_digest_has_a_korean_heading(telegram_api, tmp_path):
    store = Store.open(tmp_path / "digest.db")
    try:
        out = Outbox(store)
        store.chats.ensure(1)
        store.chats.choose_language(1, "ko")
        assert chat_settings.set_digest(store, 1, "hourly").ok
        for i in range(3):
            out.alert(1, f"Digest story {i} with a long enough title")
        later = utcnow() + timedelta(hours=1)
        assert make_due_digests(store, now=later) == 1
        async with Bot(TOKEN, base_url=telegram_api.base_url) as bot:
            assert await Sender(store, TelegramSink(bot)).drain() == 1
    finally:
        store.close()
    [digest] = telegram_api.sent_messages(1)
    assert digest["text"].startswith(f"<b>{later:%H:%M} 뉴스 요약: 기사 3건</b>\n")
    assert digest["text"].count("• ") == 3
    assert "reply_markup" not in digest or not digest["reply_markup"]


async def test_footer_shows_the_default_a_korean_chats_alerts_end_with(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        korean = (await bot.send(SEOUL_READER, "/footer", language_code="ko"))["text"]
        english = (await bot.send(LONDON_READER, "/footer", language_code="en"))["text"]
    # private chats: share it; the particle as Koreans read the name's last letter (T, 티)
    assert "@newsalert_test_bot을(를) 공유해 주세요." in korean
    assert "Share @newsalert_test_bot on Telegram with friends" in english


async def test_a_channel_with_language_ko_gets_korean_alerts(telegram_api, feed_server, tmp_path):
    """``language = "ko"`` on a [[channels]] entry: its alerts have the Korean labels, as a
    chat whose /language is Korean; an unknown language is refused at load."""
    import pytest

    from bot.config.loader import config_from_dict
    from bot.errors import ConfigError

    api = telegram_api
    channel = -1009876543210
    api.add_chat(channel, "channel", title="한반도 소식")
    feed_server.set("/asia.xml", feed_with_items(lambda item: "demo-chip-rally" in item))
    feed_url = feed_server.url("/asia.xml")
    base = e2e_config(api, feed_url, tmp_path / "newsalert.db")
    entry = {"chat_id": channel, "topics": ["korea-diplomacy"], "language": "ko"}
    config = dataclasses.replace(
        base, channels=config_from_dict({"channels": [entry]}, env={}).channels
    )
    async with Core(config) as core:
        await core.start()
        await wait_until(
            lambda: (f := core.store.feeds.get_by_url(feed_url)) and f.primed, what="prime"
        )
        feed_server.set("/asia.xml", demo_feed())
        await wait_until(lambda: alerts_to(api, channel), what="the channel's alert")
    [korean] = alerts_to(api, channel)
    assert "\n주제: 한반도 외교·안보\n" in korean["text"], korean["text"]
    assert "Topic:" not in korean["text"]
    with pytest.raises(ConfigError) as wrong:
        config_from_dict({"channels": [{**entry, "language": "kr"}]}, env={})
    assert wrong.value.key == "channels[0].language" and "ko (한국어)" in wrong.value.problem
