"""Summaries in the reader's language: the Korean budget, the LLM asked once per language
(against a loopback chat-completions fake), the "(translated from Korean)" note, and the
extractive fallback when the model fails, is slow or answers in the wrong language."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest

from bot.app import Core
from bot.config.loader import config_from_dict
from bot.delivery.labels import alert_labels
from bot.delivery.render import render_alert, summary_note
from bot.delivery.sinks import ConsoleSink
from bot.records import Article, Summary
from bot.service.chats import ChatInfo
from bot.service.subscriptions import subscribe
from bot.summary.extractive import budget_for, summarize
from bot.summary.llm import METHOD_FALLBACK, METHOD_LLM, LLMSummarizer
from storage.store import Store
from tests.fakes.chat_completions import FakeChatCompletions

KO_TITLE = "한미 외교장관, 북한 비핵화 협상 재개 합의"
KO_LEAD = (
    "한국과 미국 외교장관이 4일 워싱턴에서 회담을 열고 북한 비핵화 협상을 재개하기로 합의했다."
)
KO_BODY = (
    "비핵화 로드맵 논의…대북 제재는 유지 (워싱턴=연합뉴스) 홍길동 특파원 = " + KO_LEAD + " "
    "두 장관은 북한이 대화에 나설 때까지 제재를 유지하되 인도적 지원의 문은 열어두기로 했다. "
    "외교부는 회담 뒤 보도자료를 내고 “한미 간 긴밀한 공조를 재확인했다”고 밝혔다. "
    "양측은 다음 달 서울에서 실무 협의를 이어가기로 했으며 일본과의 3자 협의도 추진한다. "
    "전문가들은 북한의 호응 여부가 관건이라고 분석했다. 홍길동 기자 hong@yna.co.kr "
    "<저작권자(c) 연합뉴스, 무단 전재-재배포 금지>"
)
KOREAN_ARTICLE = Article(id="ko-1", title=KO_TITLE, content=KO_BODY)
ENGLISH_ARTICLE = Article(
    id="en-1",
    title="US and South Korea agree to resume North Korea talks",
    content=(
        "The foreign ministers of South Korea and the United States agreed on Thursday to resume "
        "talks on North Korea's denuclearisation. Sanctions stay in place until Pyongyang "
        "takes concrete steps, the two ministers said after meeting in Washington."
    ),
)
IN_ENGLISH = (
    "South Korea and the US agreed in Washington to resume talks on North Korea's denuclearisation."
)
IN_KOREAN = "한미 외교장관이 워싱턴에서 북한 비핵화 협상 재개에 합의했다."


@pytest.fixture
async def llm_server() -> AsyncIterator[FakeChatCompletions]:
    server = FakeChatCompletions(answers={"English": IN_ENGLISH, "Korean": IN_KOREAN})
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# -- extractive: the article's language, the budget per language -------------------------


def test_a_korean_summary_opens_with_the_lead_within_the_korean_budget():
    summary = summarize(KOREAN_ARTICLE)
    assert summary.language == "ko" and summary.source_language == ""
    assert summary.text.startswith(KO_LEAD)
    assert len(summary.text) <= budget_for("ko") < budget_for("en") == 450
    for junk in ("연합뉴스", "특파원", "@", "저작권", "비핵화 로드맵"):
        assert junk not in summary.text


def test_the_budget_share_follows_the_configured_budget():
    assert budget_for("ko", 450) == 270
    assert budget_for("ko", 200) == 120
    assert budget_for("en", 200) == 200
    assert len(summarize(KOREAN_ARTICLE, max_chars=150).text) <= 90


def test_a_cut_off_last_sentence_of_a_korean_feed_item_is_left_out():
    article = Article(
        id="k", title="제목", content=KO_LEAD + " 두 장관은 북한이 대화에 나설 때까지 제"
    )
    assert summarize(article).text == KO_LEAD


def test_an_english_summary_is_unchanged_in_kind():
    summary = summarize(ENGLISH_ARTICLE)
    assert summary.language == "en"
    assert summary.text.startswith("The foreign ministers")


# -- with an LLM: the reader's language -------------------------------------------------


async def test_an_english_reader_gets_an_english_summary_of_a_korean_article(llm_server):
    async with LLMSummarizer(llm_server.base_url, "tiny") as llm:
        summary = await llm.summarize(KOREAN_ARTICLE, language="en")
    assert (summary.text, summary.method) == (IN_ENGLISH, METHOD_LLM)
    assert (summary.language, summary.source_language) == ("en", "ko")
    [request] = llm_server.requests
    system, user = request["messages"][0]["content"], request["messages"][1]["content"]
    assert "Write the summary in English." in system and "The article is in Korean" in system
    assert KO_TITLE in user
    assert "hong@yna.co.kr" not in user and "(워싱턴=연합뉴스)" not in user  # cleaned first


async def test_a_korean_reader_gets_a_korean_summary_of_an_english_article(llm_server):
    async with LLMSummarizer(llm_server.base_url, "tiny") as llm:
        summary = await llm.summarize(ENGLISH_ARTICLE, language="ko")
        same = await llm.summarize(KOREAN_ARTICLE)  # the article's own language by default
    assert (summary.text, summary.language, summary.source_language) == (IN_KOREAN, "ko", "en")
    assert (same.text, same.language, same.source_language) == (IN_KOREAN, "ko", "")
    assert llm_server.languages_asked() == ["Korean", "Korean"]
    # a Korean answer is given room in tokens: one or two characters a token
    assert llm_server.requests[0]["max_tokens"] >= budget_for("ko")


async def test_an_answer_in_the_wrong_language_falls_back_to_the_extractive_summary(llm_server):
    llm_server.answers["English"] = IN_KOREAN
    async with LLMSummarizer(llm_server.base_url, "tiny") as llm:
        summary = await llm.summarize(KOREAN_ARTICLE, language="en")
    assert summary.method == METHOD_FALLBACK
    assert (summary.language, summary.source_language) == ("ko", "")
    assert summary.text == summarize(KOREAN_ARTICLE).text


@pytest.mark.parametrize("mode", ["error", "slow"])
async def test_a_failing_or_slow_llm_falls_back(llm_server, mode):
    llm_server.mode = mode
    async with LLMSummarizer(llm_server.base_url, "tiny", timeout=0.5) as llm:
        summary = await llm.summarize(KOREAN_ARTICLE, language="en")
    assert summary.method == METHOD_FALLBACK and summary.language == "ko"
    assert summary.text.startswith(KO_LEAD)


# -- the alert says which language ------------------------------------------------------


def render(summary: Summary, reader: str) -> str:
    alert = render_alert(
        chat_id=1,
        article_key=1,
        article=KOREAN_ARTICLE,
        summary=summary,
        topic=None,
        footer="",
        labels=alert_labels(reader),
        reader_language=reader,
    )
    return alert.html


def test_the_note_under_a_translated_or_foreign_summary():
    translated = Summary("ko-1", IN_ENGLISH, method=METHOD_LLM, language="en", source_language="ko")
    html = render(translated, "en")
    assert html.startswith(f"<b>{KO_TITLE}</b>")  # the original headline stays
    assert f"{IN_ENGLISH}\n<i>(translated from Korean)</i>" in html
    korean = Summary("ko-1", KO_LEAD, language="ko")
    assert f"{KO_LEAD}\n<i>(summary in Korean)</i>" in render(korean, "en")
    assert "<i>(" not in render(korean, "ko")
    english = Summary("en-1", IN_ENGLISH, language="en")
    assert summary_note(english, "ko", alert_labels("ko")) == "(영어 요약)"
    into_korean = Summary("en-1", IN_KOREAN, language="ko", source_language="en")
    assert summary_note(into_korean, "ko", alert_labels("ko")) == "(영어 기사 번역)"
    assert summary_note(Summary("x", "t", method="title", language="ko"), "en") == ""


# -- the pipeline: one LLM call per language, not per subscriber ---------------------------


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>연합뉴스</title><link>{base}/</link>
<item><title>{title}</title><link>{base}/ko.html</link><guid>ko-1</guid>
<description>{body}</description></item>
</channel></rss>"""


