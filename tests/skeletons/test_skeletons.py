from __future__ import annotations

import json

import numpy as np
import pytest

from posetools.errors import ConfigError, ShapeError
from posetools.skeletons import (
    BLAZEPOSE33,
    COCO17,
    COCO17_SIGMAS,
    COCO_WHOLEBODY133,
    H36M17,
    HALPE26,
    LAYOUTS,
    LCRNET13,
    OPENPOSE_BODY25,
    OPENPOSE_COCO18,
    SMARTHOME17,
    SkeletonLayout,
    conversion_table,
    convert_layout,
    get_layout,
    supported_conversions,
)

ALL = list(LAYOUTS.values())
FACE5 = ["nose", "left_eye", "right_eye", "left_ear", "right_ear"]


def _rand(layout: SkeletonLayout, lead=(), seed=0):
    rng = np.random.default_rng(seed)
    kp = rng.uniform(0, 500, (*lead, layout.num_joints, 2)).astype(np.float32)
    sc = rng.uniform(0.1, 1.0, (*lead, layout.num_joints)).astype(np.float32)
    return kp, sc


# ---------------------------------------------------------------- layouts


def test_layout_sizes_and_names():
    assert {n: lay.num_joints for n, lay in LAYOUTS.items()} == {
        "coco17": 17, "coco_wholebody133": 133, "halpe26": 26, "blazepose33": 33,
        "h36m17": 17, "lcrnet13": 13, "smarthome17": 17, "openpose_body25": 25,
        "openpose_coco18": 18,
    }
    for name, lay in LAYOUTS.items():
        assert lay.name == name
        assert get_layout(name) is lay


@pytest.mark.parametrize("lay", ALL, ids=lambda lay: lay.name)
def test_layout_self_consistent(lay: SkeletonLayout):
    k = lay.num_joints
    assert len(set(lay.joints)) == k
    used = [j for p in lay.flip_pairs for j in p]
    assert len(used) == len(set(used))
    for a, b in lay.flip_pairs:
        assert 0 <= a < k and 0 <= b < k and a != b
    for a, b in lay.limbs:
        assert 0 <= a < k and 0 <= b < k and a != b
    perm = lay.flip_permutation()
    assert perm.shape == (k,)
    np.testing.assert_array_equal(perm[perm], np.arange(k))
    # paired joints are named left_/right_ counterparts (or are face points)
    for a, b in lay.flip_pairs:
        na, nb = lay.joints[a], lay.joints[b]
        if na.startswith("left_"):
            assert nb == "right_" + na[5:]
        else:
            assert na.startswith("face_") and nb.startswith("face_")
    lperm = lay.limb_flip_permutation()
    assert lperm.shape == (len(lay.limbs),)
    np.testing.assert_array_equal(lperm[lperm], np.arange(len(lay.limbs)))
    edges = [frozenset(e) for e in lay.limbs]
    for i, (a, b) in enumerate(lay.limbs):
        assert edges[lperm[i]] == frozenset((perm[a], perm[b]))
    # every joint is in some limb (the skeleton is connected enough to draw)
    assert {j for e in lay.limbs for j in e} == set(range(k))


def test_limb_flip_permutation_specific():
    lperm = COCO17.limb_flip_permutation()
    i_ls_le = COCO17.limbs.index((COCO17.index("left_shoulder"), COCO17.index("left_elbow")))
    i_rs_re = COCO17.limbs.index((COCO17.index("right_shoulder"), COCO17.index("right_elbow")))
    i_sh = COCO17.limbs.index((COCO17.index("left_shoulder"), COCO17.index("right_shoulder")))
    assert lperm[i_ls_le] == i_rs_re and lperm[i_rs_re] == i_ls_le
    assert lperm[i_sh] == i_sh


def test_flipping_keypoints_twice_is_identity_and_swaps_sides():
    kp, _ = _rand(COCO17)
    perm = COCO17.flip_permutation()
    flipped = kp[perm].copy()
    flipped[:, 0] = 640 - flipped[:, 0]
    lw, rw = COCO17.index("left_wrist"), COCO17.index("right_wrist")
    assert flipped[lw, 0] == pytest.approx(640 - kp[rw, 0])
    back = flipped[perm].copy()
    back[:, 0] = 640 - back[:, 0]
    np.testing.assert_allclose(back, kp, atol=1e-4)


