"""Drawing on images: skeletons, joint markers, boxes, labels, a text panel (OpenCV).

Pure functions on ``(H, W, 3) uint8`` RGB images (the frames of
:class:`posetools.io.video.VideoReader`), usable from a notebook::

    from posetools.skeletons import COCO17
    from posetools.viz import draw
    img = draw.draw_skeleton(frame.image, kp, scores, COCO17.limbs, draw.expert_color(0))

Every function returns the drawn image; it draws on a copy unless ``copy=False``
(then a writeable C-contiguous input array — see :func:`canvas` — is drawn on in
place and returned, which saves a frame copy per call when several layers go onto
one video frame; any other array is copied first, so always use the returned image).
Coordinates are float pixels ``(x, y)``, drawn with sub-pixel precision. A joint is
drawn only when it is *present* (finite coordinates, a score > 0 and >= ``min_score``:
the rule of :func:`posetools.skeletons.anatomy.present_mask`); a limb only when both
its joints are; nothing is ever drawn for a missing joint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

from ..errors import ShapeError
from ..skeletons.anatomy import present_mask

Color = tuple[int, int, int]
"""An RGB color, 0-255 per channel."""

EXPERT_COLORS: tuple[Color, ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (148, 103, 189), (23, 190, 207),
    (227, 119, 194), (188, 189, 34), (140, 86, 75),
)
"""One color per expert, in config order (matplotlib's tab10 without red and grey)."""

AGGREGATE_COLOR: Color = (255, 255, 255)
"""The SST-A aggregate: white, drawn last, thicker, over a dark outline."""

OUTLINE_COLOR: Color = (20, 20, 20)
ALERT_COLOR: Color = (230, 30, 30)
"""Dropped frames and rejected joints."""

TEXT_COLOR: Color = (240, 240, 240)

_SHIFT = 4  # sub-pixel bits of OpenCV's drawing calls
_ONE = 1 << _SHIFT
_FONT = cv2.FONT_HERSHEY_SIMPLEX

MarkerKind = Literal["filled", "ring", "cross"]
Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


def expert_color(index: int) -> Color:
    """The color of expert ``index`` (config order; the palette repeats after 8)."""
    return EXPERT_COLORS[index % len(EXPERT_COLORS)]


def drawing_scale(height: int, width: int) -> float:
    """A size factor for lines and text on a frame: 1 at 720 px on the short side.

    Clipped to [0.45, 2] so that small videos keep readable text and 4K stays sane.
    """
    return float(np.clip(min(height, width) / 720.0, 0.45, 2.0))


def canvas(image: np.ndarray, copy: bool = True) -> np.ndarray:
    """The array the drawing functions draw on: ``image`` itself, or a C-contiguous copy.

    ``image`` is used as is only with ``copy=False`` and when it is writeable and
    C-contiguous (decoded frames with padded rows are not: they are copied).

    Raises:
        ShapeError: Not an ``(H, W, 3) uint8`` image.
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ShapeError(f"image: expected (H, W, 3) uint8, got {img.shape} {img.dtype}")
    if copy or not img.flags.c_contiguous or not img.flags.writeable:
        img = np.array(img, order="C", copy=True)
    return img


def _fix(xy: np.ndarray) -> tuple[int, int]:
    """A float point as OpenCV's fixed-point ``shift`` coordinates."""
    return int(round(float(xy[0]) * _ONE)), int(round(float(xy[1]) * _ONE))


def _present(keypoints: np.ndarray, scores: np.ndarray | None, min_score: float) -> np.ndarray:
    kp = np.asarray(keypoints, np.float64)
    if kp.ndim != 2 or kp.shape[1] != 2:
        raise ShapeError(f"keypoints: expected (K, 2), got {kp.shape}")
    if scores is not None and np.shape(scores) != kp.shape[:1]:
        raise ShapeError(f"scores: expected ({kp.shape[0]},), got {np.shape(scores)}")
    ok = present_mask(kp, None if scores is None else np.asarray(scores, np.float64),
                      min_score=min_score)
    return ok & (np.abs(kp) < 1e6).all(-1)


def draw_skeleton(
    image: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray | None,
    limbs: Sequence[tuple[int, int]],
    color: Color,
    *,
    thickness: float = 2.0,
    radius: float | None = None,
    min_score: float = 0.0,
    joint_colors: Sequence[Color | None] | None = None,
    outline: Color | None = None,
    copy: bool = True,
) -> np.ndarray:
    """Draw one skeleton: its limbs as lines and its present joints as discs.

    Args:
        image: ``(H, W, 3) uint8`` RGB.
        keypoints: ``(K, 2)`` pixels ``(x, y)``; NaN for missing joints.
        scores: ``(K,)`` joint scores, or ``None`` (then finite = present).
        limbs: Joint index pairs ``(a, b)`` of the layout.
        color: Limb color (and joint color unless ``joint_colors``).
        thickness: Limb line width in pixels (>= 1).
        radius: Joint disc radius (default ``thickness``; 0: no joints).
        min_score: Joints scoring below it are not drawn.
        joint_colors: ``K`` per-joint disc colors (``None`` entries: ``color``).
        outline: Color of a 2-px wider line and disc drawn underneath, or ``None``.
        copy: Draw on a copy (default) or in place.

    Returns:
        The drawn image.
    """
    img = canvas(image, copy)
    kp = np.asarray(keypoints, np.float64)
    ok = _present(kp, scores, min_score)
    if joint_colors is not None and len(joint_colors) != len(kp):
        raise ShapeError(f"joint_colors: expected {len(kp)} entries, got {len(joint_colors)}")
    t = max(1, int(round(thickness)))
    r = t if radius is None else radius
    pairs = [(a, b) for a, b in limbs if ok[a] and ok[b]]
    layers = ([(outline, 2)] if outline is not None else []) + [(None, 0)]
    for col, extra in layers:
        for a, b in pairs:
            cv2.line(img, _fix(kp[a]), _fix(kp[b]), col or color, t + extra, cv2.LINE_AA, _SHIFT)
        if r > 0:
            for j in np.flatnonzero(ok):
                jc = col or (joint_colors[j] if joint_colors is not None else None) or color
                cv2.circle(img, _fix(kp[j]), int(round((r + extra / 2) * _ONE)), jc, -1,
                           cv2.LINE_AA, _SHIFT)
    return img


def draw_markers(
    image: np.ndarray,
    points: np.ndarray,
    colors: Color | Sequence[Color],
    *,
    kind: MarkerKind = "filled",
    radius: float = 4.0,
    thickness: float = 2.0,
    outline: Color | None = None,
    copy: bool = True,
) -> np.ndarray:
    """Mark points: filled discs, hollow rings or crosses; non-finite points are skipped.

    Args:
        image: ``(H, W, 3) uint8`` RGB.
        points: ``(N, 2)`` pixels.
        colors: One color for all, or ``N`` colors.
        kind: ``filled`` (a disc), ``ring`` (hollow: e.g. an interpolated joint) or
            ``cross`` (an x: e.g. a rejected joint).
        radius: Marker radius in pixels.
        thickness: Line width of rings and crosses.
        outline: A darker rim drawn underneath, or ``None``.
        copy: Draw on a copy (default) or in place.

    Returns:
        The drawn image.
    """
    img = canvas(image, copy)
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    cols = [colors] * len(pts) if _is_color(colors) else list(colors)  # type: ignore[list-item]
    if len(cols) != len(pts):
        raise ShapeError(f"colors: expected {len(pts)} entries, got {len(cols)}")
    t = max(1, int(round(thickness)))
    for p, c in zip(pts, cols, strict=True):
        if not np.isfinite(p).all() or (np.abs(p) > 1e6).any():
            continue
        for col, extra in (([(outline, 2)] if outline is not None else []) + [(c, 0)]):
            if kind == "filled":
                cv2.circle(img, _fix(p), int(round((radius + extra / 2) * _ONE)), col, -1,
                           cv2.LINE_AA, _SHIFT)
            elif kind == "ring":
                cv2.circle(img, _fix(p), int(round(radius * _ONE)), col, t + extra, cv2.LINE_AA,
                           _SHIFT)
            else:
                d = radius / np.sqrt(2.0)
                for sx in (-1.0, 1.0):
                    cv2.line(img, _fix(p + (-d, -d * sx)), _fix(p + (d, d * sx)), col, t + extra,
                             cv2.LINE_AA, _SHIFT)
    return img


def _is_color(c) -> bool:
    return len(c) == 3 and all(isinstance(v, (int, np.integer)) for v in c)


def draw_box(
    image: np.ndarray,
    box: np.ndarray | Sequence[float],
    color: Color,
    *,
    thickness: float = 2.0,
    label: str | None = None,
    scale: float = 1.0,
    copy: bool = True,
) -> np.ndarray:
    """Draw an xyxy box (parts outside the image are clipped), optionally labeled above it.

    A box with a non-finite coordinate is not drawn.
    """
    img = canvas(image, copy)
    b = np.asarray(box, np.float64).reshape(4)
    if not np.isfinite(b).all():
        return img
    b = np.clip(b, -1e5, 1e5)
    cv2.rectangle(img, _fix(b[:2]), _fix(b[2:]), color, max(1, int(round(thickness))),
                  cv2.LINE_AA, _SHIFT)
    if label:
        draw_label(img, label, (b[0], b[1]), color, scale=scale, copy=False)
    return img


def text_size(text: str, scale: float = 1.0) -> tuple[int, int, int]:
    """``(width, height, baseline)`` in pixels of ``text`` as :func:`draw_label` draws it."""
    fs, th = 0.5 * scale, max(1, int(round(scale)))
    (w, h), base = cv2.getTextSize(text, _FONT, fs, th)
    return w, h, base


def contrast_color(background: Color) -> Color:
    """Black or white, whichever reads better on ``background`` (by luma)."""
    r, g, b = background
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def draw_label(
    image: np.ndarray,
    text: str,
    origin: tuple[float, float],
    color: Color,
    *,
    scale: float = 1.0,
    background: Color | None = OUTLINE_COLOR,
    copy: bool = True,
) -> np.ndarray:
    """Write ``text`` with its bottom-left corner at ``origin``, on a box.

    The label is moved inside the image when ``origin`` would put it outside. Only
    ASCII is drawn (OpenCV's Hershey font).

    Args:
        image: ``(H, W, 3) uint8`` RGB.
        text: One line.
        origin: ``(x, y)`` pixels of the bottom-left corner.
        color: Text color.
        scale: Size factor (1: about 10 px tall letters; see :func:`drawing_scale`).
        background: Box color behind the text, or ``None``.
        copy: Draw on a copy (default) or in place.

    Returns:
        The drawn image.
    """
    img = canvas(image, copy)
    h_img, w_img = img.shape[:2]
    w, h, base = text_size(text, scale)
    pad = max(2, int(round(3 * scale)))
    x = int(np.clip(round(origin[0]), 0, max(0, w_img - w - 2 * pad)))
    y = int(np.clip(round(origin[1]), h + 2 * pad, max(h + 2 * pad, h_img - base)))
    if background is not None:
        cv2.rectangle(img, (x, y - h - 2 * pad), (x + w + 2 * pad, y + base), background, -1)
    cv2.putText(img, text, (x + pad, y - pad), _FONT, 0.5 * scale, color,
                max(1, int(round(scale))), cv2.LINE_AA)
    return img


def draw_panel(
    image: np.ndarray,
    lines: Sequence[tuple[str, Color | None]],
    *,
    corner: Corner = "top-left",
    scale: float = 1.0,
    alpha: float = 0.75,
    copy: bool = True,
) -> np.ndarray:
    """A translucent dark panel of text lines in a corner (frame info, legend).

    Args:
        image: ``(H, W, 3) uint8`` RGB.
        lines: ``(text, swatch)`` per line: a line with a color gets a color square in
            front of it (a legend entry), ``None`` plain text.
        corner: Where the panel goes.
        scale: Size factor of the text.
        alpha: Opacity of the panel background.
        copy: Draw on a copy (default) or in place.

    Returns:
        The drawn image.
    """
    img = canvas(image, copy)
    if not lines:
        return img
    pad = max(3, int(round(6 * scale)))
    sizes = [text_size(t, scale) for t, _ in lines]
    line_h = max(h + b for _, h, b in sizes) + pad // 2
    sw = line_h - pad // 2  # swatch side
    widths = [w + (sw + pad if c is not None else 0) for (w, _, _), (_, c) in zip(sizes, lines,
                                                                                 strict=True)]
    pw, ph = max(widths) + 2 * pad, line_h * len(lines) + 2 * pad - pad // 2
    h_img, w_img = img.shape[:2]
    pw, ph = min(pw, w_img), min(ph, h_img)
    x0 = 0 if corner.endswith("left") else w_img - pw
    y0 = 0 if corner.startswith("top") else h_img - ph
    roi = img[y0:y0 + ph, x0:x0 + pw]
    roi[...] = (roi.astype(np.float32) * (1 - alpha) + np.float32(12) * alpha).astype(np.uint8)
    for i, ((text, swatch), (_, h, _)) in enumerate(zip(lines, sizes, strict=True)):
        top = y0 + pad + i * line_h
        x = x0 + pad
        if swatch is not None:
            cv2.rectangle(img, (x, top), (x + sw - 1, top + sw - 1), swatch, -1)
            x += sw + pad
        cv2.putText(img, text, (x, top + h), _FONT, 0.5 * scale, TEXT_COLOR,
                    max(1, int(round(scale))), cv2.LINE_AA)
    return img


def draw_border(image: np.ndarray, color: Color, thickness: int, *, copy: bool = True
                ) -> np.ndarray:
    """Paint a frame of ``thickness`` pixels around the image (e.g. a dropped frame)."""
    img = canvas(image, copy)
    t = max(1, int(thickness))
    img[:t], img[-t:], img[:, :t], img[:, -t:] = color, color, color, color
    return img


def keypoint_box(keypoints: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray | None:
    """``(4,)`` xyxy box of the present joints, or ``None`` when none is present."""
    kp = np.asarray(keypoints, np.float64)
    ok = _present(kp, scores, 0.0)
    if not ok.any():
        return None
    p = kp[ok]
    return np.concatenate([p.min(0), p.max(0)])


def pad_to_even(image: np.ndarray) -> np.ndarray:
    """Pad the bottom / right edge by one replicated pixel where H or W is odd.

    H.264 in yuv420p needs even sizes; nothing is scaled or cropped.
    """
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


__all__ = [
    "Color", "canvas", "EXPERT_COLORS", "AGGREGATE_COLOR", "ALERT_COLOR", "OUTLINE_COLOR",
    "TEXT_COLOR", "expert_color", "drawing_scale", "draw_skeleton", "draw_markers", "draw_box",
    "draw_label", "contrast_color", "draw_panel", "draw_border", "text_size", "keypoint_box",
    "pad_to_even",
]
