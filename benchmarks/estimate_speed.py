"""Throughput of the ``estimate`` stage vs the same model in a bare loop.

Baseline (measured in the same run, same process, same model instance): the
expert's ``estimate`` called on batches of frames that were decoded into memory
beforehand. Measured: ``EstimateStage.process`` on the same video — decoding
(PyAV, in a background prefetch thread that overlaps inference), batching,
threshold post-processing, tracking, packing and writing the HDF5 artifact.

    overhead = stage_seconds / bare_seconds - 1        (target <= 0.15)

Decode time alone is printed too: with decode overlapped, the stage costs much
less than ``decode + bare``. Runs are interleaved and the best of ``--repeats``
is kept for each.

``--expert onnx`` measures the top-down ONNX path (issue #15): RTMPose (``--pose``,
seeded random weights) and the benchmark RTMDet of ``benchmarks/cpu_backends.py``,
exported with ``export_onnx`` (needs the mm stack to export); the ``detect`` stage runs
once first, and both the bare loop and the stage use its boxes (3 per frame).

Usage::

    python benchmarks/estimate_speed.py                       # mediapipe, demo_skeleton.mp4
    python benchmarks/estimate_speed.py --expert ultralytics  # needs the [yolo] extra
    python benchmarks/estimate_speed.py --expert onnx --batch-size 32 --threads 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import h5py

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import VIDEOS  # noqa: E402
from posetools.config import from_dict  # noqa: E402
from posetools.config.schema import PipelineConfig  # noqa: E402
from posetools.experts.build import cached_expert, reset_model  # noqa: E402
from posetools.io.manifest import ManifestEntry  # noqa: E402
from posetools.io.video import VideoReader  # noqa: E402
from posetools.stages.base import VideoJob  # noqa: E402
from posetools.stages.detect import read_detections  # noqa: E402
from posetools.stages.estimate import EstimateStage  # noqa: E402

MODELS = {"mediapipe": "full", "ultralytics": "yolo11n-pose"}


def bare(expert, frames, batch_size: int, dets=None) -> float:
    """Seconds for the bare loop over pre-decoded frames (top-down: on ``dets``)."""
    reset_model(expert)
    t0 = time.perf_counter()
    for i in range(0, len(frames), batch_size):
        if dets is None:
            expert.estimate(frames[i:i + batch_size])
        else:
            expert.estimate(frames[i:i + batch_size], dets[i:i + batch_size])
    return time.perf_counter() - t0


def onnx_pipeline(args, folder: Path) -> tuple[dict, Path]:
    """The top-down ONNX pipeline dict and the committed detect artifact of the video."""
    from benchmarks.cpu_backends import make_models
    from posetools.stages.detect import DetectStage

    m = make_models("rtmdet-nano", args.pose, folder)
    pipe = {"stages": ["detect", "estimate"],
            "detect": {"detector": {"backend": "onnx", "model": m["det_onnx"],
                                    "threads": args.threads}},
            "estimate": {"experts": [{"name": "x", "backend": "onnx", "model": m["pose_onnx"],
                                      "top_down": True, "batch_size": args.batch_size,
                                      "threads": args.threads}]}}
    detect = folder / "detect.h5"
    job = VideoJob(entry=ManifestEntry(video_id="bench", path=args.video, row=1),
                   video_path=args.video, out=folder)
    with h5py.File(detect, "w") as fh:
        DetectStage.from_pipeline(from_dict(PipelineConfig, pipe)).process(
            job, fh, progress=lambda n: None)
    return pipe, detect


def staged(stage: EstimateStage, job: VideoJob, out: Path) -> float:
    """Seconds for ``EstimateStage.process`` writing to ``out``."""
    t0 = time.perf_counter()
    with h5py.File(out, "w") as fh:
        stage.process(job, fh, progress=lambda n: None)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--expert", choices=[*MODELS, "onnx"], default="mediapipe")
    ap.add_argument("--pose", default="rtmpose-m", help="onnx: the pose model exported.")
    ap.add_argument("--threads", type=int, default=0, help="onnx: ONNX Runtime threads.")
    ap.add_argument("--video", type=Path, default=VIDEOS / "demo_skeleton.mp4")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    work = tempfile.TemporaryDirectory()
    upstream, dets = {}, None
    if args.expert == "onnx":
        spec, upstream["detect"] = onnx_pipeline(args, Path(work.name))
    else:
        spec = {"stages": ["estimate"], "estimate": {"experts": [
            {"name": "x", "backend": args.expert, "model": MODELS[args.expert],
             "batch_size": args.batch_size}]}}
    pipe = from_dict(PipelineConfig, spec)
    stage = EstimateStage.from_pipeline(pipe)
    expert = cached_expert(pipe.estimate.experts[0])  # the instance the stage uses
    job = VideoJob(entry=ManifestEntry(video_id="bench", path=args.video, row=1),
                   video_path=args.video, out=Path(work.name), upstream=upstream)

    t0 = time.perf_counter()
    decoded = list(VideoReader(args.video, prefetch=0))
    decode_s = time.perf_counter() - t0
    frames = [f.image for f in decoded]
    if upstream:
        with h5py.File(upstream["detect"], "r") as fh:
            per_frame = read_detections(fh)
        dets = [per_frame[f.index] for f in decoded]
    n = len(frames)
    h, w = frames[0].shape[:2]
    print(f"video {args.video.name}: {n} frames {w}x{h}; expert {args.expert}:"
          f"{expert.model_id}; batch {args.batch_size}; decode alone {decode_s:.2f}s "
          f"({n / decode_s:.1f} fps)")
    bare(expert, frames[: args.batch_size], args.batch_size, dets)  # warm-up (graph/JIT init)

    b_times, s_times = [], []
    with work:
        for r in range(args.repeats):
            b_times.append(bare(expert, frames, args.batch_size, dets))
            s_times.append(staged(stage, job, Path(work.name) / f"e{r}.h5"))
            print(f"  repeat {r}: bare {b_times[-1]:.2f}s  stage {s_times[-1]:.2f}s  "
                  f"({100 * (s_times[-1] / b_times[-1] - 1):+.1f}%)", flush=True)
    b, s = min(b_times), min(s_times)
    overhead = s / b - 1
    print(f"bare loop (pre-decoded): {n / b:6.1f} fps  ({b:.2f}s)")
    print(f"estimate stage         : {n / s:6.1f} fps  ({s:.2f}s)")
    print(f"decode + bare (serial) : {n / (decode_s + b):6.1f} fps  ({decode_s + b:.2f}s)")
    print(f"overhead of the stage  : {overhead * 100:+.1f}%  (target <= +15%) "
          f"-> {'OK' if overhead <= 0.15 else 'ABOVE TARGET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
