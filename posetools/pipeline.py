"""The pipeline config (frozen dataclasses loaded from YAML) and the stage graph.

A pipeline YAML has one section per stage plus ``video`` (ingest) and ``stages``
(which stages ``posetools run`` executes, in order)::

    name: default
    stages: [probe, estimate, aggregate, normalize, heatmaps]
    video: {frame_stride: 1}
    estimate:
      experts:
        - {name: blazepose, backend: mediapipe}

Unknown keys and bad values are :class:`~posetools.errors.ConfigError` naming their
dotted path. Stage order is fixed by :data:`STAGE_ORDER`; the set of stages is a
plain tuple of classes, not a registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .config import from_dict, load_yaml, require, to_dict
from .errors import ConfigError
from .stages.aggregate import AggregateConfig, AggregateStage
from .stages.base import Stage
from .stages.detect import DetectConfig, DetectStage
from .stages.estimate import EstimateConfig, EstimateStage
from .stages.heatmaps import HeatmapsConfig, HeatmapsStage
from .stages.normalize import NormalizeConfig, NormalizeStage
from .stages.probe import ProbeConfig, ProbeStage

StageName = Literal["probe", "detect", "estimate", "aggregate", "normalize", "heatmaps"]

STAGE_CLASSES: tuple[type[Stage], ...] = (
    ProbeStage,
    DetectStage,
    EstimateStage,
    AggregateStage,
    NormalizeStage,
    HeatmapsStage,
)
STAGE_ORDER: tuple[str, ...] = tuple(c.name for c in STAGE_CLASSES)


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
    prefetch: int = 4

    def __post_init__(self) -> None:
        require(self.frame_stride >= 1, "frame_stride: must be >= 1")
        require(0 <= self.truncation_tolerance < 1, "truncation_tolerance: must be in [0, 1)")
        require(self.prefetch >= 0, "prefetch: must be >= 0")


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

    name: str = "pipeline"
    stages: tuple[StageName, ...] = ("probe",)
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


def stage_class(name: str) -> type[Stage]:
    """The stage class called ``name``."""
    for c in STAGE_CLASSES:
        if c.name == name:
            return c
    raise ConfigError(f"unknown stage {name!r} (stages: {', '.join(STAGE_ORDER)})")
