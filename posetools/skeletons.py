"""Skeleton layouts and conversions between them.

A :class:`SkeletonLayout` names the joints of a keypoint format, its left/right
pairs (for horizontal flips) and its limbs (skeleton edges, used for drawing and
for limb heatmap channels). The named constants below cover the formats the
experts and datasets produce; :data:`LAYOUTS` resolves the ``layout`` attribute
stored in HDF5 artifacts.

Joint names use one vocabulary across layouts (``left_hip``, ``right_wrist``...),
so the same anatomical joint has the same name everywhere it exists. "Left" is
the subject's left.

Conversions (:func:`convert_layout`) are described by data: for each destination
joint, either one source joint, a weighted mean of several source joints (a
*derived* joint), or nothing (the joint is *missing*: score 0, NaN coordinates).
A derived joint is missing as soon as one of its sources is missing, and its
score is the minimum of its sources' scores. Nothing is invented: a joint a
source layout cannot honestly provide (e.g. the COCO nose from the H36M head) is
missing. See ``docs/skeletons.md`` for the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

from .errors import ConfigError, ShapeError


@dataclass(frozen=True)
class SkeletonLayout:
    """A named joint layout.

    The constructor checks self-consistency (unique names, indices in range,
    each joint in at most one flip pair, limbs closed under mirroring) and
    raises ``ValueError`` otherwise.

    Attributes:
        name: Layout name (``coco17``...), as stored in artifacts.
        joints: Joint names, in order.
        flip_pairs: Left/right joint index pairs ``(left, right)``.
        limbs: Joint index pairs forming the skeleton edges.
    """

    name: str
    joints: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    limbs: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        k = len(self.joints)
        if len(set(self.joints)) != k:
            raise ValueError(f"{self.name}: joint names are not unique")
        seen: set[int] = set()
        for a, b in self.flip_pairs:
            if not (0 <= a < k and 0 <= b < k) or a == b:
                raise ValueError(f"{self.name}: bad flip pair {(a, b)}")
            if a in seen or b in seen:
                raise ValueError(f"{self.name}: joint in two flip pairs {(a, b)}")
            seen.update((a, b))
        edges = set()
        for a, b in self.limbs:
            if not (0 <= a < k and 0 <= b < k) or a == b:
                raise ValueError(f"{self.name}: bad limb {(a, b)}")
            key = frozenset((a, b))
            if key in edges:
                raise ValueError(f"{self.name}: duplicate limb {(a, b)}")
            edges.add(key)
        self.limb_flip_permutation()  # raises if limbs are not mirror-closed

    @property
    def num_joints(self) -> int:
        """Number of joints ``K``."""
        return len(self.joints)

    def index(self, joint_name: str) -> int:
        """Index of a joint by name.

        Raises:
            ConfigError: The layout has no such joint.
        """
        try:
            return self.joints.index(joint_name)
        except ValueError:
            raise ConfigError(f"layout {self.name!r} has no joint {joint_name!r}") from None

    def flip_permutation(self) -> np.ndarray:
        """Joint permutation for a horizontal flip.

        Returns:
            ``(K,) int64`` ``perm`` such that ``flipped[..., j, :] = kp[..., perm[j], :]``
            (with x mirrored separately). It is an involution.
        """
        perm = np.arange(self.num_joints, dtype=np.int64)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def limb_flip_permutation(self) -> np.ndarray:
        """Limb permutation for a horizontal flip (for limb heatmap channels).

        Returns:
            ``(L,) int64`` ``perm`` where limb ``perm[l]`` is the mirror image of
            limb ``l`` (an involution; ``perm[l] == l`` for central limbs and for
            limbs joining a left/right pair, such as shoulder-shoulder).

        Raises:
            ValueError: The mirror image of a limb is not a limb of the layout.
        """
        jperm = self.flip_permutation()
        where = {frozenset(limb): i for i, limb in enumerate(self.limbs)}
        out = np.empty(len(self.limbs), dtype=np.int64)
        for i, (a, b) in enumerate(self.limbs):
            j = where.get(frozenset((int(jperm[a]), int(jperm[b]))))
            if j is None:
                raise ValueError(f"{self.name}: mirror of limb {(a, b)} is not a limb")
            out[i] = j
        return out


def _build(
    name: str,
    joints: list[str],
    limbs_by_name: list[tuple[str, str]],
    extra_pairs: tuple[tuple[int, int], ...] = (),
) -> SkeletonLayout:
    """Make a layout; flip pairs come from ``left_*``/``right_*`` names plus ``extra_pairs``."""
    idx = {j: i for i, j in enumerate(joints)}
    pairs = [(i, idx["right_" + j[5:]]) for i, j in enumerate(joints) if j.startswith("left_")]
    limbs = tuple((idx[a], idx[b]) for a, b in limbs_by_name)
    return SkeletonLayout(name, tuple(joints), tuple(pairs) + tuple(extra_pairs), limbs)


def _sides(*names: str) -> list[str]:
    """``("a", "b")`` -> ``["left_a", "right_a", "left_b", "right_b"]``."""
    return [f"{s}_{n}" for n in names for s in ("left", "right")]


def _both(*edges: tuple[str, str]) -> list[tuple[str, str]]:
    """Expand edges written with ``{s}`` into their left and right versions."""
    out = []
    for s in ("left", "right"):
        out.extend((a.format(s=s), b.format(s=s)) for a, b in edges)
    return out


def _chain(names: list[str], closed: bool = False) -> list[tuple[str, str]]:
    out = list(zip(names[:-1], names[1:], strict=True))
    if closed:
        out.append((names[-1], names[0]))
    return out


# --------------------------------------------------------------------- COCO-17
_COCO_JOINTS = ["nose", *_sides("eye", "ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle")]
_COCO_LIMBS = [
    ("left_eye", "right_eye"), ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    *_both(
        ("nose", "{s}_eye"), ("{s}_eye", "{s}_ear"), ("{s}_ear", "{s}_shoulder"),
        ("{s}_shoulder", "{s}_elbow"), ("{s}_elbow", "{s}_wrist"), ("{s}_shoulder", "{s}_hip"),
        ("{s}_hip", "{s}_knee"), ("{s}_knee", "{s}_ankle"),
    ),
]
COCO17 = _build("coco17", _COCO_JOINTS, _COCO_LIMBS)
"""COCO keypoints: nose, then left/right eye, ear, shoulder, elbow, wrist, hip, knee, ankle."""

COCO17_SIGMAS = np.array(
    [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07,
     0.87, 0.87, 0.89, 0.89], dtype=np.float64,
) / 10.0
"""``(17,)`` per-joint OKS falloff constants of the COCO keypoint benchmark."""

# ----------------------------------------------------------------- Halpe-26
_HALPE_JOINTS = [
    *_COCO_JOINTS, "head", "neck", "hip", *_sides("big_toe", "small_toe", "heel"),
]
_HALPE_LIMBS = [
    ("left_eye", "right_eye"),
    ("nose", "head"), ("head", "neck"), ("neck", "hip"),
    *_both(
        ("nose", "{s}_eye"), ("{s}_eye", "{s}_ear"), ("neck", "{s}_shoulder"),
        ("{s}_shoulder", "{s}_elbow"), ("{s}_elbow", "{s}_wrist"), ("hip", "{s}_hip"),
        ("{s}_hip", "{s}_knee"), ("{s}_knee", "{s}_ankle"), ("{s}_ankle", "{s}_heel"),
        ("{s}_heel", "{s}_big_toe"), ("{s}_heel", "{s}_small_toe"),
        ("{s}_big_toe", "{s}_small_toe"),
    ),
]
HALPE26 = _build("halpe26", _HALPE_JOINTS, _HALPE_LIMBS)
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
        return _chain([face[i] for i in ids], closed)

    limbs = [
        *_COCO_LIMBS,
        *_both(("{s}_ankle", "{s}_heel"), ("{s}_ankle", "{s}_big_toe"),
               ("{s}_ankle", "{s}_small_toe"), ("{s}_wrist", "{s}_hand_root")),
        *fchain(list(range(17))),  # jaw
        *fchain(list(range(17, 22))), *fchain(list(range(22, 27))),  # brows
        *fchain(list(range(27, 31))), *fchain([30, 33]), *fchain(list(range(31, 36))),  # nose
        *fchain(list(range(36, 42)), True), *fchain(list(range(42, 48)), True),  # eyes
        *fchain(list(range(48, 60)), True), *fchain(list(range(60, 68)), True),  # mouth
    ]
    for s in ("left", "right"):
        for f in _FINGERS:
            limbs += _chain([f"{s}_hand_root"] + [f"{s}_{f}{i}" for i in range(1, 5)])
    # the names give left-right pairs; face pairs are written as (left, right) too
    face_pairs = tuple((_FACE0 + b, _FACE0 + a) for a, b in _FACE_MIRROR.items())
    return _build("coco_wholebody133", joints, limbs, face_pairs)


COCO_WHOLEBODY133 = _wholebody()
"""COCO-WholeBody: 17 body, 6 feet, 68 face (iBUG order), 21 left hand, 21 right hand."""

# ---------------------------------------------------------------- BlazePose-33
_BLAZE_JOINTS = [
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "left_mouth", "right_mouth",
    *_sides("shoulder", "elbow", "wrist", "pinky", "index", "thumb", "hip", "knee", "ankle",
            "heel", "foot_index"),
]
BLAZEPOSE33 = _build("blazepose33", _BLAZE_JOINTS, [
    ("left_mouth", "right_mouth"), ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    *_both(
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
H36M17 = _build("h36m17", [
    "pelvis", "right_hip", "right_knee", "right_foot", "left_hip", "left_knee", "left_foot",
    "spine", "thorax", "neck_base", "head",
    "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
], [
    ("pelvis", "spine"), ("spine", "thorax"), ("thorax", "neck_base"), ("neck_base", "head"),
    *_both(("pelvis", "{s}_hip"), ("{s}_hip", "{s}_knee"), ("{s}_knee", "{s}_foot"),
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
    *_both(("{s}_ankle", "{s}_knee"), ("{s}_knee", "{s}_hip"), ("{s}_hip", "{s}_shoulder"),
           ("{s}_shoulder", "{s}_elbow"), ("{s}_elbow", "{s}_wrist"), ("head", "{s}_shoulder")),
]
LCRNET13 = _build("lcrnet13", _LCR_JOINTS, _LCR_LIMBS)
"""LCR-Net 13 joints (Toyota Smarthome skeletons): right/left ankle, knee, hip,
wrist, elbow, shoulder (right first in each pair), then head."""

SMARTHOME17 = _build("smarthome17", [*_LCR_JOINTS, "mid_hip", "chest", "neck", "nose_proxy"], [
    ("mid_hip", "chest"), ("chest", "neck"), ("neck", "nose_proxy"), ("nose_proxy", "head"),
    *_both(("{s}_ankle", "{s}_knee"), ("{s}_knee", "{s}_hip"), ("{s}_hip", "mid_hip"),
           ("neck", "{s}_shoulder"), ("{s}_shoulder", "{s}_elbow"),
           ("{s}_elbow", "{s}_wrist")),
])
"""Smarthome-17: the 13 LCR-Net joints (same indices 0-12), then derived joints
13 ``mid_hip`` (mean of hips), 14 ``chest`` (mean of hips and shoulders), 15
``neck`` (mean of shoulders), 16 ``nose_proxy`` ((head + neck) / 2; an
interpolated point, *not* a detected nose)."""

LAYOUTS: dict[str, SkeletonLayout] = {
    lay.name: lay
    for lay in (COCO17, COCO_WHOLEBODY133, HALPE26, BLAZEPOSE33, H36M17, LCRNET13, SMARTHOME17)
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


# ---------------------------------------------------------------- conversions
# Per (src, dst): dst joint name -> a src joint name, a tuple of src names (their
# mean) or a {src name: weight} dict (weights sum to 1). Unlisted dst joints are
# missing. Pairs with equal names are the identity and need no entry.
_Rule = str | tuple[str, ...] | Mapping[str, float]


def _same_names(src: SkeletonLayout, dst: SkeletonLayout) -> dict[str, _Rule]:
    return {j: j for j in dst.joints if j in src.joints}


_LIMB_JOINTS = _sides("shoulder", "elbow", "wrist", "hip", "knee", "ankle")

_RULES: dict[tuple[str, str], dict[str, _Rule]] = {
    ("coco_wholebody133", "coco17"): _same_names(COCO_WHOLEBODY133, COCO17),
    ("halpe26", "coco17"): _same_names(HALPE26, COCO17),
    ("blazepose33", "coco17"): _same_names(BLAZEPOSE33, COCO17),  # eyes = eye centres
    ("h36m17", "coco17"): {
        **{j: j for j in _LIMB_JOINTS if "ankle" not in j},
        "left_ankle": "left_foot", "right_ankle": "right_foot",
    },
    ("coco17", "h36m17"): {
        **{j: j for j in _LIMB_JOINTS if "ankle" not in j},
        "left_foot": "left_ankle", "right_foot": "right_ankle",
        "pelvis": ("left_hip", "right_hip"),
        "thorax": ("left_shoulder", "right_shoulder"),
    },
    ("lcrnet13", "coco17"): {j: j for j in _LIMB_JOINTS},
    ("smarthome17", "coco17"): {j: j for j in _LIMB_JOINTS},
    ("smarthome17", "lcrnet13"): _same_names(SMARTHOME17, LCRNET13),
    ("lcrnet13", "smarthome17"): {
        **_same_names(LCRNET13, SMARTHOME17),
        "mid_hip": ("left_hip", "right_hip"),
        "chest": ("left_hip", "right_hip", "left_shoulder", "right_shoulder"),
        "neck": ("left_shoulder", "right_shoulder"),
        "nose_proxy": {"head": 0.5, "left_shoulder": 0.25, "right_shoulder": 0.25},
    },
}


def supported_conversions() -> list[tuple[str, str]]:
    """All ``(src, dst)`` layout-name pairs :func:`convert_layout` accepts (besides identity)."""
    return sorted(_RULES)


@cache
def conversion_table(src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """The data describing a conversion, as a padded gather table.

    Args:
        src: Source layout name.
        dst: Destination layout name.

    Returns:
        ``(index (K', M) int64, weights (K', M) float64)`` with ``M`` the largest
        number of sources of a destination joint: destination joint ``j`` is
        ``sum_m weights[j, m] * src[index[j, m]]`` over the entries with
        ``index >= 0`` (``-1`` pads, with weight 0). A row of ``-1`` is a joint the
        source layout cannot provide. Arrays are read-only.

    Raises:
        ConfigError: The pair is not supported (the message names both layouts).
    """
    s, d = get_layout(src), get_layout(dst)
    if src == dst:
        rules: dict[str, _Rule] = {j: j for j in s.joints}
    elif (src, dst) in _RULES:
        rules = _RULES[(src, dst)]
    else:
        raise ConfigError(
            f"no conversion from layout {src!r} to {dst!r} "
            f"(supported: {', '.join(f'{a}->{b}' for a, b in supported_conversions())})"
        )
    per_joint: list[list[tuple[int, float]]] = [[] for _ in range(d.num_joints)]
    for name, rule in rules.items():
        if isinstance(rule, str):
            rule = {rule: 1.0}
        elif isinstance(rule, tuple):
            rule = {r: 1.0 / len(rule) for r in rule}
        per_joint[d.index(name)] = [(s.index(n), float(w)) for n, w in rule.items()]
    m = max(1, max(len(p) for p in per_joint))
    index = np.full((d.num_joints, m), -1, np.int64)
    weights = np.zeros((d.num_joints, m), np.float64)
    for j, entries in enumerate(per_joint):
        for i, (k, w) in enumerate(entries):
            index[j, i], weights[j, i] = k, w
    index.flags.writeable = False
    weights.flags.writeable = False
    return index, weights


def _as_layout(layout: SkeletonLayout | str) -> SkeletonLayout:
    return get_layout(layout) if isinstance(layout, str) else layout


def convert_layout(
    keypoints: np.ndarray,
    scores: np.ndarray,
    src: SkeletonLayout | str,
    dst: SkeletonLayout | str,
) -> tuple[np.ndarray, np.ndarray]:
    """Convert keypoints from one layout to another.

    A source joint is missing if its score is ``<= 0`` (or NaN) or a coordinate
    is NaN. Each destination joint is a copy of one source joint, a weighted
    mean of several (derived joint: score = min of the sources' scores, missing
    if any source is missing), or missing. Missing outputs have score 0 and NaN
    coordinates. Same-layout conversion is the identity (with missing joints
    normalized to that convention).

    Args:
        keypoints: ``(..., K, 2)`` pixel coordinates in ``src``.
        scores: ``(..., K)`` scores in [0, 1].
        src: Source layout (or its name).
        dst: Destination layout (or its name).

    Returns:
        ``(keypoints (..., K', 2) float32, scores (..., K') float32)`` in ``dst``.

    Raises:
        ConfigError: The pair is not supported (the message names both layouts).
        ShapeError: Arrays do not match ``src`` or each other.
    """
    s, d = _as_layout(src), _as_layout(dst)
    if s == d:  # identity, also for layouts not in LAYOUTS
        index = np.arange(s.num_joints, dtype=np.int64)[:, None]
        weights = np.ones((s.num_joints, 1), np.float64)
    else:
        index, weights = conversion_table(s.name, d.name)
    kp = np.asarray(keypoints)
    sc = np.asarray(scores)
    k = s.num_joints
    if kp.ndim < 2 or kp.shape[-2:] != (k, 2) or sc.shape != kp.shape[:-1]:
        raise ShapeError(
            f"convert_layout({s.name}->{d.name}): expected keypoints (..., {k}, 2) and "
            f"scores (..., {k}), got {kp.shape} and {sc.shape}"
        )
    pad = index < 0  # (K', M)
    # work on the source joints the conversion uses only
    used, safe = np.unique(np.where(pad, 0, index), return_inverse=True)
    safe = safe.reshape(index.shape)
    sc64 = sc[..., used].astype(np.float64)
    kp64 = kp[..., used, :].astype(np.float64)
    missing = ~(sc64 > 0) | np.isnan(kp64).any(axis=-1)  # (..., U)
    g_sc = sc64[..., safe]  # (..., K', M)
    g_miss = missing[..., safe] & ~pad
    g_kp = np.where(missing[..., None], 0.0, kp64)[..., safe, :]  # (..., K', M, 2)
    out_kp = np.einsum("...jmc,jm->...jc", g_kp, weights)
    out_sc = np.where(pad, np.inf, g_sc).min(axis=-1)
    out_missing = g_miss.any(axis=-1) | pad.all(axis=-1)
    out_sc = np.where(out_missing, 0.0, out_sc)
    out_kp[out_missing] = np.nan
    return out_kp.astype(np.float32), out_sc.astype(np.float32)


__all__ = [
    "SkeletonLayout", "COCO17", "COCO17_SIGMAS", "COCO_WHOLEBODY133", "HALPE26", "BLAZEPOSE33",
    "H36M17", "LCRNET13", "SMARTHOME17", "LAYOUTS", "get_layout", "convert_layout",
    "conversion_table", "supported_conversions",
]
