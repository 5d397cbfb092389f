"""The running bot: store, fetcher, pipeline, scheduler, sender and (optionally) Telegram,
started and stopped in the right order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config.loader import load_config
from bot.config.model import Config
from bot.config.reload import ReloadOutcome, ReloadPlan, plan_reload
from bot.credentials import mask_secrets, secret_values
from bot.delivery.sender import LOOK_AGAIN_EVERY, Sender
from bot.delivery.sinks import ConsoleSink, Sink
from bot.errors import ConfigError
from bot.ingest.address_guard import AddressPolicy
from bot.ingest.extract import FullText
from bot.ingest.feed_health import due, first_polls, poll_interval
from bot.ingest.fetch import USER_AGENT, Fetcher
from bot.ingest.scheduler import FeedScheduler
from bot.ingest.urls import redact_url
from bot.ops.health import Health, HealthReport, OpsServer, heartbeat_every
from bot.ops.logs import (
    add_config_secrets,
    install_redacting_factory,
    redact,
    redacted_traceback,
)
from bot.ops.loop_lag import LoopLagMonitor
from bot.ops.metrics import Metrics
from bot.pipeline import (
    Pipeline,
    PollResult,
    configure_channel,
    credentialed_feed_urls,
    sync_config,
)
from bot.records import utcnow
from bot.summary.llm import LLMSummarizer
from bot.text import plural, without_known_secrets
from bot.updates import start_updates
from bot.workers import WorkerPool
from storage.chats import Chat
from storage.feeds import FeedState
from storage.lock import DatabaseLock
from storage.retention import PRUNE_EVERY, PruneResult, prune
from storage.store import Store

log = logging.getLogger(__name__)

DRAIN_EVERY = 5.0  # seconds between outbox checks when nothing wakes the sender
MIN_DRAIN_GAP = 0.5  # seconds the sender waits at least between timed drains
DIGEST_CHECK_EVERY = 60.0  # seconds between checks for digests that are due


class Core:
    """Everything the bot runs, owned in one place; handlers reach it through ``bot_data``."""

    def __init__(
        self,
        config: Config,
        *,
        store: Store | None = None,
        dry_run: bool = False,
        sink: Sink | None = None,
        alert_on_first_poll: bool = False,
    ) -> None:
        self.config = config
        # its secrets redacted from the logs and stored errors, the libraries' records too,
        # also when a script of the operator's own builds it without the CLI
        install_redacting_factory()
        add_config_secrets(config)
        self.store = store or Store.open(config.storage.path)
        self.use_telegram = bool(config.telegram.token) and not dry_run and sink is None
        self.fetcher = Fetcher(
            user_agent=config.fetch.user_agent or USER_AGENT,
            connect_timeout=config.fetch.connect_timeout,
            read_timeout=config.fetch.read_timeout,
            max_bytes=config.fetch.max_bytes,
            per_host=config.fetch.per_host,
            address_policy=AddressPolicy.from_entries(config.fetch.allow_private),
        )
        self.bot_username = config.telegram.username
        self.llm = (
            LLMSummarizer(
                config.summary.llm_base_url,
                config.summary.llm_model,
                api_key=config.summary.llm_api_key.get() or None,
                timeout=config.summary.llm_timeout,
                max_chars=config.alerts.summary_chars,
            )
            if config.summary.llm_enabled
            else None
        )
        self.metrics = Metrics()  # this Core's own registry
        perf = config.performance
        # parse, extract and summarise run in this pool, off the event loop
        self.workers = WorkerPool(
            perf.workers,
            size=perf.pool_size or None,
            timeout=perf.task_timeout,
            counter=self.metrics,
        )
        self.loop_lag = LoopLagMonitor(self.metrics.loop_lagged)
        self.pipeline = Pipeline(
            self.store,
            config,
            self.fetcher,
            bot_name=lambda: self.bot_username,
            alert_on_first_poll=alert_on_first_poll,
            full_text=FullText(self.fetcher, workers=self.workers),
            llm=self.llm,
            workers=self.workers,
        )
        self.sink: Sink = sink or ConsoleSink()
        self.sender = Sender(
            self.store,
            self.sink,
            max_attempts=config.delivery.max_attempts,
            retry_backoff=config.delivery.retry_backoff,
        )
        self.sender.feedback = config.alerts.feedback
        self.scheduler = FeedScheduler(jitter=config.polling.jitter)
        self.sender.metrics = self.metrics
        self.health = Health(self.metrics, stale_after=config.metrics.stale_after)
        self.ops_server: OpsServer | None = None
        self.application: Any = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._polls: set[asyncio.Task[object]] = set()  # poll jobs running now
        self._stopped = False
        self._sender_task: asyncio.Task[None] | None = None
        self._lock: DatabaseLock | None = None
        self._began = False  # past the lock: only then is there something to say "stopped" of

    # -- the parts handlers call ------------------------------------------------------------

    def footer_for(self, chat: Chat) -> str:
        """The footer under the chat's alerts (its own, the operator's, or the default)."""
        return self.pipeline.footer_for(chat)

    def reactivate_chat(self, chat_id: int, **names: str) -> bool:
        """The chat is back (/start, or the bot was added again): active, matching again.
        ``names``: type, title, username.  True when it had been inactive."""
        from bot.service.settings import reactivate_chat

        return reactivate_chat(self.store, chat_id, **names)

    def _wake_sender(self) -> None:
        self._wake.set()
        self.sender.wake()

    async def reload(self) -> ReloadOutcome:
        """Re-read the config file and apply it (feeds, topics, channels, alerts, admins;
        see ``bot.config.reload``); a file with a problem changes nothing, and the
        outcome says why."""
        old = self.config
        if not old.source:
            return ReloadOutcome(ok=False, problem="the bot was started without a config file")
        if not Path(old.source).exists():  # not "copy config.example.toml": it was there
            return ReloadOutcome(
                ok=False,
                problem=f"{old.source}: the file the bot started with is gone (moved or "
                "deleted); put it back there, then /reload",
            )
        try:
            new = load_config(old.source, require_token=self.use_telegram)
        except ConfigError as e:
            problems = tuple(str(p) for p in e.problems)
            log.warning("reload: kept the current configuration: %s", "; ".join(problems))
            return ReloadOutcome(ok=False, problem=str(e), problems=problems)
        return await self.apply_reload(plan_reload(old, new))

    async def apply_reload(self, plan: ReloadPlan) -> ReloadOutcome:
        """Run with ``plan.config`` from now on: the database first (if it refuses,
        nothing has changed), then the pipeline, the scheduler and the channels."""
        try:
            # drops the feeds no longer configured
            states = sync_config(self.store, plan.config, scrub=False)
            await self._scrub_old_secrets(plan.config)
        except Exception as e:
            # not exc_info nor the raw text: the exception may repeat a feed's secrets (the
            # scrub looks for them), and both reach every handler and the operator's chat
            urls = credentialed_feed_urls(self.config) + credentialed_feed_urls(plan.config)
            secrets = [s for url in urls for s in secret_values(url)]
            log.error(
                "reload: could not apply the configuration; kept the current one\n%s",
                redacted_traceback(e, secrets),
            )
            reason = mask_secrets(redact(f"{type(e).__name__}: {e}"), secrets)
            problem = (
                f"storage.path: the database {self.config.storage.path} refused the change "
                f"({reason}); nothing was changed. See the bot's log, fix the database "
                "(space, permissions, another process holding it), then /reload again."
            )
            return ReloadOutcome(ok=False, problem=problem)
        self.config = plan.config
        add_config_secrets(plan.config)  # a feed /reload added may have a key of its own
        self.pipeline.reconfigure(plan.config)
        self.pipeline.keep_feeds({s.id for s in states})
        self.sender.feedback = plan.config.alerts.feedback  # [alerts] applies at once
        # what to (un)schedule comes from the scheduler's own jobs, so feeds added with
        # `newsalert feeds add` while the bot ran are picked up too
        scheduled = self.scheduler.feed_ids()
        added_ids = {s.id for s in states if s.id not in scheduled}
        removed_ids = scheduled - {s.id for s in states}
        if self.scheduler.running:
            for state in states:
                if state.url in plan.feeds_changed or state.id in added_ids:
                    self.schedule_feed(state, now=state.id in added_ids)
            for feed_id in removed_ids:
                self.scheduler.remove_feed(feed_id)
        unresolved: list[str] = []
        if self.application is not None:
            unresolved = await self.resolve_channel_names(self.application.bot)
        log.info(
            "reload: %s (+%d -%d), topics changed: %s; restart needed for: %s",
            plural(len(plan.config.feeds), "feed"),
            len(added_ids),
            len(removed_ids),
            ", ".join(plan.topics_changed) or "none",
            ", ".join(plan.needs_restart) or "nothing",
        )
        outcome = plan.outcome(feeds_added=len(added_ids), feeds_removed=len(removed_ids))
        return replace(outcome, warnings=(*outcome.warnings, *unresolved))

    async def _scrub_old_secrets(self, config: Config) -> None:
        """Take out what an older version stored of the secrets of ``config``'s feeds that
        have credentials (``storage.scrub``).  The scrub reads every table: it runs in a
        thread, on a connection of its own (/healthz and commands are answered meanwhile),
        and ends before such a feed is polled with its credentials (or a clean entry id
        would be new: a second alert)."""
        todo = self.store.feeds_to_scrub(credentialed_feed_urls(config))
        if todo:
            await asyncio.to_thread(self.store.scrub_feed_secrets_apart, todo)

    def schedule_feed(self, feed: FeedState, *, now: bool = False, after: float = 0.0) -> None:
        """Poll ``feed`` at its interval from now on (first ``after`` seconds from now
        when ``now``, else one interval from now); replaces the feed's job if it had one."""
        interval = poll_interval(feed, self.pipeline.policy)
        self.scheduler.add_feed(
            feed.id, interval, self._poll_job, first_in=after if now else interval
        )

    # -- one pass, for the demo and tests -----------------------------------------------------

    async def poll_all_once(self) -> list[PollResult]:
        """Poll every configured feed once, then send what is due."""
        feeds = sync_config(self.store, self.config, scrub=False)
        await self._scrub_old_secrets(self.config)  # as at start: in a thread, then polls
        results = [await self.pipeline.poll(feed) for feed in feeds]
        for result in results:
            self.metrics.poll_done(result)
        await self.sender.drain()
        return results

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start Telegram (if used), the scheduler and the sender.  First of all, take the
        database's lock: a second bot on the same database refuses at once."""
        if self._lock is None:
            self._lock = DatabaseLock.acquire(self.config.storage.path)
        self._began = True
        if self.config.metrics.listen:  # first: a port in use stops the start at once
            self.ops_server = OpsServer(
                self.config.metrics.listen, report=self.health_report, metrics=self.metrics_page
            )
            await self.ops_server.start()
        self.loop_lag.start()
        await self.workers.start()  # the processes start once, before the first poll
        feeds = sync_config(self.store, self.config, scrub=False)
        await self._scrub_old_secrets(self.config)  # the ops server answers meanwhile
        await self.pipeline.load_audience()  # before anything can match or change it
        # The compiled subscriptions live as long as the process: about a million objects
        # for 100,000 of them, which every full garbage collection would walk, holding the
        # loop for 1.2-3 s (bench/scale.py, docs/SCALING.md).  Out of the collector's sight:
        gc.collect()
        gc.freeze()
        if self.use_telegram:
            await self._start_telegram()
        else:
            log.info("no Telegram: alerts are printed to the console (dry run)")
        # each feed resumes its rhythm, and first polls come at most start_rate a second
        # (see feed_health.first_polls)
        offsets = first_polls(feeds, utcnow(), self.pipeline.policy, self.config.polling.start_rate)
        for feed, after in zip(feeds, offsets, strict=True):
            self.schedule_feed(feed, now=True, after=after)
        self.scheduler.add_periodic(
            "heartbeat", heartbeat_every(self.health.stale_after), self._heartbeat
        )
        self.scheduler.add_periodic("digests", DIGEST_CHECK_EVERY, self._digest_job)
        if self.config.storage.retention:
            self.prune()
            self.scheduler.add_periodic("prune", PRUNE_EVERY, self._prune_job)
        self.sender.recover()  # rows a crash left "sending" (see bot.delivery.sender)
        self._sender_task = asyncio.create_task(self._sender_loop(), name="newsalert-sender")
        # Articles a crash left unprocessed, before polling starts: this pass takes every
        # unprocessed article it finds, and with polls adding new ones all the time it
        # never ended, so the start never finished (no sender, no SIGTERM; bench/scale.py).
        leftovers = await self.pipeline.alert_unprocessed()
        if leftovers:
            log.info(
                "%s from articles a previous run had not finished", plural(len(leftovers), "alert")
            )
            self._wake_sender()
        self.scheduler.start()
        log.info(
            "newsalert started: %s, %s",
            plural(len(feeds), "feed"),
            plural(len(self.config.topics), "topic"),
        )

    async def _start_telegram(self) -> None:
        from bot.delivery.ratelimit import TelegramRateLimiter, limits_from_config
        from bot.delivery.telegram_sink import TelegramSink
        from bot.telegram import build_application, initialize_application
        from handlers.menu import set_command_menu

        limiter = TelegramRateLimiter(limits_from_config(self.config.delivery))
        # what the previous run sent in the last minute still counts against the limits
        limiter.seed(
            self.store.outbox.recent_sends(since=utcnow() - timedelta(minutes=1)),
            unrecorded=self.config.delivery.max_in_flight,
        )
        # in a thread: each HTTP client it makes loads the CA certificates (0.1-0.3 s in
        # all), which on the loop would hold up the polls that have already started
        app = await asyncio.to_thread(build_application, self.config, self, rate_limiter=limiter)
        await initialize_application(app, self.config.telegram.base_url)
        self.health.telegram_ok()  # initialize() called getMe
        self.bot_username = app.bot.username or self.bot_username
        await self.resolve_channel_names(app.bot)
        await set_command_menu(app.bot, self.config.telegram.admins)
        await start_updates(app, self.config)  # long polling or the webhook server
        await app.start()
        self.application = app
        self.sink = TelegramSink(
            app.bot,
            paid_broadcast=self.config.delivery.paid_broadcast,
            timeout=self.config.delivery.send_timeout,
        )
        self.sender.sink = self.sink
        log.info("connected to Telegram as @%s", self.bot_username)

    async def resolve_channel_names(self, bot: Any) -> list[str]:
        """Channels configured by @username get their numeric id from Telegram.  Returns
        what went wrong with those Telegram did not find, one line a channel."""
        resolved: list[tuple[int, str]] = []
        unresolved: list[str] = []
        for channel in self.config.channels:
            if isinstance(channel.chat_id, int):
                continue
            try:
                chat = await bot.get_chat(channel.chat_id)
            except Exception as e:  # keep running for the other channels
                log.error(
                    "channel %s: cannot resolve it (%s); is the bot an admin there?",
                    channel.chat_id,
                    e,
                )
                unresolved.append(
                    f"channel {channel.chat_id}: Telegram does not let me find it "
                    f"({without_known_secrets(str(e)) or type(e).__name__}), so it gets no "
                    "alerts; check the @username, add the bot to the channel as an "
                    "administrator allowed to post, then /reload"
                )
                continue
            configure_channel(self.store, chat.id, channel)
            self.store.chats.ensure(
                chat.id, type=chat.type, title=chat.title or "", username=chat.username or ""
            )
            resolved.extend((chat.id, t) for t in channel.topics)
        for chat_id, topic_id in resolved:
            self.store.subscriptions.add(chat_id, topic_id, from_config=True)
        return unresolved

    async def _poll_job(self, feed_id: int) -> None:
        task = asyncio.current_task()
        if task is None or self._stopping:
            return
        self._polls.add(task)
        try:
            await self._poll_feed(feed_id)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # a stop cancelled it (see stop): what it stored is kept, what it had not yet
            # alerted on is taken up at the next start; no traceback in the log
        finally:
            self._polls.discard(task)

    async def _poll_feed(self, feed_id: int) -> None:
        feed = self.store.feeds.get(feed_id)
        if feed is None:
            # removed by another process (`newsalert feeds remove`): its job goes too, or it
            # would wake up every interval for as long as the bot runs
            self.scheduler.remove_feed(feed_id)
            self.pipeline.forget_feed(feed_id)
            return
        if not due(feed, utcnow(), self.pipeline.policy):
            return
        result = await self.pipeline.poll(feed)
        self.metrics.poll_done(result)
        self._wake_sender()  # new alerts, or "Also:" edits for copies of a story
        after = self.store.feeds.get(feed_id)
        if after is None:
            return
        name = after.name or redact_url(after.url)
        if result.went_down:
            self.store.feeds.set_down_notified(feed_id, True)
            await self.notify_admins(
                f"Feed stopped: {name}\n{after.last_error}\n"
                "It is no longer polled regularly; I will check it now and then and tell you "
                "when it answers again. Fix or remove it in the config if it moved."
            )
        elif result.recovered:
            self.store.feeds.set_down_notified(feed_id, False)
            await self.notify_admins(f"Feed is back: {name} answers again.")
        self._adapt_rhythm(after, feed)

    def _adapt_rhythm(self, after: FeedState, before: FeedState) -> None:
        """Reschedule a feed whose adaptive interval moved by more than a fifth."""
        old = poll_interval(before, self.pipeline.policy)
        new = poll_interval(after, self.pipeline.policy)
        if abs(new - old) > old / 5:
            log.info("feed %s: polling every %.0fs (was %.0fs)", redact_url(after.url), new, old)
            self.schedule_feed(after)

    async def notify_admins(self, text: str) -> None:
        """Tell the operators (``telegram.admins``); logged when there is no Telegram."""
        log.warning("operator notice: %s", text.replace("\n", " | "))
        if self.application is None:
            return
        for admin in self.config.telegram.admins:
            try:
                await self.application.bot.send_message(chat_id=admin, text=text)
            except Exception as e:  # one unreachable admin must not stop the others
                log.error("could not notify admin %s: %s", admin, e)

    # -- operations: health, metrics, retention ------------------------------------------------

    async def _heartbeat(self) -> None:
        # Telegram is pinged only when someone can ask /healthz about it.
        bot = self.application.bot if self.application and self.ops_server else None
        await self.health.heartbeat(bot)

    def health_report(self) -> HealthReport:
        """Is the bot healthy now? (what ``/healthz`` answers)"""
        return self.health.check(
            scheduler_running=self.scheduler.running,
            store=self.store,
            telegram_used=self.use_telegram,
            delivery_problem=self.sender.paused_reason,
        )

    def metrics_page(self) -> bytes:
        """The Prometheus exposition (what ``/metrics`` answers)."""
        self.metrics.refresh(self.store)
        return self.metrics.render()

    def prune(self) -> PruneResult:
        """Prune data older than ``storage.retention`` (see ``storage.retention``)."""
        return prune(self.store.db, retention=self.config.prune_after or float("inf"))

    async def _prune_job(self) -> None:
        try:
            self.prune()
        except Exception as e:
            log.error("pruning old data failed; will try again later\n%s", redacted_traceback(e))

    async def _digest_job(self) -> None:
        from bot.delivery.digest import make_due_digests

        try:
            if make_due_digests(self.store, footer_for=self.pipeline.footer_for):
                self._wake_sender()
        except Exception as e:
            log.error("making digests failed; will try again\n%s", redacted_traceback(e))

    async def _sender_loop(self) -> None:
        while not self._stopping:
            try:
                await self.sender.drain()
            except Exception as e:  # a Bot API error's text may hold its URL, the token in it
                log.error("sending failed; will try again\n%s", redacted_traceback(e))
            try:
                # until woken, the next retry or quiet-hours end, or DRAIN_EVERY; never less
                # than MIN_DRAIN_GAP, so a row that is due but waits behind another (or in a
                # chat that went inactive) cannot make this loop spin
                timeout = max(MIN_DRAIN_GAP, self.sender.next_due_in(DRAIN_EVERY))
            except Exception as e:
                log.error("could not read the outbox; will try again\n%s", redacted_traceback(e))
                timeout = DRAIN_EVERY
            await self._idle(timeout)
            self._wake.clear()

    async def _idle(self, timeout: float) -> None:
        """Wait until woken, ``timeout`` passed, or chats' delivery settings moved in the
        store (held alerts may be due now; the sender checks, a cheap read, now and then)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(left, LOOK_AGAIN_EVERY))
            if self._wake.is_set() or self.sender.settings_moved():
                return

    async def __aenter__(self) -> Core:
        """``async with Core(config) as core:`` closes every part on the way out (see
        ``stop``), whether or not ``start`` was called inside."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop in reverse order: no new polls, polling Telegram stops, the send in
        flight finishes (the rest stays pending), then close everything.  Calling it
        again does nothing."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping = True
        self.sender.stopping = True
        if self.ops_server is not None:
            await self.ops_server.stop()
        self._wake.set()
        self.scheduler.shutdown()
        if self._polls:  # before the fetcher and the store close under them
            log.info("stopping: %s in flight cancelled", plural(len(self._polls), "poll"))
            polls = list(self._polls)
            for task in polls:
                task.cancel()
            await asyncio.gather(*polls, return_exceptions=True)
        app = self.application
        if app is not None and app.updater is not None and app.updater.running:
            await app.updater.stop()
        if self._sender_task is not None:
            try:
                await asyncio.wait_for(self._sender_task, timeout=30)
            except TimeoutError:
                self._sender_task.cancel()
        if app is not None:
            if app.running:
                await app.stop()
            await app.shutdown()
        await self.fetcher.aclose()
        await self.workers.aclose()
        await self.loop_lag.stop()
        if self.llm is not None:
            await self.llm.aclose()
        self.store.close()
        gc.unfreeze()  # what start froze is the collector's again (tests start many)
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self._began:  # a run refused by the lock never started
            log.info("newsalert stopped")


async def run_until_signalled(
    core: Core, signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)
) -> None:
    """Start ``core`` and run until SIGINT or SIGTERM, then stop it gracefully."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await core.start()
    except BaseException:
        await core.stop()  # whatever had started (the metrics server, ...) is closed
        for sig in signals:
            loop.remove_signal_handler(sig)
        raise
    try:
        await stop.wait()
        log.info("stop requested")
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await core.stop()
