"""The named skeleton layouts and :func:`get_layout`.

:func:`get_layout` resolves the ``layout`` attribute stored in artifacts.

Joint orders and the conversion rules between layouts are tabled in
``docs/skeletons.md``.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .layout import SkeletonLayout, both_sides, build_layout, chain, sides

# --------------------------------------------------------------------- COCO-17
_COCO_JOINTS = ["nose", *sides("eye", "ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle")]
_COCO_LIMBS = [
    ("left_eye", "right_eye"), ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    *both_sides(
        ("nose", "{s}_eye"), ("{s}_eye", "{s}_ear"), ("{s}_ear", "{s}_shoulder"),
        ("{s}_shoulder", "{s}_elbow"), ("{s}_elbow", "{s}_wrist"), ("{s}_shoulder", "{s}_hip"),
        ("{s}_hip", "{s}_knee"), ("{s}_knee", "{s}_ankle"),
    ),
]
_MMACTION2_COCO_LIMBS = [
    ("nose", "left_shoulder"), ("nose", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_shoulder", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
    ("right_eye", "right_ear"), ("left_hip", "right_hip"),
]
"""mmaction2's 17 COCO limbs in the order of its limb PoseC3D configs (``skeletons`` of
``slowonly_r50_8xb16-u48-240e_ntu60-xsub-limb.py``), start joint first. Unlike the 19
official COCO edges: nose-shoulders instead of eye-eye, ear-shoulders and
shoulder-shoulder."""

COCO17 = build_layout("coco17", _COCO_JOINTS, _COCO_LIMBS,
                      limb_sets_by_name={"mmaction2": _MMACTION2_COCO_LIMBS})
"""COCO keypoints: nose, then left/right eye, ear, shoulder, elbow, wrist, hip, knee, ankle.

``limbs`` are the 19 edges of the official COCO skeleton; ``limb_sets["mmaction2"]``
the 17 edges (and channel order) of mmaction2's limb models."""

COCO17_SIGMAS = np.array(
    [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07,
     0.87, 0.87, 0.89, 0.89], dtype=np.float64,
) / 10.0
"""``(17,)`` per-joint OKS falloff constants of the COCO keypoint benchmark."""

# ----------------------------------------------------------------- Halpe-26
_HALPE_JOINTS = [
    *_COCO_JOINTS, "head", "neck", "hip", *sides("big_toe", "small_toe", "heel"),
]
_HALPE_LIMBS = [
    ("left_eye", "right_eye"),
    ("nose", "head"), ("head", "neck"), ("neck", "hip"),
    *both_sides(
        ("nose", "{s}_eye"), ("{s}_eye", "{s}_ear"), ("neck", "{s}_shoulder"),
        ("{s}_shoulder", "{s}_elbow"), ("{s}_elbow", "{s}_wrist"), ("hip", "{s}_hip"),
        ("{s}_hip", "{s}_knee"), ("{s}_knee", "{s}_ankle"), ("{s}_ankle", "{s}_heel"),
        ("{s}_heel", "{s}_big_toe"), ("{s}_heel", "{s}_small_toe"),
        ("{s}_big_toe", "{s}_small_toe"),
    ),
]
HALPE26 = build_layout("halpe26", _HALPE_JOINTS, _HALPE_LIMBS)
"""Halpe full-body 26: the COCO-17 joints, then head, neck, hip (pelvis) and 3 per foot."""

# ------------------------------------------------------- COCO-WholeBody-133
_FINGERS = ("thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger")


def _hand(side: str) -> list[str]:
    return [f"{side}_hand_root"] + [f"{side}_{f}{i}" for f in _FINGERS for i in range(1, 5)]


# Face: the 68 iBUG points face_0..face_67. Mirror pairs (0-based; the lower id is
# on the subject's right, i.e. image-left for a frontal face): jaw i <-> 16-i,
# brows 17..21 <-> 26..22, nose base 31,32 <-> 35,34, eyes 36..41 <-> 45,44,43,42,
# 47,46, outer mouth 48,49,50,55,56 <-> 54,53,52,59,58, inner mouth 60,61,65 <->
# 64,63,67. Points 8, 27-30, 33, 51, 57, 62, 66 are central.
_FACE_MIRROR = {
    **{i: 16 - i for i in range(8)},
    **{17 + i: 26 - i for i in range(5)},
    31: 35, 32: 34,
    36: 45, 37: 44, 38: 43, 39: 42, 40: 47, 41: 46,
    48: 54, 49: 53, 50: 52, 55: 59, 56: 58,
    60: 64, 61: 63, 65: 67,
}
_FACE0 = 23  # index of face_0 in COCO-WholeBody


