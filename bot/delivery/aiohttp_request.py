"""python-telegram-bot's requests made with aiohttp instead of httpx.

A Bot API call through PTB's own ``HTTPXRequest`` costs about 0.5 ms of CPU on this machine
before PTB itself has done anything: httpx builds a request and a response object, httpcore
polls its connection pool and h11 writes the headers and the body in two sends.  aiohttp's
client, with its C parser, one write per request and a keep-alive pool, does the same
round trip in about a quarter of that (``bench/fanout.py --paid`` sends 1,000 messages a
second to measure it).  aiohttp is a dependency already (the webhook server).

Bodies go as JSON (``application/json``, which the Bot API takes), or as multipart form
data when the call uploads a file.  Timeouts become ``telegram.error.TimedOut`` and other
transport errors ``telegram.error.NetworkError``, as with ``HTTPXRequest``, so PTB and
``bot.delivery.telegram_sink`` see the same errors.  No proxy support: use ``HTTPXRequest``
(the default of python-telegram-bot) for that.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_JSON = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """A PTB ``BaseRequest`` over one ``aiohttp.ClientSession`` (made in :meth:`initialize`).

    ``connection_pool_size`` connections are kept alive to the Bot API; the timeouts are
    the defaults for calls that do not pass their own (PTB's keyword arguments).
    ``write_timeout`` is accepted as ``HTTPXRequest`` takes it, and not used (see
    :meth:`_timeout`).
    """

    __slots__ = (
        "_connect_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
    )

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        del write_timeout  # accepted as HTTPXRequest takes it; unused (see above)
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=30.0),
                headers={"User-Agent": self.USER_AGENT},
                # PTB reads the JSON itself; nothing of aiohttp's cookie handling is needed
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _timeout(self, read: Any, connect: Any, pool: Any) -> aiohttp.ClientTimeout:
        def given(value: Any, default: float | None) -> float | None:
            return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value

        # aiohttp has no write timeout of its own (a body here is a few kilobytes of JSON,
        # written at once): ``sock_read`` is the wait for the answer; its ``connect`` is the
        # wait for a free connection of the pool plus the connecting
        connect_s = given(connect, self._connect_timeout)
        pool_s = given(pool, self._pool_timeout)
        acquire = None if connect_s is None or pool_s is None else connect_s + pool_s
        return aiohttp.ClientTimeout(
            total=None,
            connect=acquire,
            sock_connect=connect_s,
            sock_read=given(read, self._read_timeout),
        )

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        timeout = self._timeout(read_timeout, connect_timeout, pool_timeout)
        body: Any = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    if name not in files:
                        form.add_field(name, value)
                for name, (filename, content, mimetype) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                body = form
            elif parameters := request_data.parameters:
                # the values as JSON itself (not PTB's json_payload, whose nested values are
                # strings of JSON; Telegram takes both, a stricter server only this)
                body, headers = json.dumps(parameters).encode(), _JSON
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
