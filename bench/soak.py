"""Soak test: the real bot, as a process, for minutes against a misbehaving world.

    .venv/bin/python bench/soak.py                # 3 minutes of publishing and faults
    .venv/bin/python bench/soak.py --minutes 10 --feeds 6 --channels 4 --private 4

``python -m bot run`` runs as an operator runs it, against the fake Bot API
(``enforce_limits=True``: Telegram's flood limits answer 429) and a feed server
whose feeds publish new items all the time.  Faults are injected throughout:
feeds answer 500/503, hang past the read timeout, or answer 429 with
Retry-After; the Bot API answers 502, 429 or slowly.  Subscribers are channels
from the config and private chats that send /subscribe.  Every item is its own
story (random made-up words from a fixed vocabulary), so each must reach each
subscriber exactly once.

After ``--minutes`` the publishing and the faults stop, and the script waits
(at most ``--settle`` seconds) for the last alerts, then stops the bot with
SIGTERM and prints, per run:

- alerts expected (matching items published after the bot first read their
  feed, times subscribers), sent, lost, duplicated, and unexpected;
- the bot's resident memory (VmRSS) and open file descriptors from /proc,
  after the warm-up and at the end, with the growth;
- what the bot's own /metrics counted, and whether the token ever showed in its log.

The exit status is 1 when an alert was lost or duplicated.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.fakes.feed_server import FeedServer  # noqa: E402
from tests.fakes.synthetic_feeds import made_up_vocabulary  # noqa: E402
from tests.fakes.telegram_api import FakeBotAPI  # noqa: E402

TOKEN = "987654:SOAK-TOKEN-abcdefghijklmnopqrstuvwxyz0123"
TOPIC = "soak-reactors"
TAG = re.compile(r"\[soak (\d+-\d+)\]")
VOCABULARY = 5000  # made-up words: items share few, yet the bot's word caches saturate as on
# real news, where the vocabulary is large but finite
WINDOW = 80  # items a feed lists; enough to cover any backoff during the run


@dataclass
class Feed:
    path: str
    items: list[tuple[int, str, str, float]] = field(default_factory=list)  # n, title, lead, ts
    next_n: int = 1


class Publisher(threading.Thread):
    """Adds an item to a random feed every ``every`` seconds; two in three match the topic."""

    def __init__(self, server: FeedServer, feeds: list[Feed], every: float, seed: int) -> None:
        super().__init__(daemon=True, name="publisher")
        self.server, self.feeds, self.every = server, feeds, every
        self.random = random.Random(seed)
        self.words = list(made_up_vocabulary(self.random, VOCABULARY))
        self.stop = threading.Event()
        self.published: list[tuple[str, float]] = []  # matching tags and when
        self.lock = threading.Lock()

    def publish(self, feed: Feed, *, matching: bool | None = None) -> None:
        hit = self.random.random() < 2 / 3 if matching is None else matching
        n = feed.next_n
        feed.next_n += 1
        index = self.feeds.index(feed) + 1
        # Made-up words: every item is its own story (the bot merges near-duplicates of one
        # story into one alert, which would count here as lost).
        words = " ".join(self.word() for _ in range(6))
        title = f"{'Reactor' if hit else 'Weather'} {words} [soak {index}-{n}]"
        lead = " ".join(self.word() for _ in range(30))
        now = time.time()
        feed.items.insert(0, (n, title, lead, now))
        del feed.items[WINDOW:]
        self.server.set(feed.path, render_rss(index, feed.items))
        if hit:
            with self.lock:
                self.published.append((f"{index}-{n}", now))

    def word(self) -> str:
        return self.random.choice(self.words)

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.publish(self.random.choice(self.feeds))


def render_rss(index: int, items: list[tuple[int, str, str, float]]) -> str:
    entries = "".join(
        f"<item><title>{escape(title)}</title>"
        f"<link>https://soak.example/{index}/{n}</link><guid>soak-{index}-{n}</guid>"
        f"<pubDate>{formatdate(ts, usegmt=True)}</pubDate>"
        f"<description>{escape(lead)}.</description></item>"
        for n, title, lead, ts in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Soak feed {index}</title><link>https://soak.example/{index}</link>"
        f"<description>soak</description>{entries}</channel></rss>"
    )


class Faults(threading.Thread):
    """Breaks a random feed for a while, and the Bot API now and then."""

    def __init__(self, server: FeedServer, api, feeds: list[Feed], seed: int) -> None:
        super().__init__(daemon=True, name="faults")
        self.server, self.api, self.feeds = server, api, feeds
        self.random = random.Random(seed + 1)
        self.stop = threading.Event()
        self.injected: Counter[str] = Counter()

    def run(self) -> None:
        while not self.stop.wait(self.random.uniform(4, 9)):
            feed = self.random.choice(self.feeds)
            kind = self.random.choice(["500", "503", "timeout", "429"])
            if kind == "timeout":
                self.server.fault(feed.path, "timeout", delay=8)
            elif kind == "429":
                self.server.fault(feed.path, "status", code=429, retry_after=6)
            else:
                self.server.fault(feed.path, "status", code=int(kind))
            self.injected[f"feed {kind}"] += 1
            telegram = self.random.choice(["502", "429", "slow", None])
            if telegram == "502":
                self.api.fail_next("sendMessage", error_code=502, times=2)
            elif telegram == "429":
                self.api.fail_next("sendMessage", error_code=429, retry_after=2)
            elif telegram == "slow":
                self.api.slow_next("sendMessage", 1.5, times=3)
            if telegram:
                self.injected[f"telegram {telegram}"] += 1
            if self.stop.wait(self.random.uniform(2, 7)):
                self.server.clear_fault(feed.path)
                return
            self.server.clear_fault(feed.path)


def proc_stats(pid: int) -> tuple[float, int]:
    """Resident memory in MiB and open file descriptors of ``pid``."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return rss_kib / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def write_config(
    folder: Path, api, server: FeedServer, feeds, channels, metrics_port, story_window: str = ""
) -> Path:
    lines = [
        "[telegram]",
        f'base_url = "{api.base_url}"',
        'poll_timeout = "2s"',
        "[storage]",
        f'path = "{folder / "soak.db"}"',
        "[polling]",
        "jitter = 0",
        "[fetch]",
        'connect_timeout = "2s"',
        'read_timeout = "3s"',
        "full_text = false",
        "[metrics]",
        f'listen = "127.0.0.1:{metrics_port}"',
        *(["[delivery]", f'story_window = "{story_window}"'] if story_window else []),
        "[[topics]]",
        f'id = "{TOPIC}"',
        'name = "Soak reactors"',
        'query = "reactor"',
    ]
    for feed in feeds:
        lines += ["[[feeds]]", f'url = "{server.url(feed.path)}"', 'interval = "2s"']
    for chat_id in channels:
        lines += ["[[channels]]", f"chat_id = {chat_id}", f'topics = ["{TOPIC}"]']
    path = folder / "soak.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="publishing and faults")
    parser.add_argument("--feeds", type=int, default=4)
    parser.add_argument("--channels", type=int, default=3, help="subscribed channels")
    parser.add_argument("--private", type=int, default=3, help="subscribed private chats")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between new items")
    parser.add_argument("--settle", type=float, default=240.0, help="max wait for the last alerts")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--story-window",
        default="",
        help='delivery.story_window for the bot (default 24h); a short one, e.g. "2m", lets '
        "the story fingerprints reach their steady size within a short run",
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="newsalert-soak-"))
    channels = [-1001000000000 - i for i in range(1, args.channels + 1)]
    privates = [5000 + i for i in range(1, args.private + 1)]
    feeds = [Feed(f"/feed{i}.xml") for i in range(1, args.feeds + 1)]
    metrics_port = free_port()
    with (
        FakeBotAPI.in_thread(token=TOKEN, enforce_limits=True) as api,
        FeedServer.in_thread() as server,
    ):
        for chat_id in channels:
            api.add_chat(chat_id, "channel", title=f"Soak channel {chat_id}")
        publisher = Publisher(server, feeds, args.every, args.seed)
        for feed in feeds:  # what the first poll sees: recorded, never alerted
            for _ in range(3):
                publisher.publish(feed, matching=False)
        publisher.published.clear()
        config = write_config(
            folder, api, server, feeds, channels, metrics_port, story_window=args.story_window
        )
        log_path = folder / "bot.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(config), "run"],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NEWSALERT_TELEGRAM_TOKEN": TOKEN},
            )
        try:
            report = soak(
                args,
                api,
                server,
                proc,
                publisher,
                feeds,
                channels,
                privates,
                f"http://127.0.0.1:{metrics_port}",
            )
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    proc.kill()
        log_text = log_path.read_text()
    report["exit status"] = proc.returncode
    report["token in log"] = TOKEN in log_text or TOKEN.split(":")[1] in log_text
    report["log warnings/errors"] = (
        f"{log_text.count(' WARNING ')} / {log_text.count(' ERROR ') + log_text.count('CRITICAL')}"
    )
    print_report(report, args)
    print(f"(database and log kept in {folder})")
    return 1 if report["lost"] or report["duplicated"] or report["token in log"] else 0


