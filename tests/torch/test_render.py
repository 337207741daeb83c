"""posetools.torch.render: same math as numpy, renderer and augmentations."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from posetools.heatmaps import compute_crop, render_heatmaps  # noqa: E402
from posetools.skeletons import COCO17  # noqa: E402
from posetools.skeletons.graph import limb_tree, subtree_masks  # noqa: E402
from posetools.torch import render as torch_render  # noqa: E402
from posetools.torch.augment import flip_keypoints, temporal_resample  # noqa: E402
from posetools.torch.render import GpuHeatmapRenderer  # noqa: E402

render_torch = torch_render.render_heatmaps
from tests.support.heatmap_fixtures import walking_sequence  # noqa: E402


def random_pose(rng, shape, size):
    kp = rng.uniform(-4, size + 4, (*shape, 2)).astype(np.float32)
    sc = rng.uniform(0, 1, shape).astype(np.float32)
    sc[sc < 0.1] = 0
    kp[rng.random(shape) < 0.1] = np.nan
    return kp, sc


def grid_clip(n_frames=8, persons=2, size=56, seed=0):
    kp, sc, valid = walking_sequence(n_frames, persons=persons, seed=seed)
    return compute_crop(kp, sc, valid).to_grid(kp, size), sc, valid


@pytest.mark.parametrize("size,sigma", [(56, 0.6), (30, 1.0), (112, 1.2), (17, 3.3)])
def test_torch_equals_numpy(size, sigma):
    rng = np.random.default_rng(size)
    kp, sc = random_pose(rng, (6, 3, 17), size)
    valid = rng.random((6, 3)) < 0.8
    kw = dict(size=size, sigma=sigma, limbs=COCO17.limbs)
    ref = render_heatmaps(kp, sc, valid=valid, **kw)
    got = render_torch(torch.from_numpy(kp), torch.from_numpy(sc),
                       valid=torch.from_numpy(valid), **kw)
    assert got.dtype == torch.float32 and tuple(got.shape) == ref.shape
    np.testing.assert_allclose(got.numpy(), ref, rtol=0, atol=1e-6)
    assert ((got.numpy() > 0) == (ref > 0)).all()  # identical supports (same cut-off)


def test_use_score_and_joints_only_match_numpy():
    rng = np.random.default_rng(3)
    kp, sc = random_pose(rng, (4, 1, 17), 56)
    for kw in (dict(use_score=False), dict(joints=False, limbs=COCO17.limbs), dict()):
        ref = render_heatmaps(kp, sc, size=56, sigma=0.6, **kw)
        got = render_torch(torch.from_numpy(kp), torch.from_numpy(sc), size=56, sigma=0.6, **kw)
        np.testing.assert_allclose(got.numpy(), ref, atol=1e-6)


def test_renderer_batches_and_channel_names():
    r = GpuHeatmapRenderer("coco17", size=32, sigma=1.0, limbs=True, device="cpu")
    assert r.num_channels == 17 + len(COCO17.limbs)
    assert r.channel_names[:2] == ["nose", "left_eye"]
    clips = [grid_clip(5, size=32, seed=s) for s in range(3)]
    kp = torch.from_numpy(np.stack([c[0] for c in clips]))
    sc = torch.from_numpy(np.stack([c[1] for c in clips]))
    out = r(kp, sc)
    assert tuple(out.shape) == (3, 5, r.num_channels, 32, 32)
    for b, (k, s, _) in enumerate(clips):
        ref = render_heatmaps(k, s, size=32, sigma=1.0, limbs=COCO17.limbs)
        np.testing.assert_allclose(out[b].numpy(), ref, atol=1e-6)
    with pytest.raises(Exception, match="keypoints"):
        r(kp[..., :5, :], sc[..., :5])


def test_flip_swaps_left_right_channels_and_mirrors():
    r = GpuHeatmapRenderer(COCO17, size=40, sigma=1.2, limbs=True, device="cpu")
    kp, sc, _ = grid_clip(3, size=40, seed=2)
    kp, sc = torch.from_numpy(kp)[None], torch.from_numpy(sc)[None]
    aug = r.augment(kp, sc, flip_prob=1.0)
    assert aug.flipped.all()
    plain = r(kp, sc)
    mirrored = torch.flip(plain, dims=[-1])[:, :, r.channel_flip_permutation]
    torch.testing.assert_close(aug.heatmaps, mirrored, atol=1e-5, rtol=0)
    # labels: output joint j came from source joint joint_map[j]
    perm = torch.as_tensor(COCO17.flip_permutation())
    assert torch.equal(aug.joint_map[0], perm)
    assert torch.equal(aug.channel_map[0], r.channel_flip_permutation)
    left_wrist, right_wrist = COCO17.index("left_wrist"), COCO17.index("right_wrist")
    torch.testing.assert_close(aug.keypoints[0, :, :, left_wrist, 0],
                               39 - kp[0, :, :, right_wrist, 0], equal_nan=True)
    # flipping twice is the identity
    again = flip_keypoints(flip_keypoints(kp, 40, perm), 40, perm)
    torch.testing.assert_close(again, kp, equal_nan=True)


def test_temporal_resampling_labels():
    r = GpuHeatmapRenderer(COCO17, size=32, sigma=1.0, device="cpu")
    kp, sc, valid = grid_clip(12, size=32, seed=4)
    kp, sc, valid = (torch.from_numpy(np.stack([a, a])) for a in (kp, sc, valid))
    g = torch.Generator().manual_seed(0)
    aug = r.augment(kp, sc, valid, num_frames=5, generator=g)
    assert tuple(aug.heatmaps.shape) == (2, 5, 17, 32, 32)
    fm = aug.frame_map
    assert fm.shape == (2, 5) and (fm[:, 1:] > fm[:, :-1]).all() and fm.min() >= 0 and fm.max() < 12
    for b in range(2):
        torch.testing.assert_close(aug.heatmaps[b], r(kp[b, fm[b]], sc[b, fm[b]], valid[b, fm[b]]))
    g2 = torch.Generator().manual_seed(0)
    assert torch.equal(r.augment(kp, sc, valid, num_frames=5, generator=g2).frame_map, fm)
    with pytest.raises(ValueError, match="num_frames"):
        temporal_resample(1, 4, 5)


def test_position_noise():
    r = GpuHeatmapRenderer(COCO17, size=56, sigma=0.6, device="cpu")
    kp, sc, _ = grid_clip(40, persons=1, seed=6)
    kp, sc = torch.from_numpy(kp)[None], torch.from_numpy(sc)[None]
    aug = r.augment(kp, sc, noise_sigma=0.8, generator=torch.Generator().manual_seed(1))
    finite = torch.isfinite(kp)
    assert torch.equal(torch.isfinite(aug.keypoints), finite)  # missing stays missing
    torch.testing.assert_close(aug.keypoints[finite] - aug.noise[finite], kp[finite])
    assert float(aug.noise[finite].std()) == pytest.approx(0.8, rel=0.15)
    none = r.augment(kp, sc)
    torch.testing.assert_close(none.heatmaps, r(kp, sc))
    assert not none.noise.any() and not none.flipped.any() and not none.angles.any()


def test_limb_tree_spans_the_skeleton():
    tree = limb_tree(COCO17)
    assert len(tree) == COCO17.num_joints - 1  # connected: a spanning tree
    children = [c for _, _, c in tree]
    assert len(set(children)) == len(children)
    for li, p, c in tree:
        assert {p, c} == set(COCO17.limbs[li])
    masks = subtree_masks(COCO17, tree)
    e = next(i for i, (_, p, c) in enumerate(tree)
             if (p, c) == (COCO17.index("left_shoulder"), COCO17.index("left_elbow")))
    assert set(np.flatnonzero(masks[e])) == {COCO17.index("left_elbow"),
                                             COCO17.index("left_wrist")}


def test_limb_rotation_about_parent_joint():
    r = GpuHeatmapRenderer(COCO17, size=56, sigma=0.6, device="cpu")
    kp, sc, _ = grid_clip(6, persons=1, seed=8)
    kp[np.isnan(kp)] = 20.0  # keep every joint present for the geometry checks
    sc[sc == 0] = 0.5
    kp, sc = torch.from_numpy(kp)[None], torch.from_numpy(sc)[None]
    aug = r.augment(kp, sc, rotate_prob=1.0, max_angle=40.0,
                    generator=torch.Generator().manual_seed(3))
    sh, el, wr = (COCO17.index(n) for n in ("left_shoulder", "left_elbow", "left_wrist"))
    limb = next(i for i, lb in enumerate(COCO17.limbs) if set(lb) == {sh, el})
    th = float(aug.angles[0, limb])
    assert th != 0 and abs(th) <= math.radians(40) + 1e-6
    out = aug.keypoints[0, :, 0]
    src = kp[0, :, 0]
    # limb lengths are preserved (rigid rotations)
    for a, b in COCO17.limbs:
        if any(set((a, b)) == {p, c} for _, p, c in r.tree):
            torch.testing.assert_close((out[:, a] - out[:, b]).norm(dim=-1),
                                       (src[:, a] - src[:, b]).norm(dim=-1), atol=1e-3, rtol=0)
    # the elbow-wrist limb turns by (its own angle +) the shoulder-elbow angle
    fore = next(i for i, lb in enumerate(COCO17.limbs) if set(lb) == {el, wr})
    total = th + float(aug.angles[0, fore])
    v0, v1 = src[:, wr] - src[:, el], out[:, wr] - out[:, el]
    turned = torch.atan2(v1[:, 1], v1[:, 0]) - torch.atan2(v0[:, 1], v0[:, 0])
    turned = torch.remainder(turned - total + math.pi, 2 * math.pi) - math.pi
    assert turned.abs().max() < 1e-3
    torch.testing.assert_close(aug.heatmaps, r(aug.keypoints, aug.scores))
    # angle 0 everywhere: nothing moves
    same = r.augment(kp, sc, rotate_prob=0.0)
    torch.testing.assert_close(same.keypoints, kp)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_render_equals_numpy():
    rng = np.random.default_rng(11)
    kp, sc = random_pose(rng, (8, 2, 17), 56)
    ref = render_heatmaps(kp, sc, size=56, sigma=0.6, limbs=COCO17.limbs)
    got = render_torch(torch.from_numpy(kp).cuda(), torch.from_numpy(sc).cuda(), size=56,
                       sigma=0.6, limbs=COCO17.limbs)
    np.testing.assert_allclose(got.cpu().numpy(), ref, atol=1e-5)
