"""Alerts that learn from the reader: precision before and after 20 👍/👎, on a KCNA + Rodong stream.

    .venv/bin/python bench/feedback.py [--seed 13] [--seeds 5]

The stream: the KCNA (``kcnah-``) and Rodong Sinmun (``rodong-``) items of
``../shared/data/topics/korea-diplomacy-train.jsonl``, in an order shuffled with ``--seed``;
the reader follows ``@korea`` (every item naming either Korea, Pyongyang, the DPRK, its
leaders ... becomes an alert).  The simulated reader wants only inter-Korean and US–DPRK
items: ``label`` 1 (diplomacy or security, by the rubric) *and* the title or text names the
South (South Korea, S. Korea, Seoul, north-south, inter-Korean, reunification, "puppet") or
the US (U.S., US, United States, Washington, American, Yankee, a president or secretary of
state by name).  It gives 👍 or 👎 on each of the first 20 alerts, as it wants them.

Then ``bot.matching.feedback.judge`` (what the pipeline does for each chat) decides the next
200 alerts with those 20 votes.  Printed: the reader's precision on them before (every alert
sent) and after (the alerts the votes let through), and how many wanted items the votes held
back.  The similarity at which a vote judges (``NEAR``) is chosen on the alerts *after* those
200 (the same 20 votes, a later part of the stream), never on the reported ones.
``--seeds N`` repeats it for N shuffles and prints the mean.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import SHARED  # noqa: E402
from bot.matching import vectors  # noqa: E402
from bot.matching.engine import Matcher  # noqa: E402
from bot.matching.feedback import NEAR, judge  # noqa: E402
from bot.records import Article  # noqa: E402

DATA = SHARED / "data" / "topics"
TRAIN = DATA / "korea-diplomacy-train.jsonl"
SOUTH = re.compile(
    r"south korea|s\.\s?korea|seoul|north-south|inter-korean|reunification|puppet", re.I
)
US = re.compile(
    r"\bU\.S\.|\bUS\b|United States|Washington|American|Yankee|Bush|Clinton|Obama|Trump|"
    r"Pompeo|Albright|Powell|Rice|Kerry|Tillerson"
)
FIRST, NEXT = 20, 200


def wanted(row: dict) -> bool:
    text = f"{row['title']} {row.get('text') or ''}"
    return bool(row["label"]) and bool(SOUTH.search(text) or US.search(text))


def run(rows: list[dict], vecs: dict[str, np.ndarray], seed: int, near: float | None) -> dict:
    order = list(rows)
    random.Random(seed).shuffle(order)
    matcher = Matcher()
    matcher.add("korea", "@korea")
    alerts = [
        r
        for r in order
        if matcher.match(Article(id=r["id"], title=r["title"], summary=r.get("text") or ""))
    ]
    taught = alerts[:FIRST]
    votes = [(1 if wanted(r) else -1, vecs[r["id"]], r["title"]) for r in taught]
    report, later = alerts[FIRST : FIRST + NEXT], alerts[FIRST + NEXT :]

    def outcome(block: list[dict], cut: float) -> tuple[float, float, int, int, int]:
        want = [wanted(r) for r in block]
        sent = [judge(vecs[r["id"]], votes, near=cut).send for r in block]
        before = sum(want) / len(block)
        kept = [w for w, s in zip(want, sent, strict=True) if s]
        after = sum(kept) / len(kept) if kept else 0.0
        lost = sum(1 for w, s in zip(want, sent, strict=True) if w and not s)
        return before, after, lost, len(kept), sum(want)

    chosen = near is None
    if near is None:  # choose on the later alerts: best precision gain per wanted item kept
        best = None
        for cut in np.arange(0.50, 0.96, 0.02):
            before, after, lost, kept, total = outcome(later, float(cut))
            # F1 of "the reader gets what it wants" on the later block
            recall = (total - lost) / total if total else 1.0
            f1 = 2 * after * recall / (after + recall) if after + recall else 0.0
            if best is None or f1 > best[0]:
                best = (f1, float(cut))
        near = best[1] if best else NEAR
    before, after, lost, kept, total = outcome(report, near)
    return {
        "alerts": len(alerts),
        "votes": f"{sum(v > 0 for v, _, _ in votes)} 👍 / {sum(v < 0 for v, _, _ in votes)} 👎",
        "near": near,
        "before": before,
        "after": after,
        "sent_after": kept,
        "wanted": total,
        "lost": lost,
        "later": len(later),
        "how": f"chosen on the {len(later)} alerts after the next {NEXT}" if chosen else "given",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--seeds", type=int, default=1, help="repeat for this many shuffles")
    parser.add_argument("--near", type=float, default=None, help="fix NEAR instead of choosing")
    args = parser.parse_args()
    if not TRAIN.exists():
        print(f"skipped: {TRAIN} is not there (the shared data)")
        return 0
    with TRAIN.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows = [r for r in rows if r["id"].split("-")[0] in ("kcnah", "rodong")]
    articles = [Article(id=r["id"], title=r["title"], summary=r.get("text") or "") for r in rows]
    matrix = np.concatenate(
        [vectors.article_vectors(articles[i : i + 64]) for i in range(0, len(articles), 64)]
    )
    vecs = {r["id"]: v for r, v in zip(rows, matrix, strict=True)}
    print(
        f"{len(rows)} KCNA + Rodong items; the reader wants {sum(map(wanted, rows))} of them "
        f"(inter-Korean or US–DPRK diplomacy and security); shipped NEAR = {NEAR:.2f}"
    )
    results = []
    for seed in range(args.seed, args.seed + args.seeds):
        r = run(rows, vecs, seed, args.near)
        results.append(r)
        print(
            f"seed {seed}: {r['alerts']} alerts; votes on the first {FIRST}: {r['votes']}; "
            f"NEAR {r['near']:.2f} ({r['how']})\n"
            f"  next {NEXT} alerts: precision {r['before']:.2f} before -> {r['after']:.2f} after "
            f"({r['sent_after']} sent); wanted items lost: {r['lost']} of {r['wanted']}"
        )
    if len(results) > 1:
        mean = {k: float(np.mean([r[k] for r in results])) for k in ("before", "after", "lost")}
        print(
            f"mean of {len(results)} shuffles: precision {mean['before']:.2f} -> "
            f"{mean['after']:.2f}, wanted lost {mean['lost']:.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
