"""The pipeline stages, each ``read upstream artifact -> pure function -> write artifact``.

:data:`STAGES` holds the stage classes in pipeline order; their names are
:data:`posetools.config.schema.STAGE_ORDER` (a test keeps the two in step).
"""

from __future__ import annotations

from ..config.schema import STAGE_ORDER, PipelineConfig
from ..errors import ConfigError
from .aggregate import AggregateStage
from .base import Stage, VideoJob
from .detect import DetectStage
from .estimate import EstimateStage
from .heatmaps import HeatmapsStage
from .normalize import NormalizeStage
from .probe import ProbeStage

STAGES: tuple[type[Stage], ...] = (
    ProbeStage, DetectStage, EstimateStage, AggregateStage, NormalizeStage, HeatmapsStage,
)
"""Every stage class, in pipeline order."""


def stage_class(name: str) -> type[Stage]:
    """The stage class called ``name``.

    Raises:
        ConfigError: Unknown name.
    """
    for c in STAGES:
        if c.name == name:
            return c
    raise ConfigError(f"unknown stage {name!r} (stages: {', '.join(STAGE_ORDER)})")


def build_stage(name: str, pipeline: PipelineConfig) -> Stage:
    """The stage ``name`` built from its section of ``pipeline`` (and ``video``)."""
    return stage_class(name).from_pipeline(pipeline)


__all__ = ["STAGES", "Stage", "VideoJob", "stage_class", "build_stage"]
