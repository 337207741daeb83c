"""Heatmap channels: names and the permutation of a horizontal flip."""

from __future__ import annotations

import numpy as np

from ..skeletons import SkeletonLayout


def channel_names(layout: SkeletonLayout, *, joints: bool = True, limbs: bool = False) -> list[str]:
    """Names of the heatmap channels: joint names, then ``"a-b"`` limb names."""
    out = list(layout.joints) if joints else []
    if limbs:
        out += [f"{layout.joints[a]}-{layout.joints[b]}" for a, b in layout.limbs]
    return out


def channel_flip_permutation(
    layout: SkeletonLayout, *, joints: bool = True, limbs: bool = False
) -> np.ndarray:
    """Channel permutation for a horizontal flip.

    Returns:
        ``(C,) int64`` ``perm`` with ``flipped[:, c] = mirror(maps[:, perm[c]])``.
    """
    parts = []
    if joints:
        parts.append(layout.flip_permutation())
    if limbs:
        off = layout.num_joints if joints else 0
        parts.append(layout.limb_flip_permutation() + off)
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
