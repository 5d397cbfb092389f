"""The real bot at scale: many feeds, 100,000 subscriptions, 20,000 chats, one process.

    .venv/bin/python bench/scale.py                          # 500 feeds, pool vs inline
    .venv/bin/python bench/scale.py --feeds 5000 --minutes 5 --modes process

``python -m bot run`` runs against a loopback feed server and the fake Bot API enforcing
Telegram's limits (30 messages/s, 429 beyond).  Before it starts, its database gets
``--chats`` private chats with ``--subscriptions`` filters between them (two-word
queries over a fixed vocabulary).  Feeds are synthetic RSS (tests/fakes/synthetic_feeds.py):
sizes drawn like the real feeds of ../shared/data/feeds when present (most tens of KB, a
few over 1 MB), else a fixed spread.  Every feed is polled every ``--interval`` seconds;
on each interval ``--changing`` (20%) of them get a new entry on top, which some
subscribers match.  Meanwhile a person sends ``/help`` every second or so.

Printed per ``performance.workers`` mode: polls per second (changed and unchanged), CPU
of the bot's process tree per poll, alert latency from the entry's publication to the
fake's ``sendMessage`` (p50, p99), ``/help`` reply latency (p50, p99), the loop's longest
stall, resident memory, the outbox backlog at the end, and which resource gives out first.
Noisy on a shared machine: run it alone for figures to quote.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import SHARED  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))

from responsiveness import free_port, metric, scrape, tree_cpu  # noqa: E402

from storage.store import Store  # noqa: E402
from tests.fakes.feed_server import FeedServer  # noqa: E402
from tests.fakes.synthetic_feeds import WORDS, big_feed  # noqa: E402
from tests.fakes.telegram_api import FakeBotAPI  # noqa: E402

TOKEN = "123456:SCALE-TOKEN-abcdefghijklmnopqrstuvwxyz"
SHARED_DATA = SHARED / "data"
TAG = re.compile(r"\(scale-(\d+) (\d+)\)")
ITEM_BYTES = 4000  # per synthetic entry


def feed_sizes(n: int, rng: random.Random) -> list[int]:
    """Entries per feed, drawn from the real feeds' sizes when present."""
    sizes = []
    index = SHARED_DATA / "feeds" / "INDEX.csv"
    if index.is_file():
        with index.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                path = SHARED_DATA / "feeds" / row["file"]
                if row["format"] != "json" and path.is_file():
                    sizes.append(path.stat().st_size)
    if not sizes:
        sizes = [20_000] * 6 + [60_000] * 3 + [2_000_000]
    return [max(3, min(400, rng.choice(sizes) // ITEM_BYTES)) for _ in range(n)]


def prepare_db(path: Path, chats: int, subscriptions: int, feeds: int, rng: random.Random) -> None:
    """Chats and their filters, written before the bot starts: each follows one feed's
    entries with two title words (about one entry in 80 has both)."""
    store = Store.open(path)
    now = "2026-01-01T00:00:00+00:00"
    words = sorted(set(WORDS))
    with store.db.atomic():
        for chat_id in range(1, chats + 1):
            store.db.execute(
                "INSERT INTO chats (chat_id, type, created_at) VALUES (?, 'private', ?)",
                [chat_id, now],
            )
        for i in range(subscriptions):
            chat_id = 1 + i % chats
            first, second = rng.sample(words, 2)
            query = f'"scale {rng.randrange(feeds)}" title:{first} title:{second}'
            store.db.execute(
                "INSERT OR IGNORE INTO subscriptions (chat_id, topic_id, query, created_at) "
                "VALUES (?, 'query', ?, ?)",
                [chat_id, query, now],
            )
    store.close()


def write_config(where: Path, api_url: str, urls: list[str], mode: str, port: int, every: int):
    config = where / f"config-{mode}.toml"
    feeds = "".join(
        f'\n[[feeds]]\nurl = "{u}"\ninterval = "{every}s"\nfull_text = false\n' for u in urls
    )
    config.write_text(
        f'[telegram]\nbase_url = "{api_url}"\npoll_timeout = "1s"\n\n'
        f'[storage]\npath = "{where / f"bot-{mode}.db"}"\nretention = "off"\n\n'
        f'[metrics]\nlisten = "127.0.0.1:{port}"\n\n'
        f'[fetch]\nper_host = 16\n\n[performance]\nworkers = "{mode}"\n{feeds}'
    )
    return config


def vm_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def primed(port: int) -> float:
    try:
        return metric(scrape(port), "newsalert_polls_total", status="primed") or 0
    except OSError:
        return 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_mode(args: argparse.Namespace, mode: str) -> dict[str, float]:
    rng = random.Random(args.seed)
    sizes = feed_sizes(args.feeds, rng)
    versions = [0] * args.feeds
    published: dict[tuple[int, int], float] = {}  # (feed, version) -> when
    with (
        FakeBotAPI.in_thread(token=TOKEN, enforce_limits=True) as api,
        FeedServer.in_thread() as server,
        tempfile.TemporaryDirectory(prefix="newsalert-scale-") as tmp,
    ):
        for i, size in enumerate(sizes):
            server.set(f"/f{i}.xml", big_feed(f"scale-{i}", 0, items=size, item_bytes=ITEM_BYTES))
        port = free_port()
        urls = [server.url(f"/f{i}.xml") for i in range(args.feeds)]
        config = write_config(Path(tmp), api.base_url, urls, mode, port, args.interval)
        prepare_db(Path(tmp) / f"bot-{mode}.db", args.chats, args.subscriptions, args.feeds, rng)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=open(args.log, "a") if args.log else subprocess.DEVNULL,  # noqa: SIM115
            env={**os.environ, "NEWSALERT_TELEGRAM_TOKEN": TOKEN},
            cwd=ROOT,
        )
        stop = threading.Event()

        def publish() -> None:  # every interval, a new entry on top of --changing of them
            while not stop.wait(args.interval):
                for i in rng.sample(range(args.feeds), int(args.changing * args.feeds)):
                    versions[i] += 1
                    body = big_feed(
                        f"scale-{i}", versions[i], items=sizes[i], item_bytes=ITEM_BYTES
                    )
                    server.set(f"/f{i}.xml", body)
                    published[(i, sizes[i] + versions[i])] = time.monotonic()  # its number

        replies: list[float] = []

        def ask() -> None:  # a person asks for /help about once a second
            n = 0
            while not stop.wait(1.0):
                n += 1
                chat = 900_000 + n
                sent = time.monotonic()
                api.inject_message(chat, "/help", user_id=chat)
                try:
                    api.wait_for_messages(chat, 1, timeout=60)
                except TimeoutError:
                    replies.append(float("inf"))
                    continue
                call = next(
                    c
                    for c in api.calls_to("sendMessage")
                    if c.params.get("chat_id") in (chat, str(chat))
                )
                replies.append(call.time - sent)

        try:
            api.wait_for(lambda: api.calls_to("getUpdates"), timeout=120)
            # every feed read once (its entries recorded, not alerted) before the clock starts
            api.wait_for(lambda: primed(port) >= args.feeds, timeout=1200)
            threads = [threading.Thread(target=f, daemon=True) for f in (publish, ask)]
            for t in threads:
                t.start()
            page0 = scrape(port)
            cpu0, t0 = tree_cpu(proc.pid), time.monotonic()
            time.sleep(args.minutes * 60)
            page1 = scrape(port)
            cpu = tree_cpu(proc.pid) - cpu0
            elapsed = time.monotonic() - t0
            rss = vm_rss_mb(proc.pid)
        finally:
            stop.set()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
        latencies = []
        for call in api.calls_to("sendMessage"):
            found = TAG.search(str(call.params.get("text", "")))
            if found and call.error_code is None:
                key = (int(found.group(1)), int(found.group(2)))
                if key in published:
                    latencies.append(call.time - published[key])

    def delta(name: str, **labels: str) -> float:
        return (metric(page1, name, **labels) or 0) - (metric(page0, name, **labels) or 0)

    changed = delta("newsalert_polls_total", status="new-articles")
    unchanged = delta("newsalert_polls_total", status="unchanged") + delta(
        "newsalert_polls_total", status="not-modified"
    )
    polls = changed + unchanged + delta("newsalert_polls_total", status="error")
    return {
        "polls_s": polls / elapsed,
        "changed": changed,
        "unchanged": unchanged,
        "errors": delta("newsalert_polls_total", status="error"),
        "cpu": cpu / elapsed,
        "cpu_per_poll_ms": 1e3 * cpu / polls if polls else float("nan"),
        "alert_p50": percentile(latencies, 0.5),
        "alert_p99": percentile(latencies, 0.99),
        "alerts": len(latencies),
        "reply_p50": percentile(replies, 0.5),
        "reply_p99": percentile(replies, 0.99),
        "stall": metric(page1, "newsalert_event_loop_lag_max_seconds") or 0,
        "pending": metric(page1, "newsalert_outbox_pending") or 0,
        "rss": rss,
        "sent_s": delta("newsalert_alerts_sent_total") / elapsed,
    }


def verdict(r: dict[str, float], args: argparse.Namespace) -> str:
    wanted = args.feeds / args.interval
    if r["cpu"] > 0.9 * (os.cpu_count() or 1):
        return "CPU: the process tree uses the machine"
    if r["polls_s"] < 0.9 * wanted:
        return f"ingest: {r['polls_s']:.1f} polls/s of the {wanted:.1f} asked for"
    if r["pending"] > 100 and r["sent_s"] > 25:
        return "sending: Telegram's 30 messages/s; the outbox grows"
    if r["reply_p99"] > 1.5:
        return "the event loop: replies wait"
    return "nothing yet at this load"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--chats", type=int, default=20_000)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--interval", type=int, default=60, help="seconds between polls")
    parser.add_argument("--changing", type=float, default=0.2, help="share changing per poll")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--modes", default="process,inline")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--log", help="append the bot's log to this file")
    args = parser.parse_args()
    print(
        f"{args.feeds} feeds polled every {args.interval}s, {args.changing:.0%} changing, "
        f"{args.subscriptions:,} subscriptions over {args.chats:,} chats, "
        f"{args.minutes:g} min per mode, {os.cpu_count()} cores"
    )
    results = {}
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        r = results[mode] = run_mode(args, mode)
        print(
            f"{mode:8s} polls {r['polls_s']:6.2f}/s ({r['changed']:.0f} changed, "
            f"{r['unchanged']:.0f} unchanged, {r['errors']:.0f} errors)  CPU {r['cpu']:.2f} cores, "
            f"{r['cpu_per_poll_ms']:.0f} ms per poll\n"
            f"         alerts: {r['alerts']} seen, publication->sendMessage p50 "
            f"{r['alert_p50']:.1f}s p99 {r['alert_p99']:.1f}s; sent {r['sent_s']:.1f}/s, "
            f"{r['pending']:.0f} pending at the end\n"
            f"         /help p50 {r['reply_p50']:.3f}s p99 {r['reply_p99']:.3f}s; longest loop "
            f"stall {r['stall']:.2f}s; RSS {r['rss']:.0f} MB\n"
            f"         gives out first: {verdict(r, args)}"
        )
    if "inline" in results and len(results) > 1:
        pool = next(m for m in results if m != "inline")
        a, b = results["inline"], results[pool]
        print(
            f"inline / {pool}: /help p99 {a['reply_p99'] / b['reply_p99']:.1f}x, loop stall "
            f"{a['stall'] / max(b['stall'], 1e-3):.1f}x, polls/s {b['polls_s'] / a['polls_s']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
