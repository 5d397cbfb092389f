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

Then each rule decides the next 200 alerts with those 20 votes.  Printed for each: the
reader's precision on them before (every alert sent) and after (the alerts the votes let
through), and how many wanted items the votes held back.  The rules, side by side, in
either vector space (``use``: the article vector, multilingual USE; ``e5``: the passage
vector, multilingual-e5-small):

* ``nearest``: the nearest vote at least ``near`` close decides (the rule before e5);
* ``nearest+3`` (shipped, :func:`bot.matching.feedback.judge` with ``neighbours=3``):
  the same, but a 👎 nearest holds only when 👎s outnumber 👍s among the 3 nearest votes
  at least ``near`` close;
* ``prototype`` (Rocchio): held when some 👎 is at least ``near`` close and the article is
  closer to the mean of the chat's 👎 vectors than to the mean of its 👍 vectors;
* ``logistic``: a per-chat L2 logistic regression (C = 10, the two classes weighted alike)
  over the 20 rated vectors (less their mean) plus the subscription's own score, held when
  some vote is at least ``near`` close and it gives "wanted" less than one half.

Each rule's one parameter ``near`` is chosen on *other* shuffles (seeds 100-119: their 20
votes and all the alerts after them), never on the reported ones: the one with the best
precision after the votes that holds back at most ``LOSS_BUDGET`` (10%) of the items the
reader wants (the least reach when none does; by F1, as before, it always took the
longest reach and held back 35% of them), over a grid that starts at the median cosine of two alerts of the
stream (0.81 for e5, 0.25 for USE): a vote may not reach more than about half of what the
same outlets send.  The shipped constants are printed beside the chosen ones.
``--seeds N`` repeats it for N shuffles and prints the mean; ``--titles-only`` makes the
vectors of the titles alone, as from a feed without descriptions (the alerts and the
reader stay the same).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import SHARED  # noqa: E402
from bot.matching import passages, vectors  # noqa: E402
from bot.matching.engine import Matcher  # noqa: E402
from bot.matching.feedback import NEAR, NEAR_PASSAGE, NEIGHBOURS, judge  # noqa: E402
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
CHOOSE_ON = range(100, 120)  # the shuffles the parameters are chosen on
# A reader's 👎 may cost them at most this share of the items they want (on the shuffles the
# parameters are chosen on): missing news is the worse failure of a news alert, and the
# F1 criterion this replaced chose the longest reach, holding back 35% of what the reader wanted
LOSS_BUDGET = 0.10
SHIPPED = {"use": NEAR, "e5": NEAR_PASSAGE}

Vote = tuple[int, np.ndarray, float]  # +1/-1, the vector, the subscription's score
Rule = Callable[[np.ndarray, float, list[Vote], float], bool]  # True: send


def wanted(row: dict) -> bool:
    text = f"{row['title']} {row.get('text') or ''}"
    return bool(row["label"]) and bool(SOUTH.search(text) or US.search(text))


def _nearest(k: int) -> Rule:
    def rule(vector: np.ndarray, score: float, votes: list[Vote], near: float) -> bool:
        pool = [(v, vec, "") for v, vec, _ in votes]
        return judge(vector, pool, near=near, neighbours=k).send

    return rule


def _prototype(vector: np.ndarray, score: float, votes: list[Vote], near: float) -> bool:
    signs = np.array([v for v, _, _ in votes])
    matrix = np.stack([vec for _, vec, _ in votes])
    sims = matrix @ vector
    if not (signs < 0).any() or sims[signs < 0].max() < near:
        return True
    down = matrix[signs < 0].mean(0)
    up = matrix[signs > 0].mean(0) if (signs > 0).any() else np.zeros_like(down)
    return bool(vector @ up / max(np.linalg.norm(up), 1e-9) >= vector @ down / np.linalg.norm(down))


_fitted: dict[int, tuple[list[Vote], np.ndarray, np.ndarray]] = {}


def _logistic(vector: np.ndarray, score: float, votes: list[Vote], near: float) -> bool:
    signs = np.array([v for v, _, _ in votes])
    matrix = np.stack([vec for _, vec, _ in votes])
    if (matrix @ vector).max() < near or len(set(signs.tolist())) < 2:
        return _nearest(1)(vector, score, votes, near)
    fitted = _fitted.get(id(votes))
    if fitted is None or fitted[0] is not votes:  # one fit per chat's votes
        fitted = _fitted[id(votes)] = (votes, *_fit(matrix, signs, votes))
    _, centre, w = fitted
    return float(np.append(vector - centre, [score, 1.0]) @ w) >= 0


