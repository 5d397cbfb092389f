"""Issue 16's small things: bracketed words in titles, filters of only exclusions, the
matched terms of a personal filter, the footer of a private chat."""

from __future__ import annotations

import pytest

from bot.delivery.render import choose_footer, render_alert
from bot.ingest.parse import parse_feed
from bot.matching.parser import parse_query
from bot.records import Article, Summary
from bot.service import subscriptions
from bot.service.chats import ChatInfo
from storage.store import Store
from tests.chatbot import running_bot


def test_escaped_brackets_in_a_title_keep_their_words():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><guid>1</guid><title>Netflix renews &lt;Squid Game&gt; for a third season</title>
    <description>&lt;p&gt;Fans of &lt;Squid Game&gt; cheered.&lt;/p&gt;</description></item>
    <item><guid>2</guid><title><![CDATA[Director of <Parasite> returns]]></title></item>
    <item><guid>3</guid><title>A &lt;b&gt;bold&lt;/b&gt; move</title></item>
    </channel></rss>"""
    first, second, third = parse_feed(body, url="x").articles
    assert first.title == "Netflix renews <Squid Game> for a third season"
    assert first.summary == "Fans of <Squid Game> cheered."
    assert second.title == "Director of <Parasite> returns"
    assert third.title == "A bold move"  # real markup is still markup


@pytest.mark.parametrize(
    ("query", "only"),
    [
        ("-sports", True),
        ("NOT sports -kpop", True),
        ("korea OR -sports", True),
        ("korea -sports", False),
        ('"north korea" (talks OR summit) -sports', False),
        ("(korea OR japan) -sports", False),
    ],
)
def test_only_exclusions(query, only):
    assert parse_query(query).only_exclusions is only


def test_subscribing_to_only_exclusions_is_refused(tmp_path):
    store = Store.open(tmp_path / "db.sqlite")
    result = subscriptions.subscribe(store, {}, ChatInfo(chat_id=1), "-sports")
    assert not result.ok and result.problem == "only-exclusions"
    assert store.subscriptions.for_chat(1) == []
    assert subscriptions.subscribe(store, {}, ChatInfo(chat_id=1), "korea -sports").ok
    store.close()


async def test_the_reply_says_what_to_add(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path) as bot:
        reply = (await bot.send(7, "/subscribe -sports"))["text"]
    assert "only leaves things out" in reply
    assert "/subscribe korea -sports" in reply


def _alert(terms=(), topic=None):
    return render_alert(
        chat_id=1,
        article_key=1,
        article=Article("1", "Envoys meet", link="https://n.example/a"),
        summary=Summary("1", "They met."),
        topic=topic,
        footer="F",
        terms=terms,
    )


def test_a_personal_filters_alert_shows_what_matched():
    alert = _alert(terms=("north korea", "talks", "talks"))
    assert alert.html.endswith("\n\nMatched: north korea, talks\nF")
    assert "Matched:" not in _alert().html


def test_a_private_chat_gets_a_footer_for_a_private_chat():
    private = choose_footer(
        chat_footer="", global_footer="", chat_name="", bot_name="@newsbot", private=True
    )
    assert private.startswith("Share @newsbot on Telegram with friends")
    group = choose_footer(chat_footer="", global_footer="", chat_name="", bot_name="@newsbot")
    assert group.startswith("Join @newsbot on Telegram")
    own = choose_footer(
        chat_footer="", global_footer="Ours.", chat_name="", bot_name="@b", private=True
    )
    assert own == "Ours."  # the operator's footer is kept as written
