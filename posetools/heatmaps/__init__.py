"""Pseudo-heatmaps from keypoints (numpy): crop to a grid, render joint and limb Gaussians.

* :mod:`.crop` — :class:`CropBox`, :func:`compute_crop` (mmaction2 ``PoseCompact``),
  :func:`joint_mask`;
* :mod:`.channels` — channel names and flip permutations;
* :mod:`.render` — :func:`render_heatmaps` (the math is documented there);
  :mod:`posetools.torch.render` is its torch twin.
"""

from .channels import channel_flip_permutation, channel_names
from .crop import DEFAULT_MIN_SCORE, CropBox, compute_crop, joint_mask
from .render import (
           cutoff_sq,
           point_window,
           render_heatmaps,
           segment_d2,
           segment_frame,
           window_bucket,
)

__all__ = ["CropBox", "compute_crop", "joint_mask", "channel_names", "channel_flip_permutation",
           "render_heatmaps", "DEFAULT_MIN_SCORE", "point_window", "cutoff_sq", "window_bucket",
           "segment_frame", "segment_d2"]