def test_invalid_layouts_rejected():
    with pytest.raises(ValueError, match="not unique"):
        SkeletonLayout("x", ("a", "a"), (), ())
    with pytest.raises(ValueError, match="flip pair"):
        SkeletonLayout("x", ("a", "b"), ((0, 2),), ())
    with pytest.raises(ValueError, match="mirror"):
        SkeletonLayout("x", ("c", "l", "r"), ((1, 2),), ((0, 1),))
    # adding the mirrored limb makes it valid
    lay = SkeletonLayout("x", ("c", "l", "r"), ((1, 2),), ((0, 1), (0, 2)))
    np.testing.assert_array_equal(lay.limb_flip_permutation(), [1, 0])


def test_specific_orders():
    assert COCO17.joints[:3] == ("nose", "left_eye", "right_eye")
    assert COCO17.joints[-1] == "right_ankle"
    assert COCO_WHOLEBODY133.joints[:17] == COCO17.joints
    assert COCO_WHOLEBODY133.joints[17:23] == (
        "left_big_toe", "left_small_toe", "left_heel",
        "right_big_toe", "right_small_toe", "right_heel")
    assert COCO_WHOLEBODY133.index("face_0") == 23
    assert COCO_WHOLEBODY133.index("left_hand_root") == 91
    assert COCO_WHOLEBODY133.index("right_hand_root") == 112
    perm = COCO_WHOLEBODY133.flip_permutation()
    assert perm[23 + 0] == 23 + 16 and perm[23 + 8] == 23 + 8  # jaw corners, chin
    assert perm[23 + 36] == 23 + 45 and perm[91 + 4] == 112 + 4
    assert HALPE26.joints[:17] == COCO17.joints
    assert HALPE26.joints[17:20] == ("head", "neck", "hip")
    assert BLAZEPOSE33.index("left_eye") == 2 and BLAZEPOSE33.index("right_eye") == 5
    assert BLAZEPOSE33.index("left_hip") == 23 and BLAZEPOSE33.index("right_foot_index") == 32
    assert LCRNET13.joints == (
        "right_ankle", "left_ankle", "right_knee", "left_knee", "right_hip", "left_hip",
        "right_wrist", "left_wrist", "right_elbow", "left_elbow", "right_shoulder",
        "left_shoulder", "head")
    assert SMARTHOME17.joints[:13] == LCRNET13.joints
    assert SMARTHOME17.joints[13:] == ("mid_hip", "chest", "neck", "nose_proxy")
    assert len(COCO17_SIGMAS) == 17


def test_index_and_unknown_names():
    assert COCO17.index("left_knee") == 13
    with pytest.raises(ConfigError, match="no joint"):
        COCO17.index("tail")
    with pytest.raises(ConfigError) as ei:
        get_layout("openpose25")
    assert "openpose25" in str(ei.value) and "coco17" in str(ei.value)


# -------------------------------------------------- real annotation files


def test_coco17_matches_coco_annotation_file(images_dir):
    cat = json.loads((images_dir / "coco" / "test_coco.json").read_text())["categories"][0]
    assert tuple(cat["keypoints"]) == COCO17.joints
    assert {frozenset((a - 1, b - 1)) for a, b in cat["skeleton"]} == {
        frozenset(e) for e in COCO17.limbs}


def test_h36m17_matches_annotation_file_and_body_sides(images_dir):
    data = json.loads((images_dir / "h36m" / "h36m_coco.json").read_text())
    cat = data["categories"][0]
    assert len(cat["keypoints"]) == 17
    assert {frozenset(e) for e in cat["skeleton"]} == {frozenset(e) for e in H36M17.limbs}
    # The file's names call joint 1 "left_hip", but on every clearly upright subject
    # joint 1 lies on the same side as joint 14 (right shoulder): our layout names
    # follow the body, i.e. the standard H36M convention.
    rh, lh = H36M17.index("right_hip"), H36M17.index("left_hip")
    rs, ls = H36M17.index("right_shoulder"), H36M17.index("left_shoulder")
    assert (rh, lh, rs, ls) == (1, 4, 14, 11)
    consistent = 0
    for ann in data["annotations"]:
        x = np.asarray(ann["keypoints"], float).reshape(17, 3)[:, 0]
        consistent += np.sign(x[rh] - x[lh]) == np.sign(x[rs] - x[ls])
    assert consistent >= 3


