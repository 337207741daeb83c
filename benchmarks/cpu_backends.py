"""CPU: posetools ONNX vs posetools mm vs MMPoseInferencer vs rtmlib, same video and boxes.

Every runner runs the same detector on every frame and the same pose model on the
*same fixed boxes*: 3 persons on even frames, 2 on odd ones (2.5 per frame). Weights
are seeded random weights saved as checkpoints (no released weights can be downloaded
here; speed does not depend on their values); random detectors give arbitrary boxes,
so each runner's detector output is computed, then replaced by the fixed boxes
(MMPoseInferencer's detector is wrapped to do exactly that). The detector is an RTMDet
config derived from the bundled one, proposing 3 plausible boxes
(``benchmarks/mm_vs_inferencer.py``); the pose model RTMPose-m with its config's flip
test. Both are exported once with ``export_onnx``; posetools ONNX and rtmlib (PyPI
``rtmlib``: its ``Body`` solution with ``RTMDet`` as detector instead of YOLOX, batch 1
per crop, its defaults) run the *same two files*.

The machine may be shared: inside a round the runners alternate every ``--batch-size``
frames (rotating order), so load changes hit them alike; ratios are taken per round
and reported as ranges over the rounds. Keypoints are compared with posetools mm's.

    python benchmarks/cpu_backends.py [--frames 32] [--pose rtmpose-m] [--rounds 3]
                                      [--threads 2] [--ablate] [--json out.json]

rtmlib is optional: without it that runner is skipped with a message (e.g. run this
script with an interpreter that has ``pip install --no-deps rtmlib``). ``--ablate``
adds the per-crop cost of the CPU-path options (batching, session options, threads,
spinning, IO binding, float64 per-crop preprocessing).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import VIDEOS, read_frames  # noqa: E402
from posetools.config.models import DetectorConfig, ExpertConfig  # noqa: E402
from posetools.experts import onnx_ops as ops  # noqa: E402
from posetools.experts import zoo  # noqa: E402
from posetools.experts.backends import mm  # noqa: E402
from posetools.experts.backends.onnx import (  # noqa: E402
    OnnxDetector,
    OnnxPoseExpert,
    session_options,
)
from posetools.experts.finalize import finalize_detections, finalize_poses  # noqa: E402
from posetools.experts.onnx_export import export_onnx  # noqa: E402
from posetools.experts.types import Detections  # noqa: E402

BASE = np.array([[700, 80, 1250, 1060], [60, 300, 560, 1040], [1350, 200, 1800, 1000]],
                np.float32)


def fixed_boxes(n: int, w: int, h: int) -> list[np.ndarray]:
    """3 boxes on even frames, 2 on odd ones, drifting a little from frame to frame."""
    s = np.array([w / 1920, h / 1080, w / 1920, h / 1080], np.float32)
    out = []
    for i in range(n):
        jit = np.float32(7.0 * np.sin(0.3 * i + np.arange(3)))[:, None]
        out.append(((BASE + jit) * s)[: 3 if i % 2 == 0 else 2])
    return out


def make_models(det: str, pose: str, folder: Path) -> dict[str, str]:
    """Checkpoints and ONNX exports of the benchmark detector and pose model.

    Returns:
        ``det_config``, ``det_ckpt``, ``det_onnx``, ``pose_ckpt``, ``pose_onnx`` paths.
    """
    config = zoo.resolve_config(det, "detector")[0]
    derived = folder / f"bench_{config.stem}.py"
    derived.write_text(f"_base_ = [{str(config)!r}]\nmodel = dict(test_cfg=dict(max_per_img=3))\n")
    b = mm.build_model("detector", str(derived), zoo.RANDOM_INIT)
    head = b.model.bbox_head
    with torch.no_grad():  # every anchor: score 0.9, a box a few strides wide
        for conv, val in [(c, 2.2) for c in head.rtm_cls] + [(c, 2.0) for c in head.rtm_reg]:
            conv.weight.zero_()
            conv.bias.fill_(val)
    out = {"det_config": str(derived), "det_ckpt": str(folder / "det.pth"),
           "pose_ckpt": str(folder / "pose.pth")}
    torch.save({"state_dict": b.model.state_dict()}, out["det_ckpt"])
    p = mm.build_model("expert", pose, zoo.RANDOM_INIT)
    torch.save({"state_dict": p.model.state_dict()}, out["pose_ckpt"])
    out["det_onnx"] = str(export_onnx(str(derived), folder / "det.onnx", out["det_ckpt"],
                                      kind="detector").path)
    out["pose_onnx"] = str(export_onnx(pose, folder / "pose.onnx", out["pose_ckpt"]).path)
    return out


class _FixedBoxDetector:
    """Wraps MMPoseInferencer's detector: runs it, then swaps in the fixed boxes."""

    def __init__(self, det, table: dict[int, np.ndarray]) -> None:
        self.det, self.table = det, table

    def __call__(self, inp, **kw):
        from mmengine.structures import InstanceData

        out = self.det(inp, **kw)
        boxes = torch.from_numpy(self.table[id(inp)])
        n = len(boxes)
        out["predictions"][0].pred_instances = InstanceData(
            bboxes=boxes, scores=torch.full((n,), 0.9), labels=torch.zeros(n, dtype=torch.long))
        return out


