"""A connection pool per feed host (bot.ingest.host_pools), against real loopback servers:
a request's pool bookkeeping is its own host's whatever the number of other hosts, each host
keeps its connection between polls, and the pools stay bounded and close."""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.errors import FetchError
from bot.ingest.fetch import Fetcher
from bot.ingest.host_pools import HostPools
from tests.fakes.feed_server import FeedServer
from tests.helpers import rss, wait_until

pytestmark = pytest.mark.timeout(60)

FEED = rss([("Talks resume", "https://wire.example/1", "Envoys met.")])


class ManyHosts(FeedServer):
    """One feed server listening on ``count`` ports of 127.0.0.1, each a host to the fetcher;
    ``connections`` holds every connection it was asked on (aiohttp's handler for it)."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        self.ports: list[int] = []
        self.connections: set[Any] = set()

    async def start(self) -> ManyHosts:
        await super().start()
        assert self._runner is not None
        for _ in range(self.count - 1):
            await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.ports = [address[1] for address in self._runner.addresses]
        self.set("/feed.xml", FEED)
        return self

    def feed(self, host: int) -> str:
        return f"http://127.0.0.1:{self.ports[host]}/feed.xml"

    def open_connections(self) -> int:
        return sum(1 for c in self.connections if c.transport is not None)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.connections.add(request.protocol)
        return await super()._handle(request)


def _idle_checks(profile: cProfile.Profile) -> int:
    """Calls of httpcore's ``is_idle`` (its pool asks each connection, on every request and
    release) that ``profile`` saw."""
    stats: dict = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(
        calls
        for (file, _line, name), (_cc, calls, *_rest) in stats.items()
        if name == "is_idle" and "httpcore" in Path(file).parts
    )


async def _one_poll_after(hosts: int, server: ManyHosts) -> int:
    """Poll the feed on ``hosts`` hosts with one Fetcher, then once more on the last:
    the pool checks that last poll made."""
    async with Fetcher() as fetcher:
        for host in range(hosts):
            await fetcher.fetch(server.feed(host))
        profile = cProfile.Profile()
        profile.enable()
        result = await fetcher.fetch(server.feed(hosts - 1), etag='"none"')
        profile.disable()
        assert result.status == 200
        return _idle_checks(profile)


async def test_a_poll_checks_only_its_own_hosts_connections_with_300_hosts_pooled():
    async with ManyHosts(300) as server:
        alone = await _one_poll_after(1, server)
        among_300 = await _one_poll_after(300, server)
    # one shared pool asked every pooled connection, and for each idle one all again
    # (~880 checks with 20 kept); a pool per host asks its own one
    assert 0 < among_300 == alone <= 20


async def test_each_host_keeps_its_connection_from_one_poll_to_the_next():
    # 30 hosts: more than the 20 connections one shared pool kept, so that each host's
    # connection was closed before its next poll (and a TLS feed paid a handshake again)
    async with ManyHosts(30) as server, Fetcher() as fetcher:
        for _round in range(3):
            for host in range(30):
                assert (await fetcher.fetch(server.feed(host))).status == 200
        assert len(server.connections) == 30
        assert server.open_connections() == 30
    await wait_until(lambda: server.open_connections() == 0, what="aclose to close them all")


async def test_pools_past_max_idle_hosts_are_closed_least_recently_used_first():
    async with ManyHosts(30) as server:
        pools = HostPools(httpx.AsyncHTTPTransport, max_idle_hosts=10)
        async with httpx.AsyncClient(transport=pools) as client:
            for host in range(30):
                assert (await client.get(server.feed(host))).status_code == 200
            assert pools.hosts == 10
            await wait_until(lambda: server.open_connections() == 10, what="20 closed")
            # the 10 kept are the last 10 polled: polling them again opens nothing new
            for host in range(20, 30):
                assert (await client.get(server.feed(host))).status_code == 200
            assert len(server.connections) == 30
        await wait_until(lambda: server.open_connections() == 0, what="aclose to close them all")


async def test_pools_idle_longer_than_keepalive_expiry_are_closed():
    now = [1000.0]
    async with ManyHosts(5) as server:
        pools = HostPools(httpx.AsyncHTTPTransport, keepalive_expiry=5.0, clock=lambda: now[0])
        async with httpx.AsyncClient(transport=pools) as client:
            for host in range(4):
                await client.get(server.feed(host))
            now[0] += 5.5
            await client.get(server.feed(4))
            assert pools.hosts == 1
            await wait_until(lambda: server.open_connections() == 1, what="4 expired closed")


async def test_requests_in_flight_are_bounded_over_all_hosts():
    async with ManyHosts(6) as server:
        server.set("/slow.xml", FEED)
        server.fault("/slow.xml", "timeout", delay=0.3)
        pools = HostPools(httpx.AsyncHTTPTransport, max_connections=2)
        async with httpx.AsyncClient(transport=pools, timeout=10) as client:
            slow = [f"http://127.0.0.1:{port}/slow.xml" for port in server.ports]
            answers = await asyncio.gather(*(client.get(url) for url in slow))
            assert [a.status_code for a in answers] == [200] * 6
            assert server.max_in_flight == 2
            # none free within the pool timeout: httpx's PoolTimeout, as from its own pool
            held = asyncio.ensure_future(asyncio.gather(client.get(slow[0]), client.get(slow[1])))
            await wait_until(lambda: server.in_flight == 2, what="two slow requests")
            with pytest.raises(httpx.PoolTimeout, match="all 2 connections stayed busy"):
                await client.get(server.feed(2), timeout=httpx.Timeout(10, pool=0.05))
            await held


async def test_a_failed_request_gives_its_slot_back():
    async with FeedServer() as server:
        server.set("/feed.xml", FEED)
        pools = HostPools(httpx.AsyncHTTPTransport, max_connections=1)
        async with httpx.AsyncClient(transport=pools, timeout=2) as client:
            refused = f"http://127.0.0.1:{_closed_port()}/feed.xml"
            for _ in range(3):
                with pytest.raises(httpx.ConnectError):
                    await client.get(refused)
            # with the one slot kept by a failed request this would wait, then PoolTimeout
            assert (await client.get(server.url("/feed.xml"))).status_code == 200


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_connection_opened_for_a_feed_is_not_reused_for_a_guarded_page():
    async with FeedServer() as internal, Fetcher(read_timeout=2) as fetcher:
        internal.set("/admin", "secret", content_type="text/html")
        assert (await fetcher.fetch_page(internal.url("/admin"))).status == 200
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch_page(internal.url("/admin"), guarded=True)
        assert caught.value.kind == "refused"
        assert internal.hits("/admin") == 1


async def test_pools_idle_past_their_expiry_are_closed_without_waiting_for_a_request():
    # feeds are polled minutes apart: an expired pool is closed by a sweep, not left holding
    # its sockets (in CLOSE-WAIT once the server has closed its side) until the next poll
    async with ManyHosts(3) as server:
        pools = HostPools(httpx.AsyncHTTPTransport, keepalive_expiry=0.2)
        async with httpx.AsyncClient(transport=pools) as client:
            for host in range(3):
                assert (await client.get(server.feed(host))).status_code == 200
            assert pools.hosts == 3
            await wait_until(lambda: pools.hosts == 0, timeout=10, what="the sweep")
            await wait_until(lambda: server.open_connections() == 0, what="sockets closed")


class _GatedClose(httpx.AsyncHTTPTransport):
    """The real transport, whose close waits for ``gate`` (so that a request can be
    cancelled while the pools its end let go are being closed)."""

    started = asyncio.Event()
    gate = asyncio.Event()
    made = 0
    closed = 0

    def __init__(self) -> None:
        super().__init__()
        type(self).made += 1

    async def aclose(self) -> None:
        type(self).started.set()
        await type(self).gate.wait()
        await super().aclose()
        type(self).closed += 1


async def test_a_request_cancelled_while_stale_pools_close_leaves_none_open():
    now = [1000.0]
    _GatedClose.started, _GatedClose.gate = asyncio.Event(), asyncio.Event()
    async with ManyHosts(11) as server:
        pools = HostPools(_GatedClose, keepalive_expiry=5.0, clock=lambda: now[0])
        async with httpx.AsyncClient(transport=pools) as client:
            for host in range(10):
                await client.get(server.feed(host))
            now[0] += 10  # all ten idle pools expired: the next request's end closes them
            request = asyncio.ensure_future(client.get(server.feed(10)))
            await wait_until(_GatedClose.started.is_set, what="the first close to start")
            request.cancel()
            await asyncio.gather(request, return_exceptions=True)
            _GatedClose.gate.set()
        await wait_until(lambda: _GatedClose.closed == _GatedClose.made, what="every pool closed")
        await wait_until(lambda: server.open_connections() == 0, what="every socket closed")


class _ReadAlready(httpx.AsyncBaseTransport):
    """A transport whose responses come read (``httpx.Response(content=...)``)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"ok")


async def test_a_response_its_transport_read_already_gives_its_slot_back():
    pools = HostPools(_ReadAlready, max_connections=2)
    async with httpx.AsyncClient(transport=pools) as client:
        for host in range(5):  # with the slots kept, the third would wait, then PoolTimeout
            response = await client.get(
                f"http://h{host}.example/", timeout=httpx.Timeout(5, pool=1)
            )
            assert response.status_code == 200