def test_h36m_gt_to_coco_keeps_limbs(images_dir):
    data = json.loads((images_dir / "h36m" / "h36m_coco.json").read_text())
    k = np.stack([np.asarray(a["keypoints"], np.float32).reshape(17, 3)
                  for a in data["annotations"]])
    kp, sc = convert_layout(k[..., :2], k[..., 2], H36M17, COCO17)
    assert kp.shape == (len(k), 17, 2)
    np.testing.assert_array_equal(kp[:, COCO17.index("left_ankle")], k[:, 6, :2])
    np.testing.assert_array_equal(kp[:, COCO17.index("right_wrist")], k[:, 16, :2])
    assert np.isnan(kp[:, :5]).all() and (sc[:, :5] == 0).all()


# ------------------------------------------------------------ conversions


def test_identity_normalizes_missing():
    kp, sc = _rand(HALPE26, (4,))
    sc[0, 3] = 0
    kp[1, 5, 1] = np.nan
    out_kp, out_sc = convert_layout(kp, sc, HALPE26, "halpe26")
    assert out_kp.dtype == np.float32 and out_sc.dtype == np.float32
    ok = np.ones((4, 26), bool)
    ok[0, 3] = ok[1, 5] = False
    np.testing.assert_array_equal(out_kp[ok], kp[ok])
    np.testing.assert_array_equal(out_sc[ok], sc[ok])
    assert np.isnan(out_kp[~ok]).all() and (out_sc[~ok] == 0).all()


def test_identity_for_unregistered_layout():
    lay = SkeletonLayout("custom", ("a", "b"), (), ((0, 1),))
    kp = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    out, sc = convert_layout(kp, np.ones(2, np.float32), lay, lay)
    np.testing.assert_array_equal(out, kp)


@pytest.mark.parametrize("src", [COCO_WHOLEBODY133, HALPE26])
def test_first_17_to_coco(src):
    kp, sc = _rand(src, (2, 3))
    out_kp, out_sc = convert_layout(kp, sc, src, COCO17)
    assert out_kp.shape == (2, 3, 17, 2) and out_sc.shape == (2, 3, 17)
    np.testing.assert_array_equal(out_kp, kp[..., :17, :])
    np.testing.assert_array_equal(out_sc, sc[..., :17])


def test_blazepose_to_coco():
    kp, sc = _rand(BLAZEPOSE33, (5,))
    out_kp, out_sc = convert_layout(kp, sc, BLAZEPOSE33, COCO17)
    src_idx = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
    np.testing.assert_array_equal(out_kp, kp[:, src_idx])
    np.testing.assert_array_equal(out_sc, sc[:, src_idx])


def test_h36m_to_coco():
    kp, sc = _rand(H36M17)
    out_kp, out_sc = convert_layout(kp, sc, H36M17, COCO17)
    pairs = {"left_shoulder": 11, "right_shoulder": 14, "left_elbow": 12, "right_elbow": 15,
             "left_wrist": 13, "right_wrist": 16, "left_hip": 4, "right_hip": 1,
             "left_knee": 5, "right_knee": 2, "left_ankle": 6, "right_ankle": 3}
    for name, h in pairs.items():
        np.testing.assert_array_equal(out_kp[COCO17.index(name)], kp[h])
        assert out_sc[COCO17.index(name)] == sc[h]
    # the H36M head is not a nose: the face stays missing
    for name in FACE5:
        assert np.isnan(out_kp[COCO17.index(name)]).all()
        assert out_sc[COCO17.index(name)] == 0


