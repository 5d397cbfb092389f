"""Groups and channels: who may change what, commands addressed to the bot, privacy mode,
channels attached from a private chat, and the bot added, removed, blocked, moved."""

from __future__ import annotations

import time

from bot.config.loader import config_from_dict
from bot.matching.audience import Audience
from bot.pipeline import sync_config
from bot.records import Alert, Article
from bot.service import chats, subscriptions
from tests.chatbot import article, button_data, buttons, running_bot

GROUP = -200
CHANNEL = -1001234567
ADMIN = 301
MEMBER = 302
BOT = "newsalert_test_bot"


def followed(bot, chat_id: int) -> list[str]:
    return [s.topic_id for s in subscriptions.list_subscriptions(bot.store, chat_id)]


def in_group(**kwargs):
    return {"chat_type": "group", "chat_title": "Readers", **kwargs}


def recipients(bot, item) -> list[int]:
    """The chats a new article would be sent to, as the pipeline decides it now."""
    audience = Audience(bot.core.config.topics)
    audience.load(bot.store.subscriptions.active())
    return [r.chat_id for r in audience.recipients(item)]


# -- groups ---------------------------------------------------------------------------------


async def test_only_group_admins_change_subscriptions_but_anyone_reads(telegram_api, tmp_path):
    api = telegram_api
    api.set_chat_member(GROUP, ADMIN, "administrator")
    api.set_chat_member(GROUP, MEMBER, "member")
    async with running_bot(api, tmp_path) as bot:
        refused = await bot.send(GROUP, "/subscribe volcanoes", **in_group(user_id=MEMBER))
        assert followed(bot, GROUP) == []
        done = await bot.send(GROUP, "/subscribe volcanoes", **in_group(user_id=ADMIN))
        assert followed(bot, GROUP) == ["volcanoes"]
        listed = await bot.send(GROUP, "/list", **in_group(user_id=MEMBER))
        bot.store_articles(article("v1", "Volcano erupts in Iceland"))
        latest = await bot.send(GROUP, "/latest", **in_group(user_id=MEMBER))
        for command in (
            "/unsubscribe volcanoes",
            "/pause",
            "/settings",
            "/language ko",
            "/footer x",
        ):
            reply = await bot.send(GROUP, command, **in_group(user_id=MEMBER))
            assert "Only this group's administrators" in reply["text"], command
        assert followed(bot, GROUP) == ["volcanoes"]
        assert not bot.store.chats.get(GROUP).paused
        checks = [c.params["user_id"] for c in api.calls_to("getChatMember")]
    assert "Only this group's administrators can change" in refused["text"]
    assert "/list" in refused["text"]  # and says what they can do
    assert "now follow “Volcanoes”" in done["text"]
    assert "Volcanoes" in listed["text"]
    assert "Volcano erupts in Iceland" in latest["text"]
    assert MEMBER in checks and ADMIN in checks
    # the answer quotes the command, so it is clear whom it answers in a busy group
    assert done["reply_parameters"]["message_id"] or done.get("reply_to_message_id")


