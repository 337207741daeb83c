"""SST-A benchmark: throughput, and jitter / PCK@0.2 with two real experts.

1. **Throughput** (synthetic, one core): 3 experts x 17 joints, noisy tracks with
   outliers and missing joints. :func:`posetools.aggregate.ssta.ssta_aggregate` against a
   baseline measured in the same run: a straightforward per-frame loop with the
   K x M math vectorized (same rules; its selections are checked to agree).
   Target: >= 50,000 frames/s.
2. **Jitter** on the real videos in ``../shared`` with BlazePose (MediaPipe) and
   YOLO11n-pose (ultralytics), run through the real ``estimate`` and
   ``aggregate`` stages: mean ``|x[t+1] - 2 x[t] + x[t-1]|`` of the main person's
   joints over consecutive valid frames, divided by the person's size (median over
   the video of ``max(w, h)`` of the reference expert's keypoint box), in COCO-17.
   "common": over the (frame, joint) triples every method has; "own": each
   method over all its own triples.
3. **PCK@0.2** (bbox-normalized, :mod:`benchmarks.common`) on the shared GT images
   per expert (whole image) and for SST-A of the two (one-frame videos: with two
   experts the first-frame rule selects the expert listed first wherever both
   have a joint, so both orders are reported; gamma = 0.18 and gamma = 0 = no filter).

Parts 2-3 print ``skipped: <reason>`` when an expert backend is unavailable.

Usage::

    python benchmarks/aggregate.py                 # everything
    python benchmarks/aggregate.py --skip-real     # throughput only
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    LIMB_JOINTS,
    VIDEOS,
    coco_gt,
    h36m_gt,
    match_instances,
    pck_hits,
    read_rgb,
)
from posetools.aggregate import choose_reference, ssta_aggregate, ssta_aggregate_video  # noqa: E402
from posetools.config.algorithms import SSTAConfig  # noqa: E402
from posetools.skeletons import COCO17, get_layout  # noqa: E402
from posetools.skeletons.anatomy import head_def, limb_joints, neck_def, reference_point  # noqa: E402

TARGET_FPS = 50_000


# --------------------------------------------------------------------- part 1
def synthetic(t: int, m: int = 3, k: int = 17, seed: int = 0):
    """Noisy copies of a random-walk track with 10% outliers and 5% missing joints."""
    rng = np.random.default_rng(seed)
    clean = 400 + rng.normal(size=(t, k, 2)).cumsum(axis=0) + rng.uniform(-60, 60, (1, k, 2))
    kp = np.stack([clean + rng.normal(size=clean.shape) * 2 for _ in range(m)])
    out = rng.random((m, t, k)) < 0.10
    kp[out] += rng.normal(size=(int(out.sum()), 2)) * 50
    sc = rng.uniform(0.3, 1.0, (m, t, k))
    miss = rng.random((m, t, k)) < 0.05
    kp[miss] = np.nan
    sc[miss] = 0
    return kp.astype(np.float32), sc.astype(np.float32)


def per_frame_loop(kp: np.ndarray, sc: np.ndarray, cfg: SSTAConfig):
    """Baseline: one Python iteration per frame, K x M math vectorized (same rules)."""
    m, t, k, _ = kp.shape
    lay = get_layout(cfg.layout)
    x = kp.astype(np.float64)
    cand = np.isfinite(x).all(-1) & (sc > 0) & (sc >= cfg.min_score)
    ia, ib = np.triu_indices(m, 1)
    rows = np.arange(k)
    sel = np.full((t, k), -1)
    conf = np.zeros(t)
    jm = np.zeros(k, bool)
    jm[limb_joints(lay) if cfg.confidence_joints == "limbs" else rows] = True
    hd, nk = head_def(lay, cfg.head), neck_def(lay, cfg.neck)
    prev = np.full(k, -1)
    for f in range(t):
        xf, cf = x[:, f], cand[:, f]  # (M, K, 2), (M, K)
        pair_d = np.linalg.norm(xf[ia] - xf[ib], axis=-1)
        pair_d = np.where(cf[ia] & cf[ib], pair_d, np.inf)
        first = np.where(np.isfinite(pair_d.min(0)), ia[np.argmin(pair_d, 0)],
                         np.where(cf.any(0), np.argmax(cf, 0), -1))
        s = first
        if f > 0:
            has_prev = prev >= 0
            ref = x[np.maximum(prev, 0), f - 1, rows]
            d = np.where(cf, np.linalg.norm(xf - ref[None], axis=-1), np.inf)
            temporal = np.where(cf.any(0), np.argmin(d, 0), -1)
            s = np.where(has_prev, temporal, first)
        sel[f] = prev = s
        has = s >= 0
        pa = np.where(has[:, None], xf[np.maximum(s, 0), rows], np.nan)
        use = cf & (has & jm)[None]
        dist = np.linalg.norm(xf - np.nan_to_num(pa)[None], axis=-1)
        n = use.sum()
        a = reference_point(pa, has, hd)
        b = reference_point(pa, has, nk)
        dn = float(np.hypot(*(a - b)))
        if n and math.isfinite(dn):
            conf[f] = math.exp(-(dist[use].sum() / n) / (dn + 1e-12))
    return sel, conf


def best_time(fn, repeats: int) -> tuple[float, float]:
    """Best (cpu seconds, wall seconds) of ``repeats`` calls."""
    cpu = wall = float("inf")
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return cpu, wall


def throughput() -> None:
    print("== SST-A throughput (3 experts x 17 joints, one core) ==")
    cfg = SSTAConfig()
    kp, sc = synthetic(2000)
    sel_fast = ssta_aggregate(kp, sc, SSTAConfig(gamma=0.0)).source_expert
    sel_base, _ = per_frame_loop(kp, sc, cfg)
    print(f"baseline and ssta_aggregate select the same experts: "
          f"{bool(np.array_equal(sel_fast, sel_base))}")
    base_cpu, base_wall = best_time(lambda: per_frame_loop(kp, sc, cfg), 2)
    base_fps = 2000 / base_cpu
    print(f"baseline per-frame loop, T=2000: {base_fps:>10,.0f} frames/s (cpu), "
          f"{2000 / base_wall:,.0f} (wall)")
    print(f"{'T':>7} {'frames/s cpu':>13} {'frames/s wall':>14} {'x baseline':>11} "
          f"{'x target':>9}")
    for t, reps in ((300, 20), (2000, 10), (20000, 5)):
        kp, sc = synthetic(t, seed=t)
        cpu, wall = best_time(lambda kp=kp, sc=sc: ssta_aggregate(kp, sc, cfg), reps)
        fps = t / cpu
        print(f"{t:>7} {fps:>13,.0f} {t / wall:>14,.0f} {fps / base_fps:>11.1f} "
              f"{fps / TARGET_FPS:>9.2f}")


# --------------------------------------------------------------------- part 2
def build_experts():
    from posetools.config.models import ExpertConfig
    from posetools.experts.build import build_expert

    cfgs = (ExpertConfig(name="blazepose", backend="mediapipe"),
            ExpertConfig(name="yolo11n", backend="ultralytics", batch_size=4))
    for c in cfgs:
        build_expert(c)  # raises MissingBackendError / NotImplementedError / CheckpointError
    return cfgs


def run_pipeline(video: Path, experts, tmp: Path, cfg: SSTAConfig):
    """Real estimate + aggregate stages on one video; returns (estimate path, aggregate path).

    The estimate stage keeps every track (``max_persons = 0``): a single-person expert
    and a multi-person one may rank different people first, and SST-A matches them.
    """
    import h5py

    from posetools.config.algorithms import TrackConfig
    from posetools.config.schema import AggregateConfig, EstimateConfig, PipelineConfig
    from posetools.io.manifest import ManifestEntry
    from posetools.stages.aggregate import AggregateStage
    from posetools.stages.base import VideoJob
    from posetools.stages.estimate import EstimateStage

    pipe = PipelineConfig(
        stages=("estimate", "aggregate"),
        estimate=EstimateConfig(experts=experts, track=TrackConfig(max_persons=0)),
        aggregate=AggregateConfig(**vars(cfg)),
    )
    entry = ManifestEntry(video_id=video.stem, path=video, row=1)
    est = tmp / f"{video.stem}.estimate.h5"
    agg = tmp / f"{video.stem}.aggregate.h5"
    with h5py.File(est, "w") as out:
        EstimateStage.from_pipeline(pipe).process(VideoJob(entry, video, tmp), out, lambda n: None)
    with h5py.File(agg, "w") as out:
        job = VideoJob(entry, video, tmp, {"estimate": est})
        AggregateStage.from_pipeline(pipe).process(job, out, lambda n: None)
    return est, agg


def second_differences(kp: np.ndarray, ok: np.ndarray):
    """``|x[t+1] - 2x[t] + x[t-1]|`` ``(T-2, K)`` and where it is defined."""
    acc = np.linalg.norm(kp[2:] - 2 * kp[1:-1] + kp[:-2], axis=-1)
    return acc, ok[2:] & ok[1:-1] & ok[:-2]


def track_series(names, inp, agg: dict, p: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per method, the keypoints ``(T, K, 2)`` and usable joints ``(T, K)`` of track ``p``:
    each expert's instance matched to the track, and the SST-A aggregate."""
    t = inp.ran.shape[1]
    rows = np.arange(t)
    out = {}
    for e, name in enumerate(names):
        mt = agg["matched"][e, :, p]
        q = np.maximum(mt, 0)
        if inp.keypoints[e].shape[1] == 0:
            continue
        kp = inp.keypoints[e][rows, q]
        ok = (mt >= 0)[:, None] & (inp.scores[e][rows, q] > 0)
        out[name] = (kp, ok)
    out["SST-A"] = (agg["keypoints"][:, p], agg["valid"][:, p, None] & (agg["scores"][:, p] > 0))
    return out


