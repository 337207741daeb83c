"""The top-down plumbing the mm and ONNX backends share: boxes -> crops -> poses.

A top-down model runs once per person box. :func:`run_top_down` pools the boxes of
*all* frames of a call, runs them ``batch_size`` at a time (so a batch is full even
when each frame has one person) and reassembles one raw
:class:`~posetools.experts.types.Poses` per frame. Boxes scoring below
``min_instance_score`` never reach the model; a frame without boxes gets zero
instances (never a whole-image box).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .batching import chunks
from .types import Detections, Poses

InferFn = Callable[[list[tuple[int, int]]], tuple[np.ndarray, np.ndarray]]
"""``infer([(frame, box), ...]) -> (keypoints (n, K, 2), scores (n, K))``."""


def run_top_down(
    dets: Sequence[Detections],
    infer: InferFn,
    *,
    num_joints: int,
    batch_size: int,
    min_instance_score: float = 0.0,
) -> list[Poses]:
    """Run a top-down model on every (frame, box) pair and group the results by frame.

    Args:
        dets: One :class:`Detections` per frame.
        infer: Runs the model on a chunk of ``(frame index, box index)`` pairs.
        num_joints: ``K`` of the model's layout.
        batch_size: Pairs per ``infer`` call.
        min_instance_score: Boxes scoring below this are skipped.

    Returns:
        One raw :class:`Poses` per frame (``float32``; instance ``i`` belongs to the
        ``i``-th kept box, whose box and score it carries).
    """
    jobs = [(f, i) for f, d in enumerate(dets) for i in range(len(d))
            if d.scores[i] >= min_instance_score]
    res: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for chunk in chunks(jobs, batch_size):
        kp, sc = infer(list(chunk))
        for j, job in enumerate(chunk):
            res[job] = (kp[j], sc[j])
    out = []
    for f, d in enumerate(dets):
        idx = [i for i in range(len(d)) if (f, i) in res]
        if not idx:
            out.append(Poses.empty(num_joints))
            continue
        out.append(Poses(np.stack([res[f, i][0] for i in idx])[..., :2].astype(np.float32),
                         np.stack([res[f, i][1] for i in idx]).astype(np.float32),
                         d.boxes[idx].astype(np.float32).reshape(-1, 4),
                         d.scores[idx].astype(np.float32).reshape(-1)))
    return out


__all__ = ["run_top_down", "InferFn"]
