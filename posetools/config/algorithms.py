"""Options of the pure algorithms: tracking, SST-A, temporal refinement, normalization.

Pure data with validation (frozen dataclasses; ``__post_init__`` raises
``ValueError("field: problem")``, which :func:`~posetools.config.loader.from_dict`
reports with the dotted path). The algorithms themselves live in
:mod:`posetools.track`, :mod:`posetools.aggregate`, :mod:`posetools.temporal` and
:mod:`posetools.normalize`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal, get_args, get_type_hints

from ..errors import ConfigError
from ..skeletons import get_layout
from ..skeletons.anatomy import (
    HeadDef,
    NeckDef,
    head_def,
    hips_def,
    limb_joints,
    neck_def,
    shoulders_def,
)
from .loader import require

ScaleDef = Literal["rms", "max", "torso"]
MissingHead = Literal["no_rotation", "invalid"]
ConfidenceJoints = Literal["all", "limbs"]
Normalizer = Literal["head_neck", "shoulder_width"]
LowConfidence = Literal["invalid", "zero_confidence"]
MatchMetric = Literal["oks", "iou"]
OutlierTest = Literal["none", "hampel"]
GapMethod = Literal["linear", "pchip"]
Smoother = Literal["none", "one_euro", "savgol", "butterworth", "gaussian"]


def _checked(field: str, fn, *args):
    """``fn(*args)``, its :class:`ConfigError` re-raised as ``ValueError("field: ...")``."""
    try:
        return fn(*args)
    except ConfigError as e:
        raise ValueError(f"{field}: {e.message}") from None


@dataclass(frozen=True)
class TrackConfig:
    """Options of tracking and main-person selection.

    Attributes:
        iou_threshold: Minimum IoU between a track's predicted box and a box for
            the box to continue the track.
        max_gap: Frames a track may go unseen and still be continued (0: only
            from the previous frame).
        motion: ``constant_velocity`` predicts each track's box from its smoothed
            velocity; ``last_box`` uses the last seen box as is.
        use_oks: Match on OKS instead of IoU when keypoints in the COCO-17
            layout are given to :func:`~posetools.track.associate_tracks` (otherwise IoU is used).
        oks_threshold: Minimum OKS to continue a track when OKS is used.
        max_persons: Tracks kept by :func:`~posetools.track.select_main_tracks`, best first
            (0 = keep all).
        min_frames: Tracks seen in fewer frames are never kept.
        duration_exponent: Exponent of the duration term of the rank score.
        area_exponent: Exponent of the mean-area term of the rank score.
        centrality_exponent: Exponent of the centrality term of the rank score.
    """

    iou_threshold: float = 0.3
    max_gap: int = 10
    motion: Literal["constant_velocity", "last_box"] = "constant_velocity"
    use_oks: bool = False
    oks_threshold: float = 0.5
    max_persons: int = 1
    min_frames: int = 1
    duration_exponent: float = 1.0
    area_exponent: float = 1.0
    centrality_exponent: float = 1.0

    def __post_init__(self) -> None:
        require(0.0 <= self.iou_threshold <= 1.0, "iou_threshold: must be in [0, 1]")
        require(self.max_gap >= 0, "max_gap: must be >= 0")
        require(0.0 <= self.oks_threshold <= 1.0, "oks_threshold: must be in [0, 1]")
        require(self.max_persons >= 0, "max_persons: must be >= 0 (0 = keep all)")
        require(self.min_frames >= 1, "min_frames: must be >= 1")
        for f in ("duration_exponent", "area_exponent", "centrality_exponent"):
            require(getattr(self, f) >= 0.0, f"{f}: must be >= 0")


@dataclass(frozen=True)
class SSTAConfig:
    """Options of SST-A (defaults: the thesis).

    Attributes:
        gamma: Confidence threshold of the selective filter (eq. 3.3).
        confidence_joints: Joints entering the confidence: ``"all"`` or ``"limbs"``
            (off the head/face; COCO-17 joints 5-16).
        normalizer: ``"head_neck"`` (thesis) or ``"shoulder_width"`` (reference script).
        head: Head point for ``head_neck``: ``"face_centroid"`` (mean of the present
            nose/eyes/ears; default), ``"nose"`` or ``"head_joint"``.
        neck: Neck point: ``"mid_shoulders"`` (default) or ``"neck_joint"``.
        low_confidence: ``"invalid"`` (thesis: discard the pose, keep the row) or
            ``"zero_confidence"`` (reference script: keep the pose with C = 0).
        min_score: A joint scoring below this is not a candidate (a joint with
            score 0 or NaN coordinates never is).
        max_gap: Fill gaps of at most this many rows by linear interpolation (0 = off).
        layout: Common layout every expert is mapped to.
        match_metric: Similarity used to match each expert's instances to the
            reference tracks: ``"oks"`` (keypoint similarity) or ``"iou"`` (IoU of
            the keypoints' bounding boxes).
        match_threshold: Minimum similarity for a match.
    """

    gamma: float = 0.18
    confidence_joints: ConfidenceJoints = "all"
    normalizer: Normalizer = "head_neck"
    head: HeadDef = "face_centroid"
    neck: NeckDef = "mid_shoulders"
    low_confidence: LowConfidence = "invalid"
    min_score: float = 0.0
    max_gap: int = 0
    layout: str = "coco17"
    match_metric: MatchMetric = "oks"
    match_threshold: float = 0.3

    def __post_init__(self) -> None:
        require(0.0 <= self.gamma <= 1.0, "gamma: must be in [0, 1]")
        require(0.0 <= self.min_score <= 1.0, "min_score: must be in [0, 1]")
        require(self.max_gap >= 0, "max_gap: must be >= 0")
        require(0.0 <= self.match_threshold <= 1.0, "match_threshold: must be in [0, 1]")
        lay = _checked("layout", get_layout, self.layout)
        if self.normalizer == "head_neck":
            _checked("head", head_def, lay, self.head)
            _checked("neck", neck_def, lay, self.neck)
        else:
            _checked("normalizer", shoulders_def, lay)
        if self.confidence_joints == "limbs":
            require(limb_joints(lay).size > 0, f"confidence_joints: layout {lay.name} has no limbs")

    @classmethod
    def ssta_prs(cls, **overrides) -> SSTAConfig:
        """The public reference script's choices (SSTA-PRS ``tools/ssta.py``).

        Confidence over the limb joints (COCO-17 5-16), shoulder-width normalizer,
        ``gamma = 0.06``, low-confidence frames kept with confidence 0. Its bugs
        (last frame never aggregated, missing points treated as (0, 0)) are not
        reproduced. Keyword arguments override fields.
        """
        base = cls(gamma=0.06, confidence_joints="limbs", normalizer="shoulder_width",
                   low_confidence="zero_confidence")
        return replace(base, **overrides)


@dataclass(frozen=True)
class PoseNormConfig:
    """How skeletons are normalized.

    Attributes:
        layout: Skeleton layout of the keypoints (resolves head/torso joints).
        scale: ``"rms"`` | ``"max"`` | ``"torso"`` (see :mod:`posetools.normalize`).
        head: Head definition used for the rotation.
        rotate: Rotate so the head is straight above the center (False: angle 0).
        missing_head: When the head is undefined (or coincides with the center):
            ``"no_rotation"`` normalizes without rotating (angle 0);
            ``"invalid"`` leaves the skeleton un-normalized (NaN, not ok).
    """

    layout: str = "coco17"
    scale: ScaleDef = "rms"
    head: HeadDef = "face_centroid"
    rotate: bool = True
    missing_head: MissingHead = "no_rotation"

    def __post_init__(self) -> None:
        lay = _checked("layout", get_layout, self.layout)
        _checked("head", head_def, lay, self.head)
        if self.scale == "torso":
            _checked("scale", shoulders_def, lay)
            _checked("scale", hips_def, lay)


@dataclass(frozen=True)
class RefineConfig:
    """Options of the temporal refinement of each person track (outliers -> gaps -> smoothing).

    Lengths in *samples* count rows of the pose axis (with a frame stride of 5 one
    sample is 5 video frames); durations are in seconds and frequencies in Hz of real
    time (the frame axis ``pts``), so a setting means the same at 25 fps, 30 fps or
    every 5th frame. Sizes are fractions of the *person size* (median ``max(w, h)`` of
    the keypoint box over the track piece). Rules: ``docs/aggregation.md``.

    Attributes:
        outliers: ``"hampel"``: motion-compensated Hampel identifier on each joint's
            positions; ``"none"``: no Hampel test (the spike test is ``max_speed``).
        hampel_window_s: Hampel window in seconds: ``2 floor(w / (2 dt)) + 1`` samples
            (7 at 25 and 30 fps); the test is skipped when that is fewer than 5
            (a frame stride of 2 or more at 30 fps).
        hampel_sigmas: Hampel threshold in robust standard deviations (1.4826 MAD).
        hampel_min_dev: Deviations up to this fraction of the person size are never
            outliers (keeps a still, clean joint from being rejected for pixel noise).
        max_speed: Spike test: an interior sample reached and left faster than this
            many person sizes per second, in opposite directions, is rejected (0 = off).
        max_gap_s: Longest hole that gap repair fills and that a segment (the unit
            every filter runs on) may span, in seconds of missing samples: holes of up
            to ``floor(max_gap_s / dt)`` missing samples (4 frames at 30 fps, 3 at
            25 fps, none at every 5th frame of 30 fps; 0 = no filling).
        gap_method: ``"linear"`` or ``"pchip"`` (shape-preserving cubic) in time.
        filled_score_factor: A filled joint's score is its interpolated score times this.
        smoother: ``"none"``, ``"one_euro"`` (causal), ``"savgol"``, ``"butterworth"``
            (zero-phase) or ``"gaussian"``.
        cutoff_hz: Butterworth cutoff in Hz (amplitude gain 0.5 of the zero-phase filter).
        butter_order: Order of the zero-phase Butterworth response (even; the filter
            designed is half of it, run forward and backward).
        savgol_window_s: Savitzky-Golay window in seconds.
        savgol_polyorder: Savitzky-Golay polynomial degree.
        gaussian_sigma_s: Gaussian kernel sigma in seconds.
        one_euro_min_cutoff: One-Euro cutoff at rest, Hz.
        one_euro_beta: One-Euro cutoff increase per (person size / s) of speed.
        one_euro_d_cutoff: One-Euro cutoff of the speed estimate, Hz.
        min_segment: Segments with fewer samples are left unsmoothed (>= 2).
    """

    outliers: OutlierTest = "hampel"
    hampel_window_s: float = 0.25
    hampel_sigmas: float = 3.0
    hampel_min_dev: float = 0.1
    max_speed: float = 5.0
    max_gap_s: float = 0.15
    gap_method: GapMethod = "pchip"
    filled_score_factor: float = 0.5
    smoother: Smoother = "butterworth"
    cutoff_hz: float = 5.0
    butter_order: int = 4
    savgol_window_s: float = 0.3
    savgol_polyorder: int = 2
    gaussian_sigma_s: float = 0.04
    one_euro_min_cutoff: float = 1.0
    one_euro_beta: float = 1.0
    one_euro_d_cutoff: float = 1.0
    min_segment: int = 3

    def __post_init__(self) -> None:
        hints = get_type_hints(RefineConfig)
        for f in fields(self):  # Literal fields, also when built in Python (not from YAML)
            allowed = get_args(hints[f.name])
            if allowed and all(isinstance(a, str) for a in allowed):
                require(getattr(self, f.name) in allowed,
                        f"{f.name}: must be one of {', '.join(allowed)}")
        for f in ("hampel_window_s", "hampel_sigmas", "cutoff_hz", "savgol_window_s",
                  "gaussian_sigma_s", "one_euro_min_cutoff", "one_euro_d_cutoff"):
            require(getattr(self, f) > 0, f"{f}: must be > 0")
        for f in ("hampel_min_dev", "max_gap_s", "one_euro_beta"):
            require(getattr(self, f) >= 0, f"{f}: must be >= 0")
        require(self.max_speed >= 0, "max_speed: must be >= 0 (0 = off)")
        require(0.0 < self.filled_score_factor <= 1.0, "filled_score_factor: must be in (0, 1]")
        require(self.butter_order >= 2 and self.butter_order % 2 == 0,
                "butter_order: must be an even integer >= 2")
        require(self.savgol_polyorder >= 0, "savgol_polyorder: must be >= 0")
        require(self.min_segment >= 2, "min_segment: must be >= 2")
