"""Where CPU-heavy work runs, so that the event loop only waits.

Parsing a feed, extracting an article page and summarising are pure Python (feedparser,
trafilatura's own code, our text helpers) and hold the GIL: run on the event loop or in
a thread, a 2 MB feed stops every command reply for as long as it parses.  A
:class:`WorkerPool` runs them elsewhere, with a time limit per task:

- ``process`` (the default): a few worker processes, started with ``forkserver`` (never a
  fork of the running bot and its threads).  A task that overruns its limit has its worker
  killed and replaced; the caller gets :class:`TaskTimeout`.  Arguments and results cross
  a pipe pickled: a 2 MB feed body goes in, its ``Article`` records come out
  (``bench/responsiveness.py`` reports the cost).
- ``thread``: a thread pool.  The loop still competes with the task for the GIL, so it
  helps only code that releases it; a task over its limit is reported as
  :class:`TaskTimeout` but runs on to its end (a thread cannot be stopped).
- ``inline``: called on the loop, as before; no time limit.  For benchmarks (the
  baseline) and for tests that want one process.

``newsalert_worker_tasks_total{task, mode}`` and ``newsalert_worker_timeouts_total{task}``
count what ran where (``bot.ops.metrics``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, Protocol, TypeVar

from bot.errors import NewsalertError

log = logging.getLogger(__name__)

T = TypeVar("T")
MODES = ("process", "thread", "inline")
DEFAULT_TIMEOUT = 60.0
# What a worker process imports once, before the first task (forkserver preload).
PRELOAD = ("bot.ingest.parse", "bot.summary.extractive", "bot.ingest.extract")


class TaskTimeout(NewsalertError):
    """A task ran longer than its time limit (and its worker was stopped, for processes)."""

    def __init__(self, task: str, seconds: float) -> None:
        self.task = task
        self.seconds = seconds
        super().__init__(f"{task} took longer than {seconds:g}s")


class WorkerCrashed(NewsalertError):
    """The worker process died while running a task (out of memory, a crash in C code)."""


class TaskCounter(Protocol):
    """What the pool reports to (``bot.ops.metrics.Metrics``)."""

    def worker_task(self, task: str, mode: str) -> None: ...

    def worker_timeout(self, task: str) -> None: ...


def default_size() -> int:
    """Worker processes by default: one per core, at most four (the loop needs little)."""
    return max(1, min(4, os.cpu_count() or 1))


def _task_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


# -- the worker process -------------------------------------------------------------------------


def _worker_main(conn: Connection) -> None:
    """A worker process: run what arrives on ``conn`` and send back (ok, result)."""
    # Ctrl-C reaches the whole process group: the bot stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the bot went away
        if message is None:
            return
        fn, args, kwargs = message
        try:
            reply: tuple[bool, Any] = (True, fn(*args, **kwargs))
        except Exception as e:  # sent back and raised in the bot
            reply = (False, e)
        try:
            conn.send(reply)
        except Exception as e:  # an unpicklable result or exception
            conn.send((False, WorkerCrashed(f"{_task_name(fn)}: cannot send back: {e!r}")))


class _Process:
    """One worker process and the bot's end of its pipe."""

    def __init__(self, ctx: Any) -> None:
        self._lock = threading.Lock()  # kill (a replacement) and stop (the pool) may race
        self._ended = False
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True)
        self.process.start()
        child.close()

    @property
    def pid(self) -> int:
        return self.process.pid or 0

    async def call(self, fn: Callable[..., T], args: Any, kwargs: Any, timeout: float) -> T:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[tuple[bool, Any]] = loop.create_future()
        fd = self.conn.fileno()

        def readable() -> None:
            loop.remove_reader(fd)
            if done.done():
                return
            try:
                done.set_result(self.conn.recv())
            except (EOFError, OSError) as e:
                done.set_exception(WorkerCrashed(f"{_task_name(fn)}: the worker died ({e!r})"))

        try:
            self.conn.send((fn, args, kwargs))
        except (BrokenPipeError, EOFError, OSError) as e:
            raise WorkerCrashed(f"{_task_name(fn)}: the worker is gone ({e!r})") from e
        loop.add_reader(fd, readable)
        try:
            ok, value = await asyncio.wait_for(done, timeout)
        finally:
            loop.remove_reader(fd)
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def kill(self) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
            with contextlib.suppress(Exception):
                self.process.kill()
            self.process.join(5)
            self.conn.close()

    def stop(self) -> None:
        """Ask the worker to end, kill it if it does not; once only, whoever asks first."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            with contextlib.suppress(Exception):
                self.conn.send(None)
            self.process.join(2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(2)
            self.conn.close()


def _kill_all(processes: list[_Process]) -> None:
    """A pool that was never closed is collected: its workers go with it."""
    for worker in processes:
        worker.kill()
    processes.clear()


_CONTEXT_LOCK = threading.Lock()


def _process_context(preload: Iterable[str]) -> Any:
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        with _CONTEXT_LOCK:
            ctx.set_forkserver_preload(list(preload))
    return ctx


# -- the pool -------------------------------------------------------------------------------------


class WorkerPool:
    """Runs functions away from the event loop, each call with a time limit.

    ``await pool.run(fn, *args, **kwargs)`` returns ``fn``'s result or raises its
    exception; :class:`TaskTimeout` when it took longer than ``timeout`` seconds,
    :class:`WorkerCrashed` when its worker process died.  ``fn`` and its arguments must
    be picklable in ``process`` mode (module-level functions and records).
    """

    def __init__(
        self,
        mode: str = "process",
        *,
        size: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        preload: Iterable[str] = PRELOAD,
        counter: TaskCounter | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.size = size or default_size()
        self.timeout = timeout
        self.counter = counter
        self._preload = tuple(preload)
        self._idle: asyncio.Queue[_Process] | None = None
        self._processes: list[_Process] = []
        self._threads: ThreadPoolExecutor | None = None
        self._starting: asyncio.Lock | None = None
        self._closed = False

    # -- lifecycle --

    async def start(self) -> None:
        """Start the workers (done by the first :meth:`run` otherwise)."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._idle is not None or self._threads is not None or self.mode == "inline":
                return
            if self.mode == "thread":
                self._threads = ThreadPoolExecutor(self.size, thread_name_prefix="newsalert-work")
                return
            ctx = _process_context(self._preload)
            started = time.perf_counter()
            # the first start also starts the forkserver and its imports: not on the loop
            workers = await asyncio.to_thread(lambda: [_Process(ctx) for _ in range(self.size)])
            idle: asyncio.Queue[_Process] = asyncio.Queue()
            for worker in workers:
                idle.put_nowait(worker)
            self._processes[:] = workers
            self._idle = idle
            weakref.finalize(self, _kill_all, self._processes)
            log.info(
                "%d worker processes started in %.1fs (pids %s)",
                len(workers),
                time.perf_counter() - started,
                ", ".join(str(w.pid) for w in workers),
            )

    async def aclose(self) -> None:
        """Stop the workers; a task still running is abandoned."""
        self._closed = True
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None
        processes = list(self._processes)
        self._processes.clear()
        self._idle = None
        if processes:

            def stop_all() -> None:
                for worker in processes:
                    worker.stop()

            await asyncio.to_thread(stop_all)

    async def __aenter__(self) -> WorkerPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def pids(self) -> list[int]:
        """The worker processes' ids (empty unless ``mode == "process"``)."""
        return [w.pid for w in self._processes]

    # -- running --

    async def run(
        self, fn: Callable[..., T], /, *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> T:
        """``fn(*args, **kwargs)`` in the pool, within ``timeout`` (default: the pool's)."""
        limit = self.timeout if timeout is None else timeout
        name = _task_name(fn)
        if self.counter is not None:
            self.counter.worker_task(name, self.mode)
        if self.mode == "inline":
            return fn(*args, **kwargs)
        if self._closed:
            raise WorkerCrashed(f"{name}: the worker pool is closed")
        await self.start()
        try:
            if self.mode == "thread":
                assert self._threads is not None
                loop = asyncio.get_running_loop()
                call = partial(fn, *args, **kwargs)
                return await asyncio.wait_for(loop.run_in_executor(self._threads, call), limit)
            return await self._in_process(fn, args, kwargs, limit)
        except TimeoutError:
            if self.counter is not None:
                self.counter.worker_timeout(name)
            raise TaskTimeout(name, limit) from None

    async def _in_process(self, fn: Callable[..., T], args: Any, kwargs: Any, limit: float) -> T:
        assert self._idle is not None
        idle = self._idle
        worker = await idle.get()
        healthy = False
        try:
            result = await worker.call(fn, args, kwargs, limit)
            healthy = True
            return result
        except (WorkerCrashed, TimeoutError, asyncio.CancelledError):
            raise
        except Exception:
            healthy = True  # the task raised; the worker is fine
            raise
        finally:
            if healthy or self._closed:
                if not self._closed:
                    idle.put_nowait(worker)
            else:
                # killed mid-task (time limit, cancelled) or dead: a fresh one takes its place
                await self._replace(worker, idle)

    async def _replace(self, worker: _Process, idle: asyncio.Queue[_Process]) -> None:
        ctx = _process_context(self._preload)

        def swap() -> _Process:
            worker.kill()
            return _Process(ctx)

        fresh = await asyncio.shield(asyncio.to_thread(swap))
        if self._closed:
            await asyncio.to_thread(fresh.stop)
            return
        self._processes[:] = [fresh if w is worker else w for w in self._processes]
        idle.put_nowait(fresh)
        log.warning("worker %d stopped; worker %d takes its place", worker.pid, fresh.pid)
