"""Heatmap channels: which limbs, their names and the permutation of a horizontal flip.

A limb channel list is either a layout's own limbs (``True``: the ``default`` set),
one of its named limb sets (:attr:`~posetools.skeletons.SkeletonLayout.limb_sets`,
e.g. ``"mmaction2"``) or an explicit list of joint index pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError
from ..skeletons import SkeletonLayout

LimbSpec = bool | str | Sequence[Sequence[int]] | np.ndarray
"""``False``/``()``: no limbs; ``True``: the layout's limbs; a name: a limb set of the
layout; a sequence of ``(a, b)`` pairs: those limbs, in that channel order."""


def resolve_limbs(layout: SkeletonLayout, limbs: LimbSpec) -> tuple[tuple[int, int], ...]:
    """The limb pairs a :data:`LimbSpec` names, validated against ``layout``.

    Raises:
        ConfigError: Unknown limb set, or an explicit list that is out of range,
            has duplicates or is not closed under left/right mirroring (its flip
            permutation would be undefined).
    """
    if isinstance(limbs, (bool, np.bool_)):
        return layout.limbs if limbs else ()
    if isinstance(limbs, str):
        return layout.limb_set(limbs)
    try:
        pairs = layout.check_limbs(np.asarray(limbs, dtype=np.int64).reshape(-1, 2).tolist())
        layout.limb_flip_permutation(pairs)
    except ValueError as e:
        raise ConfigError(f"limbs: {e}") from None
    return pairs


def channel_names(layout: SkeletonLayout, *, joints: bool = True,
                  limbs: LimbSpec = False) -> list[str]:
    """Names of the heatmap channels: joint names, then ``"a-b"`` limb names."""
    out = list(layout.joints) if joints else []
    out += [f"{layout.joints[a]}-{layout.joints[b]}" for a, b in resolve_limbs(layout, limbs)]
    return out


def channel_flip_permutation(
    layout: SkeletonLayout, *, joints: bool = True, limbs: LimbSpec = False
) -> np.ndarray:
    """Channel permutation for a horizontal flip.

    Returns:
        ``(C,) int64`` ``perm`` with ``flipped[:, c] = mirror(maps[:, perm[c]])``.
    """
    parts = []
    if joints:
        parts.append(layout.flip_permutation())
    pairs = resolve_limbs(layout, limbs)
    if pairs:
        off = layout.num_joints if joints else 0
        parts.append(layout.limb_flip_permutation(pairs) + off)
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
