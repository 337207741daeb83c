"""Per-frame pose normalization and frame resampling (pure numpy).

Normalization (§3.3.1 of the pose-contrastive segmentation method; references in
``docs/glossary.md``) maps every skeleton to a canonical frame:

1. **Center** ``c``: the mean of the skeleton's *present* joints (a joint is present
   when its coordinates are finite and its score is ``> 0``; missing joints never
   pull the center).
2. **Scale** ``s`` (the paper leaves it open; :attr:`PoseNormConfig.scale`):
   ``"rms"`` (default) the root-mean-square distance of the present joints to
   ``c`` — robust to a single far joint and defined for any skeleton with two
   distinct present joints; ``"max"`` the largest distance to ``c``; ``"torso"``
   the distance between mid-shoulders and mid-hips (all four joints required).
3. **Rotation** by the angle ``theta`` that puts the head straight above ``c``
   (image coordinates, ``y`` pointing down: after the rotation ``head - c`` is a
   positive multiple of ``(0, -1)``).

The forward transform of a point ``x`` (pixels) is ``n = R(theta) (x - c) / s``
with ``R(a) = [[cos a, -sin a], [sin a, cos a]]`` acting on column vectors
``(x, y)``; its inverse is ``x = c + s R(-theta) n`` (:func:`denormalize`).
``center``, ``scale`` and ``angle`` (``theta`` in radians, in ``(-pi, pi]``) are
returned per skeleton so the transform can be inverted.

Head, shoulders and hips are the reference points of
:mod:`posetools.skeletons.anatomy` (shared with SST-A). Options:
:class:`~posetools.config.algorithms.PoseNormConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .config.algorithms import PoseNormConfig
from .errors import ShapeError
from .skeletons import get_layout
from .skeletons.anatomy import head_def, hips_def, reference_point, shoulders_def


@dataclass(frozen=True)
class Normalized:
    """Normalized skeletons and the transforms that produced them.

    Attributes:
        keypoints: ``(..., K, 2) float32`` normalized coordinates; NaN for missing
            joints and for skeletons that could not be normalized.
        center: ``(..., 2) float32`` center of mass in pixels (NaN if not ok).
        scale: ``(...,) float32`` scale in pixels (NaN if not ok).
        angle: ``(...,) float32`` rotation applied, radians (NaN if not ok).
        ok: ``(...,) bool`` skeletons that were normalized.
    """

    keypoints: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    angle: np.ndarray
    ok: np.ndarray


def _rotation(angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.cos(angle), np.sin(angle)


def _rotate(v: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate ``(..., K, 2)`` by per-skeleton angles given as ``(...)`` cos/sin."""
    c, s = cos[..., None], sin[..., None]
    x, y = v[..., 0], v[..., 1]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1)


