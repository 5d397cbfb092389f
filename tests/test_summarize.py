"""Extractive summaries: the key facts, in budget, without boilerplate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.records import Article
from bot.summary.extractive import summarize
from tests.helpers import SHARED

SEED = SHARED / "data" / "seed" / "straits-times-korea-talks.txt"

# A small wire story written for these tests, with the clutter a republisher adds.
TITLE = "Japan and Australia sign defence pact amid China concerns"
STORY = """\
Japanese Prime Minister and Australian Prime Minister shake hands in Tokyo on Jan 6, 2022. PHOTO: AFP

TOKYO (REUTERS) - Japan and Australia signed a landmark defence pact on Thursday that lets their troops train on each other's soil, a step both governments said would deepen security ties as China expands its military reach.

The Reciprocal Access Agreement, negotiated for seven years, sets the legal rules for joint exercises and disaster relief operations.

"This is a landmark treaty that will take our security cooperation to a new level," Japan's prime minister said at a virtual signing ceremony.

Australia's prime minister said the pact showed the two democracies' commitment to a free and open Indo-Pacific region.

China's foreign ministry said on Friday that the agreement should not target any third party.

The agreement still needs approval by Japan's parliament before it takes effect.

By Jane Doe

Join ST's Telegram channel and get the latest breaking news delivered to you.
"""


def _seed_article() -> Article:
    title, body = SEED.read_text(encoding="utf-8").split("\n", 1)
    return Article(id="seed", title=title, content=body)


def test_own_article_summary_holds_the_lead_facts_without_boilerplate():
    summary = summarize(Article(id="jp-au", title=TITLE, content=STORY))
    assert summary.method == "extractive"
    assert "defence pact" in summary.text
    assert "Japan and Australia signed" in summary.text
    for junk in ("PHOTO", "TOKYO (REUTERS)", "Join ST", "By Jane Doe"):
        assert junk not in summary.text
    assert 0 < len(summary.text) <= 450


@pytest.mark.skipif(not SEED.exists(), reason="../shared/data is not beside this checkout")
def test_seed_article_summary_names_envoy_talks_and_denuclearisation():
    summary = summarize(_seed_article())
    text = summary.text
    assert "envoy" in text
    assert "talks" in text
    assert "denuclearisation" in text
    for junk in ("PHOTO", "SEOUL (REUTERS)", "Join ST", "Telegram"):
        assert junk not in text
    assert len(text) <= 450


@pytest.mark.parametrize("budget", [120, 200, 300, 450, 800])
def test_summary_is_whole_sentences_in_article_order_within_budget(budget):
    article = Article(id="jp-au", title=TITLE, content=STORY)
    text = summarize(article, max_chars=budget).text
    assert len(text) <= budget
    body = STORY.replace("\n", " ")
    positions = []
    remaining = text
    for sentence in _sentences_of(text):
        assert sentence in body, sentence  # whole sentences, verbatim
        positions.append(body.index(sentence))
        remaining = remaining.replace(sentence, "", 1)
    assert positions == sorted(positions)
    assert remaining.strip() == ""


def _sentences_of(text: str) -> list[str]:
    from bot.summary.sentences import split_sentences

    return split_sentences(text)


def test_a_bigger_budget_never_gives_less():
    article = Article(id="jp-au", title=TITLE, content=STORY)
    lengths = [len(summarize(article, max_chars=b).text) for b in (150, 300, 450, 900)]
    assert lengths == sorted(lengths)
    assert lengths[-1] > lengths[0]


def test_near_duplicate_sentences_appear_once():
    content = (
        "The central bank raised its key interest rate by half a point on Tuesday.\n\n"
        "The central bank raised its key interest rate by half a point on Tuesday, it said.\n\n"
        "Markets had expected a smaller increase after weak retail figures last month."
    )
    text = summarize(Article(id="r", title="Rates up", content=content), max_chars=450).text
    assert text.count("raised its key interest rate") == 1
    assert "Markets had expected" in text


def test_sentences_with_links_are_left_out():
    content = (
        "The ministry confirmed the closure of three ports on Monday after the storm.\n\n"
        "Read the statement at https://example.org/statement and share it widely.\n\n"
        "Shipping firms said delays could last a week."
    )
    text = summarize(Article(id="u", title="Ports shut", content=content)).text
    assert "http" not in text
    assert "Shipping firms said" in text


def test_feed_summary_html_is_used_when_there_is_no_full_text():
    article = Article(
        id="h",
        title="Storm closes ports",
        summary="<p>A powerful storm closed <b>three ports</b> on the east coast on Monday.</p>"
        "<p>Shipping firms said delays could last a week.</p>",
    )
    text = summarize(article).text
    assert "<" not in text
    assert text.startswith("A powerful storm closed three ports on the east coast on Monday.")


def test_full_text_is_preferred_over_a_teaser():
    article = Article(
        id="f",
        title=TITLE,
        summary="Japan and Australia sign a pact.",
        content=STORY,
    )
    assert "Reciprocal Access Agreement" in summarize(article, max_chars=900).text


def test_summary_never_just_repeats_the_title_when_there_is_a_body():
    title = "Storm closes three ports on east coast"
    article = Article(
        id="t",
        title=title,
        summary=f"<p>{title}.</p><p>Shipping firms said the delays could last a week or more.</p>",
    )
    text = summarize(article).text
    assert text != title
    assert "Shipping firms said" in text


def test_body_that_only_quotes_part_of_the_title_counts_as_no_body():
    article = Article(
        id="t",
        title="0042: consulting lessons, there are no strings on me, focus goof",
        summary='<a href="https://example.org/0042">0042: consulting lessons, there are no strings '
        "on me</a>",
    )
    summary = summarize(article)
    assert summary.method == "title"


def test_title_only_article_gives_the_title_marked_as_such():
    summary = summarize(Article(id="t", title="Storm closes three ports"))
    assert summary.text == "Storm closes three ports"
    assert summary.method == "title"


def test_single_sentence_longer_than_budget_is_cut_at_a_word_boundary():
    sentence = "The committee " + "examined the long and winding proposal " * 20 + "today."
    text = summarize(Article(id="l", title="Long", content=sentence), max_chars=100).text
    assert len(text) <= 100
    assert text.endswith("…")
    assert sentence.startswith(text[:-1])
    assert sentence[len(text) - 1] == " "  # cut between words


@pytest.mark.parametrize("budget", [1, 2, 5, 19])
def test_tiny_budgets_are_honoured(budget):
    text = summarize(Article(id="jp-au", title=TITLE, content=STORY), max_chars=budget).text
    assert 0 < len(text) <= budget


def test_budget_below_one_is_refused():
    with pytest.raises(ValueError, match="max_chars"):
        summarize(Article(id="x", title="T"), max_chars=0)


@pytest.mark.parametrize(
    "article",
    [
        Article(id="e", title=""),
        Article(id="e", title="", content="PHOTO: REUTERS"),
        Article(id="e", title="Short", content="Yes."),
        Article(id="e", title="Only junk", content="Join ST's Telegram channel."),
    ],
)
def test_summary_is_never_empty(article):
    assert summarize(article).text.strip()


_PIECES = st.sampled_from(
    [
        "The envoy met officials in Seoul on Monday. ",
        "Mr. Kim said the U.S. would respond. ",
        '"We will win," he said. ',
        "PHOTO: REUTERS\n",
        "SEOUL (REUTERS) - ",
        "Join ST's Telegram channel and get the latest breaking news delivered to you.\n",
        "\n\n",
        "<p>",
        "</p>",
        "… ",
        "word ",
        "x" * 120,
    ]
)


@given(
    title=st.text(max_size=80),
    content=st.lists(_PIECES, max_size=40).map(" ".join),
    summary=st.text(max_size=200),
    budget=st.integers(min_value=20, max_value=1000),
)
@settings(max_examples=150, deadline=None)
def test_any_article_gives_a_non_empty_summary_within_budget(title, content, summary, budget):
    article = Article(id="p", title=title, content=content, summary=summary)
    text = summarize(article, max_chars=budget).text
    assert text.strip()
    assert len(text) <= budget
    assert "Join ST" not in text
