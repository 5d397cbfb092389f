"""What people can do, as plain functions over the store: the chat handlers and the
command line both call these; neither holds SQL, and nothing here knows Telegram.

Each function returns a small result record (``ok``, or a ``problem`` code with a
``detail``); wording the reply, in the reader's language, is the caller's job.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.errors import QueryError
from bot.match import Matcher, model_match
from bot.query import And, Document, Node, Query, parse_query
from bot.records import Article, Topic, utcnow
from bot.topics import compile_topic
from storage.chats import Chat
from storage.reports import ReportStore
from storage.store import Store
from storage.subscriptions import QUERY_TOPIC, Subscription

MAX_SUBSCRIPTIONS_PER_CHAT = 50
MAX_QUERY_CHARS = 500  # a chat's own filter, and each /filter addition
MAX_FOOTER_CHARS = 200
LATEST_COUNT = 5  # /latest shows this many
SCAN_ARTICLES = 300  # /latest and /test look at this many recent articles
CLEAR_WORDS = frozenset({"clear", "off", "reset", "none"})

log = logging.getLogger(__name__)

_TOPIC_ID_SHAPE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """The chat a command came from, as the core needs it."""

    chat_id: int
    type: str = "private"
    title: str = ""
    username: str = ""
    language: str = "en"


def register_chat(store: Store, chat: ChatInfo, *, reactivate: bool = True) -> Chat:
    """Remember the chat; a chat that talks to us again is active again."""
    return store.chats.ensure(
        chat.chat_id,
        type=chat.type,
        title=chat.title,
        username=chat.username,
        language=chat.language,
        reactivate=reactivate,
    )


def deactivate_chat(store: Store, chat_id: int, reason: str) -> None:
    """The bot was removed or blocked: nothing more is sent there until it is back, and
    what was queued is skipped (old news is not sent when it comes back)."""
    store.chats.deactivate(chat_id, reason)
    store.outbox.skip_chat(chat_id, reason)


def note_language(store: Store, chat_id: int, language: str) -> None:
    """The language a user's app reports; it applies until one is chosen with /language."""
    store.chats.note_language(chat_id, language)


def choose_language(store: Store, chat_id: int, language: str) -> None:
    store.chats.choose_language(chat_id, language)


# -- subscribing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    ok: bool
    created: bool = False
    topic: Topic | None = None
    query: str = ""
    problem: str = ""  # empty | unknown-topic | bad-query | too-long | too-many
    detail: str = ""
    error: QueryError | None = None


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
    store: Store, topics: Mapping[str, Topic], chat: ChatInfo, argument: str
) -> SubscribeResult:
    """Follow a topic id, or a query of the filter language."""
    argument = argument.strip()
    if not argument:
        return SubscribeResult(ok=False, problem="empty")
    register_chat(store, chat)
    topic = topics.get(argument.lower())
    if topic is None and looks_like_topic_id(argument):
        return SubscribeResult(ok=False, problem="unknown-topic", detail=argument)
    if topic is None and len(argument) > MAX_QUERY_CHARS:
        return SubscribeResult(ok=False, problem="too-long", detail=str(MAX_QUERY_CHARS))
    if topic is None:
        error = check_query(argument)
        if error is not None:
            return SubscribeResult(ok=False, problem="bad-query", detail=str(error), error=error)
    existing = store.subscriptions.for_chat(chat.chat_id)
    wanted = (topic.id, "") if topic is not None else (QUERY_TOPIC, argument)
    if any((s.topic_id, s.query) == wanted for s in existing):
        return SubscribeResult(ok=True, created=False, topic=topic, query=wanted[1])
    if len(existing) >= MAX_SUBSCRIPTIONS_PER_CHAT:
        return SubscribeResult(ok=False, problem="too-many", detail=str(MAX_SUBSCRIPTIONS_PER_CHAT))
    _, created = store.subscriptions.add(chat.chat_id, wanted[0], query=wanted[1])
    return SubscribeResult(ok=True, created=created, topic=topic, query=wanted[1])


def subscriptions(store: Store, chat_id: int) -> list[Subscription]:
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


