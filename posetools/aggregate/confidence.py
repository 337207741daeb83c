"""SST-A per-frame confidence (thesis eq. 3.4)."""

from __future__ import annotations

import numpy as np

from ..config.algorithms import SSTAConfig
from ..skeletons import SkeletonLayout
from ..skeletons.anatomy import (
    PointDef,
    head_def,
    limb_joints,
    neck_def,
    reference_point,
    shoulders_def,
)

_EPS = 1e-12


def confidence(
    pa: np.ndarray, has: np.ndarray, px: np.ndarray, py: np.ndarray, cand: np.ndarray,
    lay: SkeletonLayout, cfg: SSTAConfig,
) -> np.ndarray:
    """Eq. 3.4 for every row: ``(R,) float64`` (0 where undefined)."""
    if cfg.confidence_joints == "limbs":
        jm = np.zeros(lay.num_joints, dtype=bool)
        jm[limb_joints(lay)] = True
    else:
        jm = np.ones(lay.num_joints, dtype=bool)
    use = cand & (has & jm)[..., None]  # (R, K, M)
    pz = np.where(has[..., None], pa, 0.0)
    dx = px - pz[:, :, None, 0]
    dy = py - pz[:, :, None, 1]
    dist = np.sqrt(dx * dx + dy * dy)
    num = np.where(use, dist, 0.0).sum(axis=(1, 2), dtype=np.float64)
    cnt = use.sum(axis=(1, 2))
    if cfg.normalizer == "head_neck":
        a = reference_point(pa, has, head_def(lay, cfg.head))
        b = reference_point(pa, has, neck_def(lay, cfg.neck))
    else:
        left, right = shoulders_def(lay).joints
        a = reference_point(pa, has, PointDef((left,), True))
        b = reference_point(pa, has, PointDef((right,), True))
    dn = np.sqrt(((a - b) ** 2).sum(axis=-1))
    ok = (cnt > 0) & np.isfinite(dn)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.exp(-(num / np.maximum(cnt, 1)) / (dn + _EPS))
    return np.where(ok, c, 0.0)
