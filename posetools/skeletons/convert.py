"""Conversions between skeleton layouts, described by data.

For each destination joint a conversion gives either one source joint, a
weighted mean of several source joints (a *derived* joint), or nothing (the
joint is *missing*: score 0, NaN coordinates). A derived joint is missing as soon
as one of its sources is missing, and its score is the minimum of its sources'
scores. Nothing is invented: a joint a source layout cannot honestly provide
(e.g. the COCO nose from the H36M head) is missing. See ``docs/skeletons.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import numpy as np

from ..errors import ConfigError, ShapeError
from .catalog import (
    BLAZEPOSE33,
    COCO17,
    COCO_WHOLEBODY133,
    HALPE26,
    LCRNET13,
    OPENPOSE_BODY25,
    OPENPOSE_COCO18,
    SMARTHOME17,
    get_layout,
)
from .layout import SkeletonLayout, sides

# ---------------------------------------------------------------- conversions
# Per (src, dst): dst joint name -> a src joint name, a tuple of src names (their
# mean) or a {src name: weight} dict (weights sum to 1). Unlisted dst joints are
# missing. Pairs with equal names are the identity and need no entry.
_Rule = str | tuple[str, ...] | Mapping[str, float]


def _same_names(src: SkeletonLayout, dst: SkeletonLayout) -> dict[str, _Rule]:
    return {j: j for j in dst.joints if j in src.joints}


_LIMB_JOINTS = sides("shoulder", "elbow", "wrist", "hip", "knee", "ankle")

_RULES: dict[tuple[str, str], dict[str, _Rule]] = {
    ("coco_wholebody133", "coco17"): _same_names(COCO_WHOLEBODY133, COCO17),
    ("halpe26", "coco17"): _same_names(HALPE26, COCO17),
    ("blazepose33", "coco17"): _same_names(BLAZEPOSE33, COCO17),  # eyes = eye centres
    ("h36m17", "coco17"): {
        **{j: j for j in _LIMB_JOINTS if "ankle" not in j},
        "left_ankle": "left_foot", "right_ankle": "right_foot",
    },
    ("coco17", "h36m17"): {
        **{j: j for j in _LIMB_JOINTS if "ankle" not in j},
        "left_foot": "left_ankle", "right_foot": "right_ankle",
        "pelvis": ("left_hip", "right_hip"),
        "thorax": ("left_shoulder", "right_shoulder"),
    },
    ("openpose_body25", "coco17"): _same_names(OPENPOSE_BODY25, COCO17),
    ("openpose_coco18", "coco17"): _same_names(OPENPOSE_COCO18, COCO17),
    ("openpose_body25", "halpe26"): {**_same_names(OPENPOSE_BODY25, HALPE26), "hip": "mid_hip"},
    ("openpose_coco18", "halpe26"): _same_names(OPENPOSE_COCO18, HALPE26),
    ("lcrnet13", "coco17"): {j: j for j in _LIMB_JOINTS},
    ("smarthome17", "coco17"): {j: j for j in _LIMB_JOINTS},
    ("smarthome17", "lcrnet13"): _same_names(SMARTHOME17, LCRNET13),
    ("lcrnet13", "smarthome17"): {
        **_same_names(LCRNET13, SMARTHOME17),
        "mid_hip": ("left_hip", "right_hip"),
        "chest": ("left_hip", "right_hip", "left_shoulder", "right_shoulder"),
        "neck": ("left_shoulder", "right_shoulder"),
        "nose_proxy": {"head": 0.5, "left_shoulder": 0.25, "right_shoulder": 0.25},
    },
}


def supported_conversions() -> list[tuple[str, str]]:
    """All ``(src, dst)`` layout-name pairs :func:`convert_layout` accepts (besides identity)."""
    return sorted(_RULES)


@cache
def conversion_table(src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """The data describing a conversion, as a padded gather table.

    Args:
        src: Source layout name.
        dst: Destination layout name.

    Returns:
        ``(index (K', M) int64, weights (K', M) float64)`` with ``M`` the largest
        number of sources of a destination joint: destination joint ``j`` is
        ``sum_m weights[j, m] * src[index[j, m]]`` over the entries with
        ``index >= 0`` (``-1`` pads, with weight 0). A row of ``-1`` is a joint the
        source layout cannot provide. Arrays are read-only.

    Raises:
        ConfigError: The pair is not supported (the message names both layouts).
    """
    s, d = get_layout(src), get_layout(dst)
    if src == dst:
        rules: dict[str, _Rule] = {j: j for j in s.joints}
    elif (src, dst) in _RULES:
        rules = _RULES[(src, dst)]
    else:
        raise ConfigError(
            f"no conversion from layout {src!r} to {dst!r} "
            f"(supported: {', '.join(f'{a}->{b}' for a, b in supported_conversions())})"
        )
    per_joint: list[list[tuple[int, float]]] = [[] for _ in range(d.num_joints)]
    for name, rule in rules.items():
        if isinstance(rule, str):
            rule = {rule: 1.0}
        elif isinstance(rule, tuple):
            rule = {r: 1.0 / len(rule) for r in rule}
        per_joint[d.index(name)] = [(s.index(n), float(w)) for n, w in rule.items()]
    m = max(1, max(len(p) for p in per_joint))
    index = np.full((d.num_joints, m), -1, np.int64)
    weights = np.zeros((d.num_joints, m), np.float64)
    for j, entries in enumerate(per_joint):
        for i, (k, w) in enumerate(entries):
            index[j, i], weights[j, i] = k, w
    index.flags.writeable = False
    weights.flags.writeable = False
    return index, weights


def _as_layout(layout: SkeletonLayout | str) -> SkeletonLayout:
    return get_layout(layout) if isinstance(layout, str) else layout


def convert_layout(
    keypoints: np.ndarray,
    scores: np.ndarray,
    src: SkeletonLayout | str,
    dst: SkeletonLayout | str,
) -> tuple[np.ndarray, np.ndarray]:
    """Convert keypoints from one layout to another.

    A source joint is missing if its score is ``<= 0`` (or NaN) or a coordinate
    is NaN. Each destination joint is a copy of one source joint, a weighted
    mean of several (derived joint: score = min of the sources' scores, missing
    if any source is missing), or missing. Missing outputs have score 0 and NaN
    coordinates. Same-layout conversion is the identity (with missing joints
    normalized to that convention).

    Args:
        keypoints: ``(..., K, 2)`` pixel coordinates in ``src``.
        scores: ``(..., K)`` scores in [0, 1].
        src: Source layout (or its name).
        dst: Destination layout (or its name).

    Returns:
        ``(keypoints (..., K', 2) float32, scores (..., K') float32)`` in ``dst``.

    Raises:
        ConfigError: The pair is not supported (the message names both layouts).
        ShapeError: Arrays do not match ``src`` or each other.
    """
    s, d = _as_layout(src), _as_layout(dst)
    if s == d:  # identity, also for layouts not in LAYOUTS
        index = np.arange(s.num_joints, dtype=np.int64)[:, None]
        weights = np.ones((s.num_joints, 1), np.float64)
    else:
        index, weights = conversion_table(s.name, d.name)
    kp = np.asarray(keypoints)
    sc = np.asarray(scores)
    k = s.num_joints
    if kp.ndim < 2 or kp.shape[-2:] != (k, 2) or sc.shape != kp.shape[:-1]:
        raise ShapeError(
            f"convert_layout({s.name}->{d.name}): expected keypoints (..., {k}, 2) and "
            f"scores (..., {k}), got {kp.shape} and {sc.shape}"
        )
    pad = index < 0  # (K', M)
    # work on the source joints the conversion uses only
    used, safe = np.unique(np.where(pad, 0, index), return_inverse=True)
    safe = safe.reshape(index.shape)
    sc64 = sc[..., used].astype(np.float64)
    kp64 = kp[..., used, :].astype(np.float64)
    missing = ~(sc64 > 0) | np.isnan(kp64).any(axis=-1)  # (..., U)
    g_sc = sc64[..., safe]  # (..., K', M)
    g_miss = missing[..., safe] & ~pad
    g_kp = np.where(missing[..., None], 0.0, kp64)[..., safe, :]  # (..., K', M, 2)
    out_kp = np.einsum("...jmc,jm->...jc", g_kp, weights)
    out_sc = np.where(pad, np.inf, g_sc).min(axis=-1)
    out_missing = g_miss.any(axis=-1) | pad.all(axis=-1)
    out_sc = np.where(out_missing, 0.0, out_sc)
    out_kp[out_missing] = np.nan
    return out_kp.astype(np.float32), out_sc.astype(np.float32)
