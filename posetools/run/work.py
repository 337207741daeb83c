"""The typed plumbing of a run: what is planned, what comes back, what is reported."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..errors import WorkerCrashedError
from ..stages.base import VideoJob


@dataclass(frozen=True)
class RunOptions:
    """Runtime options of a run (none of them enter fingerprints).

    Attributes:
        workers: Parallel worker processes (1 = run in this process).
        force: Recompute even when an up-to-date artifact exists.
        progress: Show tqdm progress bars.
        max_retries_on_crash: Times a video is retried after its worker died.
        executor: ``local`` (this machine: in-process or a process pool) or ``ray``
            (a Ray Data actor pool of ``workers`` actors; see :mod:`posetools.run.ray`).
        ray_address: Ray cluster address for ``executor="ray"`` (``None``: ``RAY_ADDRESS``
            or a new local cluster).
        device: Device of every model whose YAML leaves ``device`` unset: ``cpu``,
            ``cuda``, ``cuda:N`` or ``auto`` (a GPU where the backend can use one).
        devices: One device per process-pool worker, taken in turn (overrides
            ``device`` for the pool; empty: every worker uses ``device``).
        gpus_per_worker: GPUs each Ray actor of a model stage asks for (fractions
            share a GPU; 0: CPU actors).
        cpus_per_worker: CPUs each Ray actor or task asks for.
    """

    workers: int = 1
    force: bool = False
    progress: bool = True
    max_retries_on_crash: int = 1
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    device: str = "auto"
    devices: tuple[str, ...] = ()
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0

    @property
    def worker_devices(self) -> tuple[str, ...]:
        """The devices the local workers take in turn."""
        return self.devices or (self.device,)


@dataclass(frozen=True)
class WorkItem:
    """One planned (stage, video).

    Attributes:
        job: The video and its upstream artifacts.
        fingerprint: The fingerprint the result will carry.
        input_hash: Content hash of the video, when the stage reads it.
        run_token: The token of the run that planned it; the worker commits only while
            it is current (:func:`posetools.run.outdir.token_is_current`).
    """

    job: VideoJob
    fingerprint: str
    input_hash: str | None
    run_token: str = ""

    @property
    def video_id(self) -> str:
        """The video's manifest id."""
        return self.job.video_id


@dataclass(frozen=True)
class Outcome:
    """What processing one work item gave.

    Attributes:
        ok: The artifact was committed.
        summary: The stage's summary (plus ``seconds``, ``artifact_sha256``,
            ``artifact_size``, ``artifact_mtime_ns``) when ok.
        error_class: Exception class name when not ok.
        message: One-line message with stage / video / frame context when not ok.
        traceback: Full traceback text when not ok.
        interrupted: The run was stopping: the video stays ``pending`` (not a failure).
    """

    ok: bool
    summary: dict[str, Any] = field(default_factory=dict)
    error_class: str = ""
    message: str = ""
    traceback: str = ""
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for transports that need JSON)."""
        return asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Outcome:
        """Inverse of :meth:`to_dict`."""
        return Outcome(**d)

    @staticmethod
    def crashed(stage_name: str, video_id: str, attempts: int,
                who: str = "worker process") -> Outcome:
        """The failure of a video whose worker died on each of its ``attempts``."""
        msg = (f"[stage={stage_name} video={video_id}] {who} died while processing this "
               f"video ({attempts} attempts; killed, out of memory or crashed)")
        return Outcome(False, error_class=WorkerCrashedError.__name__, message=msg, traceback=msg)


@dataclass
class StageReport:
    """Outcome of one stage over the selected entries.

    Attributes:
        stage: Stage name.
        committed: Videos committed now.
        up_to_date: Videos whose committed artifact was kept.
        failed: ``(video, message)`` of the videos that failed.
        skipped: ``(video, reason)`` of the videos the stage could not run on.
        repaired: Videos recomputed because their artifact was damaged since its commit.
        interrupted: Videos abandoned mid-way by a stop request (still pending).
        not_started: Planned videos a stop request kept from starting (still pending).
        frames: Frames processed.
        wall_s: Wall time of the stage.
    """

    stage: str
    committed: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    not_started: list[str] = field(default_factory=list)
    frames: int = 0
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        """No video failed."""
        return not self.failed


__all__ = ["RunOptions", "WorkItem", "Outcome", "StageReport"]
