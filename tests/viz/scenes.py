"""A synthetic two-expert aggregate with every mark the overlay draws (through the classes)."""

from __future__ import annotations

import numpy as np

from posetools.io.artifacts.aggregate import AggregateArtifact, RefineRecord
from posetools.io.artifacts.estimate import EstimateArtifact
from posetools.skeletons import COCO17
from tests.support.artifacts import expert_poses, frame_axis

W, H = 320, 240
K = 17


def pose() -> np.ndarray:
    """``(K, 2)`` joints spread over the lower-middle of a 320x240 frame, 10 px apart."""
    k = np.arange(K)
    return np.stack([100.0 + 10 * (k % 6), 120.0 + 22 * (k // 6)], -1).astype(np.float32)


def scene_artifacts(gamma: float = 0.3) -> tuple[AggregateArtifact, EstimateArtifact]:
    """Rows (frames 0..4): 0 normal, 1 dropped (C < gamma), 2 two joints only, joint 5
    filled by SST-A, 3 joint 7 rejected by the refinement (raw at (280, 220)) and joint 9
    repaired, 4 nobody."""
    t, p = 5, 1
    fr = frame_axis(np.arange(t), width=W, height=H)
    kp = np.repeat(pose()[None, None], t, 0)
    sc = np.full((t, p, K), 0.9, np.float32)
    src = np.where(np.arange(K) < 9, 0, 1).astype(np.int8)[None, None].repeat(t, 0)
    valid = np.ones((t, p), bool)
    conf = np.full((t, p), 0.8, np.float32)
    tid = np.zeros((t, p), np.int32)
    filled = np.zeros((t, p, K), bool)
    # row 1 dropped: discarded pose
    kp[1], sc[1], src[1], valid[1], conf[1] = np.nan, 0, -1, False, 0.1
    # row 2: only joints 5 (filled by SST-A) and 12 (limbs need neighbours: none drawn)
    keep = np.zeros(K, bool)
    keep[[5, 12]] = True
    kp[2, 0, ~keep], sc[2, 0, ~keep], src[2, 0, ~keep] = np.nan, 0, -1
    filled[2, 0, 5], src[2, 0, 5] = True, -1
    # row 4: nobody
    kp[4], sc[4], src[4], valid[4], conf[4], tid[4] = np.nan, 0, -1, False, 0, -1
    raw_kp, raw_sc, raw_valid = kp.copy(), sc.copy(), valid.copy()
    rejected = np.zeros((t, p, K), bool)
    rfilled = np.zeros((t, p, K), bool)
    rejected[3, 0, 7], raw_kp[3, 0, 7] = True, (280, 220)
    kp[3, 0, 7], sc[3, 0, 7] = np.nan, 0
    rfilled[3, 0, 9] = True
    ref = RefineRecord(raw_kp, raw_sc, raw_valid, rejected, rfilled, "{}", 1 / 30)
    matched = np.where(tid >= 0, 0, -1)[None].repeat(2, 0).astype(np.int16)
    agg = AggregateArtifact(fr, kp, sc, src, conf, valid, filled, tid, matched,
                            np.ones((2, t), bool), COCO17.joints, "coco17",
                            ("alpha", "beta"), "alpha", gamma, "{}", ref)
    ekp = np.repeat(pose()[None, None], t, 0) + np.float32(3)
    esc = np.full((t, 1, K), 0.8, np.float32)
    ekp[4], esc[4] = np.nan, 0
    experts = (expert_poses("alpha", np.arange(t), ekp, esc, "coco17"),
               expert_poses("beta", np.arange(0, t, 2), ekp[::2] - 6, esc[::2], "coco17"))
    return agg, EstimateArtifact(fr, experts)
