"""Is a command answered at once while large feeds are parsed?  The real bot, pool vs inline.

    .venv/bin/python bench/responsiveness.py                  # process pool vs inline
    .venv/bin/python bench/responsiveness.py --modes inline,thread,process --samples 60

For each ``performance.workers`` mode the real bot (``python -m bot run``) runs against the
fake Bot API (tests/fakes) and a loopback feed server with three synthetic ~2 MB feeds
(tests/fakes/synthetic_feeds.py) that change every second and are polled every second,
so they are parsed again and again.  Meanwhile ``/help`` is sent ``--samples`` times, from a
different person each time (the per-person flood limit stays out of it), and the time from
the update reaching the fake to the bot's ``sendMessage`` is measured.  Printed per mode:
reply latency p50/p95/max, the bot's own record of its longest event-loop stall
(``newsalert_event_loop_lag_max_seconds``), how many parses ran and where, and the bot's CPU
time; then inline/pool ratios.  Targets (issue 15): p95 <= 0.5 s and max <= 1.5 s with the
pool.

Noisy on a shared machine: run it alone for figures to quote.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.feed_server import FeedServer  # noqa: E402
from tests.fakes.synthetic_feeds import big_feed  # noqa: E402
from tests.fakes.telegram_api import FakeBotAPI  # noqa: E402

TOKEN = "123456:BENCH-TOKEN-abcdefghijklmnopqrstuvwxyz"
FEEDS = ("wire-a", "wire-b", "wire-c")
TARGET_P95 = 0.5
TARGET_MAX = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(where: Path, api_url: str, feeds: FeedServer, mode: str, metrics: int) -> Path:
    config = where / f"config-{mode}.toml"
    feed_tables = "".join(
        f'\n[[feeds]]\nurl = "{feeds.url(f"/{name}.xml")}"\ninterval = "1s"\nfull_text = false\n'
        for name in FEEDS
    )
    config.write_text(
        f"""
[telegram]
base_url = "{api_url}"
poll_timeout = "1s"

[storage]
path = "{where / f"bot-{mode}.db"}"
retention = "off"

[metrics]
listen = "127.0.0.1:{metrics}"

[performance]
workers = "{mode}"
{feed_tables}"""
    )
    return config


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        return answer.read().decode()


def metric(page: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in page.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_cpu(root: int) -> float:
    """User + system CPU seconds of ``root`` and every process below it (the worker
    processes are children of the forkserver, a child of the bot), Linux only."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(entry.name)] = int(_stat(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0.0
    for pid in tree:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_mode(mode: str, samples: int, warmup: float) -> dict[str, float]:
    versions = dict.fromkeys(FEEDS, 0)
    with (
        FakeBotAPI.in_thread(token=TOKEN) as api,
        FeedServer.in_thread() as feeds,
        tempfile.TemporaryDirectory(prefix="newsalert-resp-") as tmp,
    ):
        for name in FEEDS:
            feeds.set(f"/{name}.xml", big_feed(name, 0))
        port = free_port()
        config = write_config(Path(tmp), api.base_url, feeds, mode, port)
        env = {**os.environ, "NEWSALERT_TELEGRAM_TOKEN": TOKEN}
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
        stop = threading.Event()

        def change_feeds() -> None:
            while not stop.wait(1.0):
                for name in FEEDS:
                    versions[name] += 1
                    feeds.set(f"/{name}.xml", big_feed(name, versions[name]))

        changer = threading.Thread(target=change_feeds, daemon=True)
        try:
            api.wait_for(lambda: api.calls_to("getUpdates"), timeout=60)
            api.wait_for(lambda: all(feeds.hits(f"/{n}.xml") for n in FEEDS), timeout=60)
            changer.start()
            time.sleep(warmup)
            cpu_before = tree_cpu(proc.pid)
            started = time.monotonic()
            latencies = []
            rng = random.Random(15)
            for i in range(samples):
                chat = 10_000 + i
                sent_at = time.monotonic()
                api.inject_message(chat, "/help", user_id=chat)
                api.wait_for_messages(chat, 1, timeout=60)
                answer = next(
                    c
                    for c in api.calls_to("sendMessage")
                    if c.params.get("chat_id") in (chat, str(chat))
                )
                latencies.append(answer.time - sent_at)
                time.sleep(rng.uniform(0.05, 0.4))
            elapsed = time.monotonic() - started
            cpu = tree_cpu(proc.pid) - cpu_before
            page = scrape(port)
        finally:
            stop.set()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p95": latencies[max(0, round(0.95 * len(latencies)) - 1)],
        "max": latencies[-1],
        "stall": metric(page, "newsalert_event_loop_lag_max_seconds"),
        "parses": metric(page, "newsalert_worker_tasks_total", task="parse_feed"),
        "parses_here": metric(page, "newsalert_worker_tasks_total", task="parse_feed", mode=mode),
        "cpu": cpu / elapsed,  # cores busy, the workers included
        "elapsed": elapsed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="inline,process", help="comma-separated modes")
    parser.add_argument("--samples", type=int, default=40, help="/help commands per mode")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load first")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    sizes = {name: len(big_feed(name, 0)) / 1e6 for name in FEEDS}
    print(
        f"3 feeds of {', '.join(f'{s:.1f}' for s in sizes.values())} MB, changing and polled "
        f"every second; {args.samples} x /help per mode; {os.cpu_count()} cores"
    )
    results = {}
    for mode in modes:
        r = results[mode] = run_mode(mode, args.samples, args.warmup)
        print(
            f"{mode:8s} /help p50 {r['p50']:6.3f} s  p95 {r['p95']:6.3f} s  max {r['max']:6.3f} s"
            f"  longest loop stall {r['stall']:6.3f} s  parses {r['parses']:.0f}"
            f"  bot CPU {r['cpu']:.2f} cores"
        )
    ok = True
    pool = next((m for m in modes if m != "inline"), None)
    if pool:
        r = results[pool]
        met = r["p95"] <= TARGET_P95 and r["max"] <= TARGET_MAX
        ok = met
        print(
            f"{pool}: p95 {r['p95']:.3f} s (target <= {TARGET_P95}), max {r['max']:.3f} s "
            f"(target <= {TARGET_MAX}): {'met' if met else 'NOT met'}"
        )
        if "inline" in results:
            base = results["inline"]
            for key in ("p50", "p95", "max", "stall"):
                ratio = base[key] / r[key] if r[key] else float("inf")
                print(f"  inline / {pool} {key:5s}: {ratio:6.1f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
