"""How many stories would be breaking news on a replay of the shared feeds.

    .venv/bin/python bench/breaking.py                  # ../shared/data/feeds
    .venv/bin/python bench/breaking.py --outlets 3 --window 30m
    NEWSALERT_SHARED=/path/to/shared .venv/bin/python bench/breaking.py     # elsewhere

Every entry of every feed file (XML and JSON Feed) with a publication date is replayed in
time order through the bot's own story grouping (``storage.articles.ArticleStore.add_new``
for copies by URL or headline, ``bot.ingest.stories.StoryDesk`` for near-duplicates), on a
temporary SQLite file, with the clock set to each entry's date.  An outlet is the host of
the feed's home page (``www.``/``feeds.`` dropped), so two feeds of one publisher count
once.  A story is breaking when at least ``--outlets`` outlets carried it within
``--window`` (``bot.ingest.stories.breaking_outlets``, what the bot runs).

Printed: entries and stories, stories carried by 2+ and by ``--outlets``+ outlets at any
distance in time (the baseline), those that qualify, and the share of the baseline they are;
then the same count for a few other settings.  The collection is mostly single-publisher
feeds gathered years apart, so few stories are shared: the figure says how rare the mark is
on such input, not how often a live news desk would see it.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import SHARED  # noqa: E402
from bot.config.durations import parse_interval  # noqa: E402
from bot.errors import NewsalertError  # noqa: E402
from bot.ingest.parse import parse_feed  # noqa: E402
from bot.ingest.stories import StoryDesk, breaking_outlets  # noqa: E402
from bot.records import Article  # noqa: E402
from storage.store import Store  # noqa: E402

FEED_FILES = SHARED / "data" / "feeds"


def outlet_of(link: str, fallback: str) -> str:
    host = (urlsplit(link).hostname or "").lower()
    for prefix in ("www.", "feeds.", "rss.", "feed."):
        host = host.removeprefix(prefix)
    return host or fallback


def load(folder: Path) -> list[tuple[str, Article]]:
    """(feed file, article) for every dated entry, the article's source set to its outlet."""
    index = {row["file"]: row for row in csv.DictReader((folder / "INDEX.csv").open())}
    out: list[tuple[str, Article]] = []
    feeds = []
    for name, row in sorted(index.items()):
        path = folder / name
        if not path.is_file():
            continue
        try:
            parsed = parse_feed(path.read_bytes(), url=f"file://{path}")
        except NewsalertError:
            continue
        feeds.append((name, parsed, parsed.link or row.get("link", "")))
    # the same feed saved by two collections, one copy without any link: one outlet
    hosts = {p.title: outlet_of(home, "") for _, p, home in feeds if outlet_of(home, "")}
    for name, parsed, home in feeds:
        for article in parsed.articles:
            if article.published is not None and 1990 <= article.published.year <= 2100:
                fallback = hosts.get(parsed.title) or parsed.title or name
                outlet = outlet_of(home or article.link, fallback)
                out.append((name, article.replace(source=outlet)))
    out.sort(key=lambda pair: pair[1].published)  # type: ignore[arg-type, return-value]
    return out


def replay(entries: list[tuple[str, Article]], db: Path) -> dict[int, list]:
    """Story id -> its sightings ``(outlet, when)``, through the bot's own grouping."""
    store = Store.open(db)
    desk = StoryDesk(store.stories)
    feeds: dict[str, int] = {}
    for name, article in entries:
        if name not in feeds:
            feeds[name] = store.feeds.upsert(f"file:///{name}").id
        feed_id, now = feeds[name], article.published
        new = store.articles.add_new(feed_id, [article], now=now, processed=True)
        if new:
            desk.assign(new[0].key, feed_id, article, now=now)
        else:
            desk.copies(feed_id, [article], [], now=now)
    stories = {
        int(story_id): store.stories.sightings(int(story_id))
        for (story_id,) in store.db.execute("SELECT id FROM stories").fetchall()
    }
    store.close()
    return stories


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=Path, default=FEED_FILES)
    ap.add_argument("--outlets", type=int, default=3)
    ap.add_argument("--window", default="30m")
    args = ap.parse_args()
    if not (args.feeds / "INDEX.csv").is_file():
        print(f"no feeds at {args.feeds} (../shared/data/feeds is needed)", file=sys.stderr)
        return 2
    window = timedelta(seconds=parse_interval(args.window))
    entries = load(args.feeds)
    with tempfile.TemporaryDirectory() as tmp:
        stories = replay(entries, Path(tmp) / "replay.db")
    outlets = {sid: {s.casefold() for s, _ in seen} for sid, seen in stories.items()}
    shared = sum(1 for o in outlets.values() if len(o) >= 2)
    baseline = sum(1 for o in outlets.values() if len(o) >= args.outlets)
    qualify = [
        sid
        for sid, seen in stories.items()
        if breaking_outlets(seen, outlets=args.outlets, window=window)
    ]
    print(f"entries replayed: {len(entries)} from {len({n for n, _ in entries})} feed files")
    print(f"stories: {len(stories)}; carried by 2+ outlets: {shared}")
    print(f"carried by {args.outlets}+ outlets at any time apart (baseline): {baseline}")
    share = f"{len(qualify) / baseline:.2f}" if baseline else "n/a"
    print(
        f"breaking ({args.outlets}+ outlets within {args.window}): {len(qualify)} "
        f"(share of the baseline: {share})"
    )
    for sid in qualify[:10]:
        names = breaking_outlets(stories[sid], outlets=args.outlets, window=window)
        print(f"  story {sid}: {', '.join(names)}")
    print("other settings (outlets, window: stories):")
    for n in (2, 3, 4):
        row = []
        for label in ("30m", "2h", "24h"):
            w = timedelta(seconds=parse_interval(label))
            count = sum(
                1 for seen in stories.values() if breaking_outlets(seen, outlets=n, window=w)
            )
            row.append(f"{label}: {count}")
        print(f"  {n} outlets: " + ", ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
