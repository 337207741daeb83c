"""The ``detect``stage (placeholder until its issue lands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import ProgressFn, Stage, VideoJob


@dataclass(frozen=True)
class DetectConfig:
    """Options of the ``detect`` stage."""


class DetectStage(Stage):
    """The ``detect`` stage."""

    name = "detect"
    version = "0"

    def params(self) -> dict[str, Any]:
        """Semantic parameters."""
        return {}

    def process(self, job: VideoJob, out, progress: ProgressFn) -> dict[str, Any]:
        """Not implemented yet."""
        raise NotImplementedError("detect stage is not implemented yet")
