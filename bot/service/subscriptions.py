"""Following topics and filters: /subscribe, /unsubscribe, /filter, as plain functions over the store."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import QueryError
from bot.matching.parser import MAX_TERMS, parse_query
from bot.matching.syntax import And, Node, Or
from bot.matching.topics import TOPIC_QUERY_MAX_TERMS
from bot.records import Topic
from bot.service.chats import CLEAR_WORDS, ChatInfo, register_chat
from storage.store import Store
from storage.subscriptions import QUERY_TOPIC, Subscription

MAX_SUBSCRIPTIONS_PER_CHAT = 50


MAX_QUERY_CHARS = 500  # a chat's own filter, and each /filter addition


_TOPIC_ID_SHAPE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    ok: bool
    created: bool = False
    topic: Topic | None = None
    query: str = ""
    problem: str = ""
    # empty | unknown-topic | close-to-topic | bad-query | only-exclusions | too-long | too-many
    detail: str = ""
    error: QueryError | None = None
    moved: bool = False  # followed already, from another forum topic: it posts here now


_WORDS = re.compile(r"[\w'’]+")


def plain_words(text: str) -> bool:
    """``korea diplomacy``, ``없는주제``: words alone, no quotes, operators or fields."""
    words = text.split()
    return bool(words) and all(_WORDS.fullmatch(w) for w in words) and not (set(words) & _OPERATORS)


def close_topic(topics: Mapping[str, Topic], text: str) -> Topic | None:
    """The topic that plain words almost name: its id with spaces for hyphens
    (``korea diplomacy``) or its name in any case and language (``markets``, ``iran's
    nuclear programme``, its ``ko.name``); None for anything else, so a deliberate filter of words is left alone."""
    if plain_words(text):
        found = topics.get("-".join(text.casefold().split()))
        if found is not None:
            return found
    for topic in topics.values():
        names = (topic.name, *(t.name for t in topic.translations if t.name))  # ko.name too
        if any(_same_name(text, name) for name in names):
            return topic
    return None


def name_words(text: str) -> list[str]:
    """The words of ``text`` without its punctuation: ``Korea: diplomacy`` -> Korea, diplomacy."""
    return _WORDS.findall(text)


def _same_name(text: str, name: str) -> bool:
    """``text`` is ``name`` in any case, with some of its punctuation left out (``Korea:
    diplomacy and security``, ``한반도 외교·안보`` as /topics shows them).  A character the
    name lacks (quotes, a leading ``-``) makes it a deliberate filter instead."""
    if name_words(text.casefold()) != name_words(name.casefold()):
        return False
    marks = set(_WORDS.sub("", text).replace(" ", ""))
    return marks <= set(_WORDS.sub("", name)) and not (set(text.split()) & _OPERATORS)


def looks_like_topic_id(text: str) -> bool:
    """``korea-diplomacy``: lower-case words joined by hyphens (not a query like ``-sports``)."""
    return bool(_TOPIC_ID_SHAPE.fullmatch(text))


def check_query(text: str) -> QueryError | None:
    """None when ``text`` is a filter a chat may use, else the parser's complaint."""
    try:
        parse_query(text, max_length=MAX_QUERY_CHARS)
    except QueryError as e:
        return e
    return None


