"""Semantic terms in the filter language: ~"phrase", ~word, ~0.6"phrase", composing with
AND/OR/NOT/@groups/fields, `why` naming the term and its similarity, /test showing each
recent story's similarity, `newsalert match --query '~"..."'`, and the pipeline matching on
the one vector stored with each article."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config.loader import config_from_dict
from bot.errors import QueryError
from bot.matching import vectors
from bot.matching.engine import Matcher
from bot.matching.parser import parse_query
from bot.matching.syntax import DEFAULT_SIMILARITY, Semantic
from bot.pipeline import Pipeline
from bot.records import Article
from storage.store import Store
from tests.chatbot import article, running_bot

needs_model = pytest.mark.skipif(not vectors.available(), reason="the vector model is missing")

MISSILE_KO = Article(id="ko1", title="北, 동해상으로 탄도미사일 발사")
SAMSUNG = Article(id="ko2", title="삼성전자 영업이익 10조원 돌파")
KPOP = Article(id="ko3", title="BTS, 서울서 월드투어 시작…K팝 팬 몰려")
BAKING = Article(id="en1", title="How to bake a perfect sourdough loaf at home")
MISSILE_EN = Article(
    id="en2",
    title="North Korea fires ballistic missile into East Sea, Seoul says",
    summary="North Korea fired a ballistic missile off its east coast on Thursday.",
)


# -- the language --------------------------------------------------------------------------


def test_semantic_terms_parse_with_a_default_or_their_own_threshold():
    assert parse_query('~"north korea fires a ballistic missile"').root == Semantic(
        "north korea fires a ballistic missile", DEFAULT_SIMILARITY
    )
    assert parse_query("~sanctions").root == Semantic("sanctions", DEFAULT_SIMILARITY)
    assert parse_query('~0.6"missile launch"').root == Semantic("missile launch", 0.6)
    # a number without a quote is a word to mean, not a threshold
    assert parse_query("~2024").root == Semantic("2024", DEFAULT_SIMILARITY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("~", "nothing after '~'"),
        ('~""', "nothing after '~'"),
        ('~1.5"x"', "out of range"),
        ("title:~missile", "a field cannot hold a semantic term"),
        ('title:(~"missile")', "a field cannot hold a semantic term"),
        ('~"unclosed', "unclosed quote"),
        (" ".join(f"~w{i}" for i in range(6)), "too many semantic terms"),
    ],
)
def test_malformed_semantic_terms_are_explained(text, message):
    with pytest.raises(QueryError, match=message):
        parse_query(text)


def test_semantic_terms_compose_with_everything_else():
    root = parse_query('@north-korea ~"sanctions evasion" -title:sport').root
    assert "Semantic" in repr(root) and "AnyOf" in repr(root) and "Not" in repr(root)
    assert "Or" in repr(parse_query('~"missile launch" OR ~"nuclear test"').root)


# -- matching on vectors -------------------------------------------------------------------


@needs_model
def test_the_issues_examples_at_the_default():
    # issue 13: the Korean report matches the English phrase at the documented default
    # (0.61, USE; 0.69 with its headline's 北 read as 북한, 0.54 without), while Samsung's
    # profits, a K-pop tour and a baking recipe do not
    default = "north korea fires a ballistic missile"
    m = Matcher()
    m.add("default", f'~"{default}"')
    found = {
        a.id: [x.why for x in m.match(a, vector=vectors.article_vector(a))]
        for a in (MISSILE_KO, SAMSUNG, KPOP, BAKING, MISSILE_EN)
    }
    assert found["ko2"] == found["ko3"] == found["en1"] == []
    [[label]] = found["ko1"]
    # why names the term, the vector that decided and its similarity
    assert label.startswith(f'~"{default}" USE 0.')
    assert float(label.rsplit(" ", 1)[1]) >= DEFAULT_SIMILARITY
    [[label]] = found["en2"]
    assert float(label.rsplit(" ", 1)[1]) >= DEFAULT_SIMILARITY


@needs_model
def test_across_languages_the_report_ranks_above_other_korean_stories():
    # from the English phrase, Korean titles of a nuclear test (0.59) and of sanctions
    # evasion (0.58) are not launches: the report (0.69) ranks above them and the default
    # takes it alone; a ~0.5 term takes them too
    phrase = vectors.phrase_vector("north korea fires a ballistic missile")
    nuclear = Article(id="k1", title="北 6차 핵실험 강행")
    shipping = Article(id="k2", title="북한, 해상 환적으로 대북제재 회피")
    report = float(vectors.article_vector(MISSILE_KO) @ phrase)
    for other in (nuclear, shipping):
        assert float(vectors.article_vector(other) @ phrase) < report
    m = Matcher()
    m.add("default", '~"north korea fires a ballistic missile"')
    m.add("own", '~0.5"north korea fires a ballistic missile"')
    for other in (nuclear, shipping):
        assert [x.topic for x in m.match(other, vector=vectors.article_vector(other))] == ["own"]


@needs_model
def test_a_headlines_hanja_short_form_is_read_as_its_word():
    # the vector reads 北 poorly (the report is 0.54 from the English phrase as written,
    # 0.69 as 북한): the text the vector is made of spells it out
    spelled = Article(id="ko4", title="북한, 동해상으로 탄도미사일 발사")
    assert vectors.article_text(MISSILE_KO) == vectors.article_text(spelled)
    assert vectors.article_text(Article(id="b", title="北京 올림픽 개막")) == "北京 올림픽 개막"


@needs_model
def test_a_phrase_of_the_articles_language_matches_too():
    m = Matcher()
    m.add("missile-ko", '~"북한 탄도미사일 발사"')
    assert [x.topic for x in m.match(MISSILE_KO, vector=vectors.article_vector(MISSILE_KO))] == [
        "missile-ko"
    ]
    for a in (SAMSUNG, KPOP, BAKING):
        assert m.match(a, vector=vectors.article_vector(a)) == []


@needs_model
def test_a_terms_own_threshold_holds_for_every_language_pair():
    # ~0.75"...": the term's own threshold, on the scale that decides (the USE cosine), for
    # an article in any language: the Korean report (0.69) is then out, the English one
    # (0.83) in
    m = Matcher()
    m.add("missile", '~0.75"north korea fires a ballistic missile"')
    assert m.match(MISSILE_KO, vector=vectors.article_vector(MISSILE_KO)) == []
    [match] = m.match(MISSILE_EN, vector=vectors.article_vector(MISSILE_EN))
    assert match.why[0].startswith('~0.75"north korea fires a ballistic missile" USE 0.')


@needs_model
def test_a_talks_story_is_not_a_missile_launch_at_the_default():
    # a newcomer's case: at the old default (0.35) a chat following the missile phrase got
    # this talks story (0.51; the Korean phrase 0.43). A missile phrase and a talks story
    # share a subject, not an event (bench/semantic_threshold.py, phrase-level labels).
    talks = Article(id="t1", title="US and South Korean envoys meet in Seoul on nuclear talks")
    m = Matcher()
    m.add("missile", '~"north korea fires a ballistic missile"')
    m.add("missile-ko", '~"북한 탄도미사일 발사"')
    assert m.match(talks, vector=vectors.article_vector(talks)) == []
    assert [x.topic for x in m.match(MISSILE_EN, vector=vectors.article_vector(MISSILE_EN))] == [
        "missile"
    ]


@needs_model
def test_semantic_terms_compose_with_groups_and_fields():
    # the issue's @north-korea ~"sanctions evasion" -title:sport: a short phrase scores
    # low (0.40 on a sanctions-evasion story), under the default 0.61; with
    # its own threshold the rest of the query decides as with words
    ship = Article(id="s1", title="Sanctions evasion: North Korea's ship-to-ship oil transfers")
    sport = Article(id="s2", title="Sport: North Korea sanctions evasion probe hits football club")
    russia = Article(
        id="s3", title="Russian oligarch accused of sanctions evasion through shell companies"
    )
    m = Matcher()
    m.add("default", '@north-korea ~"sanctions evasion" -title:sport')
    m.add("own", '@north-korea ~0.38"sanctions evasion" -title:sport')
    found = {
        a.id: {x.topic for x in m.match(a, vector=vectors.article_vector(a))}
        for a in (ship, sport, russia)
    }
    assert found == {"s1": {"own"}, "s2": set(), "s3": set()}  # sport: -title; Russia: no group


@needs_model
def test_semantic_terms_either_or():
    # ~"missile launch" OR ~"nuclear test": Korean reports of each (short English phrases
    # on Korean titles: 0.55 and 0.52, so a threshold of their own), not the near misses
    launch = Article(id="k1", title="북한, 동해상으로 미사일 발사")
    test = Article(id="k2", title="북한 6차 핵실험 강행")
    talks = Article(id="e1", title="US and South Korean envoys meet in Seoul on nuclear talks")
    m = Matcher()
    m.add("either", '~0.45"missile launch" OR ~0.45"nuclear test"')
    on = {
        a.id: [x.why for x in m.match(a, vector=vectors.article_vector(a))]
        for a in (launch, test, talks, SAMSUNG, KPOP, BAKING)
    }
    assert on["k1"][0][0].startswith('~0.45"missile launch" USE ')
    assert on["k2"][0][0].startswith('~0.45"nuclear test" USE ')
    assert on["e1"] == on["ko2"] == on["ko3"] == on["en1"] == []


@needs_model
def test_semantic_terms_compose_in_matching_and_a_threshold_narrows():
    m = Matcher()
    m.add("and-group", '@north-korea ~"north korea missile launch"')
    m.add("either", '~"north korea missile launch" OR ~"how to bake sourdough bread"')
    m.add("not", 'korea -~0.4"missile launch"')  # a short phrase scores low (0.45)
    m.add("strict", '~0.95"missile launch"')
    v = {a.id: vectors.article_vector(a) for a in (MISSILE_EN, BAKING)}
    on_missile = {x.topic for x in m.match(MISSILE_EN, vector=v["en2"])}
    on_baking = {x.topic for x in m.match(BAKING, vector=v["en1"])}
    assert on_missile == {"and-group", "either"}  # "not" excludes it; "strict" asks too much
    assert on_baking == {"either"}
    # without a vector a semantic term matches nothing, and nothing breaks
    assert {x.topic for x in m.match(MISSILE_EN)} == {"not"}
    assert m.needs_vectors and m.semantic_stats() == {"phrases": 3, "keys": 4}
    for key in ("and-group", "either", "not", "strict"):
        m.remove(key)
    assert not m.needs_vectors


def fake_embed(phrases: list[str]):
    """Phrase vectors that are unit axes, for counting what the engine asks for."""
    import numpy as np

    calls.append(list(phrases))
    out = np.zeros((len(phrases), 4), np.float32)
    for i, p in enumerate(phrases):
        out[i, hash(p) % 4] = 1.0
    return out


calls: list[list[str]] = []


def test_each_distinct_phrase_is_embedded_once_for_all_its_subscribers():
    import numpy as np

    calls.clear()
    m = Matcher(embed=fake_embed)
    for i in range(100):
        m.add(f"s{i}", '~"missile launch"' if i % 2 else '~0.6"missile launch" korea')
    doc = Article(id="a", title="korea")
    axis = fake_embed(["missile launch"])[0]
    calls.clear()
    found = m.match(doc, vector=axis.astype(np.float32))
    assert len(found) == 100
    assert calls == [["missile launch"]]  # one row for the phrase, whoever uses it


# -- the pipeline, the CLI, /test ---------------------------------------------------------


def _pipeline(tmp_path):
    """A store on a SQLite file and a pipeline over it that alerts on a first poll."""
    store = Store.open(tmp_path / "bot.db")
    config = config_from_dict(
        {"fetch": {"full_text": False}, "delivery": {"story_by_meaning": False}}, env={}
    )
    pipeline = Pipeline(store, config, fetcher=None, alert_on_first_poll=True)  # type: ignore[arg-type]
    return store, pipeline


@needs_model
async def test_the_pipeline_matches_on_the_stored_vector(tmp_path):
    store, pipeline = _pipeline(tmp_path)
    store.chats.ensure(5)
    store.chats.ensure(6)
    store.subscriptions.add(5, "", query='~"북한 탄도미사일 발사"')
    store.subscriptions.add(6, "", query="baking")
    feed = store.feeds.upsert("https://ko.example/rss", name="KO")
    await pipeline.process(feed, [MISSILE_KO, SAMSUNG])
    assert [d.chat_id for d in store.outbox.for_chat(5)] == [5]
    assert store.outbox.for_chat(6) == []
    stored = {s.article.id: s for s in store.articles.latest(5)}
    assert stored["ko1"].vector and stored["ko2"].vector  # made once, kept with the article
    store.close()


async def test_no_vector_is_made_when_no_rule_has_a_semantic_term(tmp_path):
    from bot.matching import passages

    store, pipeline = _pipeline(tmp_path)
    store.chats.ensure(5)
    store.subscriptions.add(5, "", query="missile OR 탄도미사일")
    feed = store.feeds.upsert("https://ko.example/rss", name="KO")
    made = (vectors.STATS["texts"], passages.STATS["texts"])
    await pipeline.process(feed, [MISSILE_KO, SAMSUNG, MISSILE_EN])
    assert [d.chat_id for d in store.outbox.for_chat(5)] == [5, 5]  # words still match
    assert (vectors.STATS["texts"], passages.STATS["texts"]) == made  # no vector at all
    assert all(s.vector is None for s in store.articles.latest(5))
    store.close()


@needs_model
def test_match_cli_takes_semantic_queries_on_json_lines():
    lines = "".join(json.dumps(a.to_json()) + "\n" for a in (MISSILE_KO, SAMSUNG, BAKING))
    result = CliRunner().invoke(cli, ["match", "--query", '~"북한 탄도미사일 발사"'], input=lines)
    assert result.exit_code == 0, result.output
    decisions = [json.loads(line) for line in result.output.splitlines()]
    assert [d["matched"] for d in decisions] == [True, False, False]
    assert decisions[0]["why"][0].startswith('~"북한 탄도미사일 발사" USE ')
    # every line says each phrase's similarity on the vector that decides, matched or not
    assert [d["vector"] for d in decisions] == ["USE"] * 3
    sims = [d["similarity"]["북한 탄도미사일 발사"] for d in decisions]
    assert sims[0] >= DEFAULT_SIMILARITY > max(sims[1:])


@needs_model
async def test_test_command_shows_each_recent_storys_similarity(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        bot.store_articles(
            article("m1", MISSILE_KO.title),
            article("s1", SAMSUNG.title),
            article("b1", BAKING.title),
        )
        reply = (await bot.send(111, '/test ~0.5"north korea fires a ballistic missile"'))["text"]
    assert "<b>1 of the last 3 stories match</b>" in reply
    assert "Closest in meaning" in reply
    shown = re.findall(r"^<code>(-?\d\.\d\d)</code> (.*)$", reply, re.MULTILINE)
    assert len(shown) == 3 and "北" in shown[0][1]  # closest first, each with its similarity
    assert [float(s) for s, _ in shown] == sorted((float(s) for s, _ in shown), reverse=True)
    assert '~0.5"north korea fires a ballistic missile" USE 0.' in reply  # why names it


@needs_model
def test_the_vectors_of_phrases_no_longer_subscribed_to_are_not_all_kept(monkeypatch):
    # the vector of every phrase ever subscribed to stayed for the life of the process
    monkeypatch.setattr(vectors, "PHRASES_KEPT", 10)
    monkeypatch.setattr(vectors, "_made", type(vectors._made)())
    m = Matcher()
    m.add("kept", '~"north korea fires a ballistic missile"')
    for i in range(60):  # people write a filter, and later drop it for another
        m.add(f"chat-{i}", f'~"talks number {i} on the peninsula"')
        assert [x.topic for x in m.match(MISSILE_EN, vector=vectors.article_vector(MISSILE_EN))]
        m.remove(f"chat-{i}")
    assert len(vectors._made) <= 10
    assert [x.topic for x in m.match(MISSILE_EN, vector=vectors.article_vector(MISSILE_EN))] == [
        "kept"
    ]
    many = [f"phrase {i} of a long list" for i in range(25)]  # more at once than are kept
    rows = vectors.phrase_vectors(many)
    assert len(vectors._made) == 25
    assert np.allclose(rows[3], vectors.embed([many[3]])[0], atol=1e-6)
