"""Helpers shared by the benchmark scripts: shared-data paths, GT loading, PCK, and
known-motion clips made from the GT images (:func:`motion_clips`).

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


def read_frames(path: Path, n: int) -> list[np.ndarray]:
    """The first ``n`` frames of a video (fewer if it is shorter), each ``(H, W, 3) uint8`` RGB."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    out = []
    while len(out) < n:
        ok, bgr = cap.read()
        if not ok:
            break
        out.append(np.ascontiguousarray(bgr[..., ::-1]))
    cap.release()
    return out


# ----------------------------------------------------------- known-motion clips
CLIP_SIZE = (640, 480)
"""Width, height of the known-motion clips."""


@dataclass(frozen=True)
class MotionClip:
    """A clip of a virtual camera moving over one GT image, with the moving GT.

    Attributes:
        name: ``<set>_<image stem>``.
        video: The H.264 MP4 file.
        fps: Frame rate (25 or 30).
        keypoints: ``(T, 17, 2) float64`` GT pixels in each frame, COCO-17.
        visible: ``(T, 17) bool`` GT joints counted: labelled and inside the frame
            (the 12 limb joints for H36M images, whose head is not COCO's nose).
        norm: ``(T,) float64`` PCK normalizer: ``max(w, h)`` of the GT box times the
            frame's zoom (the bbox convention above, independent of the rotation).
    """

    name: str
    video: Path
    fps: int
    keypoints: np.ndarray
    visible: np.ndarray
    norm: np.ndarray


def _main_people() -> list[tuple[str, GTInstance, np.ndarray, np.ndarray]]:
    """Per GT image: (name, the largest annotation with >= 10 labelled joints, its COCO-17
    keypoints (17, 2), the joints counted (17,))."""
    from posetools.skeletons import COCO17, convert_layout

    out = []
    for sub, gts in (("coco", coco_gt()), ("h36m", h36m_gt())):
        by_image: dict[Path, list[GTInstance]] = {}
        for g in gts:
            if g.visible.sum() >= 10:
                by_image.setdefault(g.image, []).append(g)
        for image in sorted(by_image):
            g = max(by_image[image], key=lambda a: (a.box[2] - a.box[0]) * (a.box[3] - a.box[1]))
            kp, sc = convert_layout(g.keypoints[None], g.visible[None].astype(np.float32),
                                    g.layout, COCO17)
            vis = sc[0] > 0
            if sub == "h36m":
                vis &= np.isin(np.array(COCO17.joints), LIMB_JOINTS)
            out.append((f"{sub}_{image.stem}", g, np.asarray(kp[0], np.float64), vis))
    return out


def _camera(t: float, dur: float, seed: int, box: np.ndarray) -> tuple[np.ndarray, float]:
    """Affine ``(2, 3)`` image -> frame at time ``t`` and the zoom of that frame.

    Pan at 0.5 / 0.9 Hz (16 % / 7 % of the frame), zoom +-18 % at 0.45 Hz, rotation
    +-12 deg at 0.6 Hz, one quick raised-cosine pan of 15 % of the width in 0.5 s in the
    middle of the clip, and a hand-held shake at 1.9-2.9 Hz (2 % / 1.5 % of the frame,
    1.5 deg): motion up to ~3 Hz that a smoother must keep.
    """
    import cv2

    w, h = CLIP_SIZE
    ph = np.random.default_rng(seed).uniform(0, 2 * np.pi, 4)
    side = 1 if seed % 2 else -1
    bw, bh = box[2] - box[0], box[3] - box[1]
    zoom = 0.55 * h / max(bw, bh) * (1 + 0.18 * np.sin(2 * np.pi * 0.45 * t + ph[0]))
    angle = 12.0 * np.sin(2 * np.pi * 0.6 * t + ph[1]) + 1.5 * np.sin(2 * np.pi * 1.9 * t + ph[3])
    u = min(max((t - (dur / 2 - 0.25)) / 0.5, 0.0), 1.0)
    quick = 0.15 * w * (0.5 - 0.5 * np.cos(np.pi * u)) * side
    qx = (w / 2 + 0.16 * w * np.sin(2 * np.pi * 0.5 * t + ph[2]) + quick - 0.075 * w * side
          + 0.02 * w * np.sin(2 * np.pi * 2.3 * t + ph[1]))
    qy = h / 2 + 0.07 * h * np.sin(2 * np.pi * 0.9 * t + ph[3]) + 0.015 * h * np.sin(
        2 * np.pi * 2.9 * t + ph[2])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    m = cv2.getRotationMatrix2D((float(cx), float(cy)), float(angle), float(zoom))
    m[0, 2] += qx - cx
    m[1, 2] += qy - cy
    return m, float(zoom)


def motion_clips(out: Path) -> list[MotionClip]:
    """Known-motion clips from the GT images in ``shared/data/images``, one per image.

    A virtual camera pans, zooms and rotates over the image (:func:`_camera`); the GT
    keypoints of the image's main person (largest annotation with >= 10 labelled
    joints) go through the same per-frame affine. Clips alternate 30 fps x 90 frames
    and 25 fps x 75 frames (3 s), 640 x 480. Files already in ``out`` (same name) are
    reused: the clips are deterministic.

    Args:
        out: Folder for ``<name>.mp4`` (a temp or cache folder, never the repository).
    """
    import cv2

    from posetools.io.sample import write_video

    out.mkdir(parents=True, exist_ok=True)
    clips = []
    for seed, (name, g, kp, vis) in enumerate(_main_people()):
        fps, n = (30, 90) if seed % 2 == 0 else (25, 75)
        video = out / f"{name}.mp4"
        cams = [_camera(i / fps, n / fps, seed, g.box) for i in range(n)]
        if not video.is_file():
            img = read_rgb(g.image)
            write_video(video, [cv2.warpAffine(img, m, CLIP_SIZE, flags=cv2.INTER_LINEAR,
                                              borderValue=(96, 96, 96)) for m, _ in cams], fps)
        gt = np.stack([kp @ m[:, :2].T + m[:, 2] for m, _ in cams])
        inside = ((gt >= 0) & (gt < np.array(CLIP_SIZE))).all(axis=-1)
        norm = np.array([z for _, z in cams]) * max(g.box[2] - g.box[0], g.box[3] - g.box[1])
        clips.append(MotionClip(name, video, fps, gt, vis[None] & inside, norm))
    return clips