def posetools_runner(det, exp, frames, dets, bs: int):
    """The detect + estimate stages' model calls (finalized once, as the stages do)."""
    def run(lo: int, hi: int) -> list:
        out = []
        for i in range(lo, hi, bs):
            j = min(i + bs, hi)
            for f, d in zip(frames[i:j], det.detect(frames[i:j]), strict=True):
                finalize_detections(d, det.cfg, f.shape[1], f.shape[0])  # replaced by `dets`
            out.extend(finalize_poses(p, exp.cfg) for p in exp.estimate(frames[i:j], dets[i:j]))
        return [(p.keypoints, p.scores) for p in out]
    return run


def inferencer_runner(m: dict, pose: str, frames, boxes, bgr):
    from mmpose.apis import MMPoseInferencer

    inf = MMPoseInferencer(pose2d=str(zoo.resolve_config(pose, "expert")[0]),
                           pose2d_weights=m["pose_ckpt"], det_model=m["det_config"],
                           det_weights=m["det_ckpt"], det_cat_ids=[0], device="cpu",
                           show_progress=False)
    table = {id(x): b for x, b in zip(bgr, boxes, strict=True)}
    inf.inferencer.detector = _FixedBoxDetector(inf.inferencer.detector, table)

    def run(lo: int, hi: int) -> list:
        res = [r["predictions"][0] for r in inf(bgr[lo:hi], bbox_thr=0.3, nms_thr=0.3)]
        out = []
        for r, b in zip(res, boxes[lo:hi], strict=True):  # back into the fixed boxes' order
            got = np.array([np.asarray(x["bbox"]).reshape(4) for x in r])
            order = [int(np.abs(got - bb).max(1).argmin()) for bb in b]
            out.append((np.array([r[j]["keypoints"] for j in order], np.float32),
                        np.array([r[j]["keypoint_scores"] for j in order], np.float32)))
        return out
    return run


def rtmlib_runner(m: dict, frames, boxes, bgr):
    """rtmlib's Body on the same files; its detector is RTMDet, its output replaced."""
    from rtmlib import Body, RTMDet

    det_meta = OnnxDetector(DetectorConfig(backend="onnx", model=m["det_onnx"]))._s
    with contextlib.redirect_stdout(io.StringIO()):
        body = Body(pose=m["pose_onnx"], pose_input_size=(192, 256), det=m["det_onnx"],
                    det_input_size=det_meta.size_wh, backend="onnxruntime", device="cpu")
        rdet = RTMDet(m["det_onnx"], model_input_size=det_meta.size_wh,
                      backend="onnxruntime", device="cpu")
    table = {id(f): (b, fb) for f, b, fb in zip(frames, boxes, bgr, strict=True)}

    def det(image):
        b, fb = table[id(image)]
        rdet(fb)  # the detector sees BGR (its mean / std are BGR), as rtmlib users give it
        return list(b)

    body.det_model = det

    def run(lo: int, hi: int) -> list:
        return [body(f) for f in frames[lo:hi]]  # the pose model was exported for RGB
    return run


def max_kp_diff(a: list, ref: list) -> float:
    worst = 0.0
    for (ka, _), (kr, sr) in zip(a, ref, strict=True):
        ok = (sr > 0) & np.isfinite(kr).all(-1)
        worst = max(worst, float(np.abs(np.asarray(ka)[ok] - kr[ok]).max(initial=0.0)))
    return worst