def subscribe(
    store: Store,
    topics: Mapping[str, Topic],
    chat: ChatInfo,
    argument: str,
    *,
    thread_id: int | None = None,
) -> SubscribeResult:
    """Follow a topic id, or a query of the filter language.  ``thread_id``: the forum
    topic the command was written in, where the alerts go (a subscription followed from
    another topic moves here)."""
    argument = argument.strip()
    if not argument:
        return SubscribeResult(ok=False, problem="empty")
    register_chat(store, chat)
    topic = topics.get(argument.lower())
    if topic is None and looks_like_topic_id(argument):
        return SubscribeResult(ok=False, problem="unknown-topic", detail=argument)
    close = close_topic(topics, argument) if topic is None else None
    if close is not None:  # "korea diplomacy": meant the topic, not a filter of two words
        return SubscribeResult(ok=False, topic=close, problem="close-to-topic", detail=argument)
    if topic is None and len(argument) > MAX_QUERY_CHARS:
        return SubscribeResult(ok=False, problem="too-long", detail=str(MAX_QUERY_CHARS))
    if topic is None:
        error = check_query(argument)
        if error is not None:
            return SubscribeResult(ok=False, problem="bad-query", detail=str(error), error=error)
        if parse_query(argument, max_length=MAX_QUERY_CHARS).only_exclusions:
            # "-sports" alone would send every other story there is
            return SubscribeResult(ok=False, problem="only-exclusions", detail=argument)
    existing = store.subscriptions.for_chat(chat.chat_id)
    wanted = (topic.id, "") if topic is not None else (QUERY_TOPIC, argument)
    same = next((s for s in existing if (s.topic_id, s.query) == wanted), None)
    if same is not None:
        moved = same.thread_id != thread_id and store.subscriptions.set_thread(same.id, thread_id)
        return SubscribeResult(ok=True, created=False, topic=topic, query=wanted[1], moved=moved)
    if len(existing) >= MAX_SUBSCRIPTIONS_PER_CHAT:
        return SubscribeResult(ok=False, problem="too-many", detail=str(MAX_SUBSCRIPTIONS_PER_CHAT))
    _, created = store.subscriptions.add(
        chat.chat_id, wanted[0], query=wanted[1], thread_id=thread_id
    )
    if thread_id is not None:
        store.chats.clear_topic_fault(chat.chat_id, thread_id)  # subscribed in it: it is open
    return SubscribeResult(ok=True, created=created, topic=topic, query=wanted[1])


def list_subscriptions(store: Store, chat_id: int) -> list[Subscription]:
    """The chat's subscriptions, oldest first (the numbering /list shows, from 1)."""
    return store.subscriptions.for_chat(chat_id)


def find_subscription(
    store: Store, chat_id: int, reference: str
) -> tuple[int, Subscription] | None:
    """The subscription named by its number in /list, its topic id, or its query text."""
    subs = store.subscriptions.for_chat(chat_id)
    reference = reference.strip()
    if reference.isascii() and reference.isdecimal():
        index = int(reference)
        return (index, subs[index - 1]) if 1 <= index <= len(subs) else None
    for index, sub in enumerate(subs, start=1):
        if not sub.query and sub.topic_id == reference.lower():
            return index, sub
    for index, sub in enumerate(subs, start=1):
        if sub.query and sub.query.strip() == reference:
            return index, sub
    return None


@dataclass(frozen=True, slots=True)
class UnsubscribeResult:
    ok: bool
    subscription: Subscription | None = None
    problem: str = ""  # empty | not-found | from-config
    detail: str = ""


def unsubscribe(store: Store, chat_id: int, reference: str) -> UnsubscribeResult:
    """Stop one subscription, named as :func:`find_subscription` takes it."""
    reference = reference.strip()
    if not reference:
        return UnsubscribeResult(ok=False, problem="empty")
    found = find_subscription(store, chat_id, reference)
    if found is None:
        return UnsubscribeResult(ok=False, problem="not-found", detail=reference)
    _, sub = found
    return remove_subscription(store, chat_id, sub.id)


def remove_subscription(store: Store, chat_id: int, subscription_id: int) -> UnsubscribeResult:
    """Stop the subscription with this id, if it belongs to ``chat_id``."""
    sub = store.subscriptions.get(subscription_id)
    if sub is None or sub.chat_id != chat_id:
        return UnsubscribeResult(ok=False, problem="not-found", detail=str(subscription_id))
    if sub.from_config:
        return UnsubscribeResult(ok=False, subscription=sub, problem="from-config")
    store.subscriptions.remove_id(sub.id)
    return UnsubscribeResult(ok=True, subscription=sub)


def unsubscribe_all(store: Store, chat_id: int) -> int:
    """Stop every subscription of the chat but those from the config file; how many."""
    return store.subscriptions.remove_all(chat_id, keep_config=True)


