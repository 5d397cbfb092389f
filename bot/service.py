"""What people can do, as plain functions over the store: the chat handlers and the
command line both call these; neither holds SQL.

Each function returns a small result record; wording the reply is the caller's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import QueryError
from bot.query import parse_query
from bot.records import Topic
from storage.store import Store
from storage.subscriptions import QUERY_TOPIC, Subscription

MAX_SUBSCRIPTIONS_PER_CHAT = 50
MAX_QUERY_CHARS = 500


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """The chat a command came from, as the core needs it."""

    chat_id: int
    type: str = "private"
    title: str = ""
    username: str = ""
    language: str = "en"


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    ok: bool
    created: bool = False
    topic: Topic | None = None
    query: str = ""
    problem: str = ""  # unknown-topic | bad-query | too-many | empty
    detail: str = ""


def register_chat(store: Store, chat: ChatInfo, *, reactivate: bool = True) -> None:
    """Remember the chat; a chat that talks to us again is active again."""
    store.chats.ensure(
        chat.chat_id,
        type=chat.type,
        title=chat.title,
        username=chat.username,
        language=chat.language,
        reactivate=reactivate,
    )


def subscribe(
    store: Store, topics: Mapping[str, Topic], chat: ChatInfo, argument: str
) -> SubscribeResult:
    """Follow a topic id, or a query of the filter language."""
    argument = argument.strip()
    if not argument:
        return SubscribeResult(ok=False, problem="empty")
    register_chat(store, chat)
    if len(store.subscriptions.for_chat(chat.chat_id)) >= MAX_SUBSCRIPTIONS_PER_CHAT:
        return SubscribeResult(ok=False, problem="too-many", detail=str(MAX_SUBSCRIPTIONS_PER_CHAT))
    topic = topics.get(argument.lower())
    if topic is not None:
        _, created = store.subscriptions.add(chat.chat_id, topic.id)
        return SubscribeResult(ok=True, created=created, topic=topic)
    looks_like_topic_id = (
        " " not in argument and argument.replace("-", "").isalnum() and "-" in argument
    )
    if looks_like_topic_id:
        return SubscribeResult(ok=False, problem="unknown-topic", detail=argument)
    if len(argument) > MAX_QUERY_CHARS:
        return SubscribeResult(
            ok=False, problem="bad-query", detail=f"longer than {MAX_QUERY_CHARS} characters"
        )
    try:
        parse_query(argument)
    except QueryError as e:
        return SubscribeResult(ok=False, problem="bad-query", detail=str(e))
    _, created = store.subscriptions.add(chat.chat_id, QUERY_TOPIC, query=argument)
    return SubscribeResult(ok=True, created=created, query=argument)


def unsubscribe(store: Store, chat_id: int, topic_id: str) -> bool:
    """Stop following ``topic_id`` (or every query when it is "query"); True if it was followed."""
    return store.subscriptions.remove(chat_id, topic_id.strip().lower())


def subscriptions(store: Store, chat_id: int) -> list[Subscription]:
    return store.subscriptions.for_chat(chat_id)


def list_topics(topics: Mapping[str, Topic]) -> list[Topic]:
    return [topics[k] for k in sorted(topics)]
