"""The stage runner: fingerprints, skip-if-done, process pool, atomic commit, ledger.

For each stage and each manifest entry the runner

1. resolves the upstream artifacts the stage reads (an upstream that is not
   committed makes the video ``skipped`` for this stage, with the reason);
2. computes the fingerprint (:func:`posetools.hashing.fingerprint`) and skips the
   video when a committed artifact with that fingerprint exists (unless ``force``);
3. otherwise runs :meth:`Stage.process` in a worker — in-process for
   ``workers == 1``, else in a ``spawn`` process pool whose workers keep models
   loaded across videos — writing through :func:`posetools.store.atomic_h5`;
4. records ``committed`` or ``failed`` (error class, message, traceback file
   ``OUT/logs/<stage>/<video_id>.txt``) in the ledger. A bad video never stops
   the batch; a worker that dies (e.g. SIGKILL, OOM) breaks only the videos in
   flight, which are retried once in a fresh pool and then marked failed.

h5py files are opened only inside the worker that processes a video.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from .config import to_dict
from .errors import PosetoolsError
from .hashing import HashCache, canonical_json, file_sha256, fingerprint
from .ledger import Ledger
from .manifest import ManifestEntry
from .pipeline import PipelineConfig, stage_class
from .stages.base import Stage, VideoJob
from .store import artifact_path, atomic_h5, remove_stale_temps


@dataclass(frozen=True)
class RunOptions:
    """Runtime options of a run (none of them enter fingerprints).

    Attributes:
        workers: Parallel worker processes (1 = run in this process).
        force: Recompute even when an up-to-date artifact exists.
        progress: Show tqdm progress bars.
        max_retries_on_crash: Times a video is retried after its worker died.
        executor: ``local`` (this machine: in-process or a process pool) or ``ray``
            (a Ray Data actor pool of ``workers`` actors; see :mod:`posetools.ray_executor`).
        ray_address: Ray cluster address for ``executor="ray"`` (``None``: ``RAY_ADDRESS``
            or a new local cluster).
    """

    workers: int = 1
    force: bool = False
    progress: bool = True
    max_retries_on_crash: int = 1
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None


@dataclass
class StageReport:
    """Outcome of one stage over the selected entries."""

    stage: str
    committed: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    frames: int = 0
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        """No video failed."""
        return not self.failed


class WorkerCrashedError(PosetoolsError):
    """The worker process died while processing the video (killed, OOM, segfault)."""


# ----------------------------------------------------------------------------- worker side

_STAGE_CACHE: dict[tuple[str, str], Stage] = {}
_PROGRESS_Q: Any = None


def _init_worker(q: Any) -> None:
    global _PROGRESS_Q
    _PROGRESS_Q = q


def _get_stage(name: str, pipeline: PipelineConfig) -> Stage:
    # Stage objects (and the models they load lazily) live as long as the process.
    key = (name, canonical_json(to_dict(pipeline)))
    st = _STAGE_CACHE.get(key)
    if st is None:
        st = stage_class(name)(pipeline)
        _STAGE_CACHE[key] = st
    return st


def _model_checksum(stage_name: str, pipeline: PipelineConfig) -> str:
    """The stage's model checksum, computed in a pool worker (which keeps the models)."""
    return _get_stage(stage_name, pipeline).model_checksum()


