"""The pure drawing functions: pixels change where a joint is, never where it is missing."""

import numpy as np
import pytest

from posetools.errors import ShapeError
from posetools.skeletons import COCO17
from posetools.viz import draw


def _black(h=64, w=80):
    return np.zeros((h, w, 3), np.uint8)


def _changed(a, b):
    return (a != b).any(-1)


def _near(px, color, tol=40):
    return bool((np.abs(px.astype(int) - np.array(color)) <= tol).all())


def test_skeleton_draws_present_joints_and_their_limb_only():
    img = _black()
    kp = np.array([[10.0, 10.0], [50.0, 10.0], [np.nan, np.nan], [30.0, 50.0]])
    sc = np.array([0.9, 0.8, 0.0, 0.0])  # joint 3 has coordinates but score 0: missing
    out = draw.draw_skeleton(img, kp, sc, [(0, 1), (1, 2), (1, 3)], (255, 0, 0), thickness=2)
    ch = _changed(out, img)
    assert not img.any()  # copy=True leaves the input alone
    assert ch[10, 10] and ch[10, 50] and ch[10, 30]  # both joints and the limb between them
    assert _near(out[10, 30], (255, 0, 0))
    assert not ch[45:56, 25:36].any()  # score-0 joint: no disc, no limb towards it
    assert not ch[20:, :].any() or not ch[30:, 40:].any()
    assert not ch[30:, :].any()  # nothing below the drawn limb at all


def test_skeleton_per_joint_colors_outline_and_min_score():
    img = np.full((64, 80, 3), 128, np.uint8)
    kp = np.array([[20.0, 20.0], [60.0, 40.0], [70.0, 20.0]])
    out = draw.draw_skeleton(img, kp, np.array([0.9, 0.3, 0.9]), [(0, 1), (0, 2)],
                             (255, 255, 255), thickness=1, radius=4,
                             joint_colors=[(0, 255, 0), None, None], outline=(0, 0, 0),
                             min_score=0.5)
    assert _near(out[20, 20], (0, 255, 0))
    assert not _changed(out, img)[40, 60]  # below min_score: not drawn, and no limb
    assert not _changed(out, img)[30, 40]
    assert _near(out[20, 45], (255, 255, 255), 60)  # the limb 0-2 ...
    assert out[18, 45].max() < 30 and out[22, 45].max() < 30  # ... over its dark outline


def test_in_place_and_non_contiguous_images():
    img = _black()
    kp = np.array([[5.0, 5.0]])
    same = draw.draw_skeleton(img, kp, None, [], (200, 0, 0), thickness=2, copy=False)
    assert same is img and img[5, 5, 0] == 200
    strided = np.zeros((30, 41, 4), np.uint8)[..., :3]  # padded rows, like a decoded frame
    out = draw.draw_skeleton(strided, kp, None, [], (200, 0, 0), thickness=2, copy=False)
    assert out[5, 5, 0] == 200 and out.flags.c_contiguous


def test_markers_filled_ring_cross_and_skipped_points():
    img = _black(60, 60)
    pts = np.array([[15.0, 15.0], [45.0, 45.0], [np.nan, 3.0]])
    filled = draw.draw_markers(img, pts, (0, 0, 255), kind="filled", radius=5)
    assert _near(filled[15, 15], (0, 0, 255)) and _near(filled[45, 45], (0, 0, 255))
    ring = draw.draw_markers(img, pts[:1], [(0, 0, 255)], kind="ring", radius=6, thickness=1)
    assert not ring[15, 15].any() and ring[15, 21].any()  # hollow: the centre stays
    cross = draw.draw_markers(img, pts[:1], (0, 0, 255), kind="cross", radius=6, thickness=1)
    assert cross[15, 15].any() and not cross[15, 21].any()  # centre of the x, not its side
    assert not filled[:, :8].any() and not filled[:8, :].any()  # the NaN point: nothing
    with pytest.raises(ShapeError):
        draw.draw_markers(img, pts, [(1, 2, 3)])


def test_box_label_border_panel():
    img = np.full((40, 60, 3), 100, np.uint8)
    box = draw.draw_box(img, [-20, 10, 30, 80], (0, 255, 0), thickness=1)
    assert _near(box[10, 15], (0, 255, 0), 20) and _near(box[20, 30], (0, 255, 0), 20)
    assert (draw.draw_box(img, [np.nan, 0, 5, 5], (0, 255, 0)) == img).all()
    lab = draw.draw_label(img, "t3", (55, 2), (255, 255, 255))  # pushed inside the image
    ch = _changed(lab, img)
    assert ch[:, 50:].any() and not ch[:, :30].any() and not ch[25:].any()
    bord = draw.draw_border(img, (255, 0, 0), 3)
    assert tuple(bord[0, 30]) == (255, 0, 0) and tuple(bord[39, 59]) == (255, 0, 0)
    assert tuple(bord[20, 30]) == (100, 100, 100)
    pan = draw.draw_panel(img, [("frame 3", None), ("bp", (0, 0, 255))], corner="bottom-right",
                          scale=0.6)
    assert pan[-2, -2].mean() < 100 and tuple(pan[2, 2]) == (100, 100, 100)
    assert (pan == (0, 0, 255)).all(-1).any()  # the legend swatch


def test_helpers():
    assert draw.keypoint_box(np.array([[1.0, 2.0], [np.nan, 0], [5.0, -1.0]])).tolist() == \
        [1.0, -1.0, 5.0, 2.0]
    assert draw.keypoint_box(np.full((3, 2), np.nan)) is None
    assert draw.pad_to_even(np.zeros((5, 7, 3), np.uint8)).shape == (6, 8, 3)
    even = np.zeros((4, 6, 3), np.uint8)
    assert draw.pad_to_even(even) is even
    assert draw.contrast_color((255, 255, 0)) == (0, 0, 0)
    assert draw.contrast_color((31, 119, 180)) == (255, 255, 255)
    assert draw.expert_color(0) != draw.expert_color(1)
    assert draw.expert_color(len(draw.EXPERT_COLORS)) == draw.expert_color(0)
    assert draw.drawing_scale(1080, 1920) == 1.5 and draw.drawing_scale(100, 100) == 0.45
    with pytest.raises(ShapeError):
        draw.draw_skeleton(np.zeros((4, 4), np.uint8), np.zeros((1, 2)), None, [], (1, 1, 1))
    with pytest.raises(ShapeError):
        draw.draw_skeleton(_black(), np.zeros((17, 3)), None, COCO17.limbs, (1, 1, 1))
