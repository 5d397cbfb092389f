"""Training and evaluating a topic model: sample weights, the fit, leave-one-source-out
scores, the cascade's band, and :func:`train_topic`, what ``newsalert topics train``
runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ConfigError
from bot.matching.aliases import AliasGroup
from bot.matching.topic_model.embedding import embedding_of
from bot.matching.topic_model.features import Featurizer, document_of
from bot.matching.topic_model.labelled import (
    VIEWS,
    Labelled,
    embed_text,
    featurize_all,
    load_labelled,
    sha256_of,
    spread_over_views,
    view_rows,
)
from bot.matching.topic_model.logistic import fit_logistic, sigmoid
from bot.matching.topic_model.model import CascadeHead, TopicModel
from bot.matching.topic_model.spec import (
    FeatureSpec,
    cheap_spec,
    check_center,
    embed_columns,
    with_center,
    with_prototype_vectors,
)


def class_weights(y: np.ndarray) -> np.ndarray:
    """Weights that give both classes the same total."""
    pos = max(1, int(y.sum()))
    neg = max(1, len(y) - pos)
    return np.where(y == 1, 0.5 / pos, 0.5 / neg) * len(y)


WEIGHTINGS = ("class", "group", "sqrt-group")


def sample_weights(
    y: np.ndarray, groups: Sequence[str] | np.ndarray, weighting: str = "class"
) -> np.ndarray:
    """Training weights: ``class`` gives both classes the same total; ``group`` first
    gives every source group the same total (domain generalisation: no source dominates),
    ``sqrt-group`` a total in proportion to the square root of its size; then both
    classes are brought to the same total."""
    if weighting == "class":
        return class_weights(y)
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r} (one of {', '.join(WEIGHTINGS)})")
    g = np.asarray(groups)
    names, inverse, sizes = np.unique(g, return_inverse=True, return_counts=True)
    share = np.ones(len(names)) if weighting == "group" else np.sqrt(sizes)
    w = (share / share.sum() / sizes)[inverse]
    pos = y == 1
    out = np.empty(len(y))
    out[pos] = 0.5 * w[pos] / max(float(w[pos].sum()), 1e-12)
    out[~pos] = 0.5 * w[~pos] / max(float(w[~pos].sum()), 1e-12)
    return out * len(y)


def train_model(
    topic: str,
    items: Sequence[Labelled],
    spec: FeatureSpec,
    *,
    l2: float = 1e-4,
    threshold: float = 0.5,
    gate: bool = False,
    balanced: bool = True,
    use_borderline: bool = True,
    weighting: str = "class",
    meta: Mapping[str, Any] | None = None,
    embed_fn: Callable[[list[str]], np.ndarray] | None = None,
    aliases: Mapping[str, AliasGroup] | None = None,
    views: str = "",
) -> TopicModel:
    """Train a model on ``items`` (borderline ones too when ``use_borderline``), each
    also as its extra text ``views`` (:func:`text_views`), its weight split between them."""
    if spec.prototypes and not spec.prototype_vectors:
        spec = with_prototype_vectors(spec)
    featurizer = Featurizer(spec, aliases=aliases)
    chosen = [i for i in items if use_borderline or not i.borderline]
    if not chosen or len({i.label for i in chosen}) < 2:
        raise ConfigError(topic, "training needs labelled articles of both classes (0 and 1)")
    extra, origin = view_rows(chosen, views)
    rows = [*chosen, *extra]
    embeddings = None
    if spec.embedder:
        if embed_fn is None:

            def embed_fn(texts: list[str]) -> np.ndarray:
                return embedding_of(spec.embedder, texts)

        embeddings = embed_fn([embed_text(i) for i in rows])
    x = featurize_all(rows, featurizer, embeddings)
    y = np.array([i.label for i in rows], dtype=np.float64)
    n = len(chosen)
    sw = sample_weights(y[:n], [i.group for i in chosen], weighting) if balanced else None
    if extra:
        own, _, shares = spread_over_views(
            np.arange(n), np.ones(n) if sw is None else sw, origin, n
        )
        sw = np.concatenate([own, shares])
    w, b = fit_logistic(x, y, l2=l2, sample_weight=sw)
    return TopicModel(
        topic=topic,
        spec=spec,
        weights=w,
        bias=b,
        threshold=threshold,
        gate=gate,
        meta=dict(meta or {}),
        aliases=aliases,
    )


def prf(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float]:
    """Precision, recall, F1 and counts of (predicted, actual) pairs."""
    tp = fp = fn = tn = 0
    for got, want in pairs:
        if got and want:
            tp += 1
        elif got:
            fp += 1
        elif want:
            fn += 1
        else:
            tn += 1
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def out_of_fold(
    items: Sequence[Labelled],
    spec: FeatureSpec,
    *,
    l2: float,
    gate: bool,
    use_borderline: bool,
    weighting: str = "class",
    embed_fn: Callable[[list[str]], np.ndarray] | None = None,
    always: Sequence[Labelled] = (),
    views: str = "",
    center: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """``(probability, passes)`` of every item, leave-one-source-out: each from the model
    trained on the other source groups (and ``always``), each training item also as its
    extra ``views``; ``passes``: the gate lets it through (all True without the gate).
    ``center`` (``all`` or parts of the block, :func:`with_center`): each fold's
    embedding block centred on the mean of that fold's training items' vectors (the
    held-out group's never). A group whose training is of one class
    gets 0."""
    groups = sorted({i.group for i in items})
    n = len(items)
    every = [*items, *always]
    extra_views, origin = view_rows(every, views)
    featurizer = Featurizer(spec)
    embeddings = None
    if spec.embedder:
        run = embed_fn or (lambda texts: embedding_of(spec.embedder, texts))
        embeddings = run([embed_text(i) for i in (*every, *extra_views)])
    centring = bool(center) and embeddings is not None  # each fold featurizes for itself
    x = None if centring else featurize_all([*every, *extra_views], featurizer, embeddings)
    y = np.array([i.label for i in every], dtype=np.float64)
    grp = np.array([i.group for i in every])
    usable = np.array([use_borderline or not i.borderline for i in every])
    extra = n + np.flatnonzero(usable[n:])
    usable[n:] = False
    passes = np.array(
        [
            not gate or featurizer.passes_gate(document_of(i.id, i.title, i.lead, i.source))
            for i in items
        ],
        dtype=bool,
    )
    prob = np.zeros(n)
    for held in groups:
        train = np.concatenate([np.flatnonzero((grp != held) & usable), extra])
        test = np.flatnonzero(grp[:n] == held)
        if len({int(v) for v in y[train]}) < 2:
            continue
        sw = sample_weights(y[train], grp[train], weighting)
        rows, labels = train, y[train]
        if len(origin):
            sw, views_of, shares = spread_over_views(train, sw, origin, len(every))
            rows = np.concatenate([train, len(every) + views_of])
            labels = np.concatenate([labels, y[origin[views_of]]])
            sw = np.concatenate([sw, shares])
        xf = x
        if xf is None and embeddings is not None:  # this fold's own centre
            fold_spec = with_center(spec, embeddings[train], center)
            xf = featurize_all([*every, *extra_views], Featurizer(fold_spec), embeddings)
        assert xf is not None  # made once, or for this fold
        w, b = fit_logistic(xf.take(rows), labels, l2=l2, sample_weight=sw)
        prob[test] = sigmoid(xf.take(test).dot(w) + b)
    return prob, passes


def group_scores(items: Sequence[Labelled], decided: np.ndarray) -> dict[str, Any]:
    """P / R / F1 of ``decided`` per source group and pooled, borderline items left out."""
    groups = sorted({i.group for i in items})
    clear = [k for k, i in enumerate(items) if not i.borderline]

    def rounded(ks: list[int]) -> dict[str, Any]:
        r = prf((bool(decided[k]), bool(items[k].label)) for k in ks)
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}

    return {
        "method": "leave-one-source-out (train on the other groups), borderline not scored",
        "groups": {g: rounded([k for k in clear if items[k].group == g]) for g in groups},
        "pooled": rounded(clear),
    }


# the cascade's band: the widest savings (fewest articles past the gate that need the full
# model) such that, on the training groups' out-of-fold predictions, the cascade differs
# from the full model on at most CASCADE_DIFFER of the non-borderline articles past the
# gate and its pooled F1 is at most CASCADE_F1_DROP below the full model's
CASCADE_DIFFER = 0.01
CASCADE_F1_DROP = 0.0  # 0.005: e5 for 2.7% instead of 7.1%, F1 0.004 lower (README)
CASCADE_RULE = (
    "lo <= threshold <= hi on a grid of 0.01 (and 0.001, 0.002, 0.005 from either end), "
    "from the training groups' leave-one-source-out predictions of both heads: the band "
    "(lo, hi) that leaves the fewest articles past the gate to the full model such that "
    f"the cascade's decisions differ from the full model's on at most {CASCADE_DIFFER:.0%} "
    "of the non-borderline articles past the gate and its pooled F1 is not below the full "
    "model's (ties: the higher F1, then fewer differing)"
)


def _band_grid() -> np.ndarray:
    grid = {round(float(v), 2) for v in np.arange(0.0, 1.0001, 0.01)}
    grid |= {0.001, 0.002, 0.005, 0.995, 0.998, 0.999}
    return np.array(sorted(grid))


def cascade_decisions(
    first: np.ndarray, full: np.ndarray, passes: np.ndarray, threshold: float, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(decided, needed)``: the cascade's decisions from both heads' probabilities, and
    which articles needed the full model (past the gate, the first head in the band)."""
    needed = passes & (first >= lo) & (first < hi)
    decided = passes & ((first >= hi) | (needed & (full >= threshold)))
    return decided, needed


def choose_band(
    items: Sequence[Labelled],
    first: np.ndarray,
    full: np.ndarray,
    passes: np.ndarray,
    threshold: float,
    *,
    max_differ: float = CASCADE_DIFFER,
    max_f1_drop: float = CASCADE_F1_DROP,
) -> dict[str, Any]:
    """The cascade's band by :data:`CASCADE_RULE` (its two limits may be given), with
    what it measured: the share of the articles past the gate that needed the full model
    (``needed_e5``), how many decisions differ from the full model's, both pooled F1."""
    y = np.array([bool(i.label) for i in items])
    clear = np.array([not i.borderline for i in items])
    base = passes & (full >= threshold)
    counted = clear & passes
    n_counted = max(1, int(counted.sum()))
    n_past = max(1, int(passes.sum()))

    def f1(decided: np.ndarray) -> float:
        tp = int((decided & y & clear).sum())
        fp = int((decided & ~y & clear).sum())
        fn = int((~decided & y & clear).sum())
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    f1_full = f1(base)
    grid = _band_grid()
    best: tuple[float, float, int, float, float] | None = None
    for lo in grid[grid <= threshold]:
        for hi in grid[grid >= threshold]:
            decided, needed = cascade_decisions(first, full, passes, threshold, lo, hi)
            differ = int((counted & (decided != base)).sum())
            if differ > max_differ * n_counted:
                continue
            score = f1(decided)
            if score < f1_full - max_f1_drop - 1e-12:
                continue
            key = (int(needed.sum()) / n_past, -score, differ, float(lo), float(hi))
            if best is None or key < best:
                best = key
    if best is None:  # nothing saves anything within the rule: the full model always
        lo, hi = 0.0, 2.0
    else:
        lo, hi = best[3], best[4]
    decided, needed = cascade_decisions(first, full, passes, threshold, lo, hi)
    return {
        "lo": float(lo),
        "hi": float(hi),
        "needed_e5": round(int(needed.sum()) / n_past, 4),
        "past_gate": int(passes.sum()),
        "differ": int((counted & (decided != base)).sum()),
        "differ_of": int(counted.sum()),
        "f1_full": round(f1_full, 4),
        "f1_cascade": round(f1(decided), 4),
        "decided": decided,
    }


def _read_labelled(
    paths: Sequence[str | Path],
) -> tuple[list[Labelled], list[dict[str, Any]]]:
    """The labelled articles of ``paths``, and what the model states of each file."""
    items: list[Labelled] = []
    stated = []
    for path in paths:
        rows = load_labelled(path)
        items.extend(rows)
        stated.append({"file": Path(path).name, "sha256": sha256_of(path), "items": len(rows)})
    return items, stated


def train_topic(
    topic: str,
    paths: Sequence[str | Path],
    spec: FeatureSpec,
    *,
    l2: float = 1e-4,
    threshold: float = 0.5,
    gate: bool = False,
    use_borderline: bool = False,
    weighting: str = "class",
    evaluate: bool = True,
    command: str = "",
    rubric: Sequence[Mapping[str, Any]] = (),
    train_only: Sequence[str | Path] = (),
    views: str = "",
    center: str = "",
) -> TopicModel:
    """Train a topic's model from labelled JSON Lines files; the model states the
    files (name, sha256, size), the options and, with ``evaluate``, its
    leave-one-source-out scores.  ``train_only`` files (e.g. examples written from
    the topic's rubric) are trained on, in every fold too, but never held out nor
    scored.  ``views``: every training item is also trained on as shorter texts of
    itself, its weight split between them (:func:`text_views`).  Same files and options: same bytes, whatever number of
    BLAS or OpenMP threads the environment asks for (training uses one: a threaded dot
    product sums in another order)."""
    from threadpoolctl import threadpool_limits

    check_center(topic, spec.embedder, center)
    # the files first: a bad line is told before any embedder loads
    items, data = _read_labelled(paths)
    always, extra_data = _read_labelled(train_only)
    if spec.embedder:  # load its engine first: the limit reaches only the libraries loaded
        embedding_of(spec.embedder, ["."])
    with threadpool_limits(limits=1):
        spec = with_prototype_vectors(spec)  # made again from the texts: same embedder, same bytes
        spec = replace(spec, embed_center="")  # made again too (with ``center``), never kept
        training = {
            "l2": l2,
            "use_borderline": use_borderline,
            "balanced": True,
            "weighting": weighting,
            "solver": "L-BFGS from zero, numpy",
            "items": sum(1 for i in (*items, *always) if use_borderline or not i.borderline),
        }
        if views:  # stated only when set: the files written before it keep their bytes
            if views not in VIEWS:
                raise ConfigError(topic, f"unknown views {views!r} (title or title+short)")
            training["views"] = views
        if center:  # the same: stated only when set
            training["center"] = center  # on the mean vector of the articles trained on
        meta: dict[str, Any] = {"data": data, "training": training}
        if extra_data:  # trained on, never held out nor scored
            meta["train_only"] = extra_data
        if rubric:  # the files the rubric's prototypes came from
            meta["rubric"] = [dict(r) for r in rubric]
        embed_fn = None
        if spec.embedder:  # embed every article once, in batches, for the scores and the fit
            every = [*items, *always]
            texts = list(
                dict.fromkeys(embed_text(i) for i in (*every, *view_rows(every, views)[0]))
            )
            vectors = np.concatenate(
                [embedding_of(spec.embedder, texts[k : k + 64]) for k in range(0, len(texts), 64)]
            )
            table = dict(zip(texts, vectors, strict=True))

            def embed_fn(batch: list[str]) -> np.ndarray:
                return np.stack([table[t] for t in batch])

            if center:  # on the articles trained on (each fold its own: out_of_fold)
                trained = [i for i in (*items, *always) if use_borderline or not i.borderline]
                spec = with_center(spec, embed_fn([embed_text(i) for i in trained]), center)
        if command:
            meta["trained_with"] = command
        first = cheap_spec(spec)  # the centre's columns too
        first_fn = None
        if first is not None and embed_fn is not None:
            columns = embed_columns(spec.embedder, tuple(first.embedder.split("+")))
            full_fn = embed_fn

            def first_fn(batch: list[str]) -> np.ndarray:
                return full_fn(batch)[:, columns]

        band: dict[str, Any] | None = None
        if evaluate and len({i.group for i in items}) >= 2:

            def fold(
                which: FeatureSpec, fn: Callable[[list[str]], np.ndarray] | None
            ) -> tuple[np.ndarray, np.ndarray]:
                return out_of_fold(
                    items,
                    which,
                    l2=l2,
                    gate=gate,
                    use_borderline=use_borderline,
                    weighting=weighting,
                    embed_fn=fn,
                    always=always,
                    views=views,
                    center=center,
                )

            prob, passes = fold(spec, embed_fn)
            meta["scores"] = group_scores(items, (prob >= threshold) & passes)
            if first is not None:
                first_prob, _ = fold(first, first_fn)
                band = choose_band(items, first_prob, prob, passes, threshold)

        def fit(which: FeatureSpec, fn: Callable[[list[str]], np.ndarray] | None) -> TopicModel:
            return train_model(
                topic,
                [*items, *always],
                which,
                l2=l2,
                threshold=threshold,
                gate=gate,
                use_borderline=use_borderline,
                weighting=weighting,
                meta=meta,
                embed_fn=fn,
                views=views,
            )

        model = fit(spec, embed_fn)
        if first is None or band is None:  # no e5 beside another block, or nothing measured
            return model
        head = fit(first, first_fn)
        decided = band.pop("decided")
        cascade_meta = {
            "rule": CASCADE_RULE,
            "measured": {k: v for k, v in band.items() if k not in {"lo", "hi"}},
            "scores": group_scores(items, decided),
        }
        model.cascade = CascadeHead(
            first, head.weights, head.bias, lo=band["lo"], hi=band["hi"], meta=cascade_meta
        )
        return model
