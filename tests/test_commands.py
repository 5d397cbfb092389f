"""Every chat command through the real python-telegram-bot Application and the fake Bot API:
what people type, what they read back, and what the store holds afterwards."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram.ext import CommandHandler

from bot.app import Core
from bot.config.loader import load_config
from bot.service import subscriptions
from handlers.flood import CommandRateLimit, Verdict
from handlers.menu import COMMAND_INFO, help_text
from tests.chatbot import OPERATOR, ChatDriver, article, button_data, buttons, running_bot
from tests.helpers import TOKEN

ALICE = 111
BOB = 222


def texts(bot, chat_id: int) -> list[str]:
    return [m["text"] for m in bot.replies(chat_id)]


def followed(bot, chat_id: int) -> list[tuple[str, str]]:
    return [(s.topic_id, s.query) for s in subscriptions.list_subscriptions(bot.store, chat_id)]


# -- the command set ------------------------------------------------------------------------


async def test_every_registered_command_has_help_text_and_a_menu_entry(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        app = bot.core.application
        registered = {
            name
            for handlers in app.handlers.values()
            for handler in handlers
            if isinstance(handler, CommandHandler)
            for name in handler.commands
        }
        english_menu = {c["command"]: c["description"] for c in telegram_api.commands()}
        korean_menu = {
            c["command"]: c["description"] for c in telegram_api.commands(language_code="ko")
        }
        operator_menu = {
            c["command"] for c in telegram_api.commands({"type": "chat", "chat_id": OPERATOR})
        }
        help_for_people = (await bot.send(ALICE, "/help"))["text"]
        help_for_operator = (await bot.send(OPERATOR, "/help"))["text"]

    info = {c.name: c for c in COMMAND_INFO}
    assert registered == set(info), "a command without an entry in handlers.menu, or the reverse"
    for name in registered:
        assert info[name].description and info[name].example.startswith(f"/{name}")
        assert name in operator_menu, name
        if info[name].operator:
            assert name not in english_menu and f"/{name} " not in help_for_people
            assert f"/{name} — " in help_for_operator
        else:
            assert english_menu[name] == info[name].description
            assert korean_menu[name] != english_menu[name], f"/{name} has no Korean menu entry"
            assert f"/{name} — " in help_for_people
            if info[name].example != f"/{name}":
                assert html.escape(info[name].example, quote=False) in help_for_people


async def test_start_welcomes_and_help_explains_filters(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        welcome = (await bot.send(ALICE, "/start"))["text"]
        helped = (await bot.send(ALICE, "/help"))["text"]
    assert welcome.startswith("Hello!")
    assert "/subscribe korea-diplomacy" in welcome
    assert "<b>Filters</b>" in helped and "NEAR/5" in helped
    assert len(helped) < 4096


async def test_deep_link_follows_the_topic_in_one_tap(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        reply = (await bot.send(ALICE, "/start korea-diplomacy"))["text"]
        assert followed(bot, ALICE) == [("korea-diplomacy", "")]
        unknown = (await bot.send(BOB, "/start no-such-topic"))["text"]
        assert followed(bot, BOB) == []
    assert "Korea: diplomacy and security" in reply
    assert unknown.startswith("Hello!") and "There is no topic “no-such-topic”" in unknown


async def test_topics_lists_each_topic_with_its_description(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        reply = (await bot.send(ALICE, "/topics"))["text"]
        topics = bot.core.config.topics
    for topic in topics.values():
        assert f"<code>{topic.id}</code>" in reply
    assert "Eruptions and the volcanoes behind them." in reply
    assert "https://t.me/newsalert_test_bot?start=korea-diplomacy" in reply


# -- subscribing ------------------------------------------------------------------------------


async def test_subscribe_to_a_topic_and_a_filter_then_list_shows_both(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        first = (await bot.send(ALICE, "/subscribe korea-diplomacy"))["text"]
        again = (await bot.send(ALICE, "/subscribe korea-diplomacy"))["text"]
        own = (await bot.send(ALICE, '/subscribe "north korea" (talks OR summit) -sports'))["text"]
        listed = (await bot.send(ALICE, "/list"))["text"]
        assert followed(bot, ALICE) == [
            ("korea-diplomacy", ""),
            ("query", '"north korea" (talks OR summit) -sports'),
        ]
    assert "now follow “Korea: diplomacy and security”" in first
    assert "already follow" in again
    assert "your own filter" in own and "(talks OR summit)" in own
    assert "1. Korea: diplomacy and security (<code>korea-diplomacy</code>)" in listed
    assert '2. your filter <code>"north korea" (talks OR summit) -sports</code>' in listed
    assert "Alerts: instant · link previews off · language English · active" in listed


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/subscribe", "/subscribe korea-diplomacy"),
        ("/subscribe no-such-topic", "There is no topic “no-such-topic”"),
        ("/subscribe (north korea", "I cannot read that filter"),
        ('/subscribe "north korea', "unclosed quote"),
        ("/subscribe " + "talks " * 100, "at most 500 characters"),
        ("/subscribe " + "x" * 1200, "I read at most 1000"),
    ],
)
async def test_bad_subscribe_arguments_get_an_answer_with_an_example(
    telegram_api, tmp_path, command, expected
):
    async with running_bot(telegram_api, tmp_path) as bot:
        reply = (await bot.send(ALICE, command))["text"]
        assert followed(bot, ALICE) == []
    assert expected in reply


async def test_subscriptions_per_chat_are_limited(telegram_api, tmp_path, monkeypatch):
    monkeypatch.setattr(subscriptions, "MAX_SUBSCRIPTIONS_PER_CHAT", 2)
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/subscribe volcanoes")
        await bot.send(ALICE, "/subscribe lava flow")
        refused = (await bot.send(ALICE, "/subscribe korea-diplomacy"))["text"]
        assert len(followed(bot, ALICE)) == 2
    assert "already follows 2 topics and filters, the most allowed" in refused


async def test_unsubscribe_one_by_topic_id_or_by_number(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/subscribe korea-diplomacy")
        await bot.send(ALICE, "/subscribe volcanoes")
        await bot.send(ALICE, "/subscribe lava")
        by_id = (await bot.send(ALICE, "/unsubscribe volcanoes"))["text"]
        by_number = (await bot.send(ALICE, "/unsubscribe 2"))["text"]  # "lava", now second
        missing = (await bot.send(ALICE, "/unsubscribe markets"))["text"]
        assert followed(bot, ALICE) == [("korea-diplomacy", "")]
    assert "no longer follow Volcanoes" in by_id
    assert "no longer follow your filter <code>lava</code>" in by_number
    assert "does not follow “markets”" in missing


async def test_unsubscribe_all_needs_a_confirmation(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/subscribe korea-diplomacy")
        await bot.send(ALICE, "/subscribe volcanoes")
        ask = await bot.send(ALICE, "/unsubscribe all")
        assert "Stop all 2 subscriptions?" in ask["text"]
        no = button_data(ask, lambda t: t.startswith("No"))
        edited = await bot.press(ALICE, ALICE, no, ask["message_id"])
        assert edited["text"] == "Nothing changed." and len(followed(bot, ALICE)) == 2

        ask = await bot.send(ALICE, "/unsubscribe all")
        yes = button_data(ask, lambda t: t.startswith("Yes"))
        edited = await bot.press(ALICE, ALICE, yes, ask["message_id"])
        assert "stopped 2 subscriptions" in edited["text"]
        assert followed(bot, ALICE) == []


async def test_bare_unsubscribe_offers_a_button_per_subscription(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/subscribe korea-diplomacy")
        await bot.send(ALICE, "/subscribe volcanoes")
        offer = await bot.send(ALICE, "/unsubscribe")
        labels = [text for text, _ in buttons(offer)]
        assert labels[:2] == ["1. korea-diplomacy", "2. volcanoes"]
        data = button_data(offer, lambda t: t == "2. volcanoes")
        edited = await bot.press(ALICE, ALICE, data, offer["message_id"])
        assert "no longer follow Volcanoes" in edited["text"]
        assert followed(bot, ALICE) == [("korea-diplomacy", "")]
        # the same button again: the subscription is gone, and the answer says so
        edited = await bot.press(ALICE, ALICE, data, offer["message_id"], edits=False)
        assert followed(bot, ALICE) == [("korea-diplomacy", "")]


# -- reading: /latest and /test ---------------------------------------------------------------


async def test_latest_shows_the_five_newest_matching_stories(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/subscribe volcanoes")
        bot.store_articles(
            *[article(f"v{i}", f"Volcano number {i} erupts") for i in range(7)],
            article("other", "Stocks close higher"),
        )
        reply = (await bot.send(ALICE, "/latest"))["text"]
        topic = (await bot.send(BOB, "/latest volcanoes"))["text"]
        unknown = (await bot.send(BOB, "/latest nonsense"))["text"]
        nothing = (await bot.send(BOB, "/latest"))["text"]
    titles = re.findall(r"Volcano number (\d)", reply)
    assert titles == ["6", "5", "4", "3", "2"]
    assert "Stocks" not in reply
    assert re.findall(r"Volcano number (\d)", topic) == ["6", "5", "4", "3", "2"]
    assert "There is no topic “nonsense”" in unknown and "/latest korea-diplomacy" in unknown
    assert "follows nothing yet" in nothing


async def test_test_shows_which_recent_stories_match_and_why(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        empty = (await bot.send(ALICE, '/test "north korea"'))["text"]
        bot.store_articles(
            article("k1", "North Korea and US resume talks", "Envoys meet in Singapore"),
            article("k2", "Seoul stocks rally", "Samsung leads gains"),
            article("k3", "North Korea football team wins", "A sports story"),
        )
        reply = (await bot.send(ALICE, '/test "north korea" talks'))["text"]
        none = (await bot.send(ALICE, "/test volcano"))["text"]
        bad = (await bot.send(ALICE, "/test talks OR"))["text"]
        usage = (await bot.send(ALICE, "/test"))["text"]
        assert followed(bot, ALICE) == []  # /test subscribes to nothing
    assert "not stored any stories yet" in empty
    assert "<b>1 of the last 3 stories match</b>" in reply
    assert "North Korea and US resume talks" in reply and "Seoul stocks" not in reply
    assert "matched: north korea, talks" in reply
    assert '<code>/subscribe "north korea" talks</code>' in reply
    assert "0 of the last 3" in none and "Nothing matches" in none
    assert "I cannot read that filter" in bad
    assert "/test" in usage and "north korea" in usage


async def test_test_with_a_filter_it_cannot_read_gives_a_test_example(telegram_api, tmp_path):
    """The example of /test's refusal is a /test (what the writer was doing), in Korean
    too; /subscribe's refusal keeps its /subscribe example."""
    example = '"north korea" (talks OR summit) -sports'
    async with running_bot(telegram_api, tmp_path) as bot:
        bad = (await bot.send(ALICE, "/test talks OR"))["text"]
        korean = (await bot.send(BOB, "/test (oops", language_code="ko"))["text"]
        subscribe = (await bot.send(ALICE, "/subscribe talks OR"))["text"]
    assert "I cannot read that filter" in bad
    assert f"<code>/test {html.escape(example, quote=False)}</code>" in bad
    assert "/subscribe" not in bad
    assert "필터를 읽을 수 없습니다" in korean
    assert f"/test {html.escape(example, quote=False)}" in korean and "/subscribe" not in korean
    assert f"<code>/subscribe {html.escape(example, quote=False)}</code>" in subscribe


