"""Anatomical reference points of skeletons, defined by joint names.

They work for any layout that has the joints:

* head ``"nose"``: the ``nose`` joint; ``"face_centroid"``: the mean of the
  present face joints among nose, eyes and ears (robust when the nose is missing,
  e.g. in profile views); ``"head_joint"``: a joint named ``head`` (Halpe-26,
  H36M-17, LCR-Net-13).
* neck ``"mid_shoulders"``: midpoint of both shoulders (both required);
  ``"neck_joint"``: a joint named ``neck`` (or ``neck_base`` in H36M-17).
* mid-shoulders, mid-hips, and the limb joints (every joint off the head/face).

SST-A (:mod:`posetools.aggregate`), normalization (:mod:`posetools.normalize`) and
the heatmap renderer use these definitions and :func:`present_mask`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import ConfigError
from .layout import SkeletonLayout

HeadDef = Literal["nose", "face_centroid", "head_joint"]
NeckDef = Literal["mid_shoulders", "neck_joint"]

FACE_JOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
"""Joint names averaged by the ``face_centroid`` head definition."""

_HEAD_NAME_PARTS = ("eye", "ear", "mouth", "face_")
_HEAD_NAMES = ("nose", "head", "nose_proxy")


@dataclass(frozen=True)
class PointDef:
    """A reference point built from joints of a layout.

    Attributes:
        joints: Joint indices averaged into the point.
        require_all: If True the point is undefined unless every joint is present;
            otherwise it is the mean of the present ones (undefined if none is).
    """

    joints: tuple[int, ...]
    require_all: bool


def _first_joint(layout: SkeletonLayout, names: tuple[str, ...], what: str) -> int:
    for n in names:
        if n in layout.joints:
            return layout.joints.index(n)
    raise ConfigError(f"layout {layout.name!r} has no {what} joint (looked for {', '.join(names)})")


def head_def(layout: SkeletonLayout, how: HeadDef) -> PointDef:
    """The head reference point of ``layout`` (see the module docstring).

    Raises:
        ConfigError: The layout lacks the joints this definition needs.
    """
    if how == "nose":
        return PointDef((_first_joint(layout, ("nose",), "nose"),), True)
    if how == "head_joint":
        return PointDef((_first_joint(layout, ("head",), "head"),), True)
    idx = tuple(layout.joints.index(n) for n in FACE_JOINTS if n in layout.joints)
    if not idx:
        raise ConfigError(f"layout {layout.name!r} has no face joint ({', '.join(FACE_JOINTS)})")
    return PointDef(idx, False)


def neck_def(layout: SkeletonLayout, how: NeckDef) -> PointDef:
    """The neck reference point of ``layout`` (see the module docstring).

    Raises:
        ConfigError: The layout lacks the joints this definition needs.
    """
    if how == "neck_joint":
        return PointDef((_first_joint(layout, ("neck", "neck_base"), "neck"),), True)
    return shoulders_def(layout)


def shoulders_def(layout: SkeletonLayout) -> PointDef:
    """Mid-shoulders: mean of ``left_shoulder`` and ``right_shoulder`` (both required)."""
    return PointDef((_first_joint(layout, ("left_shoulder",), "left shoulder"),
                     _first_joint(layout, ("right_shoulder",), "right shoulder")), True)


def hips_def(layout: SkeletonLayout) -> PointDef:
    """Mid-hips: mean of ``left_hip`` and ``right_hip`` (both required)."""
    return PointDef((_first_joint(layout, ("left_hip",), "left hip"),
                     _first_joint(layout, ("right_hip",), "right hip")), True)


def limb_joints(layout: SkeletonLayout) -> np.ndarray:
    """Indices of the joints that are not on the head or face.

    Head/face joints are ``nose``, ``head``, ``nose_proxy`` and every joint whose
    name contains ``eye``, ``ear``, ``mouth`` or starts with ``face_``. For COCO-17
    this is joints 5-16 (shoulders to ankles).

    Returns:
        ``(N,) int64`` sorted indices.
    """
    keep = [
        i for i, n in enumerate(layout.joints)
        if n not in _HEAD_NAMES and not any(p in n for p in _HEAD_NAME_PARTS)
    ]
    return np.asarray(keep, dtype=np.int64)


def present_mask(
    keypoints: np.ndarray, scores: np.ndarray | None = None, *, min_score: float = 0.0
) -> np.ndarray:
    """Joints that are present: finite coordinates and (if given) a score > 0, >= min_score.

    This is the one "usable joint" rule of posetools: a joint with score 0 is always
    missing, whatever its coordinates.

    Args:
        keypoints: ``(..., K, 2)``.
        scores: ``(..., K)`` or ``None``.
        min_score: Joints scoring below this are not present.

    Returns:
        ``(..., K) bool``.
    """
    ok = np.isfinite(keypoints).all(axis=-1)
    if scores is not None:
        sc = np.asarray(scores)
        ok &= sc > 0
        if min_score > 0:
            ok &= sc >= min_score
    return ok


def reference_point(keypoints: np.ndarray, present: np.ndarray, pdef: PointDef) -> np.ndarray:
    """Evaluate a :class:`PointDef` on skeletons.

    Args:
        keypoints: ``(..., K, 2)``.
        present: ``(..., K) bool``.
        pdef: The point definition.

    Returns:
        ``(..., 2) float64``, NaN where the point is undefined.
    """
    idx = list(pdef.joints)
    kp = np.asarray(keypoints, dtype=np.float64)[..., idx, :]
    m = np.asarray(present, dtype=bool)[..., idx]
    n = m.sum(axis=-1)
    total = np.where(m[..., None], kp, 0.0).sum(axis=-2)
    ok = n == len(idx) if pdef.require_all else n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        pt = total / n[..., None]
    return np.where(ok[..., None], pt, np.nan)
