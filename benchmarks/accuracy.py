"""PCK@0.2 (bbox-normalized) of each pose expert on the GT images in ``../shared``.

Datasets: 4 COCO val2017 images (COCO-17 annotations) and 4 Human3.6M frames
(H36M-17 annotations). Predictions and GT are compared in COCO-17 through
:func:`posetools.skeletons.convert_layout`: all 17 joints for COCO, the 12 limb
joints for H36M (its head/spine joints have no COCO counterpart).

* Top-down experts run on the GT boxes (score 1) — "GT crops".
* One-stage / single-person experts run on the whole image; annotations and
  predicted instances are matched one-to-one, greedily by PCK hits
  (:func:`benchmarks.common.match_instances`); an unmatched annotation scores 0 on
  all its joints.

Baseline to keep: BlazePose on GT crops, 0.989 (COCO) / 0.938 (H36M limb joints).

Usage::

    python benchmarks/accuracy.py            # mediapipe (+ yolo11n if installed)
    python benchmarks/accuracy.py --strict   # exit 1 if BlazePose drops > 0.02 below baseline
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    LIMB_JOINTS,
    GTInstance,
    coco_gt,
    h36m_gt,
    match_instances,
    pck_hits,
    read_rgb,
)
from posetools.config.models import ExpertConfig  # noqa: E402
from posetools.errors import PosetoolsError  # noqa: E402
from posetools.experts.build import build_expert  # noqa: E402
from posetools.experts.finalize import finalize_poses  # noqa: E402
from posetools.experts.types import Detections  # noqa: E402
from posetools.skeletons import COCO17, convert_layout  # noqa: E402

BASELINE = {("blazepose_gtcrop", "coco"): 0.989, ("blazepose_gtcrop", "h36m"): 0.938}

EXPERTS = {
    "blazepose_gtcrop": ExpertConfig(name="blazepose_gtcrop", backend="mediapipe",
                                     top_down=True),
    "blazepose_single": ExpertConfig(name="blazepose_single", backend="mediapipe"),
    "yolo11n": ExpertConfig(name="yolo11n", backend="ultralytics", batch_size=4),
}


def _by_image(gts: list[GTInstance]) -> dict[Path, list[GTInstance]]:
    out: dict[Path, list[GTInstance]] = {}
    for g in gts:
        out.setdefault(g.image, []).append(g)
    return out


def best_box(boxes: np.ndarray, box: np.ndarray) -> int | None:
    """Index of the row of ``boxes`` equal to ``box`` (top-down keeps the input box)."""
    hit = np.flatnonzero(np.abs(np.asarray(boxes, np.float64) - box).max(axis=1) < 1e-2)
    return int(hit[0]) if hit.size else None


def evaluate(cfg: ExpertConfig, gts: list[GTInstance], joints: tuple[str, ...]) -> dict:
    """PCK@0.2 of one expert on one GT set, compared on ``joints`` (COCO-17 names)."""
    expert = build_expert(cfg)
    sel = np.array([COCO17.index(j) for j in joints])
    hits = total = 0
    t0 = time.perf_counter()
    for path, anns in _by_image(gts).items():
        img = read_rgb(path)
        if hasattr(expert, "reset"):
            expert.reset()
        if expert.top_down:
            boxes = Detections(np.stack([a.box for a in anns]).astype(np.float32),
                               np.ones(len(anns), np.float32))
            poses = finalize_poses(expert.estimate([img], [boxes])[0], cfg)
        else:
            poses = finalize_poses(expert.estimate([img])[0], cfg)
        pred17, _ = convert_layout(poses.keypoints, poses.scores, expert.layout, COCO17)
        gt_sel = []
        for a in anns:
            gt17, gsc = convert_layout(a.keypoints[None], a.visible[None].astype(np.float32),
                                       a.layout, COCO17)
            gt_sel.append((gt17[0][sel], (gsc[0] > 0)[sel], a.box))
        if expert.top_down:
            # instances come back in box order, minus boxes where nothing was found
            matches = [best_box(poses.boxes, a.box) for a in anns]
        else:
            matches = match_instances(pred17[:, sel], gt_sel)
        for (gt, vis, box), m in zip(gt_sel, matches, strict=True):
            h, t = pck_hits(None if m is None else pred17[m][sel], gt, vis, box)
            hits += h
            total += t
    return {"pck": hits / max(total, 1), "joints": total, "seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experts", nargs="*", default=list(EXPERTS), choices=list(EXPERTS))
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 if a baseline drops by more than 0.02")
    args = ap.parse_args(argv)
    sets = {"coco": (coco_gt(), tuple(COCO17.joints)), "h36m": (h36m_gt(), LIMB_JOINTS)}
    print(f"{'expert':<18} {'set':<5} {'PCK@0.2':>8} {'joints':>7} {'baseline':>9} {'s':>6}")
    failed = False
    for name in args.experts:
        for set_name, (gts, joints) in sets.items():
            try:
                r = evaluate(EXPERTS[name], gts, joints)
            except PosetoolsError as e:
                print(f"{name:<18} {set_name:<5} skipped: {e}")
                break
            base = BASELINE.get((name, set_name))
            btxt = f"{base:.3f}" if base is not None else "-"
            print(f"{name:<18} {set_name:<5} {r['pck']:>8.3f} {r['joints']:>7d} {btxt:>9} "
                  f"{r['seconds']:>6.1f}")
            if base is not None and r["pck"] < base - 0.02:
                failed = True
    return 1 if (failed and args.strict) else 0


if __name__ == "__main__":
    raise SystemExit(main())
