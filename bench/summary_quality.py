"""Summary quality and speed on 250 CNN/DailyMail articles, against Lead-3.

Scores our extractive summariser with ROUGE-1/2/Lsum (rouge-score, Porter
stemming, one sentence per line for Lsum) against the human highlights of the
CNN/DailyMail part of ../shared/data/summarization/frank/, next to Lead-3 (the
first three sentences, cut by the same sentence splitter) computed in the same
run, and prints the time per article of both.

    .venv/bin/python bench/summary_quality.py                # through `newsalert summarize`
    .venv/bin/python bench/summary_quality.py --in-process   # summarize() directly

The texts have no headlines in this collection, so articles go in with an empty
title.  Timing is always measured in-process (a subprocess would time Python's
start-up, not the summariser).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import SHARED  # noqa: E402
from bot.records import Article  # noqa: E402
from bot.summary.extractive import DEFAULT_MAX_CHARS, summarize  # noqa: E402
from bot.summary.sentences import split_sentences  # noqa: E402

DATA = SHARED / "data" / "summarization" / "frank" / "frank_articles_references.jsonl"
_REFERENCE_SENTENCE_END = re.compile(r"\s+\.(?:\s+|$)")


def load_articles(path: Path) -> list[dict]:
    """The CNN/DailyMail rows of the FRANK file: id, article text, reference highlights."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row.get("dataset") == "cnndm":
                rows.append(row)
    return rows


def reference_sentences(reference: str) -> list[str]:
    """Highlights are stored tokenised and joined with " . ": one per item."""
    return [part.strip() for part in _REFERENCE_SENTENCE_END.split(reference) if part.strip()]


def lead3(text: str) -> str:
    return " ".join(split_sentences(text)[:3])


def summaries_in_process(rows: list[dict], max_chars: int) -> dict[str, str]:
    return {row["id"]: summarize(_article(row), max_chars=max_chars).text for row in rows}


def summaries_via_cli(rows: list[dict], max_chars: int, command: str) -> dict[str, str]:
    """Runs ``newsalert summarize --input FILE --max-chars N`` and reads its JSON Lines."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8", delete=False) as tmp:
        for row in rows:
            tmp.write(json.dumps({"id": row["id"], "title": "", "content": row["article"]}) + "\n")
        path = tmp.name
    try:
        result = subprocess.run(
            [*command.split(), "summarize", "--input", path, "--max-chars", str(max_chars)],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        Path(path).unlink(missing_ok=True)
    out = {}
    for line in result.stdout.splitlines():
        if line.strip():
            item = json.loads(line)
            out[item["id"]] = item["summary"]
    missing = [row["id"] for row in rows if row["id"] not in out]
    if missing:
        raise SystemExit(f"newsalert summarize gave no summary for {len(missing)} articles")
    return out


def _article(row: dict) -> Article:
    return Article(id=row["id"], title="", content=row["article"])


def score(scorer, rows: list[dict], summaries: dict[str, str]) -> dict[str, float]:
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeLsum": 0.0}
    for row in rows:
        target = "\n".join(reference_sentences(row["reference"]))
        prediction = "\n".join(split_sentences(summaries[row["id"]]))
        result = scorer.score(target, prediction)
        for key in totals:
            totals[key] += result[key].fmeasure
    return {key: 100 * value / len(rows) for key, value in totals.items()}


def time_per_article(rows: list[dict], func: Callable[[dict], object], rounds: int) -> list[float]:
    """Milliseconds per article: the best of ``rounds`` runs of each, to damp noise."""
    for row in rows[:10]:
        func(row)  # warm-up: regex compilation, imports
    times = []
    for row in rows:
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            func(row)
            best = min(best, time.perf_counter() - start)
        times.append(best * 1000)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="FRANK articles/references JSONL")
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS)
    parser.add_argument(
        "--in-process",
        dest="via_cli",
        action="store_false",
        help="call summarize() directly instead of `newsalert summarize` (same scores)",
    )
    parser.add_argument(
        "--cli",
        default=f"{sys.executable} -m bot",
        help="command that runs newsalert (default: this Python with -m bot)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="timing runs per article")
    args = parser.parse_args()

    if not args.data.exists():
        print(f"no data at {args.data}: ../shared/data is not beside this checkout")
        return 1
    from rouge_score import rouge_scorer

    rows = load_articles(args.data)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)

    if args.via_cli:
        ours = summaries_via_cli(rows, args.max_chars, args.cli)
    else:
        ours = summaries_in_process(rows, args.max_chars)
    leads = {row["id"]: lead3(row["article"]) for row in rows}

    ours_scores = score(scorer, rows, ours)
    lead_scores = score(scorer, rows, leads)
    ours_times = time_per_article(
        rows, lambda row: summarize(_article(row), max_chars=args.max_chars), args.rounds
    )
    lead_times = time_per_article(rows, lambda row: lead3(row["article"]), args.rounds)

    words = [len(row["article"].split()) for row in rows]
    print(
        f"{len(rows)} CNN/DailyMail articles (median {statistics.median(words):.0f} words), "
        f"budget {args.max_chars} chars, via {'CLI' if args.via_cli else 'summarize()'}"
    )
    print(
        f"{'':14}{'ROUGE-1':>9}{'ROUGE-2':>9}{'ROUGE-Lsum':>12}{'avg chars':>11}{'max chars':>11}"
    )
    for name, scores, texts in (("ours", ours_scores, ours), ("Lead-3", lead_scores, leads)):
        lengths = [len(texts[row["id"]]) for row in rows]
        print(
            f"{name:14}{scores['rouge1']:9.2f}{scores['rouge2']:9.2f}{scores['rougeLsum']:12.2f}"
            f"{statistics.mean(lengths):11.0f}{max(lengths):11d}"
        )
    references = [len(row["reference"]) for row in rows]
    print(f"{'reference':14}{'':30}{statistics.mean(references):11.0f}{max(references):11d}")
    over = sum(len(leads[row["id"]]) > args.max_chars for row in rows)
    print(f"Lead-3 exceeds the {args.max_chars}-char budget on {over}/{len(rows)} articles")
    ours_median, lead_median = statistics.median(ours_times), statistics.median(lead_times)
    print(
        f"time per article: ours median {ours_median:.2f} ms, "
        f"p95 {percentile(ours_times, 0.95):.2f} ms; "
        f"Lead-3 median {lead_median:.3f} ms, p95 {percentile(lead_times, 0.95):.3f} ms; "
        f"ratio ours/Lead-3 (median) {ours_median / lead_median:.1f}x"
    )
    wins = ours_scores["rouge1"] >= lead_scores["rouge1"] and (
        ours_scores["rougeLsum"] >= lead_scores["rougeLsum"]
    )
    print(f"target (>= Lead-3 on ROUGE-1 and ROUGE-Lsum): {'met' if wins else 'NOT met'}")
    print(f"target (median <= 10 ms): {'met' if ours_median <= 10 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
