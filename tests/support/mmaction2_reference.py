"""A plain, one-Gaussian-at-a-time model of mmaction2 1.2.0's skeleton heatmap pipeline.

Written from the documented semantics of ``PoseCompact``, ``Resize(scale=(-1, S))``,
``CenterCrop(S)`` and ``GeneratePoseTarget`` (see ``docs/interop.md``), in
mmaction2's own conventions: keypoints ``(M, T, K, 2)`` with missing joints at
``(0, 0)`` and score 0, numpy float32 scalars for every per-joint quantity (so the
numpy >= 2 promotion rules and numpy's scalar ``**`` apply exactly as they do in
mmaction2). It is the test oracle of :mod:`posetools.heatmaps.mmaction2`, and is itself
checked against outputs of the real mmaction2 stored in
``tests/heatmaps/data/mmaction2_1.2.0_reference.npz``. Deliberately slow and simple.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
EPS = 1e-4


def to_mmaction2(keypoints, scores, valid):
    """posetools ``(T, P, K, 2)`` NaN-missing -> mmaction2 ``(M, T, K, 2)`` zeros-missing."""
    kp = np.asarray(keypoints, F32)
    sc = np.asarray(scores, F32)
    ok = np.isfinite(kp).all(-1) & (sc > 0) & np.asarray(valid, bool)[..., None]
    kp = np.where(ok[..., None], kp, F32(0)).astype(F32)
    sc = np.where(ok, sc, F32(0)).astype(F32)
    return kp.transpose(1, 0, 2, 3).copy(), sc.transpose(1, 0, 2).copy()


def pose_compact(kp, img_shape, padding=0.25, threshold=10, hw_ratio=1.0):
    """``PoseCompact(allow_imgpad=True)`` on ``(M, T, K, 2)``: (shifted kp, (h, w), box | None)."""
    kp = kp.copy()
    kp[np.isnan(kp)] = 0
    xs = [F32(v) for v in kp[..., 0].ravel() if v != 0]
    ys = [F32(v) for v in kp[..., 1].ravel() if v != 0]
    if not xs or not ys:
        return kp, tuple(img_shape), None
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    if max_x - min_x < threshold or max_y - min_y < threshold:
        return kp, tuple(img_shape), None
    center = ((max_x + min_x) / 2, (max_y + min_y) / 2)
    half_w = (max_x - min_x) / 2 * (1 + padding)
    half_h = (max_y - min_y) / 2 * (1 + padding)
    if hw_ratio is not None:
        half_h = max(hw_ratio * half_w, half_h)
        half_w = max(1 / hw_ratio * half_h, half_w)
    x0, x1 = int(center[0] - half_w), int(center[0] + half_w)
    y0, y1 = int(center[1] - half_h), int(center[1] + half_h)
    for m in range(kp.shape[0]):
        for t in range(kp.shape[1]):
            for k in range(kp.shape[2]):
                if kp[m, t, k, 0] != 0:
                    kp[m, t, k, 0] = kp[m, t, k, 0] - x0
                if kp[m, t, k, 1] != 0:
                    kp[m, t, k, 1] = kp[m, t, k, 1] - y0
    return kp, (y1 - y0, x1 - x0), (x0, y0, x1, y1)


def val_pipeline_grid(kp, img_shape, size, **compact):
    """``PoseCompact -> Resize(scale=(-1, S)) -> CenterCrop(S)`` on keypoints.

    Returns:
        (grid keypoints ``(M, T, K, 2) float32``, PoseCompact box or ``None``).
    """
    kp, (h, w), box = pose_compact(kp, img_shape, **compact)
    f = min(np.inf / max(h, w), size / min(h, w))
    new_w, new_h = int(w * f + 0.5), int(h * f + 0.5)
    sf = np.array([new_w / w, new_h / h], F32)
    kp = (kp * sf).astype(F32)
    crop = np.array([(new_w - size) // 2, (new_h - size) // 2], np.int64)
    return (kp - crop).astype(F32), box


def _joint(arr, mu_x, mu_y, value, sigma):
    if value < EPS:
        return
    h, w = arr.shape
    st_x, ed_x = max(int(mu_x - 3 * sigma), 0), min(int(mu_x + 3 * sigma) + 1, w)
    st_y, ed_y = max(int(mu_y - 3 * sigma), 0), min(int(mu_y + 3 * sigma) + 1, h)
    if ed_x <= st_x or ed_y <= st_y:
        return
    x = np.arange(st_x, ed_x, 1, F32)
    y = np.arange(st_y, ed_y, 1, F32)[:, None]
    patch = np.exp(-((x - mu_x) ** 2 + (y - mu_y) ** 2) / 2 / sigma ** 2) * value
    arr[st_y:ed_y, st_x:ed_x] = np.maximum(arr[st_y:ed_y, st_x:ed_x], patch)


def _limb(arr, start, end, start_value, end_value, sigma):
    value = min(start_value, end_value)
    if value < EPS:
        return
    h, w = arr.shape
    min_x = max(int(min(start[0], end[0]) - 3 * sigma), 0)
    max_x = min(int(max(start[0], end[0]) + 3 * sigma) + 1, w)
    min_y = max(int(min(start[1], end[1]) - 3 * sigma), 0)
    max_y = min(int(max(start[1], end[1]) + 3 * sigma) + 1, h)
    if max_x <= min_x or max_y <= min_y:
        return
    x = np.arange(min_x, max_x, 1, F32)
    y = np.arange(min_y, max_y, 1, F32)[:, None]
    d2_start = (x - start[0]) ** 2 + (y - start[1]) ** 2
    d2_end = (x - end[0]) ** 2 + (y - end[1]) ** 2
    d2_ab = (start[0] - end[0]) ** 2 + (start[1] - end[1]) ** 2  # float32 scalars
    if d2_ab < 1:
        _joint(arr, start[0], start[1], start_value, sigma)
        return
    u = (d2_start - d2_end + d2_ab) / 2 / d2_ab
    px = start[0] + u * (end[0] - start[0])
    py = start[1] + u * (end[1] - start[1])
    d2_line = (x - px) ** 2 + (y - py) ** 2
    d2 = np.where(u <= 0, d2_start, np.where(u >= 1, d2_end, d2_line)).astype(np.float64)
    patch = np.exp(-d2 / 2.0 / sigma ** 2) * np.float64(value)
    arr[min_y:max_y, min_x:max_x] = np.maximum(arr[min_y:max_y, min_x:max_x], patch)


def generate_pose_target(kp, sc, size, sigma, *, joints=True, limbs=(), use_score=True):
    """``GeneratePoseTarget`` on grid keypoints ``(M, T, K, 2)``, ``K + L`` channels.

    Returns:
        ``(T, C, S, S) float32`` (joints then limbs, without mmaction2's overwrite).
    """
    kp = np.asarray(kp, F32)
    sc = np.asarray(sc, F32) if use_score else np.ones(np.shape(sc), F32)
    n_m, n_t, n_k = sc.shape
    off = n_k if joints else 0
    out = np.zeros((n_t, off + len(limbs), size, size), F32)
    for t in range(n_t):
        for m in range(n_m):
            if joints:
                for k in range(n_k):
                    _joint(out[t, k], kp[m, t, k, 0], kp[m, t, k, 1], sc[m, t, k], sigma)
            for i, (a, b) in enumerate(limbs):
                _limb(out[t, off + i], kp[m, t, a], kp[m, t, b], sc[m, t, a], sc[m, t, b], sigma)
    return out
