"""Where may CPU-heavy work run without freezing the bot?  Each kind, three ways, measured.

    .venv/bin/python bench/offload.py [--rounds 3]

Issue 15 asks that parsing, extracting, summarising, embedding and the topic models run
off the event loop: in worker processes for pure-Python work, in threads only where the
library releases the GIL.  For each kind of work this runs the real function the bot runs
(``bot.ingest.parse.parse_feed`` on a ~2 MB feed, ``bot.matching.vectors.article_vectors``
on a batch of 64 articles, the shipped korea-diplomacy model on 300 articles,
``bot.summary.extractive.summarize`` on 50 articles) through a ``bot.workers.WorkerPool``
in each mode (``inline``: on the loop; ``thread``; ``process``), while a heartbeat task
asks the loop for a turn every 5 ms.  Printed per kind and mode: the task's time and the
loop's longest stall while it ran (the time in which no command could have been
answered), the median over ``--rounds``.  Noisy on a shared machine; the stalls are what
matter, and they differ by orders of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.offload_tasks import KINDS, warm  # noqa: E402
from bot.workers import WorkerPool  # noqa: E402

BEAT = 0.005


async def one(pool: WorkerPool, kind: str) -> tuple[float, float]:
    """(task seconds, longest loop stall in seconds) of one run of ``kind`` in ``pool``."""
    fn, args = KINDS[kind]
    stalls: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        while not done.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(BEAT)
            stalls.append(time.perf_counter() - asked - BEAT)

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.05)
    stalls.clear()
    started = time.perf_counter()
    await pool.run(fn, *args, timeout=600)
    took = time.perf_counter() - started
    done.set()
    await beat
    return took, max(stalls, default=0.0)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    print(f"{'work':<28} {'mode':<8} {'task s':>8} {'longest loop stall ms':>22}")
    for mode in ("inline", "thread", "process"):
        async with WorkerPool(mode, size=1) as pool:
            for kind in kinds:
                await pool.run(warm, kind, timeout=600)  # models loaded, caches filled
                runs = [await one(pool, kind) for _ in range(args.rounds)]
                took = statistics.median(r[0] for r in runs)
                stall = statistics.median(r[1] for r in runs)
                print(f"{kind:<28} {mode:<8} {took:>8.3f} {stall * 1000:>22.1f}")


if __name__ == "__main__":
    asyncio.run(main())
