"""A learned topic decides the same way everywhere: for its followers' alerts, for a
follower who narrowed or widened it with /filter (the model AND the filter, or the model
OR the widening), and for /latest, /test and /why.

The topic here is trained on a few labelled headlines and given a query that says the
opposite of its model, so every assertion shows which of the two decided."""

from __future__ import annotations

import pytest

from bot.matching.audience import Audience
from bot.matching.rules import RuleSet, subscription_rules
from bot.matching.topic_model import FeatureSpec, Labelled, query_groups, train_model
from bot.records import Article, Topic
from bot.service import search
from storage.store import Store
from storage.subscriptions import Subscription

POSITIVE = [
    "Iran nuclear talks resume in Vienna",
    "IAEA inspectors visit Iranian enrichment site",
    "Tehran warns over uranium enrichment deal",
    "Iran and world powers discuss nuclear accord",
]
NEGATIVE = [
    "Iran football team wins the cup",
    "Tehran traffic jams get worse",
    "Iranian film wins award at festival",
    "Oil prices climb on weak dollar",
]
QUERY = "football OR traffic OR film"  # what the model does not want: the query is wrong

TALKS = Article(id="a1", title="Iran nuclear talks resume in Vienna", link="https://x/1")
IAEA = Article(id="a2", title="IAEA inspectors visit Iranian enrichment site", link="https://x/2")
FOOTBALL = Article(id="a3", title="Iran football team wins the cup", link="https://x/3")
CRICKET = Article(id="a4", title="Cricket final drawn in Lahore", link="https://x/4")


@pytest.fixture(scope="module")
def topic(tmp_path_factory) -> Topic:
    items = [Labelled(f"a-{k}", t, "", 1) for k, t in enumerate(POSITIVE)]
    items += [Labelled(f"b-{k}", t, "", 0) for k, t in enumerate(NEGATIVE)]
    query = "@iran (nuclear OR uranium OR enrichment OR IAEA OR talks)"
    spec = FeatureSpec(query=query, groups=query_groups(query), hash_bits=12)
    path = tmp_path_factory.mktemp("model") / "iran.model"
    train_model("iran-learned", items, spec, l2=1e-3).save(path)
    return Topic(id="iran-learned", name="Iran, learned", query=QUERY, model=str(path))


def chats_for(audience: Audience, article: Article) -> list[int]:
    return [r.chat_id for r in audience.recipients(article)]


def test_followers_and_narrowed_followers_get_what_the_model_decides(topic):
    audience = Audience({topic.id: topic})
    audience.load(
        [
            Subscription(id=1, chat_id=100, topic_id=topic.id),
            Subscription(id=2, chat_id=200, topic_id=topic.id, narrow="-vienna"),
            Subscription(id=3, chat_id=300, topic_id=topic.id, widen="cricket"),
        ]
    )
    assert chats_for(audience, TALKS) == [100, 300]  # the filter takes Vienna out for 200
    assert chats_for(audience, IAEA) == [100, 200, 300]
    assert chats_for(audience, FOOTBALL) == []  # the query says yes, the model no
    assert chats_for(audience, CRICKET) == [300]  # the widening, on its own
    narrowed = next(r for r in audience.recipients(IAEA) if r.chat_id == 200)
    assert narrowed.match.why[-1].startswith("model ")  # the model's score is shown
    assert narrowed.match.score == pytest.approx(
        next(r for r in audience.recipients(IAEA) if r.chat_id == 100).match.score
    )


def test_a_narrowed_learned_topic_is_the_model_and_the_filter(topic):
    sub = Subscription(id=7, chat_id=1, topic_id=topic.id, narrow="-vienna")
    rules = subscription_rules(sub, {topic.id: topic})
    assert [(r.key, r.model) for r in rules] == [("f:7", topic)]
    ruleset = RuleSet()
    for rule in rules:
        ruleset.add(rule)
    assert [m.topic for m in ruleset.match(IAEA)] == ["f:7"]
    assert ruleset.match(TALKS) == [] and ruleset.match(FOOTBALL) == []
    assert not ruleset.evaluate("f:7", FOOTBALL).matched
    assert ruleset.evaluate("f:7", IAEA).matched


def test_alerts_and_why_pick_the_same_subscription_of_a_chat(topic):
    """One walk decides both: the chat's best-scoring subscription, whichever of the
    query and the model scored it."""
    subs = [
        Subscription(id=2, chat_id=200, topic_id=topic.id, narrow="-vienna"),
        Subscription(id=4, chat_id=200, topic_id="query", query="IAEA OR inspectors"),
        Subscription(id=5, chat_id=200, topic_id="query", query="iranian"),
    ]
    audience = Audience({topic.id: topic})
    audience.load(subs)
    ruleset = RuleSet()
    for sub in subs:
        for rule in subscription_rules(sub, {topic.id: topic}):
            ruleset.add(rule)
    matches = ruleset.match(IAEA)
    assert sorted(m.topic for m in matches) == ["f:2", "q:4", "q:5"]
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    [alert] = audience.recipients(IAEA)
    assert (alert.match.topic, alert.match.score) == (matches[0].topic, matches[0].score)


async def test_latest_and_test_use_the_model(topic, tmp_path):
    store = Store.open(tmp_path / "bot.db")
    try:
        store.articles.add_new(None, [TALKS, IAEA, FOOTBALL, CRICKET])
        topics = {topic.id: topic}
        found = await search.latest_for_topic(store, topic)
        assert sorted(f.article.id for f in found) == ["a1", "a2"]
        result = await search.test_query(store, topics, topic.id)
        assert result.ok and result.matched == 2 and result.scanned == 4
        assert all(f.why[-1].startswith("model ") for f in result.found)
        store.chats.ensure(5, type="private")
        sub, _ = store.subscriptions.add(5, topic.id)
        store.subscriptions.replace(sub.id, narrow="-vienna")
        found = await search.latest_for_chat(store, topics, 5)
        assert [f.article.id for f in found] == ["a2"]  # the model, then the filter
    finally:
        store.close()


