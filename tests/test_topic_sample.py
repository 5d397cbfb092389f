"""`newsalert topics sample`: stored articles to label, read back by `topics train`."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner

from bot.cli import cli
from bot.matching.topic_model import builtin_model
from bot.records import Article, utcnow
from storage.store import Store
from tests.helpers import add_article

KOREA = [
    (
        "Top US, South Korean officials seek to drive momentum in North Korea talks",
        "The US envoy for North Korea met his South Korean counterpart in Seoul on "
        "denuclearisation talks.",
    ),
    (
        "Samsung Electronics posts record quarterly profit",
        "South Korea's Samsung said chip sales rose.",
    ),
    ("Seoul hosts a K-pop festival", "South Korean bands played to fans in Seoul."),
    (
        "North Korea condemns joint drills by US and South Korea",
        "Pyongyang said the exercises were a rehearsal for invasion.",
    ),
    ("Arsenal beat Chelsea 2-0", "Goals in each half settled the London derby."),
    ("Wheat prices fall on good harvest", "Futures slid in Chicago."),
]


def _config(tmp_path, extra: str = "") -> str:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "bot.db"}"\n{extra}', encoding="utf-8")
    return str(config)


def _store_articles(tmp_path, texts) -> None:
    store = Store.open(str(tmp_path / "bot.db"))
    try:
        now = utcnow()
        for k, (title, summary) in enumerate(texts):
            article = Article(id=f"e{k}", title=title, summary=summary, source="Wire")
            add_article(store, "https://example.org/feed.xml", article, now - timedelta(hours=k))
    finally:
        store.close()


def _rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_learned_topic_offers_what_its_anchor_lets_through_most_uncertain_first(tmp_path):
    config = _config(tmp_path)
    _store_articles(tmp_path, KOREA)
    out = tmp_path / "sample.jsonl"
    result = CliRunner().invoke(
        cli, ["--config", config, "topics", "sample", "korea-diplomacy", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    titles = [r["title"] for r in rows]
    # the football and wheat stories name no Korea: the gate rules them out, whatever a label
    assert (
        "Arsenal beat Chelsea 2-0" not in titles
        and "Wheat prices fall on good harvest" not in titles
    )
    assert len(rows) == 4
    threshold = builtin_model("korea-diplomacy").threshold
    margins = [abs(r["score"] - threshold) for r in rows]
    assert margins == sorted(margins)  # the most uncertain first
    assert all(r["label"] is None and r["id"].startswith("own-") for r in rows)
    assert "2 ruled out by the anchor" in result.output and "uncertain first" in result.output
    assert "topics train korea-diplomacy" in result.output

    # the file as written is refused by `topics train`, each line named, nothing trained
    model = tmp_path / "mine.model"
    train = ["topics", "train", "korea-diplomacy", "--data", str(out), "--out", str(model)]
    refused = CliRunner().invoke(cli, ["--config", config, *train])
    assert refused.exit_code == 2 and not model.exists()
    assert f"{out}:1" in refused.stderr and "not labelled yet" in refused.stderr

    # a second sample does not overwrite the labels being written
    again = CliRunner().invoke(
        cli, ["--config", config, "topics", "sample", "korea-diplomacy", "--out", str(out)]
    )
    assert again.exit_code == 2 and "--force" in again.stderr
    assert _rows(out) == rows


def test_a_query_topic_offers_matches_and_non_matches_and_trains_on_them(tmp_path):
    iran = [
        ("Iran nuclear talks resume in Vienna", "Envoys met on the enrichment deal."),
        ("IAEA inspectors visit Iranian enrichment site", "Inspectors reached Natanz."),
        ("Tehran warns over uranium enrichment deal", "Iran said the deal was at risk."),
        ("Iran and world powers discuss nuclear accord", "Talks went on for hours."),
        ("Iran football team wins the cup", "Fans celebrated in Tehran."),
        ("Tehran traffic jams get worse", "Commuters waited for hours."),
        ("Iranian film wins award at festival", "The director thanked the jury."),
        ("Oil prices climb on weak dollar", "Brent rose."),
    ]
    config = _config(tmp_path)
    _store_articles(tmp_path, iran)
    out = tmp_path / "iran-sample.jsonl"
    args = [
        "--config",
        config,
        "topics",
        "sample",
        "iran-nuclear",
        "--out",
        str(out),
        "--limit",
        "6",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert len(rows) == 6 and "matched and not matched" in result.output
    assert {r["matched"] for r in rows} == {True, False}

    # labelled by the operator (here: by the title), the file trains a model, and its rows
    # are a source group of their own in the scores
    nuclear = ("nuclear", "IAEA", "enrichment")
    for r in rows:
        r["label"] = int(any(w in r["title"] for w in nuclear))
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    other = tmp_path / "other.jsonl"
    other.write_text(
        "".join(
            json.dumps({"id": f"wire-{k}", "title": t, "summary": s, "label": int(k < 4)}) + "\n"
            for k, (t, s) in enumerate(iran)
        ),
        encoding="utf-8",
    )
    model = tmp_path / "iran.model"
    train = ["topics", "train", "iran-nuclear", "--data", str(other), "--data", str(out)]
    trained = CliRunner().invoke(cli, ["--config", config, *train, "--out", str(model)])
    assert trained.exit_code == 0, trained.output
    assert "own" in json.loads(model.read_bytes().split(b"\n", 1)[0])["scores"]["groups"]


def test_without_a_database_or_articles_it_says_what_to_do(tmp_path):
    config = _config(tmp_path)
    none = CliRunner().invoke(cli, ["--config", config, "topics", "sample", "korea-diplomacy"])
    assert none.exit_code == 1 and "no database" in none.stderr.lower()
    assert not (tmp_path / "bot.db").exists()

    _store_articles(tmp_path, KOREA[4:])  # nothing the anchor lets through
    out = tmp_path / "s.jsonl"
    empty = CliRunner().invoke(
        cli, ["--config", config, "topics", "sample", "korea-diplomacy", "--out", str(out)]
    )
    assert empty.exit_code == 1 and not out.exists()
    assert "2 of them ruled out by the anchor" in empty.stderr and "--days" in empty.stderr

    unknown = CliRunner().invoke(cli, ["--config", config, "topics", "sample", "no-such"])
    assert unknown.exit_code == 2 and "korea-diplomacy" in unknown.stderr
