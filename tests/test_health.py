"""The operations endpoint: /healthz says why the bot is unhealthy, /metrics counts the work."""

from __future__ import annotations

import asyncio
import re
from importlib import resources
from typing import Any

import httpx
import pytest

from bot.app import Core
from bot.config.loader import config_from_dict
from bot.ops.health import Health, OpsServer, heartbeat_every
from bot.ops.metrics import Metrics
from storage.store import Store
from tests.helpers import TOKEN, wait_until

CHANNEL = -1001234567890
DEMO_FEED = (resources.files("bot.data") / "demo_feed.xml").read_bytes()


def make_config(tmp_path, telegram_api=None, feeds=(), **metrics: Any):
    data: dict[str, Any] = {
        "storage": {"path": str(tmp_path / "bot.db")},
        "polling": {"jitter": 0},
        "metrics": {"listen": "127.0.0.1:0", **metrics},
        "feeds": [{"url": url, "interval": "1s"} for url in feeds],
    }
    if telegram_api is not None:
        data["telegram"] = {"token": TOKEN, "base_url": telegram_api.base_url, "poll_timeout": 1}
        data["channels"] = [{"chat_id": CHANNEL, "topics": ["korea-diplomacy"]}]
    return config_from_dict(data, env={})


async def get(core: Core, path: str) -> httpx.Response:
    assert core.ops_server is not None
    async with httpx.AsyncClient() as client:
        return await client.get(core.ops_server.url + path)


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus text exposition."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)"
    found = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


async def test_metrics_count_polls_errors_articles_matches_and_sends(
    tmp_path, telegram_api, feed_server
):
    telegram_api.add_chat(CHANNEL, "channel", title="News")
    feed_server.set("/feed.xml", DEMO_FEED)
    feed_server.fault("/broken.xml", "status", code=500)
    # a feed whose URL carries a credential: /metrics shows it redacted, as logs do
    good, broken = feed_server.url("/feed.xml") + "?key=s3cret-key", feed_server.url("/broken.xml")
    async with Core(
        make_config(tmp_path, telegram_api, feeds=[good, broken]), alert_on_first_poll=True
    ) as core:
        await core.start()
        await telegram_api.wait_for_messages(CHANNEL, 1, timeout=20)
        await wait_until(
            lambda: sample(core.metrics_page().decode(), "newsalert_alerts_sent_total")
        )
        text = (await get(core, "/metrics")).text
    assert sample(text, "newsalert_polls_total", status="new-articles") >= 1
    assert sample(text, "newsalert_fetch_errors_total", kind="http") >= 1
    assert sample(text, "newsalert_new_articles_total") >= 1
    assert sample(text, "newsalert_matches_total") >= 1
    assert sample(text, "newsalert_alerts_sent_total") == len(telegram_api.sent_messages(CHANNEL))
    assert sample(text, "newsalert_alerts_failed_total") == 0
    assert sample(text, "newsalert_send_latency_seconds_count") >= 1
    assert sample(text, "newsalert_outbox_pending") == 0
    assert "s3cret" not in text
    shown = feed_server.url("/feed.xml") + "?key=***"
    assert sample(text, "newsalert_feed_last_success_timestamp_seconds", feed=shown) > 0
    assert sample(text, "newsalert_feed_last_success_timestamp_seconds", feed=broken) is None
    assert sample(text, "newsalert_telegram_last_contact_timestamp_seconds") > 0


async def test_healthz_is_200_while_scheduler_database_and_telegram_answer(tmp_path, telegram_api):
    async with Core(make_config(tmp_path, telegram_api)) as core:
        await core.start()
        response = await get(core, "/healthz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"scheduler", "database", "delivery", "telegram"}


async def test_healthz_is_503_naming_telegram_when_it_stops_answering_and_recovers(
    tmp_path, telegram_api
):
    async with Core(make_config(tmp_path, telegram_api, stale_after="1s")) as core:
        await core.start()
        telegram_api.fail_next("getMe", error_code=502, times=None)
        # The heartbeat's getMe fails: once Telegram has been quiet too long, /healthz says so.
        response = await wait_until_status(core, 503, containing="Bad Gateway")
        assert response.json()["problems"][0].startswith("telegram: not reached for")
        assert "Bad Gateway" in response.json()["checks"]["telegram"]
        telegram_api.clear_faults()
        await wait_until_status(core, 200)


async def wait_until_status(
    core: Core, status: int, *, containing: str = "", timeout: float = 15.0
) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await get(core, "/healthz")
        if response.status_code == status and containing in response.text:
            return response
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"/healthz still answers {response.status_code}: {response.text}")
        await asyncio.sleep(0.1)


