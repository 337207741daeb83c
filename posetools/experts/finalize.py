"""Backend-independent post-processing of detector and expert outputs.

Every backend returns raw :class:`~posetools.experts.types.Detections` /
:class:`~posetools.experts.types.Poses`; the ``detect`` and ``estimate`` stages
apply these once, the same way for all backends, so a threshold means one thing
whichever backend produced the scores.
"""

from __future__ import annotations

import numpy as np

from ..config.models import DetectorConfig, ExpertConfig
from ..geometry import clip_boxes, nms
from .types import Detections, Poses


def finalize_detections(
    det: Detections, cfg: DetectorConfig, width: int, height: int
) -> Detections:
    """Apply a detector config's thresholds to raw detections of one frame.

    Boxes are clipped to the image, degenerate (zero-area) boxes and boxes
    scoring below ``cfg.score_threshold`` are dropped, then NMS at
    ``cfg.nms_iou`` and the ``cfg.max_detections`` best are kept, sorted by
    decreasing score. Scores are kept as the detector gave them (clipped to [0, 1]).
    """
    if len(det) == 0:
        return Detections.empty()
    boxes = clip_boxes(det.boxes, width, height)
    scores = np.clip(np.asarray(det.scores, np.float32), 0.0, 1.0)
    ok = (
        (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        & (scores >= cfg.score_threshold)
    )
    boxes, scores = boxes[ok], scores[ok]
    keep = nms(boxes, scores, cfg.nms_iou)[: cfg.max_detections]
    return Detections(boxes[keep].astype(np.float32), scores[keep].astype(np.float32))


def finalize_poses(poses: Poses, cfg: ExpertConfig) -> Poses:
    """Apply an expert config's thresholds to the raw poses of one frame.

    Scores are clipped to [0, 1]; a joint whose score is below
    ``cfg.min_keypoint_score`` (or whose coordinates are not finite) gets score 0
    and NaN coordinates; instances whose box score is below
    ``cfg.min_instance_score`` are dropped. Dtypes become float32.
    """
    kp = np.asarray(poses.keypoints, np.float32).copy()
    sc = np.clip(np.nan_to_num(np.asarray(poses.scores, np.float32), nan=0.0), 0.0, 1.0)
    boxes = np.asarray(poses.boxes, np.float32)
    bs = np.clip(np.nan_to_num(np.asarray(poses.box_scores, np.float32), nan=0.0), 0.0, 1.0)
    missing = (sc < cfg.min_keypoint_score) | ~np.isfinite(kp).all(axis=-1) | (sc <= 0)
    sc = np.where(missing, 0.0, sc).astype(np.float32)
    kp[missing] = np.nan
    keep = bs >= cfg.min_instance_score
    return Poses(kp[keep], sc[keep], boxes[keep], bs[keep])


__all__ = ["finalize_detections", "finalize_poses"]
