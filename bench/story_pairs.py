"""Story grouping on labelled pairs: the old grouping (words), the first grouping by meaning
(cosine and title-trigram thresholds), the pair classifier shipped before, and the new one
(that classifier, then a second with the e5 cosine for the close pairs).

    .venv/bin/python bench/story_pairs.py [--all]

The pairs (``bench/story_pairs.jsonl``: two item ids, ``same`` and ``how``; the texts stay in
../shared/data) are of three kinds:

* ``read``: neighbours by meaning (cosine of the article vectors at least 0.45 for the
  Korean news of the topics train set, published within a day of each other, mostly by
  different outlets; at least 0.6 for AG News, mostly Reuters / AP / AFP / others), each
  read (title and lead) and labelled by hand: ``same`` when both report one event, not
  when they report different events or different stages of one (a preview and the result,
  a statement and the reaction to it, a morning and a closing market report);
* ``feeds-read``: the 26 news feeds of ../shared/data/feeds captured on 16-18 Feb 2026
  (BBC, NYT, DW, Al Jazeera, ABC, CBS, NPR, Japan Today, Dawn, ...; ids
  ``fd-<file>-<entry index>`` as bot.ingest.parse reads them): every pair of entries from
  two different feeds published within 36 h of each other with a cosine of at least 0.55,
  at most three pairs per entry, read and labelled by the same rules (an obituary and the
  death are one story; an explainer, an interview or an analysis is not the news it
  discusses); the real case of the issue: one event, reworded by each outlet;
* ``dated-4d-apart``: the closest pairs by meaning (cosine >= 0.6) of the dated groups
  (KCNA and Rodong Sinmun headlines, HuffPost, ABC, Korean news), published at least 4
  days apart: different events on the same subject (two launches, two ambassadors'
  credentials), at most two pairs per item.

All kinds were drawn to be hard: every pair is close in meaning, so a false merge here is
far likelier than between two random articles of a day.

The pairs are split in two halves by a hash of their ids: the classifiers
(bot.ingest.stories.FEATURES, WEIGHTS, MEANING_THRESHOLD: the first stage, article vectors
and words; PASSAGE_FEATURES, PASSAGE_WEIGHTS, PASSAGE_THRESHOLD: the second, with the e5
cosine of bot.matching.passages) are fitted on the *tune* half only, their thresholds chosen
there from cross-validated scores (at most 1% of the tune half's different-event pairs
merged); this script refits them and prints what it finds beside what ships, and fits other
feature sets the same way for comparison (the USE features, words alone, USE and e5, e5
without USE, the e5 cosine alone).  The e5 stage judges only the pairs that pass its bar
(PASSAGE_BAR, MIN_SHARED_TERMS: chosen on the tune half so that no pair it merges there is
lost); "shipped before" is the rule without e5 vectors.  Measured (test half, with the
windows): USE classifier recall 0.444 with 1 of 121 false merges, with the e5 stage 0.486
with 0; feeds' rewordings (all pairs) 0.13 -> 0.21; through the StoryDesk 0.259 -> 0.306,
0 of 99, e5 vectors made for 146 of the stream's 385 articles (all drawn from close pairs);
a new article compared with every recent report of a close story (StoryDesk's default,
``--members``) instead of its first only: 0.329, 0 of 99 (the stream holds only the Korean
and feeds' pairs, whose pairwise recall is 0.33: AG News, undated, is not streamed).
Last, the feeds' 582 entries of 14-18 Feb 2026 go through the StoryDesk as a bot reading
all of them would see them (no labels): stories several entries joined, 11 without e5 and
16 with (--all names them), e5 vectors made for 136 articles; every report: 16 (Jesse
Jackson's death, 3 reports, gets its fourth), 137.
A pair with a ``"fixed"`` field was relabelled after reading it again (the field says why).
"With the windows" (the figures that count): pairs whose times are known and further apart than the pipeline's meaning window (12 h; Korean and
other dated groups: dates only, 2 days apart or more) are kept apart whatever their texts
say; AG News has no dates, so its pairs are always judged on their texts.

Printed per rule: recall on same-event pairs, false merges (share of different-event
pairs merged), precision of "same story".
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import SHARED  # noqa: E402
from bot.errors import NewsalertError  # noqa: E402
from bot.ingest.parse import parse_feed  # noqa: E402
from bot.ingest.stories import (  # noqa: E402
    BIAS,
    FEATURES,
    MEANING_THRESHOLD,
    MEANING_WINDOW,
    MIN_SHARED_TERMS,
    PASSAGE_BAR,
    PASSAGE_BIAS,
    PASSAGE_FEATURES,
    PASSAGE_THRESHOLD,
    PASSAGE_WEIGHTS,
    STORY_MEMBERS,
    WEIGHTS,
    StoryCard,
    StoryDesk,
    cosine,
    lead_of,
    meaning_score,
    needs_passages,
    overlap,
    pair_features,
    passage_features,
    passage_score,
    same_by_words,
    same_story,
    shared_terms,
    story_card,
)
from bot.matching import passages, vectors  # noqa: E402
from bot.records import Article  # noqa: E402

# ../shared beside the checkout, or where NEWSALERT_SHARED points
DATA = SHARED / "data" / "topics"
PAIRS = ROOT / "bench" / "story_pairs.jsonl"


FEEDS = SHARED / "data" / "feeds"
Moment = date | datetime | None


def load_items(pairs: list[dict]) -> dict[str, tuple[Article, Moment]]:
    items: dict[str, tuple[Article, Moment]] = {}
    with (DATA / "korea-diplomacy-train.jsonl").open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            try:
                day: date | None = date.fromisoformat((r.get("published") or "")[:10])
            except ValueError:
                day = None
            source = r.get("source") or ""
            article = Article(id=r["id"], title=r["title"], summary=r.get("text") or "")
            items[r["id"]] = (article.replace(source=source), day)
    with (DATA / "ag_news" / "test.csv").open(encoding="utf-8") as f:
        for i, row in enumerate(csv.reader(f)):
            text = row[2].replace("\\", " ")
            items[f"ag-{i}"] = (Article(id=f"ag-{i}", title=row[1], summary=text), None)
    files = {p[k].split("-")[1] for p in pairs for k in "ab" if p[k].startswith("fd-")}
    for name in sorted(files):
        body = (FEEDS / "fastfeedparser_benchmark" / name).read_bytes()
        feed = parse_feed(body, url=f"https://feeds.example/{name}", now=datetime(2026, 2, 18))
        for i, article in enumerate(feed.articles):
            items[f"fd-{name}-{i}"] = (article, article.published)
    return items


def in_window(a: Moment, b: Moment) -> bool:
    """Whether the pipeline would compare the two by meaning (see the module doc)."""
    if isinstance(a, datetime) and isinstance(b, datetime):
        return abs(a - b) <= MEANING_WINDOW
    if a is not None and b is not None:
        return abs((_day(a) - _day(b)).days) < 2
    return True


def apart(a: Moment, b: Moment) -> timedelta | None:
    """How far apart the pipeline would see the two: exact for the feeds' entries; for
    dates only, whole days (one day's items as simultaneous); not known (None) for AG
    News."""
    if isinstance(a, datetime) and isinstance(b, datetime):
        return abs(a - b)
    if a is not None and b is not None:
        return timedelta(days=abs((_day(a) - _day(b)).days))
    return None


def _day(moment: date) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def half(pair: dict) -> str:
    digest = hashlib.sha1(f"{pair['a']}|{pair['b']}".encode()).digest()
    return "tune" if digest[0] % 2 == 0 else "test"


def scores(flags: np.ndarray, same: np.ndarray) -> tuple[float, float, float, int]:
    recall = float(flags[same].mean()) if same.any() else 0.0
    false = float(flags[~same].mean()) if (~same).any() else 0.0
    merged = int(flags.sum())
    precision = float(flags[same].sum() / merged) if merged else 1.0
    return recall, false, precision, int(flags[~same].sum())


def fit(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Logistic regression by Newton's method, L2 on the weights (not the bias)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    ridge = l2 * np.diag(np.r_[np.ones(len(w) - 1), 0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) + ridge @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + ridge
        w -= np.linalg.solve(hess, grad)
    return w


def cross_scores(x: np.ndarray, y: np.ndarray, l2: float, repeats: int = 5) -> np.ndarray:
    """Each pair's score from models fitted without it (10 folds, averaged over repeats)."""
    out = np.zeros(len(x))
    for seed in range(repeats):
        folds = np.array_split(np.random.default_rng(seed).permutation(len(x)), 10)
        for fold in folds:
            rest = np.setdiff1d(np.arange(len(x)), fold)
            w = fit(x[rest], y[rest], l2)
            out[fold] += (x[fold] @ w[:-1] + w[-1]) / repeats
    return out


class Passages:
    """The e5 vectors the desk asks for, from those made for the pairs (by text), any
    other made on the spot; counts what the pipeline would have paid."""

    def __init__(self, known: dict[str, np.ndarray]) -> None:
        self.known = known
        self.articles = 0  # articles that needed e5 vectors
        self.texts = 0  # texts embedded for them (the article's and stories' without one)

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.articles += 1
        self.texts += len(texts)
        missing = [t for t in texts if t not in self.known]
        for text, row in zip(missing, passages.embed(missing), strict=True):
            self.known[text] = row
        return np.array([self.known[t] for t in texts])


def stream(
    pairs: list[dict],
    items: dict[str, tuple[Article, Moment]],
    vecs: dict[str, np.ndarray],
    *,
    by_meaning: bool,
    e5: Passages | None = None,
    members: int = 1,
) -> dict[str, int]:
    """The dated items of the pairs (Korean news at noon of their date, the feeds' entries
    at their time) through the pipeline's own StoryDesk on a real SQLite store, oldest
    first, e5 vectors made as the pipeline makes them when ``e5`` is given (only for an
    article that :meth:`StoryDesk.passages_wanted` says needs them): each item's story."""
    from storage.store import Store

    dated = {
        i: _moment(items[i][1])
        for p in pairs
        for i in (p["a"], p["b"])
        if items[i][1] is not None and not i.startswith("ag-")
    }
    story: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "stream.db")
        try:
            desk = StoryDesk(store.stories, by_meaning=by_meaning, members=members)
            for n, i in enumerate(sorted(dated, key=lambda k: (dated[k], k))):
                article, when = items[i][0].replace(id=f"{i}#{n}", link=""), dated[i]
                source = article.source or i.split("-")[1]
                feed = store.feeds.upsert(f"https://feed{n}.example/rss", name=source)
                stored = store.articles.add_new(feed.id, [article], now=when)
                if not stored:  # the same headline from another feed: a copy
                    copy = store.stories.story_of_copy(article, since=when - desk.window)
                    if copy is not None:
                        story[i] = copy
                    continue
                passage, made, later = e5_wanted(desk, article, when, vecs[i], e5)
                ref = desk.assign(
                    stored[0].key,
                    feed.id,
                    article,
                    now=when,
                    vector=vecs[i],
                    passage=passage,
                    story_passages=made,
                    member_passages=later,
                )
                story[i] = ref.id
        finally:
            store.close()
    return story


