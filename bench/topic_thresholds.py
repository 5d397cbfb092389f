"""Threshold rules for the shipped family, nested leave-one-source-out, in one run.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/topic_thresholds.py --cache /tmp/emb

Reuses the cached nested fits of ``bench/topic_quality.py --nested`` (no new fit when
the cache has them). For each held-out group the gate (off, anchor) and threshold are
chosen on the inner LOSO over the training groups only, by one rule:

  pooled-f1     best pooled inner F1 (as shipped today)
  worst-f1      best min over inner groups with >= 20 positives of their F1
  mean-f1       best mean over inner groups of their F1
  pooled-f0.5   best pooled inner F-beta, beta 0.5 (precision weighted)
  fixed-0.5     threshold 0.5 (gate still chosen by pooled inner F1)
  floor-0.4     best pooled inner F1 among thresholds >= 0.4

Prints held-out P/R/F1 per group and pooled for each rule, then the gate and threshold
each rule gives when applied to the plain LOSO over all groups (the shipping procedure).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.topic_heads import SHIP, Probs  # noqa: E402
from bench.topic_quality import (  # noqa: E402
    DEFAULT_INPUTS,
    FAMILIES,
    GATES,
    THRESHOLDS,
    WRITTEN,
    base_spec,
    compact,
    embeddings_for,
    family_spec,
    nested_choice,
    print_scores,
    score_groups,
)
from bot.matching.topic_model import (  # noqa: E402
    Featurizer,
    Labelled,
    document_of,
    featurize_all,
    load_labelled,
)

MIN_POS = 20
# score(decisions, labels, groups) -> value to maximise
Score = Callable[[np.ndarray, np.ndarray, np.ndarray], float]


def fbeta(d: np.ndarray, y: np.ndarray, beta: float = 1.0) -> float:
    tp = float(np.sum(d & y))
    fp = float(np.sum(d & ~y))
    fn = float(np.sum(~d & y))
    b2 = beta * beta
    den = (1 + b2) * tp + b2 * fn + fp
    return (1 + b2) * tp / den if den else 0.0


def per_group(d: np.ndarray, y: np.ndarray, g: np.ndarray, big_only: bool) -> list[float]:
    out = []
    for h in sorted(set(g)):
        m = g == h
        if big_only and y[m].sum() < MIN_POS:
            continue
        out.append(fbeta(d[m], y[m]))
    return out


RULES: dict[str, tuple[Score, tuple[float, ...]]] = {
    "pooled-f1": (lambda d, y, g: fbeta(d, y), THRESHOLDS),
    "worst-f1": (lambda d, y, g: min(per_group(d, y, g, True)), THRESHOLDS),
    "mean-f1": (lambda d, y, g: float(np.mean(per_group(d, y, g, False))), THRESHOLDS),
    "pooled-f0.5": (lambda d, y, g: fbeta(d, y, 0.5), THRESHOLDS),
    "fixed-0.5": (lambda d, y, g: fbeta(d, y), (0.5,)),
    "floor-0.4": (lambda d, y, g: fbeta(d, y), tuple(t for t in THRESHOLDS if t >= 0.4 - 1e-9)),
}


def pick(
    p: np.ndarray, y: np.ndarray, g: np.ndarray, gate_of: dict[str, np.ndarray], rule: str
) -> tuple[str, float, float]:
    score, thresholds = RULES[rule]
    best = (-1.0, "off", 0.5)
    for gate in GATES:
        pg = np.where(gate_of[gate], p, 0.0)
        for t in thresholds:
            s = score(pg >= t, y, g)
            if s > best[0] + 1e-9:
                best = (s, gate, t)
    return best[1], best[2], best[0]


def apply_rule(
    probs: Probs, items: Sequence[Labelled], groups: Sequence[str], anchored: np.ndarray, rule: str
) -> tuple[np.ndarray, dict[str, tuple[str, float]]]:
    outer, inner = probs
    y = np.array([i.label for i in items], dtype=bool)
    g = np.array([i.group for i in items])
    clear = np.array([not i.borderline for i in items])
    gates = {"off": np.ones(len(items), dtype=bool), "anchor": anchored}
    decided = np.zeros(len(items), dtype=bool)
    chosen = {}
    for held in groups:
        p = np.zeros(len(items))
        for other in groups:
            if other != held:
                p[g == other] = inner[(held, other)]
        rest = np.flatnonzero((g != held) & clear)
        gate, t, _ = pick(p[rest], y[rest], g[rest], {k: v[rest] for k, v in gates.items()}, rule)
        test = g == held
        decided[test] = np.where(gates[gate][test], outer[test], 0.0) >= t
        chosen[held] = (gate, t)
    return decided, chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="embeddings and nested fits")
    args = parser.parse_args(argv)
    items: list[Labelled] = [i for p in DEFAULT_INPUTS for i in load_labelled(p)]
    written = load_labelled(WRITTEN)
    every = [*items, *written]
    n = len(items)
    groups = sorted({i.group for i in items})
    vec = np.hstack(
        [
            np.vstack(
                [embeddings_for(e, items, args.cache)[0], embeddings_for(e, written, args.cache)[0]]
            ).astype(np.float64)
            for e in ("use-m3", "e5-small")
        ]
    )
    fam = next(f for f in FAMILIES if f.name == SHIP)
    featurizer = Featurizer(family_spec(base_spec("korea-diplomacy"), *fam.features))
    x = compact(featurize_all(every, featurizer, vec))
    docs = [document_of(i.id, i.title, i.lead, i.source) for i in items]
    anchored = np.array([featurizer.passes_gate(d) for d in docs])
    gates = {(SHIP, "off"): np.ones(n, dtype=bool), (SHIP, "anchor"): anchored}
    memo: dict[str, Probs] = {}
    nested_choice(
        [fam], {SHIP: x}, items, groups, gates, cache=args.cache, memo=memo, written=written
    )
    probs = memo[SHIP]
    y = np.array([i.label for i in items], dtype=bool)
    g = np.array([i.group for i in items])
    clear = np.array([not i.borderline for i in items])
    pos = {h: int(np.sum(y[(g == h) & clear])) for h in groups}
    print("clear positives: " + ", ".join(f"{h} {k}" for h, k in pos.items()))
    print(f"{SHIP}: held-out P/R/F1 per group and pooled, threshold chosen on inner folds")
    for rule in RULES:
        dec, chosen = apply_rule(probs, items, groups, anchored, rule)
        sc = score_groups(dec, items, groups)
        print_scores(rule, sc)
        pooled = sc["pooled"]
        print(f"      pooled {pooled['precision']:.3f}/{pooled['recall']:.3f}/{pooled['f1']:.3f}")
        print("      chosen: " + "; ".join(f"{h} {ga}/{t:.2f}" for h, (ga, t) in chosen.items()))
    print("shipping procedure (plain LOSO over all groups): gate/threshold per rule")
    outer = probs[0]
    m = clear
    for rule in RULES:
        every_gate = {"off": np.ones(int(m.sum()), dtype=bool), "anchor": anchored[m]}
        gate, t, s = pick(outer[m], y[m], g[m], every_gate, rule)
        print(f"  {rule:<12} {gate}/{t:.2f} (rule score {s:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
