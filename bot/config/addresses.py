"""``fetch.allow_private``: the internal places an operator lets links in feeds reach.

Pure parsing, shared by the config loader (which validates the list) and the fetcher's
address guard (``bot.ingest.address_guard``, which enforces it).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*\.?$"
)


def parse_allow_private(entries: Iterable[str]) -> tuple[tuple[IPNetwork, ...], frozenset[str]]:
    """The networks (an IP address is a network of one) and host names listed.
    Raises ``ValueError`` naming an entry that is none of these."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in entries:
        entry = raw.strip().lower()
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if not entry or not _HOSTNAME.match(entry) or entry.isdigit():
            raise ValueError(
                f"{raw!r} is not an IP address, a network like 10.0.0.0/8, or a host name"
            )
        hosts.add(entry.rstrip("."))
    return tuple(networks), frozenset(hosts)
