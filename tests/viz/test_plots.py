"""Figures: fixed pixel sizes, reproducible bytes, the strip's colors, the montage layout."""

import sys

import numpy as np
import pytest

from posetools.errors import MissingBackendError
from posetools.heatmaps import channel_names
from posetools.io.artifacts.heatmaps import HeatmapsArtifact
from posetools.io.artifacts.normalize import NormalizeArtifact
from posetools.skeletons import COCO17
from posetools.viz import montage, plots
from posetools.viz.draw import ALERT_COLOR, expert_color
from posetools.viz.images import png_size
from tests.viz.scenes import scene_artifacts


def test_confidence_png_size_and_reproducible():
    agg, _ = scene_artifacts()
    png = plots.confidence_png(agg, title="synthetic")
    assert png_size(png) == plots.confidence_size(1) == (1400, 540)
    assert plots.confidence_png(agg, title="synthetic") == png
    assert plots.confidence_size(2) == (1400, 745)
    assert plots.confidence_size(9) == plots.confidence_size(plots.MAX_STRIPS)


def test_selection_strip_colors():
    agg, _ = scene_artifacts()
    strip = plots.selection_strip(agg, 0, np.arange(5))  # (K, T, 3)
    assert strip.shape == (17, 5, 3)
    rgb = lambda c: np.array(c) / 255  # noqa: E731
    assert np.allclose(strip[0, 0], rgb(expert_color(0)))
    assert np.allclose(strip[12, 0], rgb(expert_color(1)))
    assert np.allclose(strip[:, 1], 1.0) and np.allclose(strip[:, 4], 1.0)  # dropped, nobody
    assert np.allclose(strip[5, 2], 0.25)  # filled by SST-A
    assert np.allclose(strip[7, 3], rgb(ALERT_COLOR))  # rejected, not repaired
    assert np.allclose(strip[9, 3], 0.65)  # repaired by the refinement


def test_normalized_png_size():
    agg, _ = scene_artifacts()
    t, p = agg.valid.shape
    kp = (agg.keypoints - np.nanmean(agg.keypoints, axis=2, keepdims=True)) / 40
    from dataclasses import replace
    norm = NormalizeArtifact(replace(agg, keypoints=kp.astype(np.float32)),
                             np.full((t, p, 2), 100, np.float32), np.full((t, p), 40, np.float32),
                             np.zeros((t, p), np.float32), "{}")
    png = plots.normalized_png(norm, title="synthetic")
    assert png_size(png) == plots.NORMALIZED_SIZE
    rows = np.zeros(t, bool)
    rows[[0, 3]] = True
    assert png_size(plots.normalized_png(norm, rows=rows)) == plots.NORMALIZED_SIZE


def test_matplotlib_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingBackendError, match=r"posetools\[viz\]"):
        plots.figure(100, 100)


def test_tile_maps_and_blocks():
    maps = np.random.default_rng(0).random((2, 3, 4, 4)).astype(np.float32)
    tiled = montage.tile_maps(maps)
    assert tiled.shape == (2 * 4 + 1, 3 * 4 + 2)
    assert np.array_equal(tiled[5:9, 10:14], maps[1, 2])
    assert np.isnan(tiled[4]).all() and np.isnan(tiled[:, 4]).all()
    assert np.array_equal(montage.tile_maps(maps, range(1, 2)), np.vstack(
        [maps[0, 1], np.full((1, 4), np.nan), maps[1, 1]]), equal_nan=True)
    assert [len(b) for b in montage.blocks(18)] == [18]
    assert [len(b) for b in montage.blocks(37)] == [19, 18]
    assert [len(b) for b in montage.blocks(134)] == [20] * 6 + [14]


def _heatmaps_artifact(t=4, s=8, limbs=False):
    names = channel_names(COCO17, joints=True, limbs=limbs)
    kp = np.full((t, 1, 17, 2), 4.0, np.float32)
    lim = np.array(COCO17.limbs if limbs else np.zeros((0, 2)), np.int32).reshape(-1, 2)
    return HeatmapsArtifact(np.arange(t), np.arange(t) / 30, kp, np.ones((t, 1, 17), np.float32),
                            np.ones((t, 1), bool), np.array([-10.0, -5.0, 70.0, 75.0]),
                            np.array([s / 80, s / 80]), lim, tuple(names),
                            np.arange(len(names)), 60, 40, 30.0, 1, "coco17", s, 0.6, True,
                            limbs, True, 1e-4, 1.25, True, 10.0, "{}")


def test_crop_frame_shows_a_box_reaching_outside_the_frame():
    art = _heatmaps_artifact()
    img = montage.crop_frame(np.zeros((40, 60, 3), np.uint8), art, 0)
    assert img.shape == (80, 80, 3)  # the union of the frame and the box [-10, 70] x [-5, 75]
    assert (img[60, 40] == 90).all()  # grey padding below the frame
    assert (img[40, 1] == (255, 210, 0)).all()  # the box's left edge, outside the frame
    assert (img[40, 40] > 200).all()  # grid (4, 4) -> source (30, 35) -> canvas (40, 40)
    assert not img[10:40, 15:25].any()  # the (black) frame elsewhere


@pytest.mark.parametrize("limbs", [False, True])
def test_montage_png_size(limbs):
    art = _heatmaps_artifact(limbs=limbs)
    c = len(art.channel_names)
    maps = np.random.default_rng(1).random((3, c, 8, 8)).astype(np.float32)
    png = montage.montage_png(art, maps, np.array([0, 1, 3]),
                              frame_image=np.zeros((80, 80, 3), np.uint8), title="t")
    assert png_size(png) == montage.montage_size(3, c)
    assert montage.montage_size(3, c)[1] > (1000 if limbs else 600)
