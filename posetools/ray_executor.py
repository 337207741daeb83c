"""Scale a stage out over a Ray cluster with Ray Data (the ``[ray]`` extra).

The parent (driver) keeps every responsibility it has locally — planning,
fingerprints, the ledger — and hands the videos to do to a Ray Data actor pool:
each actor builds the stage once (models stay loaded across videos) and runs
:func:`posetools.runner._process_one` on one video at a time, writing the
artifact atomically into ``OUT``. ``OUT`` and the videos must therefore be on a
filesystem every Ray node sees (NFS, a mounted bucket...). Results stream back
to the driver, which records them in the ledger as they arrive.

A video-level failure comes back as a normal failed result. A Ray actor that
dies is restarted by Ray Data and its video retried (Ray Data's actor-pool
defaults); if Ray gives up, the stage run stops with Ray's error and the videos
not yet recorded stay ``pending`` in the ledger for the next run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from .errors import MissingBackendError
from .pipeline import PipelineConfig


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise MissingBackendError(
            f"the Ray executor needs Ray Data ({e}): pip install 'posetools[ray]'"
        ) from e
    return ray


def run_on_ray(
    stage_name: str,
    pipeline: PipelineConfig,
    todo: Sequence[tuple],
    params: dict[str, Any],
    record: Callable[..., None],
    *,
    workers: int,
    address: str | None = None,
) -> None:
    """Process ``todo`` (``(job, fingerprint, input_hash)`` tuples) on Ray actors.

    Args:
        stage_name: Stage to run.
        pipeline: The pipeline config (pickled to the actors).
        todo: Planned work from the runner.
        params: The stage's semantic params (stored in each artifact).
        record: The runner's callback ``record(job, fp, input_hash, result)``.
        workers: Actor pool size (one CPU each).
        address: Ray cluster address (``None``: ``RAY_ADDRESS`` or a local cluster).
    """
    ray = _import_ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    items = list(todo)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ds = ray.data.from_items([{"k": i} for i in range(len(items))],
                             override_num_blocks=len(items))

    class _StageActor:
        def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
            from .runner import _process_one

            job, fp, _ = items[row["k"]]
            res = _process_one(stage_name, pipeline, job, fp, params, progress=lambda n: None)
            return {"k": row["k"], "result": json.dumps(res, default=str)}

    results = ds.map(_StageActor, compute=ray.data.ActorPoolStrategy(size=max(1, workers)),
                     num_cpus=1)
    for row in results.iter_rows():
        job, fp, ih = items[row["k"]]
        record(job, fp, ih, json.loads(row["result"]))
