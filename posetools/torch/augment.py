"""Keypoint augmentations for self-supervised alignment, each returning its labels.

Every op takes clips of grid keypoints ``(B, N, P, K, 2)`` on the trainer's device
and returns the transformed keypoints together with the correspondence labels a
loss needs (which source frame, which limb angle, which offset, whether and how
joints and channels were swapped). :meth:`posetools.torch.render.GpuHeatmapRenderer.augment`
composes them in the order resample -> rotate -> noise -> flip and renders.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import ConfigError


def _gen_device(generator: torch.Generator | None, device) -> torch.device:
    return generator.device if generator is not None else torch.device(device)


def temporal_resample(batch: int, num_in: int, num_out: int, *,
                      generator: torch.Generator | None = None,
                      device: torch.device | str = "cpu") -> torch.Tensor:
    """Choose ``num_out`` of ``num_in`` frames per clip, uniformly without replacement, sorted.

    Returns:
        ``(batch, num_out) int64`` source frame indices.
    """
    if not 1 <= num_out <= num_in:
        raise ConfigError(f"num_frames: must be in [1, {num_in}], got {num_out}")
    r = torch.rand(batch, num_in, generator=generator, device=_gen_device(generator, device))
    return torch.sort(torch.argsort(r, dim=1)[:, :num_out], dim=1).values.to(device)


def rotate_limbs(keypoints: torch.Tensor, angles: torch.Tensor,
                 tree: list[tuple[int, int, int]], masks: np.ndarray) -> torch.Tensor:
    """Rotate each tree limb's child subtree about its parent joint.

    Args:
        keypoints: ``(B, T, P, K, 2)``.
        angles: ``(B, L)`` radians per limb (layout order; non-tree limbs ignored).
            Positive turns +x towards +y. Applied root-first.
        tree: From :func:`limb_tree`.
        masks: From :func:`subtree_masks`.

    Returns:
        Rotated keypoints (a frame whose parent joint is missing is left as is).
    """
    kp = keypoints.clone()
    mt = torch.as_tensor(masks, device=kp.device)
    for e, (li, parent, _) in enumerate(tree):
        th = angles[:, li]
        if not bool((th != 0).any()):
            continue
        c = torch.cos(th)[:, None, None, None]
        s = torch.sin(th)[:, None, None, None]
        piv = kp[:, :, :, parent:parent + 1, :]  # (B, T, P, 1, 2)
        rel = kp - piv
        rx = c * rel[..., 0] - s * rel[..., 1]
        ry = s * rel[..., 0] + c * rel[..., 1]
        rot = torch.stack([rx, ry], dim=-1) + piv
        sel = mt[e][None, None, None, :, None] & torch.isfinite(piv) & (th != 0)[:, None, None,
                                                                                   None, None]
        kp = torch.where(sel, rot, kp)
    return kp


def flip_keypoints(keypoints: torch.Tensor, size: int, joint_perm: torch.Tensor) -> torch.Tensor:
    """Mirror grid keypoints ``(..., K, 2)``: ``x -> S - 1 - x``, joints swapped by ``joint_perm``.

    With this convention ``render(flip(kp))`` equals the mirrored maps of
    ``render(kp)`` with channels permuted by the channel flip permutation.
    """
    out = keypoints[..., joint_perm, :].clone()
    out[..., 0] = (size - 1) - out[..., 0]
    return out


def random_resample(kp, sc, v, num_frames: int | None, *, generator=None):
    """Keep ``num_frames`` of the ``M`` frames of each clip (random, sorted; ``None``: all).

    Returns:
        ``(keypoints, scores, valid, frame_map (B, N) int64)``.
    """
    n_b, n_m = kp.shape[:2]
    dev = kp.device
    if num_frames is None:
        fmap = torch.arange(n_m, device=dev).expand(n_b, n_m).clone()
    else:
        fmap = temporal_resample(n_b, n_m, num_frames, generator=generator, device=dev)
    bi = torch.arange(n_b, device=dev)[:, None]
    return kp[bi, fmap], sc[bi, fmap], v[bi, fmap], fmap


def random_limb_rotation(kp, tree, masks: np.ndarray, n_limbs: int, *, prob: float,
                         max_angle: float, generator=None):
    """Rotate each tree limb's subtree with probability ``prob`` (per clip).

    Angles are uniform in ``[-max_angle, max_angle]`` degrees.

    Returns:
        ``(keypoints, angles (B, L) float32)`` (0 for limbs not rotated).
    """
    n_b = kp.shape[0]
    dev = kp.device
    angles = torch.zeros(n_b, n_limbs, device=dev)
    if prob > 0 and tree:
        gdev = _gen_device(generator, dev)
        tree_idx = torch.as_tensor([li for li, _, _ in tree], device=dev)
        pick = torch.rand(n_b, len(tree), generator=generator, device=gdev).to(dev) < prob
        th = ((torch.rand(n_b, len(tree), generator=generator, device=gdev).to(dev) * 2 - 1)
              * math.radians(max_angle))
        angles[:, tree_idx] = torch.where(pick, th, torch.zeros((), device=dev))
        kp = rotate_limbs(kp, angles, tree, masks)
    return kp, angles


def position_noise(kp, sigma: float, *, generator=None):
    """Add Gaussian noise of std ``sigma`` grid pixels to every present joint.

    Returns:
        ``(keypoints, noise)`` with ``noise`` the offsets added (0 for missing joints).
    """
    if not sigma > 0:
        return kp, torch.zeros_like(kp)
    dev = kp.device
    noise = torch.randn(kp.shape, generator=generator,
                        device=_gen_device(generator, dev)).to(dev) * sigma
    noise = torch.where(torch.isfinite(kp), noise, torch.zeros((), device=dev))
    return kp + noise, noise


def random_flip(kp, sc, size: int, joint_perm, channel_perm, *, prob: float, generator=None):
    """Mirror each clip with probability ``prob`` (joints and channels swapped).

    Returns:
        ``(keypoints, scores, flipped (B,) bool, joint_map (B, K), channel_map (B, C))``.
    """
    n_b, n_k = kp.shape[0], kp.shape[-2]
    dev = kp.device
    flipped = torch.rand(n_b, generator=generator,
                         device=_gen_device(generator, dev)).to(dev) < prob
    jmap = torch.arange(n_k, device=dev).expand(n_b, n_k).clone()
    cmap = torch.arange(channel_perm.numel(), device=dev).expand(n_b, -1).clone()
    if bool(flipped.any()):
        fk = flip_keypoints(kp, size, joint_perm)
        fs = sc[..., joint_perm]
        f5 = flipped[:, None, None, None, None]
        kp = torch.where(f5, fk, kp)
        sc = torch.where(f5[..., 0], fs, sc)
        jmap = torch.where(flipped[:, None], joint_perm[None], jmap)
        cmap = torch.where(flipped[:, None], channel_perm[None], cmap)
    return kp, sc, flipped, jmap, cmap


__all__ = ["temporal_resample", "rotate_limbs", "flip_keypoints", "random_resample",
           "random_limb_rotation", "position_noise", "random_flip"]