def _process_one(
    stage_name: str,
    pipeline: PipelineConfig,
    job: VideoJob,
    fp: str,
    params: dict[str, Any],
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run one (stage, video); never raises for video-level failures."""
    vid = job.video_id
    if progress is None:
        q = _PROGRESS_Q

        def progress(n: int) -> None:
            if q is not None:
                q.put(n)

    t0 = time.perf_counter()
    try:
        stage = _get_stage(stage_name, pipeline)
        final = artifact_path(job.out, stage_name, vid)
        with atomic_h5(final, stage=stage_name, stage_version=stage.version, fingerprint=fp,
                       video_id=vid, params=params) as fh:
            summary = stage.process(job, fh, progress) or {}
        summary["seconds"] = round(time.perf_counter() - t0, 3)
        # what `posetools verify` compares the file against later
        summary["artifact_sha256"] = file_sha256(final)
        return {"ok": True, "summary": summary}
    except Exception as e:  # a video-level failure: record it, keep the batch going
        if isinstance(e, PosetoolsError):
            e.with_context(video_id=vid, stage=stage_name)
            msg = str(e)
        else:
            msg = f"[stage={stage_name} video={vid}] {type(e).__name__}: {e}"
        return {
            "ok": False,
            "error_class": type(e).__name__,
            "message": msg,
            "traceback": traceback.format_exc(),
        }


# ----------------------------------------------------------------------------- parent side


def _mp_context() -> mp.context.BaseContext:
    # spawn: no inherited h5py handles, threads or CUDA state from the parent.
    return mp.get_context("spawn")


class Runner:
    """Runs stages of a pipeline over manifest entries into an output folder.

    Args:
        pipeline: The pipeline config.
        out: Output root folder.
        options: Runtime options.
    """

    def __init__(self, pipeline: PipelineConfig, out: str | Path,
                 options: RunOptions | None = None) -> None:
        self.pipeline = pipeline
        self.out = Path(out).resolve()
        self.options = options or RunOptions()
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.out / ".posetools.lock"))

    def run(self, entries: Sequence[ManifestEntry],
            stages: Sequence[str] | None = None) -> list[StageReport]:
        """Run ``stages`` (default: the pipeline's) in order over ``entries``.

        Raises:
            PosetoolsError: If another run holds the output folder's lock.
        """
        stages = list(stages or self.pipeline.stages)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise PosetoolsError(
                f"{self.out} is in use by another posetools run (lock {self._lock.lock_file})"
            ) from None
        try:
            remove_stale_temps(self.out)
            ledger = Ledger(self.out)
            hashes = HashCache(self.out / ".posetools" / "hashes.sqlite")
            try:
                return [self._run_stage(s, entries, ledger, hashes) for s in stages]
            finally:
                ledger.close()
                hashes.close()
        finally:
            self._lock.release()

    # -- planning -------------------------------------------------------------------------

    def _plan(self, stage: Stage, entries, ledger: Ledger, hashes: HashCache, report,
              model: str):
        todo = []
        params = stage.params()
        for e in entries:
            vid = e.video_id
            upstream, up_fps, missing = {}, {}, None
            for inp in stage.inputs():
                row = ledger.get(inp, vid)
                path = artifact_path(self.out, inp, vid)
                if row is None or row.state != "committed" or not path.is_file():
                    state = "not run" if row is None else row.state
                    missing = f"upstream stage '{inp}' is not committed ({state})"
                    break
                upstream[inp] = path
                up_fps[inp] = row.fingerprint
            if missing:
                ledger.set(stage.name, vid, "skipped", message=missing)
                report.skipped.append((vid, missing))
                continue
            input_hash = None
            if stage.reads_video():
                try:
                    input_hash = hashes.get(e.path)
                except OSError as err:
                    msg = f"[stage={stage.name} video={vid}] cannot read {e.path}: {err}"
                    ledger.set(stage.name, vid, "failed", error_class="VideoNotFoundError",
                               message=msg)
                    report.failed.append((vid, msg))
                    continue
            input_key = input_hash
            if input_hash is not None and (e.start is not None or e.end is not None):
                # the manifest's segment selects which frames are read: part of the input
                input_key = f"{input_hash}[{e.start},{e.end})"
            fp = fingerprint(stage=stage.name, stage_version=stage.version, params=params,
                             input_hash=input_key, model_checksum=model, upstream=up_fps)
            row = ledger.get(stage.name, vid)
            final = artifact_path(self.out, stage.name, vid)
            if (not self.options.force and row is not None and row.state == "committed"
                    and row.fingerprint == fp and final.is_file()):
                report.up_to_date.append(vid)
                continue
            ledger.set(stage.name, vid, "pending", fingerprint=fp, input_hash=input_hash)
            job = VideoJob(entry=e, video_path=e.path, out=self.out, upstream=upstream)
            todo.append((job, fp, input_hash))
        return todo, params

    # -- execution ------------------------------------------------------------------------

    def _run_stage(self, name: str, entries, ledger: Ledger, hashes: HashCache) -> StageReport:
        t0 = time.perf_counter()
        report = StageReport(stage=name)
        stage = stage_class(name)(self.pipeline)
        pool = None
        if self.options.executor == "local" and self.options.workers > 1 and len(entries) > 1:
            # Start the pool first and let a worker load the models to checksum them: the
            # parent never holds models (GPU memory) and that worker keeps them for its videos.
            pool = self._new_pool(min(self.options.workers, len(entries)))
            try:
                model = pool[0].submit(_model_checksum, name, self.pipeline).result()
            except BrokenProcessPool:
                pool[0].shutdown(wait=True, cancel_futures=True)
                pool = None
        if pool is None:
            model = stage.model_checksum() if entries else ""
        todo, params = self._plan(stage, entries, ledger, hashes, report, model)
        show = self.options.progress
        vbar = tqdm(total=len(entries), desc=f"{name:>9} videos", unit="vid", disable=not show,
                    initial=len(report.up_to_date) + len(report.skipped) + len(report.failed))
        fbar = tqdm(desc=f"{name:>9} frames", unit="fr", disable=not show, leave=False)

        def record(job: VideoJob, fp: str, input_hash, res: dict[str, Any]) -> None:
            vid = job.video_id
            if res["ok"]:
                detail = dict(res["summary"], video_path=str(job.video_path))
                ledger.set(name, vid, "committed", fingerprint=fp, input_hash=input_hash,
                           detail=detail)
                report.committed.append(vid)
                report.frames += int(res["summary"].get("frames", 0) or 0)
            else:
                tb_path = self.out / "logs" / name / f"{vid}.txt"
                tb_path.parent.mkdir(parents=True, exist_ok=True)
                tb_path.write_text(res.get("traceback", ""), encoding="utf-8")
                ledger.set(name, vid, "failed", fingerprint=fp, input_hash=input_hash,
                           error_class=res["error_class"], message=res["message"],
                           traceback_path=str(tb_path))
                report.failed.append((vid, res["message"]))
            vbar.update(1)

        try:
            if self.options.executor == "ray" and todo:
                from .ray_executor import run_on_ray

                run_on_ray(name, self.pipeline, todo, params, record,
                           workers=self.options.workers, address=self.options.ray_address)
            elif pool is not None:
                self._run_pool(name, todo, params, record, fbar, pool)
                pool = None
            else:
                for job, fp, ih in todo:
                    res = _process_one(name, self.pipeline, job, fp, params, fbar.update)
                    record(job, fp, ih, res)
        finally:
            if pool is not None:
                pool[0].shutdown(wait=True, cancel_futures=True)
            vbar.close()
            fbar.close()
        report.wall_s = time.perf_counter() - t0
        return report

    @staticmethod
    def _new_pool(n: int) -> tuple[ProcessPoolExecutor, Any, int]:
        ctx = _mp_context()
        q = ctx.Queue()
        ex = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker,
                                 initargs=(q,))
        return ex, q, n

    def _run_pool(self, name, todo, params, record, fbar, first_pool) -> None:
        attempts: dict[str, int] = {}
        queue_ = list(todo)
        pool, q, n = first_pool
        if not queue_:
            pool.shutdown(wait=True, cancel_futures=True)
        while queue_:
            if pool is None:
                pool, q, n = self._new_pool(n)
            inflight: dict[Future, tuple] = {}
            broken: list[tuple] = []
            try:
                while queue_ or inflight:
                    while queue_ and len(inflight) < 2 * n:
                        item = queue_.pop(0)
                        job, fp, _ = item
                        fut = pool.submit(_process_one, name, self.pipeline, job, fp, params)
                        inflight[fut] = item
                    done, _ = wait(list(inflight), timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(q, fbar)
                    for fut in done:
                        item = inflight.pop(fut)
                        try:
                            res = fut.result()
                        except BrokenProcessPool:
                            broken.append(item)
                            continue
                        record(item[0], item[1], item[2], res)
                    if broken:
                        broken.extend(inflight.values())
                        inflight.clear()
                        break
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
                _drain(q, fbar)
                pool = None
            if broken:
                # every worker of the broken pool is gone and we hold the run lock:
                # whatever temp files they left are garbage
                remove_stale_temps(self.out)
            for item in broken:
                vid = item[0].video_id
                attempts[vid] = attempts.get(vid, 0) + 1
                if attempts[vid] > self.options.max_retries_on_crash:
                    msg = (f"[stage={name} video={vid}] worker process died while processing "
                           f"this video ({attempts[vid]} attempts; killed, out of memory or "
                           "crashed)")
                    record(item[0], item[1], item[2], {
                        "ok": False, "error_class": WorkerCrashedError.__name__,
                        "message": msg, "traceback": msg})
                else:
                    queue_.append(item)


def _drain(q, bar) -> None:
    while True:
        try:
            bar.update(q.get_nowait())
        except queue.Empty:
            return
        except (OSError, ValueError, EOFError):
            return


def format_reports(reports: Sequence[StageReport]) -> str:
    """A human-readable end-of-run summary."""
    lines = [f"{'stage':<10}{'committed':>10}{'up-to-date':>11}{'skipped':>9}{'failed':>8}"
             f"{'frames':>9}{'wall s':>9}"]
    for r in reports:
        lines.append(f"{r.stage:<10}{len(r.committed):>10}{len(r.up_to_date):>11}"
                     f"{len(r.skipped):>9}{len(r.failed):>8}{r.frames:>9}{r.wall_s:>9.1f}")
    for r in reports:
        for vid, msg in r.failed:
            lines.append(f"FAILED  {r.stage}/{vid}: {msg.splitlines()[0]}")
        for vid, msg in r.skipped:
            lines.append(f"SKIPPED {r.stage}/{vid}: {msg}")
    return "\n".join(lines)


def cpu_count() -> int:
    """Usable CPU count (respects affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1
