"""MMPose inferencer predictions (``MMPoseInferencer(...)(inputs, pred_out_dir=DIR)``).

* Video input: one file ``DIR/<video stem>.json``, a list with one entry per
  frame read, ``{"frame_id": i, "instances": [...]}`` (``i`` 0-based, every
  decoded frame, also those with nobody).
* Image inputs: one file per image ``DIR/<image stem>.json`` holding the list of
  instances (``[]`` for nobody); the frame number comes from the stem (default:
  its last run of digits; ``frame_pattern`` overrides it). Give the folder.
* Instance: ``keypoints [[x, y], ...]`` (pixels), ``keypoint_scores [s, ...]``,
  ``bbox [[x1, y1, x2, y2]]`` (a list holding one box), ``bbox_score``.
* Scores are the model's raw scores: heatmap models (HRNet, ViTPose...) give
  roughly [0, 1]; RTMPose/SimCC scores are unbounded (4-10): divide with
  ``score_scale`` (then clipped to [0, 1]). The instance score is ``bbox_score``
  (a detector probability) when present, else the mean joint score.
* The file does not name its joint layout: ``layout``, else from the joint count
  (17 ``coco17``, 26 ``halpe26``, 133 ``coco_wholebody133``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import FormatError
from .records import (
    PoseRecords,
    RecordBuilder,
    frame_from_name,
    load_json,
    map_scores,
    require_list,
    resolve_layout,
)


def read_mmpose_records(
    path: str | Path, *, layout: str | None = None, frame_pattern: str | None = None,
    frame_offset: int = 0, score_scale: float = 1.0,
) -> PoseRecords:
    """Read a video prediction file, or a folder of per-image prediction files.

    Raises:
        FormatError: Missing or malformed input.
    """
    path = Path(path)
    frames: list[tuple[int, list, str]] = []
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise FormatError(f"MMPose folder {path}: no .json file")
        for f in files:
            idx = frame_from_name(f.stem, frame_pattern, frame_offset, f"MMPose {f}")
            frames.append((idx, require_list(load_json(f, "MMPose"), f"MMPose {f}"), str(f)))
        rule = (f"file stem pattern {frame_pattern or 'last digits'}"
                + (f" {frame_offset:+d}" if frame_offset else ""))
        source = f"{path} ({len(files)} files)"
    else:
        where = f"MMPose {path}"
        for i, entry in enumerate(require_list(load_json(path, "MMPose predictions"), where)):
            if not isinstance(entry, dict) or "frame_id" not in entry:
                raise FormatError(f"{where}: entry {i} has no frame_id (a per-image file? "
                                  "give the folder of the per-image files)")
            frames.append((int(entry["frame_id"]) + frame_offset,
                           require_list(entry.get("instances", []), f"{where} entry {i}"),
                           f"{where} frame {entry['frame_id']}"))
        rule = "frame_id" + (f" {frame_offset:+d}" if frame_offset else "")
        source = f"{path} ({len(frames)} frames)"
    seen: set[int] = set()
    parsed = []
    for idx, instances, where in frames:
        if idx in seen:
            raise FormatError(f"{where}: frame {idx} listed twice")
        seen.add(idx)
        parsed.append((idx, [_instance(inst, f"{where} instance {i}")
                             for i, inst in enumerate(instances)]))
    counts = {len(xy) for _, insts in parsed for xy, _, _, _ in insts}
    if len(counts) > 1:
        raise FormatError(f"MMPose {path}: instances with different joint counts {sorted(counts)}")
    n_k = counts.pop() if counts else 17
    lay = resolve_layout(n_k, configured=layout, where=f"MMPose {path}")
    rec = RecordBuilder(n_k, source)
    for idx, insts in parsed:
        rec.frame(idx)
        for xy, s, box, bs in insts:
            rec.add(idx, xy, map_scores(s, score_scale), instance_score=bs, box=box)
    return rec.build(lay, rule)


def _instance(inst: Any, where: str):
    if not isinstance(inst, dict) or "keypoints" not in inst:
        raise FormatError(f"{where}: no keypoints")
    try:
        xy = np.asarray(inst["keypoints"], np.float64)[..., :2].reshape(-1, 2)
        s = np.asarray(inst.get("keypoint_scores", np.ones(len(xy))), np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: keypoints / keypoint_scores are not numbers") from None
    box = None
    if inst.get("bbox") is not None:
        b = np.asarray(inst["bbox"], np.float64).reshape(-1)
        box = b[:4].tolist() if b.size >= 4 else None
    bs = inst.get("bbox_score")
    bs = float(np.asarray(bs, np.float64).reshape(-1)[0]) if bs is not None else None
    return xy, s, box, bs


__all__ = ["read_mmpose_records"]