# -- /filter ------------------------------------------------------------------------------------


async def test_filter_narrows_widens_and_clears_a_topic(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/subscribe volcanoes")
        bot.store_articles(
            article("e1", "Etna eruption closes airport"),
            article("e2", "Lava reaches the sea in Hawaii"),
            article("q1", "Earthquake shakes Tokyo"),
        )
        narrowed = (await bot.send(ALICE, "/filter volcanoes -hawaii"))["text"]
        latest = (await bot.send(ALICE, "/latest"))["text"]
        assert "Etna" in latest and "Hawaii" not in latest and "Earthquake" not in latest
        widened = (await bot.send(ALICE, "/filter 1 OR earthquake"))["text"]
        latest = (await bot.send(ALICE, "/latest"))["text"]
        assert "Etna" in latest and "Earthquake" in latest and "Hawaii" not in latest
        listed = (await bot.send(ALICE, "/list"))["text"]
        cleared = (await bot.send(ALICE, "/filter volcanoes clear"))["text"]
        latest = (await bot.send(ALICE, "/latest"))["text"]
        assert "Hawaii" in latest and "Earthquake" not in latest
        [sub] = subscriptions.list_subscriptions(bot.store, ALICE)
        assert (sub.narrow, sub.widen) == ("", "")
    # said in words, not in the filter language
    assert "Volcanoes (<code>volcanoes</code>) now leaves out stories that mention “hawaii”" in (
        narrowed
    )
    assert "now also brings stories that mention “earthquake”" in widened
    assert "only with: <code>-hawaii</code>" in listed and "also: <code>earthquake</code>" in listed
    assert "as defined again" in cleared


async def test_filter_rewrites_an_own_query_and_explains_mistakes(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/subscribe lava")
        done = (await bot.send(ALICE, "/filter 1 -hawaii"))["text"]
        usage = (await bot.send(ALICE, "/filter"))["text"]
        nothing = (await bot.send(ALICE, "/filter 1"))["text"]
        missing = (await bot.send(ALICE, "/filter 7 -x"))["text"]
        bad = (await bot.send(ALICE, "/filter 1 (oops"))["text"]
        assert followed(bot, ALICE) == [("query", "lava (-hawaii)")]
        x = (await bot.send(ALICE, "/filter 1 -x"))["text"]
        fields = (await bot.send(ALICE, "/filter 1 title:summit"))["text"]
    assert "your filter <code>lava (-hawaii)</code> now leaves out stories that mention “x”" in x
    # more than words: the new filter is shown as written
    assert "your filter is now <code>lava (-hawaii) (-x) (title:summit)</code>" in fields
    assert "your filter <code>lava</code> now leaves out stories that mention “hawaii”" in done
    assert "/filter korea-diplomacy -sports" in usage and "1. your filter" in usage
    assert "/filter 1 -sports" in nothing
    assert "does not follow “7”" in missing
    assert "I cannot read that filter" in bad
    # the example is a /filter of the one named, not a /subscribe
    assert "/filter 1 -sports" in bad and "/subscribe" not in bad


# -- settings -----------------------------------------------------------------------------------


async def test_settings_keyboard_changes_topics_mode_previews_language_and_pause(
    telegram_api, tmp_path
):
    async with running_bot(telegram_api, tmp_path) as bot:
        view = await bot.send(ALICE, "/settings")
        message_id = view["message_id"]
        labels = [text for text, _ in buttons(view)]
        assert "➕ Volcanoes" in labels and "Alerts: instant" in labels
        assert "<code>/timezone Asia/Seoul</code>" in view["text"]  # no button for it

        edited = await bot.press(ALICE, ALICE, f"s:{ALICE}:t:volcanoes", message_id)
        assert followed(bot, ALICE) == [("volcanoes", "")]
        assert "✅ Volcanoes" in str(edited["reply_markup"])
        await bot.press(ALICE, ALICE, f"s:{ALICE}:m", message_id)
        await bot.press(ALICE, ALICE, f"s:{ALICE}:p", message_id)
        edited = await bot.press(ALICE, ALICE, f"s:{ALICE}:z", message_id)
        chat = bot.store.chats.get(ALICE)
        assert (chat.alert_mode, chat.link_preview, chat.paused) == ("digest", True, True)
        assert "Alerts: daily digest · link previews on" in edited["text"]
        assert "Delivery: a daily digest at 08:00 · time zone UTC" in edited["text"]
        assert bot.store.subscriptions.active() == []  # paused: nothing is matched for it

        edited = await bot.press(ALICE, ALICE, f"s:{ALICE}:l", message_id)
        assert bot.store.chats.get(ALICE).language == "ko"
        assert "<b>설정</b>" not in edited["text"] and "설정" in edited["text"]
        edited = await bot.press(ALICE, ALICE, f"s:{ALICE}:t:volcanoes", message_id)
        assert followed(bot, ALICE) == []
        edited = await bot.press(ALICE, ALICE, f"s:{ALICE}:x", message_id)
        assert edited.get("reply_markup") is None


async def test_the_breaking_news_button_says_what_at_once_means(telegram_api, tmp_path):
    alerts = {"breaking_outlets": 4, "breaking_window": "20m"}
    async with running_bot(telegram_api, tmp_path, alerts=alerts) as bot:
        message_id = (await bot.send(ALICE, "/settings"))["message_id"]
        edited = await bot.press(ALICE, ALICE, f"s:{ALICE}:b", message_id)
        on = bot.api.calls_to("answerCallbackQuery")[-1].params
        await bot.press(ALICE, ALICE, f"s:{ALICE}:b", message_id)
        off = bot.api.calls_to("answerCallbackQuery")[-1].params
        assert not bot.store.chats.get(ALICE).breaking_through
    assert "Breaking news: at once" in str(edited["reply_markup"])
    assert "a story 4 outlets carry within 20m" in on["text"] and "quiet hours" in on["text"]
    assert "quiet hours and digests apply" in off["text"]
    assert not on.get("show_alert") and not off.get("show_alert")  # a toast, not a pop-up


async def test_digest_timezone_and_quiet_hours(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        shown = (await bot.send(ALICE, "/digest"))["text"]
        daily = (await bot.send(ALICE, "/digest daily 07:30"))["text"]
        zone = (await bot.send(ALICE, "/timezone Asia/Seoul"))["text"]
        zone_shown = (await bot.send(ALICE, "/timezone"))["text"]
        quiet = (await bot.send(ALICE, "/quiet 23:00-07:00 silent"))["text"]
        chat = bot.store.chats.get(ALICE)
        assert (chat.alert_mode, chat.digest_every, chat.digest_at) == ("digest", "daily", "07:30")
        assert (chat.timezone, chat.quiet_start, chat.quiet_end) == ("Asia/Seoul", "23:00", "07:00")
        listed = (await bot.send(ALICE, "/list"))["text"]
        bad_time = (await bot.send(ALICE, "/digest daily 25:99"))["text"]
        bad_mode = (await bot.send(ALICE, "/digest weekly"))["text"]
        bad_zone = (await bot.send(ALICE, "/timezone Mars/Olympus"))["text"]
        typo_zone = (await bot.send(ALICE, "/timezone Asia/Seol"))["text"]
        bad_range = (await bot.send(ALICE, "/quiet sometimes"))["text"]
        instant = (await bot.send(ALICE, "/digest instant"))["text"]
        off = (await bot.send(ALICE, "/quiet off"))["text"]
        korean = (await bot.send(ALICE, "/digest", language_code="ko"))["text"]
        chat = bot.store.chats.get(ALICE)
        assert (chat.alert_mode, chat.quiet_start) == ("instant", "")
    assert "each alert at once" in shown and "/digest daily 08:00" in shown
    assert "a daily digest at 07:30" in daily
    assert "These times are UTC" in daily and "<code>/timezone Asia/Seoul</code>" in daily
    assert "These times are UTC" not in quiet  # the zone is chosen by then
    assert "These times are UTC" not in instant and "These times are UTC" not in off
    assert "time zone Asia/Seoul" in zone
    assert re.search(r"It is \d{1,2} \w{3} \d{4} \d\d:\d\d KST there now\.", zone)
    assert "Times in alerts and /latest, digest times and quiet hours here use Asia/Seoul" in (
        zone_shown
    )
    assert "quiet hours 23:00–07:00, sent without a sound" in quiet
    assert "Delivery: a daily digest at 07:30 · time zone Asia/Seoul" in listed
    assert "“25:99” is not a time of day" in bad_time
    assert "I do not know “weekly”" in bad_mode and "/digest hourly" in bad_mode
    assert "I do not know the time zone “Mars/Olympus”" in bad_zone
    assert "Did you mean" not in bad_zone
    assert "Did you mean <code>/timezone Asia/Seoul</code>?" in typo_zone
    assert "as quiet hours" in bad_range and "/quiet off" in bad_range
    assert "each alert at once" in instant and "no quiet hours" in off
    assert "알림마다 바로" in korean


async def test_pause_and_resume(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/subscribe volcanoes")
        paused = (await bot.send(ALICE, "/pause"))["text"]
        again = (await bot.send(ALICE, "/pause"))["text"]
        assert bot.store.chats.get(ALICE).paused
        assert bot.store.subscriptions.active() == []
        listed = (await bot.send(ALICE, "/list"))["text"]
        resumed = (await bot.send(ALICE, "/resume"))["text"]
        assert [s.chat_id for s in bot.store.subscriptions.active()] == [ALICE]
    assert "Alerts paused" in paused and "already paused" in again
    assert "paused (/resume)" in listed
    assert "Alerts resumed" in resumed


async def test_language_command_switches_replies_and_this_chats_menu(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        ask = await bot.send(ALICE, "/language")
        assert [t for t, _ in buttons(ask)] == ["English", "한국어"]
        chosen = (await bot.send(ALICE, "/language ko"))["text"]
        helped = (await bot.send(ALICE, "/help"))["text"]  # the app still says "en"
        menu = telegram_api.commands({"type": "chat", "chat_id": ALICE})
        edited = await bot.press(ALICE, ALICE, f"l:{ALICE}:en", ask["message_id"])
        back = (await bot.send(ALICE, "/help", language_code="ko"))["text"]
        wrong = (await bot.send(ALICE, "/language klingon"))["text"]
    assert "한국어로 답합니다" in chosen
    assert "<b>명령</b>" in helped
    assert {c["command"]: c["description"] for c in menu}[
        "help"
    ] == "모든 명령과 필터 문법, 예시 포함"
    assert "answer in English" in edited["text"]
    assert "<b>Commands</b>" in back  # chosen with /language: wins over the app's language
    assert "/language ko" in wrong


async def test_footer_is_set_shown_and_cleared(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        shown = (await bot.send(ALICE, "/footer"))["text"]
        done = (await bot.send(ALICE, "/footer Join <b>us</b> for more"))["text"]
        assert bot.store.chats.get(ALICE).footer == "Join <b>us</b> for more"
        too_long = (await bot.send(ALICE, "/footer " + "x" * 300))["text"]
        cleared = (await bot.send(ALICE, "/footer clear"))["text"]
        assert bot.store.chats.get(ALICE).footer == ""
    assert (
        "Share @newsalert_test_bot on Telegram with friends" in shown
    )  # a private chat: pass it on
    assert "Join &lt;b&gt;us&lt;/b&gt; for more" in done  # shown as typed, never as markup
    assert "at most 200 characters" in too_long
    assert "default footer" in cleared


async def test_feeds_lists_the_sources(telegram_api, tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text("<rss version='2.0'><channel><title>T</title></channel></rss>")
    feeds = [{"url": feed.as_uri(), "name": "Local Wire", "interval": "1h"}]
    async with running_bot(telegram_api, tmp_path, feeds=feeds) as bot:
        reply = (await bot.send(ALICE, "/feeds"))["text"]
    assert "<b>Local Wire</b>" in reply


# -- operators -----------------------------------------------------------------------------------


async def test_operator_commands_are_refused_to_others(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        for command in ("/stats", "/feedstatus", "/reload"):
            reply = (await bot.send(ALICE, command))["text"]
            assert "for the bot's operators" in reply


async def test_stats_and_feedstatus_for_the_operator(telegram_api, tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text("<rss version='2.0'><channel><title>T</title></channel></rss>")
    feeds = [{"url": feed.as_uri(), "name": "Local Wire", "interval": "1h"}]
    async with running_bot(telegram_api, tmp_path, feeds=feeds) as bot:
        await bot.send(ALICE, "/subscribe volcanoes")
        stats = (await bot.send(OPERATOR, "/stats"))["text"]
        status = (await bot.send(OPERATOR, "/feedstatus"))["text"]
        in_group = (await bot.send(-500, "/stats", chat_type="group", user_id=OPERATOR))["text"]
    assert "<b>Statistics</b>" in stats
    assert "Subscriptions: 1" in stats and "Waiting to be sent: 0; held for digests: 0" in stats
    assert "Alerts in the last hour: 0 sent, 0 failed" in stats
    assert "<b>Local Wire</b>" in status and feed.as_uri() in status
    assert "private chat" in in_group


def _reload_base(telegram_api, tmp_path: Path) -> str:
    """The /reload tests' config file: Telegram on the loopback server, OPERATOR an admin."""
    return f"""
[telegram]
token = "{TOKEN}"
base_url = "{telegram_api.base_url}"
poll_timeout = "1s"
admins = [{OPERATOR}]

[storage]
path = "{tmp_path / "bot.db"}"
"""


@contextlib.asynccontextmanager
async def _reloadable_bot(telegram_api, path: Path) -> AsyncIterator[tuple[Core, ChatDriver]]:
    """A bot started from the config file at ``path``, and a driver to write to it."""
    async with Core(load_config(path)) as core:
        await core.start()
        yield core, ChatDriver(telegram_api, core)


async def test_reload_applies_a_good_file_and_keeps_the_old_one_otherwise(telegram_api, tmp_path):
    path = tmp_path / "config.toml"
    base = _reload_base(telegram_api, tmp_path)

    def write(extra: str) -> None:
        path.write_text(f"{base}{extra}\n")

    write("")
    async with _reloadable_bot(telegram_api, path) as (_core, bot):
        write('[[topics]]\nid = "volcanoes"\nname = "Volcanoes"\nquery = "volcano OR lava"\n')
        applied = (await bot.send(OPERATOR, "/reload"))["text"]
        subscribed = (await bot.send(ALICE, "/subscribe volcanoes"))["text"]
        write('[[topics]]\nid = "Bad Id"\nquery = "x"\n\n[alerts]\nsummary_chars = 50\n')
        kept = (await bot.send(OPERATOR, "/reload"))["text"]
        still = (await bot.send(ALICE, "/topics"))["text"]
        write("[fetch]\nper_host = 3\n")
        restart = (await bot.send(OPERATOR, "/reload"))["text"]
    assert "Configuration reloaded" in applied and "volcanoes" in applied
    assert "0 feeds" in applied and "0 channels" in applied
    assert "now follow “Volcanoes”" in subscribed
    assert "I kept the current configuration" in kept and "topics[0].id" in kept
    assert "alerts.summary_chars" in kept  # every mistake, not only the first
    assert "<code>volcanoes</code>" in still
    assert "only after a restart" in restart and "fetch" in restart


async def test_reload_names_a_channel_telegram_does_not_find_and_a_file_that_is_gone(
    telegram_api, tmp_path
):
    path = tmp_path / "config.toml"
    base = _reload_base(telegram_api, tmp_path)
    path.write_text(base)
    async with _reloadable_bot(telegram_api, path) as (core, bot):
        path.write_text(
            base + '[[channels]]\nchat_id = "@no_such_channel"\ntopics = ["korea-diplomacy"]\n'
        )
        reply = (await bot.send(OPERATOR, "/reload"))["text"]
        path.unlink()
        gone = (await bot.send(OPERATOR, "/reload"))["text"]
        channels = len(core.config.channels)
    assert "I kept the current configuration" in gone and "is gone (moved or deleted)" in gone
    assert "put it back" in gone and "config.example.toml" not in gone and channels == 1
    assert "Configuration reloaded" in reply and "1 channel" in reply
    assert "Warning: channel @no_such_channel: Telegram does not let me find it" in reply
    assert "administrator allowed to post" in reply and TOKEN not in reply


# -- robustness ------------------------------------------------------------------------------------


async def test_unknown_commands_and_plain_messages_get_a_hint(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        unknown = (await bot.send(ALICE, "/frobnicate now"))["text"]
        topic = (await bot.send(ALICE, "korea-diplomacy"))["text"]
        chatter = (await bot.send(ALICE, "hello there"))["text"]
    assert "I do not know /frobnicate" in unknown
    assert "<code>/subscribe korea-diplomacy</code>" in topic
    assert "/help" in chatter


async def test_an_unknown_command_that_names_or_misspells_one_says_which_was_meant(
    telegram_api, tmp_path
):
    async with running_bot(telegram_api, tmp_path) as bot:
        follow = (await bot.send(ALICE, "/follow korea-diplomacy"))["text"]
        typo = (await bot.send(ALICE, "/unsubcribe 1"))["text"]
        korean = (await bot.send(ALICE, "/unfollow", language_code="ko"))["text"]
        other = (await bot.send(ALICE, "/weather"))["text"]
    assert "I do not know /follow; did you mean /subscribe?" in follow
    assert "did you mean /unsubscribe?" in typo
    assert "/unsubscribe 명령을 찾으셨나요?" in korean
    assert "did you mean" not in other and "I do not know /weather" in other


async def test_a_misspelt_command_suggests_only_a_command_the_writer_may_run(
    telegram_api, tmp_path
):
    async with running_bot(telegram_api, tmp_path) as bot:
        anyone = (await bot.send(ALICE, "/stat"))["text"]
        operator = (await bot.send(OPERATOR, "/stat"))["text"]
    assert "I do not know /stat" in anyone and "/stats" not in anyone
    assert "did you mean /stats?" in operator


async def test_language_with_a_channel_says_where_a_channel_chooses_it(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        english = (await bot.send(ALICE, "/language @mychannel ko"))["text"]
        assert bot.store.chats.get(ALICE).language == "en"  # this chat's stays as it was
        korean = (await bot.send(ALICE, "/language @mychannel en", language_code="ko"))["text"]
        unknown = (await bot.send(ALICE, "/language fr"))["text"]
    assert "post <code>/language ko</code> there" in english and "[[channels]]" in english
    assert "채널에 <code>/language en</code>" in korean
    assert "I speak English and Korean" in unknown


async def test_a_failure_inside_a_command_is_answered_not_silent(
    telegram_api, tmp_path, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("the database is on fire")

    async with running_bot(telegram_api, tmp_path) as bot:
        monkeypatch.setattr(subscriptions, "list_subscriptions", broken)
        reply = (await bot.send(ALICE, "/list"))["text"]
    assert "something went wrong on my side" in reply
    assert "fire" not in reply


async def test_command_flood_gets_one_notice_then_silence(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        for _ in range(20):
            await bot.send(ALICE, "/help")
        notice = (await bot.send(ALICE, "/help"))["text"]
        await bot.send_unanswered(ALICE, "/help")
        await bot.send_unanswered(ALICE, "/topics")
        other = (await bot.send(BOB, "/help"))["text"]
        answered = len(bot.replies(ALICE))
    assert "faster than I can answer" in notice
    assert answered == 21
    assert "<b>Commands</b>" in other


def test_rate_limit_window_frees_up_with_time():
    now = [0.0]
    limit = CommandRateLimit(limit=3, window=60.0, clock=lambda: now[0])
    assert [limit.check(1) for _ in range(3)] == [Verdict.OK] * 3
    assert limit.check(1) is Verdict.NOTICE
    assert limit.check(1) is Verdict.SILENT
    assert limit.check(2) is Verdict.OK  # per user
    now[0] = 61.0
    assert limit.check(1) is Verdict.OK
    assert [limit.check(1) for _ in range(3)][-1] is Verdict.NOTICE


async def test_a_user_who_blocked_the_bot_and_starts_again_is_reactivated(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/subscribe volcanoes")
        update = telegram_api.inject_my_chat_member(
            ALICE, chat_type="private", old_status="member", new_status="kicked"
        )
        await bot.processed(update)
        assert not bot.store.chats.get(ALICE).active
        assert bot.store.subscriptions.active() == []
        telegram_api.set_chat_member(ALICE, telegram_api.bot_id, "member")
        await bot.send(ALICE, "/start")
        assert bot.store.chats.get(ALICE).active
        assert [s.chat_id for s in bot.store.subscriptions.active()] == [ALICE]


async def test_malformed_button_data_is_answered_quietly(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        view = await bot.send(ALICE, "/settings")
        for data in ("s:oops", "s:1:zz", "u:x:y", "l:1:fr", "zzz"):
            await bot.press(ALICE, ALICE, data, view["message_id"], edits=False)
        failures = [c for c in telegram_api.calls if c.error_code]
    assert failures == []


def test_help_lists_operator_commands_only_for_operators():
    from bot.i18n import translator

    people = help_text(translator("en"))
    operators = help_text(translator("en"), operator=True)
    assert "/stats" not in people and "/stats — " in operators


def test_readme_documents_every_command():
    readme = Path(__file__).resolve().parents[1].joinpath("README.md").read_text()
    section = readme.split("## Chat commands", 1)[1].split("\n## ", 1)[0]
    for info in COMMAND_INFO:
        assert f"`/{info.name}" in section, f"/{info.name} is missing from the README"