def test_coco_to_h36m_derived_joints_by_hand():
    kp = np.full((17, 2), 0, np.float32)
    sc = np.full(17, 0.9, np.float32)
    kp[COCO17.index("left_hip")] = (100, 200)
    kp[COCO17.index("right_hip")] = (140, 210)
    kp[COCO17.index("left_shoulder")] = (90, 100)
    kp[COCO17.index("right_shoulder")] = (150, 104)
    sc[COCO17.index("left_hip")] = 0.5
    sc[COCO17.index("right_shoulder")] = 0.3
    out_kp, out_sc = convert_layout(kp, sc, COCO17, H36M17)
    np.testing.assert_array_equal(out_kp[H36M17.index("pelvis")], [120, 205])
    assert out_sc[H36M17.index("pelvis")] == pytest.approx(0.5)
    np.testing.assert_array_equal(out_kp[H36M17.index("thorax")], [120, 102])
    assert out_sc[H36M17.index("thorax")] == pytest.approx(0.3)
    for name in ("spine", "neck_base", "head"):
        assert np.isnan(out_kp[H36M17.index(name)]).all()
        assert out_sc[H36M17.index(name)] == 0


def test_coco_h36m_coco_round_trip():
    kp, sc = _rand(COCO17, (6,), seed=3)
    h_kp, h_sc = convert_layout(kp, sc, COCO17, H36M17)
    back_kp, back_sc = convert_layout(h_kp, h_sc, H36M17, COCO17)
    body = slice(5, 17)
    np.testing.assert_array_equal(back_kp[:, body], kp[:, body])
    np.testing.assert_array_equal(back_sc[:, body], sc[:, body])
    assert np.isnan(back_kp[:, :5]).all() and (back_sc[:, :5] == 0).all()


def test_lcrnet_to_smarthome_derived_joints_by_hand():
    kp = np.zeros((13, 2), np.float32)
    sc = np.full(13, 0.8, np.float32)
    named = {"right_hip": (10, 100), "left_hip": (30, 104), "right_shoulder": (8, 40),
             "left_shoulder": (36, 44), "head": (20, 10)}
    for n, v in named.items():
        kp[LCRNET13.index(n)] = v
    sc[LCRNET13.index("head")] = 0.4
    sc[LCRNET13.index("left_hip")] = 0.6
    out_kp, out_sc = convert_layout(kp, sc, LCRNET13, SMARTHOME17)
    np.testing.assert_array_equal(out_kp[:13], kp)
    np.testing.assert_allclose(out_kp[SMARTHOME17.index("mid_hip")], [20, 102])
    np.testing.assert_allclose(out_kp[SMARTHOME17.index("neck")], [22, 42])
    np.testing.assert_allclose(out_kp[SMARTHOME17.index("chest")], [21, 72])
    np.testing.assert_allclose(out_kp[SMARTHOME17.index("nose_proxy")], [21, 26])
    np.testing.assert_allclose(out_sc[13:], [0.6, 0.6, 0.8, 0.4])
    # Smarthome-17 -> LCR-Net-13 gives the original back
    b_kp, b_sc = convert_layout(out_kp, out_sc, SMARTHOME17, LCRNET13)
    np.testing.assert_array_equal(b_kp, kp)
    np.testing.assert_array_equal(b_sc, sc)


@pytest.mark.parametrize("src", [LCRNET13, SMARTHOME17])
def test_lcrnet_family_to_coco(src):
    kp, sc = _rand(src, (2,))
    out_kp, out_sc = convert_layout(kp, sc, src, COCO17)
    for name in COCO17.joints[5:]:
        np.testing.assert_array_equal(out_kp[:, COCO17.index(name)], kp[:, src.index(name)])
    assert np.isnan(out_kp[:, :5]).all() and (out_sc[:, :5] == 0).all()


def test_missing_inputs_propagate():
    kp, sc = _rand(LCRNET13, (3,))
    sc[0, LCRNET13.index("left_shoulder")] = 0  # missing by score
    kp[1, LCRNET13.index("right_hip"), 0] = np.nan  # missing by coordinate
    kp[0, LCRNET13.index("left_shoulder")] = (1e9, 1e9)  # ignored: it is missing
    out_kp, out_sc = convert_layout(kp, sc, LCRNET13, SMARTHOME17)
    miss = lambda t, n: out_sc[t, SMARTHOME17.index(n)] == 0 and np.isnan(  # noqa: E731
        out_kp[t, SMARTHOME17.index(n)]).all()
    assert miss(0, "left_shoulder") and miss(0, "neck") and miss(0, "chest")
    assert miss(0, "nose_proxy") and not miss(0, "mid_hip")
    assert miss(1, "right_hip") and miss(1, "mid_hip") and miss(1, "chest")
    assert not miss(1, "neck") and not miss(1, "nose_proxy")
    assert not np.isnan(out_kp[2]).any() and (out_sc[2] > 0).all()
    assert np.isfinite(out_kp[~np.isnan(out_kp)]).all()


