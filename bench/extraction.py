"""Quality of article-text extraction against the gold text of 181 real pages.

    .venv/bin/python bench/extraction.py                # bot.ingest.extract in process
    .venv/bin/python bench/extraction.py --via-cli      # `newsalert extract PATH...`
    .venv/bin/python bench/extraction.py --limit 40 --worst 5

Pages and gold text: ../shared/data/extraction/scrapinghub_aeb (gzipped HTML,
ground-truth.json with "articleBody" per page id). For each page, tokens are
``\\w+`` runs (the benchmark's own tokeniser); precision, recall and F1 are
computed over the bag of tokens, then averaged over pages ("mean token F1";
a page that yields nothing scores 0). The benchmark's published metric (4-token
shingles, F1 of mean precision and mean recall) is printed too, so the figure
can be set beside its table (trafilatura ~0.958), and trafilatura with its
default settings is measured in the same run as the baseline. Target: mean
token F1 >= 0.93.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import SHARED  # noqa: E402

DATA = SHARED / "data" / "extraction" / "scrapinghub_aeb"
TARGET = 0.93
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float


def token_scores(gold: str, predicted: str, n: int = 1) -> Score:
    """Bag-of-n-grams precision/recall/F1 of ``predicted`` against ``gold``."""
    g, p = _TOKEN.findall(gold), _TOKEN.findall(predicted)
    if n > 1:
        g = [tuple(g[i : i + n]) for i in range(max(1, len(g) - n + 1))]
        p = [tuple(p[i : i + n]) for i in range(max(1, len(p) - n + 1))]
    common = sum((Counter(g) & Counter(p)).values())
    precision = common / len(p) if p else 0.0
    recall = common / len(g) if g else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1)


def benchmark_f1(pairs: list[tuple[str, str]]) -> float:
    """The article-extraction-benchmark's metric: 4-token shingles, F1 of the
    mean precision and the mean recall."""
    scores = [token_scores(gold, pred, 4) for gold, pred in pairs]
    p = statistics.mean(s.precision for s in scores)
    r = statistics.mean(s.recall for s in scores)
    return 2 * p * r / (p + r) if p + r else 0.0


def load(limit: int | None) -> list[tuple[str, Path, str, str]]:
    truth = json.loads((DATA / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        path = DATA / "html" / f"{key}.html.gz"
        if path.is_file():
            pages.append((key, path, truth[key].get("url", ""), truth[key].get("articleBody", "")))
    return pages[:limit] if limit else pages


def run_library(pages: list[tuple[str, Path, str, str]]) -> tuple[dict[str, str], float]:
    from bot.errors import ExtractError
    from bot.ingest.extract import extract_article

    texts: dict[str, str] = {}
    started = time.perf_counter()
    for key, path, url, _gold in pages:
        try:
            texts[key] = extract_article(path.read_bytes(), url=url or None).text
        except ExtractError:
            texts[key] = ""
    return texts, time.perf_counter() - started


def run_baseline(pages: list[tuple[str, Path, str, str]]) -> tuple[dict[str, str], float]:
    import trafilatura

    texts: dict[str, str] = {}
    started = time.perf_counter()
    for key, path, url, _gold in pages:
        html = gzip.decompress(path.read_bytes())
        texts[key] = trafilatura.extract(html, url=url or None) or ""
    return texts, time.perf_counter() - started


def cli_command() -> list[str]:
    for candidate in (ROOT / ".venv" / "bin" / "newsalert", shutil.which("newsalert")):
        if candidate and Path(candidate).is_file():
            return [str(candidate)]
    return [sys.executable, "-m", "bot"]


def run_cli(pages: list[tuple[str, Path, str, str]]) -> tuple[dict[str, str], float]:
    by_source = {str(path): key for key, path, _url, _gold in pages}
    command = [*cli_command(), "extract", *by_source]
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - started
    texts = dict.fromkeys(by_source.values(), "")
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        key = by_source.get(data.get("source", ""))
        if key is not None:
            texts[key] = data.get("text", "")
    if proc.returncode not in (0, 1):
        print(proc.stderr, file=sys.stderr)
        raise SystemExit(f"`{' '.join(command[:2])} ...` exited with {proc.returncode}")
    return texts, elapsed


def report(name: str, pages, texts: dict[str, str], elapsed: float) -> float:
    scores = {key: token_scores(gold, texts.get(key, "")) for key, _p, _u, gold in pages}
    mean = Score(
        statistics.mean(s.precision for s in scores.values()),
        statistics.mean(s.recall for s in scores.values()),
        statistics.mean(s.f1 for s in scores.values()),
    )
    bench = benchmark_f1([(gold, texts.get(key, "")) for key, _p, _u, gold in pages])
    empty = sum(1 for key, *_ in pages if not texts.get(key))
    print(
        f"{name:<26} precision {mean.precision:.4f}  recall {mean.recall:.4f}  "
        f"token F1 {mean.f1:.4f}  | benchmark shingle F1 {bench:.4f}  | "
        f"{elapsed / len(pages) * 1000:6.1f} ms/page  | empty {empty}/{len(pages)}"
    )
    return mean.f1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--via-cli", action="store_true", help="run `newsalert extract PATH...`")
    parser.add_argument("--limit", type=int, help="only the first N pages")
    parser.add_argument("--no-baseline", action="store_true", help="skip trafilatura defaults")
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages")
    args = parser.parse_args()
    if not (DATA / "ground-truth.json").is_file():
        print(f"no benchmark data at {DATA}", file=sys.stderr)
        return 2
    pages = load(args.limit)
    print(f"{len(pages)} pages from {DATA}")
    if not args.no_baseline:
        report("trafilatura defaults", pages, *run_baseline(pages))
    if args.via_cli:
        texts, elapsed = run_cli(pages)
        f1 = report("newsalert extract (CLI)", pages, texts, elapsed)
    else:
        texts, elapsed = run_library(pages)
        f1 = report("bot.ingest.extract", pages, texts, elapsed)
    if args.worst:
        ranked = sorted(pages, key=lambda page: token_scores(page[3], texts.get(page[0], "")).f1)
        for key, _path, url, gold in ranked[: args.worst]:
            s = token_scores(gold, texts.get(key, ""))
            print(f"  F1 {s.f1:.3f} P {s.precision:.3f} R {s.recall:.3f}  {url}")
    verdict = "meets" if f1 >= TARGET else "MISSES"
    print(f"mean token F1 {f1:.4f} {verdict} the target {TARGET}")
    return 0 if f1 >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
