"""Pseudo-heatmaps from keypoints (numpy): crop to a grid, render joint and limb Gaussians.

Two styles (``heatmaps.style``), with the same channel layout:

* ``posetools`` — :func:`compute_crop` and :func:`render_heatmaps` (3 sigma
  discs/capsules, separable, fastest; the math is documented in :mod:`.render`);
* ``mmaction2`` — :func:`compute_compact_crop` and :func:`render_heatmaps_mmaction2`,
  bit-for-bit what mmaction2 1.2.0's ``PoseCompact -> Resize -> CenterCrop ->
  GeneratePoseTarget`` computes (:mod:`.mmaction2`).

Also :func:`joint_mask`; :mod:`.channels` — limb lists (:func:`resolve_limbs`), channel
names and flip permutations. :mod:`posetools.torch.render` and
:mod:`posetools.torch.mmaction2` are the torch twins.
"""

from .channels import LimbSpec, channel_flip_permutation, channel_names, resolve_limbs
from .crop import (
           DEFAULT_MIN_SCORE,
           CompactCrop,
           CropBox,
           compute_compact_crop,
           compute_crop,
           joint_mask,
)
from .mmaction2 import render_heatmaps_mmaction2
from .render import (
           cutoff_sq,
           point_window,
           render_channels,
           render_heatmaps,
           segment_d2,
           segment_frame,
           window_bucket,
)

__all__ = ["CropBox", "CompactCrop", "compute_crop", "compute_compact_crop", "joint_mask",
           "channel_names", "channel_flip_permutation", "resolve_limbs", "LimbSpec",
           "render_channels", "render_heatmaps", "render_heatmaps_mmaction2",
           "DEFAULT_MIN_SCORE", "point_window", "cutoff_sq", "window_bucket", "segment_frame",
           "segment_d2"]
