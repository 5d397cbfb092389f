"""The matching engine: one index for all subscriptions, equal to checking each in turn."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import QueryError
from bot.matching.document import prepare_document
from bot.matching.engine import Matcher, match_topic, trigger_terms
from bot.matching.parser import parse_query
from bot.records import Article, Topic


def article(title: str = "", summary: str = "", content: str = "", **kw: str) -> Article:
    return Article(id="a1", title=title, summary=summary, content=content, **kw)


def test_match_returns_only_the_subscriptions_that_matched() -> None:
    m = Matcher()
    m.add("k", '"north korea" (talks OR summit)')
    m.add("i", "iran nuclear")
    m.add("s", "tennis")
    found = m.match(article(title="North Korea talks resume"))
    assert [x.topic for x in found] == ["k"]
    assert found[0].matched and found[0].score > 0
    assert "north korea" in found[0].why
    assert found[0].article_id == "a1"


def test_results_come_best_score_first() -> None:
    m = Matcher()
    m.add("weak", "talks")
    m.add("strong", "korea talks")
    found = m.match(article(title="Korea talks"))
    assert [x.topic for x in found] == ["strong", "weak"]


def test_threshold_is_respected_per_subscription() -> None:
    m = Matcher()
    m.add("loose", "korea", threshold=0.0)
    m.add("strict", "korea", threshold=2.5)
    deep = article(title="News", content="word " * 60 + "Korea")
    assert [x.topic for x in m.match(deep)] == ["loose"]
    assert {x.topic for x in m.match(article(title="Korea"))} == {"loose", "strict"}


def test_evaluate_gives_a_decision_even_without_a_match() -> None:
    m = Matcher()
    m.add("k", "korea", threshold=2.5)
    no = m.evaluate("k", article(title="Japan"))
    assert (no.matched, no.score, no.why) == (False, 0.0, ())
    below = m.evaluate("k", article(title="x", content="word " * 60 + "Korea"))
    assert not below.matched and below.score == 1.0 and below.why == ("korea",)
    with pytest.raises(KeyError):
        m.evaluate("missing", article(title="x"))


def test_remove_stops_matching_and_is_idempotent() -> None:
    m = Matcher()
    m.add("a", "korea")
    m.add("b", "korea")
    m.remove("a")
    m.remove("a")
    assert [x.topic for x in m.match(article(title="Korea"))] == ["b"]
    m.remove("b")
    assert m.match(article(title="Korea")) == []
    assert m.stats()["trigger_terms"] == 0


def test_adding_an_existing_key_replaces_its_query() -> None:
    m = Matcher()
    m.add("a", "korea")
    m.add("a", "japan")
    assert m.match(article(title="Korea")) == []
    assert len(m) == 1


def test_a_malformed_query_leaves_the_matcher_unchanged() -> None:
    m = Matcher()
    m.add("a", "korea")
    with pytest.raises(QueryError):
        m.add("a", '"unclosed')
    assert [x.topic for x in m.match(article(title="Korea"))] == ["a"]


def test_queries_with_only_exclusions_still_work() -> None:
    m = Matcher()
    m.add("not-sports", "-sports")
    m.add("neither", "NOT (tennis OR golf)")
    assert {x.topic for x in m.match(article(title="Korea talks"))} == {"not-sports", "neither"}
    assert [x.topic for x in m.match(article(title="Golf news"))] == ["not-sports"]
    assert m.stats()["always_checked"] == 2


def test_identical_queries_share_one_index_entry() -> None:
    m = Matcher()
    for i in range(50):
        m.add(f"chat{i}", "Korea Talks" if i % 2 else "korea talks")
    assert m.stats() == {
        "subscriptions": 50,
        "distinct_queries": 1,
        "trigger_terms": 1,
        "always_checked": 0,
    }
    assert len(m.match(article(title="Korea talks"))) == 50


def test_source_and_site_scoped_queries_are_indexed() -> None:
    m = Matcher()
    m.add("src", "source:reuters")
    m.add("site", "site:straitstimes.com korea")
    a = article(title="Korea", source="Reuters", link="https://www.straitstimes.com/x")
    assert {x.topic for x in m.match(a)} == {"src", "site"}


def test_parsed_query_objects_are_accepted() -> None:
    m = Matcher()
    m.add("q", parse_query("@north-korea"))
    assert [x.topic for x in m.match(article(title="DPRK"))] == ["q"]


def test_trigger_terms_pick_one_side_of_and_and_all_of_or() -> None:
    assert trigger_terms(parse_query("korea talks").root) in ({"korea"}, {"talk"})
    assert trigger_terms(parse_query("korea OR japan").root) == {"korea", "japan"}
    assert trigger_terms(parse_query("the korea").root) == {"korea"}  # avoids a common word
    assert trigger_terms(parse_query("-sports").root) is None
    assert trigger_terms(parse_query("korea OR -sports").root) is None
    assert trigger_terms(parse_query("korea -sports").root) == {"korea"}


def test_match_topic_applies_the_topic_threshold() -> None:
    topic = Topic(id="t", name="T", query="korea", threshold=2.5)
    assert match_topic(article(title="Korea"), topic).matched
    result = match_topic(article(title="x", content="word " * 60 + "Korea"), topic)
    assert not result.matched and result.score == 1.0 and result.topic == "t"


# ---------------------------------------------------------------- property test

_VOCAB = ["korea", "talks", "summit", "north", "iran", "nuclear", "sports", "seoul", "envoy"]
_word = st.sampled_from(_VOCAB)
_atom = st.one_of(
    _word,
    st.lists(_word, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
    st.sampled_from(["@north-korea", "@south-korea", "title:korea", "content:talks"]),
    st.tuples(_word, _word, st.integers(0, 4)).map(lambda t: f"{t[0]} NEAR/{t[2]} {t[1]}"),
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, children).map(lambda t: f"({t[0]} {t[1]})"),
        st.tuples(children, children).map(lambda t: f"({t[0]} OR {t[1]})"),
        children.map(lambda c: f"-{c}"),
    )


_queries = st.recursive(_atom, _combine, max_leaves=5)
_text = st.lists(
    st.sampled_from([*_VOCAB, "Korea's", "talks'", "DPRK", "Pyongyang", "South", "the", "and"]),
    max_size=12,
).map(" ".join)
_articles = st.builds(
    lambda i, t, s, c: Article(id=f"a{i}", title=t, summary=s, content=c),
    st.integers(0, 9),
    _text,
    _text,
    _text,
)


@settings(max_examples=150, deadline=None)
@given(
    queries=st.lists(st.tuples(_queries, st.sampled_from([0.0, 0.0, 2.0, 4.0])), max_size=12),
    removed=st.sets(st.integers(0, 11), max_size=4),
    docs=st.lists(_articles, min_size=1, max_size=4),
)
def test_matcher_equals_evaluating_each_query_in_turn(
    queries: list[tuple[str, float]], removed: set[int], docs: list[Article]
) -> None:
    m = Matcher()
    live: dict[str, tuple[str, float]] = {}
    for i, (text, threshold) in enumerate(queries):
        key = f"s{i}"
        m.add(key, text, threshold=threshold)
        live[key] = (text, threshold)
    for i in removed:
        m.remove(f"s{i}")
        live.pop(f"s{i}", None)
    for a in docs:
        d = prepare_document(a)
        expected = {}
        for key, (text, threshold) in live.items():
            matched, score, why = parse_query(text).evaluate(d)
            if matched and score >= threshold:
                expected[key] = (score, why)
        got = {x.topic: (x.score, x.why) for x in m.match(a)}
        assert got == expected
        # the grouped form the bot's Audience reads: the same decisions, best first
        groups = m.match_groups(prepare_document(a))
        assert {k: (g.score, g.why) for g in groups for k in g.keys} == expected
        assert [g.score for g in groups] == sorted((g.score for g in groups), reverse=True)
        for key in live:
            assert m.evaluate(key, a).matched == (key in expected)


def test_bulk_scored_shapes_equal_the_query_and_survive_removal() -> None:
    # "a OR b" and "a -b -c" are scored in bulk per woken word: each group once, with the
    # score and why of evaluating the query, whichever of its words the article holds
    queries = {
        "or": "korea OR talks",
        "or2": "talks OR korea",
        "or3": "korea OR summit",
        "minus": "korea -sports -tennis",
        "minus2": "korea -summit",
    }
    m = Matcher()
    for key, text in queries.items():
        m.add(key, text)
    m.add("gone", "korea OR iran")
    m.add("gone2", "korea -golf")
    m.remove("gone")
    m.remove("gone2")
    for title in ("Korea talks", "Korea", "Talks on sports", "Korea tennis summit", "Iran golf"):
        a = article(title=title, content="more korea " * 3 if "Iran" not in title else "")
        d = prepare_document(a)
        expected = {}
        for key, text in queries.items():
            matched, score, why = parse_query(text).evaluate(d)
            if matched:
                expected[key] = (score, why)
        groups = m.match_groups(prepare_document(a))
        assert {k: (g.score, g.why) for g in groups for k in g.keys} == expected, title
        assert len(groups) == len({id(g[2]) for g in groups})  # no query twice