async def alerts_for_readers(feed_server, tmp_path, llm_url: str | None) -> dict[int, str]:
    from html import escape

    base = feed_server.url("").rstrip("/")
    feed_server.set(
        "/ko.xml",
        FEED.format(base=base, title=escape(KO_TITLE), body=escape(KO_BODY)),
        content_type="application/rss+xml; charset=utf-8",
    )
    config = config_from_dict(
        {
            "storage": {"path": str(tmp_path / "db.sqlite")},
            "telegram": {"username": "test_bot"},
            "feeds": [{"url": feed_server.url("/ko.xml"), "name": "연합뉴스"}],
            "fetch": {"full_text": False},
            **({"summary": {"llm_base_url": llm_url, "llm_model": "tiny"}} if llm_url else {}),
        },
        env={},
    )
    store = Store.open(config.storage.path)
    readers = {1: "en", 2: "en", 3: "en", 4: "ko", 5: "ko"}
    for chat_id, language in readers.items():
        subscribe(
            store, config.topics, ChatInfo(chat_id=chat_id, language=language), "korea-diplomacy"
        )
    sink = ConsoleSink(io.StringIO())
    async with Core(config, store=store, sink=sink, alert_on_first_poll=True) as core:
        await core.poll_all_once()
    return dict(sink.sent)


async def test_each_language_is_summarised_once_and_each_reader_gets_theirs(
    feed_server, tmp_path, llm_server
):
    alerts = await alerts_for_readers(feed_server, tmp_path, llm_server.base_url)
    assert sorted(alerts) == [1, 2, 3, 4, 5]
    assert sorted(llm_server.languages_asked()) == ["English", "Korean"]
    for english_reader in (1, 2, 3):
        assert KO_TITLE in alerts[english_reader]
        assert f"{IN_ENGLISH}\n<i>(translated from Korean)</i>" in alerts[english_reader]
    for korean_reader in (4, 5):
        assert IN_KOREAN in alerts[korean_reader] and "<i>(" not in alerts[korean_reader]


async def test_without_an_llm_the_summary_stays_korean_and_says_so(feed_server, tmp_path):
    alerts = await alerts_for_readers(feed_server, tmp_path, None)
    assert f"{KO_LEAD}" in alerts[1] and "<i>(summary in Korean)</i>" in alerts[1]
    assert f"{KO_LEAD}" in alerts[4] and "<i>(" not in alerts[4]
    for alert in alerts.values():
        assert "hong@yna.co.kr" not in alert and "(워싱턴=연합뉴스)" not in alert