async def test_commands_addressed_to_the_bot_work_and_others_are_left_alone(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        listed = await bot.send(GROUP, f"/list@{BOT}", **in_group())
        helped = await bot.send(GROUP, f"/help@{BOT.upper()}", **in_group())
        before = len(bot.replies(GROUP))
        await bot.send_unanswered(GROUP, "/list@some_other_bot", **in_group())
        await bot.send_unanswered(GROUP, "/weather", **in_group())  # maybe another bot's
        await bot.send_unanswered(GROUP, "just chatting", **in_group())  # privacy mode
        assert len(bot.replies(GROUP)) == before
        unknown = await bot.send(GROUP, f"/weather@{BOT}", **in_group())
    assert "follows nothing yet" in listed["text"]
    assert "<b>Commands</b>" in helped["text"]
    assert "I do not know /weather" in unknown["text"]


async def test_group_settings_buttons_check_who_presses_them(telegram_api, tmp_path):
    api = telegram_api
    api.set_chat_member(GROUP, ADMIN, "creator")
    async with running_bot(api, tmp_path) as bot:
        view = await bot.send(GROUP, "/settings", **in_group(user_id=ADMIN))
        data = button_data(view, lambda t: t.endswith("Volcanoes"))
        await bot.press(GROUP, MEMBER, data, view["message_id"], edits=False)
        refused = api.calls_to("answerCallbackQuery")[-1].params
        assert followed(bot, GROUP) == []
        await bot.press(GROUP, ADMIN, data, view["message_id"])
        assert followed(bot, GROUP) == ["volcanoes"]
    assert refused["show_alert"] is True
    assert "Only administrators" in refused["text"]


async def test_an_anonymous_group_admin_may_change_the_group(telegram_api, tmp_path):
    api = telegram_api
    api.add_chat(GROUP, "supergroup", title="Readers")
    group = {"id": GROUP, "type": "supergroup", "title": "Readers"}
    async with running_bot(api, tmp_path) as bot:
        api.inject_update(
            {
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": group,
                    "sender_chat": group,  # posted "as the group": only admins can
                    "from": {"id": 1087968824, "is_bot": True, "first_name": "Group"},
                    "text": "/subscribe volcanoes",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 10}],
                }
            }
        )
        await api.wait_for_messages(GROUP, 1)
        assert followed(bot, GROUP) == ["volcanoes"]


async def test_bot_added_to_a_group_greets_it_and_removed_stops_sending(telegram_api, tmp_path):
    api = telegram_api
    api.set_chat_member(GROUP, ADMIN, "administrator")
    async with running_bot(api, tmp_path) as bot:
        api.inject_my_chat_member(
            GROUP, chat_type="group", old_status="left", new_status="member", user_id=ADMIN
        )
        [hello] = await api.wait_for_messages(GROUP, 1)
        await bot.send(GROUP, "/subscribe volcanoes", **in_group(user_id=ADMIN))
        story = article("v1", "Volcano erupts")
        assert recipients(bot, story) == [GROUP]

        update = api.inject_my_chat_member(
            GROUP, chat_type="group", old_status="member", new_status="kicked", user_id=ADMIN
        )
        await bot.processed(update)
        assert not bot.store.chats.get(GROUP).active
        assert recipients(bot, story) == []

        update = api.inject_my_chat_member(
            GROUP, chat_type="group", old_status="left", new_status="member", user_id=ADMIN
        )
        await bot.processed(update)
        assert bot.store.chats.get(GROUP).active
        assert recipients(bot, story) == [GROUP]
    assert "administrators choose what it follows" in hello["text"]


async def test_a_group_that_became_a_supergroup_keeps_its_subscriptions(telegram_api, tmp_path):
    api = telegram_api
    api.set_chat_member(GROUP, ADMIN, "administrator")
    new_id = -1009999
    async with running_bot(api, tmp_path) as bot:
        await bot.send(GROUP, "/subscribe volcanoes", **in_group(user_id=ADMIN))
        update = api.inject_update(
            {
                "message": {
                    "message_id": 50,
                    "date": int(time.time()),
                    "chat": {"id": GROUP, "type": "group", "title": "Readers"},
                    "from": {"id": ADMIN, "is_bot": False, "first_name": "Ann"},
                    "migrate_to_chat_id": new_id,
                }
            }
        )
        await bot.processed(update)
        assert followed(bot, new_id) == ["volcanoes"]
        assert bot.store.chats.get(GROUP) is None


# -- channels -------------------------------------------------------------------------------


def make_channel(api, *, user_status: str = "administrator", bot_status: str | None = None):
    api.add_chat(CHANNEL, "channel", title="Korea Watch", username="korea_watch")
    api.set_chat_member(CHANNEL, ADMIN, user_status)
    if bot_status is not None:
        api.set_chat_member(CHANNEL, api.bot_id, bot_status)


