"""Executors: where the planned work runs, behind one protocol.

* :class:`InlineExecutor` — this process, one video after the other.
* :class:`PoolExecutor` — a ``spawn`` process pool whose workers keep models loaded
  across videos; a worker that dies (SIGKILL, OOM, segfault) breaks only the videos
  in flight, which are retried in a fresh pool and then reported as crashed.
* :class:`~posetools.run.ray.RayExecutor` — a Ray Data actor pool.

The runner plans, fingerprints and records; an executor only turns
:class:`~posetools.run.work.WorkItem` s into :class:`~posetools.run.work.Outcome` s.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

from ..config.schema import PipelineConfig
from ..errors import WorkerCrashedError
from ..io.store import remove_stale_temps
from .work import Outcome, WorkItem
from .worker import model_checksum, process_one

OnOutcome = Callable[[WorkItem, Outcome], None]
"""Called by an executor with each finished item, in completion order."""


class Executor(Protocol):
    """Runs one stage's work items somewhere."""

    def model_checksum(self, stage_name: str, pipeline: PipelineConfig) -> str:
        """The stage's model checksum, computed where the models will run."""
        ...

    def run(self, stage_name: str, pipeline: PipelineConfig, items: Sequence[WorkItem],
            params: dict[str, Any], on_outcome: OnOutcome,
            progress: Callable[[int], None]) -> None:
        """Process every item and report each outcome."""
        ...

    def close(self) -> None:
        """Release the workers."""
        ...


class InlineExecutor:
    """Run every item in this process."""

    def model_checksum(self, stage_name: str, pipeline: PipelineConfig) -> str:
        """Computed in this process."""
        return model_checksum(stage_name, pipeline)

    def run(self, stage_name, pipeline, items, params, on_outcome, progress) -> None:
        """One after the other."""
        for item in items:
            on_outcome(item, process_one(stage_name, pipeline, item, params, progress))

    def close(self) -> None:
        """Nothing to release."""


# ---------------------------------------------------------------------- process pool
_PROGRESS_Q: Any = None


def _init_worker(q: Any) -> None:
    global _PROGRESS_Q
    _PROGRESS_Q = q


def _queue_progress(n: int) -> None:
    if _PROGRESS_Q is not None:
        _PROGRESS_Q.put(n)


def _pool_process_one(stage_name: str, pipeline: PipelineConfig, item: WorkItem,
                      params: dict[str, Any]) -> Outcome:
    return process_one(stage_name, pipeline, item, params, _queue_progress)


def _drain(q, progress: Callable[[int], None]) -> None:
    while True:
        try:
            progress(q.get_nowait())
        except queue.Empty:
            return
        except (OSError, ValueError, EOFError):
            return


class _Pool:
    """A ``spawn`` process pool and its progress queue."""

    def __init__(self, n: int) -> None:
        # spawn: no inherited h5py handles, threads or CUDA state from the parent.
        ctx = mp.get_context("spawn")
        self.n = n
        self.queue = ctx.Queue()
        self.ex = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker,
                                      initargs=(self.queue,))

    def shutdown(self) -> None:
        self.ex.shutdown(wait=True, cancel_futures=True)


class PoolExecutor:
    """A process pool of ``workers`` processes (see the module docstring).

    Args:
        workers: Pool size.
        out: The output folder (stale temp files of dead workers are removed there).
        max_retries_on_crash: Times a video is retried after its worker died.

    Raises:
        BrokenProcessPool: From :meth:`model_checksum` when the pool cannot start.
    """

    def __init__(self, workers: int, out: Path, max_retries_on_crash: int = 1) -> None:
        self.out = out
        self.max_retries_on_crash = max_retries_on_crash
        self._pool: _Pool | None = _Pool(workers)
        self._n = workers

    def model_checksum(self, stage_name: str, pipeline: PipelineConfig) -> str:
        """Computed by a pool worker.

        The parent never holds models (GPU memory) and that worker keeps them for its
        videos.
        """
        assert self._pool is not None
        try:
            return self._pool.ex.submit(model_checksum, stage_name, pipeline).result()
        except BrokenProcessPool:
            self.close()
            raise

    def run(self, stage_name, pipeline, items, params, on_outcome, progress) -> None:
        """Keep ``2 x workers`` items in flight; retry the items of a broken pool."""
        attempts: dict[str, int] = {}
        todo = list(items)
        while todo:
            pool = self._pool or _Pool(self._n)
            self._pool = None
            inflight: dict[Future, WorkItem] = {}
            broken: list[WorkItem] = []
            try:
                while todo or inflight:
                    while todo and len(inflight) < 2 * pool.n:
                        item = todo.pop(0)
                        fut = pool.ex.submit(_pool_process_one, stage_name, pipeline, item,
                                             params)
                        inflight[fut] = item
                    done, _ = wait(list(inflight), timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(pool.queue, progress)
                    for fut in done:
                        item = inflight.pop(fut)
                        try:
                            res = fut.result()
                        except BrokenProcessPool:
                            broken.append(item)
                            continue
                        on_outcome(item, res)
                    if broken:
                        broken.extend(inflight.values())
                        inflight.clear()
                        break
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
                    msg = (f"[stage={stage_name} video={vid}] worker process died while "
                           f"processing this video ({attempts[vid]} attempts; killed, out of "
                           "memory or crashed)")
                    on_outcome(item, Outcome(False, error_class=WorkerCrashedError.__name__,
                                             message=msg, traceback=msg))
                else:
                    todo.append(item)

    def close(self) -> None:
        """Shut the pool down (waits for running items)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


__all__ = ["Executor", "InlineExecutor", "PoolExecutor", "OnOutcome"]