def _fit(matrix: np.ndarray, signs: np.ndarray, votes: list[Vote]) -> tuple[np.ndarray, np.ndarray]:
    """L2 logistic regression (C = 10), the classes weighted alike, on the rated vectors
    less their mean (e5's vectors share a large common part) and the subscription score."""
    centre = matrix.mean(0)
    x = np.hstack([matrix - centre, np.array([[s] for _, _, s in votes]), np.ones((len(votes), 1))])
    y = (signs > 0).astype(np.float64)
    weight = np.where(y > 0, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
    reg = np.full(x.shape[1], 0.1)
    reg[-1] = 0  # not on the intercept
    w = np.zeros(x.shape[1])
    for _ in range(100):  # Newton's method
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (weight * (p - y)) + reg * w
        hess = x.T @ (x * (weight * p * (1 - p))[:, None]) + np.diag(reg + 1e-6)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return centre, w


RULES: dict[str, Rule] = {
    "nearest": _nearest(1),
    f"nearest+{NEIGHBOURS}": _nearest(NEIGHBOURS),
    "prototype": _prototype,
    "logistic": _logistic,
}


def stream(rows: list[dict], seed: int, matcher: Matcher) -> list[tuple[dict, float]]:
    """The alerts of one shuffle, each with its subscription score."""
    order = list(rows)
    random.Random(seed).shuffle(order)
    out = []
    for r in order:
        found = matcher.match(Article(id=r["id"], title=r["title"], summary=r.get("text") or ""))
        if found:
            out.append((r, float(found[0].score)))
    return out


def outcome(
    block: list[tuple[dict, float]],
    votes: list[Vote],
    vecs: dict[str, np.ndarray],
    rule: Rule,
    near: float,
) -> tuple[float, float, int, int, int]:
    """precision before, after, wanted lost, sent after, wanted in the block"""
    want = [wanted(r) for r, _ in block]
    sent = [rule(vecs[r["id"]], s, votes, near) for r, s in block]
    kept = [w for w, s in zip(want, sent, strict=True) if s]
    after = sum(kept) / len(kept) if kept else 0.0
    lost = sum(1 for w, s in zip(want, sent, strict=True) if w and not s)
    return sum(want) / len(block), after, lost, len(kept), sum(want)


_taught: dict[tuple[int, int], tuple[object, object, list[Vote]]] = {}


def teach(alerts: list[tuple[dict, float]], vecs: dict[str, np.ndarray]) -> list[Vote]:
    """The reader's votes on the first alerts (the same list for the same stream, so that
    a rule that fits a model fits it once)."""
    key = (id(alerts), id(vecs))
    found = _taught.get(key)
    if found is None or found[0] is not alerts or found[1] is not vecs:
        votes = [(1 if wanted(r) else -1, vecs[r["id"]], s) for r, s in alerts[:FIRST]]
        found = _taught[key] = (alerts, vecs, votes)
    return found[2]


def choose(
    streams: list[list[tuple[dict, float]]],
    vecs: dict[str, np.ndarray],
    rule: Rule,
    grid: np.ndarray,
) -> float:
    best: tuple[float, float] | None = None
    for cut in grid:
        got = [outcome(a[FIRST:], teach(a, vecs), vecs, rule, float(cut)) for a in streams]
        after = float(np.mean([g[1] for g in got]))
        lost = float(np.mean([g[2] / g[4] for g in got if g[4]]))
        if lost <= LOSS_BUDGET and (best is None or after > best[0] + 1e-9):
            best = (after, float(cut))
    return best[1] if best else float(grid[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--seeds", type=int, default=1, help="repeat for this many shuffles")
    parser.add_argument(
        "--titles-only", action="store_true", help="vectors of the titles alone (a bare feed)"
    )
    args = parser.parse_args()
    if not TRAIN.exists():
        print(f"skipped: {TRAIN} is not there (the shared data)")
        return 0
    with TRAIN.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows = [r for r in rows if r["id"].split("-")[0] in ("kcnah", "rodong")]
    articles = [
        Article(
            id=r["id"], title=r["title"], summary="" if args.titles_only else r.get("text") or ""
        )
        for r in rows
    ]
    spaces: dict[str, dict[str, np.ndarray]] = {}
    floors: dict[str, float] = {}
    for name, module in (("use", vectors), ("e5", passages)):
        matrix = np.concatenate(
            [module.article_vectors(articles[i : i + 32]) for i in range(0, len(articles), 32)]
        )
        spaces[name] = {r["id"]: v for r, v in zip(rows, matrix, strict=True)}
    matcher = Matcher()
    matcher.add("korea", "@korea")
    alerted = [r["id"] for r, _ in stream(rows, 0, matcher)]
    for name, vecs in spaces.items():
        matrix = np.stack([vecs[i] for i in alerted])
        half = len(matrix) // 2
        floors[name] = float(np.median(matrix[:half] @ matrix[half:].T))
    print(
        f"{len(rows)} KCNA + Rodong items; the reader wants {sum(map(wanted, rows))} of them "
        f"(inter-Korean or US–DPRK diplomacy and security); median cosine of two alerts: "
        + ", ".join(f"{k} {v:.2f}" for k, v in floors.items())
    )
    held_out = [stream(rows, s, matcher) for s in CHOOSE_ON]
    seeds = list(range(args.seed, args.seed + args.seeds))
    reported = {s: stream(rows, s, matcher) for s in seeds}
    first = reported[seeds[0]]
    print(
        f"seed {seeds[0]}: {len(first)} alerts; votes on the first {FIRST}: "
        f"{sum(wanted(r) for r, _ in first[:FIRST])} 👍 / "
        f"{sum(not wanted(r) for r, _ in first[:FIRST])} 👎"
    )
    for space, vecs in spaces.items():
        step = 0.01 if space == "e5" else 0.02  # e5's cosines are packed closer
        grid = np.arange(np.ceil(floors[space] * 100) / 100, 0.951, step)
        for name, rule in RULES.items():
            near = choose(held_out, vecs, rule, grid)
            results = []
            for s in seeds:
                alerts = reported[s]
                block = alerts[FIRST : FIRST + NEXT]
                results.append(outcome(block, teach(alerts, vecs), vecs, rule, near))
            shipped = {
                ("e5", f"nearest+{NEIGHBOURS}"): " shipped,",
                ("use", "nearest"): " for votes from before e5,",
            }.get((space, name), "")
            print(
                f"{space:3} {name:10}{shipped} near {near:.2f} chosen "
                f"(shipped: {SHIPPED[space]:.2f}): "
                + "; ".join(
                    f"{s} {b:.2f}->{a:.2f} lost {lost}/{w}"
                    for s, (b, a, lost, _, w) in zip(seeds, results, strict=True)
                )
            )
            if len(results) > 1:
                print(
                    f"    mean of {len(results)}: precision "
                    f"{np.mean([r[0] for r in results]):.2f} -> "
                    f"{np.mean([r[1] for r in results]):.2f}, sent "
                    f"{np.mean([r[3] for r in results]):.0f} of {NEXT}, wanted lost "
                    f"{np.mean([r[2] for r in results]):.1f} of "
                    f"{np.mean([r[4] for r in results]):.1f}"
                )
    # the trade-off of the nearest-vote rules in either space, on the reported shuffles
    # (not used to choose anything): how far a vote reaches against what it costs
    curves = {"e5": np.arange(0.81, 0.905, 0.01), "use": np.arange(0.25, 0.655, 0.05)}
    for space, cuts in curves.items():
        vecs = spaces[space]
        for name in ("nearest", f"nearest+{NEIGHBOURS}"):
            points = []
            for cut in cuts:
                got = []
                for s in seeds:
                    alerts = reported[s]
                    block = alerts[FIRST : FIRST + NEXT]
                    votes = teach(alerts, vecs)
                    got.append(outcome(block, votes, vecs, RULES[name], float(cut)))
                after = np.mean([g[1] for g in got])
                points.append(f"{cut:.2f}: {after:.2f}/{np.mean([g[2] for g in got]):.1f}")
            print(f"{space:3} {name} by near (precision after/wanted lost): " + ", ".join(points))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
