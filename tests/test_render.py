"""Rendering: valid Telegram HTML whatever the feed holds, footer rules, 4096 limit."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.records import Article, Summary, Topic
from bot.render import MAX_MESSAGE_CHARS, choose_footer, render_alert
from tests.fakes.telegram_api import validate_telegram_html

TOPIC = Topic(id="korea-diplomacy", name="Korea diplomacy", query="korea")


def render(
    title: str, summary: str, link: str = "https://news.example/a?b=1&c=2", footer: str = "F"
):
    article = Article(
        id="1",
        title=title,
        link=link,
        source="Reuters <wire>",
        published=datetime(2018, 10, 29, 4, 30, tzinfo=UTC),
    )
    return render_alert(
        chat_id=1,
        article_key=1,
        article=article,
        summary=Summary(article_id="1", text=summary),
        topic=TOPIC,
        footer=footer,
    )


def test_alert_has_linked_bold_title_source_time_summary_topic_footer():
    alert = render("Talks & <progress>", "Envoys met in Seoul.", footer="Join us.")
    assert alert.html.startswith(
        '<b><a href="https://news.example/a?b=1&amp;c=2">Talks &amp; &lt;progress&gt;</a></b>'
    )
    assert "<i>Reuters &lt;wire&gt; · 29 Oct 2018 04:30 UTC</i>" in alert.html
    assert "Envoys met in Seoul." in alert.html
    assert "Topic: Korea diplomacy" in alert.html
    assert alert.html.endswith("Join us.")
    assert validate_telegram_html(alert.html) is None
    assert alert.disable_preview


def test_javascript_links_are_not_linked():
    alert = render("Title", "Summary", link="javascript:alert(1)")
    assert "href" not in alert.html and validate_telegram_html(alert.html) is None


def test_message_never_exceeds_telegram_limit():
    alert = render("T" * 200, "word " * 3000)
    assert len(alert.html) <= MAX_MESSAGE_CHARS
    assert validate_telegram_html(alert.html) is None


def test_footer_precedence():
    assert (
        choose_footer(chat_footer="Mine", global_footer="Ours", chat_name="@c", bot_name="@b")
        == "Mine"
    )
    assert (
        choose_footer(chat_footer="", global_footer="Ours", chat_name="@c", bot_name="@b") == "Ours"
    )
    assert choose_footer(
        chat_footer="", global_footer="", chat_name="@c", bot_name="@b"
    ).startswith("Join @c on Telegram")
    assert choose_footer(chat_footer="", global_footer="", chat_name="", bot_name="@b").startswith(
        "Join @b on Telegram"
    )


@settings(max_examples=200, deadline=None)
@given(title=st.text(max_size=300), summary=st.text(max_size=5000), footer=st.text(max_size=200))
def test_any_feed_text_renders_valid_telegram_html(title, summary, footer):
    alert = render(title, summary, footer=footer)
    assert len(alert.html) <= MAX_MESSAGE_CHARS
    assert validate_telegram_html(alert.html) is None, alert.html
