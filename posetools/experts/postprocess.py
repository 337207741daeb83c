"""Backend-independent post-processing of detector and expert outputs.

Every backend returns raw :class:`~posetools.experts.base.Detections` /
:class:`~posetools.experts.base.Poses`; these helpers apply the config's
thresholds the same way for all of them, so a threshold means one thing
whichever backend produced the scores.
"""

from __future__ import annotations

import numpy as np

from .base import Detections, DetectorConfig, ExpertConfig, Poses


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of two sets of xyxy boxes.

    Args:
        a: ``(N, 4)`` boxes.
        b: ``(M, 4)`` boxes.

    Returns:
        ``(N, M) float64`` IoU (0 for degenerate boxes).
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression.

    Args:
        boxes: ``(N, 4)`` xyxy.
        scores: ``(N,)``.
        iou: Boxes overlapping a kept, higher-scored box by more than this are dropped.

    Returns:
        ``(n,) int64`` indices of kept boxes, highest score first.
    """
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    if order.size == 0:
        return order.astype(np.int64)
    ious = box_iou(boxes, boxes)
    keep: list[int] = []
    suppressed = np.zeros(len(order), bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= ious[i] > iou
    return np.asarray(keep, np.int64)


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip xyxy boxes to the image ``[0, width] x [0, height]`` (float32 copy)."""
    out = np.asarray(boxes, np.float32).copy()
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
    return out


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


def keypoint_box(
    keypoints: np.ndarray, scores: np.ndarray, min_score: float = 0.5
) -> np.ndarray:
    """Bounding box of the confident joints of each instance.

    Args:
        keypoints: ``(N, K, 2)`` pixels.
        scores: ``(N, K)``.
        min_score: Joints scoring at least this are used; an instance with fewer
            than two such joints uses all its finite joints instead.

    Returns:
        ``(N, 4) float32`` xyxy (NaN for an instance without any finite joint).
    """
    kp = np.asarray(keypoints, np.float64)
    out = np.full((kp.shape[0], 4), np.nan, np.float32)
    for i in range(kp.shape[0]):
        fin = np.isfinite(kp[i]).all(axis=-1)
        use = fin & (np.asarray(scores[i]) >= min_score)
        if use.sum() < 2:
            use = fin
        if use.any():
            p = kp[i][use]
            out[i] = (p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max())
    return out


def crop_region(
    box: np.ndarray, width: int, height: int, margin: float = 1.25
) -> tuple[int, int, int, int] | None:
    """Integer crop window around a box, enlarged by ``margin`` about its centre.

    The window is clipped to the image. Returns ``(x0, y0, x1, y1)`` or ``None``
    when it is empty.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = (x1 - x0) * margin, (y1 - y0) * margin
    a = max(0, int(np.floor(cx - w / 2)))
    b = max(0, int(np.floor(cy - h / 2)))
    c = min(width, int(np.ceil(cx + w / 2)))
    d = min(height, int(np.ceil(cy + h / 2)))
    if c - a < 2 or d - b < 2:
        return None
    return a, b, c, d


__all__ = [
    "box_iou", "nms", "clip_boxes", "finalize_detections", "finalize_poses",
    "keypoint_box", "crop_region",
]
