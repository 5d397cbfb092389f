"""A fake OpenAI-compatible chat-completions server on loopback (aiohttp).

``/v1/chat/completions`` answers with ``answers[language]``, the language being the one
the system prompt asks the summary to be written in ("Write the summary in Korean."),
so one server serves English and Korean readers at once.  Every request is recorded.
``mode`` = "ok" | "error" (HTTP 500) | "slow" (waits until ``release`` is set).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_LANGUAGE = re.compile(r"Write the summary in (\w+)\.")


@dataclass
class FakeChatCompletions:
    answers: dict[str, str] = field(default_factory=dict)
    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""
    _runner: web.AppRunner | None = None

    def languages_asked(self) -> list[str]:
        """The language each request asked for, in order ("English", "Korean")."""
        out = []
        for request in self.requests:
            system = request["messages"][0]["content"]
            match = _LANGUAGE.search(system)
            out.append(match.group(1) if match else "")
        return out

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if self.mode == "error":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        if self.mode == "slow":
            await self.release.wait()
        match = _LANGUAGE.search(body["messages"][0]["content"])
        language = match.group(1) if match else "English"
        content = self.answers.get(language, "")
        return web.json_response(
            {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        self.release.set()  # let a held "slow" answer finish
        if self._runner is not None:
            await self._runner.cleanup()
