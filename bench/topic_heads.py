"""Other learners than the linear head, nested leave-one-source-out, in one run.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/topic_heads.py --cache /tmp/emb

On exactly the items, labels, borderline exclusion, folds and rubric-written
training rows of ``bench/topic_quality.py --nested``, compares per held-out
group and pooled (P/R/F1):

  baseline   the shipped family (group+use+e5/rubric+/islets/written), LR
  mlp        a one-hidden-layer MLP (numpy, seed 0, weight decay) over the dense
             part of the same features (query block, USE, e5, rubric cosines);
             the epoch (early stop) is an option chosen by the inner folds
  lr+mlp     the mean of the two probabilities (same folds)
  lr+knn     the LR plus nearest-labelled-neighbour features: max and mean of
             the top 5 cosines (USE, e5) to training positives and negatives
             (a training row sees training rows of other groups only, as a
             held-out row does)
  lr+center  the LR with USE and e5 centred on the mean of the item's own
             source group (unsupervised; at run time a feed's running mean)
  lr+e5query the LR with e5 embedded with the ``query:`` prefix instead of ``passage:``
             (needs CACHE/e5-query-all.npy, items then written rows, made beforehand)
  stack      the mean of per-block LRs (hashed+query, USE, e5), no fitted mixer

For every variant, its options, the gate (off, anchor) and the threshold are
chosen by the pooled F1 of an inner LOSO over the training groups only (the
held-out group is never used); every fit is deterministic.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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
    SparseRows,
    document_of,
    featurize_all,
    fit_logistic,
    load_labelled,
    prf,
    sample_weights,
)

SHIP = "group+use+e5/rubric+/islets/written"
Probs = tuple[np.ndarray, dict[tuple[str, str], np.ndarray]]  # outer, inner (h, h') -> on h'
# fit(train rows, test rows) -> {option: probabilities of the test rows}
Fit = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]


def nested_probs(
    fit: Fit,
    g_all: np.ndarray,
    usable: np.ndarray,
    n: int,
    groups: Sequence[str],
    extra: np.ndarray,
) -> dict[str, Probs]:
    """Per option: the outer LOSO probabilities of the n items and the inner ones (a fit
    without h and h' scores h'); the rows ``extra`` (written) train in every fit."""
    g = g_all[:n]
    outer: dict[str, np.ndarray] = {}
    inner: dict[str, dict[tuple[str, str], np.ndarray]] = {}
    for a, held in enumerate(groups):
        train = np.concatenate([np.flatnonzero((g_all != held) & usable), extra])
        test = np.flatnonzero(g == held)
        for opt, p in fit(train, test).items():
            outer.setdefault(opt, np.zeros(n))[test] = p
        for other in groups[a + 1 :]:
            train = np.concatenate(
                [np.flatnonzero((g_all != held) & (g_all != other) & usable), extra]
            )
            both = np.flatnonzero((g == held) | (g == other))
            for opt, p in fit(train, both).items():
                d = inner.setdefault(opt, {})
                d[(other, held)] = p[g[both] == held]
                d[(held, other)] = p[g[both] == other]
    return {opt: (outer[opt], inner[opt]) for opt in outer}


def choose(
    options: dict[str, Probs],
    items: Sequence[Labelled],
    groups: Sequence[str],
    anchored: np.ndarray,
) -> tuple[np.ndarray, dict[str, tuple[str, str, float, float]]]:
    """Per held-out group: the option, gate and threshold with the best pooled F1 of the
    inner LOSO over the other groups; the held-out decisions."""
    y = np.array([i.label for i in items], dtype=bool)
    g = np.array([i.group for i in items])
    clear = np.array([not i.borderline for i in items])
    gate_of = {"off": np.ones(len(items), dtype=bool), "anchor": anchored}
    decided = np.zeros(len(items), dtype=bool)
    chosen: dict[str, tuple[str, str, float, float]] = {}
    for held in groups:
        rest = np.flatnonzero((g != held) & clear)
        best = (-1.0, "", "", 0.5)
        for opt, (_, inner) in options.items():
            p = np.zeros(len(items))
            for other in groups:
                if other != held:
                    p[g == other] = inner[(held, other)]
            for gate in GATES:
                pg = np.where(gate_of[gate][rest], p[rest], 0.0)
                for t in THRESHOLDS:
                    f = prf(zip(pg >= t, y[rest], strict=True))["f1"]
                    if f > best[0] + 1e-9:
                        best = (f, opt, gate, t)
        f, opt, gate, t = best
        test = g == held
        decided[test] = np.where(gate_of[gate][test], options[opt][0][test], 0.0) >= t
        chosen[held] = (opt, gate, t, f)
    return decided, chosen


def lr_fit(x: SparseRows, y: np.ndarray, g: np.ndarray, weighting: str = "group") -> Fit:
    def fit(train: np.ndarray, test: np.ndarray) -> dict[str, np.ndarray]:
        sw = sample_weights(y[train], g[train], weighting)
        w, b = fit_logistic(x.take(train), y[train], l2=1e-4, sample_weight=sw)
        return {"": 1.0 / (1.0 + np.exp(-(x.take(test).dot(w) + b)))}

    return fit


def dense_columns(x: SparseRows, lo: int, hi: int) -> np.ndarray:
    """Columns lo..hi of x as a dense matrix (before compact)."""
    out = np.zeros((x.n_rows, hi - lo))
    m = (x.indices >= lo) & (x.indices < hi)
    out[x.rows[m], x.indices[m] - lo] = x.data[m]
    return out


def with_dense(x: SparseRows, extra: np.ndarray) -> SparseRows:
    """x with the columns of ``extra`` appended (after its own)."""
    n, k = extra.shape
    counts = np.diff(x.indptr) + k
    indptr = np.concatenate(([0], np.cumsum(counts)))
    indices = np.empty(indptr[-1], dtype=np.int64)
    data = np.empty(indptr[-1])
    old = np.ones(indptr[-1], dtype=bool)
    ends = indptr[1:]
    new_pos = (ends[:, None] - k + np.arange(k)[None, :]).ravel()
    old[new_pos] = False
    indices[old], data[old] = x.indices, x.data
    indices[new_pos] = (x.n_cols + np.arange(k)[None, :].repeat(n, 0)).ravel()
    data[new_pos] = extra.ravel()
    return SparseRows(indptr, indices, data, x.n_cols + k)


def mlp_fit(
    dense: np.ndarray,
    y: np.ndarray,
    g: np.ndarray,
    *,
    hidden: int = 32,
    wd: float = 1e-3,
    lr: float = 3e-3,
    checkpoints: Sequence[int] = (25, 50, 100, 200, 400),
    seed: int = 0,
) -> Fit:
    """One hidden layer (ReLU), weighted log-loss + wd/2 |W|^2, full-batch Adam, float32;
    one option per checkpoint (the early stop the inner folds choose)."""

    def fit(train: np.ndarray, test: np.ndarray) -> dict[str, np.ndarray]:
        xt = dense[train]
        mu, sd = xt.mean(0), xt.std(0) + 1e-6
        xt = ((xt - mu) / sd).astype(np.float32)
        xs = ((dense[test] - mu) / sd).astype(np.float32)
        yt = y[train].astype(np.float32)
        sw = sample_weights(y[train], g[train], "group").astype(np.float32)
        sw /= sw.sum()
        rng = np.random.default_rng(seed)
        d = xt.shape[1]
        params = [
            (rng.standard_normal((d, hidden)) * np.sqrt(2.0 / d)).astype(np.float32),
            np.zeros(hidden, np.float32),
            (rng.standard_normal(hidden) * np.sqrt(1.0 / hidden)).astype(np.float32),
            np.zeros(1, np.float32),
        ]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        out: dict[str, np.ndarray] = {}
        for step in range(1, max(checkpoints) + 1):
            w1, b1, w2, b2 = params
            h = np.maximum(xt @ w1 + b1, 0.0)
            z = h @ w2 + b2[0]
            r = sw * (1.0 / (1.0 + np.exp(-z)) - yt)
            gw2 = h.T @ r + wd * w2
            gb2 = np.array([r.sum()], np.float32)
            dh = np.outer(r, w2) * (h > 0)
            gw1 = xt.T @ dh + wd * w1
            gb1 = dh.sum(0)
            for k, gr in enumerate((gw1, gb1, gw2, gb2)):
                m[k] = 0.9 * m[k] + 0.1 * gr
                v[k] = 0.999 * v[k] + 0.001 * gr * gr
                mh = m[k] / (1 - 0.9**step)
                vh = v[k] / (1 - 0.999**step)
                params[k] = params[k] - lr * mh / (np.sqrt(vh) + 1e-8)
            if step in checkpoints:
                w1, b1, w2, b2 = params
                zs = np.maximum(xs @ w1 + b1, 0.0) @ w2 + b2[0]
                out[f"e{step}"] = 1.0 / (1.0 + np.exp(-zs.astype(np.float64)))
        return out

    return fit


def knn_block(
    train: np.ndarray,
    test: np.ndarray,
    sims: Sequence[np.ndarray],
    y: np.ndarray,
    g: np.ndarray,
    k: int = 5,
) -> tuple[np.ndarray, np.ndarray]:
    """(features of the train rows, of the test rows): per embedding, max and mean top-k
    cosine to training positives and to training negatives; a training row's neighbours
    are the training rows of other groups only."""

    def feats(rows: np.ndarray, own_group_out: bool) -> np.ndarray:
        cols = []
        for s in sims:
            block = s[np.ix_(rows, train)]
            if own_group_out:
                block = np.where(g[rows][:, None] == g[train][None, :], -1.0, block)
            for cls in (1, 0):
                b = block[:, y[train] == cls]
                top = -np.partition(-b, k - 1, axis=1)[:, :k]
                cols += [top.max(1), top.mean(1)]
        return np.stack(cols, 1)

    return feats(train, True), feats(test, False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="embeddings and nested fits")
    parser.add_argument("--variants", default="mlp,lr+mlp,lr+knn,lr+center,lr+e5query,stack")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    items: list[Labelled] = [i for p in DEFAULT_INPUTS for i in load_labelled(p)]
    written = load_labelled(WRITTEN)
    every = [*items, *written]
    n = len(items)
    groups = sorted({i.group for i in items})
    y_all = np.array([i.label for i in every], dtype=np.float64)
    g_all = np.array([i.group for i in every])
    usable = np.array([not i.borderline for i in every])
    usable[n:] = False
    extra = n + np.flatnonzero([not i.borderline for i in written])
    vec = {
        e: np.vstack(
            [embeddings_for(e, items, args.cache)[0], embeddings_for(e, written, args.cache)[0]]
        ).astype(np.float64)
        for e in ("use-m3", "e5-small")
    }
    fam = next(f for f in FAMILIES if f.name == SHIP)
    spec = family_spec(base_spec("korea-diplomacy"), *fam.features)
    featurizer = Featurizer(spec)
    raw = featurize_all(every, featurizer, np.hstack([vec["use-m3"], vec["e5-small"]]))
    x = compact(raw)
    docs = [document_of(i.id, i.title, i.lead, i.source) for i in items]
    anchored = np.array([featurizer.passes_gate(d) for d in docs])
    print(
        f"{n} items + {len(written)} written; groups {', '.join(groups)}; "
        f"{x.n_cols} used columns ({time.perf_counter() - started:.0f} s)"
    )

    results: dict[str, dict[str, dict[str, float]]] = {}
    decisions: dict[str, np.ndarray] = {}
    options_of: dict[str, dict[str, Probs]] = {}

    def report(name: str, options: dict[str, Probs], t0: float) -> None:
        dec, chosen = choose(options, items, groups, anchored)
        results[name], decisions[name] = score_groups(dec, items, groups), dec
        print_scores(name, results[name])
        print(
            "      chosen: "
            + "; ".join(f"{h} {o or '-'}/{ga}/{t:.2f}" for h, (o, ga, t, _) in chosen.items())
            + f"  ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )

    # (a) the baseline: the shipped family's fits (the nested run's cache), its gate and
    # threshold chosen by the inner folds as for every variant here
    t0 = time.perf_counter()
    gates = {(SHIP, "off"): np.ones(n, dtype=bool), (SHIP, "anchor"): anchored}
    memo: dict[str, Probs] = {}
    nested_choice(
        [fam], {SHIP: x}, items, groups, gates, cache=args.cache, memo=memo, written=written
    )
    outer = {SHIP: memo[SHIP][0]}
    options_of["baseline"] = {"": memo[SHIP]}
    report("baseline (LR)", options_of["baseline"], t0)

    base = 1 << spec.hash_bits
    lo_e = base + spec.n_query
    wanted = args.variants.split(",")
    if "mlp" in wanted or "lr+mlp" in wanted:
        t0 = time.perf_counter()
        dense = dense_columns(raw, base, spec.size)
        fits = {wd: mlp_fit(dense, y_all, g_all, wd=wd) for wd in (1e-3, 1e-2, 1e-1)}

        def mlp_options(train: np.ndarray, test: np.ndarray) -> dict[str, np.ndarray]:
            return {f"wd{wd:g}/{o}": p for wd, f in fits.items() for o, p in f(train, test).items()}

        options_of["mlp"] = nested_probs(mlp_options, g_all, usable, n, groups, extra)
        report("mlp [query,USE,e5,rubric]", options_of["mlp"], t0)
        if "lr+mlp" in wanted:
            b_out, b_in = options_of["baseline"][""]
            mix = {
                o: ((b_out + p) / 2, {k: (b_in[k] + q[k]) / 2 for k in q})
                for o, (p, q) in options_of["mlp"].items()
            }
            report("mean(LR, mlp)", mix, time.perf_counter())
    if "lr+knn" in wanted:
        t0 = time.perf_counter()
        unit = [v / np.linalg.norm(v, axis=1, keepdims=True) for v in vec.values()]
        sims = [u @ u.T for u in unit]
        yb = y_all.astype(int)

        def knn_fit(train: np.ndarray, test: np.ndarray) -> dict[str, np.ndarray]:
            f_tr, f_te = knn_block(train, test, sims, yb, g_all)
            xt, xs = with_dense(x.take(train), f_tr), with_dense(x.take(test), f_te)
            sw = sample_weights(y_all[train], g_all[train], "group")
            w, b = fit_logistic(xt, y_all[train], l2=1e-4, sample_weight=sw)
            return {"": 1.0 / (1.0 + np.exp(-(xs.dot(w) + b)))}

        options_of["lr+knn"] = nested_probs(knn_fit, g_all, usable, n, groups, extra)
        report("LR + kNN features", options_of["lr+knn"], t0)
    if "lr+center" in wanted:
        t0 = time.perf_counter()
        emb = np.hstack([vec["use-m3"], vec["e5-small"]])
        for grp in np.unique(g_all):
            m = g_all == grp
            emb[m] -= emb[m].mean(0)
        data = raw.data.copy()
        mask = (raw.indices >= lo_e) & (raw.indices < lo_e + spec.n_embed)
        data[mask] = emb[raw.rows[mask], raw.indices[mask] - lo_e] * spec.scale_embed
        centred = compact(SparseRows(raw.indptr, raw.indices, data, raw.n_cols))
        options_of["lr+center"] = nested_probs(
            lr_fit(centred, y_all, g_all), g_all, usable, n, groups, extra
        )
        report("LR, centred per source", options_of["lr+center"], t0)
    query_path = args.cache / "e5-query-all.npy"  # made by the e5 model's query() (see README)
    if "lr+e5query" in wanted and query_path.exists():
        t0 = time.perf_counter()
        emb = np.hstack([vec["use-m3"], np.load(query_path).astype(np.float64)])
        data = raw.data.copy()
        mask = (raw.indices >= lo_e) & (raw.indices < lo_e + spec.n_embed)
        data[mask] = emb[raw.rows[mask], raw.indices[mask] - lo_e] * spec.scale_embed
        swapped = compact(SparseRows(raw.indptr, raw.indices, data, raw.n_cols))
        options_of["lr+e5query"] = nested_probs(
            lr_fit(swapped, y_all, g_all), g_all, usable, n, groups, extra
        )
        report("LR, e5 as query:", options_of["lr+e5query"], t0)
    if "stack" in wanted:
        t0 = time.perf_counter()
        lo_r = lo_e + spec.n_embed
        blocks = {
            "hashed+query": (0, lo_e),
            "use": (lo_e, lo_e + 512),
            "e5": (lo_e + 512, lo_r),
        }
        per: dict[str, Probs] = {}
        for name, (lo, hi) in blocks.items():
            keep = ((raw.indices >= lo) & (raw.indices < hi)) | (raw.indices >= lo_r)
            if name == "hashed+query":
                keep = raw.indices < lo_e
            cnt = np.bincount(raw.rows[keep], minlength=raw.n_rows)
            sub = SparseRows(
                np.concatenate(([0], np.cumsum(cnt))), raw.indices[keep], raw.data[keep], raw.n_cols
            )
            per[name] = nested_probs(
                lr_fit(compact(sub), y_all, g_all), g_all, usable, n, groups, extra
            )[""]
            print(f"      block {name}: ({time.perf_counter() - t0:.0f} s)", flush=True)
        outs = [p for p, _ in per.values()]
        stack = (
            np.mean(outs, 0),
            {k: np.mean([q[k] for _, q in per.values()], 0) for k in next(iter(per.values()))[1]},
        )
        options_of["stack"] = {"": stack}
        report("mean of per-block LRs", options_of["stack"], t0)

    # the kcnah false positives of the baseline: which variants fix which
    base_dec = decisions["baseline (LR)"]
    fp = [
        k
        for k, i in enumerate(items)
        if i.group == "kcnah" and not i.borderline and not i.label and base_dec[k]
    ]
    print(
        f"\nkcnah: {len(fp)} false positives of the baseline; per variant (FP total, of the "
        "baseline's fixed, new)"
    )
    for name, dec in decisions.items():
        mine = {
            k
            for k, i in enumerate(items)
            if i.group == "kcnah" and not i.borderline and not i.label and dec[k]
        }
        print(
            f"  {name:<28} {len(mine):>3}  fixed {len(set(fp) - mine):>3}  new "
            f"{len(mine - set(fp)):>3}"
        )
    for k in fp:
        fixed = [nm for nm, dec in decisions.items() if not dec[k]]
        print(
            f"  FP {items[k].id:<12} p={outer[SHIP][k]:.2f} {items[k].title[:70]!r}"
            + (f"  fixed by {', '.join(fixed)}" if fixed else "")
        )

    print("\nF1 per held-out group (pooled last); * = meets P>=0.95 and R>=0.90")
    print("  " + f"{'variant':<28}" + "".join(f"{g:>10}" for g in [*groups, "pooled"]))
    for name, scores in results.items():
        cells = "".join(
            f"{s['f1']:>9.2f}{'*' if s['precision'] >= 0.95 and s['recall'] >= 0.9 else ' '}"
            for s in scores.values()
        )
        print(f"  {name:<28}{cells}")
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
