"""The ``normalize``stage (placeholder until its issue lands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import ProgressFn, Stage, VideoJob


@dataclass(frozen=True)
class NormalizeConfig:
    """Options of the ``normalize`` stage."""


class NormalizeStage(Stage):
    """The ``normalize`` stage."""

    name = "normalize"
    version = "0"

    def params(self) -> dict[str, Any]:
        """Semantic parameters."""
        return {}

    def process(self, job: VideoJob, out, progress: ProgressFn) -> dict[str, Any]:
        """Not implemented yet."""
        raise NotImplementedError("normalize stage is not implemented yet")
