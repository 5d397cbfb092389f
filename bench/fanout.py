"""One alert to many subscribed chats, against the fake Bot API enforcing Telegram's limits.

    .venv/bin/python bench/fanout.py                       # 10,000 chats (about 6 minutes)
    .venv/bin/python bench/fanout.py --chats 2000 --baseline-chats 500
    .venv/bin/python bench/fanout.py --paid                # 50,000 chats, paid broadcast

With ``--paid`` the alerts go with ``allow_paid_broadcast`` (``delivery.paid_broadcast``)
and the fake enforces 1,000 messages in any second instead of 30; the target is 950/s
sustained with no 429, and the bot's CPU while sending is reported (user + system time of
the bot's process over the wall time: 1.0 is one core busy).  There is no baseline then.

The real path from the outbox on: the pipeline writes the alert for every chat (matching,
summarising, rendering, the outbox), then the sender sends it with python-telegram-bot
through ``bot.delivery.ratelimit.TelegramRateLimiter`` to ``tests.fakes.telegram_api.FakeBotAPI``
with ``enforce_limits=True`` (30 messages in any second; a 429 for each one over), which
runs in a child process, so that its own records of 10,000 messages do not count as ours.

Printed, for ours and, as the baseline measured in the same run, for python-telegram-bot's
own ``AIORateLimiter(overall_max_rate=30)`` behind the same sender:

- sustained rate: accepted sends per second, over the whole seconds after the first,
  and its ratio to the 30/s limit (target: at least 0.95, i.e. 28.5/s);
- 429s: sends the fake refused for exceeding a limit (target: 0);
- memory of the bot's process (the fake runs apart): peak resident set size, and the peak
  of the Python heap while sending (tracemalloc), which is what grows with the fan-out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import logging  # noqa: E402

from telegram.ext import AIORateLimiter, BaseRateLimiter, ExtBot  # noqa: E402

from bot.config.loader import config_from_dict  # noqa: E402
from bot.delivery.aiohttp_request import AiohttpRequest  # noqa: E402
from bot.delivery.ratelimit import TelegramRateLimiter, limits_from_config  # noqa: E402
from bot.delivery.sender import Sender  # noqa: E402
from bot.delivery.telegram_sink import TelegramSink  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from bot.records import Article, utcnow  # noqa: E402
from bot.telegram import quiet_http_loggers  # noqa: E402
from storage.store import Store  # noqa: E402
from tests.fakes.telegram_api import FakeBotAPI  # noqa: E402

TOKEN = "123456:BENCH-TOKEN-abcdefghijklmnopqrstuvwxyz"
LIMIT = 30.0
PAID_LIMIT = 1000.0
TARGET = 0.95
TOPIC = {"id": "volcanoes", "name": "Volcanoes", "query": "volcano OR eruption OR lava"}
ARTICLE = Article(
    id="bench-1",
    title="Volcano erupts on Indonesian island, thousands of villagers flee",
    link="https://wire.example/volcano",
    summary=(
        "An Indonesian volcano erupted on Sunday, spewing ash five kilometres into the sky and "
        "forcing thousands of villagers to flee their homes, disaster officials said. The "
        "agency raised the alert to its highest level and closed the airport."
    ),
    published=utcnow(),
    source="Wire",
)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def write_alerts(store: Store, config: Any, chats: int) -> float:
    """Subscribe ``chats`` private chats and run the pipeline on one matching article;
    returns the seconds it took to write their alerts to the outbox."""
    with store.db.atomic():
        for chat_id in range(1, chats + 1):
            store.db.execute(
                "INSERT INTO chats (chat_id, type, created_at) VALUES (?, 'private', ?)",
                [chat_id, utcnow().isoformat()],
            )
            store.db.execute(
                "INSERT INTO subscriptions (chat_id, topic_id, created_at) VALUES (?, ?, ?)",
                [chat_id, TOPIC["id"], utcnow().isoformat()],
            )
    feed = store.feeds.upsert("https://wire.example/rss", name="Wire")
    pipeline = Pipeline(store, config, fetcher=None)  # type: ignore[arg-type]
    store.articles.add_new(feed.id, [ARTICLE])
    started = time.perf_counter()
    ids = await pipeline.alert_unprocessed()
    assert len(ids) == chats, f"{len(ids)} alerts written for {chats} chats"
    return time.perf_counter() - started


def serve_fake(conn: Any, per_second: int = 30) -> None:
    """The child process: a fake Bot API enforcing Telegram's limits; on "report" it sends
    back the arrival times of the accepted sends and the number of 429s, then stops."""
    with FakeBotAPI.in_thread(
        token=TOKEN, enforce_limits=True, global_per_second=per_second
    ) as api:
        conn.send(api.base_url)
        conn.recv()
        times = sorted(c.time for c in api.calls_to("sendMessage") if c.error_code is None)
        conn.send((times, api.flood_errors, cpu_seconds()))


def measure(times: list[float], chats: int) -> tuple[float, float]:
    """Sustained rate of accepted sends (the fake's arrival times): the sends per second over
    the whole seconds after the first, which sends arrive in bursts would otherwise
    flatter; and the span from the first send to the last."""
    assert len(times) >= chats, f"only {len(times)} of {chats} sends were accepted"
    start, span = times[0], times[-1] - times[0]
    seconds = int(span)  # whole one-second windows from the start
    if seconds < 2:
        return float("nan"), span
    counted = sum(1 for t in times if start + 1.0 <= t < start + seconds)
    return counted / (seconds - 1), span


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def system_seconds() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


async def fan_out(
    label: str,
    chats: int,
    limiter: BaseRateLimiter,
    *,
    heap: bool,
    paid: bool = False,
    limit: float = LIMIT,
    in_flight: int | None = None,
) -> dict[str, float]:
    config = config_from_dict(
        {
            "topics": [TOPIC],
            "fetch": {"full_text": False},
            "alerts": {"footer": "Bench."},
            "delivery": {"paid_broadcast": paid}
            | ({"max_in_flight": in_flight} if in_flight else {}),
        },
        env={},
    )
    with tempfile.TemporaryDirectory(prefix="newsalert-fanout-") as tmp:
        store = Store.open(Path(tmp) / "fanout.db")
        ours, theirs = multiprocessing.get_context("spawn").Pipe()
        fake = multiprocessing.get_context("spawn").Process(
            target=serve_fake, args=(theirs, int(limit))
        )
        fake.start()
        try:
            base_url = ours.recv()
            enqueue = await write_alerts(store, config, chats)
            gc.collect()
            if heap:
                tracemalloc.start()
            # the request the Application uses (bot.telegram.build_application)
            bot = ExtBot(TOKEN, base_url=base_url, rate_limiter=limiter, request=AiohttpRequest())
            await bot.initialize()
            sender = Sender(
                store, TelegramSink(bot, paid_broadcast=paid), max_attempts=5, retry_backoff=1.0
            )
            started = time.perf_counter()
            cpu_started, system_started = cpu_seconds(), system_seconds()
            sent = 0
            try:
                while sent < chats:
                    sent += await sender.drain()
                    if sent < chats:
                        await asyncio.sleep(min(1.0, sender.next_due_in(1.0)))
            finally:
                await bot.shutdown()
            wall = time.perf_counter() - started
            cpu_used = cpu_seconds() - cpu_started
            cpu, system = cpu_used / wall, (system_seconds() - system_started) / cpu_used
            heap_peak = tracemalloc.get_traced_memory()[1] / 2**20 if heap else 0.0
            if heap:
                tracemalloc.stop()
            ours.send("report")
            times, floods, fake_cpu = ours.recv()
            rate, span = measure(times, chats)
            counts = store.outbox.counts()
        finally:
            fake.join(timeout=30)
            if fake.is_alive():
                fake.kill()
        store.close()
    assert counts.get("sent") == chats, counts
    print(
        f"{label:<34} {chats:>6} chats  {rate:7.2f} msgs/s sustained "
        f"({rate / limit:6.1%} of {limit:g}/s) over {span:6.1f}s  {floods:>4} x 429  "
        f"wall {wall:6.1f}s  bot CPU {cpu:4.2f} cores, {cpu_used / chats * 1e3:5.3f} ms a message "
        f"({system:.0%} in the kernel; the fake {fake_cpu / wall:4.2f} cores)  "
        f"alerts written in {enqueue:5.2f}s" + (f"  heap peak {heap_peak:5.1f} MB" if heap else ""),
        flush=True,
    )
    return {"rate": rate, "floods": floods, "heap": heap_peak, "cpu": cpu, "wall": wall}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=None, help="10,000; 50,000 with --paid")
    parser.add_argument("--paid", action="store_true", help="paid broadcast at 1,000/s")
    parser.add_argument("--in-flight", type=int, default=None, help="delivery.max_in_flight")
    parser.add_argument("--baseline-chats", type=int, default=1_000)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    quiet_http_loggers()
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    limit = PAID_LIMIT if args.paid else LIMIT
    chats = args.chats or (50_000 if args.paid else 10_000)
    print(f"fan-out of one alert, fake Bot API enforcing {limit:g} msgs/s (429 beyond)")
    print(f"RSS at start {rss_mb():.0f} MB")
    delivery: dict[str, Any] = {"paid_broadcast": args.paid}
    if args.in_flight:
        delivery["max_in_flight"] = args.in_flight
    config = config_from_dict({"delivery": delivery}, env={})
    if args.paid:
        ours = await fan_out(
            "ours, paid broadcast",
            chats,
            TelegramRateLimiter(limits_from_config(config.delivery)),
            heap=False,
            paid=True,
            limit=limit,
            in_flight=args.in_flight,
        )
        print(f"peak RSS of the bot's process {rss_mb():.0f} MB (the fake Bot API runs apart)")
        ok = ours["rate"] >= TARGET * limit and ours["floods"] == 0
        print(f"target: >= {TARGET * limit:.0f} msgs/s and no 429: " + ("met" if ok else "NOT met"))
        return 0 if ok else 1
    ours = await fan_out(
        "ours (TelegramRateLimiter)",
        chats,
        TelegramRateLimiter(limits_from_config(config.delivery)),
        heap=True,
    )
    peak = rss_mb()
    base: dict[str, float] | None = None
    if not args.no_baseline:
        base = await fan_out(
            "baseline (PTB AIORateLimiter 30/s)",
            args.baseline_chats,
            AIORateLimiter(overall_max_rate=30, overall_time_period=1, max_retries=5),
            heap=False,
        )
    print(f"peak RSS of the bot's process {peak:.0f} MB (the fake Bot API runs apart)")
    if base:
        print(
            f"ours/baseline: rate {ours['rate'] / base['rate']:.3f}, "
            f"429s {ours['floods']:.0f} vs {base['floods']:.0f}"
        )
    ok = ours["rate"] >= TARGET * LIMIT and ours["floods"] == 0
    print(f"target: >= {TARGET * LIMIT:.1f} msgs/s and no 429: " + ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