# -- narrowing and widening ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FilterResult:
    ok: bool
    action: str = ""  # narrow | widen | clear
    subscription: Subscription | None = None
    index: int = 0  # its number in /list
    problem: str = ""
    # empty | no-expression | not-found | bad-query | too-long | from-config | duplicate | nothing-to-clear
    detail: str = ""
    error: QueryError | None = None


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


def apply_filter(store: Store, chat_id: int, reference: str, expression: str) -> FilterResult:
    """Narrow (``-sports``, ``title:summit``), widen (``OR kaesong``) or ``clear`` the
    filters of one subscription.

    A topic keeps its definition and gets its own filter on top; a chat's own
    query is rewritten (``(old) (new)`` or ``(old) OR (new)``).
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


@dataclass(frozen=True, slots=True)
class AtLeast(Node):
    """Matches when ``child`` matches with a score of at least ``score`` on its own: a
    narrowed topic must still pass the topic's threshold, whatever the filter adds."""

    child: Node
    score: float

    def test(self, doc: Document) -> bool:
        return self.explain(doc, {})

    def explain(self, doc: Document, hits: dict[str, float]) -> bool:
        local: dict[str, float] = {}
        if not self.child.explain(doc, local) or sum(local.values()) < self.score:
            return False
        for label, weight in local.items():
            if hits.get(label, -1.0) < weight:
                hits[label] = weight
        return True

    def leaves(self) -> list[Any]:
        return self.child.leaves()


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of the matcher for a subscription: key, query, lowest score that counts."""

    key: str
    query: Query | str
    threshold: float
    topic: Topic | None = None


def subscription_rules(sub: Subscription, topics: Mapping[str, Topic]) -> list[Rule]:
    """How a subscription is matched.

    A topic as defined (its id is the key, shared by all its followers); a chat's own
    query (``q:<id>``); a topic narrowed with /filter is the topic (still at its own
    threshold) AND the filter (``f:<id>``), and a widening is matched on its own
    (``w:<id>``).  A topic no longer in the config gives no rule.
    """
    if sub.query:
        return [Rule(sub.key, sub.query, 0.0)]
    topic = topics.get(sub.topic_id)
    if topic is None:
        return []
    if not sub.filtered:
        return [Rule(sub.key, topic.query, topic.threshold, topic)]
    base = compile_topic(topic)
    try:
        narrow = parse_query(sub.narrow) if sub.narrow else None
        widen = parse_query(sub.widen) if sub.widen else None
    except QueryError as e:  # stored under an older grammar: the topic alone, and say so
        log.warning("subscription %d: its filter no longer parses (%s); topic alone", sub.id, e)
        return [Rule(f"f:{sub.id}", base, topic.threshold, topic)]
    query = base
    if narrow is not None:
        root = And((AtLeast(base.root, topic.threshold), narrow.root))
        query = Query(text=f"({topic.query}) ({sub.narrow})", root=root)
    rules = [Rule(f"f:{sub.id}", query, topic.threshold, topic)]
    if widen is not None:
        rules.append(Rule(f"w:{sub.id}", widen, 0.0, topic))
    return rules


# -- reading: /latest and /test -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """A stored article that matched, with why."""

    article: Article
    score: float
    why: tuple[str, ...]
    label: str  # the topic's name, or the query


def _scan(store: Store, rules: Iterable[Rule], *, limit: int, scan: int) -> tuple[int, list[Found]]:
    """(articles looked at, the newest ``limit`` that match a rule)."""
    matcher = Matcher()
    labels: dict[str, str] = {}
    for rule in rules:
        matcher.add(rule.key, rule.query, threshold=rule.threshold)
        labels[rule.key] = (
            rule.topic.name
            if rule.topic
            else str(rule.query if isinstance(rule.query, str) else rule.query.text)
        )
    if not len(matcher):
        return 0, []
    articles = store.articles.latest(scan)
    found: list[Found] = []
    for stored in articles:
        matches = matcher.match(stored.article)
        if matches and len(found) < limit:
            best = matches[0]
            found.append(Found(stored.article, best.score, best.why, labels[best.topic]))
    return len(articles), found


def latest_for_chat(
    store: Store, topics: Mapping[str, Topic], chat_id: int, *, limit: int = LATEST_COUNT
) -> list[Found]:
    """The newest stored articles that the chat's subscriptions match, newest first."""
    rules = [
        rule
        for sub in store.subscriptions.for_chat(chat_id)
        for rule in subscription_rules(sub, topics)
    ]
    return _scan(store, rules, limit=limit, scan=SCAN_ARTICLES)[1]