def normalize_skeletons(
    keypoints: np.ndarray,
    present: np.ndarray | None = None,
    cfg: PoseNormConfig = PoseNormConfig(),  # noqa: B008 - frozen, immutable default
) -> Normalized:
    """Center, scale and rotate every skeleton (see the module docstring).

    Args:
        keypoints: ``(..., K, 2)`` pixel coordinates in ``cfg.layout``.
        present: ``(..., K) bool`` joints to use (default: finite coordinates).
            Joints not present do not pull the center or the scale and come out NaN.
        cfg: Options.

    Returns:
        A :class:`Normalized`. A skeleton is not ok (all NaN) when it has no
        present joint, its scale is undefined or zero (e.g. a single joint, or
        ``torso`` without both shoulders and hips), or — with
        ``missing_head="invalid"`` — its head is undefined.

    Raises:
        ShapeError: ``keypoints`` is not ``(..., K, 2)`` for the layout.
    """
    lay = get_layout(cfg.layout)
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim < 2 or kp.shape[-2:] != (lay.num_joints, 2):
        raise ShapeError(f"keypoints: expected (..., {lay.num_joints}, 2), got {kp.shape}")
    pres = np.isfinite(kp).all(axis=-1)
    if present is not None:
        pres &= np.asarray(present, dtype=bool)
    n = pres.sum(axis=-1)
    kz = np.where(pres[..., None], kp, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        center = kz.sum(axis=-2) / n[..., None]
        rel = kz - center[..., None, :]
        dist = np.where(pres, np.sqrt((rel**2).sum(axis=-1)), 0.0)
        if cfg.scale == "rms":
            scale = np.sqrt((dist**2).sum(axis=-1) / n)
        elif cfg.scale == "max":
            scale = dist.max(axis=-1, initial=0.0)
        else:
            sh = reference_point(kp, pres, shoulders_def(lay))
            hp = reference_point(kp, pres, hips_def(lay))
            scale = np.sqrt(((sh - hp) ** 2).sum(axis=-1))
    ok = (n > 0) & np.isfinite(scale) & (scale > 0)
    angle = np.zeros(kp.shape[:-2], dtype=np.float64)
    if cfg.rotate:
        head = reference_point(kp, pres, head_def(lay, cfg.head))
        u = head - center
        norm_u = np.sqrt((u**2).sum(axis=-1))
        has_head = np.isfinite(norm_u) & (norm_u > 1e-9 * np.where(ok, scale, 1.0))
        phi = np.arctan2(np.where(has_head, u[..., 1], -1.0), np.where(has_head, u[..., 0], 0.0))
        theta = -np.pi / 2 - phi
        angle = np.where(has_head, _wrap(theta), 0.0)
        if cfg.missing_head == "invalid":
            ok &= has_head
    cos, sin = _rotation(angle)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = _rotate(rel, cos, sin) / scale[..., None, None]
    out = np.where((pres & ok[..., None])[..., None], out, np.nan)
    nan = np.float64(np.nan)
    return Normalized(
        keypoints=out.astype(np.float32),
        center=np.where(ok[..., None], center, nan).astype(np.float32),
        scale=np.where(ok, scale, nan).astype(np.float32),
        angle=np.where(ok, angle, nan).astype(np.float32),
        ok=ok,
    )


def _wrap(a: np.ndarray) -> np.ndarray:
    """Wrap angles to ``(-pi, pi]``."""
    w = np.mod(a + np.pi, 2 * np.pi) - np.pi
    return np.where(w <= -np.pi, w + 2 * np.pi, w)


def denormalize(
    keypoints: np.ndarray, center: np.ndarray, scale: np.ndarray, angle: np.ndarray
) -> np.ndarray:
    """Invert :func:`normalize_skeletons`: ``x = c + s R(-theta) n``.

    Args:
        keypoints: ``(..., K, 2)`` normalized coordinates.
        center: ``(..., 2)``.
        scale: ``(...)``.
        angle: ``(...)`` radians.

    Returns:
        ``(..., K, 2) float64`` pixel coordinates (NaN propagates).
    """
    n = np.asarray(keypoints, dtype=np.float64)
    a = np.asarray(angle, dtype=np.float64)
    cos, sin = _rotation(-a)
    back = _rotate(n, cos, sin) * np.asarray(scale, dtype=np.float64)[..., None, None]
    return back + np.asarray(center, dtype=np.float64)[..., None, :]


ResampleMethod = Literal["nearest", "linear"]


def resample_to_frames(
    src_frames: np.ndarray,
    values: np.ndarray,
    valid: np.ndarray,
    dst_frames: np.ndarray,
    *,
    method: ResampleMethod = "linear",
    max_gap: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Map per-sample values (e.g. keypoints every 5th frame) onto other frames.

    For each destination frame ``f`` let ``a <= f <= b`` be the nearest source
    frames around it. A destination frame equal to a source frame takes that
    sample. Otherwise:

    * ``linear``: ``(1 - w) v_a + w v_b`` with ``w = (f - a) / (b - a)``; valid
      only if both samples are valid (no extrapolation before the first or after
      the last source frame).
    * ``nearest``: the sample of the closer source frame (the earlier one on a
      tie, and the only one before the first / after the last); valid iff that
      sample is valid (no fall-back to the other neighbor).

    With ``max_gap`` set, linear interpolation also requires ``b - a <= max_gap``
    and nearest requires ``|f - nearest| <= max_gap`` (in frames).

    Args:
        src_frames: ``(T,)`` strictly increasing source frame indices.
        values: ``(T, ...)`` samples (e.g. keypoints ``(T, P, K, 2)``).
        valid: ``(T, ...)`` bool, a prefix of ``values``' shape (e.g. ``(T, P, K)``).
        dst_frames: ``(F,)`` destination frame indices (any order).
        method: ``"linear"`` or ``"nearest"``.
        max_gap: Largest bridged distance in frames, or ``None`` for no limit.

    Returns:
        ``(values (F, ...) float64, valid (F, ...) bool)``; invalid entries are NaN
        for floating values.

    Raises:
        ShapeError: Inconsistent shapes or non-increasing ``src_frames``.
    """
    src = np.asarray(src_frames, dtype=np.float64)
    dst = np.asarray(dst_frames, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    ok = np.asarray(valid, dtype=bool)
    if src.ndim != 1 or v.shape[:1] != src.shape or ok.shape != v.shape[: ok.ndim] or ok.ndim < 1:
        raise ShapeError(
            f"resample_to_frames: src_frames {src.shape}, values {v.shape}, valid {ok.shape} "
            "must be (T,), (T, ...), (T, ...prefix)"
        )
    if src.size > 1 and not np.all(np.diff(src) > 0):
        raise ShapeError("resample_to_frames: src_frames must be strictly increasing")
    out_shape = dst.shape + v.shape[1:]
    if src.size == 0:
        return np.full(out_shape, np.nan), np.zeros(dst.shape + ok.shape[1:], dtype=bool)
    t = src.size
    hi = np.searchsorted(src, dst, side="left")  # first src >= f
    exact = (hi < t) & (src[np.minimum(hi, t - 1)] == dst)
    b = np.minimum(hi, t - 1)
    a = np.where(exact, b, np.maximum(hi - 1, 0))
    extra = (ok.ndim - 1) * (None,)
    vext = (v.ndim - 1) * (None,)
    if method == "linear":
        inside = exact | ((hi > 0) & (hi < t))
        span = src[b] - src[a]
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(span > 0, (dst - src[a]) / span, 0.0)
        res = (1 - w)[(...,) + vext] * v[a] + w[(...,) + vext] * v[b]
        keep = inside[(...,) + extra] & ok[a] & ok[b]
        if max_gap is not None:
            keep &= (exact | (span <= max_gap))[(...,) + extra]
    else:
        da = np.abs(dst - src[a])
        db = np.abs(src[b] - dst)
        pick = np.where(db < da, b, a)
        res = v[pick]
        keep = ok[pick].copy()
        if max_gap is not None:
            keep &= (np.abs(dst - src[pick]) <= max_gap)[(...,) + extra]
    keep_v = keep.reshape(keep.shape + (1,) * (res.ndim - keep.ndim))
    res = np.where(keep_v, res, np.nan)
    return res, keep


__all__ = ["Normalized", "normalize_skeletons", "denormalize", "resample_to_frames"]
