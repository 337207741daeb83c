"""The ``heatmaps``stage (placeholder until its issue lands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import ProgressFn, Stage, VideoJob


@dataclass(frozen=True)
class HeatmapsConfig:
    """Options of the ``heatmaps`` stage."""


class HeatmapsStage(Stage):
    """The ``heatmaps`` stage."""

    name = "heatmaps"
    version = "0"

    def params(self) -> dict[str, Any]:
        """Semantic parameters."""
        return {}

    def process(self, job: VideoJob, out, progress: ProgressFn) -> dict[str, Any]:
        """Not implemented yet."""
        raise NotImplementedError("heatmaps stage is not implemented yet")
