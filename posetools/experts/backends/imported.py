"""``backend: import``: keypoints that other tools already produced, as a pose expert.

No model runs. For each video the path template (``path: /data/openpose/{video_id}/``)
is filled in and read by the format's reader in :mod:`posetools.io.formats`
(``coco``, ``coco_results``, ``mmpose``, ``openpose``, ``alphapose``, ``pyskl``);
every reader states the frame number of each record explicitly and maps scores to
[0, 1] as its module documents. The estimate stage then finalizes, tracks and stores
the instances like any expert's, so SST-A can fuse the outputs of tools a team
already ran (e.g. OpenPose and AlphaPose) with each other or with models run here.

A frame the file has no record of gets zero instances (nothing is invented); a
missing or malformed file fails that video with a :class:`~posetools.errors.FormatError`.
Files that hold several videos (a pyskl pickle, a merged COCO file) are read once
per process and kept while their size and modification time stay the same.

The fingerprint covers the import options (format, path template, frame and score
rules) and the contents of each video's files
(:meth:`~posetools.config.models.ExpertConfig.import_inputs`, hashed by the
runner): replacing a file makes the next run re-import that video.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ...config.loader import semantic
from ...config.models import ExpertConfig
from ...errors import FormatError, PosetoolsError
from ...io.formats.alphapose import read_alphapose_records
from ...io.formats.coco import read_coco_annotation_records, read_coco_result_records
from ...io.formats.mmpose import read_mmpose_records
from ...io.formats.openpose import read_openpose_records
from ...io.formats.pyskl import pyskl_records, read_pyskl
from ...io.formats.records import PoseRecords
from ...skeletons import get_layout
from ..types import Poses, SourcePoses


def options_checksum(cfg: ExpertConfig) -> str:
    """sha256 of the import options (the runner adds each video's file contents)."""
    blob = json.dumps(semantic(cfg), sort_keys=True).encode()
    return "import-" + hashlib.sha256(blob).hexdigest()[:16]


class ImportPoseSource:
    """Reads one format's files per video (a :class:`~posetools.experts.types.PoseSource`).

    Args:
        cfg: An expert config with ``backend: import`` (validated there).
    """

    top_down = False

    def __init__(self, cfg: ExpertConfig) -> None:
        if cfg.backend != "import" or cfg.format is None:
            raise FormatError(f"expert '{cfg.name}': not an import expert")
        self.cfg = cfg
        self.model_id = f"import:{cfg.format}:{cfg.path}"
        self._pickles: dict[tuple[str, int, int], dict[str, Any]] = {}

    def checksum(self) -> str:
        """:func:`options_checksum` of the config."""
        return options_checksum(self.cfg)

    def load(self, video_id: str) -> SourcePoses:
        """Read the video's file(s) and group the instances by frame."""
        rec = self.read_records(video_id)
        layout = get_layout(rec.layout)
        by_frame: dict[int, Poses] = {}
        if len(rec):
            cuts = np.flatnonzero(np.diff(rec.frame_index)) + 1
            for rows in np.split(np.arange(len(rec)), cuts):
                by_frame[int(rec.frame_index[rows[0]])] = Poses(
                    rec.keypoints[rows], rec.scores[rows], rec.boxes[rows],
                    rec.instance_scores[rows])
        return SourcePoses(layout, by_frame, rec.frames,
                           f"{self.cfg.format} {rec.source}; frames from {rec.frame_rule}")

    def read_records(self, video_id: str) -> PoseRecords:
        """The :class:`~posetools.io.formats.records.PoseRecords` of one video."""
        c = self.cfg
        path = c.import_inputs(video_id)[0]
        kw = dict(layout=c.layout, frame_pattern=c.frame_pattern, frame_offset=c.frame_offset,
                  score_scale=c.score_scale)
        if c.format == "coco":
            return read_coco_annotation_records(path, video_id=video_id, frame_from=c.frame_from,
                                                **kw)
        if c.format == "coco_results":
            ann = None if c.annotations is None else c.import_inputs(video_id)[1]
            return read_coco_result_records(path, annotations=ann, video_id=video_id,
                                            frame_from=c.frame_from, **kw)
        if c.format == "mmpose":
            return read_mmpose_records(path, **kw)
        if c.format == "openpose":
            return read_openpose_records(path, **kw)
        if c.format == "alphapose":
            return read_alphapose_records(path, **kw)
        return self._pyskl(path, video_id)

    def _pyskl(self, path: Path, video_id: str) -> PoseRecords:
        if not path.is_file():
            raise FormatError(f"pyskl pickle: no such file: {path}")
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key not in self._pickles:
            self._pickles.clear()
            try:
                seqs = read_pyskl(path, allow_pickle=self.cfg.allow_pickle)
            except PosetoolsError:
                raise
            except Exception as e:  # a damaged or foreign pickle can raise anything
                raise FormatError(f"pyskl pickle {path}: cannot be read: "
                                  f"{type(e).__name__}: {e}") from None
            self._pickles[key] = {s.video_id: s for s in seqs}
        seq = self._pickles[key].get(video_id)
        if seq is None:
            raise FormatError(f"pyskl pickle {path}: no annotation with frame_dir {video_id!r}")
        return pyskl_records(seq, layout=self.cfg.layout, frame_offset=self.cfg.frame_offset)


__all__ = ["ImportPoseSource"]
