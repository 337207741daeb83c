"""The ``estimate``stage (placeholder until its issue lands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import ProgressFn, Stage, VideoJob


@dataclass(frozen=True)
class EstimateConfig:
    """Options of the ``estimate`` stage."""


class EstimateStage(Stage):
    """The ``estimate`` stage."""

    name = "estimate"
    version = "0"

    def params(self) -> dict[str, Any]:
        """Semantic parameters."""
        return {}

    def process(self, job: VideoJob, out, progress: ProgressFn) -> dict[str, Any]:
        """Not implemented yet."""
        raise NotImplementedError("estimate stage is not implemented yet")
