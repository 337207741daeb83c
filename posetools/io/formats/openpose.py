"""OpenPose ``--write_json`` output: one ``<name>_keypoints.json`` file per frame.

Layout of a file (OpenPose 1.x; 1.0 wrote ``pose_keypoints``)::

    {"version": 1.3, "people": [{"person_id": [-1],
                                 "pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...],
                                 "face_keypoints_2d": [...], ...}, ...]}

* The frame number is in the file name: for a video input ``<video stem>_<12
  digits>_keypoints.json`` (the capture position, 0-based; real positions under
  ``--frame_step``/``--frame_first``); for ``--image_dir`` the image stem. Default
  rule: the digits right before ``_keypoints.json``; ``frame_pattern`` overrides it.
  Multi-view files ``..._keypoints_1.json`` (views >= 1) are not read.
* A missing joint is ``0, 0, 0``; ``c`` is in [0, 1] and is the score.
  Coordinates must be pixels (OpenPose's default ``--keypoint_scale 0``).
* Frames with nobody have a file with ``"people": []``; every file is a frame.
* Layouts: ``openpose_body25`` (25 joints, the default model) or
  ``openpose_coco18`` (``--model_pose COCO``), told apart by the joint count.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...errors import FormatError
from .records import PoseRecords, RecordBuilder, flat_triples, load_json, map_scores, resolve_layout

DEFAULT_PATTERN = r"(\d+)_keypoints\.json$"


def read_openpose_records(
    folder: str | Path, *, layout: str | None = None, frame_pattern: str | None = None,
    frame_offset: int = 0, score_scale: float = 1.0,
) -> PoseRecords:
    """Read an OpenPose JSON folder (see the module docstring).

    Raises:
        FormatError: No such folder, no ``*_keypoints.json`` file, a name without a
            frame number, two files for one frame, or a malformed file.
    """
    folder = Path(folder)
    where = f"OpenPose folder {folder}"
    if not folder.is_dir():
        raise FormatError(f"{where}: no such folder")
    files = sorted(folder.glob("*_keypoints.json"))
    if not files:
        raise FormatError(f"{where}: no *_keypoints.json file")
    rx = re.compile(frame_pattern or DEFAULT_PATTERN)
    people_by_frame: dict[int, tuple[Path, list]] = {}
    for f in files:
        m = rx.search(f.name)
        if m is None:
            raise FormatError(f"{where}: no frame number in {f.name!r} "
                              f"(frame_pattern {rx.pattern!r} does not match)")
        idx = int(m.group(1)) + frame_offset
        if idx in people_by_frame:
            raise FormatError(f"{where}: {people_by_frame[idx][0].name} and {f.name} are both "
                              f"frame {idx}")
        data = load_json(f, "OpenPose")
        if not isinstance(data, dict) or not isinstance(data.get("people"), list):
            raise FormatError(f"OpenPose {f}: no 'people' list")
        people_by_frame[idx] = (f, data["people"])
    trips = {}
    for idx, (f, people) in people_by_frame.items():
        for i, person in enumerate(people):
            flat = person.get("pose_keypoints_2d", person.get("pose_keypoints")) \
                if isinstance(person, dict) else None
            if flat is None:
                raise FormatError(f"OpenPose {f}: person {i} has no pose_keypoints_2d")
            trips[(idx, i)] = flat_triples(flat, f"OpenPose {f} person {i}")
    counts = {len(t) for t in trips.values() if len(t)}
    if len(counts) > 1:
        raise FormatError(f"{where}: persons with different joint counts {sorted(counts)}")
    n_k = counts.pop() if counts else 25
    lay = resolve_layout(n_k, configured=layout, where=where)
    rec = RecordBuilder(n_k, f"{folder} ({len(files)} files)")
    for idx in people_by_frame:
        rec.frame(idx)
    for (idx, _), t in sorted(trips.items()):
        if not len(t):
            continue  # OpenPose writes an empty list for a person part it did not compute
        s = np.where((t[:, 0] == 0) & (t[:, 1] == 0), 0.0, map_scores(t[:, 2], score_scale))
        rec.add(idx, t[:, :2], s)
    rule = f"file name pattern {rx.pattern}" + (f" {frame_offset:+d}" if frame_offset else "")
    return rec.build(lay, rule)


__all__ = ["read_openpose_records", "DEFAULT_PATTERN"]