def feed_days(since: datetime) -> list[Article]:
    """Every entry of the feeds captured on 16-18 Feb 2026 (the feeds' pairs come from
    them) published since ``since``, oldest first: what a bot subscribed to all of them
    would have read."""
    entries = []
    for path in sorted((FEEDS / "fastfeedparser_benchmark").iterdir()):
        try:
            body = path.read_bytes()
            feed = parse_feed(
                body, url=f"https://feeds.example/{path.name}", now=datetime(2026, 2, 18)
            )
        except NewsalertError:
            continue
        for article in feed.articles:
            if article.published is not None and article.published >= since:
                source = article.source or feed.title or path.name
                entries.append(article.replace(id=f"{path.name}#{article.id}", source=source))
    entries.sort(key=lambda a: (a.published, a.id))
    return entries


def replay(
    entries: list[Article], vecs: np.ndarray, e5: Passages | None, members: int = 1
) -> list[tuple[int, ...]]:
    """The entries through the StoryDesk as the pipeline runs it (one feed per source):
    the stories more than one entry joined, as tuples of entry indexes."""
    from storage.store import Store

    story: dict[int, list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "days.db")
        try:
            desk = StoryDesk(store.stories, members=members)
            feeds: dict[str, int] = {}
            for k, (article, vector) in enumerate(zip(entries, vecs, strict=True)):
                if article.source not in feeds:
                    url = f"https://feed{len(feeds)}.example/rss"
                    feeds[article.source] = store.feeds.upsert(url, name=article.source).id
                feed = feeds[article.source]
                when = article.published
                stored = store.articles.add_new(feed, [article], now=when)
                if not stored:
                    continue
                passage, made, later = e5_wanted(desk, article, when, vector, e5)
                ref = desk.assign(
                    stored[0].key,
                    feed,
                    article,
                    now=when,
                    vector=vector,
                    passage=passage,
                    story_passages=made,
                    member_passages=later,
                )
                story.setdefault(ref.id, []).append(k)
        finally:
            store.close()
    return [tuple(v) for v in story.values() if len(v) > 1]


