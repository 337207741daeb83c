"""Temporal refinement benchmark (issue #12): jitter, accuracy under known motion, cost.

1. **Jitter** on the shared videos, the metric of ``benchmarks/aggregate.py`` exactly
   (its ``run_pipeline``, ``track_series`` and ``second_differences``): BlazePose and
   YOLO11n-pose through the real estimate (``max_persons: 0``) and aggregate stages,
   mean ``|x[t+1] - 2 x[t] + x[t-1]|`` of every SST-A track's joints divided by the
   track's size (median ``max(w, h)`` of the raw SST-A keypoint box), COCO-17, over
   the (row, joint) triples every method of the table has. Each refinement setting is
   applied to the raw SST-A output as the aggregate stage applies it (restarts from the
   track ids, time from ``pts``, rows where an expert ran); the default setting is also
   run through the real ``AggregateStage`` and checked to give the same pose. "BlazePose
   + default": the refinement on BlazePose's series alone (the single-expert
   pass-through of the ``default`` preset). Ratios to the best single expert and to raw
   SST-A are of this run.
2. **Accuracy under known motion**: the clips of :func:`benchmarks.common.motion_clips`
   (written to a temp or ``--cache`` folder) run through the real estimate and aggregate
   stages of the ``default`` and ``yolo_blazepose`` presets, at ``video.frame_stride`` 1
   and 5. Per clip: mean pixel error over the GT joints a method predicts and PCK@0.2
   (a GT joint is a hit within 0.2 x the GT box's max side x the frame's zoom; an
   unpredicted joint is a miss), for raw SST-A and every setting; "worse" counts the
   clips where either is worse than raw.
3. **Cost**: refinement frames/s on one core (CPU time), lowest-highest over rounds,
   next to SST-A's measured in the same run.
4. **Selection**: per setting, the jitter ratios and the clips worse than raw.

Parts 1-2 print ``skipped: <reason>`` when an expert backend is unavailable.

Usage::

    python benchmarks/temporal.py                       # everything, in a temp folder
    python benchmarks/temporal.py --cache /tmp/ptbench  # reuse clips and estimates
    python benchmarks/temporal.py --skip motion         # parts: jitter, motion, cost
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.aggregate import (  # noqa: E402
    build_experts,
    run_pipeline,
    second_differences,
    track_series,
)
from benchmarks.aggregate import synthetic as ssta_synthetic  # noqa: E402
from benchmarks.common import VIDEOS, MotionClip, motion_clips  # noqa: E402
from posetools.aggregate import ssta_aggregate, track_restarts  # noqa: E402
from posetools.config.algorithms import RefineConfig, SSTAConfig  # noqa: E402
from posetools.temporal import refine_poses  # noqa: E402

AGG = ("keypoints", "scores", "valid", "matched", "track_ids", "expert_ran", "pts",
       "frame_index")
EXPERTS = ("blazepose", "yolo11n")
DEFAULT = "default"
PRESETS = ("default", "yolo_blazepose")
SHORT = {"default": "def", "yolo_blazepose": "yb"}
STRIDES = (1, 5)


def settings() -> dict[str, RefineConfig | None]:
    """Label -> options (``None``: raw SST-A). Unnamed fields are the defaults."""
    d = RefineConfig()
    s: dict[str, RefineConfig | None] = {"raw": None, DEFAULT: d,
                                         "reject+fill only": replace(d, smoother="none")}
    for fc in (3.0, 4.0, 4.5, 5.5, 6.0, 8.0):
        s[f"butter {fc:g} Hz"] = replace(d, cutoff_hz=fc)
    s["butter 5 Hz order 2"] = replace(d, butter_order=2)
    s["butter 5 Hz no rejection"] = replace(d, outliers="none", max_speed=0.0)
    s["butter 5 Hz linear fill"] = replace(d, gap_method="linear")
    s["butter 5 Hz no gap repair"] = replace(d, max_gap_s=0.0)
    s["butter 5 Hz max gap 0.2 s"] = replace(d, max_gap_s=0.2)
    for w in (0.2, 0.33, 0.5):
        s[f"savgol {w:g} s"] = replace(d, smoother="savgol", savgol_window_s=w)
    for sg in (0.03, 0.04, 0.05, 0.08):
        s[f"gaussian {sg:g} s"] = replace(d, smoother="gaussian", gaussian_sigma_s=sg)
    for mc, beta in ((1.0, 1.0), (1.0, 20.0), (0.5, 50.0)):
        s[f"one-euro {mc:g} Hz b{beta:g}"] = replace(d, smoother="one_euro",
                                                     one_euro_min_cutoff=mc, one_euro_beta=beta)
    return s


def read_agg(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path) as f:
        return {k: f[k][...] for k in AGG}


def refine(agg: dict[str, np.ndarray], cfg: RefineConfig | None):
    """``(keypoints (T,P,K,2), usable (T,P,K))`` after ``cfg``, as the aggregate stage does."""
    if cfg is None:
        return agg["keypoints"], agg["valid"][..., None] & (agg["scores"] > 0)
    r = refine_poses(agg["keypoints"], agg["scores"], agg["valid"], agg["pts"], cfg,
                     restart=track_restarts(agg["track_ids"]),
                     sampled=agg["expert_ran"].any(axis=0))
    return r.keypoints, r.valid[..., None] & (r.scores > 0)


def through_stage(est: Path, out: Path, pipe_aggregate, cfg: RefineConfig | None) -> Path:
    """The real ``AggregateStage`` on an estimate artifact."""
    from posetools.config.schema import VideoConfig
    from posetools.io.manifest import ManifestEntry
    from posetools.stages.aggregate import AggregateStage
    from posetools.stages.base import VideoJob

    entry = ManifestEntry(video_id=out.stem, path=est, row=1)
    stage = AggregateStage(replace(pipe_aggregate, refine=cfg), VideoConfig())
    with h5py.File(out, "w") as fh:
        stage.process(VideoJob(entry, est, out.parent, {"estimate": est}), fh, lambda n: None)
    return out


def same_as_stage(agg: dict, staged: Path) -> bool:
    kp, ok = refine(agg, RefineConfig())
    st = read_agg(staged)
    return bool(np.array_equal(kp, st["keypoints"], equal_nan=True)
                and np.array_equal(ok, st["valid"][..., None] & (st["scores"] > 0)))


# --------------------------------------------------------------------- part 1
def jitter(work: Path, sets: dict[str, RefineConfig | None], experts) -> dict:
    from posetools.config.schema import AggregateConfig
    from posetools.io.artifacts.estimate import EstimateArtifact
    from posetools.stages.aggregate import to_common_axis

    print("== 1. jitter: mean |2nd difference| / person size, COCO-17, common triples ==")
    videos = sorted(p for p in VIDEOS.glob("*") if p.is_file())
    methods = [*EXPERTS, *(f"SST-A {s}" for s in sets), f"BlazePose + {DEFAULT}"]
    per: dict[str, dict[str, list[float]]] = {}
    own: dict[str, dict[str, list[float]]] = {}
    checks, real = [], None
    for video in videos:
        est, agg_path = run_pipeline(video, experts, work, SSTAConfig())
        with h5py.File(est) as fe:
            est_art = EstimateArtifact.read(fe)
        inp = to_common_axis(est_art, "coco17")
        agg = read_agg(agg_path)
        staged = through_stage(est, work / f"{video.stem}.refined.h5", AggregateConfig(),
                               RefineConfig())
        checks.append(same_as_stage(agg, staged))
        if video.stem == "mmaction2_test":
            real = agg
        out = {lab: refine(agg, c) for lab, c in sets.items()}
        t, n_tracks = agg["keypoints"].shape[:2]
        sums = per.setdefault(video.stem, {m: [0.0, 0] for m in methods})
        osums = own.setdefault(video.stem, {m: [0.0, 0] for m in methods})
        b = est_art.names.index("blazepose")
        for p in range(n_tracks):
            series = track_series(est_art.names, inp, agg, p)
            if t < 3 or any(m not in series for m in EXPERTS):
                continue
            kp_a, ok_a = series["SST-A"]
            rows_ok = ok_a.any(axis=1)
            if rows_ok.sum() < 3:
                continue
            xs, ys = (np.where(ok_a, kp_a[..., i], np.nan)[rows_ok] for i in (0, 1))
            size = float(np.median(np.fmax(np.nanmax(xs, 1) - np.nanmin(xs, 1),
                                           np.nanmax(ys, 1) - np.nanmin(ys, 1))))
            cand = {m: series[m] for m in EXPERTS}
            for lab, (kp, ok) in out.items():
                cand[f"SST-A {lab}"] = (kp[:, p], ok[:, p])
            bkp, bok = series["blazepose"]
            r = refine_poses(np.where(bok[..., None], bkp, np.nan)[:, None],
                             bok[:, None].astype(np.float32), bok.any(1)[:, None], agg["pts"],
                             RefineConfig(), restart=track_restarts(agg["track_ids"][:, p:p + 1]),
                             sampled=inp.ran[b])
            cand[f"BlazePose + {DEFAULT}"] = (r.keypoints[:, 0],
                                              r.valid[:, 0, None] & (r.scores[:, 0] > 0))
            sd = {m: second_differences(np.asarray(k, np.float64), o) for m, (k, o) in cand.items()}
            common = np.logical_and.reduce([o for _, o in sd.values()])
            for m, (acc, o) in sd.items():
                sums[m][0] += float(acc[common].sum()) / size
                sums[m][1] += int(common.sum())
                osums[m][0] += float(acc[o].sum()) / size
                osums[m][1] += int(o.sum())
    per["ALL"] = {m: [sum(per[v][m][0] for v in per), sum(per[v][m][1] for v in per)]
                  for m in methods}
    cols = [*(v.stem for v in videos), "ALL"]
    val = {c: {m: per[c][m][0] / per[c][m][1] if per[c][m][1] else np.nan for m in methods}
           for c in cols}
    print(f"default refinement through AggregateStage == in-process on every video: "
          f"{all(checks)}")
    short = [c.split("_")[0][:10] for c in cols]
    print(f"{'method':<30}" + "".join(f"{s:>12}" for s in short))
    print(f"{'n (common triples)':<30}" + "".join(f"{per[c]['SST-A raw'][1]:>12}" for c in cols))
    for m in methods:
        print(f"{m:<30}" + "".join(f"{val[c][m]:>12.5f}" for c in cols))
    print("\nratio to the best single expert / ratio to raw SST-A (same run)")
    print(f"{'method':<30}" + "".join(f"{s:>12}" for s in short))
    for m in methods[len(EXPERTS):]:
        cells = []
        for c in cols:
            best = min(val[c][e] for e in EXPERTS)
            cells.append(f"{val[c][m] / best:5.2f}/{val[c][m] / val[c]['SST-A raw']:4.2f}"
                         if per[c][m][1] else "-")
        print(f"{m:<30}" + "".join(f"{x:>12}" for x in cells))
    print("\nown triples (each method over all its own triples; where no triple is common)")
    print(f"{'method':<30}" + "".join(f"{s:>12}" for s in short[:-1]))
    for m in methods:
        print(f"{m:<30}" + "".join(
            f"{own[c][m][0] / own[c][m][1]:>12.5f}" if own[c][m][1] else f"{'-':>12}"
            for c in cols[:-1]))
    return {"ratio": {c: {m: val[c][m] / min(val[c][e] for e in EXPERTS) for m in methods}
                      for c in cols if per[c]["SST-A raw"][1]}, "real": real}


# --------------------------------------------------------------------- part 2
def run_clip(clip: MotionClip, preset: str, stride: int, work: Path):
    """Real estimate + aggregate (raw, and default refinement) of one clip."""
    from posetools.config.presets import resolve_pipeline
    from posetools.config.schema import load_pipeline
    from posetools.io.manifest import ManifestEntry
    from posetools.stages.base import VideoJob
    from posetools.stages.estimate import EstimateStage

    pipe = load_pipeline(resolve_pipeline(preset))
    pipe = replace(pipe, video=replace(pipe.video, frame_stride=stride))
    d = work / f"{preset}-s{stride}"
    d.mkdir(parents=True, exist_ok=True)
    est = d / f"{clip.name}.estimate.h5"
    if not est.is_file():
        entry = ManifestEntry(video_id=clip.name, path=clip.video, row=1)
        tmp = est.with_name(f".{est.name}.tmp")
        with h5py.File(tmp, "w") as out:
            EstimateStage.from_pipeline(pipe).process(VideoJob(entry, clip.video, d), out,
                                                      lambda n: None)
        tmp.replace(est)
    raw = through_stage(est, d / f"{clip.name}.raw.h5", pipe.aggregate, None)
    staged = through_stage(est, d / f"{clip.name}.refined.h5", pipe.aggregate, RefineConfig())
    return read_agg(raw), staged


def clip_scores(kp, ok, clip: MotionClip, fi: np.ndarray) -> tuple[int, int, float, int]:
    """(hits, counted GT joints, error sum, predicted GT joints) of one slot."""
    gt, vis, norm = clip.keypoints[fi], clip.visible[fi], clip.norm[fi]
    d = np.linalg.norm(np.asarray(kp, np.float64) - gt, axis=-1)
    pred = ok & vis & np.isfinite(d)
    hits = pred & (d <= 0.2 * norm[:, None])
    return int(hits.sum()), int(vis.sum()), float(d[pred].sum()), int(pred.sum())


def known_motion(work: Path, sets: dict[str, RefineConfig | None], presets) -> dict:
    print("\n== 2. accuracy under known motion: err = mean px error of the predicted GT joints, "
          "PCK@0.2 ==")
    clips = motion_clips(work / "clips")
    res: dict = {}
    checks = []
    for preset in presets:
        for stride in STRIDES:
            table: dict[str, dict[str, tuple[float, float]]] = {}
            for clip in clips:
                agg, staged = run_clip(clip, preset, stride, work)
                checks.append(same_as_stage(agg, staged))
                fi = agg["frame_index"]
                ok0 = agg["valid"][..., None] & (agg["scores"] > 0)
                slot = max(range(ok0.shape[1]), key=lambda p: clip_scores(
                    agg["keypoints"][:, p], ok0[:, p], clip, fi)[0])  # the GT person's track
                cells = {}
                for lab, c in sets.items():
                    kp, ok = refine(agg, c)
                    h, n, e, npred = clip_scores(kp[:, slot], ok[:, slot], clip, fi)
                    cells[lab] = (e / max(npred, 1), h / max(n, 1))
                table[clip.name] = cells
            res[(preset, stride)] = table
            print_motion(preset, stride, table, sets)
    print(f"\ndefault refinement through AggregateStage == in-process on every clip: "
          f"{all(checks)}")
    return res


def short_clip(name: str) -> str:
    """``coco_000000000785`` -> ``c785``, ``h36m_S1_Directions_1...`` -> ``hS1``."""
    part = name.split("_")[1]
    return f"c{int(part)}" if name.startswith("coco") else f"h{part}"


def worse(cells: dict, lab: str) -> bool:
    (e, p), (re, rp) = cells[lab], cells["raw"]
    return e > re + 1e-9 or p < rp - 1e-9


def print_motion(preset: str, stride: int, table: dict, sets: dict) -> None:
    names = list(table)
    print(f"\n-- {preset}, video.frame_stride {stride}: err px / PCK@0.2 per clip --")
    print(f"{'method':<26}" + "".join(f"{short_clip(n):>13}" for n in names)
          + f"{'mean':>13}{'worse':>7}")
    for lab in sets:
        cells = [table[n][lab] for n in names]
        me = np.mean([c[0] for c in cells])
        mp = np.mean([c[1] for c in cells])
        n_worse = sum(worse(table[n], lab) for n in names)
        print(f"{lab:<26}" + "".join(f"{e:6.2f}/{p:5.3f}" for e, p in cells)
              + f"{me:6.2f}/{mp:5.3f}{n_worse:>5}/{len(names)}")


# --------------------------------------------------------------------- part 3
def synthetic(t: int, k: int = 17, seed: int = 0):
    """One noisy 17-joint track, 5 % of the joints missing."""
    rng = np.random.default_rng(seed)
    pts = np.arange(t) / 30
    kp = (300 + 80 * np.sin(2 * np.pi * 0.5 * pts)[:, None, None, None]
          + rng.uniform(-60, 60, (1, 1, k, 2)) + rng.normal(scale=2, size=(t, 1, k, 2)))
    kp[rng.random((t, 1, k)) < 0.05] = np.nan
    return {"keypoints": kp.astype(np.float32), "scores": np.full((t, 1, k), 0.9, np.float32),
            "valid": np.ones((t, 1), bool), "track_ids": np.zeros((t, 1), np.int32),
            "expert_ran": np.ones((1, t), bool), "pts": pts}


def cpu_fps(fn, t: int, rounds: int) -> tuple[float, float]:
    """Lowest and highest frames/s of ``rounds`` timed calls (CPU time)."""
    fps = []
    for _ in range(rounds):
        c0 = time.process_time()
        fn()
        fps.append(t / max(time.process_time() - c0, 1e-9))
    return min(fps), max(fps)


def cost(sets: dict[str, RefineConfig | None], real: dict | None, rounds: int = 5) -> None:
    print(f"\n== 3. cost: frames/s on one core (CPU time), lowest-highest of {rounds} rounds ==")
    data = {"synthetic T=2000, 1 track, 5% missing": synthetic(2000)}
    if real is not None:
        n = int(track_restarts(real["track_ids"]).sum())
        data[f"mmaction2_test T={real['pts'].size}, {n} restarts"] = real
    kp, sc = ssta_synthetic(2000)
    lo, hi = cpu_fps(lambda: ssta_aggregate(kp, sc), 2000, rounds)
    print(f"for scale, SST-A (3 experts x 17 joints, T=2000) in this run: {lo:,.0f}-{hi:,.0f}")
    print(f"{'setting':<26}" + "".join(f"{d:>42}" for d in data))
    for lab, c in sets.items():
        if c is None:
            continue
        cells = []
        for arrs in data.values():
            lo, hi = cpu_fps(lambda a=arrs, c=c: refine(a, c), arrs["pts"].size, rounds)
            cells.append(f"{lo:,.0f}-{hi:,.0f}")
        print(f"{lab:<26}" + "".join(f"{x:>42}" for x in cells))


# --------------------------------------------------------------------- part 4
def selection(jit: dict | None, motion: dict | None, sets: dict) -> None:
    print("\n== 4. selection: jitter / best single expert (<= 0.70) and clips worse than raw "
          "SST-A (err or PCK), per preset (def, yb) and video.frame_stride (s1, s5) ==")
    vids = [v for v in (jit or {}).get("ratio", {}) if v != "ALL"]
    keys = list(motion or {})
    print(f"{'setting':<26}{'ALL':>6}" + "".join(f"{v.split('_')[0][:9]:>10}" for v in vids)
          + "".join(f"{SHORT[p]}/s{s}".rjust(11) for p, s in keys))
    for lab in sets:
        m = f"SST-A {lab}"
        row = f"{lab:<26}"
        if jit:
            row += f"{jit['ratio']['ALL'][m]:>6.2f}" + "".join(
                f"{jit['ratio'][v][m]:>10.2f}" for v in vids)
        for k in keys:
            tab = motion[k]
            row += f"{sum(worse(tab[n], lab) for n in tab):>8}/{len(tab)}"
        print(row)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=None,
                    help="folder for the clips and estimate artifacts, reused across runs "
                         "(default: a temp folder, removed at the end)")
    ap.add_argument("--skip", nargs="*", default=(), choices=("jitter", "motion", "cost"))
    ap.add_argument("--presets", nargs="*", default=PRESETS, choices=PRESETS)
    args = ap.parse_args(argv)
    sets = settings()
    jit = motion = None
    with tempfile.TemporaryDirectory() as tmp:
        work = args.cache or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        try:
            experts = build_experts()
        except (Exception, NotImplementedError) as e:  # noqa: BLE001 - report any reason
            experts = None
            print(f"real experts: skipped: {type(e).__name__}: {e}")
        if experts is not None and "jitter" not in args.skip:
            with tempfile.TemporaryDirectory(dir=work) as jdir:
                jit = jitter(Path(jdir), sets, experts)
        if "motion" not in args.skip:
            presets = args.presets if experts is not None else ("default",)
            motion = known_motion(work, sets, presets)
        if "cost" not in args.skip:
            cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
            if cpus:
                os.sched_setaffinity(0, {min(cpus)})
            cost(sets, jit["real"] if jit else None)
            if cpus:
                os.sched_setaffinity(0, cpus)
    selection(jit, motion, sets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