def jitter_table(videos: list[Path], experts) -> None:
    import h5py

    from posetools.io.artifacts.estimate import EstimateArtifact
    from posetools.stages.aggregate import to_common_axis

    print("\n== jitter (mean |2nd difference| / person size, COCO-17, every SST-A track) ==")
    print("common: the (frame, joint) triples all three methods have; own: each its own")
    names = [c.name for c in experts]
    methods = [*names, "SST-A"]
    print(f"{'video':<30} {'T':>4} {'tracks':>6} {'n_common':>8} "
          + " ".join(f"{m:>10}" for m in methods) + f" {'SST-A/best':>10}")
    tot = {m: [0.0, 0] for m in methods}
    tot_own = {m: [0.0, 0] for m in methods}
    with tempfile.TemporaryDirectory() as d:
        for video in videos:
            est, agg_path = run_pipeline(video, experts, Path(d), SSTAConfig())
            with h5py.File(est) as fe:
                est_art = EstimateArtifact.read(fe)
            inp = to_common_axis(est_art, "coco17")
            with h5py.File(agg_path) as fa:
                agg = {k: fa[k][...] for k in ("keypoints", "scores", "valid", "matched")}
            t, n_tracks = agg["keypoints"].shape[:2]
            sums = {m: [0.0, 0] for m in methods}
            used = 0
            for p in range(n_tracks):
                series = track_series(est_art.names, inp, agg, p)
                if t < 3 or any(m not in series for m in methods):
                    continue
                kp_a, ok_a = series["SST-A"]
                xs = np.where(ok_a, kp_a[..., 0], np.nan)
                ys = np.where(ok_a, kp_a[..., 1], np.nan)
                rows_ok = ok_a.any(axis=1)
                if rows_ok.sum() < 3:
                    continue
                side = np.fmax(np.nanmax(xs[rows_ok], 1) - np.nanmin(xs[rows_ok], 1),
                               np.nanmax(ys[rows_ok], 1) - np.nanmin(ys[rows_ok], 1))
                size = float(np.median(side))
                sd = {m: second_differences(series[m][0].astype(np.float64), series[m][1])
                      for m in methods}
                common = np.logical_and.reduce([o for _, o in sd.values()])
                if not common.any():
                    continue
                used += 1
                for m, (acc, o) in sd.items():
                    sums[m][0] += float(acc[common].sum()) / size
                    sums[m][1] += int(common.sum())
                    tot_own[m][0] += float(acc[o].sum()) / size
                    tot_own[m][1] += int(o.sum())
            n = sums["SST-A"][1]
            if not n:
                print(f"{video.name:<30} {t:>4} {used:>6} {0:>8}  (no track seen by both experts)")
                continue
            vals = {m: sums[m][0] / n for m in methods}
            best = min(vals[m] for m in names)
            for m in methods:
                tot[m][0] += sums[m][0]
                tot[m][1] += n
            print(f"{video.name:<30} {t:>4} {used:>6} {n:>8} "
                  + " ".join(f"{vals[m]:>10.4f}" for m in methods)
                  + f" {vals['SST-A'] / best:>10.3f}")
    if tot["SST-A"][1]:
        vals = {m: tot[m][0] / tot[m][1] for m in methods}
        best = min(vals[m] for m in names)
        print(f"{'all (common triples)':<30} {'':>4} {'':>6} {tot['SST-A'][1]:>8} "
              + " ".join(f"{vals[m]:>10.4f}" for m in methods)
              + f" {vals['SST-A'] / best:>10.3f}")
        own = {m: tot_own[m][0] / max(tot_own[m][1], 1) for m in methods}
        print(f"{'all (own triples)':<30} {'':>4} {'':>6} {'':>8} "
              + " ".join(f"{own[m]:>10.4f}" for m in methods))