def _wholebody() -> SkeletonLayout:
    face = [f"face_{i}" for i in range(68)]
    joints = [
        *_COCO_JOINTS,
        "left_big_toe", "left_small_toe", "left_heel",
        "right_big_toe", "right_small_toe", "right_heel",
        *face, *_hand("left"), *_hand("right"),
    ]

    def fchain(ids: list[int], closed: bool = False) -> list[tuple[str, str]]:
        return chain([face[i] for i in ids], closed)

    limbs = [
        *_COCO_LIMBS,
        *both_sides(("{s}_ankle", "{s}_heel"), ("{s}_ankle", "{s}_big_toe"),
               ("{s}_ankle", "{s}_small_toe"), ("{s}_wrist", "{s}_hand_root")),
        *fchain(list(range(17))),  # jaw
        *fchain(list(range(17, 22))), *fchain(list(range(22, 27))),  # brows
        *fchain(list(range(27, 31))), *fchain([30, 33]), *fchain(list(range(31, 36))),  # nose
        *fchain(list(range(36, 42)), True), *fchain(list(range(42, 48)), True),  # eyes
        *fchain(list(range(48, 60)), True), *fchain(list(range(60, 68)), True),  # mouth
    ]
    for s in ("left", "right"):
        for f in _FINGERS:
            limbs += chain([f"{s}_hand_root"] + [f"{s}_{f}{i}" for i in range(1, 5)])
    # the names give left-right pairs; face pairs are written as (left, right) too
    face_pairs = tuple((_FACE0 + b, _FACE0 + a) for a, b in _FACE_MIRROR.items())
    return build_layout("coco_wholebody133", joints, limbs, face_pairs)


COCO_WHOLEBODY133 = _wholebody()
"""COCO-WholeBody: 17 body, 6 feet, 68 face (iBUG order), 21 left hand, 21 right hand."""

# ---------------------------------------------------------------- BlazePose-33
_BLAZE_JOINTS = [
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "left_mouth", "right_mouth",
    *sides("shoulder", "elbow", "wrist", "pinky", "index", "thumb", "hip", "knee", "ankle",
            "heel", "foot_index"),
]
BLAZEPOSE33 = build_layout("blazepose33", _BLAZE_JOINTS, [
    ("left_mouth", "right_mouth"), ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    *both_sides(
        ("nose", "{s}_eye_inner"), ("{s}_eye_inner", "{s}_eye"), ("{s}_eye", "{s}_eye_outer"),
        ("{s}_eye_outer", "{s}_ear"), ("{s}_shoulder", "{s}_elbow"), ("{s}_elbow", "{s}_wrist"),
        ("{s}_wrist", "{s}_pinky"), ("{s}_wrist", "{s}_index"), ("{s}_wrist", "{s}_thumb"),
        ("{s}_pinky", "{s}_index"), ("{s}_shoulder", "{s}_hip"), ("{s}_hip", "{s}_knee"),
        ("{s}_knee", "{s}_ankle"), ("{s}_ankle", "{s}_heel"), ("{s}_heel", "{s}_foot_index"),
        ("{s}_ankle", "{s}_foot_index"),
    ),
])
"""MediaPipe Pose's 33 landmarks in MediaPipe's order (mouth_left/right named left/right_mouth)."""

# ------------------------------------------------------------------- H36M-17
H36M17 = build_layout("h36m17", [
    "pelvis", "right_hip", "right_knee", "right_foot", "left_hip", "left_knee", "left_foot",
    "spine", "thorax", "neck_base", "head",
    "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
], [
    ("pelvis", "spine"), ("spine", "thorax"), ("thorax", "neck_base"), ("neck_base", "head"),
    *both_sides(("pelvis", "{s}_hip"), ("{s}_hip", "{s}_knee"), ("{s}_knee", "{s}_foot"),
           ("thorax", "{s}_shoulder"), ("{s}_shoulder", "{s}_elbow"),
           ("{s}_elbow", "{s}_wrist")),
])
"""Human3.6M 17 joints in the standard H36M order: pelvis, right leg (hip, knee,
foot), left leg, spine, thorax, neck_base, head, left arm (shoulder, elbow,
wrist), right arm.

Indices 1-3 are the subject's *right* leg: the ``categories`` of the mmpose test
file ``h36m_coco.json`` call them ``left_*``, but its own annotated images show
joints 1 and 14 (right shoulder) on the same body side. ``*_foot`` is the ankle
joint of the H36M skeleton; ``head`` is the head centre (not the nose)."""

