"""The optional LLM summariser against a real chat-completions server on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bot.records import Article
from bot.summary.extractive import summarize
from bot.summary.llm import METHOD_FALLBACK, METHOD_LLM, LLMSummarizer

ARTICLE = Article(
    id="a1",
    title="Japan and Australia sign defence pact",
    content=(
        "TOKYO (REUTERS) - Japan and Australia signed a landmark defence pact on Thursday that "
        "lets their troops train on each other's soil.\n\n"
        "The Reciprocal Access Agreement sets the legal rules for joint exercises.\n\n"
        "China's foreign ministry said the agreement should not target any third party.\n\n"
        "Join ST's Telegram channel and get the latest breaking news delivered to you."
    ),
)
GOOD_ANSWER = "Japan and Australia signed a defence pact letting their troops train together."

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeChatServer:
    """A chat-completions endpoint whose behaviour each test sets with ``handler``."""

    handler: Handler | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        self.headers.append(dict(request.headers))
        assert self.handler is not None
        return await self.handler(request)

    def answer(self, content: Any) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.json_response(
                {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
            )

        self.handler = handler


@pytest.fixture
async def chat_server() -> AsyncIterator[FakeChatServer]:
    server = FakeChatServer()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.dispatch)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield server
    finally:
        server.release.set()  # let a held "slow" handler finish
        await runner.cleanup()


async def test_fast_answer_becomes_the_summary(chat_server):
    chat_server.answer(GOOD_ANSWER)
    async with LLMSummarizer(chat_server.base_url, "tiny-model", api_key="k-123") as llm:
        summary = await llm.summarize(ARTICLE)
    assert summary.method == METHOD_LLM
    assert summary.text == GOOD_ANSWER
    assert summary.article_id == "a1"


async def test_request_carries_model_budget_article_and_key(chat_server):
    chat_server.answer(GOOD_ANSWER)
    async with LLMSummarizer(chat_server.base_url, "tiny-model", api_key="k-123") as llm:
        await llm.summarize(ARTICLE, max_chars=300)
    [request] = chat_server.requests
    assert request["model"] == "tiny-model"
    system, user = request["messages"]
    assert system["role"] == "system" and "300 characters" in system["content"]
    assert "Japan and Australia signed a landmark defence pact" in user["content"]
    assert "Join ST" not in user["content"]  # boilerplate is stripped before the model sees it
    assert "TOKYO (REUTERS)" not in user["content"]
    assert chat_server.headers[0]["Authorization"] == "Bearer k-123"


async def test_no_authorization_header_without_a_key(chat_server):
    chat_server.answer(GOOD_ANSWER)
    async with LLMSummarizer(chat_server.base_url, "tiny-model") as llm:
        await llm.summarize(ARTICLE)
    assert "Authorization" not in chat_server.headers[0]


async def test_slow_answer_beyond_the_timeout_falls_back(chat_server):
    async def slow(request: web.Request) -> web.StreamResponse:
        await chat_server.release.wait()  # held until the test is over
        return web.json_response({"choices": [{"message": {"content": GOOD_ANSWER}}]})

    chat_server.handler = slow
    async with LLMSummarizer(chat_server.base_url, "tiny-model", timeout=0.3) as llm:
        summary = await asyncio.wait_for(llm.summarize(ARTICLE), timeout=5)
    assert summary.method == METHOD_FALLBACK
    assert summary.text == summarize(ARTICLE).text


async def test_server_error_falls_back(chat_server):
    async def error(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": {"message": "model not loaded"}}, status=500)

    chat_server.handler = error
    async with LLMSummarizer(chat_server.base_url, "tiny-model") as llm:
        summary = await llm.summarize(ARTICLE)
    assert summary.method == METHOD_FALLBACK
    assert summary.text == summarize(ARTICLE).text


@pytest.mark.parametrize(
    "body",
    [
        "this is not json {",
        json.dumps({"choices": []}),
        json.dumps({"choices": [{"message": {}}]}),
        json.dumps({"choices": [{"message": {"content": None}}]}),
        json.dumps(["a", "list"]),
        json.dumps({"object": "error"}),
    ],
)
async def test_garbage_json_falls_back(chat_server, body):
    async def garbage(request: web.Request) -> web.StreamResponse:
        return web.Response(text=body, content_type="application/json")

    chat_server.handler = garbage
    async with LLMSummarizer(chat_server.base_url, "tiny-model") as llm:
        summary = await llm.summarize(ARTICLE)
    assert summary.method == METHOD_FALLBACK
    assert summary.text


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   ",
        "I'm sorry, but I cannot summarise this article.",
        "Japan and Australia sign defence pact",  # the title again
        "x" * 900,  # one endless "sentence" over the budget
    ],
)
async def test_bad_answers_fall_back(chat_server, answer):
    chat_server.answer(answer)
    async with LLMSummarizer(chat_server.base_url, "tiny-model") as llm:
        summary = await llm.summarize(ARTICLE)
    assert summary.method == METHOD_FALLBACK


async def test_answer_is_tidied_and_trimmed_to_whole_sentences(chat_server):
    chat_server.answer(
        "Here is a summary:\n\n**Japan and Australia signed a defence pact on Thursday.** "
        "It lets their troops train on each other's soil. " + "China objected loudly. " * 30
    )
    async with LLMSummarizer(chat_server.base_url, "tiny-model", max_chars=120) as llm:
        summary = await llm.summarize(ARTICLE)
    assert summary.method == METHOD_LLM
    assert summary.text == (
        "Japan and Australia signed a defence pact on Thursday. "
        "It lets their troops train on each other's soil."
    )


async def test_unreachable_server_falls_back():
    with socket.socket() as probe:  # a port that was free a moment ago: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with LLMSummarizer(f"http://127.0.0.1:{port}/v1", "tiny-model", timeout=2) as llm:
        summary = await llm.summarize(ARTICLE)
    assert summary.method == METHOD_FALLBACK


async def test_title_only_article_is_not_sent_to_the_model(chat_server):
    chat_server.answer(GOOD_ANSWER)
    async with LLMSummarizer(chat_server.base_url, "tiny-model") as llm:
        summary = await llm.summarize(Article(id="t", title="Storm closes three ports"))
    assert chat_server.requests == []
    assert summary.text == "Storm closes three ports"


def test_base_url_and_model_are_required():
    with pytest.raises(ValueError, match="base_url"):
        LLMSummarizer("", "m")
    with pytest.raises(ValueError, match="model"):
        LLMSummarizer("http://127.0.0.1:1/v1", "")
