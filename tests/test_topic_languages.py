"""Topics in the reader's language: a topic carries its name and description in Korean
(``ko.name``, ``ko.description``), and a Korean chat sees them wherever a topic is named
(the alert's topic line, /topics, /subscribe, /list, /settings, /test, /latest, /why); an
English chat, and a topic without a translation, keep the English ones."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from bot.config.loader import TOKEN_ENV, config_from_dict, load_config
from bot.errors import ConfigError
from bot.matching.topics import builtin_topics, parse_topics
from bot.records import Topic, TopicText
from tests.chatbot import VOLCANOES, article, buttons, running_bot
from tests.helpers import REPO

SEOUL, LONDON = 333, 444
VOLCANOES_KO = {
    **VOLCANOES,
    "ko": {"name": "화산", "description": "화산 폭발과 그 배경이 된 화산 소식."},
}
G7 = {"id": "g7", "name": "G7", "query": "g7 OR summit"}  # no translation: English for all
TOPICS = [VOLCANOES_KO, G7]
ERUPTION = article("e1", "Volcano erupts in Iceland, lava reaches the coast road")


def error_for(topic: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"topics": [topic]}, env={})
    return info.value


# -- the record and the files ----------------------------------------------------------------


def test_a_topic_is_named_in_a_language_it_has_and_in_english_otherwise():
    topic = Topic(
        id="t",
        name="Volcanoes",
        query="volcano",
        description="Eruptions.",
        translations=(TopicText("ko", name="화산"),),
    )
    assert topic.name_in("ko") == "화산" and topic.name_in("en") == "Volcanoes"
    assert topic.description_in("ko") == "Eruptions."  # no Korean description: the English one
    assert topic.name_in("ja") == "Volcanoes"


def test_every_built_in_topic_has_a_korean_name_and_description():
    for topic in builtin_topics().values():
        assert topic.name_in("ko") != topic.name, topic.id
        assert topic.description_in("ko") != topic.description, topic.id
    korea = builtin_topics()["korea-diplomacy"]
    assert korea.name_in("ko") == "한반도 외교·안보"
    assert korea.description_in("ko").startswith("남북한의 대외 관계와 외교·안보")


def test_the_example_config_shows_a_korean_name():
    path = REPO / "config.example.toml"
    config = load_config(path, env={TOKEN_ENV: "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"})
    own = config.topics[tomllib.loads(path.read_text(encoding="utf-8"))["topics"][0]["id"]]
    assert own.name_in("ko") != own.name and own.description_in("ko") != own.description


def test_a_topics_file_takes_dotted_keys_and_a_table():
    data = tomllib.loads(
        """
[[topics]]
id = "volcanoes"
name = "Volcanoes"
query = "volcano"
ko.name = "화산"