def toggle_topic(
    store: Store, topics: Mapping[str, Topic], chat: ChatInfo, topic_id: str
) -> SubscribeResult | UnsubscribeResult:
    """Follow the topic if the chat does not, else stop following it (the settings keyboard)."""
    found = next(
        (
            s
            for s in store.subscriptions.for_chat(chat.chat_id)
            if s.topic_id == topic_id and not s.query
        ),
        None,
    )
    if found is None:
        return subscribe(store, topics, chat, topic_id)
    return remove_subscription(store, chat.chat_id, found.id)


@dataclass(frozen=True, slots=True)
class FilterResult:
    ok: bool
    action: str = ""  # narrow | widen | clear
    subscription: Subscription | None = None
    index: int = 0  # its number in /list
    problem: str = ""
    # empty | no-expression | not-found | bad-query | too-long | from-config | duplicate |
    # nothing-to-clear | already (every part of the change is in the filter: nothing changed)
    detail: str = ""
    error: QueryError | None = None
    before: Subscription | None = None  # the subscription as it was
    change: str = ""  # the filter text given, without its OR/AND


_TERM = re.compile(r'-?"[^"]+"|\S+')
_PLAIN_WORD = re.compile(r"[\w'’.-]+")
_OPERATORS = frozenset({"OR", "AND", "NOT"})


def filter_terms(text: str) -> tuple[str, tuple[str, ...]]:
    """A /filter change a person can read in words: ("without", terms) for ``-x -"y z"``,
    ("with", terms) for plain words and phrases; ("", ()) for anything else (fields,
    groups, brackets, operators), which is then shown as written."""
    tokens = _TERM.findall(text)
    if not tokens:
        return "", ()
    terms: list[str] = []
    negated = {token.startswith("-") for token in tokens}
    if len(negated) != 1:
        return "", ()
    for token in tokens:
        bare = token.removeprefix("-")
        if bare.startswith('"') and bare.endswith('"') and len(bare) > 2:
            bare = bare[1:-1].strip()
        elif bare in _OPERATORS or not _PLAIN_WORD.fullmatch(bare) or bare.startswith("-"):
            return "", ()
        terms.append(bare)
    return ("without" if negated == {True} else "with"), tuple(terms)


def _split_filter(expression: str) -> tuple[str, str]:
    """("narrow" | "widen" | "clear", the query part) of a /filter expression."""
    text = expression.strip()
    if text.lower() in CLEAR_WORDS:
        return "clear", ""
    head, _, rest = text.partition(" ")
    if head in ("OR", "or", "+"):
        return "widen", rest.strip()
    if head in ("AND", "and"):
        return "narrow", rest.strip()
    return "narrow", text


def _combine(old: str, new: str, operator: str) -> str:
    if not old:
        return new
    # AND needs no brackets around the old text (AND binds loosest), so repeated /filter
    # narrowing does not nest deeper each time
    return f"({old}) {operator} ({new})" if operator == "OR" else f"{old} ({new})"


def _parts(node: Node, kind: type[And] | type[Or]) -> list[Node]:
    """The operands of ``node`` under ``kind`` (AND or OR), brackets flattened."""
    if isinstance(node, kind):
        return [part for child in node.children for part in _parts(child, kind)]
    return [node]


def already_in(existing: str, text: str, operator: str, *, max_terms: int = MAX_TERMS) -> bool:
    """True when AND-ing (or OR-ing) ``text`` onto ``existing`` would change nothing: each
    of its parts is one of ``existing``'s already (compared as parsed: case, brackets and
    spacing aside), so a second identical /filter does not stack the term."""
    if not existing.strip():
        return False
    kind = And if operator == "AND" else Or
    try:
        existing_query = parse_query(existing, max_length=10 * MAX_QUERY_CHARS, max_terms=max_terms)
        have = _parts(existing_query.root, kind)
        want = _parts(parse_query(text, max_length=MAX_QUERY_CHARS).root, kind)
    except QueryError:
        return False
    return all(part in have for part in want)