async def test_a_channel_admin_attaches_the_channel_from_a_private_chat(telegram_api, tmp_path):
    api = telegram_api
    make_channel(api)
    async with running_bot(api, tmp_path) as bot:
        done = await bot.send(ADMIN, "/subscribe @korea_watch korea-diplomacy")
        assert followed(bot, CHANNEL) == ["korea-diplomacy"]
        assert followed(bot, ADMIN) == []
        channel = bot.store.chats.get(CHANNEL)
        footer = await bot.send(ADMIN, "/footer @korea_watch Join @korea_watch for more")
        listed = await bot.send(ADMIN, "/list @korea_watch")
        own = await bot.send(ADMIN, '/subscribe @korea_watch "kim jong un" -sports')
        asked = [(c.params["chat_id"], c.params["user_id"]) for c in api.calls_to("getChatMember")]
        footer_now = bot.store.chats.get(CHANNEL).footer
    assert (
        "now follow “Korea: diplomacy and security” (korea-diplomacy) in @korea_watch"
        in done["text"]
    )
    assert (channel.type, channel.username, channel.added_by) == ("channel", "korea_watch", ADMIN)
    assert (CHANNEL, ADMIN) in asked and (CHANNEL, api.bot_id) in asked
    assert footer_now == "Join @korea_watch for more" and "@korea_watch" in footer["text"]
    assert "Korea: diplomacy and security" in listed["text"] and "in @korea_watch" in listed["text"]
    assert "your own filter in @korea_watch" in own["text"]


async def test_a_channels_filter_mistakes_get_examples_that_name_the_channel(
    telegram_api, tmp_path
):
    api = telegram_api
    make_channel(api)
    async with running_bot(api, tmp_path) as bot:
        await bot.send(ADMIN, "/subscribe @korea_watch korea-diplomacy")
        unread = await bot.send(ADMIN, "/filter @korea_watch 1 (oops")
        nothing = await bot.send(ADMIN, "/filter @korea_watch 1")
    assert "/filter @korea_watch 1 -sports" in unread["text"], unread["text"]
    assert "/filter @korea_watch 1 -sports" in nothing["text"], nothing["text"]


async def test_attaching_a_channel_needs_both_admins_and_a_real_channel(telegram_api, tmp_path):
    api = telegram_api
    async with running_bot(api, tmp_path) as bot:
        unknown = await bot.send(ADMIN, "/subscribe @nowhere_here korea-diplomacy")
        make_channel(api, user_status="member")
        not_admin = await bot.send(ADMIN, "/subscribe @korea_watch korea-diplomacy")
        make_channel(api, bot_status="member")
        bot_not_admin = await bot.send(ADMIN, "/subscribe @korea_watch korea-diplomacy")
        make_channel(api, bot_status="administrator")
        no_topic = await bot.send(ADMIN, "/subscribe @korea_watch")
        from_group = await bot.send(GROUP, "/subscribe @korea_watch korea-diplomacy", **in_group())
        alias = await bot.send(ADMIN, "/subscribe @north-korea talks")  # a group, not a chat
        assert followed(bot, CHANNEL) == []
        assert followed(bot, ADMIN) == ["query"]
    assert "I cannot find @nowhere_here" in unknown["text"]
    assert "Only administrators of @korea_watch" in not_admin["text"]
    assert "I am not an administrator of @korea_watch" in bot_not_admin["text"]
    assert "/subscribe @korea_watch korea-diplomacy" in no_topic["text"]
    assert "write to me in a private chat" in from_group["text"]
    assert "your own filter" in alias["text"]


