"""How many labelled articles of a new kind of source does a learned topic need there?

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/topic_adaptation.py --cache /tmp/emb
    ... --groups kcnah,ko --ks 0,25,50,100 --splits 3

``bench/topic_quality.py`` says how the shipped ``korea-diplomacy`` options do on a source
group none of whose articles were trained on.  An operator who adds such a source can
label a sample of its articles and train on them too (``newsalert topics sample`` writes
one, ``topics train --data`` reads it back).  This measures what that buys: for each source
group G, its non-borderline items are split in two halves (seeded): a *pool* the operator
labels from and a *test* half that is never trained on.  ``k`` items of the pool are
labelled, as one more source group (``own``, as a file of the operator's would be), the
shipped options are trained on every other group, the rubric-written examples and those
``k``, and the test half is decided at the shipped threshold with the anchor gate.  ``k =
0`` is leave-one-source-out on the test half.  Two ways to choose the ``k``:

- ``random``: a random sample of the pool;
- ``uncertain``: the pool items the ``k = 0`` model scores closest to its threshold among
  those past the gate (what ``topics sample`` puts first).

Prints, per group and ``k``, the test half's precision / recall / F1, the mean over the
splits (``--splits``), and ``*`` where the mean meets the target (P >= 0.95, R >= 0.90).
The full model decides (no cascade), as row "(iii) shipped" of ``topic_quality.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.topic_quality import (  # noqa: E402
    DEFAULT_INPUTS,
    TARGET_P,
    TARGET_R,
    WRITTEN,
    WRITTEN_2,
    compact,
    embeddings_for,
    gate_mask,
    probabilities,
    shipped_config,
)
from bot.matching.embed import parts as embed_parts  # noqa: E402
from bot.matching.topic_model import (  # noqa: E402
    Featurizer,
    featurize_all,
    load_labelled,
    prf,
    sample_weights,
)

OWN = "own"  # the source group of the operator's labelled sample


def _split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(pool, test): a seeded half each of ``range(n)``."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic", default="korea-diplomacy")
    parser.add_argument("--cache", type=Path, help="a folder to keep embeddings between runs")
    parser.add_argument("--groups", default="abc,hp,kcnah,ko,rodong,agnews")
    parser.add_argument("--ks", default="0,25,50,100,200")
    parser.add_argument("--splits", type=int, default=3)
    args = parser.parse_args(argv)
    if not all(p.exists() for p in DEFAULT_INPUTS):
        print(f"no labelled sets at {', '.join(map(str, DEFAULT_INPUTS))}; nothing to measure")
        return 0
    started = time.perf_counter()
    cfg = shipped_config(args.topic)
    if cfg is None:
        print(f"no shipped model for {args.topic}")
        return 1
    items = [i for p in DEFAULT_INPUTS for i in load_labelled(p)]
    written = load_labelled(WRITTEN) if cfg.written else []
    if cfg.more_written:
        written = [*written, *load_labelled(WRITTEN_2)]
    if cfg.views or cfg.spec.embed_center:
        print("the shipped options use text views or centring, which this bench does not")
        return 1
    every = [*items, *written]
    names = embed_parts(cfg.spec.embedder) if cfg.spec.embedder else ()
    emb = np.hstack([embeddings_for(e, every, args.cache)[0] for e in names]) if names else None
    x = compact(featurize_all(every, Featurizer(cfg.spec), emb))
    y = np.array([i.label for i in every], dtype=np.float64)
    base_groups = np.array([i.group if k < len(items) else "written" for k, i in enumerate(every)])
    usable = np.array([cfg.use_borderline or not i.borderline for i in every])
    gate = gate_mask(every, cfg)
    scored = np.array([not i.borderline for i in every])
    t = cfg.threshold
    print(
        f"topic {args.topic}: shipped options ({cfg.weighting} weighting, {cfg.spec.embedder}, "
        f"threshold {t}, gate {'on' if cfg.gate else 'off'}); {len(items)} labelled items, "
        f"{len(written)} written in every training"
    )
    ks = [int(k) for k in args.ks.split(",")]
    fits = 0

    def decide(held: str, own: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Probabilities of ``test`` from a model without ``held`` but with ``own``."""
        nonlocal fits
        g = base_groups.copy()
        g[own] = OWN
        train = np.flatnonzero(
            ((base_groups != held) | np.isin(np.arange(len(every)), own)) & usable
        )
        sw = sample_weights(y[train], g[train], cfg.weighting)
        fits += 1
        p = probabilities(x.take(train), y[train], x.take(test), cfg.l2, sw)
        return np.where(gate[test], p, 0.0)

    print(
        "cells: the test half's P / R / F1, mean over "
        f"{args.splits} splits; * = the mean meets P >= {TARGET_P} and R >= {TARGET_R}\n"
    )
    for held in args.groups.split(","):
        members = np.flatnonzero((base_groups == held) & scored)
        if not len(members):
            print(f"{held}: no items")
            continue
        positives = int(y[members].sum())
        rows: dict[tuple[str, int], list[dict[str, float]]] = {}
        for split in range(args.splits):
            pool_at, test_at = _split(len(members), seed=split)
            pool, test = members[pool_at], members[test_at]
            p0_pool = decide(held, np.array([], dtype=np.int64), np.concatenate([pool, test]))
            p0_test = p0_pool[len(pool) :]
            p0_pool = p0_pool[: len(pool)]
            rng = np.random.default_rng(1000 + split)
            shuffled = rng.permutation(pool)
            # past the gate, closest to the threshold first (a gated-out item scores 0)
            past = gate[pool]
            margin = np.where(past, np.abs(p0_pool - t), np.inf)
            uncertain = pool[np.argsort(margin, kind="stable")]
            for k in ks:
                for how, chosen in (("random", shuffled[:k]), ("uncertain", uncertain[:k])):
                    if k == 0:
                        if how == "uncertain":
                            continue
                        p = p0_test
                        how = "none"
                    elif k > len(pool):
                        continue
                    else:
                        p = decide(held, chosen, test)
                    s = prf(zip(p >= t, y[test] == 1, strict=True))
                    rows.setdefault((how, k), []).append(s)
        print(
            f"{held} ({len(members)} items, {positives} positives; test half ~{len(members) // 2})"
        )
        for (how, k), scores in rows.items():
            mean = {
                m: float(np.mean([s[m] for s in scores])) for m in ("precision", "recall", "f1")
            }
            star = "*" if mean["precision"] >= TARGET_P and mean["recall"] >= TARGET_R else " "
            spread = float(np.std([s["f1"] for s in scores]))
            print(
                f"  k={k:<4} {how:<10} {mean['precision']:.2f} / {mean['recall']:.2f} / "
                f"{mean['f1']:.2f}{star}  (F1 sd {spread:.2f})"
            )
    print(f"\n({fits} fits, {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
