"""Scale a stage out over a Ray cluster with Ray Data (the ``[ray]`` extra).

The driver keeps every responsibility it has locally — planning, fingerprints,
the ledger — and hands the work items to a Ray Data actor pool: each actor builds
the stage once (models stay loaded across videos) and runs
:func:`posetools.run.worker.process_one` on one video at a time, writing the
artifact atomically into ``OUT``. ``OUT`` and the videos must therefore be on a
filesystem every Ray node sees (NFS, a mounted bucket...). Outcomes stream back to
the driver, which records them in the ledger as they arrive.

A video-level failure comes back as a normal failed outcome. A Ray actor that
dies is restarted by Ray Data and its video retried (Ray Data's actor-pool
defaults); if Ray gives up, the stage run stops with Ray's error and the videos
not yet recorded stay ``pending`` in the ledger for the next run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from ..config.schema import PipelineConfig
from ..errors import MissingBackendError
from .stop import StopFlag
from .work import Outcome, WorkItem
from .worker import model_checksum, process_one


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise MissingBackendError(
            f"the Ray executor needs Ray Data ({e}): pip install 'posetools[ray]'"
        ) from e
    return ray


class RayExecutor:
    """A Ray Data actor pool of ``workers`` actors (one CPU each).

    Args:
        workers: Actor pool size.
        address: Ray cluster address (``None``: ``RAY_ADDRESS`` or a local cluster).
        stop: The run's stop flag: once set, no further outcome is recorded and the
            actors are released (their commits are refused: the run token is gone).
    """

    def __init__(self, workers: int, address: str | None = None,
                 stop: StopFlag | None = None) -> None:
        self.workers = max(1, workers)
        self.address = address
        self.stop = stop or StopFlag()

    def model_checksum(self, stage_name: str, pipeline: PipelineConfig) -> str:
        """Computed in the driver."""
        return model_checksum(stage_name, pipeline)

    def run(self, stage_name: str, pipeline: PipelineConfig, items: Sequence[WorkItem],
            params: dict[str, Any], on_outcome: Callable[[WorkItem, Outcome], None],
            progress: Callable[[int], None]) -> None:
        """Process ``items`` on the actor pool; outcomes are recorded as they arrive."""
        if not items:
            return
        ray = _import_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        todo = list(items)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ds = ray.data.from_items([{"k": i} for i in range(len(todo))],
                                 override_num_blocks=len(todo))

        class _StageActor:
            def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
                res = process_one(stage_name, pipeline, todo[row["k"]], params,
                                  progress=lambda n: None)
                return {"k": row["k"], "result": json.dumps(res.to_dict(), default=str)}

        results = ds.map(_StageActor, compute=ray.data.ActorPoolStrategy(size=self.workers),
                         num_cpus=1)
        for row in results.iter_rows():
            if self.stop.is_set():
                break
            on_outcome(todo[row["k"]], Outcome.from_dict(json.loads(row["result"])))

    def close(self) -> None:
        """The Ray cluster stays up for the next stage."""


__all__ = ["RayExecutor"]
