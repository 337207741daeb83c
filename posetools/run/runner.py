"""The stage runner: plan, fingerprint, skip-if-done, dispatch to an executor, record.

For each stage and each manifest entry the runner

1. resolves the upstream artifacts the stage reads (an upstream that is not
   committed makes the video ``skipped`` for this stage, with the reason);
2. computes the fingerprint (:func:`posetools.run.hashing.fingerprint`) and skips the
   video when a committed artifact with that fingerprint exists (unless ``force``);
3. hands the remaining :class:`~posetools.run.work.WorkItem` s to an executor
   (:mod:`posetools.run.executors`: in-process, a ``spawn`` process pool, or Ray),
   which writes through :func:`posetools.io.store.atomic_h5`;
4. records ``committed`` or ``failed`` (error class, message, traceback file
   ``OUT/logs/<stage>/<video_id>.txt``) in the ledger. A bad video never stops the
   batch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from ..config.schema import PipelineConfig
from ..errors import PosetoolsError
from ..io.manifest import ManifestEntry
from ..io.store import artifact_path, remove_stale_temps
from ..stages import Stage, build_stage
from ..stages.base import VideoJob
from .executors import Executor, InlineExecutor, PoolExecutor
from .hashing import HashCache, fingerprint
from .ledger import Ledger
from .ray import RayExecutor
from .work import Outcome, RunOptions, StageReport, WorkItem


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

    def _plan(self, stage: Stage, entries: Sequence[ManifestEntry], ledger: Ledger,
              hashes: HashCache, report: StageReport, model: str) -> list[WorkItem]:
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
                ledger.skip(stage.name, vid, missing)
                report.skipped.append((vid, missing))
                continue
            input_hash = None
            if stage.reads_video():
                try:
                    input_hash = hashes.get(e.path)
                except OSError as err:
                    msg = f"[stage={stage.name} video={vid}] cannot read {e.path}: {err}"
                    ledger.fail(stage.name, vid, error_class="VideoNotFoundError", message=msg)
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
            ledger.pending(stage.name, vid, fingerprint=fp, input_hash=input_hash)
            job = VideoJob(entry=e, video_path=e.path, out=self.out, upstream=upstream)
            todo.append(WorkItem(job, fp, input_hash))
        return todo

    # -- execution ------------------------------------------------------------------------

    def _executor(self, n_entries: int) -> Executor:
        opt = self.options
        if opt.executor == "ray":
            return RayExecutor(opt.workers, opt.ray_address)
        if opt.workers > 1 and n_entries > 1:
            return PoolExecutor(min(opt.workers, n_entries), self.out, opt.max_retries_on_crash)
        return InlineExecutor()

    def _run_stage(self, name: str, entries: Sequence[ManifestEntry], ledger: Ledger,
                   hashes: HashCache) -> StageReport:
        t0 = time.perf_counter()
        report = StageReport(stage=name)
        stage = build_stage(name, self.pipeline)
        executor = self._executor(len(entries))
        try:
            model = executor.model_checksum(name, self.pipeline) if entries else ""
        except BrokenProcessPool:  # the pool could not start: run in this process
            executor = InlineExecutor()
            model = executor.model_checksum(name, self.pipeline)
        todo = self._plan(stage, entries, ledger, hashes, report, model)
        params = stage.params()
        show = self.options.progress
        vbar = tqdm(total=len(entries), desc=f"{name:>9} videos", unit="vid", disable=not show,
                    initial=len(report.up_to_date) + len(report.skipped) + len(report.failed))
        fbar = tqdm(desc=f"{name:>9} frames", unit="fr", disable=not show, leave=False)

        def record(item: WorkItem, res: Outcome) -> None:
            vid = item.video_id
            if res.ok:
                detail = dict(res.summary, video_path=str(item.job.video_path))
                ledger.commit(name, vid, fingerprint=item.fingerprint,
                              input_hash=item.input_hash, detail=detail)
                report.committed.append(vid)
                report.frames += int(res.summary.get("frames", 0) or 0)
            else:
                tb_path = self.out / "logs" / name / f"{vid}.txt"
                tb_path.parent.mkdir(parents=True, exist_ok=True)
                tb_path.write_text(res.traceback, encoding="utf-8")
                ledger.fail(name, vid, error_class=res.error_class, message=res.message,
                            traceback_path=str(tb_path), fingerprint=item.fingerprint,
                            input_hash=item.input_hash)
                report.failed.append((vid, res.message))
            vbar.update(1)

        try:
            executor.run(name, self.pipeline, todo, params, record, fbar.update)
        finally:
            executor.close()
            vbar.close()
            fbar.close()
        report.wall_s = time.perf_counter() - t0
        return report


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


__all__ = ["Runner", "RunOptions", "StageReport", "format_reports", "cpu_count"]
