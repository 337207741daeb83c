"""The overlay frame (synthetic scene, exact marks) and the MP4 writer."""

import av
import numpy as np
import pytest

from posetools.errors import ConfigError, StoreError
from posetools.viz import draw
from posetools.viz.images import png_size
from posetools.viz.overlay import (
    Mp4Writer,
    OverlayScene,
    draw_overlay_frame,
    dropped_rows,
    write_overlay,
)
from posetools.viz.selection import FrameSelection
from tests.support.media import write_clip
from tests.viz.scenes import H, W, pose, scene_artifacts

RED = np.array(draw.ALERT_COLOR)


def _frame(scene, t):
    return draw_overlay_frame(np.zeros((H, W, 3), np.uint8), scene, t, t / 30)


def _near(px, color, tol=40):
    return bool((np.abs(px.astype(int) - np.asarray(color)) <= tol).all())


@pytest.fixture(scope="module")
def scene():
    agg, est = scene_artifacts()
    return OverlayScene.build(agg, est)


def test_dropped_rows_rule():
    agg, _ = scene_artifacts()
    assert dropped_rows(agg)[:, 0].tolist() == [False, True, False, False, False]
    agg_hi, _ = scene_artifacts(gamma=0.05)  # C = 0.1 >= gamma: not dropped by the filter
    assert not dropped_rows(agg_hi).any()


def test_selected_joints_carry_their_experts_color(scene):
    img = _frame(scene, 0)
    kp = pose()
    for k in (0, 8):  # SST-A chose expert 0 ("alpha")
        assert _near(img[int(kp[k, 1]), int(kp[k, 0])], draw.expert_color(0)), k
    for k in (9, 16):
        assert _near(img[int(kp[k, 1]), int(kp[k, 0])], draw.expert_color(1)), k
    assert not (img[H - 2, W // 2] == RED).all()  # not a dropped frame: no red border


def test_dropped_frame_has_a_red_border_and_no_aggregate(scene):
    img = _frame(scene, 1)
    assert (img[H - 1, W // 2] == RED).all() and (img[H // 2, 0] == RED).all()
    kp = pose()
    # only the thin expert skeleton is there (drawn 3 px off): no aggregate joint disc
    for k in (10, 16):
        assert not _near(img[int(kp[k, 1]), int(kp[k, 0])], draw.expert_color(1), 60)


def test_filled_joint_is_hollow_and_missing_joints_are_not_drawn():
    agg, _ = scene_artifacts()
    sc = OverlayScene.build(agg, None)  # aggregate only
    img = _frame(sc, 2)
    x, y = pose()[5].astype(int)
    r = int(round(max(3.5, 5.0 * draw.drawing_scale(H, W))))
    assert not img[y, x].any()  # the ring's centre: a filled joint is hollow
    assert img[y, x + r].any()
    x12, y12 = pose()[12].astype(int)
    assert _near(img[y12, x12], draw.expert_color(1))
    for k in (0, 3, 14):  # missing joints of that row: nothing at all
        xk, yk = pose()[k].astype(int)
        assert not img[yk - 2:yk + 3, xk - 2:xk + 3].any(), k


def test_rejected_joint_is_a_red_cross_and_nobody_frames_draw_no_pose(scene):
    img = _frame(scene, 3)
    assert _near(img[220, 280], RED, 60)
    empty = _frame(scene, 4)
    bottom = empty[110:, :]  # below the corner panels
    assert not bottom.any()  # nobody: nothing invented (no expert ran on it either)
    unprocessed = _frame(scene, 99)  # a frame no stage processed
    assert not unprocessed[110:, :].any() and unprocessed[:20, :20].any()


def test_mp4_writer_pads_odd_sizes(tmp_path):
    path = tmp_path / "o.mp4"
    with Mp4Writer(path, 33, 25, 12.5) as w:
        for i in range(3):
            w.write(np.full((25, 33, 3), 40 * i, np.uint8))
    assert (w.width, w.height) == (34, 26)
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
    assert len(frames) == 3 and (frames[0].width, frames[0].height) == (34, 26)
    assert path.read_bytes()[:64].find(b"moov") > 0  # +faststart: index before the data


def test_write_overlay_frames_selection_and_errors(tmp_path):
    agg, est = scene_artifacts()
    clip = write_clip(tmp_path / "c.mp4", n=5, size=(W, H))
    sc = OverlayScene.build(agg, est)
    res = write_overlay(clip, sc, tmp_path / "o.mp4", poster=(2, tmp_path / "still.png"))
    assert res.frames == 5 and (res.width, res.height) == (W, H)
    assert png_size(res.poster.read_bytes()) == (W, H)
    sel = FrameSelection(1, None, 2)
    res = write_overlay(clip, sc, tmp_path / "s.mp4", selection=sel)
    with av.open(str(res.path)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 2  # frames 1 and 3
    assert not list(tmp_path.glob(".*tmp*"))
    with pytest.raises(ConfigError, match="no frame"):
        write_overlay(clip, sc, tmp_path / "x.mp4", selection=FrameSelection(50, 60))
    assert not (tmp_path / "x.mp4").exists() and not list(tmp_path.glob(".*tmp*"))
    other = write_clip(tmp_path / "small.mp4", n=2, size=(64, 48))
    with pytest.raises(StoreError, match="another video"):
        write_overlay(other, sc, tmp_path / "y.mp4")