[[topics]]
id = "chips"
name = "Chips"
query = "semiconductor"
[topics.ko]
name = "반도체"
description = "반도체 업계   소식."
"""
    )
    topics = parse_topics(data, origin="mine.toml")
    assert topics["volcanoes"].name_in("ko") == "화산"
    assert topics["chips"].description_in("ko") == "반도체 업계 소식."  # spaces folded


def test_an_operators_topic_is_named_in_korean_from_its_config():
    config = config_from_dict({"topics": TOPICS}, env={})
    assert config.topics["volcanoes"].name_in("ko") == "화산"
    assert config.topics["g7"].name_in("ko") == "G7"


def test_a_copied_built_in_topic_keeps_its_korean_name_unless_renamed():
    korea = builtin_topics()["korea-diplomacy"]
    same = {"id": korea.id, "name": korea.name, "query": "@north-korea talks"}
    renamed = {"id": korea.id, "name": "North Korea talks", "query": "@north-korea talks"}
    kept = config_from_dict({"topics": [same]}, env={}).topics[korea.id]
    assert kept.name_in("ko") == "한반도 외교·안보"
    assert kept.description_in("ko") == ""  # its description changed (to none): not the old one
    changed = config_from_dict({"topics": [renamed]}, env={}).topics[korea.id]
    assert changed.name_in("ko") == "North Korea talks"
    own = config_from_dict({"topics": [{**renamed, "ko": {"name": "북한 협상"}}]}, env={})
    assert own.topics[korea.id].name_in("ko") == "북한 협상"


@pytest.mark.parametrize(
    ("extra", "key", "says"),
    [
        ({"ko": "화산"}, "topics[0].ko", 'ko.name = "..."'),
        ({"ko": {"title": "화산"}}, "topics[0].ko.title", "a name and a description"),
        ({"ko": {"name": 3}}, "topics[0].ko.name", "must be a string"),
        ({"ko": {"name": " "}}, "topics[0].ko", "is empty"),
        ({"kr": {"name": "화산"}}, "topics[0].kr", "ko (한국어)"),
        ({"en": {"name": "Volcanoes"}}, "topics[0].en", "the topic's name and description"),
    ],
)
def test_a_wrong_translation_is_named_with_its_key(extra, key, says):
    e = error_for({**VOLCANOES, **extra})
    assert e.key == key and says in str(e), str(e)


def test_an_unknown_key_of_a_topic_is_still_named():
    e = error_for({**VOLCANOES, "colour": "red"})
    assert e.key == "topics[0].colour" and "ko" in str(e)  # the allowed keys include ko


def test_a_wrong_translation_in_a_topics_file_is_named():
    data = {"topics": [{**VOLCANOES, "ko": {"nmae": "화산"}}]}
    with pytest.raises(ConfigError) as info:
        parse_topics(data, origin="mine.toml")
    assert info.value.key == "mine.toml.topics[0].ko.nmae"


# -- through the bot ---------------------------------------------------------------------------


async def test_a_korean_chat_sees_topics_by_their_korean_names(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path, topics=TOPICS) as bot:
        bot.store_articles(ERUPTION)

        async def ko(text: str) -> str:
            return (await bot.send(SEOUL, text, language_code="ko"))["text"]

        listed_topics = await ko("/topics")
        followed = await ko("/subscribe korea-diplomacy")
        volcanoes = await ko("/subscribe volcanoes")
        g7 = await ko("/subscribe g7")
        listed = await ko("/list")
        settings = await bot.send(SEOUL, "/settings", language_code="ko")
        tested = await ko("/test volcanoes")
        latest = await ko("/latest volcanoes")
        latest_all = await ko("/latest")
        left = await ko("/unsubscribe volcanoes")
        english_topics = (await bot.send(LONDON, "/topics", language_code="en"))["text"]
        english = (await bot.send(LONDON, "/subscribe volcanoes", language_code="en"))["text"]

    assert "<b>한반도 외교·안보</b> — <code>korea-diplomacy</code>" in listed_topics
    assert "남북한의 대외 관계와 외교·안보" in listed_topics
    assert "<b>화산</b> — <code>volcanoes</code>" in listed_topics
    assert "화산 폭발과 그 배경이 된 화산 소식." in listed_topics
    assert "<b>G7</b> — <code>g7</code>" in listed_topics  # no translation: its own name
    assert "Korea: diplomacy" not in listed_topics and "Eruptions" not in listed_topics
    # the particles follow the Korean names: 보 takes 를, 산 을, and G7 (칠) 을
    assert "“한반도 외교·안보”(korea-diplomacy)를 구독합니다" in followed
    assert "“화산”(volcanoes)을 구독합니다" in volcanoes
    assert "“G7”(g7)을 구독합니다" in g7
    assert "한반도 외교·안보 (<code>korea-diplomacy</code>)" in listed
    assert "화산 (<code>volcanoes</code>)" in listed
    assert "✅ 한반도 외교·안보" in [text for text, _ in buttons(settings)]
    assert "✅ 화산" in [text for text, _ in buttons(settings)]
    assert "<code>화산</code>" in tested and ERUPTION.title in tested
    assert "<b>화산: 최근 기사</b>" in latest
    assert "해당: 화산" in latest_all
    assert "화산 (<code>volcanoes</code>)을 구독하지 않습니다" in left
    assert "<b>Volcanoes</b> — <code>volcanoes</code>" in english_topics
    assert "Eruptions and the volcanoes behind them." in english_topics
    assert "한반도" not in english_topics and "화산" not in english_topics
    assert "now follow “Volcanoes” (volcanoes)" in english


async def test_a_korean_chats_alert_and_why_name_the_topic_in_korean(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path, topics=TOPICS) as bot:
        core = bot.core
        for chat_id, language in ((SEOUL, "ko"), (LONDON, "en")):
            core.store.chats.ensure(chat_id, type="private")
            core.store.chats.choose_language(chat_id, language)
            core.store.subscriptions.add(chat_id, "volcanoes")
        feed = core.store.feeds.upsert("https://volcano.example/rss", name="Volcano News")
        await core.pipeline.process(feed, [])  # the first poll primes the feed
        await core.pipeline.process(core.store.feeds.get(feed.id), [ERUPTION])
        core.sender.wake()
        await telegram_api.wait_for(
            lambda: telegram_api.sent_messages(SEOUL) and telegram_api.sent_messages(LONDON),
            message="the alerts",
        )
        [korean] = telegram_api.sent_messages(SEOUL)
        [english] = telegram_api.sent_messages(LONDON)
        why = (await bot.send(SEOUL, "/why", language_code="ko"))["text"]
        why_english = (await bot.send(LONDON, "/why", language_code="en"))["text"]
    assert "\n주제: 화산\n" in korean["text"]
    assert "\nTopic: Volcanoes\n" in english["text"]
    assert why.startswith("화산 구독에 따라 보냈습니다")
    assert why_english.startswith("Sent for Volcanoes")
