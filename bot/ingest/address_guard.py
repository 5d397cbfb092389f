"""Where untrusted links may take the fetcher: no loopback, private or other internal hosts.

A feed's items point at article pages chosen by whoever writes the feed. Fetching them must
not reach the operator's own network (``http://127.0.0.1:9464/metrics``, the cloud metadata
service at 169.254.169.254, a router at 10.0.0.1 ...). So before every connection the host
is resolved, every address it resolves to is checked, and the connection goes to the address
that was checked: there is no second lookup that a DNS-rebinding host could answer
differently. The check sits in the connection layer (an httpcore network backend), so every
hop of a redirect chain is checked the same way, and a pooled connection was checked when it
was opened.

Refused: loopback, private (RFC 1918, ULA), link-local, CGNAT (100.64.0.0/10), multicast,
reserved, unspecified (0.0.0.0, ::) and documentation addresses, in every spelling that
resolves to them (``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``, 6to4 and Teredo
wrappers). Allowed anyway: the origin (scheme, host, port) of the feed that carried the link,
since the operator chose that host, and what ``fetch.allow_private`` lists (IP addresses,
networks in CIDR form, or host names).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from bot.config.addresses import IPNetwork, parse_allow_private
from bot.ingest.host_pools import KEEPALIVE_EXPIRY, HostPools

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# request extensions the Fetcher sets on a page request (httpx passes them to the transport)
GUARD = "newsalert.guard"  # True: check where the request goes
TRUSTED_ORIGINS = "newsalert.trusted_origins"  # origins allowed without a check

_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class AddressRefused(Exception):
    """A connection to an internal address was refused (see the module doc)."""

    def __init__(self, host: str, address: str, why: str) -> None:
        super().__init__(f"{host} resolves to {address} ({why}); not fetched")
        self.host = host
        self.address = address


def why_internal(ip: IPAddress) -> str:
    """Why ``ip`` must not be fetched from a link in a feed, or "" when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            inner = why_internal(embedded)
            return f"wraps {embedded}: {inner}" if inner else ""
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "carrier-grade NAT"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not a public address"),
    )
    for hit, why in checks:
        if hit:
            return why
    return ""


def origin_of(url: str | httpx.URL) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL, default ports filled in; None otherwise."""
    try:
        u = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    scheme = u.scheme.lower()
    if scheme not in ("http", "https") or not u.host:
        return None
    port = u.port or (443 if scheme == "https" else 80)
    return scheme, u.host.lower().rstrip("."), port


@dataclass(frozen=True)
class AddressPolicy:
    """What the operator allows beyond public addresses (``fetch.allow_private``)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> AddressPolicy:
        """From ``fetch.allow_private``: IP addresses, CIDR networks or host names.
        Raises ``ValueError`` naming an entry that is none of these."""
        networks, hosts = parse_allow_private(entries)
        return cls(networks, hosts)

    def allows(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self.networks) or (
            isinstance(ip, ipaddress.IPv6Address)
            and ip.ipv4_mapped is not None
            and any(ip.ipv4_mapped in net for net in self.networks)
        )

    async def resolve(self, host: str, port: int, timeout: float | None) -> str:
        """The address to connect to for ``host``: every address it resolves to must be
        public (or allowed). Raises :class:`AddressRefused`, or ``httpcore.ConnectError``
        when the name does not resolve."""
        name = host.strip("[]").lower().rstrip(".")
        if name in self.hosts:
            return host
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                infos = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except TimeoutError as e:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from e
        except OSError as e:
            raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
        addresses = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            why = "" if self.allows(ip) else why_internal(ip)
            if why:
                raise AddressRefused(host, str(ip), why)
            addresses.append(str(ip))
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}: no addresses")
        return addresses[0]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves and checks the host itself, then connects
    to the checked address (TLS still verifies the host name: httpcore passes the URL's host
    as ``server_hostname``)."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None):
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self.policy.resolve(host, port, timeout)
        return await self.inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - never configured
        raise AddressRefused(path, path, "unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncBaseTransport):
    """Two sets of connection pools: requests without the ``GUARD`` extension (feeds, which go
    wherever the operator put them) and requests to a trusted origin use the plain ones;
    the rest go through :class:`GuardedBackend`.  Keeping the pools apart means a connection
    opened without a check is never reused for a request that needs one.  Each set has a
    pool per host of ``per_host`` connections (:class:`~bot.ingest.host_pools.HostPools`);
    ``options`` are ``httpx.AsyncHTTPTransport``'s, and every pool shares one TLS context."""

    def __init__(self, policy: AddressPolicy, *, per_host: int = 2, **options: Any) -> None:
        self.policy = policy
        if not isinstance(options.get("verify"), ssl.SSLContext):
            # made once: loading the CA bundle for each host's pool would cost ms each
            options["verify"] = httpx.create_ssl_context(
                verify=options.get("verify", True), trust_env=options.get("trust_env", True)
            )
        options["limits"] = httpx.Limits(
            max_connections=per_host,
            max_keepalive_connections=per_host,
            keepalive_expiry=KEEPALIVE_EXPIRY,
        )
        self._options = options
        self._open = HostPools(self._open_transport)
        self._guarded = HostPools(self._guarded_transport)

    def _open_transport(self) -> httpx.AsyncHTTPTransport:
        return httpx.AsyncHTTPTransport(**self._options)

    def _guarded_transport(self) -> httpx.AsyncHTTPTransport:
        transport = httpx.AsyncHTTPTransport(**self._options)
        # httpx has no public switch for the network backend: give the pool it built ours
        # (tests/test_address_guard.py pins that this still works with the httpx installed).
        pool = transport._pool
        if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(
            pool, "_network_backend"
        ):  # pragma: no cover
            raise RuntimeError("httpx's transport changed: cannot guard page fetches")
        pool._network_backend = GuardedBackend(self.policy, pool._network_backend)
        return transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.extensions.get(GUARD):
            return await self._open.handle_async_request(request)
        trusted = request.extensions.get(TRUSTED_ORIGINS) or ()
        origin = origin_of(request.url)
        if origin is not None and (origin in trusted or origin[1] in self.policy.hosts):
            return await self._open.handle_async_request(request)
        return await self._guarded.handle_async_request(request)

    async def aclose(self) -> None:
        await self._open.aclose()
        await self._guarded.aclose()
