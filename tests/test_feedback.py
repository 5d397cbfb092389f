"""Alerts that learn from the reader: 👍/👎/❔ under each alert, a 👎 holding back later
stories close in meaning for that chat only, /why, /feedback, kept in SQLite with the chat."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config.loader import config_from_dict
from bot.matching import vectors
from bot.matching.feedback import NEAR, judge
from bot.pipeline import Pipeline
from bot.records import Article
from bot.service import feedback
from storage.store import Store
from tests.chatbot import running_bot

needs_model = pytest.mark.skipif(not vectors.available(), reason="the vector model is missing")

GREETINGS = Article(id="g1", title="Kim Jong Un sends greetings to the President of Laos")
MORE_GREETINGS = Article(
    id="g2", title="Kim Jong Un sends congratulatory message to Cuban leader on national day"
)
TALKS = Article(
    id="t1",
    title="North and South Korea agree to resume high-level talks at Panmunjom",
    summary="The two Koreas agreed on Tuesday to hold talks on easing military tension.",
)
KOREA_TOPIC = {"id": "korea", "name": "Korea", "query": "korea OR kim"}


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, np.float32)
    return v / np.linalg.norm(v)


def test_the_nearest_vote_decides_and_far_articles_are_untouched():
    down, up = _unit(1, 0, 0), _unit(0, 1, 0)
    votes = [(-1, down, "greetings"), (1, up, "talks")]
    assert not judge(_unit(1, 0.1, 0), votes).send  # close to the 👎
    assert judge(_unit(0.1, 1, 0), votes).send  # close to the 👍
    assert judge(_unit(0, 0, 1), votes).send  # far from both: not touched
    # a 👍 nearer than the 👎 brings a borderline kind back
    assert judge(_unit(1, 1.2, 0), votes).send and not judge(_unit(1.2, 1, 0), votes).send
    assert judge(None, votes).send and judge(_unit(1, 0, 0), []).send
    assert 0 < NEAR < 1


def _pipeline(store: Store, **alerts) -> Pipeline:
    config = config_from_dict(
        {
            "topics": [KOREA_TOPIC],
            "fetch": {"full_text": False},
            "alerts": alerts,
            "delivery": {"story_by_meaning": False},
        },
        env={},
    )
    return Pipeline(store, config, fetcher=None, alert_on_first_poll=True)  # type: ignore[arg-type]


@needs_model
async def test_a_thumbs_down_holds_back_close_stories_for_that_chat_only(tmp_path):
    path = tmp_path / "bot.db"
    store = Store.open(path)
    for chat in (1, 2):
        store.chats.ensure(chat)
        store.subscriptions.add(chat, "korea")
    feed = store.feeds.upsert("https://kcna.example/rss", name="KCNA")
    pipeline = _pipeline(store)
    await pipeline.process(feed, [GREETINGS])
    [alert] = store.outbox.for_chat(1)
    assert feedback.vote(store, alert, -1) is not None
    store.close()

    store = Store.open(path)  # the vote survives a restart
    pipeline = _pipeline(store)
    feed = store.feeds.get_by_url("https://kcna.example/rss")
    await pipeline.process(feed, [MORE_GREETINGS, TALKS])
    got = {c: {store.articles.get(d.article_key).article.id for d in store.outbox.for_chat(c)}
           for c in (1, 2)}  # fmt: skip
    assert got[1] == {"g1", "t1"}  # another greeting is held back, the talks are not
    assert got[2] == {"g1", "g2", "t1"}  # a chat that gave no feedback gets everything
    [vote] = feedback.taught(store, 1)
    assert vote.vote == -1 and vote.title == GREETINGS.title and vote.topic == "korea"
    assert feedback.forget(store, 1) == 1 and feedback.taught(store, 1) == []
    store.close()


@needs_model
async def test_an_operator_can_let_chats_learn_from_each_other(tmp_path):
    store = Store.open(tmp_path / "bot.db")
    for chat in (1, 2):
        store.chats.ensure(chat)
        store.subscriptions.add(chat, "korea")
    feed = store.feeds.upsert("https://kcna.example/rss", name="KCNA")
    pipeline = _pipeline(store, learn_across_chats=True)
    await pipeline.process(feed, [GREETINGS])
    [alert] = store.outbox.for_chat(1)
    feedback.vote(store, alert, -1)
    await pipeline.process(feed, [MORE_GREETINGS])
    assert len(store.outbox.for_chat(2)) == 1  # chat 2 learned from chat 1's 👎
    store.close()


def test_votes_go_with_the_chat_and_move_with_a_migrated_group(tmp_path):
    store = Store.open(tmp_path / "bot.db")
    store.chats.ensure(-5, type="group")
    store.feedback.record(-5, "korea", None, -1, title="x", vector=None)
    store.chats.migrate(-5, -1005)
    assert len(store.feedback.for_chat(-1005)) == 1 and store.feedback.for_chat(-5) == []
    store.db.execute("DELETE FROM chats WHERE chat_id = ?", [-1005])
    assert store.feedback.count() == 0
    store.close()


@needs_model
async def test_buttons_under_an_alert_teach_and_explain(telegram_api, tmp_path):
    async with running_bot(telegram_api, tmp_path, topics=[KOREA_TOPIC]) as bot:
        core = bot.core
        core.store.chats.ensure(111, type="private")
        core.store.subscriptions.add(111, "korea")
        feed = core.store.feeds.upsert("https://kcna.example/rss", name="KCNA")
        await core.pipeline.process(feed, [])  # the first poll primes the feed
        await core.pipeline.process(core.store.feeds.get(feed.id), [GREETINGS])
        core.sender.wake()
        await telegram_api.wait_for(
            lambda: [m for m in telegram_api.sent_messages(111) if m.get("reply_markup")],
            message="the alert",
        )
        [alert] = [m for m in telegram_api.sent_messages(111) if m.get("reply_markup")]
        rows = alert["reply_markup"]["inline_keyboard"]
        faces = [b["text"] for b in rows[-1]]
        assert faces == ["👍", "👎", "❔"]
        down = rows[-1][1]["callback_data"]
        why = rows[-1][2]["callback_data"]
        await bot.press(111, 111, down, alert["message_id"], edits=False)
        await bot.press(111, 111, why, alert["message_id"], edits=False)
        answers = [c.params.get("text", "") for c in telegram_api.calls_to("answerCallbackQuery")]
        listed = (await bot.send(111, "/feedback"))["text"]
        explained = (await bot.send(111, "/why"))["text"]
        cleared = (await bot.send(111, "/feedback clear"))["text"]
        empty = (await bot.send(111, "/feedback"))["text"]
    assert "fewer like this" in answers[0]
    assert answers[1].startswith("Sent for Korea: matched")
    assert "👎" in listed and GREETINGS.title in listed
    assert "Sent for Korea" in explained
    assert "Forgotten: 1" in cleared and "not rated any alert" in empty
