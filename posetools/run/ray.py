"""Scale a stage out over a Ray cluster with Ray Data (the ``[ray]`` extra).

The driver keeps every responsibility it has locally — planning, fingerprints
(model checksums come from the weight files, no model is built in the driver), the
ledger — and streams the work items to the cluster as dataset rows (one row, one
block per video; each row carries its pickled :class:`~posetools.run.work.WorkItem`):

* **model stages** (``detect``, ``estimate``) run on a Ray Data *actor pool* of
  ``workers`` actors, each asking for ``cpus_per_worker`` CPUs and
  ``gpus_per_worker`` GPUs (a fraction shares a GPU). An actor builds its models
  once and keeps them across videos; Ray gives it its GPU through
  ``CUDA_VISIBLE_DEVICES``, so ``--device cuda`` (or ``auto``) means that GPU;
* **CPU stages** run as plain Ray *tasks* (``cpus_per_worker`` CPUs each, at most
  ``workers`` at a time).

Each row runs :func:`posetools.run.worker.process_one`, which writes the artifact
atomically into ``OUT``: ``OUT`` and the videos must be on a filesystem every node
sees (NFS, a mounted bucket...). Outcomes stream back and are recorded as they
arrive. A video-level failure is a normal failed outcome. An actor or task process
that dies (killed, out of memory) is restarted by Ray and its video retried
``max_retries_on_crash`` times; after that the video is recorded as failed
(:class:`~posetools.errors.WorkerCrashedError`) and the stage goes on.
"""

from __future__ import annotations

import json
import logging
import pickle
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from ..config.schema import PipelineConfig
from ..errors import DeviceError, MissingBackendError
from .stop import StopFlag
from .work import Outcome, WorkItem
from .worker import process_one


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise MissingBackendError(
            f"the Ray executor needs Ray Data ({e}): pip install 'posetools[ray]'"
        ) from e
    return ray


def _ignore(n: int) -> None:
    """Ray rows report no per-frame progress."""


def _run_row(row: dict[str, Any], stage_name: str, pipeline: PipelineConfig,
             params: dict[str, Any], device: str | None) -> dict[str, Any]:
    item = pickle.loads(row["item"])
    res = process_one(stage_name, pipeline, item, params, _ignore, device)
    return {"k": row["k"], "result": json.dumps(res.to_dict(), default=str)}


def _actor_class(stage_name: str, pipeline: PipelineConfig, params: dict[str, Any],
                 device: str | None) -> type:
    """A Ray actor class that keeps one stage (and its models) across the videos it gets.

    The stage's config travels with the class (it is small); the work items travel as
    rows. Constructor arguments would sit in the object store, which Ray warns breaks
    the restart of a killed actor.
    """

    class _StageActor:
        def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
            return _run_row(row, stage_name, pipeline, params, device)

    return _StageActor


class RayExecutor:
    """Run a stage's work items on a Ray cluster (see the module docstring).

    Args:
        workers: Actor pool size (model stages) or most tasks at once (CPU stages).
        address: Ray cluster address (``None``: ``RAY_ADDRESS`` or a local cluster).
        stop: The run's stop flag: once set, no further outcome is recorded and the
            actors are released (their commits are refused: the run token is gone).
        device: The models' device where their YAML sets none (``auto``: the actor's
            GPU when it has one, else the CPU).
        gpus_per_worker: GPUs per actor of a model stage.
        cpus_per_worker: CPUs per actor or task.
        uses_models: Whether the stage runs models (actors) or not (tasks).
        max_retries_on_crash: Times a video is retried after its actor or task died.
    """

    def __init__(self, workers: int, address: str | None = None,
                 stop: StopFlag | None = None, device: str | None = None,
                 gpus_per_worker: float = 0.0, cpus_per_worker: float = 1.0,
                 uses_models: bool = False, max_retries_on_crash: int = 1) -> None:
        self.workers = max(1, workers)
        self.address = address
        self.stop = stop or StopFlag()
        self.gpus = float(gpus_per_worker) if uses_models else 0.0
        self.cpus = float(cpus_per_worker)
        self.uses_models = uses_models
        self.retries = max_retries_on_crash
        if uses_models and self.gpus == 0 and device not in (None, "auto", "cpu"):
            raise DeviceError(f"device: {device!r} on Ray needs --gpus-per-worker > 0 "
                              "(Ray gives an actor a GPU only when it asks for one)")
        # an actor without a GPU share must not grab a GPU Ray did not give it
        self.device = "cpu" if uses_models and self.gpus == 0 else device

    def _dataset(self, ray, items: Sequence[WorkItem], stage_name: str,
                 pipeline: PipelineConfig, params: dict[str, Any]):
        rows = [{"k": k, "item": pickle.dumps(it)} for k, it in enumerate(items)]
        ds = ray.data.from_items(rows, override_num_blocks=len(rows))
        args = {"stage_name": stage_name, "pipeline": pipeline, "params": params,
                "device": self.device}
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # no INFO lines per stage
        with warnings.catch_warnings():
            # Ray 2.60 deprecates these retry arguments without a named replacement; they
            # bound the retries of a video that kills its worker (Ray's default: forever)
            warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
            if self.uses_models:
                return ds.map(_actor_class(**args),
                              # one video per actor at a time: a killed actor loses
                              # only the video it was running
                              compute=ray.data.ActorPoolStrategy(
                                  size=self.workers, max_tasks_in_flight_per_actor=1),
                              num_cpus=self.cpus, num_gpus=self.gpus or None,
                              max_restarts=-1, max_task_retries=self.retries)
            return ds.map(_run_row, fn_kwargs=args,
                          compute=ray.data.TaskPoolStrategy(size=self.workers),
                          num_cpus=self.cpus, max_retries=self.retries)

    def _check_resources(self, ray) -> None:
        have = ray.cluster_resources().get("GPU", 0.0)
        if self.gpus > have:
            raise DeviceError(f"--gpus-per-worker {self.gpus:g}: the Ray cluster has "
                              f"{have:g} GPU(s)")

    def run(self, stage_name: str, pipeline: PipelineConfig, items: Sequence[WorkItem],
            params: dict[str, Any], on_outcome: Callable[[WorkItem, Outcome], None],
            progress: Callable[[int], None]) -> None:
        """Process ``items`` on the cluster; outcomes are recorded as they arrive."""
        if not items:
            return
        ray = _import_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        self._check_resources(ray)
        ctx = ray.data.DataContext.get_current()
        saved = ctx.enable_progress_bars, ctx.max_errored_blocks
        # a video whose retries are spent is one errored block: record it, go on
        ctx.enable_progress_bars, ctx.max_errored_blocks = False, -1
        todo = list(items)
        seen: set[int] = set()
        try:
            for row in self._dataset(ray, todo, stage_name, pipeline, params).iter_rows():
                if self.stop.is_set():
                    return
                seen.add(row["k"])
                on_outcome(todo[row["k"]], Outcome.from_dict(json.loads(row["result"])))
        finally:
            ctx.enable_progress_bars, ctx.max_errored_blocks = saved
        if self.stop.is_set():
            return
        for k, item in enumerate(todo):
            if k not in seen:
                on_outcome(item, Outcome.crashed(stage_name, item.video_id, self.retries + 1,
                                                 "the Ray worker"))

    def close(self) -> None:
        """The Ray cluster stays up for the next stage."""


__all__ = ["RayExecutor"]
