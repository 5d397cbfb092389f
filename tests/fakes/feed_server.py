"""A local feed server for tests: serves bodies with ETag/Last-Modified and
misbehaves on demand.

    async with FeedServer() as server:
        server.set("/feed.xml", rss_bytes)
        server.fault("/slow.xml", "timeout")
        result = await fetcher.fetch(server.url("/feed.xml"))

For synchronous callers (CLI subprocess tests) ``with FeedServer.in_thread()
as server:`` runs it on its own event loop in a background thread.

Faults (``server.fault(path, kind, **kw)``):

================ ==============================================================
``timeout``       hang ``delay`` s (default 30), then serve the set body (a slow
                  server) or 504; with ``after_headers=True`` send headers and
                  half the body, then hang
``status``        answer ``code`` (default 500), optional ``retry_after``,
                  ``www_authenticate`` and ``body``
``redirect``      ``code`` (default 302) to ``to`` (a path or a URL)
``redirect_loop`` redirect forever between ``path`` and ``path?loop=1``
``huge``          stream ``size`` bytes (default 50 MB) of feed-like junk without
                  holding them; ``content_length=True`` declares the size
``truncated``     the set body cut at ``at`` bytes (default: half); with
                  ``declare_full=True`` (default) Content-Length promises the
                  whole body and the connection drops early
``gzip_no_header`` the set body gzipped, sent without Content-Encoding
``gzip_bomb``     Content-Encoding gzip of ``size`` zero bytes (default 64 MB)
``wrong_charset`` the set body (str encoded as ``actual``, default utf-8) served
                  with ``charset=declared`` (default iso-8859-1)
``empty``         200 with an empty body
``html``          200 with an HTML page (``body`` to choose it)
================ ==============================================================

Hanging handlers wait on an event that :meth:`FeedServer.stop` sets, so a
timeout fault never holds up shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from functools import cache
from types import TracebackType
from typing import Any, NamedTuple

from aiohttp import web

DEFAULT_TYPE = "application/rss+xml; charset=utf-8"
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Not a feed</title></head>"
    b"<body><h1>Welcome</h1><p>This is a web page, not a feed.</p></body></html>"
)
_CHUNK = 64 * 1024


class RecordedRequest(NamedTuple):
    """One request the server saw: path (with query string) and headers."""

    path: str
    headers: dict[str, str]


@dataclass
class _Resource:
    body: bytes
    content_type: str
    headers: dict[str, str]
    etag: str
    last_modified: str
    modified_ts: float
    conditional: bool = True


@dataclass
class _Fault:
    kind: str
    options: dict[str, Any] = field(default_factory=dict)


@cache
def _bomb(size: int) -> bytes:
    return gzip.compress(b"\0" * size, compresslevel=9)


def _huge_chunk() -> bytes:
    item = b"<item><title>filler</title><description>" + b"x" * 900 + b"</description></item>\n"
    return (item * (_CHUNK // len(item) + 1))[:_CHUNK]


class FeedServer:
    """An aiohttp server on 127.0.0.1 with a random port."""

    def __init__(self) -> None:
        self._resources: dict[str, _Resource] = {}
        self._faults: dict[str, _Fault] = {}
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self.port = 0
        self._hits: dict[str, int] = {}
        self.in_flight = 0  # requests being answered right now
        self.max_in_flight = 0  # the most answered at once since start

    # --- configuration --------------------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        if not path.startswith("/"):
            path = "/" + path
        return f"http://127.0.0.1:{self.port}{path}"

    def set(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = DEFAULT_TYPE,
        headers: dict[str, str] | None = None,
        conditional: bool = True,
    ) -> None:
        """Serve ``body`` at ``path`` (replacing what was there). A new body
        gets a new ETag and Last-Modified; ``conditional=False`` sends neither."""
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        previous = self._resources.get(path)
        now = time.time()
        if previous is not None and previous.body == data:
            modified = previous.modified_ts
        else:
            # Last-Modified has one-second resolution: make sure a change
            # between polls within the same second still moves it forward.
            modified = float(int(now))
            if previous is not None and modified <= previous.modified_ts:
                modified = previous.modified_ts + 1
        self._resources[path] = _Resource(
            body=data,
            content_type=content_type,
            headers=dict(headers or {}),
            etag='"' + hashlib.sha1(data).hexdigest()[:20] + '"',
            last_modified=formatdate(modified, usegmt=True),
            modified_ts=modified,
            conditional=conditional,
        )

    def fault(self, path: str, kind: str, **options: Any) -> None:
        """Make ``path`` misbehave; see the module docstring for kinds."""
        known = {
            "timeout",
            "status",
            "redirect",
            "redirect_loop",
            "huge",
            "truncated",
            "gzip_no_header",
            "gzip_bomb",
            "wrong_charset",
            "empty",
            "html",
        }
        if kind not in known:
            raise ValueError(f"unknown fault {kind!r}; known: {sorted(known)}")
        self._faults[path] = _Fault(kind, options)

    def clear_fault(self, path: str) -> None:
        """Make ``path`` behave again."""
        self._faults.pop(path, None)

    def hits(self, path: str) -> int:
        """How many requests reached ``path`` (query string ignored)."""
        return self._hits.get(path, 0)

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> FeedServer:
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FeedServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def in_thread(cls) -> Iterator[FeedServer]:
        """Run a server on its own loop in a daemon thread, for sync callers."""
        server = cls()
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(server.start())
            except BaseException as e:  # surfaced to the caller below
                failure.append(e)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=run, name="FeedServer", daemon=True)
        thread.start()
        if not ready.wait(10):
            raise RuntimeError("FeedServer did not start within 10 s")
        if failure:
            raise failure[0]
        try:
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    # --- serving --------------------------------------------------------------------

    def _closing_set(self) -> bool:
        return self._closing is not None and self._closing.is_set()

    async def _wait_closing(self, delay: float) -> None:
        assert self._closing is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), delay)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(RecordedRequest(request.path_qs, dict(request.headers)))
        path = request.path
        self._hits[path] = self._hits.get(path, 0) + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            fault = self._faults.get(path)
            resource = self._resources.get(path)
            if fault is not None:
                return await self._faulty(request, fault, resource)
            if resource is None:
                return web.Response(status=404, text="not found")
            return self._serve(request, resource)
        finally:
            self.in_flight -= 1

    def _serve(
        self, request: web.Request, res: _Resource, body: bytes | None = None
    ) -> web.Response:
        headers = {"Content-Type": res.content_type, **res.headers}
        if res.conditional:
            headers["ETag"] = res.etag
            headers["Last-Modified"] = res.last_modified
            if _not_modified(request, res):
                return web.Response(status=304, headers=headers)
        return web.Response(body=res.body if body is None else body, headers=headers)

    async def _faulty(
        self, request: web.Request, fault: _Fault, res: _Resource | None
    ) -> web.StreamResponse:
        kind, opts = fault.kind, fault.options
        body = res.body if res is not None else b""
        ctype = res.content_type if res is not None else DEFAULT_TYPE
        if kind == "timeout":
            delay = float(opts.get("delay", 30.0))
            if opts.get("after_headers"):
                resp = web.StreamResponse(headers={"Content-Type": ctype})
                resp.content_length = max(len(body), 1) * 2
                await resp.prepare(request)
                with contextlib.suppress(ConnectionError):
                    await resp.write(body[: len(body) // 2])
                await self._wait_closing(delay)
                return resp
            await self._wait_closing(delay)
            if res is not None and not self._closing_set():
                return self._serve(request, res)  # a slow server, not a dead one
            return web.Response(status=504, text="gave up")
        if kind == "status":
            code = int(opts.get("code", 500))
            headers = {}
            if opts.get("retry_after") is not None:
                headers["Retry-After"] = str(opts["retry_after"])
            if opts.get("www_authenticate") is not None:
                headers["WWW-Authenticate"] = str(opts["www_authenticate"])
            return web.Response(
                status=code, headers=headers, text=str(opts.get("body", f"status {code}"))
            )
        if kind == "redirect":
            target = str(opts["to"])
            return web.Response(status=int(opts.get("code", 302)), headers={"Location": target})
        if kind == "redirect_loop":
            target = request.path if request.query_string else request.path + "?loop=1"
            return web.Response(status=int(opts.get("code", 302)), headers={"Location": target})
        if kind == "huge":
            return await self._huge(request, int(opts.get("size", 50 * 1024 * 1024)), opts)
        if kind == "truncated":
            at = int(opts.get("at", len(body) // 2))
            if not opts.get("declare_full", True):
                return web.Response(body=body[:at], headers={"Content-Type": ctype})
            resp = web.StreamResponse(headers={"Content-Type": ctype})
            resp.content_length = len(body)
            await resp.prepare(request)
            await resp.write(body[:at])
            # Drop the connection with the body incomplete, as a crashing server does.
            if request.transport is not None:
                request.transport.close()
            return resp
        if kind == "gzip_no_header":
            return web.Response(body=gzip.compress(body), headers={"Content-Type": ctype})
        if kind == "gzip_bomb":
            size = int(opts.get("size", 64 * 1024 * 1024))
            headers = {"Content-Type": ctype}
            if opts.get("header", True):
                headers["Content-Encoding"] = "gzip"
            return web.Response(body=_bomb(size), headers=headers)
        if kind == "wrong_charset":
            declared = str(opts.get("declared", "iso-8859-1"))
            text = opts.get("text")
            data = text.encode(str(opts.get("actual", "utf-8"))) if text is not None else body
            mime = ctype.split(";", 1)[0].strip()
            return web.Response(body=data, headers={"Content-Type": f"{mime}; charset={declared}"})
        if kind == "empty":
            return web.Response(body=b"", headers={"Content-Type": ctype})
        if kind == "html":
            page = opts.get("body", HTML_PAGE)
            data = page.encode() if isinstance(page, str) else page
            return web.Response(body=data, headers={"Content-Type": "text/html; charset=utf-8"})
        raise AssertionError(kind)  # pragma: no cover - fault() validates kinds

    async def _huge(
        self, request: web.Request, size: int, opts: dict[str, Any]
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": DEFAULT_TYPE})
        if opts.get("content_length"):
            resp.content_length = size
        await resp.prepare(request)
        chunk = _huge_chunk()
        sent = 0
        try:
            await resp.write(b'<?xml version="1.0"?><rss version="2.0"><channel>\n')
            while sent < size:
                part = chunk[: size - sent]
                await resp.write(part)
                sent += len(part)
                if self._closing is not None and self._closing.is_set():
                    break
            await resp.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client gave up, as it should
        return resp


def _not_modified(request: web.Request, res: _Resource) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        tags = {t.strip() for t in inm.split(",")}
        return res.etag in tags or "*" in tags
    ims = request.headers.get("If-Modified-Since")
    if ims:
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError):
            return False
        return res.modified_ts <= since
    return False
