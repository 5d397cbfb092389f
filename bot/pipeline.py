"""The pipeline: the only module that knows the order of the stages.

fetch ─► parse ─► store new ─► match ─► (full text) ─► summarise ─► render ─► outbox

A stored article stays "unprocessed" until its alerts are in the outbox (one
transaction), so a crash in between loses nothing: the next pass picks it up.

Sending is the sender's job (``bot.delivery.sender``): the pipeline ends when the
alerts are safely written to the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from bot.config.loader import Config
from bot.delivery.labels import alert_labels
from bot.delivery.render import choose_footer, render_alert
from bot.errors import FeedError, FetchError, NewsalertError
from bot.ingest.extract import FullText
from bot.ingest.feed_health import (
    STOPPED,
    HealthPolicy,
    backoff_delay,
    is_broken,
    is_quiet,
    poll_interval,
)
from bot.ingest.fetch import Fetcher, FetchResult, fetch_source
from bot.ingest.parse import parse_feed
from bot.ingest.stories import StoryDesk
from bot.matching import vectors
from bot.matching.audience import Audience, Recipient
from bot.matching.feedback import judge
from bot.records import Alert, Article, Summary, utcnow
from bot.summary.extractive import summarize
from bot.summary.llm import LLMSummarizer
from storage.articles import StoredArticle
from storage.chats import Chat
from storage.feeds import FeedState
from storage.store import Store

log = logging.getLogger(__name__)

# An article whose processing raised this many times is given up (and logged), so a bug
# on one odd article cannot block every later one.
MAX_ARTICLE_FAILURES = 3


@dataclass(frozen=True)
class PollResult:
    """What one poll of one feed did."""

    feed: str
    status: str  # new-articles | unchanged | not-modified | primed | error
    new_articles: int = 0
    alerts: int = 0
    error: str = ""
    error_kind: str = ""  # FeedError.kind when status is "error": timeout, http, parse, ...
    alert_ids: tuple[int, ...] = field(default=())
    went_down: bool = False  # the feed just stopped being polled (gone or broken)
    recovered: bool = False  # a feed the operator was told is down answers again


class Pipeline:
    """Runs the stages for one feed at a time, writing alerts to the outbox."""

    def __init__(
        self,
        store: Store,
        config: Config,
        fetcher: Fetcher,
        *,
        bot_name: Callable[[], str] = lambda: "",
        alert_on_first_poll: bool = False,
        full_text: FullText | None = None,
        llm: LLMSummarizer | None = None,
    ) -> None:
        self.store = store
        self.full_text = full_text
        self.llm = llm
        self.config = config
        self.fetcher = fetcher
        self.bot_name = bot_name
        self.alert_on_first_poll = alert_on_first_poll
        self.audience = Audience(config.topics)
        self._audience_dirty = True
        # One alert per chat and story: near-duplicates and copies from other feeds.
        self.story_window = timedelta(seconds=config.delivery.story_window)
        self.stories = StoryDesk(
            store.outbox.stories,
            window=self.story_window,
            by_meaning=config.delivery.story_by_meaning,
        )
        # Article vectors (what an article means) are made when something reads them: story
        # grouping by meaning, or a semantic term ~"..." in a subscription.
        self.vectors_available = vectors.available()
        self._failures: dict[int, int] = {}  # article key -> failed passes
        self.policy = HealthPolicy(
            default_interval=config.polling.default_interval,
            min_interval=config.polling.min_interval,
            max_interval=config.polling.max_interval,
            max_backoff=config.polling.max_backoff,
            give_up_after=config.polling.give_up_after,
        )

    def subscriptions_changed(self) -> None:
        """Call after any subscription change: the matcher is rebuilt before the next match."""
        self._audience_dirty = True

    def _current_audience(self) -> Audience:
        if self._audience_dirty:
            self.audience.load(self.store.subscriptions.active())
            self._audience_dirty = False
        return self.audience

    async def poll(self, feed: FeedState, *, now: datetime | None = None) -> PollResult:
        """Fetch, parse and process one feed; failures are recorded on the feed, never raised."""
        now = now or utcnow()
        try:
            result = await fetch_source(
                feed.fetch_url, self.fetcher, etag=feed.etag, last_modified=feed.last_modified
            )
        except FeedError as e:
            return self._failed(feed, e, now)
        if result.not_modified or (feed.body_hash and result.body_hash == feed.body_hash):
            self.store.feeds.record_not_modified(feed.id, next_poll=self._next(feed, now), now=now)
            self._check_quiet(feed.id, now)
            return PollResult(
                feed.url,
                "not-modified" if result.not_modified else "unchanged",
                recovered=feed.down_notified,
            )
        try:
            parsed = parse_feed(
                result.body,
                url=result.final_url or feed.url,
                headers=result.headers,
                source=feed.name or None,
                now=now,
            )
        except FeedError as e:
            return self._failed(feed, e, now)
        return await self.process(feed, parsed.articles, result, now=now)

    async def process(
        self,
        feed: FeedState,
        articles: tuple[Article, ...] | list[Article],
        result: FetchResult | None = None,
        *,
        now: datetime | None = None,
    ) -> PollResult:
        """Store the new articles; unless this is the feed's first poll, alert on them."""
        now = now or utcnow()
        first_poll = not feed.primed
        priming = first_poll and not self.alert_on_first_poll
        new = self.store.articles.add_new(feed.id, articles, now=now, processed=priming)
        # Copies of stories other feeds brought (dropped by add_new): "Also: <source>".
        for story_id, _source in self.stories.copies(
            feed.id, articles, [s.article.id for s in new], now=now
        ):
            if not priming:
                self.store.outbox.story_changed(story_id, since=now - self.story_window)
        self.store.feeds.record_success(
            feed.id,
            etag=result.etag if result else None,
            last_modified=result.last_modified if result else None,
            body_hash=result.body_hash if result else None,
            new_entries=len(new),
            next_poll=self._next(feed, now),
            url=self._moved_to(feed, result),
            now=now,
        )
        self._check_quiet(feed.id, now)
        if priming:
            log.info("feed %s: first poll, %d articles recorded without alerts", feed.url, len(new))
            return PollResult(
                feed.url, "primed", new_articles=len(new), recovered=feed.down_notified
            )
        alert_ids = await self.alert_unprocessed(now=now)
        log.info("feed %s: %d new articles, %d alerts", feed.url, len(new), len(alert_ids))
        return PollResult(
            feed.url,
            "new-articles" if new else "unchanged",
            new_articles=len(new),
            alerts=len(alert_ids),
            alert_ids=tuple(alert_ids),
            recovered=feed.down_notified,
        )

    def _next(self, feed: FeedState, now: datetime) -> datetime:
        return now + timedelta(seconds=poll_interval(feed, self.policy))

    def _moved_to(self, feed: FeedState, result: FetchResult | None) -> str | None:
        """Where the feed moved by a permanent redirect, to fetch it from there next time
        (its identity stays the URL the operator wrote)."""
        if result is None or not result.permanent_url or result.permanent_url == feed.fetch_url:
            return None
        log.warning(
            "feed %s moved permanently to %s; fetching it from there (update the config)",
            feed.url,
            result.permanent_url,
        )
        return result.permanent_url

    def _check_quiet(self, feed_id: int, now: datetime) -> None:
        state = self.store.feeds.get(feed_id)
        if state is not None and is_quiet(state, now, self.policy):
            self.store.feeds.set_status(feed_id, "quiet")

    async def alert_unprocessed(self, *, now: datetime | None = None) -> list[int]:
        """Match, summarise and render every article not processed yet (new ones, and any
        a crash interrupted); write their alerts to the outbox and mark them processed in
        one transaction.  Returns the new outbox ids."""
        ids: list[int] = []
        skipped: set[int] = set()  # failed in this pass: retried on the next one
        while batch := [
            a
            for a in self.store.articles.unprocessed(limit=200 + len(skipped))
            if a.key not in skipped
        ]:
            audience = self._current_audience()
            for stored in batch:
                try:
                    ids.extend(await self._alert_one(stored, audience, now))
                except Exception:
                    # One bad article must not hold up the others, nor stop the bot.
                    self.stories.forget()
                    failures = self._failures[stored.key] = self._failures.get(stored.key, 0) + 1
                    if failures >= MAX_ARTICLE_FAILURES:
                        log.exception(
                            "article %d (%s) failed %d times; giving up on it",
                            stored.key, stored.article.link or stored.article.title, failures,
                        )  # fmt: skip
                        self.store.articles.mark_processed([stored.key])
                        self._failures.pop(stored.key, None)
                    else:
                        log.exception("article %d failed; it will be tried again", stored.key)
                        skipped.add(stored.key)
        return ids

    async def _alert_one(
        self, stored: StoredArticle, audience: Audience, now: datetime | None
    ) -> list[int]:
        alerts: list[Alert] = []
        vector = await self._vector(stored, audience)
        recipients = self._as_taught(audience.recipients(stored.article, vector=vector), vector)
        if recipients:
            stored = await self._with_full_text(stored)
            alerts = await self._render_for(stored, recipients)
        with self.store.db.atomic():
            story = self.stories.assign(
                stored.key, stored.feed_id, stored.article, now=now, vector=vector
            )
            # A chat that already has the story gets no second alert ...
            ids = self.store.outbox.enqueue(alerts, now=now, story_id=story.id)
            if story.is_copy:  # ... its alert gets "Also: <this source>"
                when = now or utcnow()
                self.store.outbox.story_changed(story.id, since=when - self.story_window)
            self.store.articles.mark_processed([stored.key])
        return ids

    async def _vector(self, stored: StoredArticle, audience: Audience) -> np.ndarray | None:
        """The article's vector: the stored one, else made now (in a worker thread) and
        stored, once, whoever reads it; ``None`` when nothing needs it or the model is
        missing."""
        if stored.vector is not None:
            return vectors.from_blob(stored.vector)
        if not self.vectors_available or not (
            self.stories.by_meaning or audience.needs_vectors or self.store.feedback.count()
        ):
            return None
        vector = await asyncio.to_thread(vectors.article_vector, stored.article)
        self.store.articles.set_vector(stored.key, vectors.to_blob(vector))
        return vector

    def _as_taught(self, recipients: list[Recipient], vector: np.ndarray | None) -> list[Recipient]:
        """The recipients whose own 👍/👎 votes (bot.matching.feedback) do not hold this
        article back; every chat's votes count for all when the operator set
        ``alerts.learn_across_chats``."""
        if vector is None or not recipients or not self.store.feedback.count():
            return recipients
        if self.config.alerts.learn_across_chats:
            everyone = self.store.feedback.everyone()
            votes = {r.chat_id: everyone for r in recipients}
        else:
            votes = self.store.feedback.for_chats(r.chat_id for r in recipients)
        kept = []
        for recipient in recipients:
            topic = recipient.topic.id if recipient.topic else ""
            pool = [
                (v.vote, blob, v.title)
                for v in votes.get(recipient.chat_id, ())
                if v.topic == topic and (blob := vectors.from_blob(v.vector)) is not None
            ]
            verdict = judge(vector, pool)
            if verdict.send:
                kept.append(recipient)
            else:
                log.info(
                    "chat %d: held back (👎 on %r, similarity %.2f)",
                    recipient.chat_id, verdict.title, verdict.similarity,
                )  # fmt: skip
        return kept

    async def _with_full_text(self, stored: StoredArticle) -> StoredArticle:
        """The article with its page's main text, when the feed gave only a teaser."""
        article = stored.article
        if self.full_text is None or not article.link or len(article.content.split()) >= 150:
            return stored
        feed = self.store.feeds.get(stored.feed_id) if stored.feed_id else None
        wanted = (
            feed.full_text if feed and feed.full_text is not None else self.config.fetch.full_text
        )
        if not wanted or not article.link.startswith(("http://", "https://")):
            return stored
        try:
            page = await self.full_text.get(article.link)
        except NewsalertError:
            return stored  # the feed's own summary will do
        self.store.articles.update_content(stored.key, page.text)
        return replace(stored, article=article.replace(content=page.text))

    async def _summary(self, article: Article, budget: int, language: str) -> Summary:
        if self.llm is not None:
            return await self.llm.summarize(article, max_chars=budget, language=language)
        return summarize(article, max_chars=budget)

    async def _render_for(self, stored: StoredArticle, recipients: list[Recipient]) -> list[Alert]:
        # One summary per budget and reader's language, made once for every chat that
        # shares them: an LLM is asked once per language, never once per subscriber.
        # Without an LLM the summary stays in the article's language for everyone.
        summaries: dict[tuple[int, str], Summary] = {}
        alerts = []
        for recipient in recipients:
            chat = self.store.chats.get(recipient.chat_id) or Chat(chat_id=recipient.chat_id)
            budget = chat.summary_chars or self.config.alerts.summary_chars
            reader = reader_language(chat.language)
            key = (budget, reader if self.llm is not None else "")
            if key not in summaries:
                summaries[key] = await self._summary(stored.article, budget, reader)
            link_preview = (
                chat.link_preview
                if chat.link_preview is not None
                else self.config.alerts.link_preview
            )
            alerts.append(
                render_alert(
                    chat_id=chat.chat_id,
                    article_key=stored.key,
                    article=stored.article,
                    summary=summaries[key],
                    topic=recipient.topic,
                    footer=self._footer(chat),
                    link_preview=link_preview,
                    labels=alert_labels(chat.language),
                    reader_language=reader,
                )
            )
        return alerts

    def footer_for(self, chat: Chat) -> str:
        """The footer under this chat's alerts and digests, the default one in the chat's
        language (see ``bot.delivery.render.choose_footer``)."""
        return self._footer(chat)

    def _footer(self, chat: Chat) -> str:
        chat_name = f"@{chat.username}" if chat.username and chat.type == "channel" else ""
        bot = self.bot_name()
        return choose_footer(
            chat_footer=chat.footer,
            global_footer=self.config.alerts.footer,
            chat_name=chat_name,
            bot_name=f"@{bot}" if bot else "",
            labels=alert_labels(chat.language),
        )

    def _failed(self, feed: FeedState, error: FeedError, now: datetime) -> PollResult:
        retry_after = error.retry_after if isinstance(error, FetchError) else None
        delay = backoff_delay(
            feed.consecutive_failures + 1,
            poll_interval(feed, self.policy),
            self.policy,
            retry_after,
        )
        state = self.store.feeds.record_failure(
            feed.id,
            f"{error.kind}: {error}",
            status="gone" if error.kind == "gone" else "failing",
            next_poll=now + timedelta(seconds=delay),
            now=now,
        )
        if state.status != "gone" and is_broken(state, now, self.policy):
            self.store.feeds.set_status(feed.id, "broken")
            state = self.store.feeds.get(feed.id) or state
        log.warning("feed %s failed (%s): %s", feed.url, error.kind, error)
        return PollResult(
            feed.url,
            "error",
            error=str(error),
            error_kind=error.kind,
            went_down=state.status in STOPPED and not state.down_notified,
        )


