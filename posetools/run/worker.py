"""What runs in a worker (this process, a pool process or a Ray actor): one (stage, video).

Stage objects, and the models they load lazily, are cached per process, so a
worker reused across videos builds each model once. h5py files are opened only
here, inside the worker processing the video.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from ..config.loader import to_dict
from ..config.schema import PipelineConfig
from ..errors import PosetoolsError, RunInterrupted
from ..io.store import artifact_path, atomic_h5
from ..stages import build_stage
from ..stages.base import Stage
from .devices import with_device
from .hashing import canonical_json
from .outdir import token_is_current
from .work import Outcome, WorkItem

_STAGE_CACHE: dict[tuple[str, str], Stage] = {}


def get_stage(name: str, pipeline: PipelineConfig) -> Stage:
    """The stage ``name`` of ``pipeline``, built once per process."""
    key = (name, canonical_json(to_dict(pipeline)))
    st = _STAGE_CACHE.get(key)
    if st is None:
        st = build_stage(name, pipeline)
        _STAGE_CACHE[key] = st
    return st


def process_one(
    stage_name: str,
    pipeline: PipelineConfig,
    item: WorkItem,
    params: dict[str, Any],
    progress: Callable[[int], None],
    device: str | None = None,
) -> Outcome:
    """Run one (stage, video) and commit its artifact atomically.

    ``device`` is this worker's device for the models whose YAML sets none
    (:func:`~posetools.run.devices.with_device`).

    Never raises for video-level failures: they come back as a failed :class:`Outcome`;
    a stop request (``progress`` raising :class:`~posetools.errors.RunInterrupted`, or
    the run token gone stale) comes back as an interrupted one, with nothing written.
    """
    job = item.job
    vid = job.video_id
    t0 = time.perf_counter()

    def may_commit() -> bool:
        return not item.run_token or token_is_current(job.out, item.run_token)

    try:
        stage = get_stage(stage_name, with_device(pipeline, device))
        final = artifact_path(job.out, stage_name, vid)
        with atomic_h5(final, stage=stage_name, stage_version=stage.version,
                       fingerprint=item.fingerprint, video_id=vid, params=params,
                       may_commit=may_commit) as art:
            summary = stage.process(job, art.file, progress) or {}
        summary["seconds"] = round(time.perf_counter() - t0, 3)
        # what `posetools verify` (full hash) and the next run (size, mtime) check
        summary["artifact_sha256"] = art.committed.sha256
        summary["artifact_size"] = art.committed.size
        summary["artifact_mtime_ns"] = art.committed.mtime_ns
        return Outcome(True, summary)
    except RunInterrupted as e:
        return Outcome(False, error_class=type(e).__name__, message=str(e), interrupted=True)
    except Exception as e:  # a video-level failure: record it, keep the batch going
        if isinstance(e, PosetoolsError):
            e.with_context(video_id=vid, stage=stage_name)
            msg = str(e)
        else:
            msg = f"[stage={stage_name} video={vid}] {type(e).__name__}: {e}"
        return Outcome(False, error_class=type(e).__name__, message=msg,
                       traceback=traceback.format_exc())


__all__ = ["get_stage", "process_one"]
