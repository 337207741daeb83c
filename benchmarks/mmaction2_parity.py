"""``heatmaps.style: mmaction2`` against mmaction2 itself: max |difference| and speed.

Needs mmaction2 1.2.0 (with mmcv and torch) in the environment; numpy >= 2 (the
``np.Inf`` alias mmaction2's ``PoseCompact`` uses is restored here).

1. **Parity.** For each ``aggregate`` artifact (whole videos), the heatmaps stage's
   float32 cache (joints + limbs, ``limb_set: mmaction2``) against mmaction2's
   ``PoseCompact(hw_ratio=1) -> Resize(scale=(-1, S)) -> CenterCrop(S) ->
   GeneratePoseTarget`` on the same keypoints, run with ``with_kp`` and ``with_limb``
   separately and concatenated (its combined mode overwrites channels). Both styles
   are reported; ``posetools`` differs by design (3 sigma cut, float crop).
2. **Speed.** ``GeneratePoseTarget`` alone on the grid keypoints of 48-frame clips
   against :func:`posetools.heatmaps.render_heatmaps` and
   :func:`~posetools.heatmaps.render_heatmaps_mmaction2` on the same keypoints, joints
   (``with_kp``) and joints + limbs (``with_kp`` + ``with_limb``, one call). Each round
   takes the best of ``--repeat`` calls per clip; the ratio range is over rounds.

Run (from the repository root)::

    PYTHONPATH=. python benchmarks/mmaction2_parity.py \\
        --aggregate '/data/out/aggregate/*.h5' [--rounds 5 --repeat 3]
"""

from __future__ import annotations

import argparse
import glob
import sys
import tempfile
import time
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

if not hasattr(np, "Inf"):  # numpy 2 removed the alias; mmaction2 1.2.0's PoseCompact uses it
    np.Inf = np.inf

from mmaction.datasets.transforms import (  # noqa: E402
    CenterCrop,
    GeneratePoseTarget,
    PoseCompact,
    Resize,
)

from posetools.config.schema import HeatmapsConfig  # noqa: E402
from posetools.heatmaps import (  # noqa: E402
    compute_compact_crop,
    render_heatmaps,
    render_heatmaps_mmaction2,
)
from posetools.io.artifacts.aggregate import AggregateArtifact  # noqa: E402
from posetools.skeletons import COCO17  # noqa: E402
from tests.support.heatmap_fixtures import run_heatmaps_stage, write_aggregate  # noqa: E402
from tests.support.mmaction2_reference import to_mmaction2  # noqa: E402

MM_LIMBS = [list(e) for e in COCO17.limb_set("mmaction2")]
SETTINGS = ((56, 0.6), (64, 0.6), (30, 1.0))


def mm_pipeline(mk, ms, img_shape, size, sigma, *, with_kp, with_limb):
    r = dict(keypoint=mk.copy(), keypoint_score=ms.copy(), img_shape=img_shape, modality="Pose")
    r = CenterCrop(crop_size=size)(Resize(scale=(-1, size))(PoseCompact(hw_ratio=1.0)(r)))
    gpt = GeneratePoseTarget(sigma=sigma, with_kp=with_kp, with_limb=with_limb,
                             skeletons=MM_LIMBS)
    return gpt(r)["imgs"]


def parity(paths: list[Path]) -> None:
    print("== 1. max |difference| to mmaction2 (whole videos, float32 cache, K + L = 34) ==")
    worst = {s: 0.0 for s in ("mmaction2", "posetools")}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for path in paths:
            with h5py.File(path, "r") as fh:
                a = AggregateArtifact.read(fh)
            name = f"{path.parent.parent.name}/{path.stem}"
            w, h = a.frames.width, a.frames.height
            write_aggregate(root / "aggregate" / "v.h5", a.keypoints, a.scores, a.valid,
                            width=w, height=h)
            mk, ms = to_mmaction2(a.keypoints, a.scores, a.valid)
            row = []
            for size, sigma in SETTINGS:
                want = np.concatenate([
                    mm_pipeline(mk, ms, (h, w), size, sigma, with_kp=True, with_limb=False),
                    mm_pipeline(mk, ms, (h, w), size, sigma, with_kp=False, with_limb=True)],
                    axis=1)
                for style in ("mmaction2", "posetools"):
                    cfg = HeatmapsConfig(size=size, sigma=sigma, style=style, limbs=True,
                                         limb_set="mmaction2", dtype="float32")
                    out, _ = run_heatmaps_stage(root, "v", cfg)
                    with h5py.File(out, "r") as fh:
                        got = fh["heatmaps"][...]
                    diff = float(np.abs(got - want).max()) if want.size else 0.0
                    worst[style] = max(worst[style], diff)
                    row.append(f"S={size} sigma={sigma:g} {style}: {diff:.2e}")
            print(f"{name:36s} T={a.keypoints.shape[0]:4d} P={a.keypoints.shape[1]}  "
                  + "  ".join(row))
    print(f"max over all: mmaction2 style {worst['mmaction2']:.2e}, "
          f"posetools style {worst['posetools']:.2e}")


