"""Torch twin of :func:`posetools.heatmaps.render_heatmaps_mmaction2` (``style: mmaction2``).

Same windows, operation order and dtypes as the numpy renderer (float32
joints; float32 limb geometry, float64 limb ``exp`` where the device has
float64), so both reproduce mmaction2's ``GeneratePoseTarget``; they agree to
the last bit except where torch's and numpy's ``exp`` differ by an ulp
(``<= 1.2e-7`` relative). The squared limb lengths, which mmaction2 takes with
numpy's float32 scalar power, are computed by the numpy helper on the CPU (one
value per drawn limb).

Coordinates are heatmap-grid pixels, missing joints NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import MissingBackendError
from ..heatmaps import DEFAULT_MIN_SCORE, render_channels, window_bucket
from ..heatmaps.mmaction2 import max_window, squared_length_mmaction2

try:
    import torch
except ImportError as e:  # pragma: no cover - exercised only without torch
    raise MissingBackendError(
        "posetools.torch needs PyTorch: pip install 'posetools[torch]'"
    ) from e

_CHUNK_ELEMENTS = 1 << 22


def host_limbs(limbs: Sequence[tuple[int, int]] | np.ndarray | torch.Tensor) -> np.ndarray:
    """Limb pairs as a host array (a tensor may be on any device)."""
    return limbs.cpu().numpy() if isinstance(limbs, torch.Tensor) else np.asarray(limbs)


def render_heatmaps_mmaction2(
    keypoints: torch.Tensor,
    scores: torch.Tensor,
    *,
    size: int,
    sigma: float,
    joints: bool = True,
    limbs: Sequence[tuple[int, int]] | np.ndarray | torch.Tensor = (),
    use_score: bool = True,
    min_score: float = DEFAULT_MIN_SCORE,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Render mmaction2-exact joint and limb pseudo-heatmaps on ``keypoints.device``.

    Args:
        keypoints: ``(..., P, K, 2)`` grid pixels, NaN for missing.
        scores: ``(..., P, K)``.
        size: Grid side ``S``.
        sigma: Gaussian sigma in grid pixels.
        joints: Emit the ``K`` joint channels.
        limbs: ``(L, 2)`` joint index pairs, start joint first (after the joints).
        use_score: Scale maps by scores (else by 1).
        min_score: Joints scoring below this (float32 comparison) are not drawn.
        valid: ``(..., P)`` bool person-slot validity, or ``None``.

    Returns:
        ``(..., C, S, S)`` float32 with ``C = K * joints + L``.
    """
    limb_arr, n_c = render_channels(keypoints.shape, scores.shape, size=size, sigma=sigma,
                                    joints=joints, limbs=host_limbs(limbs))
    sigma = float(sigma)
    lead = keypoints.shape[:-3]
    n_p, n_k = keypoints.shape[-3], keypoints.shape[-2]
    dev = keypoints.device
    kp = keypoints.reshape(-1, n_p, n_k, 2).to(torch.float32)
    sc = scores.reshape(-1, n_p, n_k).to(device=dev, dtype=torch.float32)
    n_t = kp.shape[0]
    limb_t = torch.as_tensor(limb_arr, device=dev)
    n_l = int(limb_t.shape[0])
    plane = size * size
    flat = torch.zeros(n_t * n_c * plane, dtype=torch.float32, device=dev)
    thr = torch.tensor(np.float32(min_score), device=dev)
    mask = torch.isfinite(kp).all(dim=-1) & (sc > 0) & ~(sc < thr)
    if valid is not None:
        mask &= valid.reshape(-1, n_p).to(device=dev, dtype=torch.bool)[..., None]
    zero = torch.zeros((), dtype=torch.float32, device=dev)
    amp = torch.where(mask, sc if use_score else torch.ones((), device=dev), zero)
    kp = torch.where(mask[..., None], kp, zero)
    if joints:
        t_i, p_i, k_i = torch.nonzero(mask, as_tuple=True)
        _splat_points(flat, (t_i * n_c + k_i) * plane, kp[t_i, p_i, k_i, 0],
                      kp[t_i, p_i, k_i, 1], amp[t_i, p_i, k_i], size, sigma)
    if n_l:
        a, b = limb_t[:, 0], limb_t[:, 1]
        t_i, p_i, l_i = torch.nonzero(mask[:, :, a] & mask[:, :, b], as_tuple=True)
        off = n_k if joints else 0
        ja, jb = a[l_i], b[l_i]
        _splat_segments(flat, (t_i * n_c + off + l_i) * plane, kp[t_i, p_i, ja],
                        kp[t_i, p_i, jb], amp[t_i, p_i, ja], amp[t_i, p_i, jb], size, sigma)
    return flat.reshape(*lead, n_c, size, size)


def _bounds(lo: torch.Tensor, hi: torch.Tensor, sigma: float, size: int):
    """Twin of :func:`posetools.heatmaps.mmaction2.window_bounds`."""
    r32 = torch.tensor(np.float32(3 * sigma), dtype=torch.float32, device=lo.device)
    start = torch.trunc(lo - r32).long().clamp(min=0)
    stop = (torch.trunc(hi + r32).long() + 1).clamp(max=size)
    return start, stop


