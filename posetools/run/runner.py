"""The stage runner: plan, fingerprint, skip-if-done, dispatch to an executor, record.

For each stage and each manifest entry the runner

1. resolves the upstream artifacts the stage reads (an upstream that is not
   committed makes the video ``skipped`` for this stage, with the reason; so does a
   failed ``probe`` for the stages that decode the same video: a broken file fails
   once per run);
2. computes the fingerprint (:func:`posetools.run.hashing.fingerprint`) and skips the
   video when a committed artifact with that fingerprint exists, unchanged since its
   commit (same size and mtime; ``force`` recomputes anyway);
3. hands the remaining :class:`~posetools.run.work.WorkItem` s to an executor
   (:mod:`posetools.run.executors`: in-process, a ``spawn`` process pool, or Ray),
   which writes through :func:`posetools.io.store.atomic_h5`;
4. records ``committed`` (with the file's hash, size and mtime) or ``failed`` (error
   class, message, traceback file ``OUT/logs/<stage>/<video_id>.txt``) in the ledger.
   A bad video never stops the batch; a stop request leaves the videos in progress
   ``pending``.

Planning reads the ledger once per stage (not once per video), so a no-op rerun of a
large dataset costs a few stat calls per video.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from tqdm.auto import tqdm

from ..config.schema import PipelineConfig
from ..io.files import atomic_write
from ..io.manifest import ManifestEntry
from ..io.store import artifact_file
from ..stages import Stage, build_stage
from ..stages.base import VideoJob
from .devices import check_run_devices
from .executors import Executor, InlineExecutor, PoolExecutor
from .hashing import Fingerprinter, HashCache
from .ledger import Ledger, LedgerRow
from .outdir import OutputFolder
from .ray import RayExecutor
from .stop import StopFlag
from .work import Outcome, RunOptions, StageReport, WorkItem

PROBE = "probe"


class Runner:
    """Runs stages of a pipeline over manifest entries into an output folder.

    Args:
        pipeline: The pipeline config.
        out: Output root folder.
        options: Runtime options.
        stop: Stop flag (set it, e.g. from a signal handler, to stop the run cleanly).
    """

    def __init__(self, pipeline: PipelineConfig, out: str | Path,
                 options: RunOptions | None = None, stop: StopFlag | None = None) -> None:
        self.pipeline = pipeline
        self.out = Path(out)
        self.options = options or RunOptions()
        self.stop = stop or StopFlag()

    def run(self, entries: Sequence[ManifestEntry],
            stages: Sequence[str] | None = None) -> list[StageReport]:
        """Run ``stages`` (default: the pipeline's) in order over ``entries``.

        Stops early, leaving later stages unrun, when :attr:`stop` is set.

        Raises:
            OutputFolderError: ``out`` cannot be used.
            PosetoolsError: Another run holds the output folder's lock.
            DeviceError: A model asks for CUDA and this machine cannot give it.
            LedgerError: The ledger cannot be written (the run stops).
        """
        stages = list(stages or self.pipeline.stages)
        if self.options.executor == "local":  # on Ray, the GPUs are the nodes' (checked there)
            check_run_devices(self.pipeline, stages, self.options.worker_devices)
        with OutputFolder(self.out) as folder:
            self.out = folder.path
            ledger = Ledger(self.out)
            hashes = HashCache(self.out / ".posetools" / "hashes.sqlite")
            reports = []
            try:
                for s in stages:
                    if self.stop.is_set():
                        break
                    reports.append(self._run_stage(s, entries, ledger, hashes, folder.token))
            finally:
                ledger.close()
                hashes.close()
            return reports

    # -- planning -------------------------------------------------------------------------

    def _plan(self, stage: Stage, entries: Sequence[ManifestEntry], ledger: Ledger,
              hashes: HashCache, report: StageReport, model: str,
              token: str) -> list[WorkItem]:
        todo = []
        fingerprint = Fingerprinter(stage=stage.name, stage_version=stage.version,
                                    params=stage.params(), model_checksum=model)
        # a few videos of a large ledger: query them; else read each stage's rows once
        ids = [e.video_id for e in entries] if len(entries) <= 2000 else None

        def rows_of(name: str) -> dict[str, LedgerRow]:
            return ledger.by_video(name, light=True, video_ids=ids)

        mine = rows_of(stage.name)
        upstream_rows = {inp: rows_of(inp) for inp in stage.inputs()}
        reads_video = stage.reads_video()
        probe_rows = rows_of(PROBE) if reads_video and stage.name != PROBE else {}
        out = str(self.out)
        with ledger.batch():
            for e in entries:
                vid = e.video_id
                upstream, up_fps, missing = {}, {}, None
                for inp, rows in upstream_rows.items():
                    row = rows.get(vid)
                    path = artifact_file(out, inp, vid)
                    if row is None or row.state != "committed" or not os.path.isfile(path):
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
                if reads_video:
                    try:
                        input_hash = hashes.get(e.path)
                    except OSError as err:
                        msg = f"[stage={stage.name} video={vid}] cannot read {e.path}: {err}"
                        ledger.fail(stage.name, vid, error_class="VideoNotFoundError",
                                    message=msg)
                        report.failed.append((vid, msg))
                        continue
                    reason = _probe_failed(probe_rows.get(vid), input_hash)
                    if reason:
                        ledger.skip(stage.name, vid, reason)
                        report.skipped.append((vid, reason))
                        continue
                input_key = input_hash
                if input_hash is not None and (e.start is not None or e.end is not None):
                    # the manifest's segment selects which frames are read: part of the input
                    input_key = f"{input_hash}[{e.start},{e.end})"
                extra = stage.extra_inputs(e)
                if extra:  # e.g. the files an import expert reads
                    input_key = f"{input_key}+files:{hashes.digest(extra)}"
                fp = fingerprint(input_key, up_fps)
                row = mine.get(vid)
                final = artifact_file(out, stage.name, vid)
                damaged = None
                if not self.options.force and row is not None and row.state == "committed" \
                        and row.fingerprint == fp:
                    damaged = _changed_since_commit(row, final)
                    if damaged is None:
                        report.up_to_date.append(vid)
                        continue
                ledger.pending(stage.name, vid, fingerprint=fp, input_hash=input_hash,
                               message=damaged)
                if damaged:
                    report.repaired.append(vid)
                job = VideoJob(entry=e, video_path=e.path, out=self.out,
                               upstream={k: Path(v) for k, v in upstream.items()})
                todo.append(WorkItem(job, fp, input_hash, token))
        return todo

    # -- execution ------------------------------------------------------------------------

    def _executor(self, stage: Stage, n_items: int) -> Executor:
        opt = self.options
        if opt.executor == "ray":
            return RayExecutor(opt.workers, opt.ray_address, self.stop, opt.device,
                               opt.gpus_per_worker, opt.cpus_per_worker, stage.uses_models,
                               opt.max_retries_on_crash)
        if opt.workers > 1 and n_items > 1:
            try:
                return PoolExecutor(min(opt.workers, n_items), self.out,
                                    opt.max_retries_on_crash, self.stop, opt.worker_devices)
            except BrokenProcessPool:  # the pool could not start: run in this process
                pass
        return InlineExecutor(self.stop, opt.worker_devices[0])

    def _run_stage(self, name: str, entries: Sequence[ManifestEntry], ledger: Ledger,
                   hashes: HashCache, token: str) -> StageReport:
        t0 = time.perf_counter()
        report = StageReport(stage=name)
        stage = build_stage(name, self.pipeline)
        # from the weight files (cached hashes): no model is built to plan
        model = stage.model_checksum(hashes.get) if entries else ""
        todo = self._plan(stage, entries, ledger, hashes, report, model, token)
        params = stage.params()
        show = self.options.progress
        vbar = tqdm(total=len(entries), desc=f"{name:>9} videos", unit="vid", disable=not show,
                    initial=len(report.up_to_date) + len(report.skipped) + len(report.failed))
        fbar = tqdm(desc=f"{name:>9} frames", unit="fr", disable=not show, leave=False)

        def record(item: WorkItem, res: Outcome) -> None:
            vid = item.video_id
            if res.interrupted:
                report.interrupted.append(vid)  # stays pending in the ledger
                return
            if res.ok:
                detail = dict(res.summary, video_path=str(item.job.video_path))
                ledger.commit(name, vid, fingerprint=item.fingerprint,
                              input_hash=item.input_hash, detail=detail,
                              size=res.summary.get("artifact_size"),
                              mtime_ns=res.summary.get("artifact_mtime_ns"))
                report.committed.append(vid)
                report.frames += int(res.summary.get("frames", 0) or 0)
            else:
                tb_path = self.out / "logs" / name / f"{vid}.txt"
                try:
                    atomic_write(tb_path, res.traceback)
                except OSError:  # e.g. the disk is full: the ledger keeps the message
                    tb_path = None
                ledger.fail(name, vid, error_class=res.error_class, message=res.message,
                            traceback_path=None if tb_path is None else str(tb_path),
                            fingerprint=item.fingerprint, input_hash=item.input_hash)
                report.failed.append((vid, res.message))
            vbar.update(1)

        executor = self._executor(stage, len(todo)) if todo else None
        try:
            if executor is not None:
                executor.run(name, self.pipeline, todo, params, record, fbar.update)
        finally:
            if executor is not None:
                executor.close()
            vbar.close()
            fbar.close()
        done = set(report.committed) | {v for v, _ in report.failed} | set(report.interrupted)
        report.not_started = [w.video_id for w in todo if w.video_id not in done]
        report.wall_s = time.perf_counter() - t0
        return report


def _probe_failed(row: LedgerRow | None, input_hash: str | None) -> str | None:
    """Why a video whose probe failed (on these very bytes) is not decoded again."""
    if row is None or row.state != "failed":
        return None
    if row.input_hash is not None and row.input_hash != input_hash:
        return None  # the file changed since: try again
    first = (row.message or "").splitlines()[0] if row.message else ""
    return f"probe failed on this video ({row.error_class}): {first}"


def _changed_since_commit(row: LedgerRow, path: str | Path) -> str | None:
    """Why a committed artifact must be recomputed (missing, or changed since), or None."""
    try:
        st = os.stat(path)
    except OSError:
        return "artifact missing: recomputing"
    if row.artifact_size is not None and st.st_size != row.artifact_size:
        return f"artifact size changed since commit ({row.artifact_size} -> {st.st_size} " \
               "bytes): recomputing"
    if row.artifact_mtime_ns is not None and st.st_mtime_ns != row.artifact_mtime_ns:
        return "artifact modified since commit: recomputing"
    return None


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
        for vid in r.repaired:
            if vid in r.committed:
                lines.append(f"REPAIRED {r.stage}/{vid}: changed since its commit; recomputed")
    return "\n".join(lines)


def cpu_count() -> int:
    """Usable CPU count (respects affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


__all__ = ["Runner", "RunOptions", "StageReport", "format_reports", "cpu_count"]