def clips(paths: list[Path], length: int = 48):
    """The first ``length``-frame window with people of each video, on the 64-px grid."""
    for path in paths:
        with h5py.File(path, "r") as fh:
            a = AggregateArtifact.read(fh)
        per = a.valid.any(axis=1)
        if per.sum() == 0 or len(per) < length:
            continue
        start = int(np.argmax(np.convolve(per, np.ones(length), "valid")))
        kp, sc, valid = (x[start:start + length] for x in (a.keypoints, a.scores, a.valid))
        crop = compute_compact_crop(kp, sc, valid, frame_size=(a.frames.width, a.frames.height),
                                    size=64)
        grid = crop.to_grid(kp)
        yield f"{path.parent.parent.name}/{path.stem}", grid, sc, valid


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def speed(paths: list[Path], rounds: int, repeat: int) -> None:
    print("\n== 2. speed: GeneratePoseTarget / posetools on the same 48-frame clips (S=64) ==")
    data = list(clips(paths))
    ratios: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        totals: dict[str, float] = {}
        for _name, grid, sc, valid in data:
            mk, ms = to_mmaction2(np.where(np.isfinite(grid), grid, 0), sc, valid)
            for mode, limbs in (("joints", ()), ("joints+limbs", COCO17.limb_set("mmaction2"))):
                gpt = GeneratePoseTarget(sigma=0.6, with_kp=True, with_limb=bool(limbs),
                                         skeletons=MM_LIMBS)
                r = dict(keypoint=mk, keypoint_score=ms, img_shape=(64, 64))
                totals[("gpt", mode)] = totals.get(("gpt", mode), 0) + best(
                    lambda gpt=gpt, r=r: gpt(dict(r)), repeat)
                for style, fn in (("posetools", render_heatmaps),
                                  ("mmaction2", render_heatmaps_mmaction2)):
                    totals[(style, mode)] = totals.get((style, mode), 0) + best(
                        lambda fn=fn, limbs=limbs, g=grid, s=sc, v=valid: fn(
                            g, s, size=64, sigma=0.6, limbs=limbs, valid=v), repeat)
        for mode in ("joints", "joints+limbs"):
            for style in ("posetools", "mmaction2"):
                ratios.setdefault((style, mode), []).append(
                    totals[("gpt", mode)] / totals[(style, mode)])
            ratios.setdefault(("gpt_ms_per_clip", mode), []).append(
                1e3 * totals[("gpt", mode)] / len(data))
    print(f"{len(data)} clips, {rounds} rounds (best of {repeat} per clip and round)")
    for mode in ("joints", "joints+limbs"):
        g = ratios[("gpt_ms_per_clip", mode)]
        print(f"{mode:13s} GeneratePoseTarget {min(g):6.1f}-{max(g):6.1f} ms/clip   "
              + "   ".join(f"style {s}: {min(v):5.1f}x-{max(v):5.1f}x (median "
                           f"{float(np.median(v)):.1f}x)"
                           for s in ("posetools", "mmaction2")
                           for v in [ratios[(s, mode)]]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--aggregate", nargs="+", default=[
        "/work/golden/out_old1/default/aggregate/*.h5",
        "/work/golden/out_old1/yolo_blazepose/aggregate/*.h5"],
        help="aggregate artifacts (globs) of the videos to compare")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-parity", action="store_true")
    args = ap.parse_args()
    paths = sorted(Path(p) for g in args.aggregate for p in glob.glob(g))
    if not paths:
        sys.exit("no aggregate artifacts found")
    if not args.skip_parity:
        parity(paths)
    speed(paths, args.rounds, args.repeat)


if __name__ == "__main__":
    main()
