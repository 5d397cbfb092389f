"""Is the bot healthy?  The operations endpoint: ``GET /healthz`` and ``GET /metrics``.

Healthy means: the scheduler runs (its heartbeat job ran recently), the
database answers, and Telegram answered recently (or Telegram is not used, in
a dry run).  The heartbeat job asks Telegram (``getMe``) only when nothing else
did recently, so a busy bot adds no calls.

The endpoint is an aiohttp server on the bot's own event loop, so that it can
read the database through the bot's one connection without a thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.config.loader import split_listen
from bot.config.model import MetricsConfig
from bot.errors import ConfigError, StorageError
from bot.ops.logs import redact
from bot.ops.metrics import CONTENT_TYPE, Metrics

if TYPE_CHECKING:
    from storage.store import Store

log = logging.getLogger(__name__)


def heartbeat_every(stale_after: float) -> float:
    """How often the heartbeat runs: three beats fit in ``stale_after``, between 1 s and 1 min."""
    return max(1.0, min(60.0, stale_after / 3))


@dataclass(frozen=True)
class HealthReport:
    """The verdict: ``ok``, and one line per check."""

    ok: bool
    checks: dict[str, str]
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "unhealthy",
            "checks": self.checks,
            "problems": list(self.problems),
        }


class Health:
    """What the heartbeat saw; :meth:`check` turns it into a :class:`HealthReport`."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        stale_after: float = MetricsConfig.stale_after,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.metrics = metrics
        self.stale_after = stale_after
        self.clock = clock
        self.last_beat = clock()
        self.telegram_error = ""

    def beat(self) -> None:
        """The scheduler ran the heartbeat job."""
        self.last_beat = self.clock()

    def telegram_ok(self) -> None:
        self.telegram_error = ""
        self.metrics.telegram_contact(self.clock())

    def telegram_failed(self, reason: str) -> None:
        self.telegram_error = reason

    def telegram_quiet_for(self) -> float:
        """Seconds since Telegram last answered (infinite before the first answer)."""
        last = self.metrics.last_telegram_contact
        return self.clock() - last if last else float("inf")

    async def heartbeat(self, bot: Any | None) -> None:
        """The periodic job: note that the scheduler runs, and ask Telegram (``bot``, a PTB
        Bot, or None in a dry run) whether it answers, unless it answered recently."""
        self.beat()
        if bot is None or self.telegram_quiet_for() < heartbeat_every(self.stale_after):
            return
        try:
            await asyncio.wait_for(bot.get_me(), timeout=heartbeat_every(self.stale_after) + 10)
        except Exception as e:  # any failure is the answer we are after
            self.telegram_failed(f"{type(e).__name__}: {e}")
            log.warning("Telegram does not answer: %s", self.telegram_error)
        else:
            self.telegram_ok()

    def check(
        self,
        *,
        scheduler_running: bool,
        store: Store,
        telegram_used: bool,
        delivery_problem: str = "",
    ) -> HealthReport:
        """Judge the scheduler, the database, delivery (``delivery_problem``: why the sender
        is paused, e.g. the database refuses writes) and Telegram now."""
        checks: dict[str, str] = {}
        problems: list[str] = []
        now = self.clock()
        quiet = now - self.last_beat
        if not scheduler_running:
            problems.append("scheduler: not running")
        elif quiet > self.stale_after:
            problems.append(f"scheduler: no heartbeat for {quiet:.0f}s")
        else:
            checks["scheduler"] = "ok"
        try:
            store.ping()
        except (StorageError, AttributeError) as e:
            problems.append(f"database: does not answer ({e})")
        else:
            checks["database"] = "ok"
        if delivery_problem:
            problems.append(f"delivery: {delivery_problem}")
        else:
            checks["delivery"] = "ok"
        if not telegram_used:
            checks["telegram"] = "not used (dry run)"
        else:
            quiet = self.telegram_quiet_for()
            if quiet > self.stale_after:
                since = (
                    "never reached" if quiet == float("inf") else f"not reached for {quiet:.0f}s"
                )
                reason = f" ({self.telegram_error})" if self.telegram_error else ""
                problems.append(f"telegram: {since}{reason}")
            else:
                checks["telegram"] = f"ok (answered {quiet:.0f}s ago)"
        # exception texts can hold a token (a Bot API URL) or a feed's credentials: anyone
        # who can reach /healthz sees them, so they go through the log redactor
        problems = [redact(p) for p in problems]
        for problem in problems:
            area, _, detail = problem.partition(": ")
            checks[area] = detail
        return HealthReport(ok=not problems, checks=checks, problems=tuple(problems))


class OpsServer:
    """``/healthz`` and ``/metrics`` over HTTP at ``listen`` ("host:port"; port 0 picks one)."""

    def __init__(
        self,
        listen: str,
        *,
        report: Callable[[], HealthReport],
        metrics: Callable[[], bytes],
    ) -> None:
        self.host, self.port = split_listen("metrics.listen", listen) if listen else ("", 0)
        self._report = report
        self._metrics = metrics
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host or None, self.port)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            raise ConfigError(
                "metrics.listen",
                f"cannot listen on {self.host}:{self.port} ({e.strerror or e}); is another "
                "process using the port? Choose another one",
            ) from e
        self._runner = runner
        self.port = runner.addresses[0][1]
        log.info("health and metrics on %s/healthz and /metrics", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        report = self._report()
        return web.Response(
            status=200 if report.ok else 503,
            text=json.dumps(report.to_json()) + "\n",
            content_type="application/json",
        )

    async def _metrics_page(self, request: web.Request) -> web.Response:
        response = web.Response(body=self._metrics())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response
