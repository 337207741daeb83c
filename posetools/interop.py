"""Exchange keypoints with other toolkits.

* **mmaction2 / pyskl annotation pickle** (PoseC3D, ST-GCN++ train on it
  directly)::

      {"split": {"train": [frame_dir, ...], ...},
       "annotations": [{"frame_dir", "label", "img_shape", "original_shape",
                        "total_frames", "keypoint" (M, T, V, 2) float32,
                        "keypoint_score" (M, T, V) float32}, ...]}

  ``frame_dir`` is the video id; missing joints are written as coordinates 0
  with score 0 (their convention); ``M`` counts the person slots that are valid
  in at least one frame (a video with nobody gets ``M = 0``: no pose is
  invented). String labels become ids in sorted order, listed under the extra
  top-level key ``label_names``. Videos without a split go under ``"unsplit"``.
* **COCO-style JSON**, one file per video, one ``image`` per frame.

Reading a pickle is opt-in (``allow_pickle=True``): unpickling can run arbitrary
code, so only load files you trust. COCO JSON is safe to read.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .errors import PosetoolsError, ShapeError, StoreError
from .manifest import ManifestEntry
from .skeletons import SkeletonLayout, get_layout
from .store import artifact_path


@dataclass
class PoseSequence:
    """One video's keypoints in posetools conventions.

    Attributes:
        video_id: Id (pyskl ``frame_dir``).
        keypoints: ``(T, P, K, 2) float32``, NaN for missing.
        scores: ``(T, P, K) float32``, 0 for missing.
        valid: ``(T, P) bool`` person slot present in the frame.
        width: Frame width (0 if unknown).
        height: Frame height (0 if unknown).
        label: Class id or name, or ``None``.
        split: Split name, or ``None``.
        frame_index: ``(T,) int64`` original frame numbers.
    """

    video_id: str
    keypoints: np.ndarray
    scores: np.ndarray
    valid: np.ndarray
    width: int = 0
    height: int = 0
    label: int | str | None = None
    split: str | None = None
    frame_index: np.ndarray | None = None


def read_artifact(path: str | Path, video_id: str | None = None) -> PoseSequence:
    """Load the keypoints of an ``aggregate`` / ``normalize`` / ``heatmaps`` artifact.

    (``heatmaps`` keypoints are in heatmap-grid pixels.)
    """
    path = Path(path)
    try:
        with h5py.File(path, "r") as fh:
            kp = fh["keypoints"][...].astype(np.float32)
            sc = fh["scores"][...].astype(np.float32)
            valid = fh["valid"][...].astype(bool)
            fi = fh["frame_index"][...].astype(np.int64)
            w, h = int(fh.attrs.get("width", 0)), int(fh.attrs.get("height", 0))
    except (OSError, KeyError) as e:
        raise StoreError(f"{path}: cannot read keypoints: {e}") from None
    return PoseSequence(video_id or path.stem, kp, sc, valid, w, h, frame_index=fi)


# ------------------------------------------------------------------ pyskl pickle
def to_pyskl_annotation(seq: PoseSequence, label: int = -1) -> dict[str, Any]:
    """One pyskl/mmaction2 annotation dict from a :class:`PoseSequence`."""
    n_t, n_p, n_k = seq.scores.shape
    present = seq.valid & np.isfinite(seq.keypoints).all(-1).any(-1)  # (T, P)
    slots = np.flatnonzero(present.any(axis=0))
    ok = np.isfinite(seq.keypoints).all(-1) & (seq.scores > 0) & seq.valid[..., None]
    kp = np.where(ok[..., None], seq.keypoints, 0).astype(np.float32)
    sc = np.where(ok, seq.scores, 0).astype(np.float32)
    return {
        "frame_dir": seq.video_id,
        "label": int(label),
        "img_shape": (seq.height, seq.width),
        "original_shape": (seq.height, seq.width),
        "total_frames": int(n_t),
        "keypoint": np.ascontiguousarray(kp[:, slots].transpose(1, 0, 2, 3)),
        "keypoint_score": np.ascontiguousarray(sc[:, slots].transpose(1, 0, 2)),
    }


def export_pyskl(
    out: str | Path,
    entries: Sequence[ManifestEntry],
    dest: str | Path,
    *,
    source: str = "aggregate",
    label_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Write the pyskl/mmaction2 annotation pickle of an output folder.

    Args:
        out: Output folder ``OUT``.
        entries: Manifest entries (split, label); videos without an artifact are skipped.
        dest: Pickle path to write.
        source: Stage whose keypoints to export (``aggregate``; ``normalize``
            exports normalized coordinates).
        label_names: Class names in id order for string labels (default: sorted).

    Returns:
        Summary: ``{"videos", "skipped", "label_names", "path"}``.
    """
    labels = [e.label for e in entries if e.label is not None]
    if label_names is None and any(isinstance(lb, str) for lb in labels):
        label_names = sorted({str(lb) for lb in labels})
    annotations, skipped = [], []
    split: dict[str, list[str]] = {}
    for e in entries:
        path = artifact_path(out, source, e.video_id)
        if not path.is_file():
            skipped.append(e.video_id)
            continue
        seq = read_artifact(path, e.video_id)
        if e.label is None:
            lab = -1
        elif label_names is not None:
            if str(e.label) not in label_names:
                raise PosetoolsError(f"label {e.label!r} is not in label_names",
                                     video_id=e.video_id)
            lab = list(label_names).index(str(e.label))
        else:
            lab = int(e.label)
        annotations.append(to_pyskl_annotation(seq, lab))
        split.setdefault(e.split or "unsplit", []).append(e.video_id)
    data: dict[str, Any] = {"split": split, "annotations": annotations}
    if label_names is not None:
        data["label_names"] = list(label_names)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(data, fh, protocol=4)
    tmp.replace(dest)
    return {"videos": len(annotations), "skipped": skipped,
            "label_names": None if label_names is None else list(label_names), "path": str(dest)}


