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
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from bot.config.model import ChannelConfig, Config
from bot.config.template import TemplateError, format_template, parse_template
from bot.credentials import (
    has_credentials,
    mask_secrets,
    masked,
    missing_credentials,
    secret_values,
    secrets_known,
    text_without_secrets,
    with_credentials,
    without_secrets,
)
from bot.delivery.digest import chat_zone
from bot.delivery.labels import alert_labels
from bot.delivery.render import choose_footer, render_alert
from bot.errors import FeedError, FetchError, NewsalertError
from bot.ingest.extract import ExtractedPage, FullText
from bot.ingest.feed_health import (
    STOPPED,
    HealthPolicy,
    backoff_delay,
    is_broken,
    is_quiet,
    poll_interval,
)
from bot.ingest.fetch import Fetcher, FetchResult, fetch_source
from bot.ingest.parse import ParsedFeed, malformed_problem, malformed_reason, parse_feed
from bot.ingest.stories import StoryDesk, breaking_outlets
from bot.ingest.urls import redact_url, redact_urls
from bot.matching import passages, vectors
from bot.matching.audience import Audience, Recipient
from bot.matching.feedback import Rated, decide, needs_passage
from bot.ops.logs import redacted_traceback
from bot.records import Alert, Article, FeedStatus, Summary, utcnow
from bot.service.feedback import passages_of, rated
from bot.summary.extractive import summarize
from bot.summary.llm import LLMSummarizer
from bot.text import plural
from bot.workers import TaskTimeout, WorkerCrashed, WorkerPool
from storage.articles import StoredArticle
from storage.chats import Chat
from storage.feeds import FeedState, NewFeed
from storage.store import Store

log = logging.getLogger(__name__)

