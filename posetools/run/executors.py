"""Executors: where the planned work runs, behind one protocol.

* :class:`InlineExecutor` — this process, one video after the other.
* :class:`PoolExecutor` — a ``spawn`` process pool whose workers keep models loaded
  across videos; a worker that dies (SIGKILL, OOM, segfault) breaks only the videos
  in flight, which are retried in a fresh pool and then reported as crashed.
* :class:`~posetools.run.ray.RayExecutor` — a Ray Data actor pool.

The runner plans, fingerprints and records; an executor only turns
:class:`~posetools.run.work.WorkItem` s into :class:`~posetools.run.work.Outcome` s.
Every executor honours the run's :class:`~posetools.run.stop.StopFlag`: once it is
set, nothing new starts, the videos in progress are abandoned at a frame boundary
(interrupted outcomes, nothing written) and workers that do not stop in time are
killed (:mod:`posetools.run.stop`).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

from ..config.schema import PipelineConfig
from ..io.store import remove_stale_temps
from .devices import worker_device
from .stop import (
    GRACE_S,
    StopFlag,
    checked_progress,
    init_worker_process,
    stop_signals_blocked,
    worker_stop_flag,
)
from .work import Outcome, WorkItem
from .worker import process_one

OnOutcome = Callable[[WorkItem, Outcome], None]
"""Called by an executor with each finished item, in completion order."""


class Executor(Protocol):
    """Runs one stage's work items somewhere."""

    def run(self, stage_name: str, pipeline: PipelineConfig, items: Sequence[WorkItem],
            params: dict[str, Any], on_outcome: OnOutcome,
            progress: Callable[[int], None]) -> None:
        """Process every item and report each outcome."""
        ...

    def close(self) -> None:
        """Release the workers."""
        ...


class InlineExecutor:
    """Run every item in this process.

    Args:
        stop: The run's stop flag.
        device: The models' device where their YAML sets none.
    """

    def __init__(self, stop: StopFlag | None = None, device: str | None = None) -> None:
        self.stop = stop or StopFlag()
        self.device = device

    def run(self, stage_name, pipeline, items, params, on_outcome, progress) -> None:
        """One after the other, until the stop flag is set."""
        report = checked_progress(progress, self.stop)
        for item in items:
            if self.stop.is_set():
                return
            on_outcome(item, process_one(stage_name, pipeline, item, params, report,
                                         self.device))

    def close(self) -> None:
        """Nothing to release."""


# ---------------------------------------------------------------------- process pool
_PROGRESS_Q: Any = None
_STARTED: Any = None
_DEVICE: str | None = None


def _init_worker(q: Any, started: Any, parent_pid: int, counter: Any,
                 devices: tuple[str, ...]) -> None:
    global _PROGRESS_Q, _STARTED, _DEVICE
    _PROGRESS_Q, _STARTED = q, started
    with counter.get_lock():  # worker i of the pool takes devices[i % len(devices)]
        index = counter.value
        counter.value += 1
    _DEVICE = worker_device(devices, index) if devices else None
    init_worker_process(parent_pid)


def _queue_progress(n: int) -> None:
    if _PROGRESS_Q is not None:
        _PROGRESS_Q.put(n)


def _pool_process_one(stage_name: str, pipeline: PipelineConfig, item: WorkItem,
                      params: dict[str, Any]) -> Outcome:
    report = checked_progress(_queue_progress, worker_stop_flag())
    return process_one(stage_name, pipeline, item, params, report, _DEVICE)


def _started() -> tuple[int, str | None]:
    """Wait until every worker of the pool runs one of these (so all are started).

    Returns:
        The worker's pid and device.
    """
    _STARTED.wait(timeout=120)
    return os.getpid(), _DEVICE


def _drain(q, progress: Callable[[int], None]) -> None:
    while True:
        try:
            progress(q.get_nowait())
        except queue.Empty:
            return
        except (OSError, ValueError, EOFError):
            return