def read_pyskl(path: str | Path, *, allow_pickle: bool = False) -> list[PoseSequence]:
    """Read a pyskl/mmaction2 annotation pickle into :class:`PoseSequence` objects.

    Joints with score 0 (their "missing") become NaN; a person slot is valid in
    a frame when any of its joints has a score above 0. Annotations without
    ``keypoint_score`` get score 1 for every non-zero joint.

    Args:
        path: The pickle.
        allow_pickle: Must be ``True``: unpickling can execute arbitrary code, so
            only read files you trust.

    Raises:
        PosetoolsError: ``allow_pickle`` is not set, or the content is not such a pickle.
    """
    if not allow_pickle:
        raise PosetoolsError(
            f"{path}: refusing to unpickle: pickle files can execute arbitrary code when "
            "loaded. Only if you trust this file, pass allow_pickle=True "
            "(CLI: --allow-pickle).")
    with open(path, "rb") as fh:
        data = pickle.load(fh)  # noqa: S301 - opt-in, documented as unsafe
    if isinstance(data, dict) and "annotations" in data:
        annos, splits = data["annotations"], data.get("split") or {}
    elif isinstance(data, list):
        annos, splits = data, {}
    else:
        raise PosetoolsError(f"{path}: not a pyskl annotation pickle (no 'annotations')")
    split_of = {vid: name for name, vids in splits.items() for vid in vids}
    names = data.get("label_names") if isinstance(data, dict) else None
    out = []
    for a in annos:
        kp = np.asarray(a["keypoint"], dtype=np.float32)  # (M, T, V, 2)
        if kp.ndim != 4 or kp.shape[-1] < 2:
            raise ShapeError(f"{a.get('frame_dir')}: keypoint must be (M, T, V, 2)")
        kp = kp[..., :2]
        if "keypoint_score" in a:
            sc = np.asarray(a["keypoint_score"], dtype=np.float32)
        else:
            sc = (np.abs(kp).sum(-1) > 0).astype(np.float32)
        kp, sc = kp.transpose(1, 0, 2, 3), sc.transpose(1, 0, 2)
        miss = sc <= 0
        kp = np.where(miss[..., None], np.nan, kp).astype(np.float32)
        sc = np.where(miss, 0, sc).astype(np.float32)
        h, w = (tuple(a.get("img_shape") or a.get("original_shape") or (0, 0)) + (0, 0))[:2]
        vid = str(a.get("frame_dir", a.get("filename", "")))
        lab = a.get("label")
        if names is not None and isinstance(lab, (int, np.integer)) and 0 <= lab < len(names):
            lab = names[int(lab)]
        out.append(PoseSequence(vid, kp, sc, ~miss.all(axis=-1), int(w), int(h),
                                label=lab if not isinstance(lab, np.integer) else int(lab),
                                split=split_of.get(vid),
                                frame_index=np.arange(kp.shape[0], dtype=np.int64)))
    return out


# ------------------------------------------------------------------- COCO JSON
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
    ok = np.isfinite(seq.keypoints).all(-1) & (seq.scores > 0) & seq.valid[..., None]
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
    if layout is None:
        with h5py.File(artifact, "r") as fh:
            lay = fh.attrs.get("layout", "")
        layout = lay.decode() if isinstance(lay, bytes) else str(lay)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(to_coco_json(seq, layout)), encoding="utf-8")
    return dest


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
