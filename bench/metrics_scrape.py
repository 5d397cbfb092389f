"""What a ``/metrics`` scrape costs the event loop with many feeds.

    .venv/bin/python bench/metrics_scrape.py [--feeds 5000] [--rounds 20]

A store with ``--feeds`` feeds that have all answered once; each round is one scrape as
``Core.metrics_page`` does it (``Metrics.refresh`` then ``render``).  The baseline, in the
same process, is how the per-feed gauge was built before: every feed's whole state read
(``feeds.all()``), then one ``Gauge`` child per feed.  Prints the median milliseconds of
each and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry, Gauge, generate_latest  # noqa: E402

from bot.ingest.urls import redact_url  # noqa: E402
from bot.ops.metrics import Metrics  # noqa: E402
from bot.records import utcnow  # noqa: E402
from storage.database import to_db_time  # noqa: E402
from storage.store import Store  # noqa: E402


def baseline(store: Store, registry: CollectorRegistry, gauge: Gauge) -> bytes:
    gauge.clear()
    for feed in store.feeds.all():
        if feed.last_success is not None:
            gauge.labels(redact_url(feed.url)).set(feed.last_success.timestamp())
    return generate_latest(registry)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(str(Path(tmp) / "bench.db"))
        for i in range(args.feeds):
            store.feeds.upsert(
                f"https://feeds{i}.example/rss?key=k{i}",
                name=f"f{i}",
                interval=None,
                full_text=None,
            )
        store.db.execute("UPDATE feeds SET last_success = ?", [to_db_time(utcnow())])
        store.db.conn.commit()
        metrics = Metrics()
        registry = CollectorRegistry()
        gauge = Gauge(
            "newsalert_feed_last_success_timestamp_seconds", "old", ["feed"], registry=registry
        )
        old_runs, new_runs = [], []
        for _ in range(args.rounds):  # interleaved, so that load falls on both alike
            started = time.perf_counter()
            baseline(store, registry, gauge)
            old_runs.append(time.perf_counter() - started)
            started = time.perf_counter()
            metrics.refresh(store)
            page = metrics.render()
            new_runs.append(time.perf_counter() - started)
        store.close()
    shown = page.decode().count("newsalert_feed_last_success_timestamp_seconds{")
    old, new = statistics.median(old_runs) * 1000, statistics.median(new_runs) * 1000
    print(
        f"{args.feeds:,} feeds ({shown:,} shown): a scrape {new:.1f} ms on the loop, "
        f"before {old:.1f} ms (per-feed Gauge children from every feed's state): {new / old:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
