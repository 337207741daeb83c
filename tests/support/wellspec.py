"""Well-defined weights for the ONNX equivalence tests (seeded, non-degenerate outputs).

Seeded random-init OpenMMLab models collapse to nearly constant outputs: every anchor
scores alike, so float rounding decides which boxes survive NMS, and SimCC maxima
are far above 1 (clipped scores all equal 1). :func:`calibrate` re-draws every conv /
linear weight from ``N(0, 1 / fan_in)`` with a fixed seed and re-estimates every
BatchNorm's statistics on real inputs, so activations follow the image content, then
halves every BatchNorm's gain: a BN-renormalised random network is chaotic (float32
rounding grows to ~1e-3 relative at the output, mean-field theory of BN), a damped one
is nearly linear and well conditioned (~1e-6). :func:`set_output_stats` then gives the
output layers the spread a test needs (scores inside (0, 1), plausible box sizes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn


def calibrate(model: nn.Module, forward: Callable[[], object], seed: int = 0,
              gain: float = 0.5) -> None:
    """Re-draw weights with ``seed``, set BatchNorm statistics from ``forward()``, damp.

    Args:
        model: The model (left in eval mode).
        forward: Runs the model on calibration inputs (train-mode BN collects stats).
        seed: Weight seed.
        gain: Factor applied to every BatchNorm weight after calibration.
    """
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                fan = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / math.sqrt(fan))
                if m.bias is not None:
                    m.bias.zero_()
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batch
        model.train()
        forward()
        model.eval()
        for m in bns:
            m.weight.mul_(gain)


def set_output_stats(layer: nn.Module, out: torch.Tensor, mean: Sequence[float] | float,
                     std: Sequence[float] | float) -> None:
    """Rescale a conv / linear layer so its output ``out`` gets ``mean`` / ``std``.

    Args:
        layer: The layer that produced ``out``.
        out: Its output on the calibration inputs, channels on dim 1 (conv) or -1 (linear).
        mean: Target mean, per output channel or one for all.
        std: Target standard deviation, per output channel or one for all.
    """
    dim = 1 if isinstance(layer, nn.Conv2d) else out.ndim - 1
    flat = out.detach().transpose(0, dim).reshape(out.shape[dim], -1)
    n = flat.shape[0]
    want_m = torch.as_tensor(mean, dtype=flat.dtype).expand(n)
    want_s = torch.as_tensor(std, dtype=flat.dtype).expand(n)
    s = want_s / flat.std(1).clamp(min=1e-12)
    with torch.no_grad():
        layer.weight.mul_(s.view(-1, *([1] * (layer.weight.ndim - 1))))
        layer.bias.copy_(layer.bias * s + want_m - flat.mean(1) * s)


def shift_to_top_k(layers: Sequence[nn.Module], outs: Sequence[torch.Tensor], k: int,
                   threshold: float, channel: int = 0) -> None:
    """Shift the biases of per-level score layers so about ``k`` anchors per image pass.

    Args:
        layers: One score conv per level.
        outs: Their logits ``(B, C, H, W)`` on the calibration images.
        k: Anchors per image (median over images) above ``threshold`` afterwards.
        threshold: Score threshold (a probability; sigmoid scores).
        channel: The class channel to shift.
    """
    pooled = torch.cat([o[:, channel].flatten(1) for o in outs], 1)
    kth = pooled.topk(k, dim=1).values[:, -1].median()
    delta = float(torch.logit(torch.tensor(threshold)) - kth) + 1e-3
    with torch.no_grad():
        for layer in layers:
            layer.bias[channel] += delta


def save_checkpoint(model: nn.Module, path: Path) -> str:
    """Write ``{"state_dict": ...}`` (what released checkpoints hold); returns the path."""
    torch.save({"state_dict": model.state_dict()}, path)
    return str(path)
