"""Matching each expert's person instances to the reference expert's tracks."""

from __future__ import annotations

import numpy as np

from ..config.algorithms import MatchMetric, SSTAConfig
from ..errors import ShapeError
from ..geometry import box_iou, greedy_match, keypoint_box, oks
from ..skeletons import COCO17_SIGMAS, get_layout, oks_sigmas
from ..skeletons.anatomy import present_mask


def instance_similarity(
    ref_kps: np.ndarray, ref_ok: np.ndarray, kps: np.ndarray, ok: np.ndarray,
    *, metric: MatchMetric = "oks", sigmas: np.ndarray | None = None,
) -> np.ndarray:
    """Similarity of every reference instance to every candidate instance, per frame.

    ``oks``: :func:`posetools.geometry.oks` with ``A`` the area of the reference's
    keypoint bounding box (at least 1 px^2); 0 when no joint is shared. ``iou``:
    :func:`posetools.geometry.box_iou` of the keypoint bounding boxes.

    Args:
        ref_kps: ``(T, P, K, 2)`` reference instances.
        ref_ok: ``(T, P, K) bool`` their usable joints.
        kps: ``(T, Q, K, 2)`` candidate instances.
        ok: ``(T, Q, K) bool`` their usable joints.
        metric: ``"oks"`` or ``"iou"``.
        sigmas: ``(K,)`` OKS constants (default: COCO's for COCO-17).

    Returns:
        ``(T, P, Q) float64`` in [0, 1].
    """
    k = ref_kps.shape[-2]
    ref_box = keypoint_box(np.asarray(ref_kps, np.float64), ref_ok)
    if metric == "iou":
        return box_iou(ref_box, keypoint_box(np.asarray(kps, np.float64), ok))
    sig = COCO17_SIGMAS if sigmas is None else np.asarray(sigmas, dtype=np.float64)
    if sig.shape != (k,):
        raise ShapeError(f"instance_similarity: sigmas must be ({k},), got {sig.shape}")
    area = np.maximum(np.nan_to_num((ref_box[..., 2] - ref_box[..., 0])
                                    * (ref_box[..., 3] - ref_box[..., 1])), 1.0)  # (T, P)
    sim = oks(ref_kps, kps, area, sig, present_a=ref_ok, present_b=ok)
    return np.where(np.isnan(sim), 0.0, sim)


def match_instances_to_reference(
    ref_kps: np.ndarray, ref_scores: np.ndarray, kps: np.ndarray, scores: np.ndarray,
    cfg: SSTAConfig = SSTAConfig(),  # noqa: B008 - frozen, immutable default
) -> np.ndarray:
    """Match one expert's instances to the reference expert's, frame by frame.

    Joints are used when their coordinates are finite and their score is ``> 0``
    and ``>= cfg.min_score``. Similarity per ``cfg.match_metric`` (OKS constants by
    joint name, :func:`posetools.skeletons.oks_sigmas`), greedy assignment
    (:func:`posetools.geometry.greedy_match`, no tie key) above ``cfg.match_threshold``.

    Args:
        ref_kps: ``(T, P, K, 2)`` the reference expert's instances.
        ref_scores: ``(T, P, K)`` their scores.
        kps: ``(T, Q, K, 2)`` the expert's instances.
        scores: ``(T, Q, K)`` their scores.
        cfg: Options (``layout``, ``min_score``, ``match_metric``, ``match_threshold``).

    Returns:
        ``(T, P) int64`` index into the expert's ``Q`` instances, -1 where none matches.
    """
    ref_kps = np.asarray(ref_kps, dtype=np.float64)
    kps = np.asarray(kps, dtype=np.float64)
    ref_ok = present_mask(ref_kps, ref_scores, min_score=cfg.min_score)
    ok = present_mask(kps, scores, min_score=cfg.min_score)
    sim = instance_similarity(ref_kps, ref_ok, kps, ok, metric=cfg.match_metric,
                              sigmas=oks_sigmas(get_layout(cfg.layout)))
    return greedy_match(sim, cfg.match_threshold)
