"""The crop of a keypoint sequence onto an ``S x S`` heatmap grid (mmaction2 ``PoseCompact``).

Two crops, one per heatmap style:

* :func:`compute_crop` (``style: posetools``): a float box, the grid is the box
  scaled to ``S x S``;
* :func:`compute_compact_crop` (``style: mmaction2``): exactly mmaction2 1.2.0's
  ``PoseCompact(hw_ratio=1, allow_imgpad=True) -> Resize(scale=(-1, S)) ->
  CenterCrop(S)`` (integer box, float32 arithmetic), :class:`CompactCrop`.

Also :func:`joint_mask`, which decides which joints are rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ShapeError, check_shape
from ..skeletons.anatomy import present_mask

DEFAULT_MIN_SCORE = 1e-4
"""Scores below this are treated as missing (mmaction2's ``eps``)."""


@dataclass(frozen=True)
class CropBox:
    """An axis-aligned box in source pixels mapped onto an ``S x S`` heatmap grid.

    A source point ``(x, y)`` maps to grid ``((x - x0) * S / w, (y - y0) * S / h)``
    with ``w = x1 - x0``, ``h = y1 - y0``; :meth:`to_source` inverts it exactly
    (up to float rounding).

    Attributes:
        x0: Left edge (source pixels).
        y0: Top edge.
        x1: Right edge (``> x0``).
        y1: Bottom edge (``> y0``).
    """

    x0: float
    y0: float
    x1: float
    y1: float

    def __post_init__(self) -> None:
        if not (self.x1 > self.x0 and self.y1 > self.y0):
            raise ShapeError(f"crop box: empty box {self.as_array().tolist()}")

    @property
    def width(self) -> float:
        """Box width in source pixels."""
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        """Box height in source pixels."""
        return self.y1 - self.y0

    def scale(self, size: int) -> tuple[float, float]:
        """Grid pixels per source pixel ``(sx, sy)`` for an ``size x size`` grid."""
        return size / self.width, size / self.height

    def as_array(self) -> np.ndarray:
        """``(4,) float64`` ``[x0, y0, x1, y1]``."""
        return np.array([self.x0, self.y0, self.x1, self.y1], dtype=np.float64)

    @staticmethod
    def from_array(box: Sequence[float] | np.ndarray) -> CropBox:
        """Inverse of :meth:`as_array`."""
        x0, y0, x1, y1 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
        return CropBox(x0, y0, x1, y1)

    def to_grid(self, keypoints: np.ndarray, size: int) -> np.ndarray:
        """Map source-pixel keypoints ``(..., 2)`` to grid pixels (float32, NaN kept)."""
        sx, sy = self.scale(size)
        kp = np.asarray(keypoints, dtype=np.float64)
        out = (kp - np.array([self.x0, self.y0])) * np.array([sx, sy])
        return out.astype(np.float32)

    def to_source(self, keypoints: np.ndarray, size: int) -> np.ndarray:
        """Map grid-pixel keypoints ``(..., 2)`` back to source pixels (float32)."""
        sx, sy = self.scale(size)
        kp = np.asarray(keypoints, dtype=np.float64)
        out = kp / np.array([sx, sy]) + np.array([self.x0, self.y0])
        return out.astype(np.float32)


def joint_mask(
    keypoints: np.ndarray,
    scores: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
) -> np.ndarray:
    """Which joints are rendered: present, with ``min_score``, in a valid person slot.

    Presence is :func:`~posetools.skeletons.anatomy.present_mask`.

    Args:
        keypoints: ``(..., P, K, 2)``.
        scores: ``(..., P, K)``.
        valid: ``(..., P)`` bool or ``None`` (all slots valid).
        min_score: Score threshold.

    Returns:
        ``(..., P, K)`` bool.
    """
    kp = np.asarray(keypoints)
    sc = np.asarray(scores)
    if kp.shape[:-1] != sc.shape or kp.shape[-1] != 2:
        raise ShapeError(f"keypoints {kp.shape} and scores {sc.shape} do not match (..., K, 2)")
    m = present_mask(kp, sc, min_score=min_score)
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        if v.shape != sc.shape[:-1]:
            raise ShapeError(f"valid {v.shape} does not match scores {sc.shape[:-1]} (..., P)")
        m &= v[..., None]
    return m


def compute_crop(
    keypoints: np.ndarray,
    scores: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    frame_size: tuple[int, int] | None = None,
    padding: float = 1.25,
    square: bool = True,
    min_size: float = 10.0,
    min_score: float = DEFAULT_MIN_SCORE,
) -> CropBox:
    """The crop of a whole sequence: union box of every valid keypoint, padded.

    mmaction2 ``PoseCompact`` semantics: the union box is scaled by ``padding``
    about its centre and, with ``square``, widened to a square of its longer side
    (``hw_ratio=1``); the box may extend outside the frame. When the union box is
    narrower or shorter than ``min_size`` (or there is no valid keypoint) there is
    no crop: the full frame is used (centred square of side ``max(W, H)`` when
    ``square``). Without ``frame_size`` (e.g. normalized coordinates) a too-small
    padded box is grown to ``min_size`` about its centre instead.

    Args:
        keypoints: ``(T, P, K, 2)`` source pixels, NaN for missing.
        scores: ``(T, P, K)``.
        valid: ``(T, P)`` bool or ``None``.
        frame_size: ``(width, height)`` of the frame, or ``None``.
        padding: Box scale factor (``>= 1``; mmaction2's ``1 + padding``).
        square: Make the box square.
        min_size: Minimum box side (source units) below which nothing is cropped.
        min_score: Joints below this score are ignored.

    Returns:
        The crop box.
    """
    check_shape("keypoints", keypoints, ("T", "P", "K", 2))
    m = joint_mask(keypoints, scores, valid, min_score=min_score)
    pts = np.asarray(keypoints, dtype=np.float64)[m]
    if len(pts):
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        ext = hi - lo
    if not len(pts) or ext[0] < min_size or ext[1] < min_size:
        if frame_size is not None:
            w, h = float(frame_size[0]), float(frame_size[1])
            if square:
                side = max(w, h)
                return CropBox((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
            return CropBox(0.0, 0.0, w, h)
        if not len(pts):
            side = max(float(min_size), 1.0)
            return CropBox(0.0, 0.0, side, side)
        half = np.maximum(np.maximum(ext * padding, min_size), 1e-6) / 2
    else:
        half = ext / 2 * padding
    center = (lo + hi) / 2
    if square:
        half = np.array([half.max(), half.max()])
    return CropBox(
        float(center[0] - half[0]), float(center[1] - half[1]),
        float(center[0] + half[0]), float(center[1] + half[1]),
    )


@dataclass(frozen=True)
class CompactCrop:
    """mmaction2's source-to-grid mapping (``PoseCompact``, ``Resize``, ``CenterCrop``).

    A source coordinate ``x`` maps to ``gx = f32(f32(f32(x - x0) * sx) - left)``
    (y likewise), every operation rounded to float32 as mmaction2 does under
    numpy >= 2. A coordinate exactly equal to 0 is mmaction2's "missing" and is not
    shifted by the box (``gx = -left``); posetools never renders missing joints,
    but a real joint on the frame's edge at exactly 0 is mapped like mmaction2 maps
    it.

    Attributes:
        box: ``(x0, y0, x1, y1)`` integer box (``PoseCompact``'s truncated box) or
            ``(0, 0, W, H)`` when nothing was compacted.
        compacted: Whether ``PoseCompact`` cropped (else the full frame is used).
        size: Grid side ``S``.
        scale: ``(sx, sy)`` float32 ``Resize`` scale factors.
        offset: ``(left, top)`` integer ``CenterCrop`` offsets in resized pixels.
    """

    box: tuple[int, int, int, int]
    compacted: bool
    size: int
    scale: tuple[float, float]
    offset: tuple[int, int]

    def to_grid(self, keypoints: np.ndarray) -> np.ndarray:
        """Map source-pixel keypoints ``(..., 2)`` to grid pixels (float32, NaN kept)."""
        kp = np.asarray(keypoints, dtype=np.float32)
        origin = np.array(self.box[:2], dtype=np.float32)
        shifted = np.where(kp != 0, kp - origin, kp)  # exact for |v| < 2**23, as in mmaction2
        resized = shifted * np.array(self.scale, dtype=np.float32)
        return (resized - np.array(self.offset, dtype=np.float32)).astype(np.float32)

    def crop_box(self) -> CropBox:
        """The source region the grid covers, as a float :class:`CropBox`.

        ``CropBox.to_grid`` / ``to_source`` with it agree with :meth:`to_grid` up to
        float rounding (it is what the artifact stores as ``crop_box``).
        """
        sx, sy = (float(v) for v in self.scale)
        x0 = self.box[0] + self.offset[0] / sx
        y0 = self.box[1] + self.offset[1] / sy
        return CropBox(x0, y0, x0 + self.size / sx, y0 + self.size / sy)


def compute_compact_crop(
    keypoints: np.ndarray,
    scores: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    frame_size: tuple[int, int],
    size: int,
    padding: float = 1.25,
    square: bool = True,
    min_size: float = 10.0,
) -> CompactCrop:
    """mmaction2's crop of a whole sequence, exactly (float32, integer box).

    The box is ``PoseCompact(padding=padding - 1, threshold=min_size, hw_ratio=1 if
    square else None, allow_imgpad=True)`` over every *present* joint (finite, score
    > 0, valid slot: what ``posetools export pyskl`` writes), x and y separately and
    ignoring coordinates equal to 0, as mmaction2 does; then ``Resize(scale=(-1,
    size))`` and ``CenterCrop(size)``. When the x or y extent is below ``min_size``
    (or nobody is there) nothing is compacted and the full frame is resized and
    centre-cropped. ``min_score`` plays no part here: mmaction2 sizes the box with
    every exported coordinate, also those whose score is too low to be drawn.

    Args:
        keypoints: ``(T, P, K, 2)`` source pixels, NaN for missing.
        scores: ``(T, P, K)``.
        valid: ``(T, P)`` bool or ``None``.
        frame_size: ``(width, height)`` of the frame.
        size: Grid side ``S``.
        padding: ``1 + `` mmaction2's ``padding``.
        square: ``hw_ratio=1`` (mmaction2's PoseC3D configs) or no ratio.
        min_size: mmaction2's ``threshold``.

    Returns:
        The crop.
    """
    check_shape("keypoints", keypoints, ("T", "P", "K", 2))
    m = joint_mask(keypoints, scores, valid, min_score=0.0)
    pts = np.asarray(keypoints, dtype=np.float32)[m]
    w, h = int(frame_size[0]), int(frame_size[1])
    box, compacted = (0, 0, w, h), False
    xs, ys = pts[:, 0][pts[:, 0] != 0], pts[:, 1][pts[:, 1] != 0]
    if xs.size and ys.size:
        f32 = np.float32
        x_lo, x_hi, y_lo, y_hi = xs.min(), xs.max(), ys.min(), ys.max()
        if not (x_hi - x_lo < f32(min_size) or y_hi - y_lo < f32(min_size)):
            two, grow = f32(2), f32(padding)
            cx, cy = (x_hi + x_lo) / two, (y_hi + y_lo) / two
            hw, hh = (x_hi - x_lo) / two * grow, (y_hi - y_lo) / two * grow
            if square:
                hh = max(hw, hh)
                hw = max(hh, hw)
            box = (int(cx - hw), int(cy - hh), int(cx + hw), int(cy + hh))
            compacted = True
    bw, bh = box[2] - box[0], box[3] - box[1]
    if bw <= 0 or bh <= 0:
        raise ShapeError(f"compact crop: empty box {box}")
    f = size / min(bw, bh)  # Resize(scale=(-1, S)): the short side becomes S
    new_w, new_h = int(bw * f + 0.5), int(bh * f + 0.5)
    scale = (float(np.float32(new_w / bw)), float(np.float32(new_h / bh)))
    return CompactCrop(box, compacted, int(size), scale,
                       ((new_w - size) // 2, (new_h - size) // 2))
