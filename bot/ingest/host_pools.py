"""A small connection pool per host, so that a request costs its own host's bookkeeping.

httpcore's ``AsyncConnectionPool`` goes over every connection it holds on each request and
on each release, and for each idle one counts them all again (encode/httpcore#1000 and #1035,
both open for httpcore 1.0.9).  With one pool for every feed host that was half of the event
loop's CPU on an unchanged poll, and its keep-alive limit (20 connections for all hosts)
closed most hosts' connections before their next poll.  :class:`HostPools` gives each origin
(scheme, host, port) a transport of its own, made by ``make`` (as small as the per-host
limit), and bounds the whole:

- at most ``max_connections`` requests in flight at once over all hosts (httpx's own default
  for one pool, 100); more wait up to the request's pool timeout, then ``httpx.PoolTimeout``;
- at most ``max_idle_hosts`` pools kept while no request of theirs is in flight, the least
  recently used closed first, and a pool idle for longer than ``keepalive_expiry`` closed (its
  connections have expired), by a sweep that many seconds after a pool goes idle, so that no
  socket the server has closed waits for the next poll (feeds are polled minutes apart); a
  pool with a request in flight is never closed.  Pools are closed whatever happens to the
  request whose end let them go: a cancelled fetch does not leave them open.

So at most ``per_host * (max_connections + max_idle_hosts)`` sockets are open, and each
request and release does O(1) work here.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

Origin = tuple[str, str, int | None]

MAX_CONNECTIONS = 100  # requests in flight at once (httpx's default for one pool)
MAX_IDLE_HOSTS = 100  # pools kept between requests
KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept (httpx's default)


class HostPools(httpx.AsyncBaseTransport):
    """Routes each request to its origin's transport (see the module doc)."""

    def __init__(
        self,
        make: Callable[[], httpx.AsyncBaseTransport],
        *,
        max_connections: int = MAX_CONNECTIONS,
        max_idle_hosts: int = MAX_IDLE_HOSTS,
        keepalive_expiry: float = KEEPALIVE_EXPIRY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._make = make
        self.max_connections = max_connections
        self.max_idle_hosts = max_idle_hosts
        self.keepalive_expiry = keepalive_expiry
        self._clock = clock
        self._slots = asyncio.Semaphore(max_connections)
        self._pools: dict[Origin, httpx.AsyncBaseTransport] = {}
        self._in_flight: dict[Origin, int] = {}
        self._idle: OrderedDict[Origin, float] = OrderedDict()  # origin -> idle since
        self._closing: list[httpx.AsyncBaseTransport] = []  # let go, not yet closed
        self._sweep: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # the sweeps' closes, while they run

    @property
    def hosts(self) -> int:
        """How many origins have a pool right now."""
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._take_slot(request)
        url = request.url
        origin = (url.scheme, url.host, url.port)
        try:
            pool = self._pools.get(origin)
            if pool is None:
                pool = self._pools[origin] = self._make()
            self._in_flight[origin] = self._in_flight.get(origin, 0) + 1
            self._idle.pop(origin, None)
        except BaseException:
            self._slots.release()
            raise
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            await self._release(origin)
            raise
        if response.is_closed:  # read by its transport already: no body left to close
            await self._release(origin)
            return response
        response.stream = _Releasing(response.stream, lambda: self._release(origin))
        return response

    async def _take_slot(self, request: httpx.Request) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # one is free: no wait, and no timer to set
            return
        timeout = request.extensions.get("timeout", {}).get("pool")
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(
                f"all {self.max_connections} connections stayed busy for {timeout:g} s",
                request=request,
            ) from None

    async def _release(self, origin: Origin) -> None:
        """A request of ``origin`` is done: free its slot, and close the pools that the
        bounds no longer allow."""
        self._slots.release()
        if origin not in self._in_flight:
            return  # closed meanwhile (aclose)
        left = self._in_flight[origin] - 1
        if left:
            self._in_flight[origin] = left
        else:
            del self._in_flight[origin]
            self._idle[origin] = self._clock()  # the newest idle pool: last in the order
            self._schedule_sweep()
        self._let_go()
        if self._closing:
            # shielded: a cancelled request still has them all closed (in a task of their own)
            await asyncio.shield(self._close_let_go())

    def _let_go(self) -> None:
        """Move the pools the bounds no longer allow to ``_closing``."""
        stale = self._clock() - self.keepalive_expiry
        while self._idle:
            oldest, since = next(iter(self._idle.items()))
            if len(self._idle) <= self.max_idle_hosts and since > stale:
                break
            del self._idle[oldest]
            self._closing.append(self._pools.pop(oldest))

    async def _close_let_go(self) -> None:
        while self._closing:
            await self._closing.pop().aclose()

    def _schedule_sweep(self) -> None:
        if self._sweep is None:
            loop = asyncio.get_running_loop()
            self._sweep = loop.call_later(self.keepalive_expiry + 0.05, self._swept)

    def _swept(self) -> None:
        """The sweep's time: close the pools idle past their expiry, and come again while
        any is left idle."""
        self._sweep = None
        self._let_go()
        if self._closing:
            task = asyncio.get_running_loop().create_task(self._close_let_go())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if self._idle:
            self._schedule_sweep()

    async def aclose(self) -> None:
        """Close every pool, those with a request in flight and those being let go too."""
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        self._closing.extend(self._pools.values())
        self._pools.clear()
        self._in_flight.clear()
        self._idle.clear()
        await self._close_let_go()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class _Releasing(httpx.AsyncByteStream):
    """A response body that tells its pool when it is closed (once)."""

    def __init__(
        self,
        stream: httpx.SyncByteStream | httpx.AsyncByteStream,
        release: Callable[[], Awaitable[None]],
    ) -> None:
        assert isinstance(stream, httpx.AsyncByteStream)
        self._stream = stream
        self._release: Callable[[], Awaitable[None]] | None = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()  # the body's own chunks, no generator in between

    async def aclose(self) -> None:
        release, self._release = self._release, None
        try:
            await self._stream.aclose()
        finally:
            if release is not None:
                await release()