# --------------------------------------------------------------------- part 3
def pck_table(experts) -> None:
    from posetools.experts.build import build_expert
    from posetools.experts.finalize import finalize_poses
    from posetools.skeletons import convert_layout

    print("\n== PCK@0.2 on the shared GT images (whole-image experts) ==")
    built = [(c, build_expert(c)) for c in experts]
    sets = {"coco": (coco_gt(), tuple(COCO17.joints)), "h36m": (h36m_gt(), LIMB_JOINTS)}
    names = [c.name for c in experts]
    methods = [*names, f"SST-A[{names[0]},{names[1]}]", f"SST-A[{names[1]},{names[0]}]",
               f"SST-A[{names[0]},{names[1]}] g=0", f"SST-A[{names[1]},{names[0]}] g=0"]
    print(f"{'method':<34} " + " ".join(f"{s:>7}" for s in sets))
    scores = {m: {} for m in methods}
    for set_name, (gts, joints) in sets.items():
        sel = np.array([COCO17.index(j) for j in joints])
        by_image: dict[Path, list] = {}
        for g in gts:
            by_image.setdefault(g.image, []).append(g)
        hits = {m: [0, 0] for m in methods}
        for path, anns in by_image.items():
            img = read_rgb(path)
            preds = []
            for cfg, ex in built:
                if hasattr(ex, "reset"):
                    ex.reset()
                p = finalize_poses(ex.estimate([img])[0], cfg)
                preds.append(convert_layout(p.keypoints, p.scores, ex.layout, COCO17))
            cand = {n: preds[i][0] for i, n in enumerate(names)}
            for order in ((0, 1), (1, 0)):
                kps = [preds[i][0][None] for i in order]
                scs = [preds[i][1][None] for i in order]
                ref = choose_reference([(s[0] > 0).any(-1).sum(keepdims=True) for s in scs])
                for gamma, tag in ((0.18, ""), (0.0, " g=0")):
                    r = ssta_aggregate_video(kps, scs, np.ones((2, 1), bool),
                                             SSTAConfig(gamma=gamma), reference=ref)
                    kp = r.keypoints[0][r.valid[0]]
                    cand[f"SST-A[{names[order[0]]},{names[order[1]]}]{tag}"] = kp
            gt_sel = []
            for a in anns:
                gt17, gsc = convert_layout(a.keypoints[None], a.visible[None].astype(np.float32),
                                           a.layout, COCO17)
                gt_sel.append((gt17[0][sel], (gsc[0] > 0)[sel], a.box))
            for m in methods:
                pred = cand[m][:, sel] if len(cand[m]) else np.zeros((0, sel.size, 2))
                for (gt, vis, box), i in zip(gt_sel, match_instances(pred, gt_sel), strict=True):
                    h, tot = pck_hits(None if i is None else pred[i], gt, vis, box)
                    hits[m][0] += h
                    hits[m][1] += tot
        for m in methods:
            scores[m][set_name] = hits[m][0] / max(hits[m][1], 1)
    for m in methods:
        print(f"{m:<34} " + " ".join(f"{scores[m][s]:>7.3f}" for s in sets))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-real", action="store_true", help="throughput only")
    ap.add_argument("--videos", nargs="*", default=None,
                    help="video file names in shared/data/videos (default: all)")
    args = ap.parse_args(argv)
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if cpus:
        os.sched_setaffinity(0, {min(cpus)})  # the throughput part runs on one core
    throughput()
    if cpus:
        os.sched_setaffinity(0, cpus)
    if args.skip_real:
        return 0
    try:
        experts = build_experts()
    except (Exception, NotImplementedError) as e:  # noqa: BLE001 - report any reason
        print(f"\nreal experts: skipped: {type(e).__name__}: {e}")
        return 0
    names = args.videos or sorted(p.name for p in VIDEOS.glob("*") if p.is_file())
    jitter_table([VIDEOS / n for n in names], experts)
    pck_table(experts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
