"""COCO-style keypoint JSON: one file per video, one ``image`` per frame.

COCO JSON is safe to read (no code runs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ShapeError
from ...skeletons import SkeletonLayout, get_layout
from ...skeletons.anatomy import present_mask
from ..files import atomic_write
from .sequence import PoseSequence, read_artifact


def to_coco_json(seq: PoseSequence, layout: SkeletonLayout | str) -> dict[str, Any]:
    """A COCO keypoint dataset dict with one image per frame and one annotation per person.

    Visible joints get ``v = 2``, missing ones ``x = y = v = 0``; per-joint
    scores are kept in ``keypoint_scores`` and the slot in ``track_id``; ``bbox``
    is the box of the visible joints.
    """
    layout = get_layout(layout) if isinstance(layout, str) else layout
    n_t, n_p, n_k = seq.scores.shape
    if n_k != layout.num_joints:
        raise ShapeError(f"keypoints have K={n_k}, layout {layout.name} has {layout.num_joints}")
    fi = seq.frame_index if seq.frame_index is not None else np.arange(n_t)
    ok = present_mask(seq.keypoints, seq.scores) & seq.valid[..., None]
    images, annos = [], []
    for t in range(n_t):
        image_id = t + 1
        images.append({"id": image_id, "file_name": f"{seq.video_id}/{int(fi[t]):06d}.jpg",
                       "width": seq.width, "height": seq.height, "frame_index": int(fi[t]),
                       "video_id": seq.video_id})
        for p in range(n_p):
            m = ok[t, p]
            if not m.any():
                continue
            xy = np.where(m[:, None], seq.keypoints[t, p], 0).astype(np.float64)
            flat = np.concatenate([xy, np.where(m, 2, 0)[:, None]], axis=1).ravel()
            lo, hi = xy[m].min(axis=0), xy[m].max(axis=0)
            wh = hi - lo
            annos.append({
                "id": len(annos) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                "keypoints": [round(float(v), 3) for v in flat],
                "num_keypoints": int(m.sum()),
                "keypoint_scores": [round(float(v), 5) for v in np.where(m, seq.scores[t, p], 0)],
                "score": float(seq.scores[t, p][m].mean()),
                "bbox": [float(lo[0]), float(lo[1]), float(wh[0]), float(wh[1])],
                "area": float(wh[0] * wh[1]), "track_id": p,
            })
    return {
        "info": {"description": f"posetools export of {seq.video_id}", "layout": layout.name},
        "images": images,
        "annotations": annos,
        "categories": [{"id": 1, "name": "person", "supercategory": "person",
                        "keypoints": list(layout.joints),
                        "skeleton": [[a + 1, b + 1] for a, b in layout.limbs]}],
    }


def export_coco_json(artifact: str | Path, dest: str | Path, *,
                     layout: SkeletonLayout | str | None = None) -> Path:
    """Write the COCO-style JSON of one ``aggregate``/``normalize`` artifact."""
    seq = read_artifact(artifact)
    dest = atomic_write(dest, json.dumps(to_coco_json(seq, layout or seq.layout or "")))
    return Path(dest)


def read_coco_json(path: str | Path, *, video_id: str | None = None) -> PoseSequence:
    """Read a COCO keypoint JSON as a :class:`PoseSequence` (one frame per image).

    Images are ordered by ``frame_index`` when present, else by id; persons fill
    slots in annotation order (``track_id`` when present). ``v = 0`` joints are
    missing; other joints get ``keypoint_scores`` when present, else 1.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    cats = data.get("categories") or [{}]
    n_k = len(cats[0].get("keypoints") or []) or None
    images = sorted(data["images"], key=lambda im: (im.get("frame_index", im["id"]), im["id"]))
    row = {im["id"]: t for t, im in enumerate(images)}
    per_image: dict[int, list[dict]] = {}
    for a in data.get("annotations", []):
        if a.get("image_id") in row and a.get("keypoints"):
            per_image.setdefault(row[a["image_id"]], []).append(a)
    if n_k is None:
        first = next(iter(per_image.values()), [{"keypoints": []}])[0]
        n_k = len(first["keypoints"]) // 3
    assign: dict[int, list[tuple[int, dict]]] = {}
    for t, annos in per_image.items():
        used: set[int] = set()
        for i, a in enumerate(annos):
            p = a["track_id"] if isinstance(a.get("track_id"), int) and a["track_id"] >= 0 else i
            while p in used:
                p += 1
            used.add(p)
            assign.setdefault(t, []).append((p, a))
    slots = max([p + 1 for pairs in assign.values() for p, _ in pairs], default=1)
    n_t = len(images)
    kp = np.full((n_t, slots, n_k, 2), np.nan, np.float32)
    sc = np.zeros((n_t, slots, n_k), np.float32)
    for t, pairs in assign.items():
        for p, a in pairs:
            arr = np.asarray(a["keypoints"], dtype=np.float64).reshape(-1, 3)
            if len(arr) != n_k:
                raise ShapeError(f"{path}: annotation {a.get('id')} has {len(arr)} joints, "
                                 f"expected {n_k}")
            vis = arr[:, 2] > 0
            s = np.asarray(a.get("keypoint_scores", np.ones(n_k)), dtype=np.float32)
            kp[t, p][vis] = arr[vis, :2]
            sc[t, p][vis] = np.where(s[vis] > 0, s[vis], 1.0)
    w = int(images[0].get("width", 0)) if images else 0
    h = int(images[0].get("height", 0)) if images else 0
    fi = np.array([im.get("frame_index", t) for t, im in enumerate(images)], dtype=np.int64)
    vid = video_id or (images[0].get("video_id") if images else None) or Path(path).stem
    return PoseSequence(str(vid), kp, sc, (sc > 0).any(axis=-1), w, h, frame_index=fi)