def test_a_model_that_reads_vectors_gets_the_stored_one_and_embeds_nothing_again(tmp_path):
    from bot.matching import vectors
    from bot.matching.engine import model_match

    if not vectors.available():
        pytest.skip("the sentence encoder is not installed")
    items = [Labelled(f"a-{k}", t, "", 1) for k, t in enumerate(POSITIVE)]
    items += [Labelled(f"b-{k}", t, "", 0) for k, t in enumerate(NEGATIVE)]
    query = "@iran (nuclear OR uranium OR enrichment OR IAEA OR talks)"
    spec = FeatureSpec(query=query, groups=query_groups(query), hash_bits=12, embedder="use-m3")
    path = tmp_path / "iran-use.model"
    train_model("iran-use", items, spec, l2=1e-3).save(path)
    kd = Topic(id="iran-use", name="Iran, learned on USE", query=query, model=str(path))
    audience = Audience({kd.id: kd})
    audience.load([Subscription(id=1, chat_id=1, topic_id=kd.id)])
    assert audience.needs_vectors  # so the pipeline makes (and stores) the vector first
    talks = Article(
        id="k1",
        title="Iran and world powers hold nuclear talks in Vienna",
        summary="Envoys met to discuss uranium enrichment and the IAEA's inspections.",
    )
    stored = vectors.from_blob(vectors.to_blob(vectors.article_vector(talks)))
    embedded = vectors.STATS["texts"]
    [alert] = audience.recipients(talks, vector=stored)
    assert vectors.STATS["texts"] == embedded  # the model read the stored vector
    assert alert.match.score == pytest.approx(model_match(talks, kd).score, abs=0.01)


def test_the_shipped_model_asks_for_the_stored_vector_and_makes_its_e5_block():
    from bot.matching.topics import builtin_topics

    kd = builtin_topics()["korea-diplomacy"]
    audience = Audience({kd.id: kd})
    audience.load([Subscription(id=1, chat_id=1, topic_id=kd.id)])
    # it reads the stored USE vector (made once at ingest) beside its e5 vector, which is
    # made inside the decision, for articles past the anchor gate only
    assert audience.needs_vectors
    article = Article(id="n", title="Stocks rise as oil prices fall", summary="Markets gained.")
    assert audience.passage_texts(article) == []  # ruled out by the gate: no e5 vector


def test_the_e5_vector_a_learned_topic_needs_can_be_made_before_it_decides():
    """The pipeline makes the e5 vectors the followed models will read in a thread first
    (``Audience.passage_texts``); the decision on the loop then embeds nothing."""
    from bot.matching import passages
    from bot.matching.topics import builtin_topics

    if not passages.available():
        pytest.skip("the e5 model is not installed")
    kd = builtin_topics()["korea-diplomacy"]
    audience = Audience({kd.id: kd})
    audience.load([Subscription(id=1, chat_id=1, topic_id=kd.id)])
    talks = Article(id="k1", title="North Korea and the US resume nuclear talks in Geneva")
    assert audience.passage_texts(CRICKET) == []  # ruled out by the gate: no e5 at all
    passages.forget()
    made = passages.STATS["texts"]
    assert audience.passage_texts(talks) == []  # the cascade's first head settles it
    [alert] = audience.recipients(talks)
    assert alert.chat_id == 1 and passages.STATS["texts"] == made  # no e5 vector at all
    # in the cascade's band: the full model decides, with the e5 vector made first
    ruling = Article(id="k2", title="Korean shipbuilders win a trade ruling against the EU")
    texts = audience.passage_texts(ruling)
    assert len(texts) == 1
    passages.remembered(texts)
    made = passages.STATS["texts"]
    audience.recipients(ruling)
    assert passages.STATS["texts"] == made


def test_a_model_file_named_like_a_shipped_model_is_read_as_the_file(topic, tmp_path, monkeypatch):
    """``model = "bin.dat"``: no slash and no ``.model``, but an existing file: a path."""
    from pathlib import Path

    from bot.config.loader import config_from_dict
    from bot.matching.topic_model import model_for

    (tmp_path / "bin.dat").write_bytes(Path(topic.model).read_bytes())
    monkeypatch.chdir(tmp_path)
    entry = {"id": "iran-learned", "name": "Iran", "query": QUERY, "model": "bin.dat"}
    config = config_from_dict({"topics": [entry]}, env={})
    learned = config.topics["iran-learned"]
    assert model_for(learned) is not None
    audience = Audience({learned.id: learned})
    audience.load([Subscription(id=1, chat_id=100, topic_id=learned.id)])
    assert chats_for(audience, IAEA) == [100] and chats_for(audience, FOOTBALL) == []


def test_a_model_that_is_neither_a_shipped_name_nor_a_file_names_both(tmp_path, monkeypatch):
    from bot.config.loader import config_from_dict
    from bot.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    entry = {"id": "iran-learned", "name": "Iran", "query": QUERY, "model": "bin.dat"}
    with pytest.raises(ConfigError) as info:
        config_from_dict({"topics": [entry]}, env={})
    assert info.value.key == "topics[0].model"
    message = str(info.value)
    assert "no shipped model named 'bin.dat'" in message and "no model file at bin.dat" in message
