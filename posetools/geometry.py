"""Box and keypoint geometry shared by detectors, tracking and SST-A (pure numpy).

Every helper here is the only definition of its formula in posetools, and each one's
semantics (degenerate inputs, ties, missing joints) is pinned by a test in
``tests/test_geometry.py``:

* :func:`box_iou` — 0 for degenerate or non-finite boxes.
* :func:`nms` — greedy, highest score first, ties by input order.
* :func:`keypoint_box` — box of the present joints, NaN when none is present.
* :func:`oks` — COCO object keypoint similarity with the object area passed in
  explicitly (callers decide what "area" means), NaN when no joint is shared.
* :func:`greedy_match` — one-to-one, highest similarity first; ties by a caller
  key (higher first), then lower row, then lower column; a pair needs a similarity
  ``> 0`` and ``>= threshold``.

Boxes are ``xyxy`` in pixels.
"""

from __future__ import annotations

import numpy as np

from .errors import ShapeError


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of two sets of xyxy boxes, batched over leading axes.

    Args:
        a: ``(..., N, 4)`` boxes.
        b: ``(..., M, 4)`` boxes (same leading shape as ``a``, or broadcastable).

    Returns:
        ``(..., N, M) float64`` IoU; 0 where a box is degenerate (zero area) or
        not finite.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.ndim < 2:
        a = a.reshape(-1, 4)
    if b.ndim < 2:
        b = b.reshape(-1, 4)
    lt = np.maximum(a[..., :, None, :2], b[..., None, :, :2])
    rb = np.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=-1)
    area_a = np.clip(a[..., 2:] - a[..., :2], 0, None).prod(axis=-1)
    area_b = np.clip(b[..., 2:] - b[..., :2], 0, None).prod(axis=-1)
    union = area_a[..., :, None] + area_b[..., None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression.

    Args:
        boxes: ``(N, 4)`` xyxy.
        scores: ``(N,)``.
        iou: Boxes overlapping a kept, higher-scored box by more than this are dropped.

    Returns:
        ``(n,) int64`` indices of kept boxes, highest score first (ties: input order).
    """
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    if order.size == 0:
        return order.astype(np.int64)
    ious = box_iou(boxes, boxes)
    keep: list[int] = []
    suppressed = np.zeros(len(order), bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= ious[i] > iou
    return np.asarray(keep, np.int64)


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip xyxy boxes ``(N, 4)`` to the image ``[0, width] x [0, height]`` (float32 copy)."""
    out = np.asarray(boxes, np.float32).copy()
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
    return out


def keypoint_box(keypoints: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Bounding boxes of the present joints of each skeleton.

    Args:
        keypoints: ``(..., K, 2)``.
        present: ``(..., K) bool`` joints to use.

    Returns:
        ``(..., 4)`` xyxy in the keypoints' float dtype; NaN where no joint is present.
    """
    kp = np.asarray(keypoints)
    ok = np.asarray(present, dtype=bool)
    x, y = kp[..., 0], kp[..., 1]
    box = np.stack([
        np.where(ok, x, np.inf).min(axis=-1, initial=np.inf),
        np.where(ok, y, np.inf).min(axis=-1, initial=np.inf),
        np.where(ok, x, -np.inf).max(axis=-1, initial=-np.inf),
        np.where(ok, y, -np.inf).max(axis=-1, initial=-np.inf),
    ], axis=-1)
    return np.where(ok.any(axis=-1)[..., None], box, np.nan)


def crop_region(
    box: np.ndarray, width: int, height: int, margin: float = 1.25
) -> tuple[int, int, int, int] | None:
    """Integer crop window around a box, enlarged by ``margin`` about its centre.

    The window is clipped to the image. Returns ``(x0, y0, x1, y1)`` or ``None``
    when it is narrower or shorter than 2 pixels.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = (x1 - x0) * margin, (y1 - y0) * margin
    a = max(0, int(np.floor(cx - w / 2)))
    b = max(0, int(np.floor(cy - h / 2)))
    c = min(width, int(np.ceil(cx + w / 2)))
    d = min(height, int(np.ceil(cy + h / 2)))
    if c - a < 2 or d - b < 2:
        return None
    return a, b, c, d


def oks(
    kp_a: np.ndarray,
    kp_b: np.ndarray,
    area: np.ndarray,
    sigmas: np.ndarray,
    *,
    present_a: np.ndarray | None = None,
    present_b: np.ndarray | None = None,
) -> np.ndarray:
    """Pairwise object keypoint similarity (COCO), batched over leading axes.

    ``oks(a, b) = mean_v exp(-d_v^2 / (2 s (2 sigma_v)^2))`` over the joints ``v``
    present in both instances, with ``s = area`` of instance ``a``.

    Args:
        kp_a: ``(..., A, K, 2)`` keypoints.
        kp_b: ``(..., B, K, 2)`` keypoints.
        area: ``(..., A)`` object scale ``s`` of each ``a`` instance (must be > 0;
            callers choose it, e.g. a box area with a floor).
        sigmas: ``(K,)`` per-joint falloff constants.
        present_a: ``(..., A, K) bool`` usable joints of ``a`` (default: finite).
        present_b: ``(..., B, K) bool`` usable joints of ``b`` (default: finite).

    Returns:
        ``(..., A, B) float64`` in [0, 1]; NaN where the pair shares no joint.
    """
    kp_a = np.asarray(kp_a, np.float64)
    kp_b = np.asarray(kp_b, np.float64)
    sig = np.asarray(sigmas, np.float64)
    if kp_a.shape[-1] != 2 or kp_b.shape[-2:] != kp_a.shape[-2:] or sig.shape != kp_a.shape[-2:-1]:
        raise ShapeError(f"oks: keypoints {kp_a.shape} / {kp_b.shape} and sigmas {sig.shape} "
                         "do not match (..., K, 2) / (K,)")
    pa = np.isfinite(kp_a).all(axis=-1) if present_a is None else np.asarray(present_a, bool)
    pb = np.isfinite(kp_b).all(axis=-1) if present_b is None else np.asarray(present_b, bool)
    both = pa[..., :, None, :] & pb[..., None, :, :]  # (..., A, B, K)
    d = kp_a[..., :, None, :, :] - kp_b[..., None, :, :, :]
    d2 = d[..., 0] ** 2 + d[..., 1] ** 2
    den = 2.0 * np.asarray(area, np.float64)[..., :, None, None] * (2.0 * sig) ** 2
    e = np.where(both, np.exp(-np.where(both, d2, 0.0) / den), 0.0)
    n = both.sum(axis=-1)
    return np.divide(e.sum(axis=-1), n, out=np.full(n.shape, np.nan), where=n > 0)


def greedy_match(
    sim: np.ndarray, threshold: float, tie: np.ndarray | None = None
) -> np.ndarray:
    """Greedy one-to-one matching of rows to columns, batched over leading axes.

    Repeatedly takes the best remaining pair: highest similarity; among equal
    similarities the higher ``tie`` key of the column, then the lower row, then the
    lower column. A pair is eligible only if its similarity is ``> 0`` and
    ``>= threshold`` (NaN never matches). This is the usual numpy alternative to the
    Hungarian algorithm and agrees with it whenever each best match is unambiguous.

    Args:
        sim: ``(..., A, B)`` similarities.
        threshold: Minimum similarity of a matched pair.
        tie: ``(..., B)`` or ``(B,)`` secondary key of each column (higher wins), or
            ``None``.

    Returns:
        ``(..., A) int64``: the column matched to each row, -1 for none.
    """
    s = np.asarray(sim, np.float64)
    if s.ndim < 2:
        raise ShapeError(f"greedy_match: sim must be (..., A, B), got {s.shape}")
    *lead, n_a, n_b = s.shape
    out = np.full((*lead, n_a), -1, np.int64)
    if n_a == 0 or n_b == 0:
        return out
    s = np.where((s >= threshold) & (s > 0), s, -np.inf).reshape(-1, n_a, n_b)
    tk = None if tie is None else np.broadcast_to(
        np.asarray(tie, np.float64), (*lead, n_b)).reshape(-1, 1, n_b)
    flat_out = out.reshape(-1, n_a)
    rows = np.arange(s.shape[0])
    for _ in range(min(n_a, n_b)):
        best = s.max(axis=(1, 2))
        ok = np.isfinite(best)
        if not ok.any():
            break
        cand = s == best[:, None, None]
        if tk is not None:
            key = np.where(cand, tk, -np.inf)
            cand &= key == key.max(axis=(1, 2))[:, None, None]
        r, c = np.divmod(np.argmax(cand.reshape(len(s), -1), axis=1), n_b)
        b = rows[ok]
        flat_out[b, r[ok]] = c[ok]
        s[b, r[ok], :] = -np.inf
        s[b, :, c[ok]] = -np.inf
    return out


__all__ = ["box_iou", "nms", "clip_boxes", "keypoint_box", "crop_region", "oks", "greedy_match"]
