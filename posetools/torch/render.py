"""Heatmap rendering in torch, on the trainer's device, plus keypoint augmentations.

:func:`render_heatmaps` is the torch twin of :func:`posetools.heatmaps.render_heatmaps`
(same windows, same float32 formulas, same 3 sigma cut-off; results agree to float
rounding of ``exp``), so a trainer can cache keypoints only and render batches on
the GPU instead of reading heatmaps; :mod:`posetools.torch.mmaction2` is the twin of
the ``mmaction2`` style. :class:`GpuHeatmapRenderer` wraps either for a skeleton
layout (with any limb set) and adds augmentations that return correspondence labels for
self-supervised alignment: temporal resampling (N of M frames), position noise,
limb rotation about the parent joint and horizontal flip with left/right joint
and limb channels swapped.

Coordinates are heatmap-grid pixels (as stored in ``heatmaps/<vid>.h5``
``keypoints``), missing joints NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import h5py
import numpy as np

from ..errors import ConfigError, MissingBackendError, ShapeError
from ..heatmaps import (
    DEFAULT_MIN_SCORE,
    LimbSpec,
    channel_flip_permutation,
    channel_names,
    cutoff_sq,
    point_window,
    render_channels,
    resolve_limbs,
    window_bucket,
)
from ..io.artifacts.heatmaps import HeatmapsArtifact
from ..skeletons import SkeletonLayout, get_layout
from ..skeletons.graph import limb_tree, subtree_masks

try:
    import torch
except ImportError as e:  # pragma: no cover - exercised only without torch
    raise MissingBackendError(
        "posetools.torch needs PyTorch: pip install 'posetools[torch]'"
    ) from e

from .augment import position_noise, random_flip, random_limb_rotation, random_resample
from .mmaction2 import host_limbs, render_heatmaps_mmaction2

_CHUNK_ELEMENTS = 1 << 22
_FAR = -1e4


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# --------------------------------------------------------------------- rendering
def render_heatmaps(
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
    """Render joint and limb pseudo-heatmaps on ``keypoints.device``.

    Args:
        keypoints: ``(..., P, K, 2)`` grid pixels, NaN for missing.
        scores: ``(..., P, K)``.
        size: Grid side ``S``.
        sigma: Gaussian sigma in grid pixels.
        joints: Emit the ``K`` joint channels.
        limbs: ``(L, 2)`` joint index pairs (limb channels follow the joints).
        use_score: Scale maps by scores (else by 1).
        min_score: Joints with a lower score are missing.
        valid: ``(..., P)`` bool person-slot validity, or ``None``.

    Returns:
        ``(..., C, S, S)`` float32 with ``C = K * joints + L``.
    """
    limb_arr, n_c = render_channels(keypoints.shape, scores.shape, size=size, sigma=sigma,
                                    joints=joints, limbs=host_limbs(limbs))
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
    mask = torch.isfinite(kp).all(dim=-1) & (sc >= min_score)
    if valid is not None:
        v = valid.reshape(-1, n_p).to(device=dev, dtype=torch.bool)
        mask &= v[..., None]
    one = torch.ones((), dtype=torch.float32, device=dev)
    amp = torch.where(mask, sc if use_score else one, torch.zeros((), device=dev))
    kp = torch.where(mask[..., None], kp, torch.zeros((), device=dev))
    if joints:
        t_i, p_i, k_i = torch.nonzero(amp > 0, as_tuple=True)
        base = (t_i * n_c + k_i) * plane
        _splat_points(flat, base, kp[t_i, p_i, k_i, 0], kp[t_i, p_i, k_i, 1],
                      amp[t_i, p_i, k_i], size, sigma)
    if n_l:
        a, b = limb_t[:, 0], limb_t[:, 1]
        la = torch.minimum(amp[:, :, a], amp[:, :, b])  # (T, P, L)
        t_i, p_i, l_i = torch.nonzero(la > 0, as_tuple=True)
        off = n_k if joints else 0
        base = (t_i * n_c + off + l_i) * plane
        _splat_segments(flat, base, kp[t_i, p_i, a[l_i]], kp[t_i, p_i, b[l_i]],
                        la[t_i, p_i, l_i], size, sigma)
    return flat.reshape(*lead, n_c, size, size)


def _grid_coords(i: torch.Tensor, lo: int, hi) -> torch.Tensor:
    return torch.where((i >= lo) & (i <= hi), i.to(torch.float32),
                       torch.full((), _FAR, dtype=torch.float32, device=i.device))


def _f32(v: float) -> float:
    """``v`` rounded to float32 (so python-scalar ops match the numpy path)."""
    return float(np.float32(v))


def _splat_points(flat, base, x, y, amp, size, sigma) -> None:
    if x.numel() == 0:
        return
    w = point_window(sigma)
    inv = _f32(1.0 / (2.0 * sigma * sigma))
    thr = float(cutoff_sq(sigma))
    r3 = torch.tensor(_f32(3 * sigma), dtype=torch.float32, device=x.device)
    r = torch.arange(w, device=x.device)
    step = max(1, _CHUNK_ELEMENTS // (w * w))
    for s in range(0, x.numel(), step):
        xs_, ys_, am, bs = x[s:s + step], y[s:s + step], amp[s:s + step], base[s:s + step]
        ix = torch.ceil(xs_ - r3).long()[:, None] + r
        iy = torch.ceil(ys_ - r3).long()[:, None] + r
        dx = _grid_coords(ix, 0, size - 1) - xs_[:, None]
        dy = _grid_coords(iy, 0, size - 1) - ys_[:, None]
        dx2, dy2 = dx * dx, dy * dy
        keep = torch.nonzero(((dy2[:, :, None] + dx2[:, None, :]) <= thr).reshape(-1)).squeeze(1)
        gx = torch.exp(-dx2 * inv)
        gy = torch.exp(-dy2 * inv) * am[:, None]
        val = (gy[:, :, None] * gx[:, None, :]).reshape(-1)[keep]
        row = bs[:, None] + iy * size
        idx = (row[:, :, None] + ix[:, None, :]).reshape(-1)[keep]
        flat.scatter_reduce_(0, idx, val, reduce="amax")


def _splat_segments(flat, base, pa, pb, amp, size, sigma) -> None:
    if pa.shape[0] == 0:
        return
    d = pb - pa
    len2 = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]
    short = len2 < 1
    if bool(short.any()):
        _splat_points(flat, base[short], pa[short, 0], pa[short, 1], amp[short], size, sigma)
    seg = ~short
    base, pa, pb, d, len2, amp = base[seg], pa[seg], pb[seg], d[seg], len2[seg], amp[seg]
    if pa.shape[0] == 0:
        return
    r3 = torch.tensor(_f32(3 * sigma), dtype=torch.float32, device=pa.device)
    lo = torch.ceil(torch.minimum(pa, pb) - r3).long().clamp(0, size)
    hi = torch.floor(torch.maximum(pa, pb) + r3).long().clamp(-1, size - 1)
    ext = hi - lo + 1
    on = (ext > 0).all(dim=1)
    inv = _f32(1.0 / (2.0 * sigma * sigma))
    thr = float(cutoff_sq(sigma))
    ln, cu, su = segment_frame(d, len2)
    ext_np = ext.cpu().numpy()
    on_np = on.cpu().numpy()
    key = window_bucket(ext_np[:, 1], size) * (size + 1) + window_bucket(ext_np[:, 0], size)
    for kv in np.unique(key[on_np]):
        wy, wx = divmod(int(kv), size + 1)
        grp = torch.from_numpy(np.flatnonzero(on_np & (key == kv))).to(pa.device)
        step = max(1, _CHUNK_ELEMENTS // (wx * wy))
        rx = torch.arange(wx, device=pa.device)
        ry = torch.arange(wy, device=pa.device)
        for s in range(0, grp.numel(), step):
            g = grp[s:s + step]
            ix = lo[g, 0][:, None] + rx
            iy = lo[g, 1][:, None] + ry
            px = _grid_coords(ix, 0, hi[g, 0][:, None]) - pa[g, 0][:, None]
            py = _grid_coords(iy, 0, hi[g, 1][:, None]) - pa[g, 1][:, None]
            d2 = segment_d2(px, py, ln[g], cu[g], su[g])
            keep = torch.nonzero((d2 <= thr).reshape(-1)).squeeze(1)
            m = keep // (wx * wy)
            val = torch.exp(-d2.reshape(-1)[keep] * inv) * amp[g][m]
            row = base[g][:, None] + iy * size
            idx = (row[:, :, None] + ix[:, None, :]).reshape(-1)[keep]
            flat.scatter_reduce_(0, idx, val, reduce="amax")


def segment_frame(d: torch.Tensor, len2: torch.Tensor):
    """Torch twin of :func:`posetools.heatmaps.segment_frame` (float64, then float32)."""
    dev = d.device
    if dev.type == "mps":  # no float64 there: do these (M,) values on the CPU
        d, len2 = d.cpu(), len2.cpu()
    ln = torch.sqrt(len2.double())
    d64 = d.double()
    out = ln.float(), (d64[:, 0] / ln).float(), (d64[:, 1] / ln).float()
    return tuple(t.to(dev) for t in out)


def segment_d2(px, py, ln, cu, su) -> torch.Tensor:
    """Torch twin of :func:`posetools.heatmaps.segment_d2` (same operation order)."""
    cu, su, lnb = cu[:, None], su[:, None], ln[:, None, None]
    u = (px * cu)[:, None, :] + (py * su)[:, :, None]
    v = (px * su)[:, None, :] - (py * cu)[:, :, None]
    w = u - torch.minimum(torch.clamp(u, min=0.0), lnb)
    return v * v + w * w


@dataclass
class AugmentedClips:
    """Augmented, rendered clips with their correspondence labels.

    Attributes:
        heatmaps: ``(B, N, C, S, S)`` float32.
        keypoints: ``(B, N, P, K, 2)`` augmented grid keypoints.
        scores: ``(B, N, P, K)`` (joints permuted like the keypoints).
        valid: ``(B, N, P)`` bool.
        frame_map: ``(B, N) int64``: source frame of each output frame.
        joint_map: ``(B, K) int64``: source joint of each output joint.
        channel_map: ``(B, C) int64``: source channel of each output channel.
        flipped: ``(B,)`` bool.
        angles: ``(B, L)`` float32 radians applied to each limb (0: not rotated).
        noise: ``(B, N, P, K, 2)`` position offsets added (grid pixels, before the flip).
    """

    heatmaps: torch.Tensor
    keypoints: torch.Tensor
    scores: torch.Tensor
    valid: torch.Tensor
    frame_map: torch.Tensor
    joint_map: torch.Tensor
    channel_map: torch.Tensor
    flipped: torch.Tensor
    angles: torch.Tensor
    noise: torch.Tensor


class GpuHeatmapRenderer:
    """Render batches of clips from keypoints on the trainer's device.

    Args:
        layout: Skeleton layout (or its name) of the keypoints.
        size: Grid side ``S``.
        sigma: Gaussian sigma in grid pixels.
        joints: Emit joint channels.
        limbs: Limb channels after the joints: ``False`` (none), ``True`` (the
            layout's limbs), a limb set name of the layout (``"mmaction2"``), or an
            explicit ``[(a, b), ...]`` list (mirror-closed).
        use_score: Scale maps by scores.
        min_score: Scores below this are missing.
        device: Target device (default: CUDA when present, else CPU).
        root: Root joint of the limb tree used by rotations (default: graph centre).
        style: ``"posetools"`` (:func:`render_heatmaps`) or ``"mmaction2"``
            (:func:`~posetools.torch.mmaction2.render_heatmaps_mmaction2`).
    """

    def __init__(
        self,
        layout: SkeletonLayout | str,
        *,
        size: int = 56,
        sigma: float = 0.6,
        joints: bool = True,
        limbs: LimbSpec = False,
        use_score: bool = True,
        min_score: float = DEFAULT_MIN_SCORE,
        device: torch.device | str | None = None,
        root: int | None = None,
        style: Literal["posetools", "mmaction2"] = "posetools",
    ) -> None:
        if style not in ("posetools", "mmaction2"):
            raise ConfigError(f"style: must be posetools or mmaction2, got {style!r}")
        self.layout = get_layout(layout) if isinstance(layout, str) else layout
        pairs = resolve_limbs(self.layout, limbs)
        if not (joints or pairs):
            raise ConfigError("joints/limbs: at least one must be true")
        if not sigma > 0:
            raise ConfigError("sigma: must be > 0")
        if size < 2:
            raise ConfigError("size: must be >= 2")
        self.size, self.sigma = int(size), float(sigma)
        self.style = style
        self.joints, self.limbs = bool(joints), bool(pairs)
        self.limb_pairs = pairs
        self.use_score, self.min_score = bool(use_score), float(min_score)
        self.device = torch.device(device) if device is not None else default_device()
        self.channel_names = channel_names(self.layout, joints=self.joints, limbs=pairs)
        self._limbs = torch.as_tensor(np.asarray(pairs, np.int64).reshape(-1, 2),
                                      device=self.device)
        self._joint_perm = torch.as_tensor(self.layout.flip_permutation(), device=self.device)
        self._chan_perm = torch.as_tensor(
            channel_flip_permutation(self.layout, joints=self.joints, limbs=pairs),
            device=self.device)
        self._render = render_heatmaps_mmaction2 if style == "mmaction2" else render_heatmaps
        self.tree = limb_tree(self.layout, root)
        self._masks = subtree_masks(self.layout, self.tree)

    @classmethod
    def from_artifact(cls, path, *, device=None) -> GpuHeatmapRenderer:
        """A renderer with the settings recorded in a ``heatmaps/<vid>.h5`` artifact."""
        with h5py.File(path, "r") as fh:
            h = HeatmapsArtifact.read(fh)
        return cls(h.layout, size=h.size, sigma=h.sigma, joints=h.render_joints,
                   limbs=h.limbs.tolist() if h.render_limbs else False, use_score=h.use_score,
                   min_score=h.min_score, device=device, style=h.style)

    @classmethod
    def from_config(cls, layout: SkeletonLayout | str, config, *, device=None,
                    root: int | None = None) -> GpuHeatmapRenderer:
        """A renderer with a :class:`~posetools.config.schema.HeatmapsConfig`'s settings.

        Pairs with :class:`~posetools.torch.datasets.KeypointClipDataset` built with the
        same config: the rendered tensors equal what the heatmaps stage would cache.
        """
        return cls(layout, size=config.size, sigma=config.sigma, joints=config.joints,
                   limbs=config.limb_spec(), use_score=config.use_score,
                   min_score=config.min_score, device=device, root=root, style=config.style)

    @property
    def num_channels(self) -> int:
        """``C``."""
        return len(self.channel_names)

    @property
    def channel_flip_permutation(self) -> torch.Tensor:
        """``(C,) int64`` channel permutation of a horizontal flip."""
        return self._chan_perm

    def _prep(self, keypoints, scores, valid):
        kp = torch.as_tensor(keypoints, device=self.device, dtype=torch.float32)
        sc = torch.as_tensor(scores, device=self.device, dtype=torch.float32)
        if kp.ndim < 3 or kp.shape[-2] != self.layout.num_joints or kp.shape[-1] != 2:
            raise ShapeError(f"keypoints: expected (..., P, {self.layout.num_joints}, 2) for "
                             f"layout {self.layout.name}, got {tuple(kp.shape)}")
        v = None if valid is None else torch.as_tensor(valid, device=self.device, dtype=torch.bool)
        return kp, sc, v

    def render(self, keypoints, scores, valid=None) -> torch.Tensor:
        """Render ``(..., P, K, 2)`` keypoints to ``(..., C, S, S)`` float32 on :attr:`device`."""
        kp, sc, v = self._prep(keypoints, scores, valid)
        return self._render(kp, sc, size=self.size, sigma=self.sigma, joints=self.joints,
                            limbs=self._limbs, use_score=self.use_score,
                            min_score=self.min_score, valid=v)

    __call__ = render

    def augment(
        self,
        keypoints,
        scores,
        valid=None,
        *,
        num_frames: int | None = None,
        noise_sigma: float = 0.0,
        rotate_prob: float = 0.0,
        max_angle: float = 30.0,
        flip_prob: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> AugmentedClips:
        """Augment clips of keypoints, render them, and return correspondence labels.

        Order: temporal resampling, limb rotation, position noise, flip (the ops of
        :mod:`posetools.torch.augment`).

        Args:
            keypoints: ``(B, M, P, K, 2)`` grid keypoints.
            scores: ``(B, M, P, K)``.
            valid: ``(B, M, P)`` or ``None``.
            num_frames: Keep ``N`` of the ``M`` frames (random, sorted); ``None`` keeps all.
            noise_sigma: Std of Gaussian position noise in grid pixels.
            rotate_prob: Probability that each tree limb is rotated (per clip).
            max_angle: Rotation angles are uniform in ``[-max_angle, max_angle]`` degrees.
            flip_prob: Probability of a horizontal flip per clip.
            generator: Torch generator for reproducibility (on :attr:`device`, or CPU).

        Returns:
            :class:`AugmentedClips`.
        """
        kp, sc, v = self._prep(keypoints, scores, valid)
        if kp.ndim != 5:
            raise ShapeError(f"keypoints: expected (B, M, P, K, 2), got {tuple(kp.shape)}")
        if v is None:
            v = torch.ones(kp.shape[:3], dtype=torch.bool, device=self.device)
        kp, sc, v, fmap = random_resample(kp, sc, v, num_frames, generator=generator)
        kp, angles = random_limb_rotation(kp, self.tree, self._masks, len(self.layout.limbs),
                                          prob=rotate_prob, max_angle=max_angle,
                                          generator=generator)
        kp, noise = position_noise(kp, noise_sigma, generator=generator)
        kp, sc, flipped, jmap, cmap = random_flip(kp, sc, self.size, self._joint_perm,
                                                  self._chan_perm, prob=flip_prob,
                                                  generator=generator)
        heat = self._render(kp, sc, size=self.size, sigma=self.sigma, joints=self.joints,
                            limbs=self._limbs, use_score=self.use_score,
                            min_score=self.min_score, valid=v)
        return AugmentedClips(heat, kp, sc, v, fmap, jmap, cmap, flipped, angles, noise)
