"""The ``normalize`` stage: canonical skeletons (paper 000, §3.3.1).

Reads ``aggregate/<vid>.h5`` and writes the same datasets with ``keypoints``
replaced by normalized coordinates (:func:`posetools.normalize.normalize_skeletons`)
plus the per-skeleton transform ``center (T,P,2)``, ``scale (T,P)``, ``angle (T,P)``
(radians) to invert it: ``pixels = center + scale * R(-angle) @ keypoints``. Only
valid aggregate poses are normalized; ``valid`` becomes ``valid & normalized``
(a pose whose scale or — with ``missing_head="invalid"`` — head is undefined is
not valid here). Layout: ``docs/formats.md`` ("normalize").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from ..config import to_dict
from ..errors import StoreError
from ..normalize import PoseNormConfig, normalize_skeletons
from .base import ProgressFn, Stage, VideoJob
from .common import upstream_file

_COPIED = ("frame_index", "pts", "scores", "source_expert", "confidence", "filled", "track_ids",
           "matched", "expert_ran", "joint_names")


@dataclass(frozen=True)
class NormalizeConfig(PoseNormConfig):
    """Options of the ``normalize`` stage (:class:`~posetools.normalize.PoseNormConfig`).

    ``layout`` must be the aggregate's layout (checked per video).
    """


class NormalizeStage(Stage):
    """Center, scale and rotate every aggregated skeleton, storing the inverse transform."""

    name = "normalize"
    version = "1"

    def inputs(self) -> tuple[str, ...]:
        """Reads the ``aggregate`` artifact."""
        return ("aggregate",)

    def params(self) -> dict[str, Any]:
        """The normalization options."""
        return to_dict(self.pipeline.normalize)

    def process(self, job: VideoJob, out: h5py.File, progress: ProgressFn) -> dict[str, Any]:
        """Normalize one video; see the module docstring."""
        cfg: NormalizeConfig = self.pipeline.normalize
        with upstream_file(job, "aggregate") as fh:
            try:
                kp = np.asarray(fh["keypoints"][...], dtype=np.float32)
                scores = np.asarray(fh["scores"][...], dtype=np.float32)
                valid = np.asarray(fh["valid"][...], dtype=bool)
                layout = fh.attrs["layout"]
            except KeyError as e:
                raise StoreError(f"aggregate artifact is malformed: missing {e}",
                                 video_id=job.video_id, stage=self.name) from None
            layout = layout.decode() if isinstance(layout, bytes) else str(layout)
            if layout != cfg.layout:
                raise StoreError(
                    f"normalize.layout is {cfg.layout!r} but the aggregate is in {layout!r}",
                    video_id=job.video_id, stage=self.name)
            for name in _COPIED:
                if name in fh:
                    fh.copy(fh[name], out, name=name)
            for a, v in fh.attrs.items():
                if a in ("stage", "stage_version", "fingerprint", "video_id", "posetools_version",
                         "params_json", "library_versions_json", "created_utc", "complete"):
                    continue  # the runner sets this artifact's own provenance
                out.attrs[a] = v
        present = valid[..., None] & (scores > 0)
        n = normalize_skeletons(kp, present, cfg)
        ok = valid & n.ok
        out.create_dataset("keypoints", data=n.keypoints)
        out.create_dataset("center", data=n.center)
        out.create_dataset("scale", data=n.scale)
        out.create_dataset("angle", data=n.angle)
        out.create_dataset("valid", data=ok)
        out.attrs["normalize_json"] = json.dumps(self.params(), sort_keys=True)
        t = kp.shape[0]
        progress(t)
        return {"frames": t, "valid": int(ok.sum()), "unnormalizable": int((valid & ~n.ok).sum())}