def bare_session(pose_onnx: str, frames, boxes, bs: int, threads: int) -> tuple[float, float]:
    """Seconds of (``session.run`` alone, the ONNX expert's ``estimate``) on the same crops."""
    exp = OnnxPoseExpert(ExpertConfig(name="p", backend="onnx", model=pose_onnx, top_down=True,
                                      batch_size=bs, threads=threads))
    s = exp._s
    jobs = [(f, b[i]) for f, b in enumerate(boxes) for i in range(len(b))]
    crops, _, _ = ops.topdown_crops(frames, jobs, s.size_wh)
    x = s.normalize(crops).copy()
    batches = [x[i:i + bs] for i in range(0, len(x), bs)]
    names = list(s.outputs)
    dets = [Detections(b, np.full(len(b), 0.9, np.float32)) for b in boxes]
    exp.estimate(frames[:2], dets[:2])
    bare = est = float("inf")
    for _ in range(3):  # interleaved, best of each
        t = time.perf_counter()
        for b in batches:
            s.sess.run(names, {s.input_name: b})
        bare = min(bare, time.perf_counter() - t)
        t = time.perf_counter()
        exp.estimate(frames, dets)
        est = min(est, time.perf_counter() - t)
    return bare, est


def ablate(pose_onnx: str, frames, boxes, threads: int,
           rounds: int = 3) -> list[tuple[str, float, float]]:
    """ms per crop (best, median over interleaved rounds) of the CPU-path options."""
    import onnxruntime as ort

    meta = OnnxPoseExpert(ExpertConfig(name="p", backend="onnx", model=pose_onnx,
                                       top_down=True))._s
    jobs = [(f, b[i]) for f, b in enumerate(boxes[:10]) for i in range(len(b))]
    crops, _, _ = ops.topdown_crops(frames, jobs, meta.size_wh)
    mean, std = (np.asarray(meta.meta[k], np.float32) for k in ("mean", "std"))
    n = len(crops)

    def make(sess, bs, io_binding=False, prep="numpy32"):
        names = [o.name for o in sess.get_outputs()]
        inp = sess.get_inputs()[0].name

        def prep_batch(c):
            if prep == "float64":  # rtmlib: float64 arithmetic per crop, then a cast
                return np.stack([((x - mean.astype(np.float64)) / std).transpose(2, 0, 1)
                                 for x in c]).astype(np.float32)
            return ops.to_nchw(c, mean, std, False)

        def go():
            for i in range(0, n, bs):
                xb = prep_batch(crops[i:i + bs])
                if io_binding:
                    bind = sess.io_binding()
                    bind.bind_cpu_input(inp, xb)
                    for nm in names:
                        bind.bind_output(nm)
                    sess.run_with_iobinding(bind)
                    bind.copy_outputs_to_cpu()
                else:
                    sess.run(names, {inp: xb})
        return go

    cpu = ["CPUExecutionProvider"]
    default = ort.InferenceSession(pose_onnx, providers=cpu)
    ours = ort.InferenceSession(pose_onnx, session_options(threads), providers=cpu)
    spin = ort.InferenceSession(pose_onnx, session_options(threads, spinning=True), providers=cpu)
    one = ort.InferenceSession(pose_onnx, session_options(1), providers=cpu)
    cases = {
        "batch 1, default session, float64 prep (rtmlib)": make(default, 1, prep="float64"),
        "batch 1, default session": make(default, 1),
        "batch 1, posetools session": make(ours, 1),
        "batch 8, default session": make(default, 8),
        "batch 8, posetools session": make(ours, 8),
        "batch 25, posetools session": make(ours, 25),
        "batch 8, posetools session, spinning on": make(spin, 8),
        "batch 8, 1 intra-op thread": make(one, 8),
        "batch 8, posetools session, IO binding": make(ours, 8, io_binding=True),
    }
    for f in cases.values():
        f()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in cases}
    for r in range(rounds):
        keys = list(cases)
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:
            t = time.perf_counter()
            cases[k]()
            times[k].append(1000 * (time.perf_counter() - t) / n)
    return [(k, min(v), float(np.median(v))) for k, v in times.items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=VIDEOS / "demo_skeleton.mp4")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--det", default="rtmdet-nano")
    ap.add_argument("--pose", default="rtmpose-m")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=8, help="Frames per call (crops: 4x).")
    ap.add_argument("--threads", type=int, default=2, help="torch and ONNX Runtime threads.")
    ap.add_argument("--ablate", action="store_true")
    ap.add_argument("--json", type=Path, help="Write the measurements here.")
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(a.threads)
    frames = read_frames(a.video, a.frames)
    h, w = frames[0].shape[:2]
    boxes = fixed_boxes(len(frames), w, h)
    bgr = [np.ascontiguousarray(f[..., ::-1]) for f in frames]  # MMPoseInferencer, rtmlib
    dets = [Detections(b, np.full(len(b), 0.9, np.float32)) for b in boxes]
    print(f"{a.video.name} {w}x{h}, {len(frames)} frames, {np.mean([len(b) for b in boxes])} "
          f"persons/frame, det {a.det}, pose {a.pose}, {a.threads} threads, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    bs = a.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        m = make_models(a.det, a.pose, Path(tmp))
        det_kw = dict(batch_size=bs, threads=a.threads)
        exp_kw = dict(name="p", top_down=True, batch_size=4 * bs, threads=a.threads)
        run = {
            "posetools onnx": posetools_runner(
                OnnxDetector(DetectorConfig(backend="onnx", model=m["det_onnx"], **det_kw)),
                OnnxPoseExpert(ExpertConfig(backend="onnx", model=m["pose_onnx"], **exp_kw)),
                frames, dets, bs),
            "posetools mm": posetools_runner(
                mm.MMDetector(DetectorConfig(backend="mm", model=m["det_config"],
                                             checkpoint=m["det_ckpt"], **det_kw)),
                mm.MMPoseExpert(ExpertConfig(backend="mm", model=a.pose,
                                             checkpoint=m["pose_ckpt"], **exp_kw)),
                frames, dets, bs),
            "MMPoseInferencer": inferencer_runner(m, a.pose, frames, boxes, bgr),
        }
        try:
            run["rtmlib"] = rtmlib_runner(m, frames, boxes, bgr)
        except ImportError as e:
            print(f"rtmlib skipped: not importable ({e}); pip install --no-deps rtmlib")
        for r in run.values():  # warm-up
            r(0, 2)
        fps: dict[str, list[float]] = {k: [] for k in run}
        outs: dict[str, list] = {}
        n = len(frames)
        for rnd in range(a.rounds):
            secs = dict.fromkeys(run, 0.0)
            got: dict[str, list] = {k: [] for k in run}
            for c, lo in enumerate(range(0, n, bs)):
                names = list(run)
                for k in names[c % len(names):] + names[:c % len(names)]:
                    t = time.perf_counter()
                    got[k].extend(run[k](lo, min(lo + bs, n)))
                    secs[k] += time.perf_counter() - t
            for k in run:
                fps[k].append(n / secs[k])
            outs = got
            print(f"round {rnd} (load {os.getloadavg()[0]:.1f}): "
                  + ", ".join(f"{k} {fps[k][-1]:.2f}" for k in run), flush=True)
        bare, est = bare_session(m["pose_onnx"], frames, boxes, 4 * bs, a.threads)
        abl = ablate(m["pose_onnx"], frames, boxes, a.threads) if a.ablate else []
    ref = outs["posetools mm"]
    res: dict = {"fps": fps, "kp_diff_vs_mm": {k: max_kp_diff(v, ref) for k, v in outs.items()},
                 "bare_session_s": bare, "onnx_estimate_s": est, "ablation_ms_per_crop": abl,
                 "ratios": {}}
    print(f"\n{'backend':<18}{'frames/s (min - max)':>22}{'max |dkp| vs mm px':>22}")
    for k, v in fps.items():
        print(f"{k:<18}{min(v):>10.2f} - {max(v):<9.2f}{res['kp_diff_vs_mm'][k]:>20.4f}")
    targets = [("posetools onnx", "rtmlib", 1.5), ("posetools onnx", "MMPoseInferencer", 3.0),
               ("posetools mm", "MMPoseInferencer", 2.0), ("rtmlib", "MMPoseInferencer", None)]
    for x, y, target in targets:
        if x not in fps or y not in fps:
            continue
        r = [p / q for p, q in zip(fps[x], fps[y], strict=True)]
        res["ratios"][f"{x} / {y}"] = r
        met = "" if target is None else (
            f"  target >= {target}x: met in {sum(v >= target for v in r)} of {len(r)} rounds")
        print(f"{x + ' / ' + y:<36} {min(r):5.2f}x - {max(r):5.2f}x  "
              f"({', '.join(f'{v:.2f}' for v in r)}){met}")
    print(f"pose model, same crops: bare session.run {bare:.2f}s, ONNX expert estimate "
          f"{est:.2f}s ({100 * (est / bare - 1):+.1f}%)")
    for label, b, med in abl:
        print(f"  {label:<46} best {b:7.2f}  median {med:7.2f} ms/crop")
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