def e5_wanted(
    desk: StoryDesk, article: Article, when: datetime, vector: np.ndarray, e5: Passages | None
) -> tuple[np.ndarray | None, dict[int, np.ndarray], dict[int, np.ndarray]]:
    """The e5 vectors the desk asks for to judge ``article`` (as the pipeline makes them):
    the article's own and those of close stories' reports without one (by story for
    their first reports, by article key for later ones); none when ``e5`` is None."""
    work = desk.passages_wanted(article, now=when, vector=vector) if e5 is not None else None
    if work is None:
        return None, {}, {}
    rows = e5(work.texts())
    ends = 1 + len(work.stories)
    made = {sid: row for (sid, _), row in zip(work.stories, rows[1:ends], strict=True)}
    later = {key: row for (key, _), row in zip(work.members, rows[ends:], strict=True)}
    return rows[0], made, later


def _moment(moment: date | datetime) -> datetime:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, 12, tzinfo=UTC)


def previous_rule(a: StoryCard, b: StoryCard) -> bool:
    """The first grouping by meaning (before the classifier), for comparison: the word
    test, or cosine >= 0.90, or >= 0.70 with titles sharing 0.48 of their trigrams; never
    when the leads name different days."""
    if a.days and b.days and a.days.isdisjoint(b.days):
        return False
    if a.print.is_near(b.print):
        return True
    cos = cosine(a.vector, b.vector)
    return cos >= 0.90 or (cos >= 0.70 and overlap(a.title_grams, b.title_grams) >= 0.48)


Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # same, split, window, words