async def test_a_channel_is_managed_from_a_private_chat_with_its_own_settings(
    telegram_api, tmp_path
):
    api = telegram_api
    make_channel(api)
    async with running_bot(api, tmp_path) as bot:
        view = await bot.send(ADMIN, "/settings @korea_watch")
        assert "Settings in @korea_watch" in view["text"]
        assert "<code>/quiet @korea_watch 23:00-07:00</code>" in view["text"]
        data = button_data(view, lambda t: t.endswith("Volcanoes"))
        assert data == f"s:{CHANNEL}:t:volcanoes"
        await bot.press(ADMIN, ADMIN, data, view["message_id"])
        assert followed(bot, CHANNEL) == ["volcanoes"] and followed(bot, ADMIN) == []
        await bot.press(ADMIN, ADMIN, f"s:{CHANNEL}:p", view["message_id"])
        assert bot.store.chats.get(CHANNEL).link_preview is True
        assert bot.store.chats.get(ADMIN).link_preview is None

        # no longer an admin there: the same keyboard stops working
        api.set_chat_member(CHANNEL, ADMIN, "member")
        await bot.press(ADMIN, ADMIN, data, view["message_id"], edits=False)
        assert followed(bot, CHANNEL) == ["volcanoes"]
        paused = await bot.send(ADMIN, "/pause @korea_watch")
        assert not bot.store.chats.get(CHANNEL).paused
    assert "Only administrators of @korea_watch" in paused["text"]