def latest_for_topic(store: Store, topic: Topic, *, limit: int = LATEST_COUNT) -> list[Found]:
    """The newest stored articles that ``topic`` matches, newest first."""
    rule = Rule(topic.id, topic.query, topic.threshold, topic)
    return _scan(store, [rule], limit=limit, scan=SCAN_ARTICLES)[1]


@dataclass(frozen=True, slots=True)
class TestResult:
    ok: bool
    scanned: int = 0
    matched: int = 0
    found: tuple[Found, ...] = ()
    topic: Topic | None = None
    problem: str = ""  # empty | too-long | bad-query | unknown-topic
    detail: str = ""
    error: QueryError | None = None


def test_query(
    store: Store,
    topics: Mapping[str, Topic],
    text: str,
    *,
    show: int = LATEST_COUNT,
    scan: int = SCAN_ARTICLES,
) -> TestResult:
    """Which of the last ``scan`` stored articles a query (or a topic id) matches, and why."""
    text = text.strip()
    if not text:
        return TestResult(ok=False, problem="empty")
    topic = topics.get(text.lower())
    if topic is not None:
        rule = Rule(topic.id, topic.query, topic.threshold, topic)
    elif looks_like_topic_id(text):
        return TestResult(ok=False, problem="unknown-topic", detail=text)
    elif len(text) > MAX_QUERY_CHARS:
        return TestResult(ok=False, problem="too-long", detail=str(MAX_QUERY_CHARS))
    else:
        error = check_query(text)
        if error is not None:
            return TestResult(ok=False, problem="bad-query", detail=str(error), error=error)
        rule = Rule("test", text, 0.0)
    scanned, matched, found = _count_and_show(store, rule, show=show, scan=scan)
    return TestResult(ok=True, scanned=scanned, matched=matched, found=tuple(found), topic=topic)


test_query.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _count_and_show(
    store: Store, rule: Rule, *, show: int, scan: int
) -> tuple[int, int, list[Found]]:
    matcher = Matcher()
    matcher.add(rule.key, rule.query, threshold=rule.threshold)
    articles = store.articles.latest(scan)
    found: list[Found] = []
    matched = 0
    label = rule.topic.name if rule.topic else str(rule.query)
    learned = rule.topic if rule.topic is not None and rule.topic.model else None
    for stored in articles:
        if learned is not None and rule.key == learned.id:
            decision = model_match(stored.article, learned)
        else:
            decision = matcher.evaluate(rule.key, stored.article)
        if not decision.matched:
            continue
        matched += 1
        if len(found) < show:
            found.append(Found(stored.article, decision.score, decision.why, label))
    return len(articles), matched, found


# -- chat preferences -----------------------------------------------------------------------------


def set_paused(store: Store, chat_id: int, paused: bool) -> bool:
    """Pause or resume; False when it already was so."""
    chat = store.chats.get(chat_id)
    if chat is None or chat.paused == paused:
        return False
    store.chats.set_paused(chat_id, paused)
    return True


def link_preview_on(chat: Chat, default: bool) -> bool:
    """Whether alerts to ``chat`` show link previews (its own choice, else the config's)."""
    return default if chat.link_preview is None else chat.link_preview


@dataclass(frozen=True, slots=True)
class FooterResult:
    ok: bool
    footer: str = ""
    problem: str = ""  # too-long | from-config
    detail: str = ""


def set_footer(store: Store, chat_id: int, text: str) -> FooterResult:
    """The chat's own footer under each alert; ``clear`` (or ``off``) goes back to the default."""
    chat = store.chats.get(chat_id)
    if chat is not None and chat.from_config:
        return FooterResult(ok=False, problem="from-config")
    footer = " ".join(text.split())
    if footer.lower() in CLEAR_WORDS:
        footer = ""
    if len(footer) > MAX_FOOTER_CHARS:
        return FooterResult(ok=False, problem="too-long", detail=str(MAX_FOOTER_CHARS))
    store.chats.set_footer(chat_id, footer)
    return FooterResult(ok=True, footer=footer)


