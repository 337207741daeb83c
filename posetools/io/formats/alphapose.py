"""AlphaPose results JSON (``alphapose-results.json``, its default ``--format``).

A JSON list, one object per person per image::

    [{"image_id": "12.jpg", "category_id": 1, "keypoints": [x, y, c, ...],
      "score": 2.7, "box": [x, y, w, h], "idx": ...}, ...]

* Frame number: ``image_id`` is the image's base name; for a video input
  ``"<k>.jpg"`` with ``k`` the 0-based frame. Default rule: the last run of digits
  in its stem; ``frame_pattern`` overrides it; an integer ``image_id`` (``--eval``)
  is the frame itself. Frames where nothing was detected have **no record** (they
  get zero instances).
* Keypoint scores are confidences, in practice in [0, 1] (clipped after dividing
  by ``score_scale``); pose NMS writes ``1e-5`` for joints it zeroed, so scores
  ``<= 1e-5`` are missing. The person ``score`` (mean + box score + 1.25 max, up to
  ~3.25) is not a probability: the instance score is the mean joint score.
* Layouts by joint count: 17 ``coco17`` (default models), 26 ``halpe26``, 133
  ``coco_wholebody133``; ``layout`` overrides it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import FormatError
from .records import (
    PoseRecords,
    RecordBuilder,
    flat_triples,
    frame_from_name,
    load_json,
    map_scores,
    require_list,
    resolve_layout,
)

MISSING_SCORE = 1e-5
"""AlphaPose's pose NMS floor: scores at or below it are missing joints."""


def read_alphapose_records(
    path: str | Path, *, layout: str | None = None, frame_pattern: str | None = None,
    frame_offset: int = 0, score_scale: float = 1.0,
) -> PoseRecords:
    """Read an AlphaPose results file (see the module docstring).

    Raises:
        FormatError: Missing or malformed file, an ``image_id`` without a frame number.
    """
    path = Path(path)
    where = f"AlphaPose {path}"
    rows = require_list(load_json(path, "AlphaPose results"), where)
    parsed = []
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or "image_id" not in r or "keypoints" not in r:
            raise FormatError(f"{where}: record {i} lacks image_id or keypoints")
        iid = r["image_id"]
        if isinstance(iid, int) and not isinstance(iid, bool):
            idx = iid + frame_offset
        else:
            idx = frame_from_name(Path(str(iid)).stem if frame_pattern is None else str(iid),
                                  frame_pattern, frame_offset, f"{where} record {i}")
        parsed.append((idx, flat_triples(r["keypoints"], f"{where} record {i}"), r.get("box")))
    counts = {len(t) for _, t, _ in parsed}
    if len(counts) > 1:
        raise FormatError(f"{where}: records with different joint counts {sorted(counts)}")
    n_k = counts.pop() if counts else 17
    lay = resolve_layout(n_k, configured=layout, default="coco17", where=where)
    rec = RecordBuilder(n_k, f"{path} ({len(rows)} records)")
    for idx, t, box in parsed:
        s = map_scores(t[:, 2], score_scale)
        s = np.where(t[:, 2] <= MISSING_SCORE, 0.0, s)
        rec.add(idx, t[:, :2], s, box=_xywh(box))
    rule = (f"image_id pattern {frame_pattern or 'last digits'}"
            + (f" {frame_offset:+d}" if frame_offset else ""))
    return rec.build(lay, rule)


def _xywh(box) -> list[float] | None:
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError):
        return None
    return [x, y, x + w, y + h]


__all__ = ["read_alphapose_records", "MISSING_SCORE"]