def soak(args, api, server, proc, publisher, feeds, channels, privates, ops_url) -> dict:
    api.wait_for(lambda: api.calls_to("getUpdates"), timeout=60)
    # The first poll of each feed only records what is there (no alerts).
    api.wait_for(lambda: all(server.hits(f.path) >= 1 for f in feeds), timeout=60)
    for chat_id in privates:
        api.inject_message(chat_id, f"/subscribe {TOPIC}", user_id=chat_id)
    api.wait_for(lambda: all(api.sent_messages(c) for c in privates), timeout=60)
    time.sleep(3)  # the first polls are processed before anything new is published
    subscribers = channels + privates
    publisher.start()
    faults = Faults(server, api, feeds, args.seed)
    faults.start()
    started = time.monotonic()
    end = started + args.minutes * 60
    warm = None
    samples = []
    while time.monotonic() < end:
        time.sleep(5)
        if proc.poll() is not None:
            raise SystemExit(f"the bot exited early with status {proc.returncode}")
        samples.append(proc_stats(proc.pid))
        if warm is None and time.monotonic() - started >= min(60, args.minutes * 60 / 4):
            warm = samples[-1]
    publisher.stop.set()
    faults.stop.set()
    publisher.join()
    faults.join()
    for feed in feeds:
        server.clear_fault(feed.path)
    api.clear_faults()
    expected = {(chat, tag) for tag, _ in publisher.published for chat in subscribers}

    def delivered() -> Counter[tuple[int, str]]:
        got: Counter[tuple[int, str]] = Counter()
        for chat in subscribers:
            for message in api.sent_messages(chat):
                found = TAG.search(message.get("text", ""))
                if found:
                    got[(chat, found.group(1))] += 1
        return got

    settle_started = time.monotonic()
    deadline = settle_started + args.settle
    while time.monotonic() < deadline and not expected <= set(delivered()):
        time.sleep(2)
    settled_in = time.monotonic() - settle_started
    time.sleep(5)  # anything sent twice would show up now
    end_stats = proc_stats(proc.pid)
    warm = warm or samples[0]
    metrics, health = scrape(ops_url)
    got = delivered()
    return {
        "minutes": args.minutes,
        "feeds": len(feeds),
        "subscribers": f"{len(channels)} channels + {len(privates)} private chats",
        "items published (matching)": len(publisher.published),
        "alerts expected": len(expected),
        "alerts sent": sum(got[k] for k in expected),
        "lost": len(expected - set(got)),
        "duplicated": sum(n - 1 for n in got.values() if n > 1),
        "unexpected": len(set(got) - expected),
        "messages edited": len(api.calls_to("editMessageText")),
        "settled in": f"{settled_in:.0f}s after publishing stopped",
        "faults injected": dict(faults.injected),
        "flood 429s from the fake API": api.flood_errors,
        "rss MiB (after warm-up -> end)": f"{warm[0]:.1f} -> {end_stats[0]:.1f} "
        f"({end_stats[0] - warm[0]:+.1f}; max {max(s[0] for s in samples):.1f})",
        "rss MiB at each quarter of the run": " ".join(
            f"{samples[min(len(samples) - 1, len(samples) * q // 4)][0]:.1f}" for q in (1, 2, 3, 4)
        ),
        "open fds (after warm-up -> end)": f"{warm[1]} -> {end_stats[1]} "
        f"({end_stats[1] - warm[1]:+d})",
        "/healthz": health,
        "/metrics": metrics,
    }