def in_topic_query(topic: Topic | None, text: str, operator: str) -> bool:
    """True when the topic's own query already covers AND-ing (or OR-ing) ``text``: each
    of its parts is a part the query requires (or brings).  Never for a topic that a
    learned model decides, whose query does not decide what passes."""
    if topic is None or topic.model:
        return False
    return already_in(topic.query, text, operator, max_terms=TOPIC_QUERY_MAX_TERMS)


def apply_filter(
    store: Store,
    chat_id: int,
    reference: str,
    expression: str,
    *,
    topics: Mapping[str, Topic] | None = None,
) -> FilterResult:
    """Narrow (``-sports``, ``title:summit``), widen (``OR kaesong``) or ``clear`` the
    filters of one subscription.

    A topic keeps its definition and gets its own filter on top; a chat's own
    query is rewritten (``(old) (new)`` or ``(old) OR (new)``).  A change the topic's
    own query (``topics``) already makes is refused (problem ``in-topic``).
    """
    if not reference.strip():
        return FilterResult(ok=False, problem="empty")
    found = find_subscription(store, chat_id, reference)
    if found is None:
        return FilterResult(ok=False, problem="not-found", detail=reference.strip())
    index, sub = found
    if sub.from_config:
        return FilterResult(ok=False, subscription=sub, index=index, problem="from-config")
    action, text = _split_filter(expression)
    topic = (topics or {}).get(sub.topic_id) if not sub.query else None
    result = _apply_filter(store, index, sub, action, text, topic)
    return dataclasses.replace(result, before=sub, change=text)


def _apply_filter(
    store: Store, index: int, sub: Subscription, action: str, text: str, topic: Topic | None
) -> FilterResult:
    if action == "clear":
        if sub.query or not sub.filtered:
            return FilterResult(
                ok=False, action=action, subscription=sub, index=index, problem="nothing-to-clear"
            )
        new = store.subscriptions.replace(sub.id, narrow="", widen="")
        return FilterResult(ok=new is not None, action=action, subscription=new, index=index)
    if not text:
        return FilterResult(ok=False, subscription=sub, index=index, problem="no-expression")
    if len(text) > MAX_QUERY_CHARS:
        return FilterResult(ok=False, problem="too-long", detail=str(MAX_QUERY_CHARS))
    error = check_query(text)
    if error is not None:
        return FilterResult(ok=False, problem="bad-query", detail=str(error), error=error)
    operator = "OR" if action == "widen" else "AND"
    current = sub.query or (sub.widen if action == "widen" else sub.narrow)
    if already_in(current, text, operator):
        return FilterResult(
            ok=False, action=action, subscription=sub, index=index, problem="already", detail=text
        )
    if in_topic_query(topic, text, operator):
        return FilterResult(
            ok=False, action=action, subscription=sub, index=index, problem="in-topic", detail=text
        )
    if sub.query:
        combined = _combine(sub.query, text, operator)
        if len(combined) > MAX_QUERY_CHARS:
            return FilterResult(ok=False, problem="too-long", detail=str(MAX_QUERY_CHARS))
        error = check_query(combined)
        if error is not None:
            return FilterResult(ok=False, problem="bad-query", detail=str(error), error=error)
        new = store.subscriptions.replace(sub.id, query=combined)
        if new is None:
            return FilterResult(ok=False, subscription=sub, index=index, problem="duplicate")
        return FilterResult(ok=True, action=action, subscription=new, index=index)
    narrow = _combine(sub.narrow, text, operator) if action == "narrow" else sub.narrow
    widen = _combine(sub.widen, text, operator) if action == "widen" else sub.widen
    if max(len(narrow), len(widen)) > MAX_QUERY_CHARS:
        return FilterResult(ok=False, problem="too-long", detail=str(MAX_QUERY_CHARS))
    for combined in (narrow, widen):
        error = check_query(combined) if combined else None
        if error is not None:  # e.g. nested too deep after many /filter calls
            return FilterResult(ok=False, problem="bad-query", detail=str(error), error=error)
    new = store.subscriptions.replace(sub.id, narrow=narrow, widen=widen)
    return FilterResult(ok=new is not None, action=action, subscription=new, index=index)


def list_topics(topics: Mapping[str, Topic]) -> list[Topic]:
    return [topics[k] for k in sorted(topics)]
