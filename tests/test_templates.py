"""Alert templates: parts and their order, checked at load, the default is the old layout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config.loader import ConfigError, config_from_dict
from bot.config.template import DEFAULT_TEMPLATE, TemplateError, parse_template
from bot.delivery.render import render_alert
from bot.records import Article, Summary, Topic
from bot.service import settings as chat_settings
from storage.store import Store
from tests.chatbot import running_bot
from tests.fakes.telegram_api import validate_telegram_html

ARTICLE = Article(
    id="1",
    title="Envoys meet in Seoul",
    link="https://news.example/a",
    summary="They met.",
    source="Wire",
    published=datetime(2018, 10, 29, 4, 30, tzinfo=UTC),
    image="https://img.example/a.jpg",
)
TOPIC = Topic(id="k", name="Korea", query="korea")


def render(parts=DEFAULT_TEMPLATE, terms=()):
    return render_alert(
        chat_id=1,
        article_key=1,
        article=ARTICLE,
        summary=Summary("1", "Envoys met to talk about the peninsula."),
        topic=TOPIC,
        footer="Join us.",
        terms=terms,
        parts=parts,
    )


def test_the_default_template_is_the_usual_layout():
    alert = render()
    assert alert.html == (
        '<b><a href="https://news.example/a">Envoys meet in Seoul</a></b>\n'
        "<i>Wire · 29 Oct 2018 04:30 UTC</i>\n\n"
        "Envoys met to talk about the peninsula.\n\n"
        "Topic: Korea\nJoin us."
    )
    assert alert.text == (
        "Envoys meet in Seoul\nWire · 29 Oct 2018 04:30 UTC\n\n"
        "Envoys met to talk about the peninsula.\nhttps://news.example/a\n\n"
        "Topic: Korea\nJoin us."
    )
    assert alert.button and alert.image == "https://img.example/a.jpg"


def test_parts_are_chosen_and_ordered():
    alert = render(("summary", "title", "time", "footer"))
    assert alert.html == (
        "Envoys met to talk about the peninsula.\n\n"
        '<b><a href="https://news.example/a">Envoys meet in Seoul</a></b>\n'
        "<i>29 Oct 2018 04:30 UTC</i>\n\nJoin us."
    )
    assert not alert.button and alert.image == ""  # left out: no button, no picture
    assert validate_telegram_html(alert.html) is None
    headline = render(("title", "button"))
    assert headline.html == '<b><a href="https://news.example/a">Envoys meet in Seoul</a></b>'
    assert headline.text == "Envoys meet in Seoul\nhttps://news.example/a"
    assert headline.button


@pytest.mark.parametrize(
    ("value", "kind"),
    [("title, sumary", "unknown"), ("title title", "twice"), ("source, time", "no-text"), ([1], "unknown")],
)  # fmt: skip
def test_bad_templates_are_refused_with_a_reason(value, kind):
    with pytest.raises(TemplateError) as err:
        parse_template(value)
    assert err.value.kind == kind


def test_templates_in_the_config_are_checked_at_load():
    topics = [{"id": "k", "name": "K", "query": "korea"}]
    cfg = config_from_dict(
        {
            "alerts": {"template": "title, summary, button"},
            "topics": topics,
            "channels": [{"chat_id": -1001, "topics": ["k"], "template": ["summary", "title"]}],
        },
        env={},
    )
    assert cfg.alerts.template == ("title", "summary", "button")
    assert cfg.channels[0].template == ("summary", "title")
    assert config_from_dict({}, env={}).alerts.template == DEFAULT_TEMPLATE
    with pytest.raises(ConfigError) as err:
        config_from_dict(
            {"topics": topics, "channels": [{"chat_id": -1001, "topics": ["k"], "template": ["title", "pic"]}]},
            env={},
        )  # fmt: skip
    message = str(err.value)
    assert "channels[0].template" in message and "unknown part 'pic'" in message
    assert "the parts are: title, source, time" in message


def test_a_chat_sets_its_template(tmp_path):
    store = Store.open(tmp_path / "db.sqlite")
    store.chats.ensure(1)
    assert chat_settings.set_template(store, 1, "Title,  summary button").ok
    assert store.chats.get(1).template == "title, summary, button"
    bad = chat_settings.set_template(store, 1, "title, photo")
    assert not bad.ok and bad.error is not None and bad.error.part == "photo"
    assert chat_settings.set_template(store, 1, "default").ok
    assert store.chats.get(1).template == ""
    store.close()


async def test_template_command(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        shown = (await bot.send(5, "/template"))["text"]
        done = (await bot.send(5, "/template title, summary"))["text"]
        refused = (await bot.send(5, "/template title, photo"))["text"]
        korean = (await bot.send(6, "/template title title", language_code="ko"))["text"]
        assert bot.store.chats.get(5).template == "title, summary"
    assert "title, source, time, summary, topic, terms, image, button, footer" in shown
    assert "now show: <code>title, summary</code>" in done
    assert "There is no part “photo”." in refused
    assert "두 번" in korean
