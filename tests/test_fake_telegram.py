"""The fake Telegram Bot API, driven by the real python-telegram-bot client and by raw HTTP."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dtm
import logging
import warnings
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    ChatMemberAdministrator,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.telegram_api import FakeBotAPI, parse_telegram_html, validate_telegram_html

# httpx logs every URL, token included, at INFO.
logging.getLogger("httpx").setLevel(logging.WARNING)

TOKEN = "123456:TEST-TOKEN"

# PTB's own RetryAfter.__init__ reads the deprecated int form of retry_after.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN, bot_username="newsalert_test_bot") as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url) as client:
        yield client


def retry_seconds(error: RetryAfter) -> float:
    """RetryAfter.retry_after in seconds (an int or a timedelta, depending on PTB settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# ---- basics ----------------------------------------------------------------------------------


async def test_get_me_returns_the_configured_bot(api: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "newsalert_test_bot"
    assert me.id == 123456
    assert me.is_bot and me.can_join_groups
    assert api.base_url == f"http://127.0.0.1:{api.port}/bot"


async def test_unknown_token_raises_invalid_token(api: FakeBotAPI) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("999:WRONG", base_url=api.base_url):
            pass
    assert api.calls[-1].error_code == 401


async def test_raw_http_shapes_for_errors_and_encodings(api: FakeBotAPI) -> None:
    async with httpx.AsyncClient() as client:
        missing = await client.post(api.method_url("noSuchMethod"))
        assert missing.status_code == 404
        assert missing.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
        wrong = await client.get(f"{api.base_url}1:NOPE/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}

        by_query = await client.get(
            api.method_url("sendmessage"), params={"chat_id": 7, "text": "q"}
        )
        by_json = await client.post(api.method_url("sendMessage"), json={"chat_id": 7, "text": "j"})
        by_form = await client.post(
            api.method_url("sendMessage"),
            data={"chat_id": "7", "text": "123", "reply_markup": '{"inline_keyboard": []}'},
        )
        by_multipart = await client.post(
            api.method_url("sendPhoto"),
            data={"chat_id": "7", "caption": "<b>c</b>", "parse_mode": "HTML"},
            files={"photo": ("p.jpg", b"\xff\xd8 fake jpeg", "image/jpeg")},
        )
    for response in (by_query, by_json, by_form, by_multipart):
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is True
    assert [r.json()["result"]["message_id"] for r in (by_query, by_json, by_form)] == [1, 2, 3]
    assert by_multipart.json()["result"]["caption"] == "c"
    # form values are decoded: numbers and JSON become typed, but text stays text
    form_params = api.sent_messages(7)[2]
    assert form_params["chat_id"] == 7
    assert form_params["text"] == "123"
    assert form_params["reply_markup"] == {"inline_keyboard": []}
    assert api.calls_to("sendPhoto")[0].params["photo"]["size"] == len(b"\xff\xd8 fake jpeg")
    assert api.calls_to("sendMessage")[0].method == "sendMessage"  # canonical name recorded


# ---- messages --------------------------------------------------------------------------------


async def test_send_message_returns_a_full_message_and_records_its_options(
    api: FakeBotAPI, bot: Bot
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    first = await bot.send_message(
        42,
        "<b>Seoul</b> &amp; Washington",
        parse_mode="HTML",
        reply_markup=keyboard,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        disable_notification=True,
    )
    second = await bot.send_message(42, "two")
    elsewhere = await bot.send_message(-100777, "in a group")

    assert (first.message_id, second.message_id, elsewhere.message_id) == (1, 2, 1)
    assert first.text == "Seoul & Washington"  # as Telegram returns it: after entity parsing
    assert first.entities[0].type == "bold" and first.entities[0].length == 5
    assert first.chat.id == 42 and first.from_user.username == "newsalert_test_bot"
    assert first.reply_markup == keyboard
    assert abs(first.date.timestamp() - dtm.datetime.now(dtm.UTC).timestamp()) < 60

    [sent, _] = api.sent_messages(42)
    assert sent["text"] == "<b>Seoul</b> &amp; Washington"
    assert sent["parse_mode"] == "HTML"
    assert sent["disable_notification"] is True
    assert sent["link_preview_options"] == {"is_disabled": True}
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "more:1"
    assert sent["message_id"] == 1
    assert [m["text"] for m in api.sent_messages()] == [
        "<b>Seoul</b> &amp; Washington",
        "two",
        "in a group",
    ]


async def test_edit_and_delete_follow_telegram_rules(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(42, "draft")
    edited = await bot.edit_message_text("<i>final</i>", 42, sent.message_id, parse_mode="HTML")
    assert edited.text == "final" and edited.edit_date is not None
    assert api.message(42, sent.message_id)["text"] == "final"

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("<i>final</i>", 42, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", 42, 999)

    assert await bot.delete_message(42, sent.message_id) is True
    assert api.message(42, sent.message_id) is None
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(42, sent.message_id)


async def test_invalid_html_is_rejected_like_telegram(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r'(?i)Can\'t parse entities: unsupported start tag "br"'):
        await bot.send_message(42, "line<br>line", parse_mode="HTML")
    with pytest.raises(
        BadRequest, match=r"(?i)can't parse entities: can't find end tag corresponding to start tag"
    ):
        await bot.send_message(42, "<b>open", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)Message is too long"):
        await bot.send_message(42, "x" * 4097)
    assert api.sent_messages() == []
    # the same text without parse_mode is plain text, and is accepted
    assert (await bot.send_message(42, "line<br>line")).text == "line<br>line"


async def test_commands_are_kept_per_scope_and_language(api: FakeBotAPI, bot: Bot) -> None:
    group_de = [BotCommand("folgen", "Thema folgen")]
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands(group_de, scope=BotCommandScopeAllGroupChats(), language_code="de")

    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    got = await bot.get_my_commands(scope=BotCommandScopeAllGroupChats(), language_code="de")
    assert list(got) == group_de
    assert api.commands({"type": "all_group_chats"}, "de") == [
        {"command": "folgen", "description": "Thema folgen"}
    ]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_chat_members_and_chat_info(api: FakeBotAPI, bot: Bot) -> None:
    channel = -1001234
    api.add_chat(channel, "channel", title="Korea Desk", username="koreadesk")
    api.set_chat_member(channel, 555, "creator")

    admins = await bot.get_chat_administrators(channel)
    assert {type(a) for a in admins} == {ChatMemberAdministrator, ChatMemberOwner}
    assert isinstance(await bot.get_chat_member(channel, api.bot_id), ChatMemberAdministrator)
    chat = await bot.get_chat("@koreadesk")
    assert (chat.id, chat.type, chat.title) == (channel, "channel", "Korea Desk")

    api.set_chat_member(channel, api.bot_id, "member")
    with pytest.raises(BadRequest, match=r"(?i)Need administrator rights in the channel chat"):
        await bot.send_message(channel, "news")
    api.set_chat_member(channel, 777, "kicked")
    assert (await bot.get_chat_member(channel, 777)).status == "kicked"
    with pytest.raises(BadRequest, match=r"(?i)Chat not found"):
        await bot.send_message("@nobody_here", "hi")


# ---- getUpdates --------------------------------------------------------------------------------


async def test_long_poll_waits_until_an_update_arrives(api: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for(lambda: api.calls_to("getUpdates"))
    await asyncio.sleep(0)  # let the server look for updates once more
    assert not poll.done()  # nothing queued yet: the poll is held open

    update_id = api.inject_message(42, "hello")
    updates = await asyncio.wait_for(poll, 5)
    assert [u.update_id for u in updates] == [update_id]
    assert updates[0].message.text == "hello"


async def test_get_updates_honours_offset_limit_and_allowed_updates(
    api: FakeBotAPI, bot: Bot
) -> None:
    ids = [api.inject_message(42, f"m{i}") for i in range(3)]
    api.inject_my_chat_member(
        -1009, chat_type="channel", old_status="left", new_status="administrator"
    )

    first = await bot.get_updates(limit=2, timeout=0)
    assert [u.update_id for u in first] == ids[:2]
    rest = await bot.get_updates(offset=ids[1] + 1, timeout=0, allowed_updates=["message"])
    assert [u.update_id for u in rest] == ids[2:]  # my_chat_member not wanted, so dropped
    assert [u["update_id"] for u in api.pending_updates] == ids[2:]  # the first two confirmed

    empty = await bot.get_updates(offset=ids[2] + 1, timeout=0.2)
    assert empty == () and api.pending_updates == []


async def test_injected_updates_parse_as_ptb_objects(api: FakeBotAPI, bot: Bot) -> None:
    api.inject_message(-100555, "/follow@newsalert_test_bot korea", chat_type="supergroup",
                       user_id=9, chat_title="Readers")  # fmt: skip
    api.inject_channel_post(-100666, "breaking", title="Wire")
    api.inject_my_chat_member(8, chat_type="private", old_status="member", new_status="kicked")
    [msg, post, member] = await bot.get_updates(timeout=0)

    assert msg.message.chat.type == "supergroup" and msg.message.chat.title == "Readers"
    assert msg.message.from_user.id == 9
    assert msg.message.parse_entities(["bot_command"]) == {
        msg.message.entities[0]: "/follow@newsalert_test_bot"
    }
    assert post.channel_post.chat.type == "channel" and post.channel_post.text == "breaking"
    assert post.channel_post.sender_chat.id == -100666
    change = member.my_chat_member
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("member", "kicked")
    assert change.new_chat_member.user.id == api.bot_id
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(8, "still there?")


async def test_callback_queries_are_answered_once(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(
        42,
        "pick",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
    )
    api.inject_callback_query(42, 42, "a", sent.message_id)
    [update] = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query.data == "a" and query.message.message_id == sent.message_id
    assert query.message.text == "pick"

    assert await bot.answer_callback_query(query.id, text="ok") is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)


async def test_a_second_poller_ends_the_first_with_conflict(api: FakeBotAPI, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for(lambda: len(api.calls_to("getUpdates")) == 1)
    async with Bot(TOKEN, base_url=api.base_url) as other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 5)


async def test_application_replies_to_start_through_long_polling(api: FakeBotAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Greets the user."""
        await update.effective_message.reply_html(
            f"Hello <b>{update.effective_user.first_name}</b>"
        )

    app = ApplicationBuilder().token(TOKEN).base_url(api.base_url).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            api.inject_message(4242, "/start", first_name="Min-ji")
            [reply] = await api.wait_for_messages(4242, 1, timeout=5)
            # the update is confirmed by the next poll
            await api.wait_for(lambda: not api.pending_updates, timeout=5)
        finally:
            await app.updater.stop()
            await app.stop()
    assert reply["text"] == "Hello <b>Min-ji</b>"
    assert reply["parse_mode"] == "HTML"
    assert api.message(4242, reply["message_id"])["text"] == "Hello Min-ji"
    assert api.calls_to("deleteWebhook")  # PTB clears the webhook before polling


# ---- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "expected", "check"),
    [
        ({"error_code": 429, "retry_after": 7}, RetryAfter, lambda e: retry_seconds(e) == 7),
        (
            {"error_code": 400, "migrate_to_chat_id": -1009876},
            ChatMigrated,
            lambda e: e.new_chat_id == -1009876,
        ),
        ({"error_code": 403}, Forbidden, lambda e: "blocked by the user" in e.message),
        ({"error_code": 400}, BadRequest, lambda e: e.message == "Chat not found"),
        (
            {"error_code": 400, "description": "Bad Request: can't parse entities: whatever"},
            BadRequest,
            lambda e: "parse entities" in e.message,
        ),
        ({"error_code": 502}, NetworkError, lambda e: "Bad Gateway" in e.message),
    ],
)
async def test_injected_errors_surface_as_ptb_exceptions(
    api: FakeBotAPI, bot: Bot, fault: dict, expected: type[Exception], check
) -> None:
    api.fail_next("sendMessage", **fault)
    with pytest.raises(expected) as caught:
        await bot.send_message(42, "hi")
    assert check(caught.value)
    assert (await bot.send_message(42, "again")).message_id == 1  # one failure only
    assert api.calls_to("sendMessage")[0].error_code == fault["error_code"]


async def test_raw_error_bodies_match_telegram(api: FakeBotAPI) -> None:
    api.fail_next("sendMessage", error_code=429, retry_after=3)
    api.fail_next("sendMessage", error_code=400, migrate_to_chat_id=-1001)
    async with httpx.AsyncClient() as client:
        bodies = [
            (await client.post(api.method_url("sendMessage"), json={"chat_id": 1, "text": "x"}))
            for _ in range(2)
        ]
    assert [b.status_code for b in bodies] == [429, 400]
    assert bodies[0].json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert bodies[1].json()["parameters"] == {"migrate_to_chat_id": -1001}
    assert bodies[1].json()["description"] == (
        "Bad Request: group chat was upgraded to a supergroup chat"
    )


async def test_fail_next_can_target_one_chat_and_repeat(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", error_code=403, chat_id=7, times=2)
    assert (await bot.send_message(8, "other chat")).message_id == 1
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(7, "blocked twice")
    assert (await bot.send_message(7, "third time")).message_id == 1


async def test_blocked_and_migrated_chats(api: FakeBotAPI, bot: Bot) -> None:
    api.block_chat(7)
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(7, "hi")
    api.unblock_chat(7)
    assert (await bot.send_message(7, "back")).text == "back"

    api.migrate_chat(-555, -1000555)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-555, "hi")
    assert caught.value.new_chat_id == -1000555
    assert (await bot.send_message(-1000555, "moved")).chat.type == "supergroup"


async def test_slow_answer_times_out_the_client_but_the_send_happened(api: FakeBotAPI) -> None:
    api.slow_next("sendMessage", 2.0)
    request = HTTPXRequest(read_timeout=0.2)
    async with Bot(TOKEN, base_url=api.base_url, request=request) as impatient:
        with pytest.raises(TimedOut):
            await impatient.send_message(42, "late")
    assert [m["text"] for m in api.sent_messages(42)] == ["late"]


async def test_flood_limits_answer_429_with_retry_after() -> None:
    async with FakeBotAPI(
        token=TOKEN, enforce_limits=True, per_chat_burst=3, per_group_per_minute=4
    ) as api:
        async with Bot(TOKEN, base_url=api.base_url) as bot:
            for i in range(3):
                await bot.send_message(42, f"burst {i}")
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(42, "one too many")
            assert 1 <= retry_seconds(caught.value) <= 3
            assert (await bot.send_message(43, "another chat is fine")).message_id == 1

            for chat in (-1001, -1001, -1001):
                await bot.send_message(chat, "group")
            await bot.send_message(-1002, "other group")
            with pytest.raises(RetryAfter):
                await bot.send_message(-1001, "per-chat burst used up in the group")
        assert api.flood_errors == 2
        assert len(api.sent_messages(42)) == 3


async def test_flood_limits_are_off_by_default(api: FakeBotAPI, bot: Bot) -> None:
    for i in range(10):
        await bot.send_message(42, f"m{i}")
    assert api.flood_errors == 0


# ---- lifecycle -------------------------------------------------------------------------------


async def test_stop_answers_pending_long_polls_instead_of_hanging() -> None:
    api = FakeBotAPI(token=TOKEN)
    await api.start()
    async with Bot(TOKEN, base_url=api.base_url) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await api.wait_for(lambda: api.calls_to("getUpdates"))
        await asyncio.wait_for(api.stop(), 5)
        assert await asyncio.wait_for(poll, 5) == ()


async def test_wait_for_times_out_with_a_useful_message(api: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(1, "only one")
    with pytest.raises(TimeoutError, match=r"2 message\(s\) sent to chat 1.*sendMessage"):
        await api.wait_for_messages(1, 2, timeout=0.1)


def test_in_thread_serves_synchronous_callers() -> None:
    with FakeBotAPI.in_thread(token=TOKEN) as api:
        with httpx.Client() as client:
            url = api.method_url("getUpdates")
            update_id = api.inject_message(42, "/start")
            [update] = client.post(url, data={"timeout": "5"}).json()["result"]
            assert update["update_id"] == update_id
            client.post(api.method_url("sendMessage"), data={"chat_id": "42", "text": "hi"})
        [sent] = api.wait_for_messages(42, 1, timeout=5)
        assert sent["text"] == "hi"

        # a long poll held open on the server's loop wakes when this thread injects an update
        with concurrent.futures.ThreadPoolExecutor(1) as pool, httpx.Client(timeout=10) as client:
            poll = pool.submit(
                client.post, url, data={"offset": str(update_id + 1), "timeout": "30"}
            )
            api.wait_for(lambda: len(api.calls_to("getUpdates")) == 2, timeout=5)
            later_id = api.inject_message(42, "later")
            answer = poll.result(timeout=5).json()
        assert [u["update_id"] for u in answer["result"]] == [later_id]
        with pytest.raises(TimeoutError):
            api.wait_for(lambda: False, timeout=0.05)


# ---- the HTML checker on its own ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "<b>bold</b> <strong>s</strong> <i>i</i><em>e</em><u>u</u><ins>i</ins><s>s</s>"
        "<strike>s</strike><del>d</del>",
        '<span class="tg-spoiler">x</span> <tg-spoiler>y</tg-spoiler>',
        '<a href="https://example.com/?a=1&amp;b=2">link</a>',
        '<pre><code class="language-python">print(1 &lt; 2)</code></pre>',
        "<blockquote expandable>quote</blockquote>",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "&lt;&gt;&amp;&quot;&#39;&#x27; <b><i>nested</i></b>",
        "<B>upper-case tags</B>",
    ],
)
def test_valid_telegram_html_is_accepted(text: str) -> None:
    assert validate_telegram_html(text) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a<br>b", 'Unsupported start tag "br" at byte offset 1'),
        ("<p>x</p>", 'Unsupported start tag "p"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ('<span class="red">x</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("é<br>", "byte offset 2"),  # offsets count UTF-8 bytes, as Telegram's do
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;"'),
        ("AT&T", 'Unescaped "&"'),
        ("   ", "message text is empty"),
        ("x" * 4097, "message is too long"),
        ("😀" * 2049, "message is too long"),  # 4098 UTF-16 code units
    ],
)
def test_invalid_telegram_html_is_explained(text: str, problem: str) -> None:
    found = validate_telegram_html(text)
    assert found is not None and problem in found


def test_length_is_counted_after_entity_parsing() -> None:
    assert validate_telegram_html("<b>" + "&amp;" * 4096 + "</b>") is None
    assert validate_telegram_html("&amp;" * 4097) is not None


def test_non_strict_mode_lets_stray_ampersands_through_like_telegram() -> None:
    assert validate_telegram_html("AT&T &nbsp;", strict=False) is None
    assert parse_telegram_html("AT&T &nbsp;", strict=False).text == "AT&T &nbsp;"


def test_parsed_entities_use_utf16_offsets() -> None:
    parsed = parse_telegram_html('😀 <b>bold</b> <a href="https://x.test">x</a>')
    assert parsed.text == "😀 bold x"
    assert parsed.entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "offset": 8, "length": 1, "url": "https://x.test"},
    ]
