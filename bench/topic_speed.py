"""Speed of a learned topic's decision, against the topic's query alone (same run).

    .venv/bin/python bench/topic_speed.py                  # korea-diplomacy, the shared sets
    .venv/bin/python bench/topic_speed.py --repeat 3
    .venv/bin/python bench/topic_speed.py --model /tmp/e5.model   # another model file
    .venv/bin/python bench/topic_speed.py --against OLD.model     # interleaved, same articles

Measures: loading the model file (parse + features compiled), in a fresh
process and in this one; ms per article for the model's decision, split into
articles the first stage (the anchor gate) rules out and articles the
classifier decides (an e5 block is made only for those, once an article: each timed
decision starts without it; a second decision on the same article is timed too); and the same articles decided by the topic's query alone,
as the baseline.  A model with a cascade (a first head without e5, the full model only in
its band) is then timed against itself without the cascade, in turn on each article past
the gate, as the bot decides (``passage_text``, the e5 vector made if named, ``decide``):
mean and p90 ms, the share of articles that needed e5 (and their own mean, p90 and max),
how many took over 50 ms, and the ratio.  Targets (issue 12): <= 50 ms an article, <= 10 ms for those
the first stage rules out, <= 3 s to load.  Articles: title + summary of the
labelled sets in ../shared/data/topics, or a few built-in ones when absent.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import SHARED  # noqa: E402
from bot.matching import passages, vectors  # noqa: E402
from bot.matching.document import prepare_document  # noqa: E402
from bot.matching.engine import _compiled_topic, match_topic, model_match  # noqa: E402
from bot.matching.topic_model import (  # noqa: E402
    TopicModel,
    builtin_model,
    document_of,
    model_text,
)
from bot.matching.topics import builtin_topics  # noqa: E402
from bot.records import Article  # noqa: E402

FALLBACK = [
    ("US and South Korea discuss North Korea's nuclear programme", "Talks in Seoul."),
    ("북한, 동해상으로 탄도미사일 발사", "합동참모본부는 북한이 탄도미사일을 발사했다고 밝혔다."),
    ("Stocks rise as oil prices fall", "Markets gained on Tuesday."),
    ("Kim Jong Un inspects a farm", ""),
]


def articles() -> list[Article]:
    out = []
    for name in ("korea-diplomacy-train.jsonl", "korea-diplomacy-dev.jsonl"):
        path = SHARED / "data" / "topics" / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            out.append(
                Article(
                    id=row["id"],
                    title=row["title"],
                    summary=row.get("text", ""),
                    source=row.get("source", ""),
                )
            )
    return out or [Article(id=str(k), title=t, summary=s) for k, (t, s) in enumerate(FALLBACK)]


def load_in_fresh_process(topic: str, path: Path | None = None) -> tuple[float, float]:
    """Seconds to import and load the model (deciding an article the gate rules out), and
    then to decide one it lets through (which loads every embedder the model reads)."""
    code = (
        "import time; t=time.perf_counter(); "
        "from bot.matching.topic_model import TopicModel, builtin_model; "
        + (f"m=TopicModel.load({str(path)!r}); " if path else f"m=builtin_model({topic!r}); ")
        + "m.decide('warm up'); a=time.perf_counter()-t; "
        "t=time.perf_counter(); m.decide('North Korea and the US hold talks in Seoul'); "
        "print(a, time.perf_counter()-t)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    model_s, embedders_s = (float(v) for v in done.stdout.split())
    return model_s, embedders_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic", default="korea-diplomacy")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--model", type=Path, help="a model file to time instead of the shipped one"
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="only time this model file against the model, interleaved on the same articles "
        "past both gates (a ratio that holds on a loaded machine)",
    )
    args = parser.parse_args(argv)
    if args.against:
        return against(args)
    topic = builtin_topics()[args.topic]
    if args.model:
        topic = replace(topic, model=str(args.model.resolve()))
    fresh, fresh_embedders = load_in_fresh_process(args.topic, args.model)
    builtin_model.cache_clear()
    t0 = time.perf_counter()
    model = TopicModel.load(args.model) if args.model else builtin_model(args.topic)
    load_s = time.perf_counter() - t0
    if model is None:
        print(f"no shipped model for {args.topic}")
        return 1
    items = articles()
    query = _compiled_topic(topic)
    # warm both paths once
    for a in items[:20]:
        match_topic(a, topic)
        query.evaluate(prepare_document(a))

    # the vectors the bot stores at ingest (made once per article, in one batch a poll)
    t0 = time.perf_counter()
    stored = vectors.article_vectors(items) if vectors.available() else None
    embed_ms = (time.perf_counter() - t0) / max(1, len(items)) * 1000

    # an e5 block is made inside the decision (for articles the gate lets through), once
    # per article: forget it before each timed decision, so every one pays for it
    forget = passages.forget
    gated_s = decided_s = query_s = 0.0
    given = {"gated": 0.0, "decided": 0.0, "again": 0.0}
    n_gated = n_decided = 0
    for _ in range(args.repeat):
        for k, a in enumerate(items):
            title, lead = model_text(a.title, a.summary, a.content)
            ruled_out = not model.passes_gate(document_of("", title, lead, a.source))
            if stored is not None:  # as the bot decides: with the article's stored vector
                forget()
                t0 = time.perf_counter()
                model_match(a, topic, vector=stored[k])
                given["gated" if ruled_out else "decided"] += time.perf_counter() - t0
                # a second learned topic (or /test) on the same article: nothing re-embedded
                t0 = time.perf_counter()
                model_match(a, topic, vector=stored[k])
                given["again"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            query.evaluate(prepare_document(a))
            query_s += time.perf_counter() - t0
            forget()
            t0 = time.perf_counter()
            match_topic(a, topic)
            spent = time.perf_counter() - t0
            if ruled_out:
                gated_s += spent
                n_gated += 1
            else:
                decided_s += spent
                n_decided += 1
    n = len(items) * args.repeat
    q_ms = query_s / n * 1000
    all_ms = (gated_s + decided_s) / n * 1000
    g_ms = gated_s / max(1, n_gated) * 1000
    d_ms = decided_s / max(1, n_decided) * 1000
    print(
        f"topic {args.topic}: {len(items)} articles x {args.repeat}; embedder {model.spec.embedder or 'none'}"
    )
    print(
        f"  load: {load_s * 1000:.0f} ms in process, {fresh:.2f} s in a fresh process "
        f"(imports included; target <= 3 s); its embedders then {fresh_embedders:.2f} s "
        "(the first article the gate lets through)"
    )
    print(f"  baseline, the query alone:      {q_ms:7.3f} ms/article")
    print("  the model making every vector itself:")
    print(
        f"  model, every article:           {all_ms:7.3f} ms/article  ({all_ms / q_ms:.1f}x the query)"
    )
    print(
        f"  model, ruled out by the gate:   {g_ms:7.3f} ms/article  ({g_ms / q_ms:.1f}x; "
        f"{n_gated // args.repeat} articles; target <= 10 ms)"
    )
    print(
        f"  model, decided by the classifier:{d_ms:6.3f} ms/article  ({d_ms / q_ms:.1f}x; "
        f"{n_decided // args.repeat} articles; target <= 50 ms)"
    )
    if stored is not None:
        v_ms = (given["gated"] + given["decided"]) / n * 1000
        vg_ms = given["gated"] / max(1, n_gated) * 1000
        vd_ms = given["decided"] / max(1, n_decided) * 1000
        again_ms = given["again"] / n * 1000
        print(
            "  as the bot decides, given the article's stored USE vector "
            f"(made once at ingest for every reader, {embed_ms:.2f} ms an article):"
        )
        print(f"  model, every article:           {v_ms:7.3f} ms/article ({v_ms / q_ms:.1f}x)")
        print(f"  model, ruled out by the gate:   {vg_ms:7.3f} ms/article (target <= 10 ms)")
        print(f"  model, decided by the classifier:{vd_ms:6.3f} ms/article (target <= 50 ms)")
        print(
            f"  the same article decided again (another learned topic, /test): "
            f"{again_ms:.3f} ms/article (nothing embedded twice)"
        )
    if stored is not None and model.cascade is not None:
        cascade_against_full(model, items, stored, args.repeat)
    return 0


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else 0.0


def cascade_against_full(model: TopicModel, items: list[Article], stored: Any, repeat: int) -> None:
    """Past the gate, as the bot decides an article (``passage_text`` given the stored
    USE vector, the e5 vector made if it names a text, then ``decide``): the model with
    its cascade and the same model without it (the full model every time), in turn on
    each article, e5 forgotten before each."""
    full = TopicModel.from_bytes(model.to_bytes())
    full.cascade = None
    spent: dict[str, list[float]] = {"cascade": [], "full": []}
    with_e5: dict[str, list[float]] = {"cascade": [], "full": []}  # those that made e5
    needed = {"cascade": 0, "full": 0}
    differ = 0
    past = [
        k
        for k, a in enumerate(items)
        if model.passes_gate(document_of("", *model_text(a.title, a.summary, a.content), a.source))
    ]
    for r in range(repeat):
        for n, k in enumerate(past):
            a = items[k]
            got = {}
            for name in ("cascade", "full") if (n + r) % 2 else ("full", "cascade"):
                m = model if name == "cascade" else full
                passages.forget()
                made = passages.STATS["texts"]
                t0 = time.perf_counter()
                text = m.passage_text(a.title, a.summary, a.content, a.source, vector=stored[k])
                if text is not None:
                    passages.remembered([text])
                got[name] = m.decide(a.title, a.summary, a.content, a.source, vector=stored[k])
                spent[name].append((time.perf_counter() - t0) * 1000)
                if passages.STATS["texts"] > made:
                    needed[name] += 1
                    with_e5[name].append(spent[name][-1])
            differ += got["cascade"].matched != got["full"].matched
    band = model.cascade
    assert band is not None
    print(
        f"  past the gate, as the bot decides (passage_text with the stored USE vector, e5 "
        f"made when named, decide), {len(past)} articles x {repeat}, in turn; cascade band "
        f"[{band.lo:g}, {band.hi:g}):"
    )
    total = max(1, len(past) * repeat)
    for name in ("cascade", "full"):
        ms = spent[name]
        print(
            f"  {name + ',':<9} mean {sum(ms) / max(1, len(ms)):6.2f} ms, p90 {_p90(ms):6.2f} ms "
            f"a past-gate article; e5 made for {needed[name] / total:.1%} "
            f"({needed[name]} of {total})"
        )
    e5 = with_e5["cascade"]
    if e5:
        over = sum(1 for v in spent["cascade"] if v > 50)
        print(
            f"  cascade, the articles that needed e5: mean {sum(e5) / len(e5):6.2f} ms, p90 "
            f"{_p90(e5):6.2f} ms, max {max(e5):6.2f} ms; past-gate articles over 50 ms: "
            f"{over} of {total} ({over / total:.1%})"
        )
    ratio = sum(spent["cascade"]) / max(1e-9, sum(spent["full"]))
    print(
        f"  ratio cascade / full model: {ratio:.3f} (target <= 50 ms a past-gate article); "
        "decisions that differ: "
        f"{differ} of {total}"
    )


def against(args: argparse.Namespace) -> int:
    """ms an article past both gates of the model and of ``--against``, decided in turn
    (each given the stored USE vector, each making its e5 block: forgotten before each)."""
    model = TopicModel.load(args.model) if args.model else builtin_model(args.topic)
    other = TopicModel.load(args.against)
    assert model is not None
    past = []
    for a in articles()[::7]:
        title, lead = model_text(a.title, a.summary, a.content)
        doc = document_of("", title, lead, a.source)
        if model.passes_gate(doc) and other.passes_gate(doc):
            past.append(a)
    past = past[:150]
    stored = vectors.article_vectors(past)
    for m in (model, other):
        m.decide("North Korea and the US hold talks in Seoul")
    spent = [0.0, 0.0]
    for k, a in enumerate(past):
        for which in (0, 1) if k % 2 else (1, 0):
            m = (model, other)[which]
            passages.forget()
            t0 = time.perf_counter()
            m.decide(a.title, a.summary, a.content, a.source, vector=stored[k])
            spent[which] += time.perf_counter() - t0
    ms = [t / len(past) * 1000 for t in spent]
    print(
        f"{len(past)} articles past both gates, decided in turn: the model {ms[0]:.1f} ms, "
        f"{args.against.name} {ms[1]:.1f} ms an article (ratio {ms[0] / ms[1]:.3f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
