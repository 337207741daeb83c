"""``style: mmaction2`` on the torch side: the twin renderer, the GPU renderer, the datasets."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from posetools.config.schema import HeatmapsConfig  # noqa: E402
from posetools.errors import ConfigError  # noqa: E402
from posetools.heatmaps import (  # noqa: E402
    channel_flip_permutation,
    compute_compact_crop,
    render_heatmaps,
    render_heatmaps_mmaction2,
)
from posetools.io.artifacts.heatmaps import HeatmapsArtifact  # noqa: E402
from posetools.skeletons import COCO17  # noqa: E402
from posetools.torch import render as torch_render  # noqa: E402
from posetools.torch.datasets import KeypointClipDataset  # noqa: E402
from posetools.torch.mmaction2 import render_heatmaps_mmaction2 as render_mm_torch  # noqa: E402
from posetools.torch.render import GpuHeatmapRenderer  # noqa: E402
from tests.support.heatmap_fixtures import (  # noqa: E402
    run_heatmaps_stage,
    walking_sequence,
    write_aggregate,
)

MM = COCO17.limb_set("mmaction2")


def random_grid(rng, shape, size):
    kp = rng.uniform(-4, size + 4, (*shape, 2)).astype(np.float32)
    kp[..., 1, :] = kp[..., 0, :] + rng.uniform(-0.7, 0.7, (*shape[:-1], 2))  # sub-pixel limbs
    sc = rng.uniform(0, 1, shape).astype(np.float32)
    sc[sc < 0.1] = 0
    kp[rng.random(shape) < 0.1] = np.nan
    return kp, sc


@pytest.mark.parametrize("style", ["posetools", "mmaction2"])
@pytest.mark.parametrize("size,sigma", [(56, 0.6), (64, 0.6), (30, 1.0), (23, 2.7)])
def test_numpy_and_torch_agree_in_both_styles(style, size, sigma):
    rng = np.random.default_rng(size)
    kp, sc = random_grid(rng, (6, 3, 17), size)
    valid = rng.random((6, 3)) < 0.8
    numpy_fn, torch_fn = ((render_heatmaps, torch_render.render_heatmaps) if style == "posetools"
                          else (render_heatmaps_mmaction2, render_mm_torch))
    for kw in (dict(limbs=MM), dict(joints=False, limbs=COCO17.limbs), dict(use_score=False)):
        want = numpy_fn(kp, sc, size=size, sigma=sigma, valid=valid, **kw)
        got = torch_fn(torch.from_numpy(kp), torch.from_numpy(sc), size=size, sigma=sigma,
                       valid=torch.from_numpy(valid), **kw)
        assert got.dtype == torch.float32 and tuple(got.shape) == want.shape
        assert np.abs(got.numpy() - want).max() <= 1e-6
        assert ((got.numpy() > 0) == (want > 0)).all()  # same windows


def test_torch_twin_handles_leading_dims_and_empty_input():
    rng = np.random.default_rng(0)
    kp, sc = random_grid(rng, (2, 3, 1, 17), 32)
    got = render_mm_torch(torch.from_numpy(kp), torch.from_numpy(sc), size=32, sigma=0.6,
                          limbs=MM)
    want = render_heatmaps_mmaction2(kp.reshape(6, 1, 17, 2), sc.reshape(6, 1, 17), size=32,
                                     sigma=0.6, limbs=MM)
    assert tuple(got.shape) == (2, 3, 34, 32, 32)
    assert np.abs(got.reshape(6, 34, 32, 32).numpy() - want).max() <= 1e-6
    none = render_mm_torch(torch.full((3, 1, 17, 2), float("nan")), torch.zeros(3, 1, 17),
                           size=16, sigma=0.6, limbs=MM)
    assert not none.any()


def test_renderer_limb_sets_channels_and_flips():
    r = GpuHeatmapRenderer("coco17", size=32, limbs="mmaction2", style="mmaction2", device="cpu")
    assert r.num_channels == 34 and r.channel_names[17] == "nose-left_shoulder"
    np.testing.assert_array_equal(r.channel_flip_permutation.numpy(),
                                  channel_flip_permutation(COCO17, limbs=MM))
    explicit = GpuHeatmapRenderer("coco17", joints=False, limbs=[(5, 7), (6, 8)], device="cpu")
    assert explicit.channel_names == ["left_shoulder-left_elbow", "right_shoulder-right_elbow"]
    assert explicit.channel_flip_permutation.tolist() == [1, 0]
    with pytest.raises(ConfigError, match="mirror"):
        GpuHeatmapRenderer("coco17", limbs=[(5, 7)], device="cpu")
    with pytest.raises(ConfigError, match="no limb set"):
        GpuHeatmapRenderer("halpe26", limbs="mmaction2", device="cpu")
    with pytest.raises(ConfigError, match="style"):
        GpuHeatmapRenderer("coco17", style="pyskl", device="cpu")
    kp, sc = random_grid(np.random.default_rng(2), (4, 2, 17), 32)
    want = render_heatmaps_mmaction2(kp, sc, size=32, sigma=0.6, limbs=MM)
    assert np.abs(r(kp, sc).numpy() - want).max() <= 1e-6


@pytest.fixture(scope="module")
def out_mm(tmp_path_factory):
    root = tmp_path_factory.mktemp("out_mm")
    cfg = HeatmapsConfig(size=48, style="mmaction2", limbs=True, limb_set="mmaction2",
                         dtype="float32")
    for i, (vid, n, p) in enumerate((("a", 40, 2), ("b", 25, 1))):
        kp, sc, valid = walking_sequence(n, persons=p, seed=i)
        write_aggregate(root / "aggregate" / f"{vid}.h5", kp, sc, valid)
        run_heatmaps_stage(root, vid, cfg)
    return root, cfg


def test_renderer_from_artifact_reproduces_the_mmaction2_cache(out_mm):
    root, cfg = out_mm
    path = root / "heatmaps" / "a.h5"
    r = GpuHeatmapRenderer.from_artifact(path, device="cpu")
    assert r.style == "mmaction2" and r.limb_pairs == MM
    with h5py.File(path, "r") as fh:
        h = HeatmapsArtifact.read(fh)
        maps = fh["heatmaps"][...]
    assert np.abs(r(h.keypoints, h.scores, h.valid).numpy() - maps).max() <= 1e-6
    assert r.channel_names == list(h.channel_names)
    same = GpuHeatmapRenderer.from_config(h.layout, cfg, device="cpu")
    assert same.channel_names == r.channel_names and same.style == "mmaction2"


def test_keypoint_dataset_crops_like_the_cache_and_per_clip_like_mmaction2(out_mm):
    root, cfg = out_mm
    r = GpuHeatmapRenderer.from_config("coco17", cfg, device="cpu")
    video = KeypointClipDataset(root, source="aggregate", config=cfg, clip_len=12,
                                test_mode=True)
    cached = KeypointClipDataset(root, source="heatmaps", clip_len=12, test_mode=True)
    for i in range(len(video)):
        x, y = video[i], cached[i]
        np.testing.assert_array_equal(x["keypoints"].numpy(), y["keypoints"].numpy())
        drawn = r(x["keypoints"], x["scores"], x["valid"])
        assert drawn.shape == (1, 12, 34, 48, 48)
    per_clip = KeypointClipDataset(root, source="aggregate", config=cfg, clip_len=12,
                                   test_mode=True, crop="clip")
    from posetools.io.artifacts.aggregate import AggregateArtifact

    item = per_clip[0]
    pos, _ = per_clip.positions(0)
    with h5py.File(root / "aggregate" / "a.h5", "r") as fh:
        a = AggregateArtifact.read(fh)
    kp, sc, valid = a.keypoints[pos[0]], a.scores[pos[0]], a.valid[pos[0]]
    crop = compute_compact_crop(kp, sc, valid, frame_size=(640, 480), size=48)
    grid = crop.to_grid(kp)
    drawn = np.isfinite(item["keypoints"][0].numpy()).all(-1)
    np.testing.assert_array_equal(item["keypoints"][0].numpy()[drawn], grid[drawn])
    assert crop.box != video._meta[0]["crop"].box  # the sampled frames' box is smaller
    with pytest.raises(ConfigError, match="source aggregate"):
        KeypointClipDataset(root, source="normalize", config=cfg)
    with pytest.raises(ConfigError, match="crop clip"):
        KeypointClipDataset(root, source="heatmaps", crop="clip")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_equals_numpy_in_both_styles():
    rng = np.random.default_rng(11)
    kp, sc = random_grid(rng, (16, 2, 17), 64)
    for numpy_fn, torch_fn in ((render_heatmaps, torch_render.render_heatmaps),
                               (render_heatmaps_mmaction2, render_mm_torch)):
        want = numpy_fn(kp, sc, size=64, sigma=0.6, limbs=MM)
        got = torch_fn(torch.from_numpy(kp).cuda(), torch.from_numpy(sc).cuda(), size=64,
                       sigma=0.6, limbs=MM)
        assert np.abs(got.cpu().numpy() - want).max() <= 1e-6
