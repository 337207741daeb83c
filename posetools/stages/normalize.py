"""The ``normalize`` stage: canonical skeletons (§3.3.1 of the pose-contrastive method).

Reads ``aggregate/<vid>.h5`` and writes the same artifact with ``keypoints``
replaced by normalized coordinates (:func:`posetools.normalize.normalize_skeletons`)
plus the per-skeleton transform ``center (T,P,2)``, ``scale (T,P)``, ``angle (T,P)``
(radians) to invert it: ``pixels = center + scale * R(-angle) @ keypoints``. Only
valid aggregate poses are normalized; ``valid`` becomes ``valid & normalized``
(a pose whose scale or — with ``missing_head="invalid"`` — head is undefined is
not valid here). Layout: :class:`~posetools.io.artifacts.normalize.NormalizeArtifact`.
"""

from __future__ import annotations

import json
from typing import Any

import h5py

from ..config.schema import NormalizeConfig
from ..errors import StoreError
from ..io.artifacts.aggregate import AggregateArtifact
from ..io.artifacts.normalize import NormalizeArtifact
from ..normalize import normalize_skeletons
from .base import ProgressFn, Stage, VideoJob
from .common import upstream_file


class NormalizeStage(Stage):
    """Center, scale and rotate every aggregated skeleton, storing the inverse transform."""

    name = "normalize"
    version = "1"
    config: NormalizeConfig

    def inputs(self) -> tuple[str, ...]:
        """Reads the ``aggregate`` artifact."""
        return ("aggregate",)

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Normalize one video; see the module docstring."""
        cfg = self.config
        with upstream_file(job, "aggregate") as fh:
            agg = AggregateArtifact.read(fh, job.video_id)
            if agg.layout != cfg.layout:
                raise StoreError(
                    f"normalize.layout is {cfg.layout!r} but the aggregate is in {agg.layout!r}",
                    video_id=job.video_id, stage=self.name)
            present = agg.valid[..., None] & (agg.scores > 0)
            n = normalize_skeletons(agg.keypoints, present, cfg)
            ok = agg.valid & n.ok
            NormalizeArtifact.write_from(
                out, fh, keypoints=n.keypoints, center=n.center, scale=n.scale, angle=n.angle,
                valid=ok, normalize_json=json.dumps(self.params(), sort_keys=True))
        t = agg.frames.num_frames
        progress(t)
        return {"frames": t, "valid": int(ok.sum()),
                "unnormalizable": int((agg.valid & ~n.ok).sum())}
