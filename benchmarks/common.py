"""Helpers shared by the benchmark scripts: shared-data paths, GT loading, PCK.

PCK@t (bbox-normalized): a ground-truth joint (visibility flag > 0) is a hit when
the predicted joint is finite and within ``t * max(box_w, box_h)`` pixels of it, the
box being the annotation's GT box (the convention of mmpose's ``PCKAccuracy`` with
``norm_item='bbox'``). A joint the expert does not predict (NaN, score 0) or an
annotation no predicted instance matches counts as a miss.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSETOOLS_SHARED", REPO.parent / "shared")).resolve()
IMAGES = SHARED / "data" / "images"
VIDEOS = SHARED / "data" / "videos"

LIMB_JOINTS = tuple(f"{s}_{j}" for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
                    for s in ("left", "right"))
"""The 12 limb joints (COCO-17 names) used for the H36M comparison."""


@dataclass(frozen=True)
class GTInstance:
    """One annotated person.

    Attributes:
        image: Image file.
        layout: Layout name of ``keypoints`` (``coco17``, ``h36m17``).
        box: ``(4,) float64`` GT box, xyxy pixels.
        keypoints: ``(K, 2) float64`` pixels.
        visible: ``(K,) bool`` annotated (COCO visibility flag > 0).
    """

    image: Path
    layout: str
    box: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray


def load_coco_style(json_path: Path, layout: str) -> list[GTInstance]:
    """Read person annotations from a COCO keypoint JSON file.

    Crowd annotations and annotations with no labelled joint are skipped.
    """
    data = json.loads(Path(json_path).read_text())
    files = {im["id"]: Path(json_path).parent / im["file_name"] for im in data["images"]}
    out = []
    for a in data["annotations"]:
        if a.get("iscrowd", 0):
            continue
        kp = np.asarray(a["keypoints"], np.float64).reshape(-1, 3)
        vis = kp[:, 2] > 0
        if not vis.any():
            continue
        x, y, w, h = a["bbox"]
        out.append(GTInstance(files[a["image_id"]], layout,
                              np.array([x, y, x + w, y + h], np.float64), kp[:, :2], vis))
    return out


def coco_gt() -> list[GTInstance]:
    """The COCO val2017 annotations in ``shared/data/images/coco`` (COCO-17)."""
    return load_coco_style(IMAGES / "coco" / "test_coco.json", "coco17")


def h36m_gt() -> list[GTInstance]:
    """The Human3.6M annotations in ``shared/data/images/h36m`` (H36M-17)."""
    return load_coco_style(IMAGES / "h36m" / "h36m_coco.json", "h36m17")


def pck_hits(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, box: np.ndarray,
             thr: float = 0.2) -> tuple[int, int]:
    """Hits and counted joints of one instance.

    Args:
        pred: ``(K, 2)`` predicted pixels (NaN = not predicted), or ``None`` for a miss.
        gt: ``(K, 2)`` GT pixels.
        visible: ``(K,) bool`` joints to count.
        box: GT box xyxy (normalizer ``max(w, h)``).
        thr: Threshold as a fraction of the normalizer.

    Returns:
        ``(hits, total)``.
    """
    total = int(visible.sum())
    if pred is None:
        return 0, total
    norm = max(box[2] - box[0], box[3] - box[1])
    d = np.linalg.norm(np.asarray(pred, np.float64) - gt, axis=-1)
    ok = np.isfinite(d) & (d <= thr * norm) & visible
    return int(ok.sum()), total


def match_instances(
    pred: np.ndarray, gts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], thr: float = 0.2
) -> list[int | None]:
    """One-to-one greedy matching of predicted instances to GT annotations.

    Pairs are taken by decreasing PCK hits (ties: smaller mean distance of the
    counted joints); a pair needs at least one hit. Box IoU is not used because GT
    boxes (e.g. H36M's squares) and predicted boxes have different conventions.

    Args:
        pred: ``(N, K, 2)`` predictions (NaN = not predicted).
        gts: Per annotation ``(gt (K, 2), visible (K,), box (4,))``.
        thr: PCK threshold.

    Returns:
        Per annotation the index of its prediction, or None.
    """
    cand = []
    for j, (gt, vis, box) in enumerate(gts):
        for i in range(len(pred)):
            h, _ = pck_hits(pred[i], gt, vis, box, thr)
            if h == 0:
                continue
            d = np.linalg.norm(np.asarray(pred[i], np.float64) - gt, axis=-1)[vis]
            cand.append((-h, float(np.nanmean(d)), j, i))
    cand.sort()
    out: list[int | None] = [None] * len(gts)
    used: set[int] = set()
    for _, _, j, i in cand:
        if out[j] is None and i not in used:
            out[j] = i
            used.add(i)
    return out


def read_rgb(path: Path) -> np.ndarray:
    """An image file as ``(H, W, 3) uint8`` RGB."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(path)
    return np.ascontiguousarray(img[:, :, ::-1])
