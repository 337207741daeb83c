"""The mmaction2 / pyskl annotation pickle (PoseC3D, ST-GCN++ train on it directly).

::

    {"split": {"train": [frame_dir, ...], ...},
     "annotations": [{"frame_dir", "label", "img_shape", "original_shape",
                      "total_frames", "keypoint" (M, T, V, 2) float32,
                      "keypoint_score" (M, T, V) float32}, ...]}

``frame_dir`` is the video id; missing joints are written as coordinates 0 with
score 0 (their convention); ``M`` counts the person slots that are valid in at
least one frame (a video with nobody gets ``M = 0``: no pose is invented). Labels
become ids by :func:`posetools.io.labels.assign_label_ids` (integers as given,
strings only through a label map or an explicit opt-in to sorted order); the class
names, when known, are the extra top-level key ``label_names``. Each annotation also
carries ``posetools_frame_index (T,) int64``, the original frame numbers (under a
key mmaction2 does not read: ``frame_inds`` would change which frames it samples).
Videos without a split go under ``"unsplit"``.

Reading a pickle is opt-in (``allow_pickle=True``): unpickling can run arbitrary
code, so only load files you trust.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PosetoolsError, ShapeError
from ...skeletons.anatomy import present_mask
from ..files import atomic_write
from ..labels import assign_label_ids
from ..manifest import ManifestEntry
from ..store import artifact_path
from .records import PoseRecords, RecordBuilder, resolve_layout
from .sequence import PoseSequence, read_artifact

FRAME_INDEX_KEY = "posetools_frame_index"
"""Annotation key of the original frame numbers (not read by mmaction2 or pyskl)."""


def to_pyskl_annotation(seq: PoseSequence, label: int = -1) -> dict[str, Any]:
    """One pyskl/mmaction2 annotation dict from a :class:`PoseSequence`."""
    n_t, n_p, n_k = seq.scores.shape
    present = seq.valid & np.isfinite(seq.keypoints).all(-1).any(-1)  # (T, P)
    slots = np.flatnonzero(present.any(axis=0))
    ok = present_mask(seq.keypoints, seq.scores) & seq.valid[..., None]
    kp = np.where(ok[..., None], seq.keypoints, 0).astype(np.float32)
    sc = np.where(ok, seq.scores, 0).astype(np.float32)
    fi = seq.frame_index if seq.frame_index is not None else np.arange(n_t)
    return {
        "frame_dir": seq.video_id,
        "label": int(label),
        "img_shape": (seq.height, seq.width),
        "original_shape": (seq.height, seq.width),
        "total_frames": int(n_t),
        "keypoint": np.ascontiguousarray(kp[:, slots].transpose(1, 0, 2, 3)),
        "keypoint_score": np.ascontiguousarray(sc[:, slots].transpose(1, 0, 2)),
        FRAME_INDEX_KEY: np.asarray(fi, dtype=np.int64),
    }


def export_pyskl(
    out: str | Path,
    entries: Sequence[ManifestEntry],
    dest: str | Path,
    *,
    source: str = "aggregate",
    label_names: Sequence[str] | None = None,
    sort_labels: bool = False,
) -> dict[str, Any]:
    """Write the pyskl/mmaction2 annotation pickle of an output folder.

    Args:
        out: Output folder ``OUT``.
        entries: Manifest entries (split, label); videos without an artifact are skipped.
        dest: Pickle path to write.
        source: Stage whose keypoints to export (``aggregate``; ``normalize``
            exports normalized coordinates).
        label_names: Class names in id order (a label map); required for string
            labels unless ``sort_labels``.
        sort_labels: Number string labels in sorted string order (opt-in).

    Returns:
        Summary: ``{"videos", "skipped", "label_names", "label_rule", "path"}``.

    Raises:
        ManifestError: Labels cannot be mapped to ids (see :mod:`posetools.io.labels`).
    """
    ids = assign_label_ids([e.label for e in entries], names=label_names,
                           sort_strings=sort_labels, videos=[e.video_id for e in entries])
    annotations, skipped = [], []
    split: dict[str, list[str]] = {}
    for e, lab in zip(entries, ids.ids, strict=True):
        path = artifact_path(out, source, e.video_id)
        if not path.is_file():
            skipped.append(e.video_id)
            continue
        seq = read_artifact(path, e.video_id)
        annotations.append(to_pyskl_annotation(seq, lab))
        split.setdefault(e.split or "unsplit", []).append(e.video_id)
    data: dict[str, Any] = {"split": split, "annotations": annotations}
    if ids.names is not None:
        data["label_names"] = list(ids.names)
    dest = atomic_write(dest, pickle.dumps(data, protocol=4))
    return {"videos": len(annotations), "skipped": skipped,
            "label_names": None if ids.names is None else list(ids.names),
            "label_rule": ids.rule, "path": str(dest)}


def read_pyskl(path: str | Path, *, allow_pickle: bool = False) -> list[PoseSequence]:
    """Read a pyskl/mmaction2 annotation pickle into :class:`PoseSequence` objects.

    Joints with score 0 (their "missing") become NaN; a person slot is valid in
    a frame when any of its joints has a score above 0. Annotations without
    ``keypoint_score`` get score 1 for every non-zero joint. Frame numbers are
    ``posetools_frame_index`` when present (posetools exports), else ``0..T-1``.

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
                                frame_index=_frame_index(a, kp.shape[0])))
    return out


def _frame_index(annotation: dict[str, Any], n_t: int) -> np.ndarray:
    fi = annotation.get(FRAME_INDEX_KEY)
    if fi is None:
        return np.arange(n_t, dtype=np.int64)
    fi = np.asarray(fi, dtype=np.int64).reshape(-1)
    if len(fi) != n_t:
        raise ShapeError(f"{annotation.get('frame_dir')}: {FRAME_INDEX_KEY} has {len(fi)} "
                         f"entries for {n_t} frames")
    return fi


def pyskl_records(seq: PoseSequence, *, layout: str | None = None,
                  frame_offset: int = 0) -> PoseRecords:
    """The instances of one pyskl annotation (a :func:`read_pyskl` item), untracked.

    Every frame position is a frame (``posetools_frame_index`` when present, else
    ``0..T-1``, plus ``frame_offset``); a person slot with no joint in a frame is no
    instance there. Scores are used as they are (0 = missing).
    """
    n_t, n_p, n_k = seq.scores.shape
    where = f"pyskl annotation {seq.video_id!r}"
    lay = resolve_layout(n_k, configured=layout, default="coco17", where=where)
    fi = (seq.frame_index if seq.frame_index is not None else np.arange(n_t)) + frame_offset
    rec = RecordBuilder(n_k, f"{where} ({n_t} frames)")
    for t in range(n_t):
        rec.frame(int(fi[t]))
        for p in range(n_p):
            if seq.valid[t, p]:
                rec.add(int(fi[t]), seq.keypoints[t, p], seq.scores[t, p])
    rule = "posetools_frame_index, else position" + (
        f" {frame_offset:+d}" if frame_offset else "")
    return rec.build(lay, rule)
