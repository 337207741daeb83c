"""Skeleton layouts (placeholder: filled in by the layouts work)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SkeletonLayout:
    """A named joint layout.

    Attributes:
        name: Layout name (``coco17``...).
        joints: Joint names, in order.
        flip_pairs: Left/right joint index pairs.
        limbs: Joint index pairs forming the skeleton edges.
    """

    name: str
    joints: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    limbs: tuple[tuple[int, int], ...]