class _Pool:
    """A ``spawn`` process pool, its progress queue and its workers' pids.

    All ``n`` workers are started at once with SIGTERM/SIGINT blocked, so a signal
    during their interpreter start-up stays pending until each worker has installed
    its own handling (:func:`~posetools.run.stop.init_worker_process`). Worker ``i``
    runs its models on ``devices[i % len(devices)]``.
    """

    def __init__(self, n: int, devices: tuple[str, ...] = ()) -> None:
        # spawn: no inherited h5py handles, threads or CUDA state from the parent.
        ctx = mp.get_context("spawn")
        self.n = n
        self.queue = ctx.Queue()
        with stop_signals_blocked():
            self.ex = ProcessPoolExecutor(max_workers=n, mp_context=ctx,
                                          initializer=_init_worker,
                                          initargs=(self.queue, ctx.Barrier(n), os.getpid(),
                                                    ctx.Value("i", 0), tuple(devices)))
            # n tasks that wait for each other: every worker starts now, signals blocked
            starts = [self.ex.submit(_started) for _ in range(n)]
            self.devices = dict(f.result() for f in starts)  # pid -> device
            self.pids = set(self.devices)
        self._killed = False

    def signal(self, signum: int) -> None:
        """Send ``signum`` to every worker."""
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)

    def shutdown(self) -> None:
        """Stop the pool after the running items (no-op once killed)."""
        if not self._killed:
            self.ex.shutdown(wait=True, cancel_futures=True)

    def kill(self) -> None:
        """Kill the workers now and abandon whatever they were doing."""
        self._killed = True
        self.signal(signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.ex.shutdown(wait=False, cancel_futures=True)


class PoolExecutor:
    """A process pool of ``workers`` processes (see the module docstring).

    Args:
        workers: Pool size.
        out: The output folder (stale temp files of dead workers are removed there).
        max_retries_on_crash: Times a video is retried after its worker died.
        stop: The run's stop flag.
        devices: The workers' devices, taken in turn (empty: the YAML's or ``auto``).

    Raises:
        BrokenProcessPool: When the pool cannot start.
    """

    def __init__(self, workers: int, out: Path, max_retries_on_crash: int = 1,
                 stop: StopFlag | None = None, devices: tuple[str, ...] = ()) -> None:
        self.out = out
        self.max_retries_on_crash = max_retries_on_crash
        self.stop = stop or StopFlag()
        self._n = workers
        self._devices = tuple(devices)
        self._pool: _Pool | None = _Pool(workers, self._devices)

    def run(self, stage_name, pipeline, items, params, on_outcome, progress) -> None:
        """Keep ``2 x workers`` items in flight; retry the items of a broken pool."""
        attempts: dict[str, int] = {}
        todo = list(items)
        while todo and not self.stop.is_set():
            pool = self._pool or _Pool(self._n, self._devices)
            self._pool = None
            inflight: dict[Future, WorkItem] = {}
            broken: list[WorkItem] = []
            try:
                while (todo or inflight) and not self.stop.is_set():
                    while todo and len(inflight) < 2 * pool.n:
                        item = todo.pop(0)
                        fut = pool.ex.submit(_pool_process_one, stage_name, pipeline, item,
                                             params)
                        inflight[fut] = item
                    done, _ = wait(list(inflight), timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(pool.queue, progress)
                    broken += self._collect(done, inflight, on_outcome)
                    if broken:
                        broken.extend(inflight.values())
                        inflight.clear()
                        break
                if self.stop.is_set():
                    self._stop_pool(pool, inflight, on_outcome, progress)
                    return
            finally:
                pool.shutdown()
                _drain(pool.queue, progress)
            if broken:
                # every worker of the broken pool is gone and we hold the run lock:
                # whatever temp files they left are garbage
                remove_stale_temps(self.out)
            for item in broken:
                vid = item.video_id
                attempts[vid] = attempts.get(vid, 0) + 1
                if attempts[vid] > self.max_retries_on_crash:
                    on_outcome(item, Outcome.crashed(stage_name, vid, attempts[vid]))
                else:
                    todo.append(item)

    @staticmethod
    def _collect(done, inflight: dict[Future, WorkItem], on_outcome: OnOutcome) -> list:
        """Report the finished futures; return the items whose worker died."""
        broken = []
        for fut in done:
            item = inflight.pop(fut)
            try:
                res = fut.result()
            except BrokenProcessPool:
                broken.append(item)
                continue
            on_outcome(item, res)
        return broken

    def _stop_pool(self, pool: _Pool, inflight: dict[Future, WorkItem], on_outcome: OnOutcome,
                   progress: Callable[[int], None]) -> None:
        """Ask the workers to stop, wait :data:`GRACE_S` for them, then kill them.

        Items finished in the meantime are reported (committed ones stay committed);
        the others stay pending.
        """
        pool.signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        while inflight and time.monotonic() < deadline:
            done, _ = wait(list(inflight), timeout=0.1, return_when=FIRST_COMPLETED)
            _drain(pool.queue, progress)
            self._collect(done, inflight, on_outcome)
        if inflight:
            pool.kill()

    def close(self) -> None:
        """Shut the pool down (waits for running items)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


__all__ = ["Executor", "InlineExecutor", "PoolExecutor", "OnOutcome"]