def reader_language(chat_language: str | None) -> str:
    """The language a chat reads alerts in: "ko" or "en" (the languages the bot speaks)."""
    return "ko" if (chat_language or "").lower().startswith("ko") else "en"


def sync_config(store: Store, config: Config) -> list[FeedState]:
    """Make the database agree with the config: feeds, topics, configured channels and
    their subscriptions.  Returns every feed to poll: the config's, and those added
    with ``newsalert feeds add`` or an OPML import."""
    for f in config.feeds:
        store.feeds.upsert(f.url, name=f.name, interval=f.interval, full_text=f.full_text)
    for url in store.feeds.remove_config_feeds_except({f.url for f in config.feeds}):
        log.info("feed %s is no longer in the config: removed", url)
    feeds = store.feeds.all()
    store.topics.replace_all(config.topics.values())
    pairs: set[tuple[int, str]] = set()
    configured: set[int] = set()
    for channel in config.channels:
        if isinstance(channel.chat_id, int):
            chat_id: int | None = channel.chat_id
        else:
            # an @username: its id as resolved by an earlier start (Telegram refreshes it), so
            # that a start or reload while Telegram is unreachable keeps its subscriptions
            known = store.chats.by_username(channel.chat_id.lstrip("@"))
            chat_id = known.chat_id if known else None
        if chat_id is None:
            continue  # resolved once Telegram is reachable
        store.chats.configure(
            chat_id,
            footer=channel.footer,
            link_preview=channel.link_preview,
            summary_chars=channel.summary_chars,
        )
        configured.add(chat_id)
        pairs.update((chat_id, t) for t in channel.topics)
    store.chats.unconfigure_except(configured)
    store.subscriptions.replace_config(pairs)
    return feeds
