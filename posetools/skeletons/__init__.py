"""Skeleton layouts, conversions between them, anatomical reference points, limb graphs.

* :mod:`~posetools.skeletons.layout`: the :class:`SkeletonLayout` type.
* :mod:`~posetools.skeletons.catalog`: the named layouts (``COCO17``, ``BLAZEPOSE33``...)
  and :func:`get_layout`.
* :mod:`~posetools.skeletons.convert`: :func:`convert_layout` and its rule tables.
* :mod:`~posetools.skeletons.anatomy`: head / neck / shoulders / hips / limb joints and
  the one "usable joint" rule, :func:`present_mask`.
* :mod:`~posetools.skeletons.graph`: limb trees for rotations.
"""

from .catalog import (
    BLAZEPOSE33,
    COCO17,
    COCO17_SIGMAS,
    COCO_WHOLEBODY133,
    H36M17,
    HALPE26,
    LAYOUTS,
    LCRNET13,
    OPENPOSE_BODY25,
    OPENPOSE_COCO18,
    SMARTHOME17,
    get_layout,
    oks_sigmas,
)
from .convert import conversion_table, convert_layout, supported_conversions
from .layout import SkeletonLayout

__all__ = [
    "SkeletonLayout", "COCO17", "COCO17_SIGMAS", "COCO_WHOLEBODY133", "HALPE26", "BLAZEPOSE33",
    "H36M17", "LCRNET13", "SMARTHOME17", "OPENPOSE_BODY25", "OPENPOSE_COCO18", "LAYOUTS",
    "get_layout", "convert_layout",
    "conversion_table", "supported_conversions", "oks_sigmas",
]