def choose(x: np.ndarray, data: Split, l2: float = 1.0) -> tuple[np.ndarray, float, float]:
    """Fit on the tune half's pairs within the windows; the threshold: the lowest whose
    cross-validated scores merge at most 1% of the tune half's different-event pairs (all
    of them, as the false merges count) beyond those the word test merges.  Returns the
    weights (bias last), the threshold and the cross-validated recall of the classifier."""
    same, split, window, words = data
    fit_on = (split == "tune") & window
    w = fit(x[fit_on], same[fit_on].astype(float), l2)
    cv = cross_scores(x[fit_on], same[fit_on].astype(float), l2)
    others = np.sort(cv[~same[fit_on] & ~words[fit_on]])[::-1]
    allowed = int(0.01 * ((split == "tune") & ~same).sum())
    threshold = float(others[min(allowed, len(others) - 1)]) if len(others) else 0.0
    return w, threshold, float((cv[same[fit_on]] > threshold).mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true", help="print both halves and all pairs")
    parser.add_argument(
        "--members",
        type=int,
        default=STORY_MEMBERS,
        help="reports of a story a new article is compared with, for the every-report runs",
    )
    args = parser.parse_args()
    if not DATA.is_dir() or not FEEDS.is_dir():
        print(f"skipped: {DATA} or {FEEDS} is not there (the shared data)")
        return 0
    pairs = [json.loads(line) for line in PAIRS.open(encoding="utf-8")]
    items = load_items(pairs)
    ids = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    started = time.perf_counter()
    matrix = vectors.article_vectors([items[i][0] for i in ids])
    elapsed = time.perf_counter() - started
    texts = [vectors.article_text(items[i][0]) for i in ids]  # as the desk asks for them
    passages.embed(["warm up"])
    started = time.perf_counter()
    e5_matrix = passages.embed(texts)
    e5_elapsed = time.perf_counter() - started
    cards = {
        i: story_card(a.title, lead_of(a), a.source, v, e)
        for i, (a, _), v, e in (
            (i, items[i], v, e) for i, v, e in zip(ids, matrix, e5_matrix, strict=True)
        )
    }
    use_cards = {i: dataclasses.replace(c, passage=None) for i, c in cards.items()}
    kinds = {h: sum(p["how"] == h for p in pairs) for h in dict.fromkeys(p["how"] for p in pairs)}
    print(
        f"{len(pairs)} pairs ({sum(p['same'] for p in pairs)} same event; "
        + ", ".join(f"{n} {h}" for h, n in kinds.items())
        + f"), {len(ids)} items; vectors: model loaded in {vectors.STATS['load_seconds']:.2f} s, "
        f"{1000 * (elapsed - vectors.STATS['load_seconds']) / len(ids):.1f} ms an article; "
        f"e5 vectors (one thread): loaded in {passages.STATS['load_seconds']:.2f} s, "
        f"{1000 * e5_elapsed / len(ids):.1f} ms an article"
    )
    same = np.array([p["same"] for p in pairs])
    split = np.array([half(p) for p in pairs])
    window = np.array([in_window(items[p["a"]][1], items[p["b"]][1]) for p in pairs])
    x = np.array([pair_features(cards[p["a"]], cards[p["b"]]) for p in pairs])
    xp = np.array([passage_features(cards[p["a"]], cards[p["b"]]) for p in pairs])
    words = np.array([same_by_words(cards[p["a"]], cards[p["b"]]) for p in pairs])
    days = np.array([bool(cards[p["a"]].days and cards[p["b"]].days) for p in pairs]) & np.array(
        [cards[p["a"]].days.isdisjoint(cards[p["b"]].days) for p in pairs]
    )
    how = np.array([p["how"] for p in pairs])
    data = (same, split, window, words)

    # which features: each set refitted and thresholded on the tune half by the same rule,
    # judged on the test half (with the windows, the word test and the days as shipped)
    e5 = xp[:, len(FEATURES)]
    korean = x[:, FEATURES.index("korean")]
    lexical = [k for k, f in enumerate(FEATURES) if "cosine" not in f]
    sets = {
        "words and USE (FEATURES)": x,
        "words only (no cosine)": x[:, lexical],
        "words, USE and e5 (PASSAGE_FEATURES)": xp,
        "words and e5 (no USE)": np.c_[x[:, lexical], e5, e5 * korean],
        "e5 alone (its cosine, korean)": np.c_[e5, korean, e5 * korean],
    }
    print("feature sets, each fitted on the tune half (with the windows; test half, by kind):")
    for name, features in sets.items():
        w, threshold, cv = choose(features, data)
        flags = (words | ((features @ w[:-1] + w[-1] > threshold) & ~days)) & window
        r, _, _, n = scores(flags[split == "test"], same[split == "test"])
        by_kind = "  ".join(
            f"{k} {scores(flags[how == k], same[how == k])[0]:.3f}"
            for k in kinds
            if k != "dated-4d-apart"
        )
        print(
            f"    {name:38} cv {cv:.3f}  test recall {r:.3f} merged {n}/"
            f"{int((~same[split == 'test']).sum())}  (all pairs: {by_kind})"
        )

    for label, features, names, shipped_w, shipped_b, shipped_t in (
        ("first stage", x, FEATURES, WEIGHTS, BIAS, MEANING_THRESHOLD),
        ("e5 stage", xp, PASSAGE_FEATURES, PASSAGE_WEIGHTS, PASSAGE_BIAS, PASSAGE_THRESHOLD),
    ):
        w, threshold, cv = choose(features, data)
        print(
            f"{label} refitted on the tune half ({int(((split == 'tune') & window).sum())} "
            f"pairs within the windows, L2 1.0): cross-validated recall {cv:.3f} by the "
            f"classifier alone; threshold {threshold:.2f} (shipped {shipped_t:.2f}), bias "
            f"{w[-1]:.3f} (shipped {shipped_b:.3f})"
        )
        for name, fitted, shipped in zip(names, w[:-1], shipped_w, strict=True):
            print(f"    {name:26} {fitted:7.3f}   shipped {shipped:7.3f}")
    tune_window = (split == "tune") & window
    second = xp @ PASSAGE_WEIGHTS + PASSAGE_BIAS >= PASSAGE_THRESHOLD
    gate = np.array([needs_passages(cards[p["a"]], cards[p["b"]]) for p in pairs])
    first_scores = x @ WEIGHTS + BIAS
    terms = np.array([shared_terms(cards[p["a"]], cards[p["b"]]) for p in pairs])
    low = first_scores < PASSAGE_BAR
    few = ~low & (first_scores < MEANING_THRESHOLD) & (terms < MIN_SHARED_TERMS)
    merges = tune_window & second & ~words
    print(
        f"the e5 stage's bar (meaning_score >= {PASSAGE_BAR}, shared terms >= "
        f"{MIN_SHARED_TERMS}): on the tune half (within the windows) it stops "
        f"{int((tune_window & same & ~gate).sum())} of {int((tune_window & same).sum())} "
        f"same-event pairs ({int((tune_window & same & low).sum())} by the score, "
        f"{int((tune_window & same & few).sum())} by the shared terms) and "
        f"{int((merges & ~gate).sum())} of the {int(merges.sum())} that the e5 stage merges "
        f"(their lowest meaning_score {first_scores[merges].min():.2f}, lowest shared terms "
        f"{terms[merges].min():.2f})"
    )

    def judged(chosen: dict[str, StoryCard]) -> np.ndarray:
        return np.array(
            [
                same_story(
                    chosen[p["a"]],
                    chosen[p["b"]],
                    apart=apart(items[p["a"]][1], items[p["b"]][1]),
                )
                for p in pairs
            ]
        )

    rules = {
        "old (SimHash + Jaccard)": np.array(
            [cards[p["a"]].print.is_near(cards[p["b"]].print) for p in pairs]
        ),
        "previous (old, or cosine 0.70/0.48/0.90)": np.array(
            [previous_rule(cards[p["a"]], cards[p["b"]]) for p in pairs]
        ),
        "shipped before (words, or USE classifier)": judged(use_cards),
        "new (words, or USE then e5 classifier)": judged(cards),
        "meaning alone (cos>=0.80)": x[:, 0] >= 0.80,
    }
    parts = [("test", split == "test")]
    if args.all:
        parts = [("tune", split == "tune"), *parts, ("all", np.ones(len(pairs), bool))]
    header = f"{'rule':44} {'half':5} {'':8} {'recall':>7} {'false':>6} {'prec':>6} {'merged':>7}"
    print(header)
    for name, flags in rules.items():
        for part, mask in parts:
            for label in ("texts", "windows"):
                use = flags if label == "texts" else flags & window
                r, f, p, n = scores(use[mask], same[mask])
                negatives = int((~same[mask]).sum())
                print(
                    f"{name:44} {part:5} {label:8} {r:7.3f} {f:6.3f} {p:6.3f} {n:>3}/{negatives:<3}"
                )
    vecs = dict(zip(ids, matrix, strict=True))
    paid = Passages(dict(zip(texts, e5_matrix, strict=True)))
    known = dict(zip(texts, e5_matrix, strict=True))
    paid = {"first": Passages(known), "every": Passages(known)}
    every = args.members
    streams = {
        "old (words only)": stream(pairs, items, vecs, by_meaning=False),
        "shipped before (words, or USE classifier)": stream(pairs, items, vecs, by_meaning=True),
        "new, first report (words, or USE then e5)": stream(
            pairs, items, vecs, by_meaning=True, e5=paid["first"]
        ),
        f"USE classifier, every report ({every})": stream(
            pairs, items, vecs, by_meaning=True, members=every
        ),
        f"new, every report ({every}; USE then e5)": stream(
            pairs, items, vecs, by_meaning=True, e5=paid["every"], members=every
        ),
    }
    print(
        "through the pipeline's StoryDesk on a real store (the dated pairs: Korean news at "
        "noon of its date, the feeds' entries at their times); a new article compared with "
        "each close story's first report only, or with every report of it (its first and "
        f"the {every - 1} latest others, StoryDesk(members=...)):"
    )
    for name, story in streams.items():
        for part, mask in parts:
            use = mask & np.array([p["a"] in story and p["b"] in story for p in pairs])
            flags = np.array([story.get(p["a"]) == story.get(p["b"]) for p in pairs])
            r, f, prec, n = scores(flags[use], same[use])
            print(
                f"    {name:42} {part:5} recall {r:.3f} false {f:.3f} prec {prec:.3f} "
                f"merged {n}/{int((~same[use]).sum())} ({int(use.sum())} pairs)"
            )
    assigned = len(streams["new, first report (words, or USE then e5)"])
    for label, made in paid.items():
        print(
            f"    e5 vectors in the new stream, {label} report: {made.articles} of {assigned} "
            f"articles needed them ({made.texts} texts with the stories', about "
            f"{1000 * e5_elapsed / len(ids) * made.texts / max(assigned, 1):.0f} ms an "
            "article on average at the rate above)"
        )
    entries = feed_days(datetime(2026, 2, 14, tzinfo=UTC))
    day_vectors = vectors.article_vectors(entries)
    before = replay(entries, day_vectors, None)
    day_e5 = Passages({})
    started = time.perf_counter()
    after = replay(entries, day_vectors, day_e5)
    took = time.perf_counter() - started
    every_e5 = Passages(dict(day_e5.known))
    widest = replay(entries, day_vectors, every_e5, members=every)
    print(
        f"the feeds' entries of 14-18 Feb 2026 ({len(entries)}, "
        f"{len({a.source for a in entries})} feeds) through the StoryDesk: stories carried "
        f"by more than one entry {len(before)} without e5, {len(after)} with (first "
        f"report), {len(widest)} with, every report ({every}); e5 vectors made for "
        f"{day_e5.articles} articles ({day_e5.texts} texts with the stories'; every report: "
        f"{every_e5.articles}, {every_e5.texts}), {1000 * took / len(entries):.0f} ms an "
        "article in all (first report)"
    )
    if args.all:
        shown = []
        for label, old, new in (
            ("e5", before, after),
            (f"every report ({every})", after, widest),
        ):
            grown = set(new) - set(old)  # a larger group includes the one it grew from
            split_up = [g for g in set(old) - set(new) if not any(set(g) <= set(h) for h in new)]
            shown += [(f"joined with {label}", grown), (f"split by {label}", split_up)]
        for label, groups in shown:
            for group in sorted(groups):
                titles = [f"{entries[k].source[:14]}: {entries[k].title[:48]!r}" for k in group]
                print(f"    {label}: " + " / ".join(titles))
        print("with the windows, by kind (all pairs):")
        for name, flags in rules.items():
            for kind in kinds:
                mask = how == kind
                r, f, p, n = scores((flags & window)[mask], same[mask])
                print(f"    {name:44} {kind:15} recall {r:.3f} false {f:.3f} ({n})")
        misses = [
            k
            for k in np.flatnonzero(
                window & (same != rules["new (words, or USE then e5 classifier)"])
            )
        ]
        print("with the windows, what the new rule gets wrong (score: e5 stage, else first):")
        for k in misses:
            p = pairs[k]
            a, b = cards[p["a"]], cards[p["b"]]
            score = passage_score(a, b) if gate[k] else meaning_score(a, b)
            wrong = "missed " if same[k] else "MERGED "
            print(
                f"    {wrong}{split[k]} {p['how']:10} {p['a']}|{p['b']} {score:5.2f} "
                f"e5 {cosine(a.passage, b.passage):.3f}: {items[p['a']][0].title[:50]!r} / "
                f"{items[p['b']][0].title[:50]!r}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
