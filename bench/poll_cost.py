"""What one poll costs, by function: unchanged polls (304s) and changed polls, profiled.

    .venv/bin/python bench/poll_cost.py                       # 200 feeds, 10,000 subscriptions
    .venv/bin/python bench/poll_cost.py --tree /other/checkout   # the same driver, older code
    .venv/bin/python bench/poll_cost.py --profile out/  # also writes the .prof files

The real ``Core`` (no Telegram, a sink that keeps nothing) on a database of
``bench/scale.py``'s making (its synthetic feeds, its subscriptions), its real worker pool
and a loopback feed server in a process of its own.  Every feed is polled once (primed),
then ``--rounds`` rounds of unchanged polls (each feed once more: 304s), then ``--rounds``
rounds in which ``--changed`` feeds get a new entry each and are polled, all at once as the
scheduler would, and the outbox drained.  Polls go through ``Core._poll_feed``, what the
scheduler's job calls.

Printed: per unchanged poll and per changed poll, the event loop's thread CPU (ms), the
process's (the loop and its threads: e5), the worker processes', Python function calls
on the loop (cProfile, in a round of its own so that the profiler's cost stays out of the
timings), the loop's longest stall while the changed polls ran (a 5 ms ticker), how long a
changed poll took from its start to its alerts in the outbox (all of a round's polls start
at once: a burst, not the scheduler's spread), the e5 batches asked for (count, texts, the
largest; made in a thread); then the functions with the most self and cumulative time per
poll.  Call counts are deterministic for a
given tree; the CPU figures are noisy on a shared machine.  ``--tree`` runs the same driver
against another checkout (its own ``bot``, ``storage``, ``tests`` and ``bench/scale.py``;
run it with that checkout's interpreter), so two versions compare back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import multiprocessing
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
TREE = Path(os.environ.get("POLL_COST_TREE", HERE)).resolve()
sys.path[:0] = [str(TREE), str(TREE / "bench")]

import scale  # noqa: E402  (the tree's bench/scale.py: its feeds and its database)
from responsiveness import tree_cpu  # noqa: E402


def feeds_main(conn: Any, shapes: list[tuple[int, int]]) -> None:
    """The feed server's process.  Commands: ("grow", n) serves feeds 0..n-1; ("change",
    [i, ...]) gives each of those feeds a new entry on top (its oldest one goes)."""
    newest = [e for e, _ in shapes]
    bodies: dict[int, bytes] = {}
    with scale._ScaleFeeds.in_thread() as server:
        conn.send((server.ports, os.getpid()))
        while True:
            command, *rest = conn.recv()
            if command == "grow":
                for i in range(len(bodies), rest[0]):
                    entries, size = shapes[i]
                    bodies[i] = scale.feed_body(i, entries, size, newest[i])
                    server.set(f"/f{i}.xml", bodies[i])
                conn.send(True)
            elif command == "change":
                for i in rest[0]:
                    newest[i] += 1
                    old = bodies[i]
                    cut = old.rfind(b"<item>")
                    head = len(scale._HEAD.format(i=i))
                    new = scale.entry(i, newest[i], shapes[i][1])
                    bodies[i] = old[:head] + new + old[head:cut] + b"</channel></rss>"
                    server.set(f"/f{i}.xml", bodies[i])
                conn.send(True)
            else:
                conn.send(None)
                return


class NullSink:
    """Takes every message, keeps none (the sender's own work is what is measured)."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, message: Any) -> int:
        self.sent += 1
        return self.sent

    async def edit(self, message_id: int, message: Any) -> None:
        return None


class Stalls:
    """The loop's longest stall: a ticker every 5 ms notes how late it woke."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.held = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            late = time.perf_counter() - before - 0.005
            self.longest = max(self.longest, late)
            self.held += max(0.0, late)

    def __enter__(self) -> Stalls:
        self._task = asyncio.ensure_future(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


class Meter:
    """CPU seconds of the loop's thread, of the process, and of the worker processes."""

    def __init__(self, exclude: int) -> None:
        self.exclude = exclude  # the feed server's process (a child of this one, too)

    def read(self) -> tuple[float, float, float]:
        own = time.process_time()
        workers = tree_cpu(os.getpid()) - tree_cpu(self.exclude) - own
        return time.thread_time(), own, workers


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from bot.app import Core
    from bot.config.loader import load_config
    from bot.matching import passages
    from bot.pipeline import sync_config

    # every e5 batch the pipeline asks for (off the loop): how many texts, how long
    e5_calls: list[tuple[int, float]] = []
    remembered = passages.remembered

    def counted(texts: Any) -> Any:
        began = time.perf_counter()
        try:
            return remembered(texts)
        finally:
            e5_calls.append((len(texts), time.perf_counter() - began))

    passages.remembered = counted  # type: ignore[assignment]

    shapes = scale.feed_shapes(args.feeds, args.seed)
    ctx = multiprocessing.get_context("spawn")
    conn, theirs = ctx.Pipe()
    server = ctx.Process(target=feeds_main, args=(theirs, shapes), daemon=True)
    server.start()
    ports, server_pid = conn.recv()

    def ask(*command: Any) -> Any:
        conn.send(command)
        return conn.recv()

    ask("grow", args.feeds)
    folder = Path(tempfile.mkdtemp(prefix="poll-cost-"))
    db = folder / "scale.db"
    scale.prepare_db(db, args.chats, args.subscriptions, args.feeds, args.seed)
    path = scale.write_config(db, "http://127.0.0.1:9/bot", ports, args.feeds, args.workers, 0, 30)
    text = path.read_text().replace('[metrics]\nlisten = "127.0.0.1:0"\n\n', "")
    path.write_text(text)
    config = load_config(path)
    sink = NullSink()
    core = Core(config, sink=sink)
    meter = Meter(server_pid)
    out: dict[str, Any] = {"tree": str(TREE)}
    try:
        await core.workers.start()
        feeds = sync_config(core.store, core.config)
        await core.pipeline.load_audience()
        gc.collect()
        gc.freeze()
        ids = [f.id for f in feeds]

        async def poll_all(which: list[int], took: list[float] | None = None) -> None:
            async def timed(i: int) -> None:
                began = time.perf_counter()
                await core._poll_feed(i)
                if took is not None:
                    took.append(time.perf_counter() - began)

            await asyncio.gather(*(timed(i) for i in which))

        await poll_all(ids)  # first polls: primed
        await poll_all(ids)  # warm: every connection open, every cache filled

        # unchanged polls, one at a time (each one's cost alone)
        start = meter.read()
        for _ in range(args.rounds):
            for i in ids:
                await core._poll_feed(i)
        end = meter.read()
        n = args.rounds * len(ids)
        out["unchanged"] = [(b - a) / n * 1000 for a, b in zip(start, end, strict=True)]
        profile = cProfile.Profile(time.thread_time)
        profile.enable()
        for i in ids:
            await core._poll_feed(i)
        profile.disable()
        out["unchanged_profile"] = profile_summary(profile, len(ids), args)
        dump(profile, args, "unchanged")

        # changed polls: --changed feeds with a new entry each, polled at once
        changed_ids = ids[:: max(1, len(ids) // args.changed)][: args.changed]
        index = {f.id: k for k, f in enumerate(feeds)}

        took: list[float] = []

        async def changed_round(profile: cProfile.Profile | None = None) -> Stalls:
            ask("change", [index[i] for i in changed_ids])
            with Stalls() as stalls:
                if profile:
                    profile.enable()
                await poll_all(changed_ids, took if profile is None else None)
                await core.sender.drain()
                if profile:
                    profile.disable()
            return stalls

        await changed_round()  # warm
        took.clear()
        e5_calls.clear()
        longest, held = 0.0, 0.0
        start = meter.read()
        for _ in range(args.rounds):
            stalls = await changed_round()
            longest, held = max(longest, stalls.longest), held + stalls.held
        end = meter.read()
        n = args.rounds * len(changed_ids)
        out["changed"] = [(b - a) / n * 1000 for a, b in zip(start, end, strict=True)]
        out["stall"] = (longest, held / args.rounds)
        took.sort()
        out["took"] = (took[len(took) // 2], took[int(0.9 * len(took))], took[-1])
        out["e5"] = (
            len(e5_calls),
            sum(n for n, _ in e5_calls),
            max((n for n, _ in e5_calls), default=0),
            max((t for _, t in e5_calls), default=0.0),
        )
        profile = cProfile.Profile(time.thread_time)
        await changed_round(profile)
        out["changed_profile"] = profile_summary(profile, len(changed_ids), args)
        dump(profile, args, "changed")
        out["alerts"] = core.store.db.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        out["sent"] = sink.sent
    finally:
        gc.unfreeze()
        await core.workers.aclose()
        core.store.close()
        ask("stop")
        server.join(10)
    return out


def profile_summary(profile: cProfile.Profile, polls: int, args: argparse.Namespace) -> dict:
    stats = pstats.Stats(profile, stream=io.StringIO())
    raw: dict = stats.stats  # type: ignore[attr-defined]
    calls = sum(nc for (_cc, nc, _tt, _ct, _callers) in raw.values())
    rows = [
        (tt, ct, nc, f"{Path(f).parent.name}/{Path(f).name}:{line}({name})")
        for (f, line, name), (_cc, nc, tt, ct, _callers) in raw.items()
        if Path(f).name != Path(__file__).name
    ]

    def top(key: int) -> list[tuple[float, float, str]]:
        best = sorted(rows, key=lambda r: r[key], reverse=True)[: args.top]
        return [(r[key] / polls * 1000, r[2] / polls, r[3]) for r in best]

    return {"calls": calls / polls, "self": top(0), "cumulative": top(1)}


def dump(profile: cProfile.Profile, args: argparse.Namespace, name: str) -> None:
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        profile.dump_stats(str(Path(args.profile) / f"{name}.prof"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", help="another checkout to measure (its own interpreter)")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=2_000)
    parser.add_argument("--changed", type=int, default=40, help="feeds changed per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default="process")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--profile", help="a folder for the .prof files")
    args = parser.parse_args()
    if args.tree and Path(args.tree).resolve() != TREE:
        env = {**os.environ, "POLL_COST_TREE": str(Path(args.tree).resolve())}
        argv = [a for a in sys.argv[1:]]
        at = argv.index("--tree")
        del argv[at : at + 2]
        os.execve(sys.executable, [sys.executable, __file__, *argv], env)
    import logging

    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    began = time.monotonic()
    out = asyncio.run(run(args))
    print(f"tree {out['tree']}: {args.feeds} feeds, {args.subscriptions:,} subscriptions")
    for kind in ("unchanged", "changed"):
        loop, own, workers = out[kind]
        print(
            f"  {kind:9} poll: loop {loop:6.2f} ms, process {own:6.2f} ms, workers "
            f"{workers:6.2f} ms CPU; {out[kind + '_profile']['calls']:,.0f} calls on the loop"
        )
    longest, held = out["stall"]
    print(
        f"  changed rounds: longest loop stall {longest * 1000:.0f} ms, held {held:.2f} s a round"
    )
    p50, p90, worst = out["took"]
    print(
        f"  changed poll, start to alerts in the outbox: p50 {p50:.2f} s, p90 {p90:.2f} s, max {worst:.2f} s"
    )
    calls, texts, most, slowest = out["e5"]
    print(
        f"  e5 batches in the changed rounds: {calls}, {texts} texts, at most {most} in one "
        f"(the slowest {slowest:.2f} s)"
    )
    print(f"  alerts in the outbox {out['alerts']}, sent {out['sent']}")
    for kind in ("unchanged", "changed"):
        for order in ("self", "cumulative"):
            print(f"  top by {order} CPU per {kind} poll (loop thread, profiled; ms, calls):")
            for ms, calls, where in out[kind + "_profile"][order]:
                print(f"    {ms:8.3f} {calls:9.1f}  {where}")
    print(f"total {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
