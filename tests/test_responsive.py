"""`newsalert run` stays responsive while large feeds are parsed: the parsing runs in worker
processes, commands are answered meanwhile, and the loop's lag is exported.

No timing is asserted here (the machine may be busy); bench/responsiveness.py measures the
reply latency, pool against inline."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

from tests.fakes.feed_server import FeedServer
from tests.fakes.synthetic_feeds import big_feed
from tests.fakes.telegram_api import FakeBotAPI
from tests.helpers import REPO, TOKEN, config_head
from tests.test_run import wait_for_exit

FEEDS = ("wire-a", "wire-b", "wire-c")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metric(page: str, name: str, **labels: str) -> float | None:
    """The value of ``name`` with these labels (summed over the others); None when absent."""
    found = None
    for line in page.splitlines():
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] == name and all(f'{k}="{v}"' in head for k, v in labels.items()):
            found = (found or 0.0) + float(value)
    return found


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        return answer.read().decode()


def changed_polls(port: int) -> float:
    try:
        return metric(scrape(port), "newsalert_polls_total", status="new-articles") or 0
    except OSError:  # not listening yet
        return 0


def test_commands_are_answered_while_big_feeds_are_parsed_in_worker_processes(tmp_path):
    port = free_port()
    versions = dict.fromkeys(FEEDS, 0)
    stop = threading.Event()
    with FakeBotAPI.in_thread(token=TOKEN) as api, FeedServer.in_thread() as feeds:
        for name in FEEDS:
            feeds.set(f"/{name}.xml", big_feed(name))  # ~2 MB each
        config = tmp_path / "config.toml"
        config.write_text(
            config_head(api, tmp_path / "bot.db") + f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n\n'
            '[performance]\nworkers = "process"\npool_size = 2\n'
            + "".join(
                f'\n[[feeds]]\nurl = "{feeds.url(f"/{n}.xml")}"\ninterval = "1s"\n' for n in FEEDS
            )
        )

        def change_feeds() -> None:  # a new entry on top of each feed, every half second
            while not stop.wait(0.5):
                for name in FEEDS:
                    versions[name] += 1
                    feeds.set(f"/{name}.xml", big_feed(name, versions[name]))

        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "-v", "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={"NEWSALERT_TELEGRAM_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
            cwd=REPO,
        )
        changer = threading.Thread(target=change_feeds, daemon=True)
        try:
            api.wait_for(lambda: api.calls_to("getUpdates"), timeout=60)
            changer.start()
            # feeds primed, and changes being parsed
            api.wait_for(lambda: changed_polls(port) >= 3, timeout=120)
            for i in range(5):
                chat = 500 + i
                api.inject_message(chat, "/help", user_id=chat)
                (reply, *_) = api.wait_for_messages(chat, 1, timeout=60)
                assert "/subscribe" in reply["text"]
            page = scrape(port)
        finally:
            stop.set()
            proc.send_signal(signal.SIGTERM)
            try:
                status = wait_for_exit(proc, timeout=60)
            finally:
                _out, err = proc.communicate()
    assert status == 0, err[-3000:]
    # the parses ran in the pool's processes, none on the loop
    assert (
        metric(page, "newsalert_worker_tasks_total", task="parse_feed", mode="process") or 0
    ) >= 6
    assert metric(page, "newsalert_worker_tasks_total", mode="inline") is None
    # the loop's heartbeat ran and its lag is exported
    assert (metric(page, "newsalert_event_loop_lag_seconds_count") or 0) > 0
    assert metric(page, "newsalert_event_loop_lag_max_seconds") is not None
    # the workers are processes of their own
    started = re.search(r"worker processes started in [0-9.]+s \(pids ([0-9, ]+)\)", err)
    assert started, err[-3000:]
    pids = {int(p) for p in started.group(1).split(",")}
    assert len(pids) == 2 and proc.pid not in pids
