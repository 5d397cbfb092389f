"""The filter query language: syntax, matching rules, scoring, errors, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import QueryError
from bot.matching.document import Document, prepare_document
from bot.matching.normalize import fold, korean_variants, tokenize
from bot.matching.parser import MAX_DEPTH, MAX_QUERY_LENGTH, QUERY_HELP, parse_query
from bot.records import Article


def doc(title: str = "", summary: str = "", content: str = "", **kw: str) -> Document:
    return prepare_document(Article(id="a1", title=title, summary=summary, content=content, **kw))


def hits(query: str, **fields: str) -> bool:
    return parse_query(query).evaluate(doc(**fields))[0]


# ---------------------------------------------------------------- words and phrases


def test_words_are_joined_by_an_implicit_and() -> None:
    assert hits("korea talks", title="Korea talks resume")
    assert not hits("korea talks", title="Korea summit planned")


def test_explicit_and_means_the_same_as_a_space() -> None:
    assert hits("korea AND talks", title="talks on Korea")
    assert not hits("korea AND talks", title="Korea")


def test_a_quoted_phrase_needs_its_words_in_order() -> None:
    assert hits('"north korea"', title="North Korea fires missile")
    assert not hits('"north korea"', title="Korea, north of the river")
    assert not hits('"north korea"', title="North and South Korea")


def test_matching_is_on_whole_words() -> None:
    assert not hits("kore", title="Korea")
    assert not hits("talk", title="Talkative envoy")
    assert hits("talk", title="Envoy will talk")


def test_case_and_accents_do_not_matter() -> None:
    assert hits("COREE", title="La Corée du Nord")
    assert hits('"corée du nord"', title="LA COREE DU NORD")
    assert hits("pyongyang", title="PYONGYANG")


def test_plurals_and_possessives_match_the_word() -> None:
    for title in ("Korea talk", "Korea talks", "The talks' failure", "the talk's end"):
        assert hits("talk", title=title), title
        assert hits("talks", title=title), title
    assert hits("ally", title="US allies meet")
    assert hits("korea", title="Korea's president")
    assert hits("korea", title="Korea’s president")  # curly apostrophe


def test_british_and_american_spellings_match() -> None:
    assert hits("denuclearization", title="Denuclearisation of the peninsula")
    assert hits("denuclearisation", title="denuclearization talks")
    assert hits("defense", title="Defence ministry says")
    assert hits("program", title="Nuclear programme")
    assert hits("labour", title="Labor unions strike")
    assert hits("centre", title="Research center opens")


def test_spelling_rules_do_not_merge_unrelated_words() -> None:
    assert not hits("news", title="New talks")
    assert not hits("us", title="U.S. officials")  # "u s" is a phrase, not "us"


def test_hyphens_and_dots_inside_a_word_make_a_phrase() -> None:
    assert hits("kim-jong-un", title="Kim Jong Un meets Trump")
    assert hits('"kim jong un"', title="Kim Jong-un meets Trump")
    assert hits("n.korea", title="N. Korea fires missile")
    assert not hits("k-pop", title="pop songs in Korea, k")


def test_korean_words_match_with_particles() -> None:
    assert hits("북한", title="북한은 미사일을 발사했다")
    assert hits("북한", title="북한의 비핵화")
    assert hits("비핵화", title="비핵화를 논의했다")
    assert hits("북한 비핵화", title="북한의 비핵화")
    # a query with the particle asks for exactly that form
    assert hits("북한의", title="북한의 비핵화")
    assert not hits("북한의", title="북한은 발사했다")
    # a word that merely starts like the query is not a match
    assert not hits("북한", title="북한산 등산")


def test_korean_variants_strip_one_or_two_particles() -> None:
    assert korean_variants("북한은") == ("북한",)
    assert "정상회의" in korean_variants("정상회의에서는")
    assert korean_variants("한미") == ()


def test_chinese_characters_match_as_a_phrase() -> None:
    assert hits("朝鲜", title="朝鲜发射导弹")
    assert not hits("朝鲜", title="朝日新闻")


def test_folding_keeps_hangul_syllables() -> None:
    assert fold("북한 Corée") == "북한 coree"
    assert tokenize("Talks' DENUCLEARISATION") == ["talk", "denuclearization"]


# ---------------------------------------------------------------- operators


def test_or_takes_either_side() -> None:
    assert hits("talks OR summit", title="Summit planned")
    assert hits("talks OR summit", title="Talks planned")
    assert not hits("talks OR summit", title="Meeting planned")


def test_or_binds_tighter_than_and_as_in_web_search() -> None:
    q = "korea talks OR summit"
    assert hits(q, title="Korea summit")
    assert not hits(q, title="Summit in Paris")  # not (korea AND talks) OR summit


def test_minus_and_not_exclude() -> None:
    for q in ("korea -sports", "korea NOT sports"):
        assert hits(q, title="Korea talks")
        assert not hits(q, title="Korea sports news")


def test_excluding_a_phrase_or_a_group() -> None:
    assert not hits('korea -"korea open"', title="Sharapova wins Korea Open")
    assert hits('korea -"korea open"', title="Open talks with Korea")
    assert not hits("talks -@north-korea", title="Talks with Pyongyang")


def test_parentheses_group() -> None:
    q = '"north korea" (talks OR summit) -sports'
    assert hits(q, title="North Korea summit")
    assert not hits(q, title="North Korea summit on sports")
    assert not hits(q, title="North Korea parade")


def test_nested_negation_and_double_negation() -> None:
    assert hits("korea -(sports OR tennis)", title="Korea talks")
    assert not hits("korea -(sports OR tennis)", title="Korea tennis")
    assert hits("korea NOT NOT talks", title="Korea talks")


def test_a_query_of_only_exclusions_matches_everything_else() -> None:
    q = parse_query("-sports")
    assert q.evaluate(doc(title="Korea talks")) == (True, 0.0, ())
    assert q.evaluate(doc(title="Sports news"))[0] is False


def test_lower_case_operator_words_are_ordinary_words() -> None:
    assert not hits("korea or japan", title="Japan")
    assert hits("korea or japan", title="Korea or Japan")


# ---------------------------------------------------------------- fields


def test_title_summary_and_content_scopes() -> None:
    assert hits("title:korea", title="Korea", content="nothing")
    assert not hits("title:korea", title="Talks", content="Korea")
    assert hits("content:korea", content="Korea")
    assert not hits("content:korea", summary="Korea")
    assert hits("summary:korea", summary="Korea")
    assert hits('title:"north korea"', title="North Korea talks")
    assert hits("title:(talks OR summit) korea", title="Summit", content="Korea")


def test_a_field_scope_applies_to_a_group() -> None:
    assert hits("title:@north-korea", title="DPRK fires missile")
    assert not hits("title:@north-korea", title="Missile", summary="DPRK fired")


def test_source_and_site_scopes() -> None:
    assert hits("source:reuters", title="x", source="Reuters World")
    assert not hits("source:reuters", title="Reuters says", source="AP")
    link = "https://www.straitstimes.com/asia/east-asia/korea-talks"
    assert hits("site:straitstimes.com", title="x", link=link)
    assert hits("site:https://straitstimes.com/", title="x", link=link)
    assert not hits("site:times.com", title="x", link=link)
    assert hits("site:bbc.co.uk", title="x", link="https://news.bbc.co.uk/a")


def test_words_without_a_field_do_not_search_source_or_site() -> None:
    assert not hits("reuters", title="Talks", source="Reuters")


# ---------------------------------------------------------------- NEAR


def test_near_requires_both_within_the_distance_in_either_order() -> None:
    text = "sanctions were imposed on north korea yesterday"  # 4 words in between
    assert hits("sanctions NEAR/4 korea", content=text)
    assert not hits("sanctions NEAR/3 korea", content=text)
    assert hits("korea NEAR/4 sanctions", content=text)
    assert hits('"north korea" NEAR/3 sanctions', content=text)
    assert not hits('"north korea" NEAR/2 sanctions', content=text)
    assert hits("@north-korea NEAR/3 sanctions", content=text)


def test_near_without_a_number_means_at_most_ten_words_apart() -> None:
    near = "sanctions " + "word " * 10 + "korea"
    far = "sanctions " + "word " * 11 + "korea"
    assert hits("sanctions NEAR korea", content=near)
    assert not hits("sanctions NEAR korea", content=far)


def test_near_counts_within_one_field() -> None:
    assert not hits("sanctions NEAR/1 korea", title="sanctions", summary="korea")


# ---------------------------------------------------------------- groups


def test_alias_group_matches_any_member() -> None:
    for title in (
        "DPRK fires missile",
        "N. Korea fires missile",
        "Pyongyang fires missile",
        "Kim Jong-un fires missile",
        "NKorea fires missile",
        "북한은 미사일을 발사했다",
    ):
        assert hits("@north-korea", title=title), title
    assert not hits("@north-korea", title="South Korea fires missile")


def test_group_names_are_case_insensitive() -> None:
    assert hits("@North-Korea", title="DPRK")


# ---------------------------------------------------------------- scoring and why


def test_a_title_hit_scores_more_than_a_summary_or_content_hit() -> None:
    q = parse_query("talks")
    title = q.evaluate(doc(title="Talks"))[1]
    summary = q.evaluate(doc(title="x", summary="Talks"))[1]
    lead = q.evaluate(doc(title="x", content="Talks"))[1]
    content = q.evaluate(doc(title="x", content="word " * 60 + "talks"))[1]
    deep = q.evaluate(doc(title="x", content="word " * 300 + "talks"))[1]
    deep_summary = q.evaluate(doc(title="x", summary="word " * 300 + "talks"))[1]
    assert title > summary == lead > content > deep == deep_summary > 0


def test_phrases_are_weighted_by_where_they_start() -> None:
    q = parse_query('"north korea"')
    assert q.evaluate(doc(title="North Korea"))[1] == 3.0
    assert q.evaluate(doc(title="x", content="North Korea"))[1] == 2.0
    assert q.evaluate(doc(title="x", content="w " * 60 + "North Korea"))[1] == 1.0
    assert q.evaluate(doc(title="x", content="w " * 200 + "North Korea"))[1] == 0.5
    assert q.evaluate(doc(title="x", content="North w " * 100 + "North Korea"))[1] == 0.5


def test_score_sums_distinct_terms_and_why_names_them_strongest_first() -> None:
    matched, score, why = parse_query("korea talks").evaluate(
        doc(title="Korea news", summary="The talks went on")
    )
    assert matched
    assert score == 3.0 + 2.0
    assert why == ("korea", "talks")


def test_a_group_counts_once_with_its_best_member() -> None:
    d = doc(title="North Korea", summary="Pyongyang and the DPRK")
    matched, score, why = parse_query("@north-korea").evaluate(d)
    assert matched and score == 3.0
    assert why[0] == "north korea"
    assert {"pyongyang", "dprk"} <= set(why)


def test_why_shows_fields_as_typed() -> None:
    _, _, why = parse_query("title:Talks").evaluate(doc(title="talks"))
    assert why == ("title:talks",)


def test_an_unmatched_query_scores_zero() -> None:
    assert parse_query("korea talks").evaluate(doc(title="Korea")) == (False, 0.0, ())


def test_html_in_summary_is_read_as_text() -> None:
    assert hits('"north korea"', summary="<p>North <b>Korea</b></p>")
    assert not hits("href", summary='<a href="x">link</a>')


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ('korea "north', 6, "unclosed quote"),
        ("korea)", 5, "unexpected ')'"),
        ("(korea", 0, "missing ')'"),
        ("tilte:korea", 0, "unknown field"),
        ("korea @nort-korea", 6, "unknown group"),
        ("korea - sports", 6, "lone '-'"),
        ("talks OR", 6, "OR needs"),
        ("OR talks", 0, "OR needs a word"),
        ("korea AND", 6, "AND needs"),
        ("korea NOT", 6, "nothing to exclude"),
        ("title: korea", 0, "nothing after"),
        ('korea ""', 6, "empty phrase"),
        ("korea ()", 6, "empty parentheses"),
        ("a NEAR/999 b", 2, "too large"),
        ("(a OR b) NEAR c", 9, "NEAR joins"),
        ("korea !!!", 6, "no letters"),
    ],
)
def test_malformed_queries_raise_with_position_and_hint(
    query: str, position: int, fragment: str
) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert fragment in str(info.value)
    assert info.value.position == position
    assert info.value.hint


@pytest.mark.parametrize(
    ("query", "example"),
    [
        ("title:title:korea", "title:korea"),
        ("title:summary:korea", "title:korea OR summary:korea"),
        ("korea Title:SUMMARY:kim", "title:kim OR summary:kim"),
    ],
)
def test_a_field_inside_a_field_is_refused_not_read_as_a_phrase(query: str, example: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert "one field per term" in str(info.value)
    assert example in info.value.hint
    assert info.value.position == query.lower().index("title:")


def test_a_word_with_a_colon_after_a_field_is_still_a_phrase() -> None:
    assert parse_query("title:korea:x").root == parse_query('title:"korea x"').root


@pytest.mark.parametrize("query", ["~0.5", "korea ~0.55", '~0.5 "missile launch"'])
def test_a_similarity_without_its_phrase_is_refused_not_searched_as_a_number(query: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert "similarity" in str(info.value) and "phrase" in str(info.value)
    assert '"missile launch"' in info.value.hint and info.value.hint.count("~0.5")
    assert info.value.position == query.index("~")


def test_an_empty_query_is_an_error() -> None:
    for text in ("", "   "):
        with pytest.raises(QueryError, match="empty query"):
            parse_query(text)


def test_unknown_group_suggests_the_closest() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("@nort-korea")
    assert "@north-korea" in info.value.hint


def test_too_long_a_query_is_refused_with_a_hint() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("korea " * (MAX_QUERY_LENGTH // 6 + 1))
    assert info.value.position == MAX_QUERY_LENGTH
    assert "characters" in info.value.hint


def test_too_deep_nesting_is_refused() -> None:
    ok = "(" * MAX_DEPTH + "korea" + ")" * MAX_DEPTH
    parse_query(ok)
    with pytest.raises(QueryError, match="nested"):
        parse_query("(" + ok + ")")


def test_too_many_terms_are_refused() -> None:
    with pytest.raises(QueryError, match="too many terms"):
        parse_query(" ".join(f"w{i}" for i in range(60)))


def test_help_text_documents_every_construct() -> None:
    for needle in ('"north korea"', "OR", "-sports", "title:", "site:", "NEAR/5", "@north-korea"):
        assert needle in QUERY_HELP
    assert len(QUERY_HELP.splitlines()) <= 20


# ---------------------------------------------------------------- fuzzing

_ALPHABET = st.sampled_from(
    [*'abc kor ea"()-:@/NEAROTD 0123456789\t\n', "title:", "site:", "@korea", "북한은", "é"]
)
_QUERYISH = st.lists(_ALPHABET, max_size=40).map("".join)
_DOCS = st.builds(
    lambda t, s, c: doc(title=t, summary=s, content=c),
    st.text(max_size=40),
    st.text(max_size=40),
    st.text(max_size=80),
)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=120), _QUERYISH))
def test_any_string_parses_or_raises_query_error(text: str) -> None:
    try:
        parse_query(text)
    except QueryError as e:
        assert 0 <= e.position <= len(text)


@settings(max_examples=300, deadline=None)
@given(text=_QUERYISH, document=_DOCS)
def test_evaluating_a_parsed_query_never_raises(text: str, document: Document) -> None:
    try:
        query = parse_query(text)
    except QueryError:
        return
    matched, score, why = query.evaluate(document)
    assert matched == query.matches(document)
    assert score >= 0.0
    assert isinstance(why, tuple)