def test_vectorized_leading_dims_match_loop():
    kp, sc = _rand(COCO17, (3, 4, 2), seed=7)
    sc[sc < 0.3] = 0
    out_kp, out_sc = convert_layout(kp, sc, COCO17, H36M17)
    assert out_kp.shape == (3, 4, 2, 17, 2)
    for idx in np.ndindex(3, 4, 2):
        one_kp, one_sc = convert_layout(kp[idx], sc[idx], COCO17, H36M17)
        np.testing.assert_array_equal(out_kp[idx], one_kp)
        np.testing.assert_array_equal(out_sc[idx], one_sc)
    empty_kp, empty_sc = convert_layout(np.zeros((0, 17, 2)), np.zeros((0, 17)), COCO17, H36M17)
    assert empty_kp.shape == (0, 17, 2) and empty_sc.shape == (0, 17)


def test_unsupported_pair_and_bad_shapes():
    with pytest.raises(ConfigError) as ei:
        convert_layout(*_rand(COCO17), COCO17, BLAZEPOSE33)
    assert "coco17" in str(ei.value) and "blazepose33" in str(ei.value)
    with pytest.raises(ShapeError):
        convert_layout(*_rand(HALPE26), COCO17, H36M17)
    kp, sc = _rand(COCO17, (2,))
    with pytest.raises(ShapeError):
        convert_layout(kp, sc[:1], COCO17, H36M17)


def test_conversion_tables_are_well_formed():
    for src, dst in supported_conversions():
        index, weights = conversion_table(src, dst)
        assert index.shape[0] == get_layout(dst).num_joints
        assert (index < get_layout(src).num_joints).all()
        used = index >= 0
        assert (weights[~used] == 0).all()
        rows = used.any(axis=1)
        np.testing.assert_allclose(weights[rows].sum(axis=1), 1.0)
        assert not index.flags.writeable


# ------------------------------------------------ named limb sets, OpenPose layouts

