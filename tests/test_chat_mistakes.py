"""What the chat commands answer to a typing mistake or a slip (a newcomer's review): the
mistake is named, nothing is lost or stacked silently, and the reply says what to write."""

from __future__ import annotations

import re

import pytest

from bot.delivery.render import render_alert
from bot.matching import vectors
from bot.records import Article, Summary
from bot.service import feedback, subscriptions
from tests.chatbot import article, running_bot
from tests.helpers import VOLCANOES as VOLCANOES_TOPIC

ALICE = 111


def _votes(bot, chat_id: int, count: int) -> None:
    for n in range(count):
        # a vote per topic: without an article (pruned), one topic holds one vote
        bot.store.feedback.record(chat_id, f"topic-{n}", None, -1, title=f"story {n}", vector=None)


async def test_feedback_clear_with_a_word_or_a_missing_number_forgets_nothing(
    telegram_api, tmp_path
):
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/start")
        _votes(bot, ALICE, 2)
        word = (await bot.send(ALICE, "/feedback clear x"))["text"]
        missing = (await bot.send(ALICE, "/feedback clear 99"))["text"]
        korean = (await bot.send(ALICE, "/feedback clear 99", language_code="ko"))["text"]
        assert len(feedback.taught(bot.store, ALICE)) == 2  # nothing was forgotten
        one = (await bot.send(ALICE, "/feedback clear 2"))["text"]
        assert [v.title for v in feedback.taught(bot.store, ALICE)] == ["story 0"]
        every = (await bot.send(ALICE, "/feedback clear all"))["text"]
        assert feedback.taught(bot.store, ALICE) == []
        _votes(bot, ALICE, 1)
        bare = (await bot.send(ALICE, "/feedback clear"))["text"]  # as /help documents it
        assert feedback.taught(bot.store, ALICE) == []
    assert "“x” is not a number from the list" in word and "/feedback clear 1" in word
    assert "There is no #99: this chat taught 2 things; nothing was forgotten" in missing
    assert "99번은 없습니다" in korean
    assert "Forgotten: 1" in one and "Forgotten: 1" in every and "Forgotten: 1" in bare