def scrape(ops_url: str) -> tuple[dict[str, float], str]:
    """The bot's own counters (those not zero) and its /healthz answer."""
    wanted = (
        "newsalert_polls_total",
        "newsalert_fetch_errors_total",
        "newsalert_new_articles_total",
        "newsalert_matches_total",
        "newsalert_alerts_sent_total",
        "newsalert_alerts_failed_total",
        "newsalert_outbox_pending",
        "newsalert_send_latency_seconds_sum",
        "newsalert_send_latency_seconds_count",
    )
    out: dict[str, float] = {}
    try:
        text = httpx.get(f"{ops_url}/metrics", timeout=5).text
        health = httpx.get(f"{ops_url}/healthz", timeout=5).text.strip()
    except httpx.HTTPError as e:
        return {}, f"unreachable: {e}"
    for line in text.splitlines():
        if line.startswith(wanted):
            name, value = line.rsplit(" ", 1)
            if float(value):
                out[name] = float(value)
    return out, health


def print_report(report: dict, args) -> None:
    print(f"\nsoak: {args.minutes:g} min of publishing every {args.every:g}s, with faults")
    for key, value in report.items():
        if isinstance(value, dict):
            print(f"  {key}:")
            for k, v in value.items():
                print(f"      {k} = {v:g}" if isinstance(v, float) else f"      {k}: {v}")
        else:
            print(f"  {key}: {value}")


if __name__ == "__main__":
    sys.exit(main())