# mmaction2 1.2.0's limb PoseC3D config (slowonly_r50_8xb16-u48-240e_ntu60-xsub-limb.py):
# skeletons, left_limb, right_limb, written out here independently of the catalog.
MM_LIMBS = ((0, 5), (0, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (11, 13), (13, 15),
            (6, 12), (12, 14), (14, 16), (0, 1), (0, 2), (1, 3), (2, 4), (11, 12))
MM_LEFT_LIMB = (0, 2, 3, 6, 7, 8, 12, 14)
MM_RIGHT_LIMB = (1, 4, 5, 9, 10, 11, 13, 15)


def test_coco17_mmaction2_limb_set_and_its_flip():
    assert COCO17.limb_set("mmaction2") == MM_LIMBS
    assert COCO17.limb_set("default") == COCO17.limbs and len(COCO17.limbs) == 19
    perm = COCO17.limb_flip_permutation(MM_LIMBS)
    expect = np.arange(17)
    for a, b in zip(MM_LEFT_LIMB, MM_RIGHT_LIMB, strict=True):
        expect[a], expect[b] = b, a
    np.testing.assert_array_equal(perm, expect)
    # mmaction2's set differs from the official COCO skeleton by these edges
    ours = {frozenset(e) for e in COCO17.limbs}
    theirs = {frozenset(e) for e in MM_LIMBS}
    names = lambda es: {tuple(sorted(COCO17.joints[j] for j in e)) for e in es}  # noqa: E731
    assert names(theirs - ours) == {("left_shoulder", "nose"), ("nose", "right_shoulder")}
    assert names(ours - theirs) == {("left_eye", "right_eye"), ("left_ear", "left_shoulder"),
                                    ("right_ear", "right_shoulder"),
                                    ("left_shoulder", "right_shoulder")}


def test_limb_sets_are_validated_and_unknown_names_listed():
    with pytest.raises(ConfigError, match="no limb set 'x'.*default, mmaction2"):
        COCO17.limb_set("x")
    with pytest.raises(ConfigError, match=r"has: default\)"):
        HALPE26.limb_set("mmaction2")
    with pytest.raises(ValueError, match="mirror"):
        SkeletonLayout("x", ("c", "l", "r"), ((1, 2),), ((0, 1), (0, 2)), {"bad": ((0, 1),)})
    with pytest.raises(ValueError, match="reserved"):
        SkeletonLayout("x", ("c", "l", "r"), ((1, 2),), ((0, 1), (0, 2)), {"default": ()})
    with pytest.raises(ValueError, match="duplicate"):
        COCO17.check_limbs([(0, 1), (1, 0)])
    with pytest.raises(ValueError, match="bad limb"):
        COCO17.check_limbs([(0, 17)])
    lay = SkeletonLayout("x", ("c", "l", "r"), ((1, 2),), ((0, 1), (0, 2)), {"s": [[1, 2]]})
    assert lay.limb_set("s") == ((1, 2),)
    with pytest.raises(TypeError):
        lay.limb_sets["t"] = ()  # read-only


@pytest.mark.parametrize("lay", ALL, ids=lambda lay: lay.name)
def test_layouts_pickle_and_copy(lay):
    import copy
    import pickle

    for other in (pickle.loads(pickle.dumps(lay)), copy.deepcopy(lay)):
        assert other == lay and other.limb_sets == lay.limb_sets
        assert hash(other) == hash(lay)


def test_openpose_layouts_follow_openpose_order():
    # poseParameters.cpp order (BODY_25 and COCO), by OpenPose's own part names
    body25 = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
              "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye",
              "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"]
    coco18 = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
              "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar",
              "LEar"]

    def ours(name: str) -> str:
        table = {"Nose": "nose", "Neck": "neck", "MidHip": "mid_hip"}
        if name in table:
            return table[name]
        side = {"L": "left_", "R": "right_"}[name[0]]
        rest = name[1:]
        snake = "".join("_" + c.lower() if c.isupper() else c for c in rest).lstrip("_")
        return side + snake

    assert OPENPOSE_BODY25.joints == tuple(ours(n) for n in body25)
    assert OPENPOSE_COCO18.joints == tuple(ours(n) for n in coco18)
    # OpenPose's drawn skeletons (pairs of part indices), as unordered edges
    body25_pairs = [(1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10),
                    (10, 11), (8, 12), (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16),
                    (16, 18), (14, 19), (19, 20), (14, 21), (11, 22), (22, 23), (11, 24)]
    coco18_pairs = [(1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
                    (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17)]
    assert {frozenset(e) for e in OPENPOSE_BODY25.limbs} == {frozenset(e) for e in body25_pairs}
    assert {frozenset(e) for e in OPENPOSE_COCO18.limbs} == {frozenset(e) for e in coco18_pairs}


@pytest.mark.parametrize("src,table", [
    ("openpose_body25", [0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11]),
    ("openpose_coco18", [0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10]),
])
def test_openpose_to_coco17_by_hand(src, table):
    lay = get_layout(src)
    kp, sc = _rand(lay, (3,))
    out, osc = convert_layout(kp, sc, src, "coco17")
    np.testing.assert_array_equal(out, kp[:, table])
    np.testing.assert_array_equal(osc, sc[:, table])


def test_openpose_to_halpe26_keeps_neck_hip_and_feet():
    kp, sc = _rand(OPENPOSE_BODY25)
    out, osc = convert_layout(kp, sc, "openpose_body25", "halpe26")
    for dst, src in (("neck", "neck"), ("hip", "mid_hip"), ("left_big_toe", "left_big_toe"),
                     ("right_heel", "right_heel"), ("left_wrist", "left_wrist")):
        np.testing.assert_array_equal(out[HALPE26.index(dst)], kp[OPENPOSE_BODY25.index(src)])
    assert osc[HALPE26.index("head")] == 0 and np.isnan(out[HALPE26.index("head")]).all()
    kp, sc = _rand(OPENPOSE_COCO18)
    out, osc = convert_layout(kp, sc, "openpose_coco18", "halpe26")
    np.testing.assert_array_equal(out[HALPE26.index("neck")], kp[OPENPOSE_COCO18.index("neck")])
    assert osc[HALPE26.index("hip")] == 0  # COCO-18 has no pelvis point: missing, not invented
