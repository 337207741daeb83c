"""GPU: detector + RTMPose-m model-only vs end-to-end, vs MMPoseInferencer; GPU heatmaps.

On a 1080p shared video (``demo_skeleton.mp4``), with the benchmark detector of
``benchmarks/cpu_backends.py`` (an RTMDet-m config proposing 3 plausible boxes per frame)
and RTMPose-m, seeded random weights saved as checkpoints and exported with
``export_onnx`` (no released weights can be downloaded; speed does not depend on them):

1. **model-only**: ``detect`` + ``estimate`` of the mm and ONNX backends, fp32 and fp16,
   batch sizes ``--batch-sizes``, on frames decoded beforehand (frames/s);
2. **end-to-end**: ``posetools run`` (probe -> detect -> estimate: decoding, both models,
   tracking, HDF5 writes) over hard-linked copies of the video, for each backend and
   precision at its best model-only batch size; the ratio to model-only (target >= 50 %);
3. **MMPoseInferencer** with the same configs, weights, video and device (target:
   posetools end-to-end >= 5x);
4. **heatmaps**: ``GpuHeatmapRenderer`` clips/s from cached keypoints vs reading the
   cached heatmaps (``benchmarks/heatmaps.py`` section 4; target: rendering faster).

Each figure is the range over ``--rounds`` rounds; ratios are taken inside a round.

    python benchmarks/gpu_pipeline.py [--device cuda:0] [--frames 256] [--rounds 3]
                                      [--batch-sizes 8,16,32,64,128]

Without a usable CUDA device it prints why and exits 0 (nothing measured).
``--allow-cpu`` runs every section on the CPU with small sizes, as a check that the
script works; its numbers are not GPU figures (mm fp16 is skipped there: it needs CUDA).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import VIDEOS, read_frames  # noqa: E402

VIDEO = VIDEOS / "demo_skeleton.mp4"
VARIANTS = [("mm", "fp32"), ("mm", "fp16"), ("onnx", "fp32"), ("onnx", "fp16")]


def cuda_problem(device: str) -> str | None:
    """Why ``device`` cannot run the benchmark's models, or ``None``."""
    from posetools.experts.devices import onnx_cuda_problem, torch_cuda_problem

    if not device.startswith("cuda"):
        return f"--device {device} is not a CUDA device"
    return torch_cuda_problem(device) or onnx_cuda_problem(device)


def configs(m: dict[str, str], backend: str, precision: str, bs: int, device: str):
    """Detector and expert configs of one variant."""
    from posetools.config.models import DetectorConfig, ExpertConfig

    det = DetectorConfig(backend=backend, score_threshold=0.3, nms_iou=0.65, max_detections=10,
                         batch_size=bs, device=device, precision=precision,
                         **({"model": m["det_onnx"]} if backend == "onnx" else
                            {"model": m["det_config"], "checkpoint": m["det_ckpt"]}))
    exp = ExpertConfig(name="rtmpose_m", backend=backend, top_down=True, batch_size=bs,
                       device=device, precision=precision,
                       **({"model": m["pose_onnx"]} if backend == "onnx" else
                          {"model": "rtmpose-m", "checkpoint": m["pose_ckpt"]}))
    return det, exp


def model_only(m, frames, backend, precision, bs, device, rounds) -> list[float]:
    """frames/s of detect + estimate on decoded ``frames``, one value per round."""
    import torch

    from posetools.experts.build import build_detector, build_expert
    from posetools.experts.finalize import finalize_detections

    dcfg, ecfg = configs(m, backend, precision, bs, device)
    det, exp = build_detector(dcfg), build_expert(ecfg)
    h, w = frames[0].shape[:2]

    def once() -> None:
        for i in range(0, len(frames), bs):
            batch = frames[i:i + bs]
            boxes = [finalize_detections(d, dcfg, w, h) for d in det.detect(batch)]
            exp.estimate(batch, boxes)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    once()  # warm-up: CUDA kernels, cuDNN autotuning, ONNX Runtime arenas
    rates = []
    for _ in range(rounds):
        t = time.perf_counter()
        once()
        rates.append(len(frames) / (time.perf_counter() - t))
    return rates