async def test_why_as_a_reply_to_a_message_that_is_not_an_alert_says_so(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        answer = await bot.send(ALICE, "/subscribe volcanoes")
        replied = (await bot.send(ALICE, "/why", reply_to_message_id=answer["message_id"]))["text"]
        alone = (await bot.send(ALICE, "/why"))["text"]
    assert "not one of my alerts" in replied and "/why alone" in replied
    assert "none was sent here yet" in alone


async def test_why_on_an_alert_the_retention_pruned_says_its_reasons_are_gone(
    telegram_api, tmp_path
):
    """Retention removed the alert's delivery: /why says so, and a message of the bot's
    as old that was no alert is still "not one of my alerts"."""
    from datetime import timedelta

    from bot.records import utcnow
    from storage.retention import prune

    storage = {"path": str(tmp_path / "bot.db"), "retention": "30d"}
    async with running_bot(telegram_api, tmp_path, storage=storage) as bot:
        core = bot.core
        answer = await bot.send(ALICE, "/subscribe volcanoes")
        feed = core.store.feeds.upsert("https://wire.example/rss", name="Wire")
        await core.pipeline.process(feed, [])  # the first poll primes the feed
        lava = article("v1", "Volcano erupts, lava reaches the sea")
        await core.pipeline.process(core.store.feeds.get(feed.id), [lava])
        core.sender.wake()
        await telegram_api.wait_for(lambda: buttons_under(telegram_api), message="the alert")
        [alert] = buttons_under(telegram_api)
        fresh = (await bot.send(ALICE, "/why", reply_to_message_id=alert["message_id"]))["text"]
        later = utcnow() + timedelta(days=40)
        prune(core.store.db, retention=core.config.prune_after or 0, now=later)
        for message in (alert, answer):
            telegram_api.age_message(ALICE, message["message_id"], 40 * 86400)
        gone = (await bot.send(ALICE, "/why", reply_to_message_id=alert["message_id"]))["text"]
        other = (await bot.send(ALICE, "/why", reply_to_message_id=answer["message_id"]))["text"]
        korean = await bot.send(
            ALICE, "/why", reply_to_message_id=alert["message_id"], language_code="ko"
        )
    assert "보관 기간(30일)" in korean["text"]
    assert "Volcanoes" in fresh
    assert "This alert is older than the retention window (30 days); its reasons are gone" in gone
    assert "not one of my alerts" in other


async def test_why_on_a_pruned_alert_in_a_channel_or_its_discussion_says_so_too(
    telegram_api, tmp_path
):
    """A channel's alerts are posts signed by the channel, not by the bot: /why posted in
    the channel as a reply to a pruned one, or written in the channel's discussion group
    as a reply to its automatic forward, says its reasons are gone, as in a chat; before
    that, the discussion group's /why explains the channel's alert."""
    from datetime import timedelta

    from bot.records import utcnow
    from storage.retention import prune

    channel, group = -1001234567, -1009876543
    storage = {"path": str(tmp_path / "bot.db"), "retention": "30d"}
    async with running_bot(telegram_api, tmp_path, storage=storage) as bot:
        core = bot.core
        await bot.post_in_channel(channel, "/subscribe volcanoes")
        feed = core.store.feeds.upsert("https://wire.example/rss", name="Wire")
        await core.pipeline.process(feed, [])  # the first poll primes the feed
        lava = article("v1", "Volcano erupts, lava reaches the sea")
        await core.pipeline.process(core.store.feeds.get(feed.id), [lava])
        core.sender.wake()
        alert = (await telegram_api.wait_for_messages(channel, 2))[-1]
        assert "Volcano erupts" in alert["text"]
        copy = telegram_api.forward_to_discussion(channel, alert["message_id"], group)
        fresh = await bot.send(group, "/why", chat_type="supergroup", reply_to_message_id=copy)
        prune(
            core.store.db, retention=core.config.prune_after or 0, now=utcnow() + timedelta(days=40)
        )
        telegram_api.age_message(channel, alert["message_id"], 40 * 86400)
        telegram_api.age_message(group, copy, 40 * 86400)
        gone = await bot.post_in_channel(channel, "/why", reply_to=alert["message_id"])
        discussed = await bot.send(group, "/why", chat_type="supergroup", reply_to_message_id=copy)
    assert "Volcanoes" in fresh["text"], fresh["text"]
    for reply in (gone, discussed):
        assert "older than the retention window (30 days)" in reply["text"], reply["text"]


def buttons_under(api) -> list[dict]:
    return [m for m in api.sent_messages(ALICE) if m.get("reply_markup")]


async def test_quiet_hours_that_start_when_they_end_are_named_as_such(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        same = (await bot.send(ALICE, "/quiet 23:00-23:00"))["text"]
        korean = (await bot.send(ALICE, "/quiet 7-07:00", language_code="ko"))["text"]
        assert bot.store.chats.get(ALICE).quiet_start == ""
    assert "start and end at 23:00" in same and "/quiet 23:00-07:00" in same
    assert "07:00에 시작하고 끝납니다" in korean


async def test_the_same_filter_twice_is_not_stacked_and_the_reply_says_it_is_there(
    telegram_api, tmp_path
):
    async with running_bot(telegram_api, tmp_path) as bot:
        await bot.send(ALICE, "/subscribe volcanoes")
        await bot.send(ALICE, '/filter 1 ~"north korea fires a ballistic missile"')
        again = await bot.send(ALICE, '/filter 1 ~"north korea fires a ballistic missile"')
        await bot.send(ALICE, "/filter 1 -hawaii")
        both = (await bot.send(ALICE, "/filter volcanoes -Hawaii"))["text"]  # any case
        await bot.send(ALICE, "/filter 1 OR etna")
        wider = (await bot.send(ALICE, "/filter 1 OR etna"))["text"]
        [sub] = subscriptions.list_subscriptions(bot.store, ALICE)
        assert sub.narrow == '~"north korea fires a ballistic missile" (-hawaii)'
        assert sub.widen == "etna"
        await bot.send(ALICE, "/subscribe lava")
        own = (await bot.send(ALICE, "/filter 2 lava"))["text"]
        assert subscriptions.list_subscriptions(bot.store, ALICE)[1].query == "lava"
    assert "already has <code>~&quot;north korea" not in again["text"]  # quotes as typed
    assert 'already has <code>~"north korea fires a ballistic missile"</code>' in again["text"]
    assert "nothing changed" in again["text"]
    assert "already has <code>-Hawaii</code>" in both and "already has <code>etna</code>" in wider
    assert "your filter <code>lava</code> already has <code>lava</code>" in own


async def test_a_filter_term_the_topics_own_query_has_is_not_added(telegram_api, tmp_path):
    """A /filter that the topic's definition already covers (narrowing by a part it
    requires, widening by one it brings) changes nothing and says by what."""
    summit = {"id": "summits", "name": "Summits", "query": "summit -sports"}
    async with running_bot(telegram_api, tmp_path, topics=[VOLCANOES_TOPIC, summit]) as bot:
        await bot.send(ALICE, "/subscribe volcanoes")
        await bot.send(ALICE, "/subscribe summits")
        wider = (await bot.send(ALICE, "/filter volcanoes OR Lava"))["text"]
        narrower = (await bot.send(ALICE, "/filter summits -sports"))["text"]
        kept = (await bot.send(ALICE, "/filter summits -golf"))["text"]
        subs = subscriptions.list_subscriptions(bot.store, ALICE)
        assert [(s.narrow, s.widen) for s in subs] == [("", ""), ("-golf", "")]
        korean = (await bot.send(ALICE, "/filter volcanoes OR lava", language_code="ko"))["text"]
    assert (
        "Volcanoes (<code>volcanoes</code>) already brings stories with <code>Lava</code>: "
        in wider
    )
    assert "part of the topic's own query" in wider and "nothing changed" in wider
    assert "Summits (<code>summits</code>) already asks for <code>-sports</code>: " in narrower
    assert "nothing changed" not in kept
    assert "<code>lava</code>" in korean and "이미" in korean and "already" not in korean


KOREA = {"id": "korea-diplomacy", "name": "Korea: diplomacy and security", "query": "korea"}
IRAN = {
    "id": "iran-nuclear",
    "name": "Iran's nuclear programme",
    "query": "iran",
    "ko": {"name": "이란 핵 문제"},
}
TECH = {"id": "tech", "name": "Technology", "query": "software"}


async def test_words_close_to_a_topic_suggest_it_instead_of_making_a_filter(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path, topics=[KOREA, IRAN, TECH]) as bot:
        spaced = (await bot.send(ALICE, "/subscribe korea diplomacy"))["text"]
        named = (await bot.send(ALICE, "/subscribe Iran's Nuclear Programme"))["text"]
        one = (await bot.send(ALICE, "/subscribe technology"))["text"]
        in_korean = (await bot.send(ALICE, "/subscribe 이란 핵 문제", language_code="ko"))["text"]
        korean = await bot.send(ALICE, "/subscribe Korea Diplomacy", language_code="ko")
        assert subscriptions.list_subscriptions(bot.store, ALICE) == []
        # what the reply offers instead, and other deliberate filters of words, still work
        both = (await bot.send(ALICE, "/subscribe korea AND diplomacy"))["text"]
        phrase = (await bot.send(ALICE, '/subscribe "korea diplomacy"'))["text"]
        words = (await bot.send(ALICE, "/subscribe korea talks"))["text"]
        quoted = (await bot.send(ALICE, '/subscribe "technology"'))["text"]
        unknown = (await bot.send(ALICE, "/subscribe 없는주제", language_code="ko"))["text"]
        queries = [s.query for s in subscriptions.list_subscriptions(bot.store, ALICE)]
    assert "“korea diplomacy” is not a topic id" in spaced
    assert "Did you mean <code>/subscribe korea-diplomacy</code>?" in spaced
    assert "<code>/subscribe korea AND diplomacy</code> (all of them)" in spaced
    assert '<code>/subscribe "korea diplomacy"</code> (as a phrase)' in spaced
    assert "<code>/subscribe iran-nuclear</code>" in named
    assert (
        "<code>/subscribe iran-nuclear</code>" in in_korean and "“이란 핵 문제” 주제" in in_korean
    )
    assert "<code>/subscribe korea-diplomacy</code>" in korean["text"] and "주제" in korean["text"]
    assert queries == [
        "korea AND diplomacy",
        '"korea diplomacy"',
        "korea talks",
        '"technology"',
        "없는주제",
    ]
    assert "<code>/subscribe tech</code>" in one and '<code>/subscribe "technology"</code>' in one
    assert "AND" not in one and "your own filter" in quoted
    assert "your own filter" in both and "your own filter" in phrase
    assert "not one of the topics" in words  # words alone: said to be no topic
    assert "주제가 아니라" in unknown and "/topics" in unknown


async def test_a_topic_name_copied_from_topics_with_its_punctuation_suggests_the_topic(
    telegram_api, tmp_path
):
    korea = {**KOREA, "ko": {"name": "한반도 외교·안보"}}
    async with running_bot(telegram_api, tmp_path, topics=[korea, IRAN, TECH]) as bot:
        named = (await bot.send(ALICE, "/subscribe Korea: diplomacy and security"))["text"]
        korean = await bot.send(ALICE, "/subscribe 한반도 외교·안보", language_code="ko")
        assert subscriptions.list_subscriptions(bot.store, ALICE) == []  # no silent filter
        quoted = (await bot.send(ALICE, '/subscribe "Korea: diplomacy and security"'))["text"]
    assert "Did you mean <code>/subscribe korea-diplomacy</code>?" in named
    assert "<code>/subscribe Korea AND diplomacy AND and AND security</code>" in named
    assert "<code>/subscribe korea-diplomacy</code>" in korean["text"]
    assert "your own filter" in quoted  # quotes the name lacks: a deliberate phrase


async def test_test_shows_every_score_with_two_decimals_and_the_model_on_every_line(
    telegram_api, tmp_path
):
    async with running_bot(telegram_api, tmp_path) as bot:
        bot.store_articles(
            article(
                "us-rok",
                "US and South Korean envoys meet in Seoul on nuclear talks with Pyongyang",
                "The top US envoy for North Korea met his South Korean counterpart in Seoul to "
                "discuss how to restart denuclearisation talks.",
            ),
            article(
                "nk-missile",
                "North Korea fires ballistic missile into East Sea, Seoul says",
                "North Korea fired a short-range ballistic missile off its east coast on "
                "Tuesday, South Korea's Joint Chiefs of Staff said, days after Washington and "
                "Seoul wrapped up joint drills.",
            ),
            article("lava", "Lava flows from Etna", "The volcano erupted overnight."),
        )
        learned = (await bot.send(ALICE, "/test korea-diplomacy"))["text"]
        words = (await bot.send(ALICE, "/test korea OR seoul OR missile OR lava"))["text"]
    lines = [line for line in (learned + "\n" + words).splitlines() if "(score " in line]
    scores = [line.rsplit("(score ", 1)[1].rstrip(")") for line in lines]
    assert len(lines) >= 4 and all(re.fullmatch(r"\d+\.\d\d", s) for s in scores), lines
    model_lines = [line for line in learned.splitlines() if "(score " in line]
    assert model_lines and all(
        re.search(r"model \d\.\d\d(, first stage)? \(score", x) for x in model_lines
    )


MISSILE = Article(
    id="nk-missile",
    title="North Korea fires ballistic missile into East Sea, Seoul says",
    summary="North Korea fired a short-range ballistic missile off its east coast on Tuesday, "
    "South Korea's Joint Chiefs of Staff said.",
    link="https://news.example/nk-missile",
)


@pytest.mark.skipif(not vectors.available(), reason="the sentence encoder is missing")
async def test_the_matched_line_keeps_a_semantic_term_whole_with_its_similarity(
    telegram_api, tmp_path
):
    phrase = "north korea fires a ballistic missile"
    async with running_bot(telegram_api, tmp_path, fetch={"full_text": False}) as bot:
        await bot.send(ALICE, f'/subscribe ~"{phrase}" OR missile')
        core = bot.core
        feed = core.store.feeds.upsert("https://news.example/rss", name="Wire")
        await core.pipeline.process(feed, [])  # the first poll primes the feed
        await core.pipeline.process(core.store.feeds.get(feed.id), [MISSILE])
        core.sender.wake()
        sent = await telegram_api.wait_for(
            lambda: [m for m in bot.replies(ALICE) if "Matched:" in m.get("text", "")],
            message="the alert",
        )
    [line] = [x for x in sent[0]["text"].splitlines() if x.startswith("Matched:")]
    assert re.search(rf'~"{phrase}" USE 0\.\d\d\b', line), line  # quote, vector, similarity
    assert "…" not in line


def test_a_long_phrase_is_shortened_inside_its_quotes_and_extra_terms_are_left_out():
    long = '~"' + "north korea fires a ballistic missile over japan " * 4 + 'again" 0.71'
    alert = render_alert(
        chat_id=1,
        article_key=1,
        article=Article("1", "Missile launch", link="https://n.example/a"),
        summary=Summary("1", "It flew."),
        topic=None,
        footer="F",
        terms=(long, *(f"word{n}" for n in range(8))),
    )
    [line] = [x for x in alert.text.splitlines() if x.startswith("Matched:")]
    assert re.fullmatch(r'Matched: ~"north korea [^"]*…" 0\.71, word0, .*word4, …', line), line


async def test_a_lowercase_and_between_words_gets_a_hint_and_stays_a_word(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        bot.store_articles(article("lava", "Lava flows from Etna", "The volcano erupted."))
        made = (await bot.send(ALICE, "/subscribe lava and etna"))["text"]
        tried = (await bot.send(ALICE, "/test lava and etna"))["text"]
        korean = (await bot.send(ALICE, "/test lava or etna", language_code="ko"))["text"]
        queries = [s.query for s in subscriptions.list_subscriptions(bot.store, ALICE)]
    assert "your own filter" in made and "Did you mean AND?" in made
    assert "Did you mean AND?" in tried
    assert (
        "“or” 자체가 기사에 들어 있어야 하는 단어로" in korean
        and "OR 연산자를 뜻하셨나요?" in korean
    )
    assert queries == ["lava and etna"]  # the hint changes nothing
