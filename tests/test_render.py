"""Rendering: valid Telegram HTML whatever the feed holds, footer rules, 4096 limit."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.labels import alert_labels
from bot.delivery.render import (
    ALSO_RESERVE,
    MAX_MESSAGE_CHARS,
    AlertLabels,
    DigestLine,
    also_line,
    choose_footer,
    render_alert,
    render_digest,
    with_also,
)
from bot.records import Article, Summary, Topic
from tests.fakes.telegram_api import validate_telegram_html

TOPIC = Topic(id="korea-diplomacy", name="Korea diplomacy", query="korea")
# The fixed wording in each language the bot speaks: the fuzz tests try them all.
LABELS = st.sampled_from([AlertLabels(), alert_labels("ko")])


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


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_alert_link_is_the_read_buttons_url_when_it_is_http():
    assert render("Title", "Summary").link == "https://news.example/a?b=1&c=2"
    assert render("Title", "Summary", link="ftp://x.example/a").link == ""
    long_link = "https://news.example/" + "a" * 3000
    alert = render("Title", "Summary", link=long_link)
    assert alert.link == "" and "href" not in alert.html


def test_length_is_counted_as_telegram_counts_it_in_utf16():
    alert = render("🌋" * 400, "🔥 " * 3000)
    assert utf16(alert.text) <= MAX_MESSAGE_CHARS - ALSO_RESERVE
    assert validate_telegram_html(alert.html) is None
    assert "…" in alert.html  # the summary was cut, the title kept to its own limit


def test_control_characters_and_line_breaks_in_titles_are_tidied():
    alert = render("Breaking:\nquake\x00 hits\tcoast", "Line one.\x07")
    assert alert.html.startswith(
        '<b><a href="https://news.example/a?b=1&amp;c=2">Breaking: quake hits coast</a></b>'
    )
    assert "\x00" not in alert.html and "\x07" not in alert.text


def test_also_line_goes_under_the_source_line():
    alert = render("Talks resume", "Envoys met.")
    html, text = with_also(alert.html, alert.text, ["Yonhap", "Reuters", "Yonhap"])
    lines = html.split("\n")
    assert (
        lines[1].startswith("<i>Reuters &lt;wire&gt;")
        and lines[2] == "<i>Also: Yonhap, Reuters</i>"
    )
    assert text.split("\n")[2] == "Also: Yonhap, Reuters"
    assert validate_telegram_html(html) is None
    assert with_also(alert.html, alert.text, []) == (alert.html, alert.text)


def test_also_line_without_a_source_line_goes_under_the_title():
    article = Article(id="1", title="Bare", link="")
    alert = render_alert(
        chat_id=1, article_key=1, article=article, summary=Summary("1", ""), topic=None, footer=""
    )
    html, _ = with_also(alert.html, alert.text, ["AP"])
    assert html == "<b>Bare</b>\n<i>Also: AP</i>"


def test_also_line_names_at_most_five_sources():
    assert also_line([f"Outlet {i}" for i in range(8)]) == (
        "Also: Outlet 0, Outlet 1, Outlet 2, Outlet 3, Outlet 4 and 3 more"
    )


@settings(max_examples=150, deadline=None)
@given(
    title=st.text(max_size=400),
    summary=st.text(max_size=6000),
    footer=st.text(max_size=600),
    source=st.text(max_size=80),
    link=st.one_of(st.just(""), st.text(max_size=60).map(lambda s: "https://x.example/" + s)),
    also=st.lists(st.text(max_size=80), max_size=8),
    topic_name=st.text(max_size=400),
    labels=LABELS,
)
def test_any_feed_text_with_an_also_line_stays_valid_and_within_the_limit(
    title, summary, footer, source, link, also, topic_name, labels
):
    article = Article(id="1", title=title, link=link, source=source)
    alert = render_alert(
        chat_id=1,
        article_key=1,
        article=article,
        summary=Summary("1", summary),
        topic=Topic(id="t", name=topic_name, query="t"),
        footer=footer,
        labels=labels,
    )
    html, text = with_also(alert.html, alert.text, also, labels)
    assert validate_telegram_html(html) is None, html
    assert utf16(text) <= MAX_MESSAGE_CHARS
    assert text.strip()


@settings(max_examples=60, deadline=None)
@given(
    titles=st.lists(st.text(max_size=350), min_size=1, max_size=80),
    footer=st.text(max_size=300),
    heading=st.text(max_size=400),
    labels=LABELS,
)
def test_digest_parts_are_valid_within_the_limit_and_list_every_alert_once(
    titles, footer, heading, labels
):
    lines = [
        DigestLine(i, title, f"https://x.example/{i}", "Src") for i, title in enumerate(titles)
    ]
    parts = render_digest(lines, heading=heading, footer=footer, labels=labels)
    assert [i for part in parts for i in part.ids] == list(range(len(titles)))
    for part in parts:
        assert validate_telegram_html(part.html) is None, part.html
        assert utf16(part.text) <= MAX_MESSAGE_CHARS


def test_a_long_digest_is_split_at_telegrams_limit():
    lines = [DigestLine(i, f"Story {i} " + "x" * 250, f"https://x.example/{i}") for i in range(60)]
    parts = render_digest(lines, heading="Your daily news digest", footer="Join us.")
    assert len(parts) > 1
    assert parts[1].html.startswith("<b>Your daily news digest (continued)</b>")
    assert parts[-1].html.endswith("Join us.") and not parts[0].html.endswith("Join us.")


def test_title_only_summary_is_not_repeated():
    article = Article(
        id="1", title="Seoul and Washington hold talks", link="https://news.example/a"
    )
    alert = render_alert(
        chat_id=1,
        article_key=1,
        article=article,
        summary=Summary(article_id="1", text="Seoul and Washington hold talks", method="title"),
        topic=TOPIC,
        footer="F",
    )
    assert alert.html.count("Seoul and Washington hold talks") == 1