async def test_commands_posted_in_a_channel_are_answered_there(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        done = await bot.post_in_channel(CHANNEL, "/subscribe volcanoes", username="lava_news")
        listed = await bot.post_in_channel(CHANNEL, f"/list@{BOT}", username="lava_news")
        assert followed(bot, CHANNEL) == ["volcanoes"]
    assert "now follow “Volcanoes”" in done["text"]
    assert "Volcanoes" in listed["text"]


async def test_removing_the_bot_from_a_channel_stops_alerts_and_adding_it_back_resumes(
    telegram_api, tmp_path
):
    api = telegram_api
    make_channel(api)
    async with running_bot(api, tmp_path) as bot:
        await bot.send(ADMIN, "/subscribe @korea_watch volcanoes")
        story = article("v1", "Volcano erupts")
        assert recipients(bot, story) == [CHANNEL]
        update = api.inject_my_chat_member(
            CHANNEL, chat_type="channel", old_status="administrator", new_status="left"
        )
        await bot.processed(update)
        chat = bot.store.chats.get(CHANNEL)
        assert not chat.active and "removed" in chat.inactive_reason
        assert recipients(bot, story) == []
        # demoted to a plain member, a bot cannot post in a channel either
        update = api.inject_my_chat_member(
            CHANNEL, chat_type="channel", old_status="left", new_status="member"
        )
        await bot.processed(update)
        assert not bot.store.chats.get(CHANNEL).active
        update = api.inject_my_chat_member(
            CHANNEL, chat_type="channel", old_status="member", new_status="administrator"
        )
        await bot.processed(update)
        assert bot.store.chats.get(CHANNEL).active
        assert recipients(bot, story) == [CHANNEL]
        assert api.sent_messages(CHANNEL) == []  # no greeting posted to a channel's readers


async def test_group_replies_follow_the_group_language_once_chosen(telegram_api, tmp_path):
    api = telegram_api
    api.set_chat_member(GROUP, ADMIN, "administrator")
    async with running_bot(api, tmp_path) as bot:
        english = await bot.send(GROUP, "/help", **in_group(user_id=MEMBER))
        korean_user = await bot.send(GROUP, "/help", **in_group(user_id=MEMBER, language_code="ko"))
        await bot.send(GROUP, "/language ko", **in_group(user_id=ADMIN))
        everyone = await bot.send(GROUP, "/list", **in_group(user_id=MEMBER, language_code="en"))
        offered = await bot.send(GROUP, "/language", **in_group(user_id=MEMBER))
    assert "<b>Commands</b>" in english["text"]
    assert "<b>명령</b>" in korean_user["text"]
    assert "구독하지 않습니다" in everyone["text"]
    assert [t for t, _ in buttons(offered)] == ["English", "한국어"]


def test_a_chat_that_blocks_the_bot_has_its_queue_skipped(store):
    feed = store.feeds.upsert("https://a.example/rss")
    [stored] = store.articles.add_new(
        feed.id, [Article(id="1", title="A headline long enough here")]
    )
    store.chats.ensure(7)
    store.outbox.enqueue([Alert(chat_id=7, article_key=stored.key, topic="t", html="x")])
    chats.deactivate_chat(store, 7, "kicked")
    chats.register_chat(store, chats.ChatInfo(chat_id=7))  # back again
    assert store.outbox.due() == []  # old news is not sent on return


def test_a_channel_named_by_username_keeps_its_subscriptions_when_telegram_is_unreachable(store):
    config = config_from_dict(
        {"channels": [{"chat_id": "@korea_watch", "topics": ["korea-diplomacy"]}]}, env={}
    )
    # an earlier start resolved @korea_watch to its id
    store.chats.configure(-100777, footer="")
    store.chats.ensure(-100777, type="channel", username="korea_watch")
    store.subscriptions.add(-100777, "korea-diplomacy", from_config=True)
    sync_config(store, config)  # a restart or /reload, before getChat could answer
    assert [s.topic_id for s in store.subscriptions.for_chat(-100777)] == ["korea-diplomacy"]


def test_a_channel_removed_from_the_config_gets_its_own_settings_back(store):
    config = config_from_dict(
        {"channels": [{"chat_id": -100888, "topics": ["korea-diplomacy"], "footer": "Theirs."}]},
        env={},
    )
    sync_config(store, config)
    assert store.chats.get(-100888).from_config
    sync_config(store, config_from_dict({}, env={}))
    chat = store.chats.get(-100888)
    assert not chat.from_config and chat.footer == ""
    assert store.subscriptions.for_chat(-100888) == []


async def test_a_configured_channels_previews_pictures_and_template_are_the_config_files(
    telegram_api, tmp_path
):
    api = telegram_api
    make_channel(api)
    channels = [{"chat_id": CHANNEL, "topics": ["volcanoes"], "image": "small"}]
    async with running_bot(api, tmp_path, channels=channels) as bot:
        view = await bot.send(ADMIN, "/settings @korea_watch")
        await bot.press(ADMIN, ADMIN, f"s:{CHANNEL}:i", view["message_id"])
        pictures = api.calls_to("answerCallbackQuery")[-1].params
        await bot.press(ADMIN, ADMIN, f"s:{CHANNEL}:p", view["message_id"])
        previews = api.calls_to("answerCallbackQuery")[-1].params
        template = await bot.send(ADMIN, "/template @korea_watch title, summary")
        chat = bot.store.chats.get(CHANNEL)
        # what a start or /reload writes: a change made in the chat would be lost there
        assert (chat.image, chat.link_preview, chat.template) == ("small", None, "")
    for answer in (pictures, previews):
        assert "configuration file" in answer["text"] and answer.get("show_alert")
    assert "comes from the bot's configuration file" in template["text"]


async def test_time_zone_advice_for_a_channel_names_that_channel(telegram_api, tmp_path):
    private = -1009876  # a private channel: no @username, named by its id
    telegram_api.add_chat(private, "channel", title="Staff Wire")
    telegram_api.set_chat_member(private, ADMIN, "administrator")
    make_channel(telegram_api)
    async with running_bot(telegram_api, tmp_path) as bot:
        by_name = await bot.send(ADMIN, "/timezone @korea_watch Asia/Seol")
        by_id = await bot.send(ADMIN, f"/timezone {private} Asia/Seol")
        quiet = await bot.send(ADMIN, "/quiet @korea_watch 23:00-07:00")
    assert "Did you mean <code>/timezone @korea_watch Asia/Seoul</code>?" in by_name["text"]
    assert f"Did you mean <code>/timezone {private} Asia/Seoul</code>?" in by_id["text"]
    assert "for example <code>/timezone @korea_watch Asia/Seoul</code>" in quiet["text"]
