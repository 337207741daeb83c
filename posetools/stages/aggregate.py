"""The ``aggregate``stage (placeholder until its issue lands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import ProgressFn, Stage, VideoJob


@dataclass(frozen=True)
class AggregateConfig:
    """Options of the ``aggregate`` stage."""


class AggregateStage(Stage):
    """The ``aggregate`` stage."""

    name = "aggregate"
    version = "0"

    def params(self) -> dict[str, Any]:
        """Semantic parameters."""
        return {}

    def process(self, job: VideoJob, out, progress: ProgressFn) -> dict[str, Any]:
        """Not implemented yet."""
        raise NotImplementedError("aggregate stage is not implemented yet")
