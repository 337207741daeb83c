"""Temporal refinement of pose tracks (pure numpy + scipy).

Outlier rejection (:mod:`.outliers`), gap repair (:mod:`.gaps`) and smoothing
(:mod:`.filters`) on the segments of each joint's series (:mod:`.segments`), put
together per person track by :func:`refine_poses` (:mod:`.refine`). Options:
:class:`~posetools.config.algorithms.RefineConfig`; rules and the measured choice of
defaults: ``docs/aggregation.md``.
"""

from .filters import butterworth, gaussian, on_grid, one_euro, savgol
from .gaps import fill_gaps, fill_segments, interpolate
from .outliers import hampel_flags, hampel_mask, person_size, spike_mask
from .refine import RefineResult, refine_poses, refine_track, smooth_segment
from .segments import piece_ids, sample_period, segment_bounds

__all__ = [
    "RefineResult", "refine_poses", "refine_track", "smooth_segment", "butterworth",
    "gaussian", "one_euro", "savgol", "on_grid", "fill_gaps", "fill_segments", "interpolate",
    "hampel_mask", "hampel_flags", "spike_mask", "person_size", "sample_period",
    "segment_bounds", "piece_ids",
]
