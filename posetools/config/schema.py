"""The pipeline config: one frozen dataclass per stage section, loaded from YAML.

A pipeline YAML names the stages ``posetools run`` executes (required), the
``video`` ingest options, and one section per stage::

    name: default
    stages: [probe, estimate, aggregate, normalize, heatmaps]
    video: {frame_stride: 1}
    estimate:
      experts:
        - {name: blazepose, backend: mediapipe}

Unknown keys and bad values are :class:`~posetools.errors.ConfigError` naming their
dotted path. :data:`STAGE_ORDER` is the one declaration of the stage names and
their order. Each stage receives only its own section (plus ``video`` for the
stages that decode frames).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from ..errors import ConfigError
from .algorithms import PoseNormConfig, RefineConfig, SSTAConfig, TrackConfig
from .loader import from_dict, load_yaml, require, runtime, to_dict
from .models import DetectorConfig, ExpertConfig

StageName = Literal["probe", "detect", "estimate", "aggregate", "normalize", "heatmaps"]
STAGE_ORDER: tuple[str, ...] = get_args(StageName)
"""The stages in pipeline order (the only place they are listed)."""


@dataclass(frozen=True)
class VideoConfig:
    """Ingest options shared by every stage that decodes video.

    Attributes:
        frame_stride: Process every n-th frame (original indices are kept).
        truncation_tolerance: Fraction of the header frame count that may be
            missing at the end before the file counts as truncated.
        prefetch: Frames decoded ahead in a background thread (runtime knob).
    """

    frame_stride: int = 1
    truncation_tolerance: float = 0.02
    prefetch: int = runtime(4)

    def __post_init__(self) -> None:
        require(self.frame_stride >= 1, "frame_stride: must be >= 1")
        require(0 <= self.truncation_tolerance < 1, "truncation_tolerance: must be in [0, 1)")
        require(self.prefetch >= 0, "prefetch: must be >= 0")


@dataclass(frozen=True)
class ProbeConfig:
    """Options of the ``probe`` stage.

    Attributes:
        brightness: Also store per-frame mean luma (``mean_luma (T,) float32``),
            handy for spotting black or blank segments.
    """

    brightness: bool = True


@dataclass(frozen=True)
class DetectConfig:
    """Options of the ``detect`` stage.

    Attributes:
        detector: The person detector (backend, model, thresholds, runtime knobs).
    """

    detector: DetectorConfig = field(default_factory=DetectorConfig)


def _default_experts() -> tuple[ExpertConfig, ...]:
    return (ExpertConfig(name="blazepose", backend="mediapipe"),)


@dataclass(frozen=True)
class EstimateConfig:
    """Options of the ``estimate`` stage.

    Attributes:
        experts: The pose experts, each run once per video (at least one; unique
            names). Default: BlazePose via MediaPipe, single main person.
        track: Association across frames and main-person selection
            (``track.max_persons`` instances are kept per frame).
    """

    experts: tuple[ExpertConfig, ...] = field(default_factory=_default_experts)
    track: TrackConfig = field(default_factory=TrackConfig)

    def __post_init__(self) -> None:
        require(len(self.experts) >= 1, "experts: list at least one expert")
        names = [e.name for e in self.experts]
        dup = sorted({n for n in names if names.count(n) > 1})
        require(not dup, f"experts: duplicate expert name(s) {dup}")


@dataclass(frozen=True)
class AggregateConfig(SSTAConfig):
    """Options of the ``aggregate`` stage: SST-A, the reference expert, the refinement.

    Every :class:`~posetools.config.algorithms.SSTAConfig` field (defaults: the thesis).

    The reference script's choices are ``{gamma: 0.06, confidence_joints: limbs,
    normalizer: shoulder_width, low_confidence: zero_confidence}``.

    Attributes:
        reference_expert: Name of the expert whose instance slots define the
            tracks; ``None``: the one with the most instances (ties: first listed).
        refine: Temporal refinement of each track after SST-A
            (:class:`~posetools.config.algorithms.RefineConfig`; ``{}`` in YAML = its
            defaults); ``None``: off, the artifact holds SST-A's output only.
    """

    reference_expert: str | None = None
    refine: RefineConfig | None = None


@dataclass(frozen=True)
class NormalizeConfig(PoseNormConfig):
    """Options of the ``normalize`` stage (:class:`~posetools.normalize.PoseNormConfig`).

    ``layout`` must be the aggregate's layout (checked per video).
    """


@dataclass(frozen=True)
class HeatmapsConfig:
    """Options of the ``heatmaps`` stage.

    Presets: ``size: 56, sigma: 0.6`` or ``size: 64, sigma: 0.6`` (PoseC3D,
    joints), ``size: 112, sigma: 1.2`` (PeVL), ``size: 30, sigma: 1.0, limbs:
    true`` (LA2DS alignment, joints + limbs). For inputs identical to what
    mmaction2 computes (released PoseC3D checkpoints): ``style: mmaction2,
    dtype: float32`` (and ``limb_set: mmaction2`` for limb models).

    Attributes:
        size: Heatmap side ``S`` in pixels.
        sigma: Gaussian sigma in heatmap pixels.
        style: ``posetools``: maps exactly 0 beyond 3 sigma (discs, capsules), float
            crop box; ``mmaction2``: mmaction2 1.2.0's ``PoseCompact`` integer crop,
            ``Resize``, ``CenterCrop`` and ``GeneratePoseTarget`` windows, bit for bit
            (``docs/interop.md``).
        joints: Emit one channel per joint.
        limbs: Emit one channel per limb (after the joint channels).
        limb_set: Which limbs of the layout: ``default`` (the layout's own, for
            COCO-17 the 19 official COCO edges) or ``mmaction2`` (the 17 edges of
            mmaction2's limb models, in their channel order).
        limb_pairs: An explicit limb list ``[[a, b], ...]`` (joint indices, start
            first; must be closed under left/right mirroring) instead of ``limb_set``.
        use_score: Scale each Gaussian by the keypoint score (else by 1).
        min_score: Joints scoring below this are missing (mmaction2's ``eps``).
        padding: The crop is the union keypoint box scaled by this factor
            (mmaction2's ``1 + padding``).
        square: Widen the crop to a square (keeps the aspect ratio; ``hw_ratio=1``).
        min_crop_size: Below this box side (source pixels) the full frame is used
            (mmaction2's ``threshold``).
        dtype: Stored heatmap dtype.
        chunk_frames: Frames per HDF5 chunk (storage only; not in the fingerprint).
        compression_level: zstd level 1-22, 0 for no compression (storage only).
    """

    size: int = 56
    sigma: float = 0.6
    style: Literal["posetools", "mmaction2"] = "posetools"
    joints: bool = True
    limbs: bool = False
    limb_set: Literal["default", "mmaction2"] = "default"
    limb_pairs: tuple[tuple[int, int], ...] | None = None
    use_score: bool = True
    min_score: float = 1e-4
    padding: float = 1.25
    square: bool = True
    min_crop_size: float = 10.0
    dtype: Literal["float16", "float32"] = "float16"
    chunk_frames: int = runtime(4)  # storage only
    compression_level: int = runtime(3)  # storage only

    def __post_init__(self) -> None:
        require(2 <= self.size <= 1024, "size: must be in [2, 1024]")
        require(self.sigma > 0, "sigma: must be > 0")
        require(self.joints or self.limbs, "joints: at least one of joints, limbs must be true")
        if self.limb_pairs is not None:
            require(self.limbs, "limb_pairs: set limbs: true to render limb channels")
            require(self.limb_set == "default", "limb_pairs: give either limb_set or limb_pairs")
            require(len(self.limb_pairs) > 0, "limb_pairs: list at least one limb")
            require(all(isinstance(p, tuple) and len(p) == 2 and all(
                isinstance(v, int) and v >= 0 for v in p) for p in self.limb_pairs),
                "limb_pairs: each limb is a pair of joint indices [a, b]")
        require(self.limb_set == "default" or self.limbs,
                "limb_set: set limbs: true to render limb channels")
        require(0 <= self.min_score < 1, "min_score: must be in [0, 1)")
        require(self.padding >= 1, "padding: must be >= 1")
        require(self.min_crop_size >= 0, "min_crop_size: must be >= 0")
        require(self.chunk_frames >= 1, "chunk_frames: must be >= 1")
        require(0 <= self.compression_level <= 22, "compression_level: must be in [0, 22]")


    def limb_spec(self) -> bool | str | tuple[tuple[int, int], ...]:
        """What to pass as ``limbs`` to :func:`posetools.heatmaps.resolve_limbs`."""
        if not self.limbs:
            return False
        return self.limb_pairs if self.limb_pairs is not None else self.limb_set


@dataclass(frozen=True)
class PipelineConfig:
    """A whole pipeline.

    Attributes:
        name: Free-form name (not part of any fingerprint).
        stages: Stages ``posetools run`` executes, in :data:`STAGE_ORDER` order.
        video: Ingest options.
        probe: ``probe`` stage options.
        detect: ``detect`` stage options.
        estimate: ``estimate`` stage options.
        aggregate: ``aggregate`` stage options.
        normalize: ``normalize`` stage options.
        heatmaps: ``heatmaps`` stage options.
    """

    stages: tuple[StageName, ...]
    name: str = "pipeline"
    video: VideoConfig = field(default_factory=VideoConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    detect: DetectConfig = field(default_factory=DetectConfig)
    estimate: EstimateConfig = field(default_factory=EstimateConfig)
    aggregate: AggregateConfig = field(default_factory=AggregateConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    heatmaps: HeatmapsConfig = field(default_factory=HeatmapsConfig)

    def __post_init__(self) -> None:
        require(len(self.stages) > 0, "stages: must list at least one stage")
        require(len(set(self.stages)) == len(self.stages), "stages: listed twice")
        order = [STAGE_ORDER.index(s) for s in self.stages]
        require(order == sorted(order), f"stages: must follow the order {list(STAGE_ORDER)}")

    def to_dict(self) -> dict:
        """Plain-data form (what YAML would contain)."""
        return to_dict(self)


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Load and validate a pipeline YAML file.

    Raises:
        ConfigError: Naming the offending key path.
    """
    data = load_yaml(path)
    try:
        return from_dict(PipelineConfig, data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e.message}") from None
