"""COCO keypoint JSON: annotation files (written and read) and results files (read).

Export (:func:`export_coco`): one ``image`` per frame with ``frame_index`` and
``video_id``, one ``annotation`` per person; image and annotation ids run on across
the videos of one export, so the per-video files can be merged (or are written
merged, one file). Import:

* :func:`read_coco_json` -- an annotation file as a dense :class:`PoseSequence`
  (the round trip of the export);
* :func:`read_coco_annotation_records` -- an annotation file as per-frame
  :class:`~.records.PoseRecords` (``backend: import, format: coco``);
* :func:`read_coco_result_records` -- a results file ``[{image_id, category_id,
  keypoints, score}]`` (``format: coco_results``), frames from the annotation file
  it refers to, or from ``image_id`` itself.

COCO JSON is safe to read (no code runs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ...errors import FormatError, ShapeError
from ...skeletons import SkeletonLayout, get_layout
from ...skeletons.anatomy import present_mask
from ..files import atomic_write
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
from .sequence import PoseSequence, read_artifact

FrameFrom = Literal["auto", "name", "image_id"]


def to_coco_json(seq: PoseSequence, layout: SkeletonLayout | str, *, first_image_id: int = 1,
                 first_annotation_id: int = 1) -> dict[str, Any]:
    """A COCO keypoint dataset dict with one image per frame and one annotation per person.

    Visible joints get ``v = 2``, missing ones ``x = y = v = 0``; coordinates are
    rounded to 3 decimals, per-joint scores (``keypoint_scores``) to 5; the slot is
    ``track_id``; ``bbox`` is the box of the visible joints. Images carry
    ``frame_index`` and ``video_id``.

    Args:
        seq: The keypoints.
        layout: Their layout.
        first_image_id: Id of the first image (ids are consecutive).
        first_annotation_id: Id of the first annotation.
    """
    layout = get_layout(layout) if isinstance(layout, str) else layout
    n_t, n_p, n_k = seq.scores.shape
    if n_k != layout.num_joints:
        raise ShapeError(f"keypoints have K={n_k}, layout {layout.name} has {layout.num_joints}")
    fi = seq.frame_index if seq.frame_index is not None else np.arange(n_t)
    ok = present_mask(seq.keypoints, seq.scores) & seq.valid[..., None]
    images, annos = [], []
    for t in range(n_t):
        image_id = first_image_id + t
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
                "id": first_annotation_id + len(annos), "image_id": image_id, "category_id": 1,
                "iscrowd": 0, "keypoints": [round(float(v), 3) for v in flat],
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


def export_coco(artifacts: Sequence[str | Path], dest: str | Path, *, merge: bool = False,
                layout: str | None = None) -> dict[str, Any]:
    """Write COCO keypoint JSON for ``aggregate`` / ``normalize`` artifacts.

    Image and annotation ids are unique across all the videos of the call (in the
    order given), so the files can be merged by concatenating their lists.

    Args:
        artifacts: Artifact files (one per video).
        dest: A folder (``<video_id>.json`` per video) or, with ``merge``, the file.
        merge: Write one file with every video.
        layout: Layout override (default: each artifact's).

    Returns:
        Summary ``{"videos", "images", "annotations", "files"}``.
    """
    image_id, anno_id = 1, 1
    merged: dict[str, Any] | None = None
    files = []
    for art in artifacts:
        seq = read_artifact(art)
        data = to_coco_json(seq, layout or seq.layout or "", first_image_id=image_id,
                            first_annotation_id=anno_id)
        image_id += len(data["images"])
        anno_id += len(data["annotations"])
        if not merge:
            files.append(str(atomic_write(Path(dest) / f"{seq.video_id}.json", json.dumps(data))))
        elif merged is None:
            merged = data
            merged["info"]["description"] = "posetools export"
        else:
            if data["categories"] != merged["categories"]:
                raise FormatError(f"{art}: layout differs from the first video's: cannot merge")
            merged["images"] += data["images"]
            merged["annotations"] += data["annotations"]
    if merge and merged is not None:
        files.append(str(atomic_write(dest, json.dumps(merged))))
    return {"videos": len(artifacts), "images": image_id - 1, "annotations": anno_id - 1,
            "files": files}


def export_coco_json(artifact: str | Path, dest: str | Path, *,
                     layout: SkeletonLayout | str | None = None) -> Path:
    """Write the COCO-style JSON of one ``aggregate``/``normalize`` artifact (ids from 1)."""
    seq = read_artifact(artifact)
    dest = atomic_write(dest, json.dumps(to_coco_json(seq, layout or seq.layout or "")))
    return Path(dest)


def _video_images(data: dict[str, Any], video_id: str | None, where: str) -> list[dict]:
    """The images of one video (those with its ``video_id``, or all when none has one)."""
    try:
        images = [im for im in require_list(data["images"], where) if isinstance(im, dict)]
    except (KeyError, TypeError):
        raise FormatError(f"{where}: not a COCO annotation file (no 'images')") from None
    if video_id is not None and any("video_id" in im for im in images):
        images = [im for im in images if str(im.get("video_id")) == video_id]
    return images


def read_coco_json(path: str | Path, *, video_id: str | None = None) -> PoseSequence:
    """Read a COCO keypoint JSON as a :class:`PoseSequence` (one frame per image).

    With ``video_id`` and images that carry ``video_id`` (a merged export), only
    that video's images. Images are ordered by ``frame_index`` when present, else by
    id; persons fill slots in annotation order (``track_id`` when present). ``v = 0``
    joints are missing; other joints get ``keypoint_scores`` when present, else 1.
    """
    path = Path(path)
    data = load_json(path, "COCO annotations")
    cats = data.get("categories") or [{}]
    n_k = len(cats[0].get("keypoints") or []) or None
    images = sorted(_video_images(data, video_id, str(path)),
                    key=lambda im: (im.get("frame_index", im["id"]), im["id"]))
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
    vid = video_id or (images[0].get("video_id") if images else None) or path.stem
    layout = (data.get("info") or {}).get("layout")
    return PoseSequence(str(vid), kp, sc, (sc > 0).any(axis=-1), w, h, frame_index=fi,
                        layout=layout if isinstance(layout, str) else None)


def image_frames(images: list[dict], *, frame_from: FrameFrom, pattern: str | None,
                 offset: int, where: str) -> tuple[dict[Any, int], str]:
    """``image id -> frame number`` for COCO images, and the rule used.

    ``auto``: the image's ``frame_index``, else ``frame_id`` (PoseTrack), else
    ``frame_pattern`` on ``file_name``; ``name``: always the pattern; ``image_id``:
    the id itself. ``frame_offset`` is added in every case.
    """
    out: dict[Any, int] = {}
    rules = set()
    for im in images:
        if "id" not in im:
            raise FormatError(f"{where}: an image has no 'id'")
        if frame_from == "image_id":
            out[im["id"]], rule = int(im["id"]) + offset, "image_id"
        elif frame_from == "auto" and "frame_index" in im:
            out[im["id"]], rule = int(im["frame_index"]) + offset, "images[].frame_index"
        elif frame_from == "auto" and "frame_id" in im:
            out[im["id"]], rule = int(im["frame_id"]) + offset, "images[].frame_id"
        else:
            name = Path(str(im.get("file_name", ""))).stem
            out[im["id"]] = frame_from_name(name, pattern, offset, f"{where} image {im['id']}")
            rule = f"images[].file_name pattern {pattern or 'last digits'}"
        rules.add(rule)
    seen: dict[int, Any] = {}
    for iid, f in out.items():
        if f in seen:
            raise FormatError(f"{where}: images {seen[f]} and {iid} both map to frame {f}")
        seen[f] = iid
    desc = " / ".join(sorted(rules)) or "no images"
    return out, desc + (f" {offset:+d}" if offset else "")


def _joint_names(data: dict[str, Any]) -> tuple[str, ...]:
    cats = data.get("categories") or []
    return tuple(cats[0].get("keypoints") or ()) if cats and isinstance(cats[0], dict) else ()


def read_coco_annotation_records(
    path: str | Path, *, video_id: str | None = None, layout: str | None = None,
    frame_from: FrameFrom = "auto", frame_pattern: str | None = None, frame_offset: int = 0,
    score_scale: float = 1.0,
) -> PoseRecords:
    """Per-frame instances of a COCO annotation file (``format: coco``).

    Scores: ``keypoint_scores`` when present (divided by ``score_scale``, clipped),
    else 1 for ``v > 0``; ``v = 0`` joints are missing; ``iscrowd`` annotations are
    skipped. Instance score: the annotation's ``score`` when present, else the mean
    of its joint scores; box: ``bbox`` (xywh).
    """
    path = Path(path)
    where = f"COCO annotations {path}"
    data = load_json(path, "COCO annotations")
    if not isinstance(data, dict):
        raise FormatError(f"{where}: expected a JSON object with 'images' and 'annotations'")
    images = _video_images(data, video_id, where)
    frames, rule = image_frames(images, frame_from=frame_from, pattern=frame_pattern,
                                offset=frame_offset, where=where)
    annos = [a for a in require_list(data.get("annotations", []), where)
             if isinstance(a, dict) and a.get("image_id") in frames and a.get("keypoints")
             and not a.get("iscrowd")]
    names = _joint_names(data)
    n_k = len(names) or (len(annos[0]["keypoints"]) // 3 if annos else 17)
    lay = resolve_layout(n_k, configured=layout, joint_names=names, where=where)
    rec = RecordBuilder(n_k, f"{path} ({len(images)} images)")
    for f in frames.values():
        rec.frame(f)
    for a in annos:
        trip = flat_triples(a["keypoints"], f"{where} annotation {a.get('id')}")
        if "keypoint_scores" in a:
            s = np.where(trip[:, 2] > 0, map_scores(a["keypoint_scores"], score_scale), 0.0)
        else:
            s = (trip[:, 2] > 0).astype(np.float64)
        rec.add(frames[a["image_id"]], trip[:, :2], s,
                instance_score=_score(a.get("score")), box=_xywh(a.get("bbox")))
    return rec.build(lay, rule)


def read_coco_result_records(
    path: str | Path, *, annotations: str | Path | None = None, video_id: str | None = None,
    layout: str | None = None, frame_from: FrameFrom = "auto", frame_pattern: str | None = None,
    frame_offset: int = 0, score_scale: float = 1.0,
) -> PoseRecords:
    """Per-frame instances of a COCO keypoint *results* file (``format: coco_results``).

    ``image_id`` is mapped to a frame through ``annotations`` (its ``images``, by
    :func:`image_frames`) or, with ``frame_from="image_id"``, taken as the frame.
    The third value of each joint: when every one in the file is 0, 1 or 2 it is a
    visibility (``v > 0``: score 1); otherwise a score, divided by ``score_scale``
    and clipped. ``x = y = s = 0`` is missing. Instance score: mean joint score
    (results ``score`` is a ranking value, not bounded for SimCC models).
    """
    path = Path(path)
    where = f"COCO results {path}"
    results = require_list(load_json(path, "COCO results"), where)
    if annotations is not None:
        gt = load_json(Path(annotations), "COCO annotations")
        if not isinstance(gt, dict):
            raise FormatError(f"COCO annotations {annotations}: expected a JSON object")
        images = _video_images(gt, video_id, f"COCO annotations {annotations}")
        frames, rule = image_frames(images, frame_from=frame_from, pattern=frame_pattern,
                                    offset=frame_offset, where=f"COCO annotations {annotations}")
        names = _joint_names(gt)
    elif frame_from == "image_id":
        frames = {r.get("image_id"): int(r["image_id"]) + frame_offset for r in results
                  if isinstance(r, dict) and isinstance(r.get("image_id"), int)}
        rule, names = "image_id" + (f" {frame_offset:+d}" if frame_offset else ""), ()
    else:
        raise FormatError(f"{where}: results hold image ids, not frames: give the annotation "
                          "file (annotations:) or frame_from: image_id")
    rows = [r for r in results if isinstance(r, dict) and r.get("image_id") in frames
            and r.get("category_id", 1) == 1 and r.get("keypoints")]
    trips = [flat_triples(r["keypoints"], f"{where} image {r['image_id']}") for r in rows]
    n_k = len(names) or (len(trips[0]) if trips else 17)
    lay = resolve_layout(n_k, configured=layout, joint_names=names, where=where)
    third = np.concatenate([t[:, 2] for t in trips]) if trips else np.zeros(0)
    visibility = bool(np.isin(third, (0.0, 1.0, 2.0)).all())
    rec = RecordBuilder(n_k, f"{path} ({len(rows)} results)")
    for f in frames.values():
        rec.frame(f)
    for r, t in zip(rows, trips, strict=True):
        s = (t[:, 2] > 0).astype(np.float64) if visibility else map_scores(t[:, 2], score_scale)
        s = np.where((t[:, 0] == 0) & (t[:, 1] == 0) & (t[:, 2] == 0), 0.0, s)
        rec.add(frames[r["image_id"]], t[:, :2], s, box=_xywh(r.get("bbox")))
    return rec.build(lay, rule + ("; third value = visibility" if visibility else ""))


def _xywh(bbox: Any) -> list[float] | None:
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        return None
    return [x, y, x + w, y + h]


def _score(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