def attach_chat(store: Store, chat: ChatInfo, added_by: int) -> Chat:
    """A channel or group attached from a private chat by one of its administrators."""
    register_chat(store, chat, reactivate=True)
    store.chats.set_added_by(chat.chat_id, added_by)
    found = store.chats.get(chat.chat_id)
    assert found is not None
    return found


def list_topics(topics: Mapping[str, Topic]) -> list[Topic]:
    return [topics[k] for k in sorted(topics)]


# -- operators ------------------------------------------------------------------------------------


def is_operator(admins: Sequence[int], user_id: int | None) -> bool:
    """True for the users listed in ``telegram.admins``."""
    return user_id is not None and user_id in admins


@dataclass(frozen=True, slots=True)
class Stats:
    feeds: dict[str, int]  # status -> count
    chats_active: dict[str, int]  # chat type -> active count
    chats_inactive: int
    chats_paused: int
    subscriptions: int
    last_hour: dict[str, int]  # delivery state -> count
    last_day: dict[str, int]
    queue: int
    held: int  # waiting for a digest
    articles_day: int


def stats(store: Store, *, now: datetime | None = None) -> Stats:
    """The figures of /stats."""
    now = now or utcnow()
    reports = ReportStore(store.db)
    feeds: dict[str, int] = {}
    for feed in store.feeds.all():
        feeds[feed.status] = feeds.get(feed.status, 0) + 1
    active: dict[str, int] = {}
    inactive = 0
    for (kind, is_active), n in store.chats.counts().items():
        if is_active:
            active[kind] = active.get(kind, 0) + n
        else:
            inactive += n
    paused = sum(1 for c in store.chats.all() if c.paused and c.active)
    return Stats(
        feeds=feeds,
        chats_active=active,
        chats_inactive=inactive,
        chats_paused=paused,
        subscriptions=store.subscriptions.count(),
        last_hour=reports.deliveries_since(now - timedelta(hours=1)),
        last_day=reports.deliveries_since(now - timedelta(days=1)),
        queue=reports.queue_depth(),
        held=reports.held_for_digests(),
        articles_day=reports.articles_since(now - timedelta(days=1)),
    )


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed as /feeds and /feedstatus show it."""

    name: str
    url: str
    status: str
    last_success: datetime | None = None
    last_error: str = ""
    failures: int = 0
    next_poll: datetime | None = None
    entries: int = 0


def feed_rows(store: Store, feeds: Iterable[object]) -> list[FeedRow]:
    """The configured feeds (``config.feeds``) with their stored health, in config order."""
    rows = []
    for feed in feeds:
        url = str(getattr(feed, "url", ""))
        name = str(getattr(feed, "name", "") or "")
        state = store.feeds.get_by_url(url)
        if state is None:
            rows.append(FeedRow(name=name or url, url=url, status="new"))
            continue
        rows.append(
            FeedRow(
                name=name or state.name or url,
                url=url,
                status=state.status,
                last_success=state.last_success,
                last_error=state.last_error or "",
                failures=state.consecutive_failures,
                next_poll=state.next_poll,
                entries=state.entries_seen,
            )
        )
    return rows


__all__ = [
    "LATEST_COUNT",
    "MAX_FOOTER_CHARS",
    "MAX_QUERY_CHARS",
    "MAX_SUBSCRIPTIONS_PER_CHAT",
    "SCAN_ARTICLES",
    "AtLeast",
    "ChatInfo",
    "FeedRow",
    "FilterResult",
    "FooterResult",
    "Found",
    "Rule",
    "Stats",
    "SubscribeResult",
    "TestResult",
    "UnsubscribeResult",
    "apply_filter",
    "attach_chat",
    "check_query",
    "choose_language",
    "deactivate_chat",
    "feed_rows",
    "find_subscription",
    "is_operator",
    "latest_for_chat",
    "latest_for_topic",
    "link_preview_on",
    "list_topics",
    "looks_like_topic_id",
    "note_language",
    "register_chat",
    "remove_subscription",
    "set_footer",
    "set_paused",
    "stats",
    "subscribe",
    "subscription_rules",
    "subscriptions",
    "test_query",
    "toggle_topic",
    "unsubscribe",
    "unsubscribe_all",
]