async def test_dry_run_is_healthy_without_telegram(tmp_path):
    async with Core(make_config(tmp_path), dry_run=True) as core:
        await core.start()
        response = await get(core, "/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["telegram"] == "not used (dry run)"


async def test_metrics_endpoint_is_off_by_default(tmp_path):
    config = config_from_dict({"storage": {"path": str(tmp_path / "bot.db")}}, env={})
    async with Core(config, dry_run=True) as core:
        await core.start()
        assert core.ops_server is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_health_reports_a_stalled_scheduler_and_a_dead_database():
    clock = FakeClock()
    health = Health(Metrics(), stale_after=60, clock=clock)
    store = Store.open(":memory:")
    health.telegram_ok()
    assert health.check(scheduler_running=True, store=store, telegram_used=True).ok
    clock.now += 61
    report = health.check(scheduler_running=True, store=store, telegram_used=False)
    assert report.problems == ("scheduler: no heartbeat for 61s",)
    health.beat()
    store.close()
    report = health.check(scheduler_running=False, store=store, telegram_used=False)
    assert report.problems[0] == "scheduler: not running"
    assert report.problems[1].startswith("database: does not answer")


def test_health_before_telegram_ever_answered_names_it():
    health = Health(Metrics(), stale_after=60, clock=FakeClock())
    report = health.check(scheduler_running=True, store=Store.open(":memory:"), telegram_used=True)
    assert report.problems == ("telegram: never reached",)


async def test_heartbeat_asks_telegram_only_when_it_has_been_quiet():
    clock = FakeClock()
    health = Health(Metrics(), stale_after=30, clock=clock)
    calls = []

    class Bot:
        async def get_me(self) -> None:
            calls.append(clock.now)

    await health.heartbeat(Bot())
    assert len(calls) == 1
    clock.now += heartbeat_every(30) / 2
    await health.heartbeat(Bot())
    assert len(calls) == 1  # answered recently: no call
    clock.now += heartbeat_every(30)
    await health.heartbeat(Bot())
    assert len(calls) == 2


def test_two_cores_in_one_process_keep_separate_metrics():
    a, b = Metrics(), Metrics()
    a.alert_sent(0.1)
    assert sample(a.render().decode(), "newsalert_alerts_sent_total") == 1
    assert sample(b.render().decode(), "newsalert_alerts_sent_total") == 0


async def test_a_taken_port_is_a_clear_error():
    first = OpsServer("127.0.0.1:0", report=lambda: None, metrics=lambda: b"")  # type: ignore[arg-type,return-value]
    await first.start()
    try:
        second = OpsServer(f"127.0.0.1:{first.port}", report=None, metrics=None)  # type: ignore[arg-type]
        with pytest.raises(Exception, match=r"metrics.listen: cannot listen"):
            await second.start()
    finally:
        await first.stop()


def test_run_stops_at_once_with_a_clear_message_when_the_port_is_taken(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "config.toml"
        config.write_text(
            f'[storage]\npath = "{tmp_path / "bot.db"}"\n[metrics]\nlisten = "127.0.0.1:{port}"\n'
        )
        result = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "run", "--dry-run"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"metrics.listen: cannot listen on 127.0.0.1:{port}" in result.stderr


async def test_healthz_passes_error_texts_through_the_log_redactor(tmp_path, telegram_api):
    core = Core(make_config(tmp_path, telegram_api, stale_after="1s"))
    await core.start()
    try:
        leaky = f"Bad Gateway from https://proxy:hunter2pw@gw.example/bot{TOKEN}/getMe?key=K3Yval"
        telegram_api.fail_next("getMe", error_code=502, description=leaky, times=None)
        response = await wait_until_status(core, 503, containing="Bad Gateway")
        telegram_api.clear_faults()
    finally:
        await core.stop()
    assert TOKEN not in response.text and TOKEN.split(":")[1] not in response.text
    assert "hunter2pw" not in response.text and "K3Yval" not in response.text
