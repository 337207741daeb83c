"""posetools' mm backend vs mmpose's MMPoseInferencer: detector + RTMPose, frames/s.

Both pipelines run the same video frames with the same detector and pose configs and the
*same weights*: seeded random weights written to checkpoint files that both load
(no released weights can be downloaded here; speed does not depend on their values).

Random detector weights score every anchor alike, which no real clip does, so the
benchmark detector is an RTMDet config (derived from the bundled one) and checkpoint
that propose ``--persons`` plausible boxes per frame, like a clip with a few people;
both pipelines load that same config and checkpoint. Both use score threshold 0.3 and
NMS IoU 0.3 (MMPoseInferencer's defaults), so they see the same boxes.

    python benchmarks/mm_vs_inferencer.py [--frames 32] [--device cpu] [--batch-size 8]

Prints frames/s of each and the ratio (target >= 2x on CPU).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import VIDEOS, read_frames  # noqa: E402
from posetools.config.models import DetectorConfig, ExpertConfig  # noqa: E402
from posetools.experts import zoo  # noqa: E402
from posetools.experts.backends import mm  # noqa: E402

VIDEO = VIDEOS / "demo_skeleton.mp4"


def synthetic_detector(name: str, persons: int, folder: Path) -> tuple[str, Path]:
    """A config + checkpoint for an RTMDet that proposes ``persons`` plausible boxes.

    Seeded random networks collapse to spatially constant outputs, so a random detector
    scores every anchor the same and regresses slivers. Here the class layers output a
    fixed 0.9, the box layers a box a few strides wide around each anchor, and the config
    (shared by both pipelines) keeps the ``persons`` best boxes per frame.
    """
    config = zoo.resolve_config(name, "detector")[0]
    derived = folder / f"bench_{config.stem}.py"
    derived.write_text(f"_base_ = [{str(config)!r}]\n"
                       f"model = dict(test_cfg=dict(max_per_img={persons}))\n")
    det = mm.MMDetector(DetectorConfig(backend="mm", model=str(derived),
                                       checkpoint=zoo.RANDOM_INIT))
    model = det._b.model
    head = getattr(model, "bbox_head", None)
    if not all(hasattr(head, a) for a in ("rtm_cls", "rtm_reg")):
        raise SystemExit(f"--det {name}: only RTMDet detectors are supported here")
    with torch.no_grad():
        for conv, val in [(c, 2.2) for c in head.rtm_cls] + [(c, 2.0) for c in head.rtm_reg]:
            conv.weight.zero_()
            conv.bias.fill_(val)
    ckpt = folder / "det.pth"
    torch.save({"state_dict": model.state_dict()}, ckpt)
    mm.clear_model_cache()
    return str(derived), ckpt


def posetools_runner(det_cfg: DetectorConfig, exp_cfg: ExpertConfig, bs: int):
    det, exp = mm.MMDetector(det_cfg), mm.MMPoseExpert(exp_cfg)

    def run(frames):
        out = []
        for i in range(0, len(frames), bs):
            batch = frames[i : i + bs]
            out.extend(exp.estimate(batch, det.detect(batch)))
        return out

    return run


def inferencer_runner(det_config, det_ckpt, pose_config, pose_ckpt, device):
    from mmpose.apis import MMPoseInferencer

    inf = MMPoseInferencer(pose2d=pose_config, pose2d_weights=pose_ckpt, det_model=det_config,
                           det_weights=det_ckpt, det_cat_ids=[0], device=device,
                           show_progress=False)

    def run(frames):
        bgr = [np.ascontiguousarray(f[..., ::-1]) for f in frames]  # its native input
        return [r["predictions"][0] for r in inf(bgr, bbox_thr=0.3, nms_thr=0.3)]

    return run


def timed(run, frames) -> tuple[float, list]:
    t = time.perf_counter()
    out = run(frames)
    return len(frames) / (time.perf_counter() - t), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=VIDEO)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--det", default="rtmdet-nano")
    ap.add_argument("--pose", default="rtmpose-t")
    ap.add_argument("--persons", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    frames = read_frames(args.video, args.frames)
    h, w = frames[0].shape[:2]
    print(f"video {args.video.name} {w}x{h}, {len(frames)} frames, device {args.device}, "
          f"torch threads {torch.get_num_threads()}, detector {args.det}, pose {args.pose}")
    with tempfile.TemporaryDirectory() as tmp:
        # checkpoints are written from unfused models (what a released checkpoint holds)
        fast, mm.models.FAST_INFERENCE = mm.models.FAST_INFERENCE, False
        det_config, det_ckpt = synthetic_detector(args.det, args.persons, Path(tmp))
        pose_ckpt = Path(tmp) / "pose.pth"
        pose = mm.MMPoseExpert(ExpertConfig(name="p", backend="mm", model=args.pose,
                                            checkpoint=zoo.RANDOM_INIT, top_down=True))
        torch.save({"state_dict": pose._b.model.state_dict()}, pose_ckpt)
        mm.clear_model_cache()
        mm.models.FAST_INFERENCE = fast
        det_cfg = DetectorConfig(backend="mm", model=det_config, checkpoint=str(det_ckpt),
                                 score_threshold=0.3, nms_iou=0.3, max_detections=100,
                                 batch_size=args.batch_size, device=args.device)
        exp_cfg = ExpertConfig(name="p", backend="mm", model=args.pose,
                               checkpoint=str(pose_ckpt), top_down=True,
                               batch_size=4 * args.batch_size, device=args.device)
        pose_config = str(zoo.resolve_config(args.pose, "expert")[0])
        ours_run = posetools_runner(det_cfg, exp_cfg, args.batch_size)
        ref_run = inferencer_runner(det_config, str(det_ckpt), pose_config, str(pose_ckpt),
                                    args.device)
        ours_run(frames[:2]), ref_run(frames[:2])  # warm-up
        ours_fps = ref_fps = 0.0
        for _ in range(args.rounds):  # alternate, keep each one's best round
            fps, ours = timed(ours_run, frames)
            ours_fps = max(ours_fps, fps)
            fps, ref = timed(ref_run, frames)
            ref_fps = max(ref_fps, fps)
    n_ours = [len(p) for p in ours]
    n_ref = [len(p) for p in ref]
    print(f"persons/frame: posetools {np.mean(n_ours):.2f}, inferencer {np.mean(n_ref):.2f} "
          f"(frames with equal counts: {np.mean(np.equal(n_ours, n_ref)):.0%})")
    same, clipped, diffs = 0, 0, []
    for p, r in zip(ours, ref, strict=True):
        for inst in r:  # compare keypoints of instances on the same box
            box = np.asarray(inst["bbox"]).reshape(4)
            hit = np.abs(p.boxes - box).max(1) < 1e-3
            if not hit.any():
                clipped += 1  # a box running off the frame: posetools clips it, mmpose not
                continue
            j, kp = int(np.argmax(hit)), np.asarray(inst["keypoints"])
            found = p.scores[j] > 0
            same += 1
            diffs.append(np.abs(p.keypoints[j][found] - kp[found]).max(initial=0.0))
    print(f"instances on identical boxes: {same}, max keypoint difference "
          f"{max(diffs, default=0.0):.4f} px; boxes clipped to the frame by posetools: {clipped}")
    print(f"posetools estimate   : {ours_fps:7.2f} frames/s")
    print(f"MMPoseInferencer     : {ref_fps:7.2f} frames/s")
    print(f"speed-up             : {ours_fps / ref_fps:7.2f}x")


if __name__ == "__main__":
    main()