def pipeline_yaml(m, backend, precision, bs, device, path: Path) -> Path:
    """A probe -> detect -> estimate pipeline of one variant."""
    import yaml

    dcfg, ecfg = configs(m, backend, precision, bs, device)
    pick = ("backend", "model", "checkpoint", "batch_size", "device", "precision",
            "score_threshold", "nms_iou", "max_detections")
    det = {k: getattr(dcfg, k) for k in pick if getattr(dcfg, k, None) is not None}
    exp = {k: getattr(ecfg, k) for k in ("name", *pick[:6], "top_down")
           if getattr(ecfg, k, None) is not None}
    doc = {"name": f"gpu-{backend}-{precision}", "stages": ["probe", "detect", "estimate"],
           "detect": {"detector": det}, "estimate": {"experts": [exp]}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def end_to_end(yaml_path: Path, manifest: Path, out: Path, rounds: int) -> list[float]:
    """frames/s of forced runs of the pipeline (all three stages' wall time)."""
    from posetools.config.schema import load_pipeline
    from posetools.io.manifest import load_manifest
    from posetools.run.runner import Runner, RunOptions

    cfg, entries, rates = load_pipeline(yaml_path), load_manifest(manifest), []
    for r in range(rounds + 1):  # the first run warms the model files and kernels
        t = time.perf_counter()
        reports = Runner(cfg, out, RunOptions(force=True, progress=False)).run(entries)
        wall = time.perf_counter() - t
        bad = [(x.stage, x.failed[:1]) for x in reports if x.failed]
        if bad:
            raise SystemExit(f"end-to-end run failed: {bad}")
        if r:
            rates.append(reports[0].frames / wall)
    return rates


def copies(video: Path, n: int, root: Path) -> Path:
    """A manifest of ``n`` hard links (or copies) of ``video``."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        dst = root / f"{video.stem}-{i}{video.suffix}"
        try:
            os.link(video, dst)
        except OSError:
            shutil.copyfile(video, dst)
        rows.append(f"{dst.stem},{dst.name}\n")
    manifest = root / "manifest.csv"
    manifest.write_text("video_id,path\n" + "".join(rows))
    return manifest


def rng(xs: list[float]) -> str:
    return f"{min(xs):7.1f}-{max(xs):7.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--video", type=Path, default=VIDEO)
    ap.add_argument("--frames", type=int, default=256, help="decoded frames, model-only")
    ap.add_argument("--batch-sizes", default="8,16,32,64,128")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--allow-cpu", action="store_true",
                    help="no CUDA: run on the CPU with small sizes (checks the script only)")
    a = ap.parse_args(argv)
    problem = cuda_problem(a.device)
    if problem and not a.allow_cpu:
        print(f"gpu_pipeline: skipped, nothing measured: {problem} "
              f"(--allow-cpu checks the script on the CPU)")
        return 0
    if problem:
        a.device, a.frames, a.rounds, a.batch_sizes = "cpu", min(a.frames, 16), 1, "8"
        print(f"CPU CHECK ONLY ({problem}): these are not GPU figures")
    warnings.filterwarnings("ignore")
    import torch

    from benchmarks.cpu_backends import make_models
    from benchmarks.heatmaps import bench_read
    from benchmarks.mm_vs_inferencer import inferencer_runner
    from posetools.experts import zoo

    sizes = [int(s) for s in a.batch_sizes.split(",")]
    variants = [(b, p) for b, p in VARIANTS if not (problem and b == "mm" and p == "fp16")]
    decoded = read_frames(a.video, a.frames)
    frames = (decoded * -(-a.frames // len(decoded)))[:a.frames]
    h, w = frames[0].shape[:2]
    name = torch.cuda.get_device_name(a.device) if not problem else "cpu"
    print(f"{a.video.name} {w}x{h}, device {a.device} ({name}), {len(frames)} frames, "
          f"3 persons/frame, RTMDet-m + RTMPose-m, {a.rounds} rounds (lowest-highest)")
    root = Path(tempfile.mkdtemp(prefix="posetools-gpu-"))
    try:
        m = make_models("rtmdet-m", "rtmpose-m", root)
        print("\n== 1. model-only frames/s (decoded frames; detect + estimate) ==")
        best: dict[tuple[str, str], tuple[int, list[float]]] = {}
        for backend, precision in variants:
            for bs in sizes:
                r = model_only(m, frames, backend, precision, bs, a.device, a.rounds)
                print(f"  {backend:<4} {precision} batch {bs:>3}: {rng(r)} frames/s")
                if (backend, precision) not in best or min(r) > min(best[backend, precision][1]):
                    best[backend, precision] = (bs, r)
        print("\n== 2. end-to-end `run` (probe, detect, estimate; decode + HDF5 writes) ==")
        manifest = copies(a.video, max(1, len(frames) // len(decoded)), root / "videos")
        e2e: dict[tuple[str, str], list[float]] = {}
        for (backend, precision), (bs, r_model) in best.items():
            y = pipeline_yaml(m, backend, precision, bs, a.device, root / f"{backend}.yaml")
            e2e[backend, precision] = r = end_to_end(y, manifest, root / "out", a.rounds)
            print(f"  {backend:<4} {precision} batch {bs:>3}: {rng(r)} frames/s = "
                  f"{min(r) / max(r_model):.0%}-{max(r) / min(r_model):.0%} of model-only "
                  f"(target >= 50%)")
        print("\n== 3. MMPoseInferencer, same configs, weights, frames and device ==")
        pose_config = str(zoo.resolve_config("rtmpose-m", "expert")[0])
        infer = inferencer_runner(m["det_config"], m["det_ckpt"], pose_config, m["pose_ckpt"],
                                  a.device)
        sub = frames[:max(8, len(frames) // 4)]
        infer(sub[:2])
        rates = []
        for _ in range(a.rounds):
            t = time.perf_counter()
            infer(sub)
            rates.append(len(sub) / (time.perf_counter() - t))
        print(f"  MMPoseInferencer: {rng(rates)} frames/s")
        for key, r in e2e.items():
            print(f"  posetools {key[0]} {key[1]} end-to-end / MMPoseInferencer: "
                  f"{min(r) / max(rates):.1f}-{max(r) / min(rates):.1f}x (target >= 5x)")
        print("\n== 4. heatmaps: GPU rendering from keypoints vs reading the cache ==")
        bench_read(root / "heatmaps", videos=4 if problem else 16,
                   frames=96 if problem else 300, epochs=1 if problem else a.rounds)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