# ---------------------------------------------------------- LCR-Net / Smarthome
_LCR_JOINTS = [
    "right_ankle", "left_ankle", "right_knee", "left_knee", "right_hip", "left_hip",
    "right_wrist", "left_wrist", "right_elbow", "left_elbow", "right_shoulder",
    "left_shoulder", "head",
]
_LCR_LIMBS = [
    ("left_hip", "right_hip"), ("left_shoulder", "right_shoulder"),
    *both_sides(("{s}_ankle", "{s}_knee"), ("{s}_knee", "{s}_hip"), ("{s}_hip", "{s}_shoulder"),
           ("{s}_shoulder", "{s}_elbow"), ("{s}_elbow", "{s}_wrist"), ("head", "{s}_shoulder")),
]
LCRNET13 = build_layout("lcrnet13", _LCR_JOINTS, _LCR_LIMBS)
"""LCR-Net 13 joints (Toyota Smarthome skeletons): right/left ankle, knee, hip,
wrist, elbow, shoulder (right first in each pair), then head."""

SMARTHOME17 = build_layout("smarthome17", [*_LCR_JOINTS, "mid_hip", "chest", "neck",
                                           "nose_proxy"], [
    ("mid_hip", "chest"), ("chest", "neck"), ("neck", "nose_proxy"), ("nose_proxy", "head"),
    *both_sides(("{s}_ankle", "{s}_knee"), ("{s}_knee", "{s}_hip"), ("{s}_hip", "mid_hip"),
           ("neck", "{s}_shoulder"), ("{s}_shoulder", "{s}_elbow"),
           ("{s}_elbow", "{s}_wrist")),
])
"""Smarthome-17: the 13 LCR-Net joints (same indices 0-12), then derived joints
13 ``mid_hip`` (mean of hips), 14 ``chest`` (mean of hips and shoulders), 15
``neck`` (mean of shoulders), 16 ``nose_proxy`` ((head + neck) / 2; an
interpolated point, *not* a detected nose)."""

# ----------------------------------------------------------------- OpenPose
OPENPOSE_BODY25 = build_layout("openpose_body25", [
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe",
    "right_heel",
], [
    ("neck", "mid_hip"), ("neck", "right_shoulder"), ("neck", "left_shoulder"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("mid_hip", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("mid_hip", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("neck", "nose"), ("nose", "right_eye"), ("right_eye", "right_ear"),
    ("nose", "left_eye"), ("left_eye", "left_ear"),
    ("left_ankle", "left_big_toe"), ("left_big_toe", "left_small_toe"),
    ("left_ankle", "left_heel"), ("right_ankle", "right_big_toe"),
    ("right_big_toe", "right_small_toe"), ("right_ankle", "right_heel"),
])
"""OpenPose BODY_25 (its default model) in OpenPose's order; limbs are the 24 edges
OpenPose draws, in its order. ``neck`` and ``mid_hip`` are trained points, not
midpoints."""

OPENPOSE_COCO18 = build_layout("openpose_coco18", [
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
], [
    ("neck", "right_shoulder"), ("neck", "left_shoulder"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("neck", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("neck", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("neck", "nose"), ("nose", "right_eye"), ("right_eye", "right_ear"),
    ("nose", "left_eye"), ("left_eye", "left_ear"),
])
"""OpenPose's COCO-18 model (``--model_pose COCO``; also mmpose's ``coco_openpose``):
COCO's 17 joints plus a neck, in OpenPose's order; limbs are the 17 edges it draws."""

LAYOUTS: dict[str, SkeletonLayout] = {
    lay.name: lay
    for lay in (COCO17, COCO_WHOLEBODY133, HALPE26, BLAZEPOSE33, H36M17, LCRNET13, SMARTHOME17,
                OPENPOSE_BODY25, OPENPOSE_COCO18)
}
"""Every layout by name (resolves the ``layout`` attribute of artifacts)."""


def get_layout(name: str) -> SkeletonLayout:
    """The layout called ``name``.

    Raises:
        ConfigError: Unknown name (the message lists the known ones).
    """
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ConfigError(
            f"unknown skeleton layout {name!r} (known: {', '.join(sorted(LAYOUTS))})"
        ) from None


def oks_sigmas(layout: SkeletonLayout) -> np.ndarray:
    """Per-joint OKS falloff constants of a layout.

    COCO's for joints named as in COCO-17, the mean of COCO's for the others.

    Returns:
        ``(K,) float64``.
    """
    mean = float(COCO17_SIGMAS.mean())
    by_name = dict(zip(COCO17.joints, COCO17_SIGMAS.tolist(), strict=True))
    return np.asarray([by_name.get(n, mean) for n in layout.joints], dtype=np.float64)
