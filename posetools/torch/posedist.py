"""Pose distances and negative sets for the pose-contrastive loss (PyTorch).

Same definitions and conventions as :mod:`posetools.posedist` (mean per-joint L2
over the joints valid in both poses; ``d(t, t) = 0``; ``+inf`` when no joint is
shared; negatives ``{j != t : d(t, j) >= delta}``), computed on the tensors'
device in tiles of ``block x col_block`` pairs, one joint at a time, so memory
stays ``O(block * col_block)`` for any ``T``. Not differentiable by design (the
negative set is a selection, not a loss term).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from ..errors import ConfigError, ShapeError


def _prepare(poses: torch.Tensor, valid: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    if poses.ndim != 3 or poses.shape[-1] != 2:
        raise ShapeError(f"poses: expected (T, K, 2), got {tuple(poses.shape)}")
    p = poses.detach().to(torch.float32)
    ok = torch.isfinite(p).all(dim=-1)
    if valid is not None:
        if tuple(valid.shape) != tuple(p.shape[:2]):
            raise ShapeError(f"valid: expected {tuple(p.shape[:2])}, got {tuple(valid.shape)}")
        ok &= valid.to(device=p.device, dtype=torch.bool)
    p = torch.where(ok[..., None], p, torch.zeros((), dtype=p.dtype, device=p.device))
    return p, ok


def _rows_index(rows, t: int, device: torch.device) -> torch.Tensor:
    if rows is None:
        return torch.arange(t, device=device)
    if isinstance(rows, slice):
        return torch.arange(t, device=device)[rows]
    r = torch.as_tensor(rows, device=device)
    if r.dtype == torch.bool:
        if tuple(r.shape) != (t,):
            raise ShapeError(f"rows: boolean mask must be ({t},), got {tuple(r.shape)}")
        return torch.nonzero(r).flatten()
    r = r.to(torch.int64).flatten()
    if r.numel() and (int(r.min()) < -t or int(r.max()) >= t):
        raise ShapeError(f"rows: index out of range for T={t}")
    return torch.where(r < 0, r + t, r)


def _tile(pa: torch.Tensor, ma: torch.Tensor, pb: torch.Tensor, mb: torch.Tensor) -> torch.Tensor:
    n, c, k = pa.shape[0], pb.shape[0], pa.shape[1]
    acc = torch.zeros((n, c), dtype=torch.float32, device=pa.device)
    cnt = torch.zeros((n, c), dtype=torch.int32, device=pa.device)
    for v in range(k):
        both = ma[:, v, None] & mb[None, :, v]
        dx = pa[:, v, 0, None] - pb[None, :, v, 0]
        dy = pa[:, v, 1, None] - pb[None, :, v, 1]
        d = torch.sqrt(dx * dx + dy * dy)
        acc += torch.where(both, d, torch.zeros((), dtype=d.dtype, device=d.device))
        cnt += both.to(torch.int32)
    out = acc / cnt.clamp(min=1)
    return torch.where(cnt > 0, out, torch.full((), float("inf"), device=out.device))


@torch.no_grad()
def iter_pose_distance_blocks(
    poses: torch.Tensor,
    valid: torch.Tensor | None = None,
    *,
    rows=None,
    block: int = 1024,
    col_block: int = 8192,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield the distance matrix a block of anchor rows at a time.

    Args:
        poses: ``(T, K, 2)`` normalized poses (NaN = missing joint).
        valid: Optional ``(T, K) bool`` joint validity (ANDed with finiteness).
        rows: Anchors: ``None`` (all), a slice, indices or a ``(T,)`` bool mask.
        block: Anchors per yielded block.
        col_block: Columns per tile.

    Yields:
        ``(row_indices (b,) int64, distances (b, T) float32)`` on ``poses.device``.
    """
    if block < 1 or col_block < 1:
        raise ConfigError("block and col_block must be >= 1")
    p, ok = _prepare(poses, valid)
    t = p.shape[0]
    idx = _rows_index(rows, t, p.device)
    for lo in range(0, idx.numel(), block):
        r = idx[lo : lo + block]
        out = torch.empty((r.numel(), t), dtype=torch.float32, device=p.device)
        pa, ma = p[r], ok[r]
        for c0 in range(0, t, col_block):
            c1 = min(t, c0 + col_block)
            out[:, c0:c1] = _tile(pa, ma, p[c0:c1], ok[c0:c1])
        out[torch.arange(r.numel(), device=p.device), r] = 0.0
        yield r, out


@torch.no_grad()
def pose_distance_matrix(
    poses: torch.Tensor,
    valid: torch.Tensor | None = None,
    *,
    rows=None,
    block: int = 1024,
    col_block: int = 8192,
) -> torch.Tensor:
    """Pose distances between the anchor rows and every frame: ``(R, T) float32``.

    Args:
        poses: ``(T, K, 2)`` normalized poses.
        valid: Optional ``(T, K) bool``.
        rows: Anchors (default all: dense ``(T, T)``).
        block: Anchors per tile.
        col_block: Columns per tile.
    """
    parts = [d for _, d in iter_pose_distance_blocks(poses, valid, rows=rows, block=block,
                                                      col_block=col_block)]
    if not parts:
        return torch.zeros((0, poses.shape[0]), dtype=torch.float32, device=poses.device)
    return torch.cat(parts, dim=0)


@torch.no_grad()
def negative_mask(
    poses: torch.Tensor,
    delta: float,
    valid: torch.Tensor | None = None,
    *,
    rows=None,
    block: int = 1024,
    col_block: int = 8192,
) -> torch.Tensor:
    """Negatives of each anchor ``t``: ``{j != t : d(t, j) >= delta}`` as ``(R, T) bool``.

    Args:
        poses: ``(T, K, 2)`` normalized poses.
        delta: Threshold; ``0`` gives the vanilla set (every ``j != t``).
        valid: Optional ``(T, K) bool``.
        rows: Anchors (default all).
        block: Anchors per tile.
        col_block: Columns per tile.
    """
    if not delta >= 0:
        raise ConfigError(f"delta: must be >= 0, got {delta}")
    parts = []
    for r, d in iter_pose_distance_blocks(poses, valid, rows=rows, block=block,
                                          col_block=col_block):
        m = d >= delta
        m[torch.arange(r.numel(), device=m.device), r] = False
        parts.append(m)
    if not parts:
        return torch.zeros((0, poses.shape[0]), dtype=torch.bool, device=poses.device)
    return torch.cat(parts, dim=0)


__all__ = ["pose_distance_matrix", "iter_pose_distance_blocks", "negative_mask"]