# An article whose processing raised this many times is given up (and logged), so a bug
# on one odd article cannot block every later one.
MAX_ARTICLE_FAILURES = 3
# New entries stored per poll, newest first; a feed with more gives the rest on the next
# polls (its body is parsed again), so one huge feed cannot hold the loop for long.
MAX_NEW_PER_POLL = 500


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
        workers: WorkerPool | None = None,
    ) -> None:
        self.store = store
        # parse and summarise run here (bot.workers); inline unless the caller gives a pool
        self.workers = workers or WorkerPool("inline")
        self.full_text = full_text
        self.llm = llm
        self.config = config
        self.fetcher = fetcher
        self.bot_name = bot_name
        self.alert_on_first_poll = alert_on_first_poll
        self.audience = Audience(config.topics)
        # One alert per chat and story: near-duplicates and copies from other feeds.
        self.story_window = timedelta(seconds=config.delivery.story_window)
        self.stories = StoryDesk(
            store.stories,
            window=self.story_window,
            by_meaning=config.delivery.story_by_meaning,
        )
        # Article vectors (what an article means) are made when something reads them: story
        # grouping by meaning, a semantic term ~"..." in a subscription, or a chat's 👍/👎.
        self.vectors_available = vectors.available()
        # the sharper e5 vectors, made only for an article close to a recent story
        self.passages_available = passages.available()
        self._failures: dict[int, int] = {}  # article key -> failed passes
        # e5 vectors for story grouping being made now: at most one at a time (one core of
        # the two); an article that comes meanwhile is grouped by the first stage alone
        self._passages_busy = False
        # articles a pass is working on: polls run concurrently, and another pass (the
        # leftovers at start) must neither fetch their pages again nor count their alerts
        self._in_flight: set[int] = set()
        # the kinds of malformed body logged per feed (see _note_malformed)
        self._malformed_logged: dict[int, set[str]] = {}
        self.policy = HealthPolicy(
            default_interval=config.polling.default_interval,
            min_interval=config.polling.min_interval,
            max_interval=config.polling.max_interval,
            max_backoff=config.polling.max_backoff,
            give_up_after=config.polling.give_up_after,
        )

    def reconfigure(self, config: Config) -> None:
        """Run with ``config`` from the next article on (a reload: its topics, alerts and
        feeds; the sections that need a restart are the same as before)."""
        self.config = config
        self.audience = Audience(config.topics)  # loads the subscriptions on first use

    def keep_feeds(self, feed_ids: Collection[int]) -> None:
        """Forget what is remembered of every other feed (a reload removed them)."""
        for gone in self._malformed_logged.keys() - set(feed_ids):
            del self._malformed_logged[gone]

    def forget_feed(self, feed_id: int) -> None:
        """Forget what is remembered of ``feed_id`` (it was removed)."""
        self._malformed_logged.pop(feed_id, None)

    def _fetch_url(self, feed: FeedState) -> str:
        """Where to fetch ``feed``, credentials included (kept in memory only)."""
        full = self.config.credentialed_feed_url(feed.url)
        if full:
            return with_credentials(feed.fetch_url, full)
        return feed.url if masked(feed.fetch_url) else feed.fetch_url  # never send "***"

    async def load_audience(self) -> None:
        """Compile every active subscription into the matcher, in a thread: for 100,000
        subscriptions that takes seconds, which the event loop must not wait through.
        Call it before polling starts (nothing reads the matcher meanwhile); later
        changes are applied incrementally on the loop."""
        generation = self.store.subscriptions.generation()  # first: a write after it reloads
        subscriptions = self.store.subscriptions.active()
        await asyncio.to_thread(self.audience.load, subscriptions, generation=generation)
        self._audience_dirty = False

    def _current_audience(self) -> Audience:
        self.audience.refresh(self.store.subscriptions)  # reloads when subscriptions moved
        return self.audience

    async def poll(self, feed: FeedState, *, now: datetime | None = None) -> PollResult:
        """Fetch, parse and process one feed; failures are recorded on the feed, never raised:
        an unexpected exception (a bug, hostile input) is a failed poll too."""
        now = now or utcnow()
        try:
            return await self._poll(feed, now)
        except Exception as e:
            # not exc_info: the exception's text (a parser's, a remote traceback) may hold
            # the feed's credentials, and a record's exc_info reaches every handler as it is
            secrets = self._secrets(feed)
            log.error(
                "feed %s: unexpected error while polling\n%s",
                redact_url(feed.url),
                redacted_traceback(e, secrets),
            )
            reason = mask_secrets(redact_urls(f"{type(e).__name__}: {e}"), secrets)
            return self._failed(feed, FeedError(feed.url, reason, kind="error"), now)

    async def _poll(self, feed: FeedState, now: datetime) -> PollResult:
        if has_credentials(feed.url) and self.config.credentialed_feed_url(feed.url) is None:
            # stored with credentials by an older version, which the database no longer keeps
            reason = missing_credentials(feed.url)
            return self._failed(feed, FeedError(feed.url, reason, kind="credentials"), now)
        try:
            result = await fetch_source(
                self._fetch_url(feed),
                self.fetcher,
                etag=feed.etag,
                last_modified=feed.last_modified,
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
            parsed = await self.workers.run(
                parse_feed,
                result.body,
                url=result.final_url or feed.url,
                headers=dict(result.headers),
                source=feed.name or None,
                now=now,
                # a publisher may repeat them in its links (the redirect may have lost them)
                secrets=self._secrets(feed),
            )
        except FeedError as e:
            return self._failed(feed, e, now)
        except TaskTimeout as e:
            reason = f"parsing took longer than {e.seconds:g}s (performance.task_timeout)"
            return self._failed(feed, FeedError(feed.url, reason, kind="too_slow"), now)
        except WorkerCrashed as e:
            return self._failed(feed, FeedError(feed.url, f"the parser crashed: {e}"), now)
        self._note_malformed(feed, parsed)
        return await self.process(feed, parsed.articles, result, now=now)

    def _secrets(self, feed: FeedState) -> list[str]:
        """The secrets of ``feed``'s URL in the config (none when it gives it none)."""
        return secret_values(self.config.credentialed_feed_url(feed.url) or "")

    def _note_malformed(self, feed: FeedState, parsed: ParsedFeed) -> None:
        """Keep whether the feed's body was malformed (its items after the fault may be
        lost, though the feed still answers), with how many items were read, for `feeds
        list`; log it once per kind of problem: a new item count or line number (the
        feed grew) is the same problem, not a new message."""
        reason = malformed_reason(parsed.bozo)
        stored = f"{reason}; {plural(len(parsed.articles), 'item')} read" if reason else None
        before = feed.malformed
        if not self.store.feeds.set_malformed(feed.id, stored) or reason is None:
            return
        problem = malformed_problem(reason)
        logged = self._malformed_logged.setdefault(feed.id, set())
        if problem in logged or (before and malformed_problem(before) == problem):
            return
        logged.add(problem)
        log.warning("feed %s: malformed: %s", redact_url(feed.url), redact_urls(stored or ""))

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
        if len(articles) > MAX_NEW_PER_POLL:
            articles = sorted(articles, key=lambda a: a.published or now, reverse=True)
        known = self.store.articles.known_entries(feed.id, (a.id for a in articles))
        new = self.store.articles.add_new(
            feed.id, articles, now=now, processed=priming, limit=MAX_NEW_PER_POLL, known=known
        )
        more = len(new) >= MAX_NEW_PER_POLL  # maybe more: parse the same body again next time
        if more:
            log.warning(
                "feed %s: more than %d new entries; the newest stored, the rest next time",
                redact_url(feed.url),
                MAX_NEW_PER_POLL,
            )
        # Copies of stories other feeds brought (dropped by add_new): "Also: <source>".
        for story_id, _source in self.stories.copies(
            feed.id, articles, [s.article.id for s in new], now=now, known=known
        ):
            if not priming:
                self._story_grew(story_id, now)
        self.store.feeds.record_success(
            feed.id,
            etag=result.etag if result and not more else None,
            last_modified=result.last_modified if result and not more else None,
            body_hash=result.body_hash if result and not more else None,
            new_entries=len(new),
            next_poll=self._next(feed, now),
            url=self._moved_to(feed, result),
            now=now,
            primed=not (priming and more),
        )
        self._check_quiet(feed.id, now)
        if priming:
            log.info(
                "feed %s: first poll, %d articles recorded without alerts",
                redact_url(feed.url),
                len(new),
            )
            return PollResult(
                feed.url, "primed", new_articles=len(new), recovered=feed.down_notified
            )
        # this feed's articles only: each feed's line counts its own alerts
        alert_ids = await self.alert_unprocessed(now=now, feed_id=feed.id)
        log.info(
            "feed %s: %s, %s",
            redact_url(feed.url),
            plural(len(new), "new article"),
            plural(len(alert_ids), "alert"),
        )
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
        if result is None or not result.permanent_url:
            return None
        if result.permanent_url == self._fetch_url(feed):
            return None
        if not secrets_known(
            result.permanent_url, self.config.credentialed_feed_url(feed.url) or feed.url
        ):
            # credentials of the server's own making: the database cannot keep them, so the
            # redirect is followed at every poll
            log.warning(
                "feed %s moved permanently to %s, with credentials that are not in the "
                "config; following the redirect at every poll (update the config)",
                redact_url(feed.url),
                redact_url(result.permanent_url),
            )
            return None
        log.warning(
            "feed %s moved permanently to %s; fetching it from there (update the config)",
            redact_url(feed.url),
            redact_url(result.permanent_url),
        )
        return result.permanent_url

    def _check_quiet(self, feed_id: int, now: datetime) -> None:
        state = self.store.feeds.get(feed_id)
        if state is not None and is_quiet(state, now, self.policy):
            self.store.feeds.set_status(feed_id, FeedStatus.QUIET)

    async def alert_unprocessed(
        self, *, now: datetime | None = None, feed_id: int | None = None
    ) -> list[int]:
        """Match, summarise and render every article not processed yet (new ones, and any
        a crash interrupted), or only ``feed_id``'s; write their alerts to the outbox and
        mark them processed in one transaction.  Returns the new outbox ids.

        An article another pass is working on at the same time is left to that pass."""
        ids: list[int] = []
        skipped: set[int] = set()  # failed in this pass, or another pass has it
        while batch := [
            a
            for a in self.store.articles.unprocessed(
                limit=200 + len(skipped) + len(self._in_flight), feed_id=feed_id
            )
            if a.key not in skipped and a.key not in self._in_flight
        ]:
            audience = self._current_audience()
            # this pass has the whole batch while its pages are fetched, too
            self._in_flight.update(a.key for a in batch)
            try:
                meanings = await self._vectors(batch, audience)
                recipients, pages = await self._prefetch(batch, audience, meanings)
                for stored in batch:
                    # matching and rendering run here, an article at a time: let replies
                    # through
                    await asyncio.sleep(0)
                    try:
                        ids.extend(
                            await self._alert_one(
                                stored,
                                audience,
                                now,
                                recipients.get(stored.key),
                                pages,
                                meanings.get(stored.key),
                            )
                        )
                        # an article that failed before and went through this time
                        self._failures.pop(stored.key, None)
                    except Exception as e:
                        # One bad article must not hold up the others, nor stop the bot.
                        self.stories.forget()
                        failures = self._failures[stored.key] = (
                            self._failures.get(stored.key, 0) + 1
                        )
                        # not exc_info: the exception's text may repeat the feed's key
                        # (its article page did), and exc_info reaches every handler as is
                        shown = self._article_traceback(e, [stored])
                        if failures >= MAX_ARTICLE_FAILURES:
                            log.error(
                                "article %d (%s) failed %d times; giving up on it\n%s",
                                stored.key, self._article_name(stored), failures, shown,
                            )  # fmt: skip
                            self.store.articles.mark_processed([stored.key])
                            self._failures.pop(stored.key, None)
                        else:
                            log.error(
                                "article %d failed; it will be tried again\n%s", stored.key, shown
                            )
                            skipped.add(stored.key)
                    finally:
                        self._in_flight.discard(stored.key)
            finally:
                self._in_flight.difference_update(a.key for a in batch)
        return ids

    async def _vectors(
        self, batch: list[StoredArticle], audience: Audience
    ) -> dict[int, np.ndarray | None]:
        """Each article's vector: the stored one, else made now for the batch at once (in a
        worker thread) and stored, once, whoever reads it.  Empty when nothing reads them
        or the model is missing; a model that fails leaves them out (logged)."""
        if not self.vectors_available or not (
            self.stories.by_meaning or audience.needs_vectors or self.store.feedback.count()
        ):
            return {}
        out: dict[int, np.ndarray | None] = {
            s.key: vectors.from_blob(s.vector) for s in batch if s.vector is not None
        }
        missing = [s for s in batch if s.vector is None]
        if not missing:
            return out
        try:
            made = await asyncio.to_thread(vectors.article_vectors, [s.article for s in missing])
        except Exception as e:  # the model is a dependency, but alerts go on without it
            log.error(
                "article vectors could not be made; matching by words only\n%s",
                self._article_traceback(e, missing),
            )
            return out
        for stored, vector in zip(missing, made, strict=True):
            self.store.articles.set_vector(stored.key, vectors.to_blob(vector))
            out[stored.key] = vector
        return out

    async def _as_taught(
        self, stored: StoredArticle, recipients: list[Recipient], vector: np.ndarray | None
    ) -> list[Recipient]:
        """The recipients whose own 👍/👎 votes (bot.matching.feedback) do not hold this
        article back; every chat's votes count for all when the operator set
        ``alerts.learn_across_chats``.  The article's e5 vector is made (once, in a worker
        thread) only when a recipient has votes that judge by it."""
        if not recipients or not self.store.feedback.count():
            return recipients
        if self.config.alerts.learn_across_chats:
            everyone = self.store.feedback.everyone()
            votes = {r.chat_id: everyone for r in recipients}
        else:
            votes = self.store.feedback.for_chats(r.chat_id for r in recipients)
        pools: list[tuple[Recipient, list[Rated]]] = []
        made: dict[tuple[int, str], list[Rated]] = {}  # recipients sharing a vote list
        for recipient in recipients:
            topic = recipient.topic.id if recipient.topic else ""
            chat_votes = votes.get(recipient.chat_id, ())
            key = (id(chat_votes), topic)
            if key not in made:
                made[key] = rated(chat_votes, topic)
            pools.append((recipient, made[key]))
        passage = None
        if any(needs_passage(pool) for _, pool in pools):
            try:
                passage = (await asyncio.to_thread(passages_of, [stored.article]))[0]
            except Exception as e:  # the model is a dependency, but alerts go on without it
                log.error(
                    "the e5 vector of article %d could not be made\n%s",
                    stored.key,
                    self._article_traceback(e, [stored]),
                )
        kept = []
        for recipient, pool in pools:
            verdict = decide(vector, passage, pool) if pool else None
            if verdict is None or verdict.send:
                kept.append(recipient)
            else:
                log.info(
                    "chat %d: held back (👎 on %r, similarity %.2f)",
                    recipient.chat_id, verdict.title, verdict.similarity,
                )  # fmt: skip
        return kept

    async def _recipients(
        self, stored: StoredArticle, audience: Audience, vector: np.ndarray | None
    ) -> list[Recipient]:
        texts = (
            audience.passage_texts(stored.article, vector=vector) if self.passages_available else []
        )
        if texts:  # a learned topic's e5 block: made in a thread, not on the loop
            try:
                await asyncio.to_thread(passages.remembered, texts)
            except Exception:  # the decision makes it then (or fails, counted as before)
                log.debug("e5 vectors for the learned topics failed", exc_info=True)
        matched = audience.recipients(stored.article, vector=vector)
        return await self._as_taught(stored, matched, vector)

    async def _prefetch(
        self,
        batch: list[StoredArticle],
        audience: Audience,
        meanings: dict[int, np.ndarray | None] | None = None,
    ) -> tuple[dict[int, list[Recipient]], dict[int, ExtractedPage | None]]:
        """Who gets each article of the batch, and the full text of the matched ones' pages,
        fetched at once under one deadline (``fetch.full_text_deadline``): a slow host
        delays the batch by that much at most, and an article whose page is not there by
        then is alerted on from the feed's own text."""
        recipients: dict[int, list[Recipient]] = {}
        wanted: dict[int, tuple[str, tuple[str, ...], str | None]] = {}
        for stored in batch:
            await asyncio.sleep(0)  # an article's matching at a time: replies go between
            try:
                vector = (meanings or {}).get(stored.key)
                recipients[stored.key] = await self._recipients(stored, audience, vector)
                if recipients[stored.key] and (target := self._full_text_target(stored)):
                    wanted[stored.key] = target
            except Exception:  # raised again in _alert_one, where failures are counted
                recipients.pop(stored.key, None)
        pages: dict[int, ExtractedPage | None] = {}
        if not wanted or self.full_text is None:
            return recipients, pages
        full_text = self.full_text
        tasks = {
            asyncio.ensure_future(full_text.get(link, feed_urls=urls, credentials=full)): key
            for key, (link, urls, full) in wanted.items()
        }
        _, late = await asyncio.wait(tasks, timeout=self.config.fetch.full_text_deadline)
        for task in late:
            task.cancel()
        if late:
            log.info(
                "%d article pages not fetched within %gs; alerting from the feeds' text",
                len(late),
                self.config.fetch.full_text_deadline,
            )
            await asyncio.gather(*late, return_exceptions=True)
        for task in tasks:
            key = tasks[task]
            page = None if task in late or task.exception() is not None else task.result()
            pages[key] = page
        return recipients, pages

    async def _alert_one(
        self,
        stored: StoredArticle,
        audience: Audience,
        now: datetime | None,
        recipients: list[Recipient] | None = None,
        pages: dict[int, ExtractedPage | None] | None = None,
        vector: np.ndarray | None = None,
    ) -> list[int]:
        alerts: list[Alert] = []
        if vector is None and stored.vector is not None:
            vector = vectors.from_blob(stored.vector)
        if recipients is None:
            recipients = await self._recipients(stored, audience, vector)
        if recipients:
            stored = await self._with_full_text(stored, pages)
            alerts = await self._render_for(stored, recipients)
        passage, story_passages, member_passages = await self._passages(
            stored, vector, now, alerting=bool(alerts)
        )
        with self.store.atomic():
            story = self.stories.assign(
                stored.key,
                stored.feed_id,
                stored.article,
                now=now,
                vector=vector,
                passage=passage,
                story_passages=story_passages,
                member_passages=member_passages,
            )
            # A chat that already has the story gets no second alert ...
            ids = self.store.outbox.enqueue(alerts, now=now, story_id=story.id)
            if story.is_copy:  # ... its alert gets "Also: <this source>"
                self._story_grew(story.id, now or utcnow())
                if ids and self.store.stories.is_breaking(story.id):
                    self.store.outbox.promote_breaking(story.id)  # late alerts of it too
            self.store.articles.mark_processed([stored.key])
        return ids

    async def _passages(
        self,
        stored: StoredArticle,
        vector: np.ndarray | None,
        now: datetime | None,
        *,
        alerting: bool,
    ) -> tuple[np.ndarray | None, dict[int, np.ndarray], dict[int, np.ndarray]]:
        """The e5 vectors the story desk wants to judge this article by (its own, and those
        of close stories' reports that have none yet: by story id for their first reports,
        by article key for later ones), made in a worker thread: none for most
        articles (no recent story is close enough), nor when the model is missing or fails
        (then the article vectors and words decide, as before)."""
        if vector is None or not self.passages_available:
            return None, {}, {}
        work = self.stories.passages_wanted(stored.article, now=now, vector=vector)
        if work is None:
            return None, {}, {}
        if self._passages_busy:  # a burst: the first stage decides, the loop keeps its pace
            return None, {}, {}
        if not alerting and not self.store.outbox.any_for_stories(work.candidates):
            # nobody is alerted of this article nor of the stories it is close to: which
            # story it joins changes no alert, and e5 (80 ms an article) is not paid.  At
            # 5,000 feeds it was paid for every close unmatched entry: 147 ms of CPU per
            # changed poll, fetch->sendMessage p99 19.8 s (bench/scale.py)
            return None, {}, {}
        self._passages_busy = True
        try:
            rows = await asyncio.to_thread(passages.remembered, work.texts())
        except Exception as e:  # the model is a dependency, but alerts go on without it
            log.error(
                "e5 vectors could not be made; article %d grouped without them\n%s",
                stored.key,
                self._article_traceback(e, [stored]),
            )
            return None, {}, {}
        finally:
            self._passages_busy = False
        ends = 1 + len(work.stories)
        made = {story: row for (story, _), row in zip(work.stories, rows[1:ends], strict=True)}
        later = {key: row for (key, _), row in zip(work.members, rows[ends:], strict=True)}
        return rows[0], made, later

    def _story_grew(self, story_id: int, now: datetime) -> None:
        """Another outlet carried the story: its alerts are edited ("Also: ..."), and when
        enough outlets carried it quickly enough it becomes breaking news."""
        alerts = self.config.alerts
        stories = self.store.stories
        if not stories.is_breaking(story_id) and breaking_outlets(
            stories.sightings(story_id),
            outlets=alerts.breaking_outlets,
            window=timedelta(seconds=alerts.breaking_window),
        ):
            stories.mark_breaking(story_id, now=now)
            promoted = self.store.outbox.promote_breaking(story_id)
            log.info("story %d is breaking news; %d alerts sent at once", story_id, promoted)
        self.store.outbox.story_changed(story_id, since=now - self.story_window)

    def _full_text_target(
        self, stored: StoredArticle
    ) -> tuple[str, tuple[str, ...], str | None] | None:
        """(page link, the feed's URLs, the feed's URL as fetched when it has credentials)
        when the article wants its page's text: the feed gave only a teaser and full text
        is on for it; else None."""
        article = stored.article
        if self.full_text is None or not article.link or len(article.content.split()) >= 150:
            return None
        feed = self.store.feeds.get(stored.feed_id) if stored.feed_id else None
        wanted = (
            feed.full_text if feed and feed.full_text is not None else self.config.fetch.full_text
        )
        if not wanted or not article.link.startswith(("http://", "https://")):
            return None
        # the feed's own origin may be internal (the operator chose it); other hosts not
        feed_urls = tuple(dict.fromkeys(u for u in (feed.url, feed.fetch_url) if u)) if feed else ()
        # a page on the feed's own origin gets the feed's key back (FullText.get)
        full = feed and self.config.credentialed_feed_url(feed.url) and self._fetch_url(feed)
        return article.link, feed_urls, full or None

    async def _with_full_text(
        self, stored: StoredArticle, pages: dict[int, ExtractedPage | None] | None = None
    ) -> StoredArticle:
        """The article with its page's main text, when the feed gave only a teaser (from
        ``pages``, fetched by :meth:`_prefetch`, when it has the article)."""
        article = stored.article
        page: ExtractedPage | None
        if pages is not None and stored.key in pages:
            page = pages[stored.key]
        else:
            target = self._full_text_target(stored)
            if target is None or self.full_text is None:
                return stored
            try:
                link, urls, full = target
                page = await self.full_text.get(link, feed_urls=urls, credentials=full)
            except NewsalertError:
                page = None
        if page is None:
            return stored  # the feed's own summary will do (also when the page was refused)
        # a page of a feed with credentials may repeat them, as its feed's content may
        secrets = self._feed_secrets(stored.feed_id)
        text = text_without_secrets(page.text, secrets)
        image = article.image or without_secrets(page.image, secrets)  # else og:image
        self.store.articles.update_content(stored.key, text, image=image)
        return replace(stored, article=article.replace(content=text, image=image))

    def _feed_secrets(self, feed_id: int | None) -> list[str]:
        """The credentials the config gives the feed ``feed_id`` (none for most feeds)."""
        feed = self.store.feeds.get(feed_id) if feed_id else None
        full = self.config.credentialed_feed_url(feed.url) if feed else None
        return secret_values(full) if full else []

    def _article_traceback(self, error: BaseException, articles: list[StoredArticle]) -> str:
        """``error``'s traceback for a log line about ``articles``, without the secrets of
        their feeds (an exception's text may repeat what a page or entry held) nor any
        other known secret (``redacted_traceback``)."""
        secrets = [s for f in {a.feed_id for a in articles} for s in self._feed_secrets(f)]
        return redacted_traceback(error, secrets)

    def _article_name(self, stored: StoredArticle) -> str:
        """The article's link (redacted) or title, without its feed's secrets, for a log."""
        name = redact_urls(stored.article.link) if stored.article.link else stored.article.title
        return mask_secrets(name, self._feed_secrets(stored.feed_id))

    async def _summary(self, article: Article, budget: int, language: str) -> Summary:
        if self.llm is not None:
            return await self.llm.summarize(article, max_chars=budget, language=language)
        try:
            return await self.workers.run(summarize, article, max_chars=budget)
        except (TaskTimeout, WorkerCrashed) as e:
            log.warning("summary of %s given up (%s); the feed's own text is used", article.id, e)
            text = (article.summary or article.title)[:budget]
            return Summary(article.id, text, method="fallback")

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
            parts = self._template(chat)
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
                    image=chat.image or self.config.alerts.image,
                    thread_id=recipient.thread_id or chat.thread_id,
                    zone=chat_zone(chat),
                    # a personal filter says why it matched; a topic names itself, unless
                    # the chat's own template asks for the terms
                    terms=recipient.match.why
                    if recipient.topic is None or (chat.template and "terms" in parts)
                    else (),
                    parts=parts,
                    reader_language=reader,
                )
            )
        return alerts

    def _template(self, chat: Chat) -> tuple[str, ...]:
        """The parts of the chat's alerts: its own template, else ``alerts.template``."""
        if chat.template:
            try:
                return parse_template(chat.template)
            except TemplateError:
                log.warning("chat %d: its template %r is unusable; using the default", chat.chat_id, chat.template)  # fmt: skip
        return self.config.alerts.template

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
            private=chat.type == "private",
        )

    def _failed(self, feed: FeedState, error: FeedError, now: datetime) -> PollResult:
        retry_after = error.retry_after if isinstance(error, FetchError) else None
        delay = backoff_delay(
            feed.consecutive_failures + 1,
            poll_interval(feed, self.policy),
            self.policy,
            retry_after,
        )
        # every path that shows it (the log, `feeds list`, /feedstatus, the operators'
        # notice) gets it without credentials: never the raw URL to a redactor downstream
        # (and without a secret the error's text repeats elsewhere: an exception's own words)
        reason = mask_secrets(redact_urls(str(error)), self._secrets(feed))
        state = self.store.feeds.record_failure(
            feed.id,
            f"{error.kind}: {reason}",
            status=FeedStatus.GONE if error.kind == "gone" else FeedStatus.FAILING,
            next_poll=now + timedelta(seconds=delay),
            now=now,
        )
        if state.status != FeedStatus.GONE and is_broken(state, now, self.policy):
            self.store.feeds.set_status(feed.id, FeedStatus.BROKEN)
            state = self.store.feeds.get(feed.id) or state
        log.warning("feed %s failed (%s): %s", redact_url(feed.url), error.kind, reason)
        return PollResult(
            feed.url,
            "error",
            error=reason,
            error_kind=error.kind,
            went_down=state.status in STOPPED and not state.down_notified,
        )


