"""The real bot at scale: a ladder of feed counts, 100,000 subscriptions, 20,000 chats.

    .venv/bin/python bench/scale.py                  # ladder 500, 2000, 5000; inline at 5000
    .venv/bin/python bench/scale.py --ladder 100,300 --subscriptions 10000 --chats 2000
    .venv/bin/python bench/scale.py --ladder 5000,10000 --interval 60 --inline-at none

``python -m bot run`` runs against a loopback feed server and the fake Bot API enforcing
Telegram's limits (30 messages/s, 1/s per chat, 429 beyond).  Each of the three runs in its
own process: the bot's CPU (its process tree: the bot, the forkserver and its workers) is
measured apart from the fakes', whose CPU is printed too.

- **Feeds.** Synthetic RSS whose entry counts and bytes per entry are drawn from the real
  feeds of ``../shared/data/feeds`` (``INDEX.csv``; a fixed spread without it): most are tens
  of KB, about 4% over 1 MB (the few large ones), about 160 KB on average.  Feed intervals
  are spread over +-25% of ``--interval`` (30 s on average; the spread keeps the feeds from
  all being polled in the same second, see :func:`intervals`).  While changes are on,
  ``--changing`` (20%) of the feeds get a new entry on top per interval, each at a random
  moment of it (a new entry comes when it comes, not when the bot polls).
- **Subscriptions.** Before the first run the database gets ``--chats`` private chats with
  ``--subscriptions`` filters between them: ``"scale N" title:w1 title:w2`` for a feed N of
  the largest rung, so each feed has the same number of followers at every rung and about
  one new entry in three reaches one of them.
- **The ladder.** One database for all rungs: each rung restarts the bot with more feeds
  (the new ones are read once, "primed", their entries stored, not alerted).  Per rung,
  after every feed was polled once by the new process: ``--quiet`` seconds with no feed
  changing (only unchanged polls, 304s), then ``--changing-for`` seconds with changes, then
  ``--drain`` seconds (15) for the last alerts (by default one interval, one, and 15 s:
  entries published in the last seconds may not be polled before the end, and are not in
  the latencies; the count of entries alerted says how many were).
  Meanwhile a person sends ``/help`` about once a second, from a new chat each time.
- **Inline.** At ``--inline-at`` (the top rung), the same load again on a copy of the
  database with ``performance.workers = "inline"`` (all parsing on the event loop); the
  ratios inline / process are printed.

Printed per run: polls per second done and due, from the gaps between each feed's requests
at the feed server (the bot keeps up when a gap is its interval plus the mean jitter, ~1.1x);
the bot's CPU per unchanged poll (quiet phase) and per changed poll (the changing phase's CPU
less its unchanged polls at the quiet rate, over its changed polls: parse, dedupe, store,
match, render, send); alert latency from the entry's publication to the fake's
``sendMessage`` (p50, p99), split into the wait for the next poll (publication to the feed
server's first 200 of the new body) and the bot's own part (that fetch to ``sendMessage``);
``/help`` reply latency (p50, p99) from the changing phase on; how much of the time the event
loop was held and its longest stall (from ``newsalert_event_loop_lag_seconds``); resident
memory of the bot (and of its tree: the workers); the outbox backlog; the time to start and to
poll every feed once.  Then what gives out first: each resource's use at the top rung and
the feed count at which it would run out at the rates measured.

Noisy on a shared machine: run it alone for figures to quote.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import random
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import SHARED  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))

from aiohttp import web  # noqa: E402
from responsiveness import _stat, free_port, metric, scrape, tree_cpu  # noqa: E402

from storage.store import Store  # noqa: E402
from tests.fakes.feed_server import FeedServer  # noqa: E402
from tests.fakes.synthetic_feeds import (  # noqa: E402
    START,
    WORDS,
    _paragraph,
    made_up_vocabulary,
)
from tests.fakes.telegram_api import FakeBotAPI  # noqa: E402

TOKEN = "123456:SCALE-TOKEN-abcdefghijklmnopqrstuvwxyz"
TAG = re.compile(r"\(scale-(\d+) (\d+)\)")
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, float("inf"))
HOSTS = 64  # feed server ports: with fetch.per_host = 2, 128 fetches at once at most
REPLY_TARGET = 1.5
JITTER = 10.0  # polling.jitter: up to this much (a quarter of the interval at most) added  # seconds, /help p99
FALLBACK = [(10, 4_000)] * 6 + [(25, 6_000)] * 3 + [(235, 10_000)]  # (entries, bytes each)


# --- the feeds -------------------------------------------------------------------------------


def feed_shapes(n: int, seed: int) -> list[tuple[int, int]]:
    """(entries, bytes per entry) of ``n`` feeds, drawn from the real feeds when present."""
    shapes = []
    folder = SHARED / "data" / "feeds"
    index = folder / "INDEX.csv"
    if index.is_file():
        with index.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                entries = int(row["entries"] or 0)
                if row["format"] != "json" and entries and (folder / row["file"]).is_file():
                    shapes.append((entries, int(row["bytes"]) // entries))
    rng = random.Random(seed)
    pool = shapes or FALLBACK
    return [
        (max(3, min(400, e)), max(600, min(40_000, b)))
        for e, b in (rng.choice(pool) for _ in range(n))
    ]


_FILLER = "".join(_paragraph(random.Random(f"filler-{k}"), 45) for k in range(400))
_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
    "<title>scale-{i}</title><link>https://news.example/scale-{i}</link>"
    "<description>Synthetic feed scale-{i}</description>"
)


# The leads' words: 5,000 made-up ones (as bench/soak.py's).  Leads drawn from the 69 words
# of the filler, as the titles are, made any two entries share a fifth of their words, as
# different real stories seldom do, so the story grouping asked for e5 vectors (80 ms an
# article) for nearly every entry: 139 ms of CPU a changed poll at 5,000 feeds, where real
# feeds' entries need them for about one in four (bench/story_pairs.py).
VOCABULARY = made_up_vocabulary(random.Random(7), 5000)


def entry(i: int, n: int, size: int) -> bytes:
    """Entry ``n`` of feed ``i``: a title of eight words (of the filler's 69, which the
    filters' title words are drawn from) and a lead of its own from a made-up vocabulary of
    5,000 words (so that no two entries are one story), then ``size`` bytes of HTML."""
    rng = random.Random(i * 1_000_003 + n)
    title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize()
    lead = " ".join(rng.choice(VOCABULARY) for _ in range(40)).capitalize()
    start = rng.randrange(len(_FILLER) - size - 1)
    html = f"<p>{lead}.</p>{_FILLER[start : start + size]}"
    when = format_datetime(START + timedelta(minutes=n))
    return (
        f"<item><title>{escape(title)} (scale-{i} {n})</title>"
        f"<link>https://news.example/scale-{i}/{n}</link>"
        f'<guid isPermaLink="false">scale-{i}-{n}</guid><pubDate>{when}</pubDate>'
        f"<description>{escape(html)}</description></item>"
    ).encode()


def feed_body(i: int, entries: int, size: int, newest: int) -> bytes:
    items = b"".join(entry(i, n, size) for n in range(newest, newest - entries, -1))
    return _HEAD.format(i=i).encode() + items + b"</channel></rss>"


class _ScaleFeeds(FeedServer):
    """A feed server on :data:`HOSTS` ports (each a host to the bot, whose per-host limit
    would otherwise throttle 5,000 feeds on one address, unlike real feeds spread over many
    publishers) that notes when it first serves each new body in full (a 200)."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[str, tuple[int, int]] = {}  # path -> (feed, newest entry)
        self.fetched: dict[tuple[int, int], float] = {}
        self.polled: dict[int, list[float]] = {}  # feed -> when its requests came
        self.ports: list[int] = []

    async def start(self) -> _ScaleFeeds:
        await super().start()
        assert self._runner is not None
        for _ in range(HOSTS - 1):
            await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.ports = [address[1] for address in self._runner.addresses]
        return self

    def _serve(self, request: Any, res: Any, body: bytes | None = None) -> Any:
        answer = super()._serve(request, res, body)
        self.requests.clear()  # the base class keeps every request; not needed here
        feed = int(request.path[2:].split(".")[0])
        self.polled.setdefault(feed, []).append(time.monotonic())
        if answer.status == 200:
            key = self.pending.pop(request.path, None)
            if key is not None:
                self.fetched[key] = time.monotonic()
        return answer


def feeds_main(conn: Any, shapes: list[tuple[int, int]], interval: float, share: float) -> None:
    """The feed server's process.  Commands: ("grow", n) serves feeds 0..n-1; ("publish",
    n) starts changes among the first n feeds (0 stops them); ("report",) sends back what
    was published and fetched since the last report, and the process's CPU seconds."""
    newest = [e for e, _ in shapes]
    bodies: dict[int, bytes] = {}
    published: dict[tuple[int, int], float] = {}
    lock = threading.Lock()
    active = [0]
    wake = threading.Event()

    with _ScaleFeeds.in_thread() as server:

        def change(i: int) -> None:
            size = shapes[i][1]
            newest[i] += 1
            old = bodies[i]
            cut = old.rfind(b"<item>")
            head = len(_HEAD.format(i=i))
            body = old[:head] + entry(i, newest[i], size) + old[head:cut] + b"</channel></rss>"
            bodies[i] = body
            key = (i, newest[i])
            with lock:
                published[key] = time.monotonic()
            server.pending[f"/f{i}.xml"] = key
            server.set(f"/f{i}.xml", body)

        def publisher() -> None:
            rng = random.Random(len(shapes))
            while True:
                n = active[0]
                if not n:
                    wake.wait()
                    wake.clear()
                    continue
                start = time.monotonic()
                due = sorted(
                    (start + rng.uniform(0, interval), i)
                    for i in rng.sample(range(n), int(share * n))
                )
                for when, i in due:
                    while active[0] == n and time.monotonic() < when:
                        time.sleep(min(0.05, when - time.monotonic()))
                    if active[0] != n:
                        break
                    change(i)
                else:
                    time.sleep(max(0.0, start + interval - time.monotonic()))

        threading.Thread(target=publisher, daemon=True).start()
        conn.send(server.ports)
        while True:
            command, *rest = conn.recv()
            if command == "grow":
                for i in range(len(bodies), rest[0]):
                    entries, size = shapes[i]
                    bodies[i] = feed_body(i, entries, size, newest[i])
                    server.set(f"/f{i}.xml", bodies[i])
                conn.send(sum(len(b) for b in bodies.values()))
            elif command == "publish":
                active[0] = rest[0]
                wake.set()
                conn.send(True)
            elif command == "report":
                with lock:
                    out = dict(published)
                    published.clear()
                conn.send((out, dict(server.fetched), server.polled, cpu_seconds()))
                server.fetched.clear()
                server.polled = {}
            else:
                conn.send(None)
                return


# --- the fake Bot API and the person asking for /help ------------------------------------------


def api_main(conn: Any) -> None:
    """The fake Bot API's process.  Commands: ("ready",) waits for the bot's first
    getUpdates; ("ask", on) starts or stops /help about once a second; ("report",) sends
    back the replies' (sent, latency), the alerts' (time, feed, entry), the 429 count and
    the process's CPU seconds; ("stop",) ends it."""
    with FakeBotAPI.in_thread(token=TOKEN, enforce_limits=True) as api:
        conn.send(api.base_url)
        replies: list[tuple[float, float]] = []
        asking = threading.Event()

        def ask() -> None:
            n = 0
            while True:
                asking.wait()
                time.sleep(1.0)
                if not asking.is_set():
                    continue
                n += 1
                chat = 900_000 + n
                sent = time.monotonic()
                api.inject_message(chat, "/help", user_id=chat)
                try:
                    api.wait_for_messages(chat, 1, timeout=60)
                except TimeoutError:
                    replies.append((sent, float("inf")))
                    continue
                answer = next(
                    c.time
                    for c in reversed(api.calls_to("sendMessage"))
                    if c.params.get("chat_id") in (chat, str(chat))
                )
                replies.append((sent, answer - sent))

        threading.Thread(target=ask, daemon=True).start()
        while True:
            command, *rest = conn.recv()
            if command == "ready":
                api.wait_for(lambda: api.calls_to("getUpdates"), timeout=300)
                conn.send(True)
            elif command == "ask":
                (asking.set if rest[0] else asking.clear)()
                conn.send(True)
            elif command == "report":
                alerts = []
                for call in api.calls_to("sendMessage"):
                    found = TAG.search(str(call.params.get("text", "")))
                    if found and call.error_code is None:
                        alerts.append((call.time, int(found.group(1)), int(found.group(2))))
                conn.send((list(replies), alerts, api.flood_errors, cpu_seconds()))
            else:
                conn.send(None)
                return


class Child:
    """A helper process spoken to over a pipe."""

    def __init__(self, target: Any, *args: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=target, args=(theirs, *args), daemon=True)
        self.process.start()
        self.hello = self.conn.recv()

    def __call__(self, *command: Any, timeout: float = 900) -> Any:
        self.conn.send(command)
        if not self.conn.poll(timeout):
            raise TimeoutError(f"{command[0]}: no answer in {timeout:.0f}s")
        return self.conn.recv()

    def close(self) -> None:
        try:
            self("stop", timeout=30)
        except (OSError, EOFError, TimeoutError):
            pass
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the bot ---------------------------------------------------------------------------------


def prepare_db(path: Path, chats: int, subscriptions: int, feeds: int, seed: int) -> None:
    """Chats and their filters, written before the bot first starts: each follows one
    feed's entries with two title words."""
    rng = random.Random(seed)
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
            first, second = rng.sample(words, 2)
            query = f'"scale {rng.randrange(feeds)}" title:{first} title:{second}'
            store.db.execute(
                "INSERT OR IGNORE INTO subscriptions (chat_id, topic_id, query, created_at) "
                "VALUES (?, 'query', ?, ?)",
                [1 + i % chats, query, now],
            )
    store.close()


def intervals(n: int, interval: int) -> list[int]:
    """Each feed's own interval, spread over +-25% of ``interval`` (a mean of it): feeds
    polled on one rhythm would all be polled together, since the bot polls every feed at
    once when it starts and keeps each feed's rhythm from there."""
    return [round(interval * (0.75 + 0.5 * ((i * 7919) % 101) / 100)) for i in range(n)]


def write_config(
    db: Path, api_url: str, ports: list[int], n: int, mode: str, port: int, interval: int
) -> Path:
    config = db.with_suffix(f".{mode}.{n}.toml")
    feeds = "".join(
        f'\n[[feeds]]\nurl = "http://127.0.0.1:{ports[i % len(ports)]}/f{i}.xml"\n'
        f'interval = "{every}s"\nfull_text = false\n'
        for i, every in enumerate(intervals(n, interval))
    )
    config.write_text(
        f'[telegram]\nbase_url = "{api_url}"\npoll_timeout = "1s"\n\n'
        f'[storage]\npath = "{db}"\nretention = "off"\n\n'
        f'[metrics]\nlisten = "127.0.0.1:{port}"\n\n'
        # the first round as fast as before polling.start_rate spread it (20 a second by
        # default: 250 s for 5,000 feeds); the steady state after it is what is measured
        f"[polling]\nstart_rate = 1000\n\n"
        f'[performance]\nworkers = "{mode}"\n{feeds}'
    )
    return config


def tree_rss_mb(root: int) -> tuple[float, float]:
    """Resident memory of ``root`` alone and of its whole tree, in MB."""

    def rss(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    tree = {root}
    for _ in range(3):
        for entry_ in Path("/proc").glob("[0-9]*"):
            try:
                stat = Path(f"/proc/{entry_.name}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) in tree:
                tree.add(int(entry_.name))
    return rss(root), sum(rss(p) for p in tree)


def primed(page: str, n: int, new: int) -> bool:
    """Every feed polled once by this process, and every new one read in full ("primed":
    its entries stored); until then the pool is busy priming."""
    done = metric(page, "newsalert_polls_total")
    return done >= n and metric(page, "newsalert_polls_total", status="primed") >= new


def lag(page0: str, page1: str) -> tuple[float, float]:
    """From the loop-lag histogram between two scrapes: the seconds the loop was held, and
    the upper bound of the longest stall's bucket (inf: over 5 s)."""
    held = metric(page1, "newsalert_event_loop_lag_seconds_sum") - metric(
        page0, "newsalert_event_loop_lag_seconds_sum"
    )
    longest = LAG_BUCKETS[0]
    for k, bound in enumerate(LAG_BUCKETS[:-1]):
        le = "+Inf" if bound == float("inf") else str(bound)
        more = metric(page1, "newsalert_event_loop_lag_seconds_bucket", le=le) - metric(
            page0, "newsalert_event_loop_lag_seconds_bucket", le=le
        )
        below = metric(page1, "newsalert_event_loop_lag_seconds_count") - metric(
            page0, "newsalert_event_loop_lag_seconds_count"
        )
        if more < below:  # some beats were later than this bound
            longest = LAG_BUCKETS[k + 1]
    return held, longest


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Phase:
    """Counters of one phase: polls by status, the bot tree's CPU, wall time."""

    page0: str
    cpu0: float
    t0: float
    own0: float = 0.0
    page1: str = ""
    cpu: float = 0.0
    own: float = 0.0  # the bot's main process alone: its event loop
    wall: float = 0.0
    counts: dict[str, float] = field(default_factory=dict)

    def end(self, port: int, pid: int) -> Phase:
        self.page1, self.cpu = scrape(port), tree_cpu(pid) - self.cpu0
        self.own = own_cpu(pid) - self.own0
        self.wall = time.monotonic() - self.t0
        for status in ("new-articles", "unchanged", "not-modified", "error", "primed"):
            after = metric(self.page1, "newsalert_polls_total", status=status)
            self.counts[status] = after - metric(self.page0, "newsalert_polls_total", status=status)
        return self

    @property
    def unchanged(self) -> float:
        return self.counts["unchanged"] + self.counts["not-modified"]

    @property
    def polls(self) -> float:
        return sum(self.counts.values())

    def delta(self, name: str) -> float:
        return metric(self.page1, name) - metric(self.page0, name)


def own_cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` alone (all its threads), Linux only."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def begin(port: int, pid: int) -> Phase:
    return Phase(scrape(port), tree_cpu(pid), time.monotonic(), own_cpu(pid))


def run_bot(
    args: argparse.Namespace, n: int, mode: str, db: Path, feeds: Child, new: int
) -> dict[str, Any]:
    """One rung: the bot with ``n`` feeds (``new`` of them never read), phases quiet,
    changing, drain."""
    api = Child(api_main)
    port = free_port()
    config = write_config(db, api.hello, feeds.hello, n, mode, port, args.interval)
    log = open(args.log, "a") if args.log else subprocess.DEVNULL  # noqa: SIM115
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={
            **os.environ,
            "NEWSALERT_TELEGRAM_TOKEN": TOKEN,
            **({"PYTHONASYNCIODEBUG": "1"} if args.debug_loop else {}),
        },
        cwd=ROOT,
    )
    try:
        api("ready")
        ready = time.monotonic() - started
        # every feed polled once by this process (the new ones primed) before the clock starts
        deadline = time.monotonic() + args.prime_timeout
        while not primed(scrape(port), n, new):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{mode} {n}: not every feed was polled once; see --log")
            time.sleep(3)  # a scrape costs the bot a little: one gauge per feed
        first_round = time.monotonic() - started - ready
        feeds_cpu0 = feeds("report")[3]  # and forget what was published before
        api_cpu0 = api("report")[3]
        t_quiet = time.monotonic()
        api("ask", True)
        quiet = begin(port, proc.pid)
        time.sleep(args.quiet)
        quiet.end(port, proc.pid)
        feeds("publish", n)
        changing = begin(port, proc.pid)
        t_change = time.monotonic()
        time.sleep(args.changing_for)
        feeds("publish", 0)
        changing.end(port, proc.pid)
        rss = tree_rss_mb(proc.pid)
        drain = begin(port, proc.pid)
        time.sleep(args.drain)
        drain.end(port, proc.pid)
        final = drain.page1
        replies, alerts, floods, api_cpu = api("report")
        published, fetched, polled, feeds_cpu = feeds("report")
        t_end = time.monotonic()
    finally:
        api("ask", False)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
        api.close()
    seen: dict[tuple[int, int], float] = {}
    for t, i, e in alerts:  # the first chat's alert
        seen[(i, e)] = min(t, seen.get((i, e), t))
    total, wait, own = [], [], []
    for key, t_pub in published.items():
        if key in seen:
            total.append(seen[key] - t_pub)
            if key in fetched:
                wait.append(fetched[key] - t_pub)
                own.append(seen[key] - fetched[key])
    # polls kept up: the gaps between a feed's requests against its interval
    gaps = {i: [b - a for a, b in pairwise(ts)] for i, ts in polled.items()}
    every = intervals(n, args.interval)
    late = sorted(sum(g) / len(g) / every[i] for i, g in gaps.items() if g and i < n)
    during = [lat for sent, lat in replies if sent >= t_change]
    held, longest = lag(quiet.page0, final)  # all three phases
    per_unchanged = quiet.cpu / quiet.polls if quiet.polls else float("nan")
    rest = changing.cpu - changing.unchanged * per_unchanged
    changed = changing.counts["new-articles"]
    return {
        "n": n,
        "mode": mode,
        "asked": sum(1 / (e + int(min(JITTER, e / 4)) / 2) for e in every),
        "polls_s": sum(len(g) / sum(g) for g in gaps.values() if g),
        "window_polls_s": (changing.polls + drain.polls) / (changing.wall + drain.wall),
        "gap_p50": percentile(late, 0.5),
        "gap_p99": percentile(late, 0.99),
        "unpolled": n - len([g for g in gaps.values() if g]),
        "changing_polls_s": changing.polls / changing.wall,
        "quiet_polls_s": quiet.polls / quiet.wall,
        "changed": changed,
        "unchanged": changing.unchanged,
        "errors": changing.counts["error"] + quiet.counts["error"],
        "cpu": changing.cpu / changing.wall,
        "loop_cpu": changing.own / changing.wall,
        "quiet_cpu": quiet.cpu / quiet.wall,
        "ms_unchanged": 1e3 * per_unchanged,
        "ms_changed": 1e3 * rest / changed if changed else float("nan"),
        "published": len(published),
        "alerted": len(total),
        "alert_p50": percentile(total, 0.5),
        "alert_p99": percentile(total, 0.99),
        "wait_p50": percentile(wait, 0.5),
        "own_p50": percentile(own, 0.5),
        "own_p99": percentile(own, 0.99),
        "sent_s": changing.delta("newsalert_alerts_sent_total") / changing.wall,
        "reply_p50": percentile(during, 0.5),
        "reply_p99": percentile(during, 0.99),
        "replies": len(during),
        "stall": longest,
        "held": held / (quiet.wall + changing.wall + drain.wall),
        "stall_since_start": metric(final, "newsalert_event_loop_lag_max_seconds"),
        "pending": metric(final, "newsalert_outbox_pending"),
        "rss": rss[0],
        "tree_rss": rss[1],
        "floods": floods,
        "ready": ready,
        "first_round": first_round,
        "load": os.getloadavg()[0],
        "fakes_cpu": (api_cpu - api_cpu0 + feeds_cpu - feeds_cpu0) / (t_end - t_quiet),
    }


def show(r: dict[str, Any]) -> None:
    print(
        f"{r['n']:>6} feeds {r['mode']:<7} polls {r['polls_s']:6.1f}/s of {r['asked']:.1f} due "
        f"(gap/interval p50 {r['gap_p50']:.2f} p99 {r['gap_p99']:.2f}, {r['unpolled']} feeds "
        f"polled < 2 times); by phase: quiet {r['quiet_polls_s']:.1f}/s, changing "
        f"{r['changing_polls_s']:.1f}/s ({r['changed']:.0f} changed, {r['unchanged']:.0f} "
        f"unchanged, {r['errors']:.0f} errors)\n"
        f"       bot CPU {r['cpu']:.2f} cores changing (its main process, the event loop's: "
        f"{r['loop_cpu']:.2f}), {r['quiet_cpu']:.2f} quiet: "
        f"{r['ms_unchanged']:.1f} ms per unchanged poll, {r['ms_changed']:.0f} ms per changed "
        f"poll (fakes {r['fakes_cpu']:.2f} cores; machine load {r['load']:.1f})\n"
        f"       alerts {r['alerted']} of {r['published']} entries published: "
        f"publication->sendMessage p50 {r['alert_p50']:.1f}s p99 {r['alert_p99']:.1f}s "
        f"(waiting for the poll p50 {r['wait_p50']:.1f}s; fetch->sendMessage p50 "
        f"{r['own_p50']:.2f}s p99 {r['own_p99']:.2f}s); sent {r['sent_s']:.1f}/s, "
        f"{r['floods']} x 429, {r['pending']:.0f} pending at the end\n"
        f"       /help p50 {r['reply_p50']:.3f}s p99 {r['reply_p99']:.3f}s ({r['replies']}); "
        f"loop held {r['held']:.1%} of the time, longest stall <= {r['stall']:g}s "
        f"({r['stall_since_start']:.2f}s since start); RSS {r['rss']:.0f} MB (tree "
        f"{r['tree_rss']:.0f} MB); start {r['ready']:.0f}s, every feed polled (new ones primed) "
        f"{r['first_round']:.0f}s later",
        flush=True,
    )


def gives_out(rungs: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """Each resource's use at the top rung and the feed count at which it would run out
    at the rates measured (linear in feeds: polls, changes and alerts all are)."""
    top = rungs[-1]
    n, cores = top["n"], os.cpu_count() or 1
    lines = []
    cpu_per_feed = top["cpu"] / n
    lines.append(
        (
            n * 0.9 * cores / top["cpu"] if top["cpu"] else float("inf"),
            f"CPU: {top['cpu']:.2f} of {cores} cores ({cpu_per_feed * 1000:.2f} cores per 1,000 "
            f"feeds at a {args.interval}s interval)",
        )
    )
    if top["mode"] != "inline" and top["loop_cpu"]:
        lines.append(
            (
                n * 0.9 / top["loop_cpu"],
                f"the event loop's core: the bot's main process {top['loop_cpu']:.2f} cores "
                "(one at most)",
            )
        )
    lines.append(
        (
            n * 27 / top["sent_s"] if top["sent_s"] else float("inf"),
            f"sending: {top['sent_s']:.1f} of Telegram's 30 messages/s",
        )
    )
    if len(rungs) > 1 and rungs[-1]["rss"] > rungs[0]["rss"]:
        slope = (rungs[-1]["tree_rss"] - rungs[0]["tree_rss"]) / (rungs[-1]["n"] - rungs[0]["n"])
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
        lines.append(
            (
                n + (total / 2 - top["tree_rss"]) / slope,
                f"memory: {top['tree_rss']:.0f} MB, {slope * 1000:.0f} MB more per 1,000 feeds "
                f"(half of {total / 1024:.0f} GB)",
            )
        )
    lines.append(
        (
            n * top["polls_s"] / top["asked"]
            if top["polls_s"] < 0.9 * top["asked"]
            else float("inf"),
            f"polling: {top['polls_s']:.1f} of {top['asked']:.1f} polls/s due",
        )
    )
    if top["reply_p99"] > REPLY_TARGET:
        lines.append((n, f"the event loop: /help p99 {top['reply_p99']:.2f}s"))
    lines.sort(key=lambda pair: pair[0])
    return [
        f"  {'at ~' + format(int(at), ',') + ' feeds' if at != float('inf') else 'not in sight':>18}"
        f"  {text}"
        for at, text in lines
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ladder", default="500,2000,5000", help="feed counts, rising")
    parser.add_argument("--inline-at", default="top", help="rung for the inline run, or none")
    parser.add_argument("--chats", type=int, default=20_000)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--interval", type=int, default=30, help="seconds between polls")
    parser.add_argument("--changing", type=float, default=0.2, help="share changing per poll")
    parser.add_argument("--quiet", type=float, help="seconds without changes (one interval)")
    parser.add_argument("--changing-for", type=float, help="seconds of changes (one interval)")
    parser.add_argument("--drain", type=float, default=15, help="seconds for the last alerts")
    parser.add_argument("--prime-timeout", type=float, default=600)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--log", help="append the bot's log to this file")
    parser.add_argument(
        "--debug-loop",
        action="store_true",
        help="asyncio debug mode in the bot: its log names each callback that held the loop "
        "over 0.1 s (slows the bot down; for finding stalls, not for figures)",
    )
    args = parser.parse_args()
    ladder = sorted(int(x) for x in args.ladder.split(","))
    args.quiet = args.interval if args.quiet is None else args.quiet
    args.changing_for = args.interval if args.changing_for is None else args.changing_for
    inline_at = {"top": ladder[-1], "none": None}.get(args.inline_at)
    if args.inline_at not in ("top", "none"):
        inline_at = int(args.inline_at)
    began = time.monotonic()
    shapes = feed_shapes(ladder[-1], args.seed)
    print(
        f"ladder {', '.join(map(str, ladder))} feeds polled every {args.interval}s, "
        f"{args.changing:.0%} changing per interval, {args.subscriptions:,} subscriptions over "
        f"{args.chats:,} chats; phases quiet {args.quiet:g}s, changing {args.changing_for:g}s; "
        f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        flush=True,
    )
    feeds = Child(feeds_main, shapes, float(args.interval), args.changing)
    rungs: list[dict[str, Any]] = []
    inline: dict[str, Any] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="newsalert-scale-") as tmp:
            db = Path(tmp) / "bot.db"
            prepare_db(db, args.chats, args.subscriptions, ladder[-1], args.seed)
            before = 0
            for n in ladder:
                size = feeds("grow", n)
                print(f"  serving {n} feeds, {size / 1e6:.0f} MB", flush=True)
                rungs.append(run_bot(args, n, "process", db, feeds, n - before))
                before = n
                show(rungs[-1])
                if n == inline_at:
                    copy = Path(tmp) / "inline.db"
                    with sqlite3.connect(db) as source, sqlite3.connect(copy) as target:
                        source.backup(target)
                    inline = run_bot(args, n, "inline", copy, feeds, 0)
                    show(inline)
    finally:
        feeds.close()
    print("gives out first (at the top rung; linear extrapolation in feeds):")
    for line in gives_out(rungs, args):
        print(line)
    if inline is not None:
        pool = next(r for r in rungs if r["n"] == inline_at)

        def ratio(key: str) -> float:
            return inline[key] / pool[key] if pool[key] else float("inf")

        print(
            f"inline / process at {inline_at} feeds: /help p50 {ratio('reply_p50'):.1f}x p99 "
            f"{ratio('reply_p99'):.1f}x, loop stall {ratio('stall'):.1f}x, fetch->sendMessage "
            f"p50 {ratio('own_p50'):.1f}x, polls/s {ratio('polls_s'):.2f}x, CPU {ratio('cpu'):.2f}x"
        )
    print(f"total {(time.monotonic() - began) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
