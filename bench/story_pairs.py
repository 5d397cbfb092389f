"""Story grouping on labelled pairs: the old grouping (words) against the new (words or meaning).

    .venv/bin/python bench/story_pairs.py [--all]

The pairs (``bench/story_pairs.jsonl``: two item ids, ``same`` and ``how``; the texts stay in
../shared/data) are of two kinds:

* ``read``: neighbours by meaning (cosine of the article vectors at least 0.45 for the
  Korean news of the topics train set, published within a day of each other, mostly by
  different outlets; at least 0.6 for AG News, mostly Reuters / AP / AFP / others), each
  read (title and lead) and labelled by hand: ``same`` when both report one event, not
  when they report different events or different stages of one (a preview and the result,
  a statement and the reaction to it, a morning and a closing market report);
* ``dated-4d-apart``: the closest pairs by meaning (cosine >= 0.6) of the dated groups
  (KCNA and Rodong Sinmun headlines, HuffPost, ABC, Korean news), published at least 4
  days apart: different events on the same subject (two launches, two ambassadors'
  credentials), at most two pairs per item.

Both kinds were drawn to be hard: every pair is close in meaning, so a false merge here is
far likelier than between two random articles of a day.

The pairs are split in two halves by a hash of their ids (stratified by label): the
thresholds (cosine, title-trigram overlap) are chosen on the *tune* half, as the rule with
the highest recall whose false merges stay at or under 1%, and the figures are printed for
the *test* half (``--all``: for both, and every pair).  "With the windows": pairs whose
publication dates are known and at least 2 days apart are kept apart by the story's
meaning window (12 h) whatever their texts say; AG News has no dates, so its pairs are
always judged on their texts.

Printed per rule: recall on same-event pairs, false merges (share of different-event
pairs merged), precision of "same story".
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import SHARED  # noqa: E402
from bot.ingest.stories import (  # noqa: E402
    MIN_COSINE,
    MIN_TITLE_OVERLAP,
    SURE_COSINE,
    days_named,
    fingerprint,
    lead_of,
    overlap,
    same_story,
    title_grams,
)
from bot.matching import vectors  # noqa: E402
from bot.records import Article  # noqa: E402

# ../shared beside the checkout, or where NEWSALERT_SHARED points
DATA = SHARED / "data" / "topics"
PAIRS = ROOT / "bench" / "story_pairs.jsonl"


def load_items() -> dict[str, tuple[Article, date | None]]:
    items: dict[str, tuple[Article, date | None]] = {}
    with (DATA / "korea-diplomacy-train.jsonl").open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            try:
                day = date.fromisoformat((r.get("published") or "")[:10])
            except ValueError:
                day = None
            items[r["id"]] = (
                Article(id=r["id"], title=r["title"], summary=r.get("text") or ""),
                day,
            )
    with (DATA / "ag_news" / "test.csv").open(encoding="utf-8") as f:
        for i, row in enumerate(csv.reader(f)):
            text = row[2].replace("\\", " ")
            items[f"ag-{i}"] = (Article(id=f"ag-{i}", title=row[1], summary=text), None)
    return items


def half(pair: dict) -> str:
    digest = hashlib.sha1(f"{pair['a']}|{pair['b']}".encode()).digest()
    return "tune" if digest[0] % 2 == 0 else "test"


def scores(flags: np.ndarray, same: np.ndarray) -> tuple[float, float, float, int]:
    recall = float(flags[same].mean()) if same.any() else 0.0
    false = float(flags[~same].mean()) if (~same).any() else 0.0
    merged = int(flags.sum())
    precision = float(flags[same].sum() / merged) if merged else 1.0
    return recall, false, precision, int(flags[~same].sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true", help="print both halves and all pairs")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is not there (the shared data)")
        return 0
    pairs = [json.loads(line) for line in PAIRS.open(encoding="utf-8")]
    items = load_items()
    ids = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    started = time.perf_counter()
    matrix = vectors.article_vectors([items[i][0] for i in ids])
    elapsed = time.perf_counter() - started
    vec = dict(zip(ids, matrix, strict=True))
    prints = {i: fingerprint(items[i][0].title, lead_of(items[i][0])) for i in ids}
    grams = {i: title_grams(items[i][0].title) for i in ids}
    days = {i: days_named(lead_of(items[i][0])) for i in ids}
    print(
        f"{len(pairs)} pairs ({sum(p['same'] for p in pairs)} same event), {len(ids)} items; "
        f"vectors: model loaded in {vectors.STATS['load_seconds']:.2f} s, "
        f"{1000 * (elapsed - vectors.STATS['load_seconds']) / len(ids):.1f} ms an article"
    )

    same = np.array([p["same"] for p in pairs])
    split = np.array([half(p) for p in pairs])
    cos = np.array([float(vec[p["a"]] @ vec[p["b"]]) for p in pairs])
    tri = np.array([overlap(grams[p["a"]], grams[p["b"]]) for p in pairs])
    # the grouping before meaning: SimHash + Jaccard alone
    old = np.array([prints[p["a"]].is_near(prints[p["b"]]) for p in pairs])
    words = np.array(
        [
            same_story(
                prints[p["a"]],
                prints[p["b"]],
                days_a=days[p["a"]],
                days_b=days[p["b"]],
                by_meaning=False,
            )
            for p in pairs
        ]
    )
    gap = np.array(
        [
            abs((items[p["a"]][1] - items[p["b"]][1]).days)  # type: ignore[operator]
            if items[p["a"]][1] and items[p["b"]][1]
            else 0
            for p in pairs
        ]
    )
    in_window = gap < 2
    other_day = np.array(
        [
            bool(days[p["a"]] and days[p["b"]] and days[p["a"]].isdisjoint(days[p["b"]]))
            for p in pairs
        ]
    )

    def rule(c: float, k: float, sure: float) -> np.ndarray:
        return (old | (cos >= c) & (tri >= k) | (cos >= sure)) & ~other_day

    # thresholds from the tune half only, judged as the pipeline decides (with the windows):
    # the highest recall whose false merges stay <= 1%; else the fewest false merges
    tune = split == "tune"
    best: tuple[tuple[float, float, float], float, float, float] | None = None
    for c in np.arange(0.70, 0.96, 0.01):
        for k in np.arange(0.0, 0.62, 0.04):
            for sure in np.arange(0.80, 1.0, 0.02):
                r, f, _, _ = scores((rule(c, k, sure) & in_window)[tune], same[tune])
                key = (min(0.0, 0.01 - f), r, -f)
                if best is None or key > best[0]:
                    best = (key, round(float(c), 2), round(float(k), 2), round(float(sure), 2))
    assert best is not None
    chosen = best[1:]
    print(
        f"chosen on the tune half ({int(tune.sum())} pairs; leads naming different days "
        f"never merge by meaning): cosine >= {chosen[0]:.2f} with title overlap >= "
        f"{chosen[1]:.2f}, or cosine >= {chosen[2]:.2f}; shipped in bot/ingest/stories.py: "
        f"{MIN_COSINE:.2f} / {MIN_TITLE_OVERLAP:.2f} / {SURE_COSINE:.2f}"
    )
    rules = {
        "old (SimHash + Jaccard)": old,
        f"new (old, or meaning {MIN_COSINE:.2f}/{MIN_TITLE_OVERLAP:.2f}/{SURE_COSINE:.2f})": rule(
            MIN_COSINE, MIN_TITLE_OVERLAP, SURE_COSINE
        ),
        "words, leads naming different days kept apart": words,
        "meaning alone (cos>=0.80)": cos >= 0.80,
    }
    parts = [("test", split == "test")]
    if args.all:
        parts += [("tune", tune), ("all", np.ones(len(pairs), bool))]
    header = f"{'rule':52} {'half':5} {'':8} {'recall':>7} {'false':>6} {'prec':>6} {'merged':>7}"
    print(header)
    for name, flags in rules.items():
        for part, mask in parts:
            for label, extra in (("texts", mask), ("windows", mask)):
                use = flags if label == "texts" else flags & in_window
                r, f, p, n = scores(use[extra], same[extra])
                negatives = int((~same[extra]).sum())
                print(
                    f"{name:52} {part:5} {label:8} {r:7.3f} {f:6.3f} {p:6.3f} {n:>3}/{negatives:<3}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