def reader_language(chat_language: str | None) -> str:
    """The language a chat reads alerts in: "ko" or "en" (the languages the bot speaks)."""
    return "ko" if (chat_language or "").lower().startswith("ko") else "en"


def configure_channel(store: Store, chat_id: int, channel: ChannelConfig) -> None:
    """Store a configured channel's own delivery settings on its chat."""
    store.chats.configure(
        chat_id,
        footer=channel.footer,
        link_preview=channel.link_preview,
        summary_chars=channel.summary_chars,
        image=channel.image,
        thread_id=channel.thread_id,
        template=format_template(channel.template),
    )
    if channel.language:  # as a /language there would: summaries and labels in it
        store.chats.choose_language(chat_id, channel.language)


def credentialed_feed_urls(config: Config) -> list[str]:
    """The config's feed URLs that carry credentials (what the secrets scrub looks for)."""
    return [f.url for f in config.feeds if has_credentials(f.url)]


def sync_config(store: Store, config: Config, *, scrub: bool = True) -> list[FeedState]:
    """Make the database agree with the config: feeds, topics, configured channels and
    their subscriptions.  Returns every feed to poll: the config's, and those added
    with ``newsalert feeds add`` or an OPML import.  ``scrub=False`` leaves the secrets
    scrub (``Store.scrub_feed_secrets``) to the caller, to run it off the event loop."""
    store.feeds.upsert_many(
        NewFeed(f.url, name=f.name, interval=f.interval, full_text=f.full_text)
        for f in config.feeds
    )
    for url in store.feeds.remove_config_feeds_except({f.url for f in config.feeds}):
        log.info("feed %s is no longer in the config: removed", redact_url(url))
    # what an older version stored from their content before it lost their secrets
    if scrub:
        store.scrub_feed_secrets(credentialed_feed_urls(config))
    feeds = store.feeds.all()
    for feed in feeds:
        if has_credentials(feed.url) and config.credentialed_feed_url(feed.url) is None:
            # stored with credentials by an older version: not fetched until the config has them
            log.warning(
                "feed %d %s: %s", feed.id, redact_url(feed.url), missing_credentials(feed.url)
            )
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
        configure_channel(store, chat_id, channel)
        configured.add(chat_id)
        pairs.update((chat_id, t) for t in channel.topics)
    store.chats.unconfigure_except(configured)
    store.subscriptions.replace_config(pairs)
    return feeds