def _splat_points(flat, base, x, y, amp, size, sigma) -> None:
    if x.numel() == 0:
        return
    x0, x1 = _bounds(x, x, sigma, size)
    y0, y1 = _bounds(y, y, sigma, size)
    w = max_window(sigma)
    dev = x.device
    sig2 = torch.tensor(np.float32(sigma * sigma), device=dev)
    two = torch.tensor(np.float32(2), device=dev)
    r = torch.arange(w, device=dev)
    step = max(1, _CHUNK_ELEMENTS // (w * w))
    for s in range(0, x.numel(), step):
        sl = slice(s, s + step)
        ix = x0[sl, None] + r
        iy = y0[sl, None] + r
        dx = ix.to(torch.float32) - x[sl, None]
        dy = iy.to(torch.float32) - y[sl, None]
        d2 = (dy * dy)[:, :, None] + (dx * dx)[:, None, :]
        val = torch.exp((-d2 / two) / sig2) * amp[sl, None, None]
        inside = (iy < y1[sl, None])[:, :, None] & (ix < x1[sl, None])[:, None, :]
        keep = torch.nonzero(inside.reshape(-1)).squeeze(1)
        idx = (base[sl, None, None] + iy[:, :, None] * size + ix[:, None, :]).reshape(-1)[keep]
        flat.scatter_reduce_(0, idx, val.reshape(-1)[keep], reduce="amax")


def _splat_segments(flat, base, pa, pb, ca, cb, size, sigma) -> None:
    if pa.shape[0] == 0:
        return
    dev = pa.device
    coeff = torch.minimum(ca, cb)
    lab = torch.from_numpy(squared_length_mmaction2(pa.cpu().numpy(), pb.cpu().numpy())).to(dev)
    x0, x1 = _bounds(torch.minimum(pa[:, 0], pb[:, 0]), torch.maximum(pa[:, 0], pb[:, 0]),
                     sigma, size)
    y0, y1 = _bounds(torch.minimum(pa[:, 1], pb[:, 1]), torch.maximum(pa[:, 1], pb[:, 1]),
                     sigma, size)
    on = (x1 > x0) & (y1 > y0)
    short = on & (lab < 1)
    if bool(short.any()):
        _splat_points(flat, base[short], pa[short, 0], pa[short, 1], ca[short], size, sigma)
    seg = on & ~short
    if not bool(seg.any()):
        return
    base, pa, pb, lab, coeff = base[seg], pa[seg], pb[seg], lab[seg], coeff[seg]
    x0, x1, y0, y1 = x0[seg], x1[seg], y0[seg], y1[seg]
    wide = torch.float32 if dev.type == "mps" else torch.float64
    key = (window_bucket((y1 - y0).cpu().numpy(), size) * (size + 1)
           + window_bucket((x1 - x0).cpu().numpy(), size))
    for kv in np.unique(key):
        by, bx = divmod(int(kv), size + 1)
        grp = torch.from_numpy(np.flatnonzero(key == kv)).to(dev)
        rx, ry = torch.arange(bx, device=dev), torch.arange(by, device=dev)
        step = max(1, _CHUNK_ELEMENTS // (bx * by))
        for s in range(0, grp.numel(), step):
            g = grp[s:s + step]
            ix = x0[g, None] + rx
            iy = y0[g, None] + ry
            d2 = segment_d2_mmaction2(ix.to(torch.float32), iy.to(torch.float32), pa[g], pb[g],
                                      lab[g])
            val = torch.exp(-d2.to(wide) / 2.0 / (sigma * sigma)) * coeff[g, None, None].to(wide)
            inside = (iy < y1[g, None])[:, :, None] & (ix < x1[g, None])[:, None, :]
            keep = torch.nonzero(inside.reshape(-1)).squeeze(1)
            idx = (base[g, None, None] + iy[:, :, None] * size + ix[:, None, :]).reshape(-1)
            flat.scatter_reduce_(0, idx[keep], val.reshape(-1)[keep].to(torch.float32),
                                 reduce="amax")


def segment_d2_mmaction2(xs, ys, pa, pb, lab) -> torch.Tensor:
    """Twin of :func:`posetools.heatmaps.mmaction2.segment_d2_mmaction2` (same operation order)."""
    ax, ay = pa[:, 0, None], pa[:, 1, None]
    bx, by = pb[:, 0, None], pb[:, 1, None]
    dxa, dya = xs - ax, ys - ay
    dxb, dyb = xs - bx, ys - by
    d_a = (dya * dya)[:, :, None] + (dxa * dxa)[:, None, :]
    d_b = (dyb * dyb)[:, :, None] + (dxb * dxb)[:, None, :]
    lab3 = lab[:, None, None]
    two = torch.tensor(np.float32(2), device=xs.device)
    u = ((d_a - d_b) + lab3) / two / lab3
    px = ax[:, :, None] + u * (bx - ax)[:, :, None]
    py = ay[:, :, None] + u * (by - ay)[:, :, None]
    ex, ey = xs[:, None, :] - px, ys[:, :, None] - py
    d_l = ex * ex + ey * ey
    return torch.where(u <= 0, d_a, torch.where(u >= 1, d_b, d_l))


__all__ = ["render_heatmaps_mmaction2"]
