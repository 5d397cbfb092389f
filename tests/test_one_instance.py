"""One bot per database: a second `newsalert run` refuses at once, naming the first's pid;
read-only commands still work; and even two senders on one database (no lock) never send a
row twice, since rows are claimed atomically."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from bot.delivery.sender import Sender
from bot.delivery.sinks import Outgoing
from storage.lock import DatabaseLock
from storage.store import Store
from tests.fakes.feed_server import FeedServer
from tests.helpers import QUIET_FEED, Outbox, ScriptedSink, rss


def newsalert(*args: str, config) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
    )


def test_a_second_run_on_the_same_database_exits_at_once(tmp_path):
    db = tmp_path / "bot.db"
    with FeedServer.in_thread() as feeds:
        feeds.set("/wire.xml", rss(QUIET_FEED))
        config = tmp_path / "config.toml"
        config.write_text(
            f'[storage]\npath = "{db}"\n[fetch]\nfull_text = false\n'
            f'[[feeds]]\nurl = "{feeds.url("/wire.xml")}"\ninterval = "1s"\n'
        )
        first = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run", "--dry-run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while feeds.hits("/wire.xml") < 1:
                assert first.poll() is None and time.monotonic() < deadline, "first run"
                time.sleep(0.05)
            second = newsalert("run", "--dry-run", config=config)
            assert second.returncode != 0
            assert f"another newsalert is running on {db} (pid {first.pid})" in second.stderr
            assert "Traceback" not in second.stderr
            listed = newsalert("feeds", "list", config=config)
            assert listed.returncode == 0, listed.stderr
            assert "wire.xml" in listed.stdout
            doctor = newsalert("doctor", config=config)
            assert "another newsalert" not in doctor.stdout + doctor.stderr
            assert first.poll() is None, "the second run disturbed the first"
        finally:
            first.terminate()
            status = first.wait(timeout=30)
        assert status == 0
        # the lock went with the first process: a new run starts (and is stopped)
        again = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run", "--dry-run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        hits = feeds.hits("/wire.xml")
        try:
            deadline = time.monotonic() + 60
            while feeds.hits("/wire.xml") <= hits:
                assert again.poll() is None and time.monotonic() < deadline, again.stderr
                time.sleep(0.05)
        finally:
            again.terminate()
            assert again.wait(timeout=30) == 0


class SlowSink(ScriptedSink):
    async def send(self, message: Outgoing) -> int:
        await asyncio.sleep(0.01)  # both senders are mid-send at once
        return await super().send(message)


async def test_two_senders_on_one_database_never_send_a_row_twice(tmp_path):
    first, second = Store.open(tmp_path / "bot.db"), Store.open(tmp_path / "bot.db")
    try:
        out = Outbox(first)
        for chat_id in range(1, 11):
            out.alert(chat_id)
        sinks = SlowSink(), SlowSink()
        sent = await asyncio.gather(
            Sender(first, sinks[0]).drain(), Sender(second, sinks[1]).drain()
        )
        assert sum(sent) == 10
        chats = sorted(m["chat_id"] for sink in sinks for m in sink.sent)
        assert chats == list(range(1, 11))
        assert first.outbox.counts() == {"sent": 10}
    finally:
        first.close()
        second.close()


def test_a_run_refused_by_the_lock_does_not_say_it_stopped(tmp_path):
    db = tmp_path / "bot.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{db}"\n')
    held = DatabaseLock.acquire(db)  # as a running bot holds it
    try:
        second = newsalert("run", "--dry-run", config=config)
    finally:
        assert held is not None
        held.release()
    assert second.returncode != 0 and "another newsalert is running" in second.stderr
    assert "newsalert stopped" not in second.stderr  # it never started
