"""bot.delivery.aiohttp_request: python-telegram-bot's calls made with aiohttp, against the
fake Bot API: JSON bodies, files as multipart, and the errors PTB expects."""

from __future__ import annotations

import socket

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.delivery.aiohttp_request import AiohttpRequest
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers import TOKEN


async def test_a_send_with_objects_goes_as_json_and_comes_back_as_a_message() -> None:
    async with (
        FakeBotAPI(token=TOKEN) as api,
        Bot(TOKEN, base_url=api.base_url, request=AiohttpRequest()) as bot,
    ):
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Read", url="https://a.example")]])
        sent = await bot.send_message(
            42, "<b>hello</b> ü", parse_mode="HTML", reply_markup=keyboard
        )
        assert sent.message_id == 1 and sent.text == "hello ü"
        (params,) = [call.params for call in api.calls_to("sendMessage")]
        assert params["reply_markup"] == keyboard.to_dict()
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(42, "<b>open", parse_mode="HTML")


async def test_a_file_goes_as_multipart() -> None:
    async with (
        FakeBotAPI(token=TOKEN) as api,
        Bot(TOKEN, base_url=api.base_url, request=AiohttpRequest()) as bot,
    ):
        await bot.send_photo(42, photo=b"\x89PNG not really", caption="a picture")
        (params,) = [call.params for call in api.calls_to("sendPhoto")]
        assert params["caption"] == "a picture"
        assert params["photo"]["size"] == len(b"\x89PNG not really")


async def test_a_slow_answer_is_a_timeout_and_no_server_a_network_error() -> None:
    async with (
        FakeBotAPI(token=TOKEN) as api,
        Bot(TOKEN, base_url=api.base_url, request=AiohttpRequest(read_timeout=0.2)) as bot,
    ):
        api.slow_next("sendMessage", 2.0)
        with pytest.raises(TimedOut):
            await bot.send_message(42, "late")
        assert [m["text"] for m in api.sent_messages(42)] == ["late"]
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
        with pytest.raises(NetworkError) as caught:
            await bot.get_me()
        assert not isinstance(caught.value, TimedOut)
    finally:
        await request.shutdown()
