"""Precision and recall of a built-in topic on a labelled set.

    .venv/bin/python bench/topic_quality.py                      # korea-diplomacy, dev set
    .venv/bin/python bench/topic_quality.py --no-via-cli         # call the library directly
    .venv/bin/python bench/topic_quality.py --input FILE --topic ID

The labelled set is JSON Lines of {"id", "title", "text", "label": 0/1,
"borderline": bool}.  Each item becomes an article {"id", "title", "summary":
text, ...}; by default the decisions come from ``newsalert match --topic ID
--input FILE`` (the command-line contract), else from ``bot.matching.engine`` in
process.  Prints precision, recall and F1 for all items and for the
non-borderline ones, and lists the false positives and false negatives.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_INPUT = ROOT.parent / "shared" / "data" / "topics" / "korea-diplomacy-dev.jsonl"


def load_items(path: Path) -> list[dict]:
    items = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                items.append(json.loads(line))
    return items


def as_article(item: dict) -> dict:
    return {
        "id": item["id"],
        "title": item.get("title", ""),
        "summary": item.get("text", item.get("summary", "")),
        "content": item.get("content", ""),
        "link": item.get("link", ""),
        "published": item.get("published"),
        "source": item.get("source", ""),
    }


def cli_command() -> list[str] | None:
    """How to run the CLI here, or None when it is not available."""
    candidates = [
        [str(ROOT / ".venv" / "bin" / "newsalert")],
        [sys.executable, "-m", "bot"],
    ]
    exe = shutil.which("newsalert")
    if exe:
        candidates.append([exe])
    for cmd in candidates:
        if cmd[0] != sys.executable and not Path(cmd[0]).exists():
            continue
        try:
            done = subprocess.run(
                [*cmd, "match", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return cmd
    return None


def decide_via_cli(cmd: list[str], topic: str, articles: list[dict]) -> dict[str, dict]:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for article in articles:
            f.write(json.dumps(article, ensure_ascii=False) + "\n")
        path = f.name
    try:
        done = subprocess.run(
            [*cmd, "match", "--topic", topic, "--input", path],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
    finally:
        Path(path).unlink(missing_ok=True)
    if done.returncode != 0:
        sys.exit(f"newsalert match failed ({done.returncode}):\n{done.stderr}")
    out = {}
    for line in done.stdout.splitlines():
        if line.strip():
            row = json.loads(line)
            out[row["id"]] = row
    return out


def decide_in_process(topic_id: str, articles: list[dict]) -> dict[str, dict]:
    from bot.matching.engine import match_topic
    from bot.matching.topics import builtin_topics
    from bot.records import Article

    topic = builtin_topics()[topic_id]
    out = {}
    for a in articles:
        article = Article(
            id=a["id"],
            title=a["title"],
            summary=a["summary"],
            content=a["content"],
            link=a["link"],
            source=a["source"],
        )
        out[a["id"]] = match_topic(article, topic).to_json()
    return out


def report(name: str, items: list[dict], decisions: dict[str, dict]) -> dict[str, float]:
    tp = fp = fn = tn = 0
    false_pos, false_neg = [], []
    for item in items:
        got = bool(decisions[item["id"]]["matched"])
        want = bool(item["label"])
        if got and want:
            tp += 1
        elif got:
            fp += 1
            false_pos.append(item)
        elif want:
            fn += 1
            false_neg.append(item)
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"\n== {name}: {len(items)} items, {tp + fn} positive")
    print(f"   tp={tp} fp={fp} fn={fn} tn={tn}")
    print(f"   precision={precision:.3f} recall={recall:.3f} F1={f1:.3f}")
    for label, rows in (("false positives", false_pos), ("false negatives", false_neg)):
        if rows:
            print(f"   {label}:")
            for item in rows:
                d = decisions[item["id"]]
                flag = " [borderline]" if item.get("borderline") else ""
                why = ", ".join(d.get("why", [])[:5])
                print(f"     {item['id']}{flag}: {item['title'][:90]}  (score {d['score']}; {why})")
    return {"precision": precision, "recall": recall, "f1": f1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic", default="korea-diplomacy")
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument(
        "--via-cli",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="decide through `newsalert match` (default: when the CLI is available)",
    )
    args = parser.parse_args(argv)
    if not args.input.exists():
        print(f"no labelled set at {args.input}; nothing to measure")
        return 0
    items = load_items(args.input)
    articles = [as_article(i) for i in items]
    cmd = cli_command() if args.via_cli in (None, True) else None
    if args.via_cli and cmd is None:
        sys.exit("--via-cli: the newsalert command is not available")
    if cmd is not None:
        print(f"deciding with: {' '.join(cmd)} match --topic {args.topic} --input FILE")
        decisions = decide_via_cli(cmd, args.topic, articles)
    else:
        print("deciding in process with bot.matching.engine.match_topic")
        decisions = decide_in_process(args.topic, articles)
    missing = [i["id"] for i in items if i["id"] not in decisions]
    if missing:
        sys.exit(f"{len(missing)} items got no decision, e.g. {missing[:3]}")
    print(f"topic {args.topic} on {args.input}")
    report("all items", items, decisions)
    clear = [i for i in items if not i.get("borderline")]
    result = report("non-borderline items (the target)", clear, decisions)
    ok = result["precision"] >= 0.95 and result["recall"] >= 0.90
    print(f"\ntarget precision >= 0.95 and recall >= 0.90: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
