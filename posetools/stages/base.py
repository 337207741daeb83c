"""The stage protocol: read the upstream artifact -> pure function -> write the artifact.

A stage declares its name, version, config section and the upstream stages it
reads; given one :class:`VideoJob` it writes its artifact into an open HDF5 file
handed to it by the runner (which owns atomic commit, fingerprints, the ledger
and parallelism). A stage receives only its own config section, plus the
``video`` section for the stages that decode frames. Stages never decide where
files go or whether work is up to date.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import h5py

from ..config.loader import semantic
from ..config.schema import PipelineConfig, VideoConfig
from ..experts.checksums import FileHash
from ..io.manifest import ManifestEntry

ProgressFn = Callable[[int], None]
"""Called with a number of frames just processed (for progress bars)."""


@dataclass(frozen=True)
class VideoJob:
    """Everything a stage needs to process one video.

    Attributes:
        entry: The manifest row.
        video_path: Absolute path of the video file.
        out: Output root folder.
        upstream: Committed artifact path of every stage this one reads, by stage name.
    """

    entry: ManifestEntry
    video_path: Path
    out: Path
    upstream: Mapping[str, Path] = field(default_factory=dict)

    @property
    def video_id(self) -> str:
        """Manifest id of the video."""
        return self.entry.video_id


class Stage(ABC):
    """Base class of every pipeline stage.

    Subclasses set ``name`` and ``version`` (bump the version whenever the output
    for the same inputs changes: it is part of the fingerprint) and implement
    :meth:`params` and :meth:`process`.

    Args:
        config: The stage's own section of the pipeline config.
        video: The ``video`` section (ingest options).
    """

    name: ClassVar[str]
    version: ClassVar[str]

    def __init__(self, config: Any, video: VideoConfig) -> None:
        self.config = config
        self.video = video

    @classmethod
    def from_pipeline(cls, pipeline: PipelineConfig) -> Stage:
        """The stage built from its section of ``pipeline``."""
        return cls(getattr(pipeline, cls.name), pipeline.video)

    def inputs(self) -> tuple[str, ...]:
        """Names of upstream stages whose committed artifacts this stage reads."""
        return ()

    def reads_video(self) -> bool:
        """Whether the video content is an input (then its hash enters the fingerprint)."""
        return False

    def params(self) -> dict[str, Any]:
        """Semantic parameters: everything that changes the output, nothing that doesn't.

        By default the stage's own section through :func:`posetools.config.loader.semantic`
        (fields declared ``runtime`` / ``weights`` never appear); the stages that decode
        frames add the ``video`` options they depend on.
        """
        return semantic(self.config)

    def extra_inputs(self, entry: ManifestEntry) -> list[Path]:
        """Files or folders besides the video whose contents the result depends on.

        The runner hashes them into the video's fingerprint (default: none).
        """
        return []

    uses_models: ClassVar[bool] = False
    """Whether the stage runs models (the executors may give it a GPU)."""

    def model_checksum(self, file_hash: FileHash | None = None) -> str:
        """Checksum(s) of the model weights used, or ``""``; never builds a model.

        Args:
            file_hash: sha256 of a weights file (the runner's persistent cache).
        """
        return ""

    @abstractmethod
    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Compute this stage for one video and write its artifact into ``out``.

        Args:
            job: The video and its upstream artifacts.
            out: Open writable HDF5 file (temp); provenance attrs are set by the runner.
            progress: Call with frame counts as they are processed.

        Returns:
            A small JSON-able summary recorded in the ledger (e.g. ``{"frames": 72}``).

        Raises:
            PosetoolsError: For any expected failure (bad input, expert failure).
        """
