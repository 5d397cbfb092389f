"""Links in feeds cannot reach internal services (SSRF): every hop of an article fetch is
resolved and checked, the connection goes to the checked address, the feed's own origin and
``fetch.allow_private`` are allowed, and a refused page still gives an alert from the feed."""

from __future__ import annotations

import io
import ipaddress

import httpcore
import pytest

from bot.app import Core
from bot.config.loader import ConfigError, config_from_dict
from bot.delivery.sinks import ConsoleSink
from bot.errors import FetchError
from bot.ingest.address_guard import AddressPolicy, AddressRefused, GuardedTransport, why_internal
from bot.ingest.fetch import Fetcher
from bot.service.chats import ChatInfo
from bot.service.subscriptions import subscribe
from storage.store import Store
from tests.fakes.feed_server import FeedServer
from tests.helpers import STORY_PAGE

SECRET_PAGE = STORY_PAGE.replace("Panmunjom", "INTERNAL-ADMIN-SECRET")

FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Wire</title><link>{base}/</link>
<item><title>North Korea and US envoys hold talks on denuclearisation</title>
<link>{link}</link><guid>story-1</guid>
<description>Envoys met at the border village for talks.</description></item>
</channel></rss>"""


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fc00::1",
        "fe80::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "192.0.2.1",  # documentation
    ],
)
def test_internal_addresses_are_refused(address):
    assert why_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert why_internal(ipaddress.ip_address(address)) == ""


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "127.1", "0", "localhost", "::1"])
async def test_every_spelling_of_loopback_is_resolved_and_refused(host):
    with pytest.raises(AddressRefused):
        await AddressPolicy().resolve(host, 80, timeout=5)


async def test_allow_private_lets_listed_networks_and_hosts_through():
    policy = AddressPolicy.from_entries(["127.0.0.0/8", "wiki.intranet"])
    assert await policy.resolve("2130706433", 80, timeout=5) == "127.0.0.1"
    assert await policy.resolve("wiki.intranet", 80, timeout=5) == "wiki.intranet"
    with pytest.raises(AddressRefused):
        await policy.resolve("::1", 80, timeout=5)


def test_guarded_transport_uses_our_backend_with_the_installed_httpx():
    transport = GuardedTransport(AddressPolicy())
    pool = transport._guarded_transport()._pool
    assert isinstance(pool, httpcore.AsyncConnectionPool)
    assert type(pool._network_backend).__name__ == "GuardedBackend"


@pytest.mark.parametrize(
    "entries", [["not a host!"], ["10.0.0.0/33"], [42], ["http://10.0.0.1/"], "10.0.0.0/8"]
)
def test_allow_private_is_validated(entries):
    with pytest.raises(ConfigError, match=r"fetch\.allow_private"):
        config_from_dict({"fetch": {"allow_private": entries}}, env={})


async def test_fetcher_refuses_a_redirect_from_the_trusted_origin_to_another_port():
    async with FeedServer() as feed, FeedServer() as internal, Fetcher(read_timeout=2) as f:
        internal.set("/admin", SECRET_PAGE, content_type="text/html")
        feed.fault("/story.html", "redirect", to=internal.url("/admin"))
        with pytest.raises(FetchError) as caught:
            await f.fetch_page(
                feed.url("/story.html"), guarded=True, trusted=(feed.url("/feed.xml"),)
            )
        assert caught.value.kind == "refused"
        assert internal.hits("/admin") == 0
        # the operator's own command (newsalert extract) is not guarded
        assert (await f.fetch_page(internal.url("/admin"))).status == 200


# --- end to end: the real Core, real HTTP on loopback ---------------------------------------


async def poll_once(tmp_path, feed_url: str, **fetch) -> tuple[list[str], Core]:
    config = config_from_dict(
        {
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "telegram": {"username": "test_bot"},
            "fetch": {"read_timeout": "2s", **fetch},
            "feeds": [{"url": feed_url, "name": "Wire"}],
        },
        env={},
    )
    store = Store.open(config.storage.path)
    subscribe(store, config.topics, ChatInfo(chat_id=1), "korea-diplomacy")
    sink = ConsoleSink(io.StringIO())
    core = Core(config, store=store, sink=sink, alert_on_first_poll=True)
    try:
        await core.poll_all_once()
    finally:
        await core.fetcher.aclose()
        store.close()
    return [message for _, message in sink.sent], core


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1:{port}/admin",
        "http://2130706433:{port}/admin",
        "http://localhost:{port}/admin",
        "http://[::ffff:127.0.0.1]:{port}/admin",
        "http://0.0.0.0:{port}/admin",
    ],
)
async def test_a_link_to_another_local_port_is_not_fetched_and_the_alert_uses_the_feed(
    tmp_path, link
):
    async with FeedServer() as feed, FeedServer() as internal:
        internal.set("/admin", SECRET_PAGE, content_type="text/html")
        base = feed.url("").rstrip("/")
        feed.set("/feed.xml", FEED.format(base=base, link=link.format(port=internal.port)))
        sent, _ = await poll_once(tmp_path, feed.url("/feed.xml"))
        assert internal.hits("/admin") == 0
    [message] = sent
    assert "INTERNAL-ADMIN-SECRET" not in message
    assert "Envoys met at the border village" in message


async def test_a_redirect_from_the_feeds_host_to_an_internal_port_is_refused(tmp_path):
    async with FeedServer() as feed, FeedServer() as internal:
        internal.set("/admin", SECRET_PAGE, content_type="text/html")
        base = feed.url("").rstrip("/")
        feed.set("/feed.xml", FEED.format(base=base, link=f"{base}/story.html"))
        feed.fault("/story.html", "redirect", to=internal.url("/admin"))
        sent, _ = await poll_once(tmp_path, feed.url("/feed.xml"))
        assert feed.hits("/story.html") == 1 and internal.hits("/admin") == 0
    [message] = sent
    assert "INTERNAL-ADMIN-SECRET" not in message and "Envoys met" in message


async def test_pages_on_the_feeds_own_origin_are_fetched(tmp_path):
    async with FeedServer() as feed:
        base = feed.url("").rstrip("/")
        feed.set("/feed.xml", FEED.format(base=base, link=f"{base}/story.html"))
        feed.set("/story.html", STORY_PAGE, content_type="text/html")
        sent, _ = await poll_once(tmp_path, feed.url("/feed.xml"))
    [message] = sent
    assert "Panmunjom" in message


async def test_allow_private_lets_the_operator_open_an_internal_host(tmp_path):
    async with FeedServer() as feed, FeedServer() as internal:
        internal.set("/story", STORY_PAGE, content_type="text/html")
        base = feed.url("").rstrip("/")
        feed.set("/feed.xml", FEED.format(base=base, link=internal.url("/story")))
        sent, _ = await poll_once(tmp_path, feed.url("/feed.xml"), allow_private=["127.0.0.1"])
        assert internal.hits("/story") == 1
    [message] = sent
    assert "Panmunjom" in message
